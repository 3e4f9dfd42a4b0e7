//go:build linux || darwin

package host

import (
	"math"
	"os"
	"syscall"
)

// mmapMemory is a linear memory in an mmap reservation: len(buf) is committed (read-write),
// cap(buf) reserved (PROT_NONE). Growth commits more pages in place: the memory never moves
// and is never copied.
type mmapMemory struct {
	buf []byte
}

// reserveMemory reserves size bytes of address space, or returns nil if the system refuses
// (a 32-bit address space, a ulimit -v).
func reserveMemory(size uint64) *mmapMemory {
	size = roundPage(size)
	if size == 0 || size > math.MaxInt {
		return nil
	}
	buf, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil
	}
	adviseHugePages(buf)
	return &mmapMemory{buf: buf[:0]}
}

func roundPage(n uint64) uint64 {
	p := uint64(os.Getpagesize()) - 1
	return (n + p) &^ p
}

// Reallocate implements experimental.LinearMemory: it commits at least size bytes (an
// eighth more than before, so that many small growths make few system calls) and returns
// nil past the reservation or if the system refuses the pages.
func (m *mmapMemory) Reallocate(size uint64) []byte {
	com, res := uint64(len(m.buf)), uint64(cap(m.buf))
	if size > res {
		return nil
	}
	if size > com {
		n := min(roundPage(max(size, com+com/8)), res)
		if err := syscall.Mprotect(m.buf[com:n], syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
			return nil
		}
		m.buf = m.buf[:n]
	}
	// The capacity stops at the committed bytes: past them the pages are PROT_NONE.
	return m.buf[:size:len(m.buf)]
}

// Free implements experimental.LinearMemory: it unmaps the whole reservation.
func (m *mmapMemory) Free() {
	if cap(m.buf) > 0 {
		_ = syscall.Munmap(m.buf[:cap(m.buf)])
	}
	m.buf = nil
}
