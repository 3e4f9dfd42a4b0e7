package bench

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// reserveHugeHeap has Go map n bytes of heap before the native target's tables need them and
// advises them to use transparent huge pages, so that the native baseline runs on the kind of
// pages the wazero host gives the module's linear memory (host/memory_linux.go). The bytes
// are not touched: they cost address space, not memory, until the tables use them.
//
// # Notes
//
// THP in "madvise" mode, the common default, gives huge pages only where asked, and Go's
// runtime asks only for its own metadata. Without the advice the native target's random
// phases fall from about 750K to 540K req/s once the tables pass half a gigabyte (mixed 4 of
// full test1): nearly every lookup then misses the TLB as well as the cache. With THP
// "always" set system-wide, the same build keeps 705K-850K through mixed 10.
//
// The advice must come before the pages are first touched: a page touched small stays small
// until khugepaged, which scans 16 MiB every 10 s by default, collapses it. Go maps its heap
// as it grows and a new mapping does not inherit the advice, so the reservation maps the heap
// the workload will need in one piece first, and adviseHeapHugePages is renewed for growth
// beyond it.
func reserveHugeHeap(n int) {
	b := make([]byte, n) // fresh from the OS: Go does not clear it, so nothing is touched
	adviseHeapHugePages()
	runtime.KeepAlive(b)
	b = nil
	// Free it now: a collection that found it live would set the next heap goal from it.
	runtime.GC()
}

// adviseHeapHugePages advises every large private anonymous mapping of the process (Go's
// heap) to use transparent huge pages, and returns how many bytes it advised. The advice only
// flags the mapping: errors leave ordinary pages and are ignored. Reading /proc/self/maps and
// advising take 55 µs (BenchmarkAdviseHeapHugePages): every 100 batches of test1, about
// 0.05% of the time.
func adviseHeapHugePages() (advised uint64) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(maps) {
		// start-end perms offset dev inode [path]
		f := bytes.Fields(line)
		if len(f) != 5 || string(f[1]) != "rw-p" || string(f[4]) != "0" {
			continue // a file, a named region ([stack], [heap]...) or not writable
		}
		start, end, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			continue
		}
		lo, err1 := strconv.ParseUint(string(start), 16, 64)
		hi, err2 := strconv.ParseUint(string(end), 16, 64)
		if err1 != nil || err2 != nil || hi-lo < minHugeAdvice {
			continue
		}
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), syscall.MADV_HUGEPAGE)
		if errno == 0 {
			advised += hi - lo
		}
	}
	return advised
}

// minHugeAdvice: smaller mappings cannot hold an aligned 2 MiB page worth having.
const minHugeAdvice = 8 << 20
