//go:build wasip1

package main

import (
	"errors"
	"strconv"
)

// memoryLimit reads REGWASM_MEMORY_LIMIT: the most bytes the host lets the module's linear
// memory grow to (wasm/ABI.md rule 8), from which the registry's memory budget derives. ""
// means the host did not say: no budget unless the "memory budget" setting gives one.
func memoryLimit(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, errors.New("registry: REGWASM_MEMORY_LIMIT must be a number of bytes, not " + strconv.Quote(s))
	}
	return n, nil
}
