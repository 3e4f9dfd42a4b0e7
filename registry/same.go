//go:build !wasm

package registry

// sameBytes reports whether a and b hold the same bytes (see same_wasm.go).
func sameBytes(a, b []byte) bool { return string(a) == string(b) }
