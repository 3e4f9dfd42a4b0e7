//go:build wasip1

package main

import "unsafe"

//go:wasmimport wasi_snapshot_preview1 random_get
func randomGet(buf unsafe.Pointer, size uint32) uint32

// wasiRandom reads the host's random source (WASI random_get): what the registry uses for new
// person GUIDs, which browsers use as bearer tokens in their cookie.
type wasiRandom struct{}

func (wasiRandom) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if errno := randomGet(unsafe.Pointer(&p[0]), uint32(len(p))); errno != 0 {
		return 0, errRandom
	}
	return len(p), nil
}
