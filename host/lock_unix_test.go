//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package host

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// TestFlockProbesDoNotSeeEachOther: openers racing for a stale lock all probe its flock at
// once; a probe must not take another probe for a live holder. (With exclusive probes, one
// opener in the six-process race of TestLockProcesses refused with the dead holder's name.)
func TestFlockProbesDoNotSeeEachOther(t *testing.T) {
	path := filepath.Join(t.TempDir(), LockName)
	if err := os.WriteFile(path, []byte("a stale lock\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const probers, probes = 4, 5000
	var held atomic.Int64
	var wg sync.WaitGroup
	for range probers {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		wg.Go(func() {
			for range probes {
				if free, known := flockFree(f); known && !free {
					held.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := held.Load(); n > 0 {
		t.Fatalf("%d of %d probes of a free flock found it held by another probe", n, probers*probes)
	}

	// A holder's flock is still seen.
	h, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if !flockHold(h) {
		t.Skip("no flock on this file system")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if free, known := flockFree(f); !known || free {
		t.Fatalf("a held flock probed free=%v known=%v", free, known)
	}
}
