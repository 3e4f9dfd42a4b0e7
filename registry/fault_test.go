package registry

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// The fault suites of issue 14: what the crash simulation (TestCrashAtEveryOperation) does
// not reach. Each prints a line of counts per outcome ("fault ...:"); RELIABILITY.md records
// them. REGWASM_FULL=1 runs more seeds.
//
// Outcomes: exact (the acknowledged state, or it plus the one call in flight at a crash),
// refused (an error naming one of the store's files), lost (anything else: must be 0).

func fullRun() bool { return os.Getenv("REGWASM_FULL") == "1" }

// tally counts outcomes by class.
type tally map[string]int

func (c tally) String() string {
	keys := make([]string, 0, len(c))
	total := 0
	for k, n := range c {
		keys = append(keys, k)
		total += n
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%d run", total)
	for _, k := range keys {
		fmt.Fprintf(&b, ", %d %s", c[k], k)
	}
	if c["lost"] == 0 {
		b.WriteString(", 0 lost")
	}
	return b.String()
}

// ackedOrNext reports whether got is states[k] (the last acknowledged) or states[k+1] (that
// plus the call in flight).
func ackedOrNext(got []byte, states [][]byte, k int) bool {
	return bytes.Equal(got, states[k]) || k+1 < len(states) && bytes.Equal(got, states[k+1])
}

// TestFaultRecoveryCrash crashes recovery itself: every crash state of a workload is
// recovered with a crash (or a torn write) at every storage operation of the recovery, then
// recovered again, and, for the first operations, crashed again there too (depth 3). The end
// is always the state a clean recovery gives.
func TestFaultRecoveryCrash(t *testing.T) {
	seeds := 4
	if fullRun() {
		seeds = 24
	}
	counts := tally{}
	depth3 := 0
	for seed := 0; seed < seeds; seed++ {
		calls := script(uint64(seed), 22)
		states, total := cleanRun(t, seed, calls)
		for op := 1; op <= total; op++ {
			for _, tear := range []int{-1, 0, 5, 40} {
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
				disk := ms.Crash()
				// A clean recovery, for the expected state and its number of operations.
				probe := disk.Clone()
				before := probe.Ops()
				ps, err := OpenStore(probe, detConfig(byte(seed)))
				if err != nil {
					t.Fatalf("seed %d op %d tear %d: recovery: %v", seed, op, tear, err)
				}
				want := contents(ps.reg)
				if !ackedOrNext(want, states, k) {
					t.Fatalf("seed %d op %d tear %d: recovered neither the acknowledged state nor the next", seed, op, tear)
				}
				rops := probe.Ops() - before
				for r := 1; r <= rops; r++ {
					for _, tear2 := range []int{-1, 0, 3} {
						outcome := recoverAfterCrashes(t, disk.Clone(), seed, want, []crashAt{{r, tear2}})
						counts[outcome]++
						if outcome != "exact" {
							t.Fatalf("seed %d op %d tear %d: recovery crashed at its op %d (tear %d): %s", seed, op, tear, r, tear2, outcome)
						}
						if r <= 2 && tear2 <= 0 {
							// Depth 3: the second recovery crashes too, at each of its first ops.
							for r2 := 1; r2 <= 3; r2++ {
								o := recoverAfterCrashes(t, disk.Clone(), seed, want, []crashAt{{r, tear2}, {r2, -1}})
								counts[o]++
								depth3++
								if o != "exact" {
									t.Fatalf("seed %d op %d: recovery crashed at %d, then at %d: %s", seed, op, r, r2, o)
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("fault recovery-crash: %s (depth 3: %d of them)", counts, depth3)
	if counts["exact"] < 100 {
		t.Fatalf("only %v: the workload left too few recoveries that write", counts)
	}
}

type crashAt struct{ op, tear int }

// recoverAfterCrashes opens disk with each crash planned in turn (each open dies there and
// the next starts from what it left), then opens it once more without faults and compares.
func recoverAfterCrashes(t *testing.T, disk *MemStorage, seed int, want []byte, crashes []crashAt) string {
	t.Helper()
	for _, c := range crashes {
		if c.tear < 0 {
			disk.FailAfter(c.op)
		} else {
			disk.TearAfter(c.op, c.tear)
		}
		_, _ = OpenStore(disk, detConfig(byte(seed)))
		disk = disk.Crash()
	}
	s, err := OpenStore(disk, detConfig(byte(seed)))
	if err != nil {
		return "error: " + err.Error()
	}
	if !bytes.Equal(contents(s.reg), want) {
		return "lost"
	}
	return "exact"
}

// ioErr is an OS error as dirfs reports it (ENOSPC also matches ErrNoSpace there).
var ioErrs = []struct {
	name string
	err  error
}{{"ENOSPC", errors.Join(syscall.ENOSPC, ErrNoSpace)}, {"EIO", syscall.EIO}}

// TestFaultIOErrors fails every storage operation of a workload once, with ENOSPC and with
// EIO (the disk works again afterwards): the call that met it fails or is answered, memory
// holds exactly what was acknowledged at every step, writes stop until the next save
// resumes them, and after a crash at the end the files give back every acknowledged change.
func TestFaultIOErrors(t *testing.T) {
	seeds := 6
	if fullRun() {
		seeds = 30
	}
	counts := tally{}
	for seed := 0; seed < seeds; seed++ {
		calls := script(uint64(seed), 22)
		_, total := cleanRun(t, seed, calls)
		for _, e := range ioErrs {
			for op := 1; op <= total; op++ {
				ms := &MemStorage{}
				s, err := OpenStore(ms, detConfig(byte(seed)))
				if err != nil {
					t.Fatal(err)
				}
				ms.FailOnce(op, e.err)
				acked, failed := runScriptThroughFailures(t, s, calls)
				s2, err := OpenStore(ms.Crash(), detConfig(byte(seed)))
				switch {
				case err != nil:
					t.Fatalf("seed %d %s at op %d: reopen: %v", seed, e.name, op, err)
				case !bytes.Equal(contents(s2.reg), acked):
					counts["lost"]++
					t.Fatalf("seed %d %s at op %d: the files lost acknowledged changes", seed, e.name, op)
				case failed > 0:
					counts["exact after a failed call"]++
				default:
					counts["exact"]++
				}
			}
		}
	}
	t.Logf("fault io-errors: %s", counts)
}

// runScriptThroughFailures runs calls like runScript but goes on after failures: a failed
// call must leave memory as acknowledged, a call while writes are stopped changes nothing, a
// save resumes writes. It returns the last acknowledged contents and how many calls failed.
func runScriptThroughFailures(t *testing.T, s *Store, calls []call) ([]byte, int) {
	t.Helper()
	acked := contents(s.reg)
	failed := 0
	var known []string
	for i, c := range calls {
		if c.batch == nil {
			// A save purges idle persons first, a logged change: what it leaves in memory is
			// acknowledged (the purge record is in the log, or a failure reloaded the files).
			if _, err := s.Save(); err != nil {
				failed++
			}
			acked = contents(s.reg)
			continue
		}
		batch := c.batch
		if len(known) > 0 {
			batch = withPerson(batch, known[i%len(known)])
		}
		out, err := s.Handle(batch, nil)
		if err != nil {
			failed++
			if got := contents(s.reg); !bytes.Equal(got, acked) {
				t.Fatalf("call %d failed (%v) but memory holds %d bytes of state, not the acknowledged %d", i, err, len(got), len(acked))
			}
			continue
		}
		resps, _ := ParseResponses(out)
		for _, r := range resps {
			if r.Person != "" && r.Status == 200 {
				known = append(known, r.Person)
			}
		}
		acked = contents(s.reg)
	}
	return acked, failed
}

// TestFaultDiskFull fills the disk at every point of a workload with another writer that
// takes whatever space is freed, and later gives the space back: nothing acknowledged is
// lost, in memory or on disk, and writes resume.
func TestFaultDiskFull(t *testing.T) {
	seeds := 4
	if fullRun() {
		seeds = 20
	}
	counts := tally{}
	for seed := 0; seed < seeds; seed++ {
		calls := script(uint64(seed), 30)
		for at := 0; at < len(calls); at++ {
			for _, room := range []int64{0, 60, 200} {
				ms := &MemStorage{}
				s, err := OpenStore(ms, detConfig(byte(seed)))
				if err != nil {
					t.Fatal(err)
				}
				acked, _ := runScriptThroughFailures(t, s, calls[:at])
				ms.SetQuota(usedBytes(ms) + room)
				ms.CompetingWriter(true)
				mid, failedFull := runScriptThroughFailures(t, s, calls[at:min(at+8, len(calls))])
				if !bytes.Equal(contents(s.reg), mid) {
					t.Fatal("memory differs from the acknowledged state")
				}
				ms.CompetingWriter(false)
				ms.SetQuota(0)
				end, _ := runScriptThroughFailures(t, s, append(calls[min(at+8, len(calls)):], call{}))
				s2, err := OpenStore(ms.Crash(), detConfig(byte(seed)))
				switch {
				case err != nil:
					t.Fatalf("seed %d full at %d room %d: reopen: %v", seed, at, room, err)
				case !bytes.Equal(contents(s2.reg), end):
					counts["lost"]++
					t.Fatalf("seed %d full at %d room %d: acknowledged changes lost", seed, at, room)
				case failedFull > 0:
					counts["exact after calls failed on the full disk"]++
				default:
					counts["exact"]++
				}
				_ = acked
			}
		}
	}
	t.Logf("fault disk-full: %s", counts)
	if counts["exact after calls failed on the full disk"] == 0 {
		t.Fatal("the disk never filled")
	}
}

func usedBytes(ms *MemStorage) int64 {
	names, _ := ms.List()
	var n int64
	for _, name := range names {
		sz, _ := ms.Size(name)
		n += sz
	}
	return n
}
