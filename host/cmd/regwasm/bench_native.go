package main

import (
	"fmt"
	"time"

	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/test1"
)

// nativeTarget runs the registry core directly in this process: the baseline the module is
// compared with (the only use of package registry outside the module, per DESIGN.md).
type nativeTarget struct {
	reg *registry.Registry
	out []byte
}

func newNativeTarget() *nativeTarget { return &nativeTarget{reg: registry.New(registry.Config{})} }

func (t *nativeTarget) name() string { return "native" }

func (t *nativeTarget) storage() string { return "the core in memory, no files" }

func (t *nativeTarget) handler() test1.Handler {
	return func(batch []byte) ([]byte, error) {
		var err error
		t.out, err = t.reg.Handle(batch, t.out[:0], nil)
		return t.out, err
	}
}

func (t *nativeTarget) counts() (benchCounts, error) {
	s := t.reg.Stats()
	return benchCounts{Persons: s.Persons, Machines: s.Machines, URLs: s.URLs, Accesses: s.Accesses,
		PersonURLs: s.PersonURLs, MachineURLs: s.MachineURLs, Bytes: s.Bytes}, nil
}

// saveLoad times encoding the snapshot and decoding it into a new registry (in memory: the
// native figure is the codec's cost, the wazero one adds the files).
func (t *nativeTarget) saveLoad(r *hostResults) error {
	t0 := time.Now()
	snap := t.reg.AppendSnapshot(nil, 1)
	r.SaveSeconds = time.Since(t0).Seconds()
	r.SnapshotBytes = int64(len(snap))
	t0 = time.Now()
	loaded := registry.New(registry.Config{})
	if _, err := loaded.LoadSnapshot(snap); err != nil {
		return fmt.Errorf("loading the snapshot back: %w", err)
	}
	r.LoadSeconds = time.Since(t0).Seconds()
	if got, want := loaded.Stats(), t.reg.Stats(); got.PersonURLs != want.PersonURLs || got.Persons != want.Persons {
		return fmt.Errorf("snapshot round trip: %+v, want %+v", got, want)
	}
	return nil
}

func (t *nativeTarget) close() error { return nil }
