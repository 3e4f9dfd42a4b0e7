package host

import (
	"context"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// TestConcurrent hammers one Registry from many goroutines (run it with -race): every access
// is counted once and every person keeps its own history.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	r := open(t, t.TempDir())
	const workers, calls = 8, 40
	var writers, readers sync.WaitGroup
	for w := range workers {
		writers.Go(func() {
			person := uuid.Nil
			for i := range calls {
				res, err := r.Access(ctx, person, machine(w), u1, "m")
				if err != nil {
					t.Error(err)
					return
				}
				if person != uuid.Nil && res.Person != person || res.URLs[0].Usages != uint32(i+1) {
					t.Errorf("worker %d call %d: %+v", w, i, res)
					return
				}
				person = res.Person
			}
		})
	}
	done := make(chan struct{})
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				s, err := r.Stats(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if s.Accesses > workers*calls || s.ModuleMemory < 1<<20 {
					t.Errorf("stats %+v", s)
				}
			}
		})
	}
	writers.Wait()
	close(done)
	readers.Wait()
	if s := stats(t, r); s.Accesses != workers*calls || s.Persons != workers || s.Machines != workers {
		t.Fatalf("stats %+v", s)
	}
}
