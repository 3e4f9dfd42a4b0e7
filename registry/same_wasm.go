package registry

import (
	"encoding/binary"
	"unsafe"
)

// sameBytes reports whether a and b hold the same bytes.
//
// # Notes
//
// Go's WebAssembly runtime compares memory one byte at a time (memeqbody in
// internal/bytealg/equal_wasm.s), about ten instructions a byte. Eight bytes a load is faster
// there: a 27-byte URL takes 35 ns instead of 78-94 through wazero (BenchmarkCompare under
// wasip1). Natively string comparison is vectorized already, so same.go keeps it.
func sameBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for len(a) >= 8 {
		if binary.LittleEndian.Uint64(a) != binary.LittleEndian.Uint64(b[:8]) {
			return false
		}
		a, b = a[8:], b[8:]
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// word reads b[:8] as a little-endian uint64 (WebAssembly is little-endian and loads need no
// alignment).
//
// # Notes
//
// Go's wasm backend does not merge byte loads: binary.LittleEndian.Uint64 is eight loads,
// shifts and ors there, and costs too much for the inliner, so every GUID comparison and
// index hash built on it was a call. One unsafe load is one i64.load: GUID.equal 16.6 -> 9.3
// ns (BenchmarkCompare under wasip1 through wazero). sameBytes keeps the eight byte loads:
// with word it took 41-46 ns against 36, inlined or not.
func word(b []byte) uint64 {
	_ = b[7]
	return *(*uint64)(unsafe.Pointer(unsafe.SliceData(b)))
}

// loadAt reads b[i:i+8] as a little-endian uint64, unchecked: the caller has checked
// i+8 <= len(b) (snapshot rows, a block at a time). A checked load costs a comparison and a
// branch through the function's dispatch per field under Go's wasm backend.
func loadAt(b []byte, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}
