package host

import "github.com/tetratelabs/wazero/experimental"

// memoryAllocator makes the module's linear memory: an mmap reservation where the system has
// one (memory_unix.go), else a Go slice. Either refuses to grow past limit.
//
// # Notes
//
// wazero's default linear memory is a Go slice that grows by append: every growth copies the
// whole memory, and a registry of a few hundred MiB stalled single calls for 0.5-3.5 s
// (wasm-notes.md). Reserving the maximum address space up front and committing pages as the
// module grows never copies: registry/test1 at 300K persons (a 114 MiB registry) had its
// worst call at 0.17 s instead of 2.56 s, and ran in 16.6 s instead of 25.9 s. The reservation is address space only (PROT_NONE, no backing
// pages): 4 GiB of it costs nothing on a 64-bit system.
type memoryAllocator struct{ limit uint64 }

// Allocate implements experimental.MemoryAllocator. max is what the module may declare (4 GiB
// when it declares none, as Go's modules do); capacity is ignored: pages are committed as the
// module grows.
func (a memoryAllocator) Allocate(capacity, max uint64) experimental.LinearMemory {
	limit := min(max, a.limit)
	if m := reserveMemory(limit); m != nil {
		return m
	}
	return &sliceMemory{limit: limit}
}

// sliceMemory is a linear memory in a Go slice that copies on growth (what wazero does by
// default), with a limit: the fallback where mmap is missing or the reservation fails.
type sliceMemory struct {
	buf   []byte
	limit uint64
}

// Reallocate implements experimental.LinearMemory: nil past the limit.
func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size] // bytes past len were never handed out: still zero
		return m.buf
	}
	c := min(max(size, uint64(cap(m.buf))+uint64(cap(m.buf))/4), m.limit)
	buf := make([]byte, size, c)
	copy(buf, m.buf)
	m.buf = buf
	return buf
}

// Free implements experimental.LinearMemory.
func (m *sliceMemory) Free() { m.buf = nil }
