package test1_test

import (
	"testing"

	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/test1"
)

// TestSmallRun runs every phase at 1/500 size natively and checks the final counts the
// workload implies.
func TestSmallRun(t *testing.T) {
	r := registry.New(registry.Config{})
	var out []byte
	h := func(b []byte) ([]byte, error) {
		var err error
		out, err = r.Handle(b, out[:0], nil)
		return out, err
	}
	o := test1.Options{Persons: 2000, Machines: 400, Seed: 1, Batch: 100}
	phases, err := test1.Run(h, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(phases) != 15 {
		t.Fatalf("%d phases, want 15", len(phases))
	}
	st := r.Stats()
	if st.Persons != 2000 || st.Machines != 800 || st.Accesses != 2000*25 {
		t.Fatalf("stats %+v", st)
	}
	// Every person saw at least its phase-1 and phase-3 machines.
	if st.PersonURLs < 2*2000 || st.URLs < 800 || st.MachineURLs < 800 {
		t.Fatalf("stats %+v", st)
	}
}
