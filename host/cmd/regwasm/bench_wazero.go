package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/regwasm/regwasm/host"
	"github.com/regwasm/regwasm/registry/test1"
)

// wazeroTarget runs the module through package host, in a temporary directory that goes
// when the run ends.
type wazeroTarget struct {
	ctx context.Context
	tmp string
	reg *host.Registry
}

// newWazeroTarget measures the module's start-up on the way: compiling it into an empty
// compilation cache (cold), then, in a fresh runtime, from a copy of that cache (warm, what a
// second process sees), then opening an empty registry.
func newWazeroTarget(ctx context.Context, r *hostResults) (*wazeroTarget, error) {
	tmp, err := os.MkdirTemp("", "regwasm-bench-")
	if err != nil {
		return nil, err
	}
	t := &wazeroTarget{ctx: ctx, tmp: tmp}
	cold, warm := filepath.Join(tmp, "cache-cold"), filepath.Join(tmp, "cache-warm")
	t0 := time.Now()
	if err := host.Initialize(ctx, host.WithCompilationCache(cold)); err != nil {
		t.close()
		return nil, err
	}
	r.ColdStartSeconds = time.Since(t0).Seconds()
	if err := os.CopyFS(warm, os.DirFS(cold)); err != nil {
		t.close()
		return nil, fmt.Errorf("copying the compilation cache: %w", err)
	}
	t0 = time.Now()
	if err := host.Initialize(ctx, host.WithCompilationCache(warm)); err != nil {
		t.close()
		return nil, err
	}
	r.WarmStartSeconds = time.Since(t0).Seconds()
	t0 = time.Now()
	t.reg, err = host.Open(ctx, filepath.Join(tmp, "data"), host.WithCompilationCache(warm))
	if err != nil {
		t.close()
		return nil, err
	}
	r.OpenSeconds = time.Since(t0).Seconds()
	return t, nil
}

func (t *wazeroTarget) name() string { return "wazero" }

func (t *wazeroTarget) storage() string {
	set, err := t.reg.Settings(t.ctx)
	if err != nil {
		return "the module with its files (settings unreadable: " + err.Error() + ")"
	}
	return fmt.Sprintf("the module with its files: every batch appended to the change log (log sync = %s)", set.LogSync)
}

func (t *wazeroTarget) handler() test1.Handler {
	return func(batch []byte) ([]byte, error) { return t.reg.Call(t.ctx, batch) }
}

func (t *wazeroTarget) counts() (benchCounts, error) {
	return moduleCounts(t.ctx, t.reg)
}

// saveLoad times the module's save (snapshot into the rotation, synced) and load.
func (t *wazeroTarget) saveLoad(r *hostResults) error {
	t0 := time.Now()
	info, err := t.reg.Save(t.ctx)
	if err != nil {
		return err
	}
	r.SaveSeconds = time.Since(t0).Seconds()
	r.SnapshotBytes = int64(info.Bytes)
	t0 = time.Now()
	if _, err := t.reg.Load(t.ctx); err != nil {
		return err
	}
	r.LoadSeconds = time.Since(t0).Seconds()
	return nil
}

func (t *wazeroTarget) close() error {
	var err error
	if t.reg != nil {
		err = t.reg.Close()
	}
	if rerr := os.RemoveAll(t.tmp); err == nil {
		err = rerr
	}
	return err
}

// moduleCounts reads the module's stats answer.
func moduleCounts(ctx context.Context, reg *host.Registry) (benchCounts, error) {
	var c benchCounts
	resps, err := reg.Do(ctx, []host.Request{{Op: host.OpStats}})
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(resps[0].Body, &c)
}
