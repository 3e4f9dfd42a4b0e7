package registry

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// budgetRegistry is a test registry whose tables may hold budget bytes.
func budgetRegistry(budget int64) *Registry {
	return New(Config{Hostname: "test", MachineGUID: "00000000-0000-4000-8000-000000000000",
		Rand: seeded{rand.NewChaCha8([32]byte{2})}, Now: func() uint32 { return 1_700_000_000 },
		MemoryBudget: budget})
}

func guidOf(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000001", i) }

func accessReq(person, machine, url, name string) Request {
	return Request{Op: OpAccess, When: 1_700_000_200, Person: []byte(person), Machine: []byte(machine), URL: []byte(url), Arg: []byte(name)}
}

// fillToBudget runs accesses of the given shape until one is refused and returns a known
// person, machine, URL and name (a link the person has). After every access the tables are
// within the budget: the growth an access would cause is foreseen, never found out after.
func fillToBudget(t *testing.T, r *Registry, shape string, rnd *rand.Rand) (person, machine, url, name string, refusal Result) {
	t.Helper()
	budget := r.Stats().Budget
	var persons []string
	for i := 0; ; i++ {
		p, m, u, n := "", m1, "http://one/", "one"
		switch shape {
		case "persons": // netdata's dummy cookie, again and again
		case "urls": // new persons, each on a new machine and URL
			m, u, n = guidOf(i), fmt.Sprintf("http://agent-%d.example/", i), fmt.Sprint("agent ", i)
		case "mixed": // known persons reaching new URLs, new persons, new names
			if len(persons) > 0 && rnd.IntN(3) > 0 {
				p = persons[rnd.IntN(len(persons))]
			}
			k := rnd.IntN(i/4 + 1)
			m, u, n = guidOf(k), fmt.Sprintf("http://agent-%d.example/", k), fmt.Sprint("n", rnd.IntN(i+1))
		}
		res, b := access(t, r, 1_700_000_000, p, m, u, n)
		if got := r.tableBytes(); got > budget {
			t.Fatalf("%s: access %d left the tables at %d bytes, over the budget of %d", shape, i, got, budget)
		}
		if res.Status != 200 {
			if res.Status != 507 || !errors.Is(res.Err, ErrMemoryBudget) || !strings.Contains(b.Error, "memory budget reached") {
				t.Fatalf("%s: access %d: status %d %v %+v, want 507 and the memory budget", shape, i, res.Status, res.Err, b)
			}
			if i == 0 {
				t.Fatalf("%s: the first access was refused", shape)
			}
			return person, machine, url, name, res
		}
		persons = append(persons, res.Person.String())
		person, machine, url, name = res.Person.String(), m, u, n
	}
}

// TestBudgetRefusesNewKeepsKnown: once the tables reach the budget, every way of adding an
// entry is refused with 507 and changes nothing, and known persons, machines and URLs keep
// working (their accesses still count).
func TestBudgetRefusesNewKeepsKnown(t *testing.T) {
	for _, shape := range []string{"persons", "urls", "mixed"} {
		t.Run(shape, func(t *testing.T) {
			r := budgetRegistry(200_000)
			p, m, u, n, _ := fillToBudget(t, r, shape, rand.New(rand.NewPCG(1, 2)))
			before := r.Stats()
			if before.Budget != 200_000 {
				t.Fatalf("stats budget %d", before.Budget)
			}
			stats := string(r.Stats().AppendJSON(nil))
			if !strings.Contains(stats, `,"budget":200000}`) {
				t.Fatalf("stats answer %s lacks the budget", stats)
			}
			// Known: counted.
			res, b := access(t, r, 1_700_000_100, p, m, u, n)
			if res.Status != 200 || b.PersonGUID != p {
				t.Fatalf("known access: %d %+v", res.Status, b)
			}
			if got := r.Stats(); got.Accesses != before.Accesses+1 || got.Persons != before.Persons {
				t.Fatalf("known access: %+v after %+v", got, before)
			}
			// Every way of adding an entry is accepted while what it adds fits, never past the
			// budget, and then refused, changing nothing.
			budget := r.Stats().Budget
			kinds := []struct {
				what string
				req  func(i int) Request
			}{
				{"a new person", func(i int) Request { return accessReq("", m, u, n) }},
				{"a new machine", func(i int) Request { return accessReq(p, guidOf(1_000_000+i), u, n) }},
				{"a new URL", func(i int) Request { return accessReq(p, m, fmt.Sprintf("http://new-%d.example/", i), n) }},
				{"a new name", func(i int) Request { return accessReq(p, m, u, fmt.Sprint("new name ", i)) }},
				{"everything new", func(i int) Request {
					return accessReq("", guidOf(2_000_000+i), fmt.Sprintf("http://all-new-%d.example/", i), fmt.Sprint("all new ", i))
				}},
				{"a cookie check of a new machine", func(i int) Request {
					req := accessReq("", guidOf(3_000_000+i), fmt.Sprintf("http://cookie-check-%d/", i), "")
					req.Flags |= FlagMachineOnly
					return req
				}},
			}
			for _, k := range kinds {
				for i := 0; ; i++ {
					if i == 100_000 {
						t.Fatalf("%s: never refused", k.what)
					}
					req := k.req(i)
					before, snap := r.Stats(), contents(r)
					res, b := r.Do(&req, nil)
					if r.tableBytes() > budget {
						t.Fatalf("%s: the tables passed the budget", k.what)
					}
					if res.Status == 200 {
						continue
					}
					if res.Status != 507 || !errors.Is(res.Err, ErrMemoryBudget) || !strings.Contains(string(b), `"status":"failed"`) {
						t.Fatalf("%s: %d %v %s, want 507 with the reason", k.what, res.Status, res.Err, b)
					}
					if string(contents(r)) != string(snap) || r.Stats() != before {
						t.Fatalf("%s: the refused access changed the registry", k.what)
					}
					break
				}
			}
			if err := r.checkInvariants(); err != nil {
				t.Fatal(err)
			}
			// Other actions go on.
			if res, _ := do(t, r, OpSearch, 1_700_000_300, p, m, u, m); res.Status != 200 {
				t.Fatalf("search: %d", res.Status)
			}
			if res, _ := do(t, r, OpDelete, 1_700_000_300, p, m, u, u); res.Status != 200 {
				t.Fatalf("delete: %d", res.Status)
			}
		})
	}
}

// TestBudgetFromLimit: the budget is the share of the host's memory limit that loads again
// (less the reserve, over runFactor); "memory budget" lowers it, never raises it; without a
// limit the setting alone applies, and without either there is none.
func TestBudgetFromLimit(t *testing.T) {
	share := func(limit uint64) uint64 { return uint64(float64(limit-memoryReserve) / runFactor) }
	for _, c := range []struct {
		limit   uint64
		setting int64
		want    uint64
	}{
		{0, 0, 0},
		{0, 1 << 20, 1 << 20},
		{64 << 20, 0, share(64 << 20)},
		{4 << 30, 0, share(4 << 30)},
		{64 << 20, 1 << 20, 1 << 20},
		{64 << 20, 1 << 30, share(64 << 20)},
	} {
		r := New(Config{MemoryLimit: c.limit, MemoryBudget: c.setting})
		if got := r.Stats().Budget; got != c.want {
			t.Errorf("limit %d, setting %d: budget %d, want %d", c.limit, c.setting, got, c.want)
		}
	}
	// A limit under the reserve leaves nothing: every new entry is refused.
	r := New(Config{MemoryLimit: 8 << 20})
	if res, _ := access(t, r, 1_700_000_000, "", m1, "http://one/", "one"); res.Status != 507 {
		t.Fatalf("limit under the reserve: %d", res.Status)
	}
}

// TestBudgetNeverRefusesReplay: a registry larger than its budget (the setting lowered, or a
// host giving less memory than before) loads whole: replaying the log is never refused. Then
// it refuses new entries and serves known ones.
func TestBudgetNeverRefusesReplay(t *testing.T) {
	mem := &MemStorage{}
	s, err := OpenStore(mem, detConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	var batch []byte
	for i := range 3000 {
		batch = AppendRequest(batch, &Request{Op: OpAccess, When: 1_700_000_000, Machine: []byte(guidOf(i % 50)),
			URL: []byte(fmt.Sprintf("http://h%d/", i%700)), Arg: []byte("n")})
	}
	out, err := s.Handle(batch, nil)
	if err != nil {
		t.Fatal(err)
	}
	resps, _ := ParseResponses(out)
	known := resps[0].Person
	want := s.Registry().Stats()
	if _, err := s.Configure([]byte("[registry]\nmemory budget = 100 KiB\n")); err != nil {
		t.Fatal(err)
	}
	if got := s.Settings().MemoryBudget; got != 100<<10 {
		t.Fatalf("memory budget %d", got)
	}
	for _, limit := range []uint64{0, memoryReserve + 1<<20} {
		cfg := detConfig(4)
		cfg.MemoryLimit = limit
		s2, err := OpenStore(mem, cfg)
		if err != nil {
			t.Fatalf("limit %d: reopening a registry over its budget: %v", limit, err)
		}
		got := s2.Registry().Stats()
		if got.Persons != want.Persons || got.Accesses < want.Accesses || got.PersonURLs != want.PersonURLs {
			t.Fatalf("limit %d: reloaded %+v, want %+v", limit, got, want)
		}
		if got.Bytes <= got.Budget {
			t.Fatalf("limit %d: the registry (%d bytes) is not over its budget (%d): the test proves nothing", limit, got.Bytes, got.Budget)
		}
		new1 := AppendRequest(nil, &Request{Op: OpAccess, When: 1_700_000_100, Machine: []byte(guidOf(1)), URL: []byte("http://h1/"), Arg: []byte("n")})
		old := AppendRequest(nil, &Request{Op: OpAccess, When: 1_700_000_100, Person: []byte(known), Machine: []byte(guidOf(0)), URL: []byte("http://h0/"), Arg: []byte("n")})
		out, err := s2.Handle(append(new1, old...), nil)
		if err != nil {
			t.Fatal(err)
		}
		resps, _ := ParseResponses(out)
		if resps[0].Status != 507 || resps[1].Status != 200 {
			t.Fatalf("limit %d: new person %d, known person %d; want 507, 200", limit, resps[0].Status, resps[1].Status)
		}
	}
}

// TestBudgetSavesBeforeTheLogOutgrowsALoad: with only known accesses (which the budget never
// refuses) the change log grows; the store saves before a load of it would need more than
// the memory the limit leaves, and new entries are accepted all along.
func TestBudgetSavesBeforeTheLogOutgrowsALoad(t *testing.T) {
	mem := &MemStorage{}
	cfg := detConfig(5)
	cfg.MemoryLimit = memoryReserve + 4<<20
	s, err := OpenStore(mem, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgNow := s.Registry().Config()
	b := cfgNow.budget()
	one := AppendRequest(nil, &Request{Op: OpAccess, When: 1_700_000_000, Machine: []byte(m1), URL: []byte("http://one/"), Arg: []byte("one")})
	out, err := s.Handle(one, nil)
	if err != nil {
		t.Fatal(err)
	}
	resps, _ := ParseResponses(out)
	known := AppendRequest(nil, &Request{Op: OpAccess, When: 1_700_000_000, Person: []byte(resps[0].Person), Machine: []byte(m1), URL: []byte("http://one/"), Arg: []byte("one")})
	saves := 0
	gen := s.Info().Generation
	for i := range 30_000 {
		if _, err := s.Handle(known, nil); err != nil {
			t.Fatal(err)
		}
		if g := s.Info().Generation; g != gen {
			gen, saves = g, saves+1
		}
		if i%7 != 0 && i < 29_990 {
			continue // reading every file is slow: a sample, and the end
		}
		log := trueLog(t, mem)
		if need := loadNeed(s.Registry().tableBytes(), log); need > b.load {
			t.Fatalf("call %d: a load would need %d bytes of the %d the limit leaves (log %+v)", i, need, b.load, log)
		}
		if est := s.logLoad(); est.bytes != log.bytes || est.records < log.records {
			t.Fatalf("call %d: the store counts %+v of log, a load reads %+v", i, est, log)
		}
	}
	if saves == 0 {
		t.Fatal("the log grew without a save")
	}
	t.Logf("%d saves in 30000 known accesses under a %s budget", saves, mib(b.tables))
	if res, _ := ParseResponses(must(s.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1_700_000_000, Machine: []byte(m2), URL: []byte("http://two/"), Arg: []byte("two")}), nil))); res[0].Status != 200 {
		t.Fatalf("a new person after the saves: %d", res[0].Status)
	}
}

// trueLog is what a load of st reads: every segment's bytes and records.
func trueLog(t *testing.T, st Storage) logSize {
	t.Helper()
	names, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	var l logSize
	for _, n := range names {
		if !strings.HasPrefix(n, logBase+".") {
			continue
		}
		data, err := st.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		l.bytes += uint64(len(data))
		l.records += uint64(len(scanSegment(data).recs))
	}
	return l
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestNoNewPerson: FlagNoNewPerson refuses (429) an access that would make a person, however
// its person is given, changes nothing, and lets known persons through.
func TestNoNewPerson(t *testing.T) {
	r := newTestRegistry(t)
	res, _ := access(t, r, 1_700_000_000, "", m1, "http://one/", "one")
	known := res.Person.String()
	snap := contents(r)
	for _, person := range []string{"", "bogus", "01234567-89ab-4cde-8f01-23456789abcd"} {
		req := Request{Op: OpAccess, Flags: FlagNoNewPerson, When: 1_700_000_100, Person: []byte(person), Machine: []byte(m1), URL: []byte("http://one/"), Arg: []byte("one")}
		if res, _ := r.Do(&req, nil); res.Status != 429 || !errors.Is(res.Err, ErrNewPerson) {
			t.Fatalf("person %q: %d %v, want 429", person, res.Status, res.Err)
		}
	}
	if string(contents(r)) != string(snap) {
		t.Fatal("a refused access changed the registry")
	}
	req := Request{Op: OpAccess, Flags: FlagNoNewPerson, When: 1_700_000_100, Person: []byte(known), Machine: []byte(m2), URL: []byte("http://two/"), Arg: []byte("two")}
	if res, _ := r.Do(&req, nil); res.Status != 200 {
		t.Fatalf("known person: %d", res.Status)
	}
}

// TestParseMemoryBudget: netdata's size syntax, auto, and refusals.
func TestParseMemoryBudget(t *testing.T) {
	for in, want := range map[string]int64{
		"auto": 0, "AUTO": 0, "0": 0, "1048576": 1 << 20, "512MiB": 512 << 20, "1.5 GiB": 3 << 29,
		"2G": 2e9, "100 KiB": 100 << 10, "64M": 64e6, "3B": 3,
	} {
		if got, ok := parseMemoryBudget(in); !ok || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "lots", "12 parsecs", "1e3", "5 mib", "99999999 TiB"} {
		if got, ok := parseMemoryBudget(in); ok {
			t.Errorf("%q: accepted as %d", in, got)
		}
	}
	set := DefaultSettings()
	if _, err := ParseNetdataConf([]byte("[registry]\nmemory budget = 2GiB\n"), &set); err != nil || set.MemoryBudget != 2<<30 {
		t.Fatalf("configure: %v %d", err, set.MemoryBudget)
	}
	if _, err := ParseNetdataConf([]byte("[registry]\nmemory budget = plenty\n"), &set); !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad value: %v", err)
	}
}

// TestTableBytesMatchHeap measures the tables' accounting (Stats.Bytes) against the Go heap
// (runtime.MemStats, after collections) for registries of several shapes: the budget counts
// what the tables really hold.
func TestTableBytesMatchHeap(t *testing.T) {
	n := 50_000
	if testing.Short() {
		n = 10_000
	}
	for _, shape := range []string{"persons", "urls", "links"} {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		r := New(Config{Rand: seeded{rand.NewChaCha8([32]byte{7})}, Now: func() uint32 { return 1_700_000_000 }})
		var req Request
		persons := make([]GUID, 0, n)
		for i := range n {
			req = Request{Op: OpAccess, Flags: FlagQuiet, When: 1_700_000_000, Machine: []byte(m1), URL: []byte("http://one/"), Arg: []byte("one")}
			switch shape {
			case "urls":
				req.Machine, req.URL, req.Arg = []byte(guidOf(i)), []byte(fmt.Sprintf("http://agent-%d.example/", i)), []byte(fmt.Sprint("agent ", i))
			case "links":
				if i%10 > 0 {
					req.Person = []byte(persons[len(persons)-1].String())
				}
				req.Machine, req.URL = []byte(guidOf(i%500)), []byte(fmt.Sprintf("http://agent-%d.example/", i%1000))
			}
			res, _ := r.Do(&req, nil)
			if res.Status != 200 {
				t.Fatalf("access %d: %d", i, res.Status)
			}
			persons = append(persons, res.Person)
		}
		persons = nil
		r.reqs, r.body, r.urlBuf, r.nameBuf = nil, nil, nil, nil
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heap := ms.HeapAlloc - before
		tables := r.Stats().Bytes
		ratio := float64(tables) / float64(heap)
		t.Logf("%s: %d accesses, tables %d bytes, Go heap %d bytes: %.3f", shape, n, tables, heap, ratio)
		if ratio < 0.95 || ratio > 1.02 {
			t.Errorf("%s: the tables account for %.3f of the heap they use", shape, ratio)
		}
		runtime.KeepAlive(r)
	}
}

// TestArenaMemBytesCounted: the arena's memory, kept as counters for the budget, is what its
// chunks and free lists hold, through allocation, release, large blocks and compaction.
func TestArenaMemBytesCounted(t *testing.T) {
	var a blockArena[personURL]
	rnd := rand.New(rand.NewPCG(8, 8))
	type blk struct{ off, cap uint32 }
	var live []blk
	check := func(step int) {
		t.Helper()
		want := 0
		for _, c := range a.chunks {
			want += min(len(c), chunkLen) * 24
		}
		for _, f := range a.free {
			want += cap(f) * 4
		}
		if got := a.memBytes(24); got != want {
			t.Fatalf("step %d: memBytes %d, chunks and free lists hold %d", step, got, want)
		}
	}
	for step := range 20_000 {
		switch k := rnd.IntN(10); {
		case k < 6 || len(live) == 0:
			n := uint32(rnd.IntN(40) + 1)
			if rnd.IntN(2000) == 0 {
				n = chunkLen + uint32(rnd.IntN(chunkLen))
			}
			g := a.allocGrowth(n, 24)
			before := a.memBytes(24)
			off, c := a.alloc(n)
			if grew := a.memBytes(24) - before; grew > g+4*64 {
				t.Fatalf("step %d: alloc(%d) grew %d bytes, foreseen %d", step, n, grew, g)
			}
			live = append(live, blk{off, c})
		case k < 9:
			i := rnd.IntN(len(live))
			a.release(live[i].off, live[i].cap)
			live = append(live[:i], live[i+1:]...)
		default:
			refs := make([]blockRef, len(live))
			for i, b := range live {
				refs[i] = blockRef{owner: uint32(i), off: b.off, capacity: b.cap}
			}
			a.compact(refs, func(owner, off uint32) { live[owner].off = off })
		}
		check(step)
	}
}
