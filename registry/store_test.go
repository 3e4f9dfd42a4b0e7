package registry

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func detConfig(seed byte) *Config {
	return &Config{Rand: seeded{rand.NewChaCha8([32]byte{seed})}, Now: func() uint32 { return 1_700_000_000 }}
}

// contents is the registry's state as comparable bytes (a snapshot without a sequence).
func contents(r *Registry) []byte { return r.AppendSnapshot(nil, 0) }

// call is one step of a scripted workload: a batch, or a save when batch is nil.
type call struct{ batch []byte }

func script(seed uint64, calls int) []call {
	rnd := rand.New(rand.NewPCG(seed, 7))
	persons := []string{""}
	var out []call
	for i := 0; i < calls; i++ {
		if i%7 == 6 {
			out = append(out, call{})
			continue
		}
		var b []byte
		for k := 0; k < 1+rnd.IntN(3); k++ {
			m := testMachines[rnd.IntN(4)]
			u := testURLs[rnd.IntN(3)]
			p := persons[rnd.IntN(len(persons))]
			when := uint32(1_000_000 + i*100 + k)
			switch rnd.IntN(6) {
			case 0:
				b = AppendRequest(b, &Request{Op: OpDelete, When: when, Person: []byte(p), Machine: []byte(m), URL: []byte(u), Arg: []byte(testURLs[rnd.IntN(3)])})
			case 1:
				b = AppendRequest(b, &Request{Op: OpSearch, When: when, Person: []byte(p), Machine: []byte(m), URL: []byte(u), Arg: []byte(m)})
			default:
				b = AppendRequest(b, &Request{Op: OpAccess, When: when, Person: []byte(p), Machine: []byte(m), URL: []byte(u), Arg: []byte("n" + strconv.Itoa(k))})
			}
		}
		out = append(out, call{batch: b})
		// Persons the script will reuse are the ones the deterministic registry creates;
		// learn them by running the script once without faults (see runScript).
		_ = persons
	}
	return out
}

// runScript runs calls on a store, feeding each access the person of an earlier response so
// the workload revisits persons. It returns the contents after every acknowledged call (index
// 0: before any) and stops at the first error.
func runScript(s *Store, calls []call) (acked [][]byte, err error) {
	acked = append(acked, contents(s.reg))
	var known []string
	for i, c := range calls {
		if c.batch == nil {
			if _, err = s.Save(); err != nil {
				return acked, err
			}
			acked = append(acked, contents(s.reg))
			continue
		}
		batch := c.batch
		if len(known) > 0 {
			batch = withPerson(batch, known[i%len(known)])
		}
		var out []byte
		if out, err = s.Handle(batch, nil); err != nil {
			return acked, err
		}
		resps, _ := ParseResponses(out)
		for _, r := range resps {
			if r.Person != "" {
				known = append(known, r.Person)
			}
		}
		acked = append(acked, contents(s.reg))
	}
	return acked, nil
}

// withPerson rewrites the person of every access in batch that has none.
func withPerson(batch []byte, person string) []byte {
	reqs, _ := ParseBatch(batch, nil)
	var out []byte
	for _, r := range reqs {
		if r.Op == OpAccess && len(r.Person) == 0 {
			r.Person = []byte(person)
		}
		out = AppendRequest(out, &r)
	}
	return out
}

func TestStoreRoundTrip(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	acked, err := runScript(s, script(1, 30))
	if err != nil {
		t.Fatal(err)
	}
	want := acked[len(acked)-1]
	s2, err := OpenStore(ms, detConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(contents(s2.reg), want) {
		t.Fatal("reopened store differs from the one that wrote it")
	}
	if err := s2.reg.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	info := s2.Info()
	if info.Snapshot == "" || info.Seq == 0 || info.Seq == info.SavedSeq {
		t.Fatalf("info %+v: want a snapshot plus log records after it", info)
	}
	if s2.Settings().MachineGUID != s.Settings().MachineGUID || s2.Settings().MaxURLLength != 1024 {
		t.Fatalf("settings did not persist: %+v", s2.Settings())
	}
}

// TestSnapshotDeterministic: the same contents give the same bytes, whatever the history
// (a loaded registry has a different internal layout than the one that wrote it).
func TestSnapshotDeterministic(t *testing.T) {
	r := newTestRegistry(t)
	randomActions(t, r, rand.New(rand.NewPCG(3, 3)), 2000)
	snap := r.AppendSnapshot(nil, 42)
	r2 := New(Config{})
	seq, err := r2.LoadSnapshot(snap)
	if err != nil || seq != 42 {
		t.Fatalf("load: %v seq %d", err, seq)
	}
	if err := r2.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	if again := r2.AppendSnapshot(nil, 42); !bytes.Equal(again, snap) {
		t.Fatal("snapshot of a loaded registry differs from the original")
	}
	if r.Stats().PersonURLs != r2.Stats().PersonURLs || r.Stats().Accesses != r2.Stats().Accesses {
		t.Fatal("counters differ after load")
	}
}

func TestSnapshotRejectsDamage(t *testing.T) {
	r := newTestRegistry(t)
	randomActions(t, r, rand.New(rand.NewPCG(4, 4)), 300)
	snap := r.AppendSnapshot(nil, 1)
	for _, cut := range []int{0, 10, len(snap) / 2, len(snap) - 1} {
		if err := VerifySnapshot(snap[:cut]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("torn at %d: %v", cut, err)
		}
	}
	for i := 0; i < len(snap); i += 1 + len(snap)/50 {
		bad := bytes.Clone(snap)
		bad[i] ^= 0x10
		if err := VerifySnapshot(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("bit flip at %d accepted", i)
		}
	}
}

func TestLogTornTailDroppedMiddleCorruptionFails(t *testing.T) {
	ms := &MemStorage{}
	s, _ := OpenStore(ms, detConfig(2))
	acked, err := runScript(s, script(2, 6)) // no save: everything is in the log
	if err != nil {
		t.Fatal(err)
	}
	name := newestLog(t, ms)
	log, _ := ms.ReadFile(name)
	// Torn last record: dropped, state = all but the last call.
	torn := ms.Clone()
	torn.WriteFile(name, log[:len(log)-3])
	s2, err := OpenStore(torn, detConfig(2))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(contents(s2.reg), acked[len(acked)-2]) {
		t.Fatal("torn tail: wrong state")
	}
	if n, _ := torn.Size(name); n != s2.chain[0].size || n >= int64(len(log)-3) {
		t.Fatalf("torn tail: %s is %d bytes after the open, want the %d verified", name, n, s2.chain[0].size)
	}
	// A flipped byte in the first record: refused, naming the file and the offset.
	bad := bytes.Clone(log)
	bad[segHeaderLen+recHeaderLen+2] ^= 1
	ms.WriteFile(name, bad)
	_, err = OpenStore(ms, detConfig(2))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), name+": damaged at offset "+strconv.Itoa(segHeaderLen)) {
		t.Fatalf("corrupt first record: %v", err)
	}
}

// TestCrashAtEveryOperation crashes a scripted workload at every storage operation, and tears
// every write at several byte offsets, then recovers. The state must be exactly the last
// acknowledged one, or that plus the one call in flight at the crash applied whole (its
// record reached the disk, the crash came before the acknowledgment): never older, never a
// part of a call, never unreadable.
func TestCrashAtEveryOperation(t *testing.T) {
	seeds := 36
	if testing.Short() {
		seeds = 4
	}
	cases := 0
	for seed := 0; seed < seeds; seed++ {
		calls := script(uint64(seed), 22)
		states, total := cleanRun(t, seed, calls)
		for op := 1; op <= total; op++ {
			for _, tear := range []int{-1, 0, 1, 7, 17, 40, 200} {
				cases++
				crashCase(t, seed, calls, states, op, tear)
			}
		}
	}
	t.Logf("%d crash cases", cases)
	if !testing.Short() && cases < 10_000 {
		t.Fatalf("only %d crash cases", cases)
	}
}

// cleanRun runs calls on a new store without faults and returns the contents after each
// acknowledged call and how many storage operations the calls made (what the fault suites
// number their faults by).
func cleanRun(t *testing.T, seed int, calls []call) (states [][]byte, ops int) {
	t.Helper()
	clean := &MemStorage{}
	s, err := OpenStore(clean, detConfig(byte(seed)))
	if err != nil {
		t.Fatal(err)
	}
	base := clean.Ops()
	if states, err = runScript(s, calls); err != nil {
		t.Fatal(err)
	}
	return states, clean.Ops() - base
}

func crashCase(t *testing.T, seed int, calls []call, states [][]byte, op, tear int) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(byte(seed)))
	if err != nil {
		t.Fatal(err)
	}
	if tear < 0 {
		ms.FailAfter(op)
	} else {
		ms.TearAfter(op, tear)
	}
	acked, _ := runScript(s, calls)
	k := len(acked) - 1
	if !bytes.Equal(acked[k], states[k]) {
		t.Fatalf("seed %d op %d: acknowledged state differs from the clean run's", seed, op)
	}
	s2, err := OpenStore(ms.Crash(), detConfig(byte(seed)))
	if err != nil {
		t.Fatalf("seed %d op %d tear %d: recovery failed: %v", seed, op, tear, err)
	}
	got := contents(s2.reg)
	if !bytes.Equal(got, states[k]) && (k+1 >= len(states) || !bytes.Equal(got, states[k+1])) {
		t.Fatalf("seed %d op %d tear %d: recovered state is neither the last acknowledged one (%d) nor the next", seed, op, tear, k)
	}
}

func TestTornFirstConfigWriteStartsFresh(t *testing.T) {
	ms := &MemStorage{}
	ms.TearAfter(1, 5) // the very first op: writing registry.conf.1
	if _, err := OpenStore(ms, detConfig(1)); err == nil {
		t.Fatal("open on a crashing store succeeded")
	}
	s, err := OpenStore(ms.Crash(), detConfig(1))
	if err != nil {
		t.Fatalf("a torn first config write must not block the store: %v", err)
	}
	if s.Settings().MaxURLLength != 1024 {
		t.Fatalf("settings %+v", s.Settings())
	}
}

func TestZeroGUIDsAreNotEntities(t *testing.T) {
	ms := &MemStorage{}
	s, _ := OpenStore(ms, detConfig(1))
	zero := "00000000-0000-0000-0000-000000000000"
	out, _ := s.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1, Person: []byte(zero), Machine: []byte(zero), URL: []byte("http://a/")}), nil)
	resps, _ := ParseResponses(out)
	if resps[0].Status != 400 {
		t.Fatalf("zero machine GUID accepted: %d", resps[0].Status)
	}
	out, _ = s.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1, Person: []byte(zero), Machine: []byte(m1), URL: []byte("http://a/")}), nil)
	resps, _ = ParseResponses(out)
	if resps[0].Person == zero || resps[0].Status != 200 {
		t.Fatalf("zero person GUID kept: %+v", resps[0])
	}
	if _, err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(ms, detConfig(1)); err != nil {
		t.Fatalf("reopen after save: %v", err)
	}
}

func TestCleaningIsIdempotent(t *testing.T) {
	var buf []byte
	for _, in := range []string{"http://" + string(make([]byte, 2000)), "  h\x01\x02 ", "http://abc\x00\x00\x00def", "hé\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"} {
		for max := 10; max < 20; max++ {
			once := string(cleanText([]byte(in), max, &buf))
			twice := string(cleanText([]byte(once), max, &buf))
			if once != twice {
				t.Fatalf("clean(clean(%q)) = %q, want %q", in, twice, once)
			}
		}
	}
}

// TestDamagedNewestSnapshotFallsBack: one change, then a save. With the newest snapshot
// damaged, the previous generation and the log since it give back that change exactly; with
// both snapshots damaged the load refuses, naming them, and removes nothing.
func TestDamagedNewestSnapshotFallsBack(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1_700_000_000, Machine: []byte(m1), URL: []byte("http://a/")}), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(); err != nil {
		t.Fatal(err)
	}
	want := contents(s.reg)
	flip := func(st *MemStorage, name string) {
		data, err := st.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 0x40
		st.WriteFile(name, data)
	}
	one := ms.Clone()
	flip(one, s.Info().Snapshot)
	s2, err := OpenStore(one, detConfig(1))
	if err != nil {
		t.Fatalf("open with the newest snapshot damaged: %v", err)
	}
	if !bytes.Equal(contents(s2.reg), want) {
		t.Fatal("the previous generation and the log did not give back the change")
	}
	if rep := CheckStorage(one); rep.Healthy || rep.Loss != "" {
		t.Fatalf("check: %+v", rep)
	}
	// Both snapshots damaged: the log holds every change from the first.
	both := ms.Clone()
	for _, n := range filesWithPrefix(t, both, "registry.db.") {
		flip(both, n)
	}
	if s3, err := OpenStore(both, detConfig(1)); err != nil || !bytes.Equal(contents(s3.reg), want) {
		t.Fatalf("open with both snapshots damaged: %v", err)
	}
	// The newest damaged and the log before it gone: refused, naming the files, and
	// nothing is removed.
	lost := ms.Clone()
	flip(lost, s.Info().Snapshot)
	old := filesWithPrefix(t, lost, "registry.log.")[0]
	lost.Remove(old)
	before, _ := lost.List()
	if _, err = OpenStore(lost, detConfig(1)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "registry.db.1 (change 0) is missing") || !strings.Contains(err.Error(), s.Info().Snapshot) {
		t.Fatalf("open with the newest snapshot damaged and %s gone: %v, want ErrCorrupt naming both", old, err)
	}
	if after, _ := lost.List(); len(after) != len(before) {
		t.Fatal("a refused open removed files")
	}
}

// TestSaveEveryCountsChanges checks "registry save db every new entries" counts logged
// changes (netdata's log entries), whatever the batching, across a reload, and not reads.
func TestSaveEveryCountsChanges(t *testing.T) {
	mem := &MemStorage{}
	s, err := OpenStore(mem, detConfig(9))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Configure([]byte("[registry]\n\tregistry save db every new entries = 5\n")); err != nil {
		t.Fatal(err)
	}
	accesses := func(n int) {
		t.Helper()
		var b []byte
		for i := 0; i < n; i++ {
			b = AppendRequest(b, &Request{Op: OpAccess, When: 1_000_000, Machine: []byte(testMachines[0]), URL: []byte(testURLs[0]), Arg: []byte("a")})
		}
		if _, err := s.Handle(b, nil); err != nil {
			t.Fatal(err)
		}
	}
	saved := func() string {
		if g := s.Info().Generation; g > 1 { // 1 is the empty snapshot a new registry starts with
			return s.Info().Snapshot + "@" + uitoa(g)
		}
		return ""
	}
	accesses(3)
	hello := AppendRequest(nil, &Request{Op: OpHello, When: 1_000_000})
	for i := 0; i < 10; i++ {
		if _, err := s.Handle(hello, nil); err != nil {
			t.Fatal(err)
		}
	}
	if saved() != "" {
		t.Fatalf("saved after 3 changes and 10 reads: %+v", s.Info())
	}
	// Reopening replays the 3 logged changes, which still count.
	if s, err = OpenStore(mem, detConfig(9)); err != nil {
		t.Fatal(err)
	}
	accesses(1)
	if saved() != "" {
		t.Fatalf("saved after 4 changes: %+v", s.Info())
	}
	accesses(1)
	if saved() == "" || s.Info().LogRecords != 0 {
		t.Fatalf("not saved after 5 changes: %+v", s.Info())
	}
	// One batch of 4 does not reach 5; the next single change does.
	first := saved()
	accesses(4)
	if saved() != first {
		t.Fatalf("saved after 4 more: %+v", s.Info())
	}
	accesses(1)
	if saved() == first {
		t.Fatalf("not saved after 5 more: %+v", s.Info())
	}
	// A failing automatic save does not fail the call that triggered it (its changes are
	// logged): it is reported, and tried again after 5 more changes, not on the next call.
	second := saved()
	accesses(4)
	mem.FailOn("write", "registry.db.", ErrNoSpace) // the snapshot's first write
	accesses(1)
	// Three records: the two calls, and the expiry the save logged before its snapshot failed
	// (the accesses are from 1970, long idle).
	if saved() != second || s.Info().SaveError == "" || s.Info().LogRecords != 3 {
		t.Fatalf("after a failed save: %+v", s.Info())
	}
	accesses(4)
	if saved() != second {
		t.Fatalf("saved again before 5 more changes: %+v", s.Info())
	}
	accesses(1)
	if saved() == second || s.Info().SaveError != "" {
		t.Fatalf("after 5 more changes: %+v", s.Info())
	}
	if !bytes.Contains(s.AppendStatsJSON(nil), []byte(`"log_records":0,`)) || bytes.Contains(s.AppendStatsJSON(nil), []byte(`error`)) {
		t.Fatalf("stats of a healthy store: %s", s.AppendStatsJSON(nil))
	}
}
