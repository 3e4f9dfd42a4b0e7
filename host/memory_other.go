//go:build !(linux || darwin)

package host

import "github.com/tetratelabs/wazero/experimental"

// reserveMemory has no mmap reservation here (the syscall package has Mprotect on Linux and
// macOS only): memoryAllocator falls back to a Go slice.
func reserveMemory(size uint64) experimental.LinearMemory { return nil }
