//go:build wasip1

package main

import (
	"errors"
	"os"
	"unsafe"

	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/dirfs"
)

// Saves off the request path (wasm/ABI.md "Saves in three steps"): the serving instance
// begins a save and commits it; a second instance of the module, on another thread or
// Worker, writes its snapshot with checkpoint.

//go:wasmimport wasi_snapshot_preview1 sched_yield
func schedYield() uint32

// yield is the registry's Config.Yield: a call into the host between slices of a long
// operation, where a host thread running the module can be stopped and others run.
func yield() { schedYield() }

// resultFlags are the result slot's third word after every call (wasm/ABI.md rule 4).
func resultFlags() uint32 {
	if store != nil && store.SaveDue() {
		return 1 // a save is due: the host begins one
	}
	return 0
}

// deferSaves applies REGWASM_SAVES: "deferred" leaves the saves that "registry save db every
// new entries" calls for to the host (result flag 1), which runs them in three steps.
func deferSaves(s *registry.Store) error {
	switch v := os.Getenv("REGWASM_SAVES"); v {
	case "", "inline":
	case "deferred":
		s.DeferSaves(true)
	default:
		return errors.New("registry: REGWASM_SAVES must be inline or deferred, not " + v)
	}
	return nil
}

//go:wasmexport save_begin
func saveBegin() int32 {
	return guard(func() (int32, error) {
		if err := open(); err != nil {
			return 0, err
		}
		plan, err := store.BeginSave()
		if err != nil {
			return 0, err
		}
		output = append(output[:0], plan...)
		return int32(len(output)), nil
	})
}

//go:wasmexport save_commit
func saveCommit() int32 {
	return guard(func() (int32, error) {
		if err := open(); err != nil {
			return 0, err
		}
		info, err := store.CommitSave()
		if err != nil {
			return 0, err
		}
		output = info.AppendJSON(output[:0])
		return int32(len(output)), nil
	})
}

//go:wasmexport save_abort
func saveAbort(ptr, size uint32) int32 {
	if len(input) == 0 || ptr != inputPointer() || int(size) > len(input) {
		return fail(codeBadRequest, errors.New("registry: the reason must be in the buffer alloc returned"))
	}
	return guard(func() (int32, error) {
		if err := open(); err != nil {
			return 0, err
		}
		store.AbortSave(errors.New(string(input[:size])))
		output = output[:0]
		return 0, nil
	})
}

//go:wasmexport checkpoint
func checkpoint(ptr, size uint32) int32 {
	if len(input) == 0 || ptr != inputPointer() || int(size) > len(input) {
		return fail(codeBadRequest, errors.New("registry: the plan must be in the buffer alloc returned"))
	}
	return guard(func() (int32, error) {
		dir, err := dirfs.Open("/")
		if err != nil {
			return 0, err
		}
		info, err := registry.WriteCheckpoint(dir, input[:size], &registry.Config{Rand: wasiRandom{}, Yield: yield})
		if err != nil {
			return 0, err
		}
		output = info.AppendJSON(output[:0])
		return int32(len(output)), nil
	})
}

// inputPointer is the address of alloc's buffer (which must not be empty).
func inputPointer() uint32 { return uint32(uintptr(unsafe.Pointer(&input[0]))) }
