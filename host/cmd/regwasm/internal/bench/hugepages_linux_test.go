package bench

import (
	"os"
	"testing"
)

// The advice finds Go's heap in /proc/self/maps: after a reservation of 64 MiB at least that
// much is advised (the flag shows as "hg" in /proc/self/smaps).
func TestAdviseHeapHugePages(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("this kernel has no transparent huge pages:", err)
	}
	const n = 64 << 20
	reserveHugeHeap(n)
	if got := adviseHeapHugePages(); got < n {
		t.Fatalf("advised %d bytes of the heap, want at least %d", got, n)
	}
}

// BenchmarkAdviseHeapHugePages is the renewal's cost, paid every adviseEvery batches.
func BenchmarkAdviseHeapHugePages(b *testing.B) {
	reserveHugeHeap(256 << 20)
	for b.Loop() {
		adviseHeapHugePages()
	}
}
