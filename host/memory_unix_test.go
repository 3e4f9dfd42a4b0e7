//go:build linux || darwin

package host

import (
	"strconv"
	"testing"
	"unsafe"
)

// TestMmapMemory: the allocator reserves the limit and grows in place, never copying.
func TestMmapMemory(t *testing.T) {
	if strconv.IntSize == 32 {
		t.Skip("a 32-bit address space has no room for 4 GiB: the slice fallback serves")
	}
	m, ok := memoryAllocator{DefaultMemoryLimit}.Allocate(pageSize, DefaultMemoryLimit).(*mmapMemory)
	if !ok {
		t.Fatal("no mmap reservation")
	}
	defer m.Free()
	if uint64(cap(m.buf)) != DefaultMemoryLimit {
		t.Fatalf("reserved %d", cap(m.buf))
	}
	b := m.Reallocate(pageSize)
	base := unsafe.SliceData(b)
	for size := uint64(pageSize); size <= 1<<30; size *= 4 {
		b = m.Reallocate(size)
		if unsafe.SliceData(b) != base || uint64(len(b)) != size || cap(b) > len(m.buf) {
			t.Fatalf("grow to %d: moved or capacity past the committed pages", size)
		}
		b[size-1] = 1 // committed: writable
	}
	if uint64(len(m.buf)) >= 2<<30 {
		t.Fatalf("committed %d bytes for 1 GiB", len(m.buf))
	}
}
