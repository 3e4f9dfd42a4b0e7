package registry

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// Steps of a workload with saves off the request path: a batch (call.batch), or one of
// these.
const (
	stepBegin  = "begin"  // BeginSave
	stepWrite  = "write"  // WriteCheckpoint of the plan, on the same storage (another instance)
	stepCommit = "commit" // CommitSave
	stepSave   = "save"   // a synchronous Save
)

type asyncCall struct {
	batch []byte
	step  string
}

// asyncScript is script's workload with its saves made in three steps, batches logged
// between each (every second save stays synchronous).
func asyncScript(seed uint64, calls int) []asyncCall {
	var out []asyncCall
	var queue []string // steps of the save in progress, each after a batch
	saves := 0
	for _, c := range script(seed, calls) {
		if c.batch == nil {
			if saves++; saves%2 == 0 || len(queue) > 0 {
				out = append(out, asyncCall{step: stepSave})
				continue
			}
			out = append(out, asyncCall{step: stepBegin})
			queue = []string{stepWrite, stepCommit}
			continue
		}
		out = append(out, asyncCall{batch: c.batch})
		if len(queue) > 0 {
			out = append(out, asyncCall{step: queue[0]})
			queue = queue[1:]
		}
	}
	for _, st := range queue {
		out = append(out, asyncCall{step: st})
	}
	return out
}

// runAsync runs calls as runScript does (each access reusing an earlier person), returning
// the contents after every acknowledged call, and stops at the first error. The plan of a
// save in progress is written by WriteCheckpoint on st: a second instance of the core on the
// same storage.
func runAsync(s *Store, st Storage, calls []asyncCall) (acked [][]byte, err error) {
	acked = append(acked, contents(s.reg))
	var known []string
	var plan []byte
	for i, c := range calls {
		switch c.step {
		case stepBegin:
			if plan, err = s.BeginSave(); err != nil {
				return acked, err
			}
		case stepWrite:
			if _, err = WriteCheckpoint(st, plan, nil); err != nil {
				s.AbortSave(err)
				return acked, err
			}
		case stepCommit:
			if _, err = s.CommitSave(); err != nil {
				return acked, err
			}
		case stepSave:
			if _, err = s.Save(); err != nil {
				return acked, err
			}
		default:
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
		}
		if c.step != stepWrite && c.step != stepCommit { // those change nothing in memory
			acked = append(acked, contents(s.reg))
		}
	}
	return acked, nil
}

// TestCheckpointSave: a save in three steps with changes between them. The snapshot holds
// exactly the state at BeginSave, the store then starts from it, and a reopen finds every
// change.
func TestCheckpointSave(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	access := func(url string) {
		t.Helper()
		if _, err := s.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1_700_000_000, Machine: []byte(m1), URL: []byte(url)}), nil); err != nil {
			t.Fatal(err)
		}
	}
	access("http://a/")
	access("http://b/")
	plan, err := s.BeginSave()
	if err != nil {
		t.Fatal(err)
	}
	atBegin := s.reg.AppendSnapshot(nil, 0)
	seq := s.Info().Seq
	access("http://c/")
	// While it runs, nothing else saves: it is refused, not queued behind the slot.
	if _, err := s.Save(); !errors.Is(err, ErrSaving) {
		t.Fatalf("Save during a save: %v", err)
	}
	if _, err := s.BeginSave(); !errors.Is(err, ErrSaving) {
		t.Fatalf("BeginSave during a save: %v", err)
	}
	info, err := WriteCheckpoint(ms, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Seq != seq || info.File != "registry.db.2" {
		t.Fatalf("checkpoint %+v, want change %d in registry.db.2", info, seq)
	}
	access("http://d/")
	if s.Info().Snapshot != "registry.db.1" {
		t.Fatalf("the store adopted the snapshot before the commit: %+v", s.Info())
	}
	got, err := s.CommitSave()
	if err != nil || got != info {
		t.Fatalf("commit: %+v %v, want %+v", got, err, info)
	}
	in := s.Info()
	// Changes after the snapshot: c, d and the commit's record.
	if in.Snapshot != "registry.db.2" || in.SavedSeq != seq || in.LogRecords != 3 || in.Generation != 2 || in.SaveError != "" {
		t.Fatalf("after the commit: %+v", in)
	}
	snap, _ := ms.ReadFile("registry.db.2")
	h, _, _ := ParseSnapshotHeader(snap)
	body := func(b []byte) []byte { return b[snapHeaderLen:] }
	if h.Seq != seq || h.Next != seq || !bytes.Equal(body(snap), body(atBegin)) {
		t.Fatalf("the snapshot is not the state at BeginSave (header %+v)", h)
	}
	want := contents(s.reg)
	s2, err := OpenStore(ms, detConfig(3))
	if err != nil || !bytes.Equal(contents(s2.reg), want) {
		t.Fatalf("reopen: %v", err)
	}
	if rep := CheckStorage(ms); !rep.Healthy || len(rep.Notes) > 0 {
		t.Fatalf("check after a save off the request path: %+v", rep)
	}
	// The next save (synchronous) retires generation 1.
	if _, err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if names := filesWithPrefix(t, ms, "registry.db."); len(names) != 2 || names[0] != "registry.db.2" {
		t.Fatalf("snapshots after the next save: %v", names)
	}
}

// TestCheckpointRefusals: a plan damaged or replayed, a slot taken, nothing to commit, an
// import during a save: refused, naming why, with nothing changed.
func TestCheckpointRefusals(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(4))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1_700_000_000, Machine: []byte(m1), URL: []byte("http://a/")}), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitSave(); err == nil {
		t.Fatal("a commit without a save in progress succeeded")
	}
	plan, err := s.BeginSave()
	if err != nil {
		t.Fatal(err)
	}
	before, _ := ms.List()
	for i := range plan {
		bad := bytes.Clone(plan)
		bad[i] ^= 0x10
		if _, err := WriteCheckpoint(ms, bad, nil); !errors.Is(err, ErrBadRequest) {
			t.Fatalf("plan damaged at byte %d: %v", i, err)
		}
	}
	if _, err := WriteCheckpoint(ms, plan[:len(plan)-1], nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("plan cut short: %v", err)
	}
	if after, _ := ms.List(); len(after) != len(before) {
		t.Fatal("a refused plan wrote a file")
	}
	out, err := s.Handle(AppendRequest(nil, &Request{Op: OpImport, When: 1, Person: []byte("netdata.db")}), nil)
	if resps, _ := ParseResponses(out); err != nil || resps[0].Status != 503 || !strings.Contains(string(resps[0].Body), "a save is in progress") {
		t.Fatalf("import during a save: %v %s", err, out)
	}
	if _, err := WriteCheckpoint(ms, plan, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteCheckpoint(ms, plan, nil); !errors.Is(err, ErrStale) {
		t.Fatalf("a plan written twice: %v", err)
	}
	if _, err := s.CommitSave(); err != nil {
		t.Fatal(err)
	}
	// The old plan again: its base is no longer the store's, its slot is taken.
	if _, err := WriteCheckpoint(ms, plan, nil); err == nil {
		t.Fatal("an old plan wrote a snapshot again")
	}
}

// TestCheckpointFails: the checkpoint fails (a full disk); the host aborts. The snapshot is
// gone, the failure is reported until a save succeeds, changes went on, and the next save
// (either kind) works.
func TestCheckpointFails(t *testing.T) {
	for _, next := range []string{stepSave, stepBegin} {
		ms := &MemStorage{}
		s, err := OpenStore(ms, detConfig(5))
		if err != nil {
			t.Fatal(err)
		}
		access := func(url string) {
			t.Helper()
			if _, err := s.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1_700_000_000, Machine: []byte(m2), URL: []byte(url)}), nil); err != nil {
				t.Fatal(err)
			}
		}
		access("http://a/")
		plan, err := s.BeginSave()
		if err != nil {
			t.Fatal(err)
		}
		access("http://b/")
		ms.FailOn("write", "registry.db.", ErrNoSpace)
		if _, err := WriteCheckpoint(ms, plan, nil); !errors.Is(err, ErrNoSpace) {
			t.Fatalf("checkpoint on a full disk: %v", err)
		}
		s.AbortSave(errors.New("checkpoint: no space"))
		access("http://c/")
		if in := s.Info(); in.SaveError != "checkpoint: no space" || in.Snapshot != "registry.db.1" || s.Saving() {
			t.Fatalf("after the abort: %+v", in)
		}
		if names := filesWithPrefix(t, ms, "registry.db."); len(names) != 1 {
			t.Fatalf("snapshots after the abort: %v", names)
		}
		want := contents(s.reg)
		if next == stepSave {
			if _, err := s.Save(); err != nil {
				t.Fatal(err)
			}
		} else {
			if plan, err = s.BeginSave(); err == nil {
				_, err = WriteCheckpoint(ms, plan, nil)
			}
			if err == nil {
				_, err = s.CommitSave()
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if in := s.Info(); in.SaveError != "" || in.Snapshot == "registry.db.1" {
			t.Fatalf("%s after the failed one: %+v", next, in)
		}
		s2, err := OpenStore(ms, detConfig(5))
		if err != nil || !bytes.Equal(contents(s2.reg), want) {
			t.Fatalf("%s: reopen: %v", next, err)
		}
		if rep := CheckStorage(ms); !rep.Healthy {
			t.Fatalf("%s: check: %+v", next, rep)
		}
	}
}

// TestCheckpointTornSnapshot: a snapshot cut short is an unfinished save (a note) until its
// commit is logged, and damage (a problem) after it, while the previous generation and the
// log still give back every change.
func TestCheckpointTornSnapshot(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(6))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://a/", "http://b/"} {
		if _, err := s.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1_700_000_000, Machine: []byte(m1), URL: []byte(u)}), nil); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := s.BeginSave()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1_700_000_000, Machine: []byte(m1), URL: []byte("http://c/")}), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteCheckpoint(ms, plan, nil); err != nil {
		t.Fatal(err)
	}
	want := contents(s.reg)
	cut := func(st *MemStorage) {
		data, _ := st.ReadFile("registry.db.2")
		st.WriteFile("registry.db.2", data[:len(data)/2])
	}
	before := ms.Clone()
	cut(before)
	if rep := CheckStorage(before); !rep.Healthy || len(rep.Notes) == 0 || !strings.Contains(strings.Join(rep.Notes, " "), "registry.db.2 is cut short (a save that did not finish)") {
		t.Fatalf("uncommitted and cut: %+v", rep)
	}
	if s2, err := OpenStore(before, detConfig(6)); err != nil || !bytes.Equal(contents(s2.reg), want) {
		t.Fatalf("uncommitted and cut: open: %v", err)
	}
	if _, err := s.CommitSave(); err != nil {
		t.Fatal(err)
	}
	after := ms.Clone()
	cut(after)
	if rep := CheckStorage(after); rep.Healthy || !strings.Contains(strings.Join(rep.Problems, " "), "registry.db.2 is cut short after its save finished") {
		t.Fatalf("committed and cut: %+v", rep)
	}
	if s2, err := OpenStore(after, detConfig(6)); err != nil || !bytes.Equal(contents(s2.reg), want) {
		t.Fatalf("committed and cut: open: %v", err)
	}
}

// TestCrashDuringCheckpoint crashes a workload whose saves run in three steps, with changes
// logged between them, at every storage operation (the checkpoint's writes included) and
// tears every write, then recovers: the state is the last acknowledged one, or that plus the
// call in flight, and the directory is healthy once opened (a crash during a save leaves
// notes, never problems).
func TestCrashDuringCheckpoint(t *testing.T) {
	seeds := 16
	if testing.Short() {
		seeds = 3
	}
	cases := 0
	for seed := 0; seed < seeds; seed++ {
		calls := asyncScript(uint64(seed), 22)
		clean := &MemStorage{}
		s, err := OpenStore(clean, detConfig(byte(seed)))
		if err != nil {
			t.Fatal(err)
		}
		base := clean.Ops()
		states, err := runAsync(s, clean, calls)
		if err != nil {
			t.Fatal(err)
		}
		total := clean.Ops() - base
		for op := 1; op <= total; op++ {
			for _, tear := range []int{-1, 0, 1, 7, 40, 200} {
				cases++
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
				acked, _ := runAsync(s, ms, calls)
				k := len(acked) - 1
				if !bytes.Equal(acked[k], states[k]) {
					t.Fatalf("seed %d op %d: acknowledged state differs from the clean run's", seed, op)
				}
				crashed := ms.Crash()
				s2, err := OpenStore(crashed, detConfig(byte(seed)))
				if err != nil {
					t.Fatalf("seed %d op %d tear %d: recovery failed: %v", seed, op, tear, err)
				}
				got := contents(s2.reg)
				if !bytes.Equal(got, states[k]) && (k+1 >= len(states) || !bytes.Equal(got, states[k+1])) {
					t.Fatalf("seed %d op %d tear %d: recovered state is neither the last acknowledged one (%d) nor the next", seed, op, tear, k)
				}
				if rep := CheckStorage(crashed); !rep.Healthy {
					t.Fatalf("seed %d op %d tear %d: not healthy after recovery: %v", seed, op, tear, rep.Problems)
				}
			}
		}
	}
	t.Logf("checkpoint crash cases: %d", cases)
}
