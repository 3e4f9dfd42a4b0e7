package registry

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The defects of issue 14 (durability), each reproduced on the store's files. They speak of
// files by kind (config, snapshot, log) rather than by name, so that they state what must hold
// whatever the layout.

// filesWithPrefix lists the storage's files whose names start with prefix.
func filesWithPrefix(t testing.TB, st Storage, prefix string) []string {
	t.Helper()
	names, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// newestLog returns the log file with the most bytes: the one a workload appends to.
func newestLog(t testing.TB, st Storage) string {
	t.Helper()
	best, size := "", int64(-1)
	for _, n := range filesWithPrefix(t, st, "registry.log") {
		if s, err := st.Size(n); err == nil && s > size {
			best, size = n, s
		}
	}
	if best == "" {
		t.Fatal("no log file")
	}
	return best
}

func accessBatch(when uint32, person, machine, url, name string) []byte {
	return AppendRequest(nil, &Request{Op: OpAccess, When: when, Person: []byte(person), Machine: []byte(machine), URL: []byte(url), Arg: []byte(name)})
}

// accessMany runs n accesses by new persons and returns the store's contents after them.
func accessMany(t testing.TB, s *Store, n int) []byte {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := s.Handle(accessBatch(uint32(1_700_000_000+i), "", testMachines[i%len(testMachines)], "http://h"+uitoa(uint64(i))+"/", "n"), nil); err != nil {
			t.Fatalf("access %d: %v", i, err)
		}
	}
	return contents(s.reg)
}

// Issue 14, 1: a crash while startup cuts a torn log tail must not destroy the log.
func TestCrashWhileCuttingTornTailKeepsLog(t *testing.T) {
	for op := 1; op <= 6; op++ {
		for _, tear := range []int{-1, 0, 5} {
			ms := &MemStorage{}
			s, err := OpenStore(ms, detConfig(1))
			if err != nil {
				t.Fatal(err)
			}
			want := accessMany(t, s, 40)
			name := newestLog(t, ms)
			if err := ms.AppendFile(name, bytes.Repeat([]byte{0xa5}, 16)); err != nil {
				t.Fatal(err)
			}
			if err := ms.Sync(name); err != nil {
				t.Fatal(err)
			}
			disk := ms.Crash()
			if tear < 0 {
				disk.FailAfter(op)
			} else {
				disk.TearAfter(op, tear)
			}
			_, _ = OpenStore(disk, detConfig(1)) // crashes somewhere in recovery
			after := disk.Crash()
			for depth := 0; depth < 2; depth++ {
				s2, err := OpenStore(after, detConfig(1))
				if err != nil {
					t.Fatalf("op %d tear %d: reopen after a crash in recovery: %v", op, tear, err)
				}
				if got := contents(s2.reg); !bytes.Equal(got, want) {
					t.Fatalf("op %d tear %d depth %d: recovered %d bytes of state, want %d: acknowledged changes lost", op, tear, depth, len(got), len(want))
				}
				after = after.Crash()
			}
		}
	}
}

// Issue 14, 2: a full disk, with another writer taking whatever space is freed, must never
// roll the registry back: every acknowledged change stays, in memory and on disk.
func TestDiskFullWithCompetingWriterKeepsAcknowledged(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	accessMany(t, s, 30)
	if _, err := s.Save(); err != nil {
		t.Fatal(err)
	}
	acked := accessMany(t, s, 20)
	used := int64(0)
	names, _ := ms.List()
	for _, n := range names {
		sz, _ := ms.Size(n)
		used += sz
	}
	// The disk fills up, and another writer takes whatever space is freed.
	ms.SetQuota(used + 200)
	ms.CompetingWriter(true)
	failed := 0
	for i := 0; i < 5; i++ {
		_, err := s.Handle(accessBatch(1_800_000_000, "", m1, "http://full"+uitoa(uint64(i))+"/"+strings.Repeat("x", 100), "n"), nil)
		if err != nil {
			failed++
			continue
		}
		acked = contents(s.reg)
	}
	if failed == 0 {
		t.Fatal("no write failed on a full disk")
	}
	// Reads go on from what was acknowledged, in memory.
	if got := contents(s.reg); !bytes.Equal(got, acked) {
		t.Fatalf("in memory after the failures: %d bytes of state, want the acknowledged %d", len(got), len(acked))
	}
	if _, err := s.Handle(AppendRequest(nil, &Request{Op: OpHello}), nil); err != nil {
		t.Fatalf("a read after a failed write: %v", err)
	}
	// Power goes; the competing writer still holds the space.
	s2, err := OpenStore(ms.Crash(), detConfig(3))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if got := contents(s2.reg); !bytes.Equal(got, acked) {
		t.Fatalf("after a restart: %d bytes of state, want the acknowledged %d", len(got), len(acked))
	}
}

// Issue 14, 3: replay must give what was acknowledged, whatever the settings are now.
func TestReplayIgnoresLaterSettings(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateSettings(func(set *Settings) { set.MaxURLLength = 2000 }); err != nil {
		t.Fatal(err)
	}
	long := "http://a.example/" + strings.Repeat("a", 1500)
	for i, u := range []string{long + "1", long + "2"} {
		if _, err := s.Handle(accessBatch(uint32(1_700_000_000+i), "", m1, u, "n"), nil); err != nil {
			t.Fatal(err)
		}
	}
	want := contents(s.reg)
	disk := ms.Crash()
	s2, err := OpenStore(disk, detConfig(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.UpdateSettings(func(set *Settings) { set.MaxURLLength = 100 }); err != nil {
		t.Fatal(err)
	}
	s3, err := OpenStore(disk.Crash(), detConfig(4))
	if err != nil {
		t.Fatal(err)
	}
	if got := contents(s3.reg); !bytes.Equal(got, want) {
		t.Fatalf("replay under a lower max URL length changed acknowledged data (%d bytes of state, want %d)", len(got), len(want))
	}
	if n := s3.reg.urls.live; n != 2 {
		t.Fatalf("%d URLs after replay, want 2", n)
	}
}

// outcome opens damaged storage and says what came of it: "exact" (the acknowledged state),
// "refused" (an error naming one of the store's files), or a description of a silent loss.
func outcome(st *MemStorage, cfg *Config, want []byte) string {
	s, err := OpenStore(st, cfg)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "registry.") {
			return "refused"
		}
		return "refused without naming a file: " + msg
	}
	if got := contents(s.reg); !bytes.Equal(got, want) {
		return "opened with " + uitoa(uint64(len(got))) + " bytes of state instead of " + uitoa(uint64(len(want)))
	}
	if g := s.Settings().MachineGUID; g != "" && cfg != nil {
		return "exact"
	}
	return "exact"
}

// Issue 14, 4: a bit flip in a log record's header (its length) must not silently drop the
// records after it.
func TestLogHeaderBitFlipIsNotATornTail(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(5))
	if err != nil {
		t.Fatal(err)
	}
	want := accessMany(t, s, 48)
	name := newestLog(t, ms)
	data, _ := ms.ReadFile(name)
	bad := 0
	for off := 0; off < len(data); off++ {
		for bit := 0; bit < 8; bit++ {
			st := ms.Clone()
			flipped := bytes.Clone(data)
			flipped[off] ^= 1 << bit
			if err := st.WriteFile(name, flipped); err != nil {
				t.Fatal(err)
			}
			if got := outcome(st, detConfig(5), want); got != "exact" && got != "refused" {
				bad++
				if bad < 5 {
					t.Errorf("bit %d of byte %d of %s flipped: %s", bit, off, name, got)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d bit flips in the log lost acknowledged changes silently", bad)
	}
}

// Issue 14, 5: a lost snapshot must be detected whatever sequence number the log is at.
func TestLostSnapshotDetectedAtLowSeq(t *testing.T) {
	t.Run("one access then save", func(t *testing.T) {
		ms := &MemStorage{}
		s, _ := OpenStore(ms, detConfig(6))
		want := accessMany(t, s, 1)
		if _, err := s.Save(); err != nil {
			t.Fatal(err)
		}
		for _, n := range filesWithPrefix(t, ms, "registry.db") {
			st := ms.Clone()
			_ = st.Remove(n)
			if got := outcome(st, detConfig(6), want); got != "exact" && got != "refused" {
				t.Fatalf("%s removed: %s", n, got)
			}
		}
	})
	t.Run("import", func(t *testing.T) {
		ms := &MemStorage{}
		if err := ms.WriteFile("netdata.db", []byte(netdataToday)); err != nil {
			t.Fatal(err)
		}
		s, _ := OpenStore(ms, detConfig(7))
		out, err := s.Handle(AppendRequest(nil, &Request{Op: OpImport, Person: []byte("netdata.db")}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resps, _ := ParseResponses(out); resps[0].Status != 200 {
			t.Fatalf("import: %s", resps[0].Body)
		}
		want := contents(s.reg)
		if s.reg.machineIndex.count == 0 {
			t.Fatal("import loaded no machine")
		}
		for _, n := range filesWithPrefix(t, ms, "registry.db") {
			st := ms.Clone()
			_ = st.Remove(n)
			if got := outcome(st, detConfig(7), want); got != "exact" && got != "refused" {
				t.Fatalf("%s removed after an import: %s", n, got)
			}
		}
	})
}

// Issue 14, 6: a deleted or zeroed config must be refused, never replaced by a new identity.
func TestLostConfigIsRefused(t *testing.T) {
	ms := &MemStorage{}
	s, _ := OpenStore(ms, detConfig(8))
	accessMany(t, s, 3)
	guid := s.Settings().MachineGUID
	confs := filesWithPrefix(t, ms, "registry.conf")
	if len(confs) == 0 {
		t.Fatal("no config file")
	}
	for _, damage := range []string{"deleted", "zeroed"} {
		st := ms.Clone()
		for _, n := range confs {
			if damage == "deleted" {
				_ = st.Remove(n)
			} else {
				sz, _ := st.Size(n)
				_ = st.WriteFile(n, make([]byte, sz))
			}
		}
		s2, err := OpenStore(st, detConfig(9))
		if err == nil {
			t.Fatalf("config %s: opened with machine guid %s (was %s)", damage, s2.Settings().MachineGUID, guid)
		}
		if !strings.Contains(err.Error(), "registry.conf") {
			t.Fatalf("config %s: refusal does not name the config: %v", damage, err)
		}
		if rep := checkOf(t, st); rep.Healthy {
			t.Fatalf("config %s: check says healthy", damage)
		}
	}
}

// checkOf runs check on st without opening it for writing.
func checkOf(t testing.TB, st Storage) CheckReport {
	t.Helper()
	return CheckStorage(st)
}

var _ = errors.Is

// TestFailedLoadAnswersNothingThenRecovers: a Load that fails (the config gone behind the
// store's back) leaves the store answering nothing, rather than an empty registry that would
// log changes on top of the files; once the files are whole again the next call reloads, and
// its append first cuts the torn tail the reload (which writes nothing) left.
func TestFailedLoadAnswersNothingThenRecovers(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(14))
	if err != nil {
		t.Fatal(err)
	}
	accessMany(t, s, 5)
	cur := s.chain[len(s.chain)-1].name()
	ms.AppendFile(cur, []byte{9, 0, 0}) // a torn append, as a crash of another writer leaves
	conf := filesWithPrefix(t, ms, "registry.conf.")[0]
	saved, _ := ms.ReadFile(conf)
	ms.Remove(conf)
	if err := s.Load(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("load without a config: %v", err)
	}
	if _, err := s.Handle(accessBatch(1_700_000_100, "", m1, "http://after/", "n"), nil); err == nil {
		t.Fatal("a store whose load failed answered")
	}
	ms.WriteFile(conf, saved)
	ms.Sync(conf)
	if _, err := s.Handle(accessBatch(1_700_000_100, "", m1, "http://after/", "n"), nil); err != nil {
		t.Fatalf("after the config came back: %v", err)
	}
	want := contents(s.reg)
	s2, err := OpenStore(ms.Crash(), detConfig(14))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(contents(s2.reg), want) {
		t.Fatal("the append after the reload did not follow the verified records")
	}
	if rep := CheckStorage(ms); !rep.Healthy {
		t.Fatalf("check: %+v", rep)
	}
}

// TestCheckDuringSave: a live directory checked while a save writes its snapshot (any
// length of it, from empty) is healthy: an unfinished save is a note, not damage.
func TestCheckDuringSave(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(15))
	if err != nil {
		t.Fatal(err)
	}
	accessMany(t, s, 6)
	probe := ms.Clone()
	ps, _ := OpenStore(probe, detConfig(15))
	info, err := ps.Save()
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := probe.ReadFile(info.File)
	seg := ps.chain[0].name()
	segData, _ := probe.ReadFile(seg)
	for n := 0; n < len(snap); n++ {
		st := ms.Clone()
		st.WriteFile(seg, segData) // the save made its segment first
		st.WriteFile(info.File, snap[:n])
		if rep := CheckStorage(st); !rep.Healthy {
			t.Fatalf("snapshot written to %d of %d bytes: %+v", n, len(snap), rep)
		}
	}
}
