//go:build !wasm

package registry

import "encoding/binary"

// sameBytes reports whether a and b hold the same bytes (see same_wasm.go).
func sameBytes(a, b []byte) bool { return string(a) == string(b) }

// word reads b[:8] as a little-endian uint64: one load (see same_wasm.go).
func word(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// loadAt reads b[i:i+8] as a little-endian uint64. The caller has checked i+8 <= len(b)
// (same_wasm.go's does not check again).
func loadAt(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }
