package registry

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// smallRegistries are the states of a small registry the damage suite starts from: the log
// alone (no save yet), a save with changes after it, and a registry at rest (saved twice, as
// a server leaves it at shutdown).
func smallRegistries(t *testing.T) map[string]*MemStorage {
	t.Helper()
	out := map[string]*MemStorage{}
	for _, shape := range []string{"log only", "saved, then changes", "at rest"} {
		ms := &MemStorage{}
		s, err := OpenStore(ms, detConfig(11))
		if err != nil {
			t.Fatal(err)
		}
		calls := script(11, 6) // six calls, no save among them
		if _, err := runScript(s, calls); err != nil {
			t.Fatal(err)
		}
		switch shape {
		case "saved, then changes":
			s.Save()
			runScript(s, script(12, 4))
		case "at rest":
			s.Save()
			runScript(s, script(12, 4))
			s.Save()
		}
		out[shape] = ms
	}
	return out
}

// damageOutcome opens st and classifies the result against want (the acknowledged state):
// exact, refused (an error naming one of the store's files), tail (an acknowledged earlier
// state: what truncating the newest log records leaves, indistinguishable from records never
// written), or lost.
func damageOutcome(st *MemStorage, want []byte, earlier [][]byte) string {
	s, err := OpenStore(st, detConfig(11))
	if err != nil {
		for _, kind := range []string{"registry.db.", "registry.log", "registry.conf"} {
			if strings.Contains(err.Error(), kind) {
				return "refused"
			}
		}
		return "refused without naming a file: " + err.Error()
	}
	got := contents(s.reg)
	if bytes.Equal(got, want) {
		return "exact"
	}
	for _, e := range earlier {
		if bytes.Equal(got, e) {
			return "tail"
		}
	}
	return "lost"
}

// TestFaultDamagedFiles flips every bit of every file of the small registries, and cuts every
// file at every length: each outcome is exact recovery or a refusal naming the file. The one
// exception is named and counted: cutting whole records off the end of the newest log segment
// leaves an earlier acknowledged state ("tail"), which nothing can tell from records never
// written without a second copy of the log (RELIABILITY.md).
func TestFaultDamagedFiles(t *testing.T) {
	flips, cuts := tally{}, tally{}
	salvaged, cutSalvaged := 0, 0
	tailFiles := map[string]bool{}
	for shape, ms := range smallRegistries(t) {
		s, err := OpenStore(ms.Clone(), detConfig(11))
		if err != nil {
			t.Fatal(err)
		}
		want := contents(s.reg)
		earlier := earlierStates(t, ms, want)
		names, _ := ms.List()
		for _, name := range names {
			data, _ := ms.ReadFile(name)
			step := 1
			if !fullRun() && len(data) > 1500 {
				step = 3 // every third byte by default; every byte with REGWASM_FULL=1
			}
			for off := 0; off < len(data); off += step {
				for bit := 0; bit < 8; bit++ {
					st := ms.Clone()
					bad := bytes.Clone(data)
					bad[off] ^= 1 << bit
					st.WriteFile(name, bad)
					st.Sync(name)
					o := damageOutcome(st.Clone(), want, nil)
					flips[o]++
					if o != "exact" && o != "refused" {
						t.Errorf("%s: bit %d of byte %d of %s flipped: %s", shape, bit, off, name, o)
					}
					if o == "refused" {
						if err := salvages(st); err != nil {
							t.Errorf("%s: bit %d of byte %d of %s flipped: salvage: %v", shape, bit, off, name, err)
						}
						salvaged++
					}
				}
			}
			for n := 0; n < len(data); n++ {
				st := ms.Clone()
				st.WriteFile(name, data[:n])
				st.Sync(name)
				o := damageOutcome(st.Clone(), want, earlier)
				cuts[o]++
				switch o {
				case "refused":
					if err := salvages(st); err != nil {
						t.Errorf("%s: %s cut to %d bytes: salvage: %v", shape, name, n, err)
					}
					cutSalvaged++
				case "exact":
				case "tail":
					tailFiles[shape+": "+name] = true
				default:
					t.Errorf("%s: %s cut to %d bytes: %s", shape, name, n, o)
				}
			}
		}
	}
	t.Logf("fault bit-flips: %s; every refused one salvaged into a healthy directory (%d)", flips, salvaged)
	t.Logf("fault truncations: %s (tail: in %v); every refused one salvaged (%d)", cuts, keysOf(tailFiles), cutSalvaged)
	for f := range tailFiles {
		if strings.HasPrefix(f, "at rest") {
			t.Errorf("a truncation of %s lost records of a registry at rest: its newest segment holds none", f)
		}
	}
}

// salvages opens st in salvage mode and checks that what it leaves is healthy.
func salvages(st *MemStorage) error {
	if _, err := OpenStoreMode(st, detConfig(11), OpenSalvage); err != nil {
		return err
	}
	if rep := CheckStorage(st); !rep.Healthy {
		return errors.New("not healthy after the salvage: " + joinProblems(rep.Problems) + rep.Loss)
	}
	return nil
}

// earlierStates are the acknowledged states before want, rebuilt by replaying the registry's
// log one record less at a time (for classifying truncations).
func earlierStates(t *testing.T, ms *MemStorage, want []byte) [][]byte {
	t.Helper()
	var out [][]byte
	s, err := OpenStore(ms.Clone(), detConfig(11))
	if err != nil {
		t.Fatal(err)
	}
	name := s.chain[len(s.chain)-1].name() // the segment appends go to
	data, _ := ms.ReadFile(name)
	scan := scanSegment(data)
	for i := len(scan.recs) - 1; i >= 0; i-- {
		st := ms.Clone()
		st.WriteFile(name, data[:scan.recs[i].off])
		st.Sync(name)
		if s, err := OpenStore(st, detConfig(11)); err == nil {
			out = append(out, contents(s.reg))
		}
	}
	return out
}

func keysOf(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestFaultConfigChangesAndCrashes interleaves settings changes (a lower and a higher max URL
// length, another log sync) with accesses of long URLs and saves, and crashes at every
// storage operation: the recovered registry is the acknowledged one whatever the settings
// are by then, and the settings are the acknowledged ones (or the change in flight).
func TestFaultConfigChangesAndCrashes(t *testing.T) {
	type step struct {
		batch []byte
		set   func(*Settings)
		save  bool
	}
	long := "http://long.example/" + strings.Repeat("x", 1400)
	var steps []step
	for i := 0; i < 12; i++ {
		u := long + strconv.Itoa(i)
		if i%2 == 1 {
			u = "http://short" + strconv.Itoa(i) + ".example/"
		}
		steps = append(steps, step{batch: accessBatch(uint32(1_700_000_000+i), "", testMachines[i%len(testMachines)], u, "n")})
		switch i % 4 {
		case 0:
			steps = append(steps, step{set: func(s *Settings) { s.MaxURLLength = 2000; s.LogSync = "every 2" }})
		case 1:
			steps = append(steps, step{set: func(s *Settings) { s.MaxURLLength = 100; s.LogSync = "always" }})
		case 2:
			steps = append(steps, step{save: true})
		}
	}
	run := func(s *Store) (states [][]byte, sets []int, err error) {
		states, sets = append(states, contents(s.reg)), append(sets, s.Settings().MaxURLLength)
		for _, st := range steps {
			switch {
			case st.set != nil:
				err = s.UpdateSettings(st.set)
			case st.save:
				_, err = s.Save()
			default:
				_, err = s.Handle(st.batch, nil)
			}
			if err != nil {
				return states, sets, err
			}
			states, sets = append(states, contents(s.reg)), append(sets, s.Settings().MaxURLLength)
		}
		return states, sets, nil
	}
	clean := &MemStorage{}
	s, err := OpenStore(clean, detConfig(13))
	if err != nil {
		t.Fatal(err)
	}
	base := clean.Ops()
	states, sets, err := run(s)
	if err != nil {
		t.Fatal(err)
	}
	total := clean.Ops() - base
	counts := tally{}
	for op := 1; op <= total; op++ {
		for _, tear := range []int{-1, 0, 7, 100} {
			ms := &MemStorage{}
			s, err := OpenStore(ms, detConfig(13))
			if err != nil {
				t.Fatal(err)
			}
			if tear < 0 {
				ms.FailAfter(op)
			} else {
				ms.TearAfter(op, tear)
			}
			acked, _, _ := run(s)
			k := len(acked) - 1
			s2, err := OpenStore(ms.Crash(), detConfig(13))
			if err != nil {
				t.Fatalf("op %d tear %d: recovery: %v", op, tear, err)
			}
			got := contents(s2.reg)
			set := s2.Settings().MaxURLLength
			switch {
			case bytes.Equal(got, states[k]) && set == sets[k]:
				counts["exact"]++
			case k+1 < len(states) && bytes.Equal(got, states[k+1]) && set == sets[k+1]:
				counts["exact with the call in flight"]++
			default:
				counts["lost"]++
				t.Fatalf("op %d tear %d: recovered state or settings (max URL length %d) neither the acknowledged (%d) nor the next", op, tear, set, sets[k])
			}
		}
	}
	t.Logf("fault config-and-crashes: %s", counts)
}
