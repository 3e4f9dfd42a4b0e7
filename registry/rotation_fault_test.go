package registry

import (
	"errors"
	"strings"
	"testing"
)

// rtScenario is a store about to be written: until the write commits, Read must keep
// returning old ("<none>": no data).
type rtScenario struct {
	name  string
	build func(t *testing.T) *MemStorage
	old   string
	ops   int // mutating ops of a complete Write
	next  int
}

var rtScenarios = []rtScenario{
	{"new", func(t *testing.T) *MemStorage { return rtStore(t) }, "<none>", 2, 1},
	{"1->2", func(t *testing.T) *MemStorage { return rtStore(t, 1) }, "gen-1", 3, 2},
	{"2->3", func(t *testing.T) *MemStorage { return rtStore(t, 2) }, "gen-2", 3, 3},
	{"3->1 wrap", func(t *testing.T) *MemStorage { return rtStore(t, 3) }, "gen-3", 3, 1},
	{"2,3->3 over the uncommitted 3", func(t *testing.T) *MemStorage { return rtStore(t, 2, 3) }, "gen-2", 3, 3},
	{"1 rotten,2->3", func(t *testing.T) *MemStorage {
		s := rtStore(t, 1, 2)
		stOK(t, s.WriteFile("reg.1", []byte("rotten")))
		stOK(t, s.Sync("reg.1"))
		return s
	}, "gen-2", 4, 3},
	{"1,2,3->2", func(t *testing.T) *MemStorage { return rtStore(t, 1, 2, 3) }, "gen-1", 4, 2},
}

var rtNewData = rtSeal("new " + strings.Repeat("data ", 8))

// rtRead reads s after a restart and returns the payload, or "<none>" if no file verified.
func rtRead(t *testing.T, s *MemStorage) string {
	t.Helper()
	data, _, err := rtRotation(t, s).Read()
	if err != nil && !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Read: %v", err)
	}
	return rtPayload(data)
}

// rtBegin builds sc's store and reads it.
func rtBegin(t *testing.T, sc rtScenario) (*MemStorage, *Rotation, Choice) {
	t.Helper()
	s := sc.build(t)
	r := rtRotation(t, s)
	_, c, err := r.Read()
	stOK(t, err)
	return s, r, c
}

func TestRotationWriteCrashAtEveryOp(t *testing.T) {
	for _, sc := range rtScenarios {
		t.Run(sc.name, func(t *testing.T) {
			for n := 1; ; n++ {
				s, r, c := rtBegin(t, sc)
				s.FailAfter(n)
				_, err := r.Write(c, rtNewData)
				if !s.Crashed() {
					stOK(t, err)
					if n != sc.ops+1 {
						t.Fatalf("Write took %d ops, want %d", n-1, sc.ops)
					}
					if got := rtRead(t, s.Crash()); got != rtPayload(rtNewData) {
						t.Fatalf("after a committed Write and a crash: %q", got)
					}
					return
				}
				if !errors.Is(err, ErrCrashed) {
					t.Fatalf("op %d: Write = %v, want ErrCrashed", n, err)
				}
				after := s.Crash()
				if got := rtRead(t, after); got != sc.old {
					t.Fatalf("crash at op %d: Read = %q, want %q", n, got, sc.old)
				}
				if names, _ := after.List(); n > 1 && len(names) > 2 {
					t.Fatalf("crash at op %d left %v: more than two files", n, names)
				}
			}
		})
	}
}

func TestRotationWriteTornAtEveryOp(t *testing.T) {
	for _, sc := range rtScenarios {
		for _, k := range []int{0, 1, len(rtNewData) / 2, len(rtNewData) - 1} {
			for n := 1; n <= sc.ops; n++ {
				s, r, c := rtBegin(t, sc)
				s.TearAfter(n, k)
				if _, err := r.Write(c, rtNewData); !errors.Is(err, ErrCrashed) {
					t.Fatalf("%s: tear at op %d: %v", sc.name, n, err)
				}
				after := s.Crash()
				if got := rtRead(t, after); got != sc.old {
					t.Fatalf("%s: tear at op %d after %d bytes: Read = %q, want %q", sc.name, n, k, got, sc.old)
				}
				if sc.old == "<none>" && n == 1 { // a torn first write: explicit recovery
					r := rtRotation(t, after)
					_, c, err := r.Read()
					if !errors.Is(err, ErrCorrupt) {
						t.Fatalf("torn first write: Read = %v, want ErrCorrupt", err)
					}
					if c, err = r.Discard(c); err != nil {
						t.Fatal(err)
					}
					if _, err := r.Write(c, rtNewData); err != nil || rtRead(t, after) != rtPayload(rtNewData) {
						t.Fatalf("write after Discard: %v", err)
					}
				}
			}
		}
	}
}

func TestRotationWriteFailOnceAtEveryOp(t *testing.T) {
	for _, sc := range rtScenarios {
		t.Run(sc.name, func(t *testing.T) {
			for n := 1; ; n++ {
				s, r, c := rtBegin(t, sc)
				s.FailOnce(n, errRTIO)
				_, err := r.Write(c, rtNewData)
				if err == nil {
					if n != sc.ops+1 {
						t.Fatalf("Write succeeded although op %d of %d failed", n, sc.ops)
					}
					return
				}
				if !errors.Is(err, errRTIO) {
					t.Fatalf("op %d: Write = %v", n, err)
				}
				if got := rtRead(t, s); got != sc.old {
					t.Fatalf("op %d failed: Read = %q, want %q", n, got, sc.old)
				}
				if got := rtRead(t, s.Crash()); got != sc.old {
					t.Fatalf("op %d failed, then a crash: Read = %q, want %q", n, got, sc.old)
				}
				stale := sc.ops - 3
				if sc.old == "<none>" {
					stale = 0
				}
				if n == stale+1 || n == stale+2 { // write or sync failed: the partial file is gone
					if _, err := s.Size(r.Name(sc.next)); err == nil {
						t.Fatalf("op %d failed: partial %s left behind", n, r.Name(sc.next))
					}
				}
				_, c, err = r.Read() // a retry succeeds
				stOK(t, err)
				if _, err := r.Write(c, rtNewData); err != nil || rtRead(t, s) != rtPayload(rtNewData) {
					t.Fatalf("retry after op %d failed: %v", n, err)
				}
			}
		})
	}
}

func TestRotationWriteNoSpace(t *testing.T) {
	s, r, c := rtBegin(t, rtScenarios[1])
	s.SetQuota(int64(len(rtSeal("gen-1")) + len(rtNewData)/2))
	if _, err := r.Write(c, rtNewData); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Write = %v, want ErrNoSpace", err)
	}
	if names, _ := s.List(); len(names) != 1 || names[0] != "reg.1" {
		t.Fatalf("files %v, want reg.1 only", names)
	}
	if got := rtRead(t, s); got != "gen-1" {
		t.Fatalf("Read = %q", got)
	}
}
