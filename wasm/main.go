//go:build wasip1

// Command wasm is registry.wasm: the registry core as a WASI preview1 reactor. It is glue
// only; wasm/ABI.md is its contract and every function here maps one export onto
// registry.Store.
package main

import (
	"errors"
	"os"
	"runtime/debug"
	"strconv"
	"unsafe"

	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/dirfs"
)

// Error codes returned by request, save and load (wasm/ABI.md).
const (
	codeBadRequest = -1
	codeStorage    = -2
	codeCorrupt    = -3
	codeInternal   = -4
)

// The module's state. A reactor has no main loop: the exports below are its only entries and
// the host calls them one at a time.
var (
	store  *registry.Store
	input  []byte    // alloc's buffer
	output []byte    // the last result
	slot   [3]uint32 // result_slot: pointer and length of the last result, flags
)

var errRandom = errors.New("registry: WASI random_get failed")

func main() {}

func init() {
	// The tables hold no pointers, so a collection is cheap but its heap target (twice the
	// live heap at GOGC=100) is not: a lower target keeps linear memory, which never
	// shrinks, closer to the data. Full test1 through wazero (regwasm bench --host wazero
	// --full): linear memory 1.3 GiB at 50, 1.2 GiB at 20, req/s the same within noise. (That
	// was before the arena stopped leaving garbage as it grows, 36fd41f; the tables' own peak
	// now sets most of it: 926 MiB in BENCHMARKS.md.)
	debug.SetGCPercent(20)
}

//go:wasmexport result_slot
func resultSlot() uint32 { return uint32(uintptr(unsafe.Pointer(&slot[0]))) }

//go:wasmexport alloc
func alloc(size int32) uint32 {
	if size < 0 || size > registry.MaxBatchLength {
		return 0
	}
	if int(size) > cap(input) {
		input = make([]byte, size, max(int(size), 2*cap(input)))
	}
	input = input[:max(size, 1)]
	return uint32(uintptr(unsafe.Pointer(&input[0])))
}

//go:wasmexport request
func request(ptr, size uint32) int32 {
	if len(input) == 0 || ptr != uint32(uintptr(unsafe.Pointer(&input[0]))) || int(size) > len(input) {
		return fail(codeBadRequest, errors.New("registry: request must be in the buffer alloc returned"))
	}
	return guard(func() (int32, error) {
		if err := open(); err != nil {
			return 0, err
		}
		var err error
		output, err = store.Handle(input[:size], output[:0])
		return int32(len(output)), err
	})
}

//go:wasmexport save
func save() int32 {
	return guard(func() (int32, error) {
		if err := open(); err != nil {
			return 0, err
		}
		info, err := store.Save()
		if err != nil {
			return 0, err
		}
		output = info.AppendJSON(output[:0])
		return int32(len(output)), nil
	})
}

//go:wasmexport load
func load() int32 {
	return guard(func() (int32, error) {
		if store == nil {
			if err := open(); err != nil {
				return 0, err
			}
		} else if err := store.Load(); err != nil {
			return 0, err
		}
		output = store.AppendStatsJSON(output[:0])
		return int32(len(output)), nil
	})
}

// trap panics on purpose, so hosts can test that they survive a trapped instance.
//
//go:wasmexport trap
func trap() { panic("registry: trap requested by the host") }

// open opens the store over the preopened directory "/" on first use, in the mode the host
// asks for with the environment variable REGWASM_OPEN and under the memory limit it gives in
// REGWASM_MEMORY_LIMIT (wasm/ABI.md).
func open() error {
	if store != nil {
		return nil
	}
	mode, err := openMode(os.Getenv("REGWASM_OPEN"))
	if err != nil {
		return err
	}
	limit, err := memoryLimit(os.Getenv("REGWASM_MEMORY_LIMIT"))
	if err != nil {
		return err
	}
	dir, err := dirfs.Open("/")
	if err != nil {
		return err
	}
	if store, err = registry.OpenStoreMode(dir, &registry.Config{Rand: wasiRandom{}, Yield: yield, MemoryLimit: limit}, mode); err != nil {
		return err
	}
	if err := deferSaves(store); err != nil {
		store = nil
		return err
	}
	return nil
}

func openMode(s string) (registry.OpenMode, error) {
	switch s {
	case "", "write":
		return registry.OpenWrite, nil
	case "read-only":
		return registry.OpenReadOnly, nil
	case "salvage":
		return registry.OpenSalvage, nil
	case "check":
		return registry.OpenCheck, nil
	}
	return 0, errors.New("registry: REGWASM_OPEN must be write, read-only, salvage or check, not " + strconv.Quote(s))
}

// guard runs fn, turns its error into a code and a message, and sets the result slot.
func guard(fn func() (int32, error)) int32 {
	n, err := fn()
	if err != nil {
		return fail(codeOf(err), err)
	}
	slot = [3]uint32{resultPointer(), uint32(len(output)), resultFlags()}
	return n
}

func codeOf(err error) int32 {
	switch {
	case errors.Is(err, registry.ErrBadRequest):
		return codeBadRequest
	case errors.Is(err, registry.ErrCorrupt):
		return codeCorrupt
	case errors.Is(err, registry.ErrBadConfig):
		return codeCorrupt
	}
	var fe *registry.FileError
	if errors.As(err, &fe) {
		return codeStorage
	}
	return codeStorage
}

func fail(code int32, err error) int32 {
	output = append(output[:0], err.Error()...)
	slot = [3]uint32{resultPointer(), uint32(len(output)), resultFlags()}
	return code
}

func resultPointer() uint32 {
	if cap(output) == 0 {
		output = make([]byte, 0, 4096)
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(output))))
}
