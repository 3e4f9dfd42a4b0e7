package host

import (
	"context"
	"testing"
)

// TestStatsCountsTraps: Stats reports the traps since Open, for a server's metrics.
func TestStatsCountsTraps(t *testing.T) {
	r := open(t, t.TempDir())
	if st := stats(t, r); st.Traps != 0 || st.ModuleMemory == 0 {
		t.Fatalf("fresh: %+v", st)
	}
	if err := r.trap(context.Background()); err == nil {
		t.Fatal("no trap")
	}
	if st := stats(t, r); st.Traps != 1 {
		t.Fatalf("after a trap: %d traps", st.Traps)
	}
}
