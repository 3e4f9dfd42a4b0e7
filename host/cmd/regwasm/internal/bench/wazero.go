package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/regwasm/regwasm/host"
	"github.com/regwasm/regwasm/registry/test1"
)

// wazeroTarget runs the module through package host, in a temporary directory that goes
// when the run ends.
type wazeroTarget struct {
	ctx     context.Context
	tmp     string
	reg     *host.Registry
	logSync string
}

// newWazeroTarget measures the module's start-up on the way: compiling it into an empty
// compilation cache (cold), then, in a fresh runtime, from a copy of that cache (warm, what a
// second process sees), then opening an empty registry (instantiate, _initialize, load).
func newWazeroTarget(ctx context.Context, r *HostResults, logSync string) (*wazeroTarget, error) {
	tmp, err := os.MkdirTemp("", "regwasm-bench-wazero-")
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
	r.CompileColdSeconds = time.Since(t0).Seconds()
	if err := os.CopyFS(warm, os.DirFS(cold)); err != nil {
		t.close()
		return nil, fmt.Errorf("copying the compilation cache: %w", err)
	}
	t0 = time.Now()
	if err := host.Initialize(ctx, host.WithCompilationCache(warm)); err != nil {
		t.close()
		return nil, err
	}
	r.CompileWarmSeconds = time.Since(t0).Seconds()
	t0 = time.Now()
	// The instance runs on the module compiled cold (the same code as the warm one), so that
	// a build with wazero's perfmap tag names its functions for perf (RATIONALE.md).
	t.reg, err = host.Open(ctx, filepath.Join(tmp, "data"), host.WithCompilationCache(cold))
	if err != nil {
		t.close()
		return nil, err
	}
	r.OpenSeconds = time.Since(t0).Seconds()
	r.ColdStartSeconds = r.CompileColdSeconds + r.OpenSeconds
	r.WarmStartSeconds = r.CompileWarmSeconds + r.OpenSeconds
	r.StartNote = fmt.Sprintf("cold: compile (%d wazero workers, one per P) into an empty wazero compilation cache + open; ", runtime.GOMAXPROCS(0)) +
		"warm: load the compiled module " +
		"from that cache in a fresh runtime + open (open = instantiate, _initialize, load an empty directory)"
	set, err := t.reg.Configure(ctx, LogSyncConf(logSync))
	if err != nil {
		t.close()
		return nil, err
	}
	t.logSync = set.LogSync
	return t, nil
}

func (t *wazeroTarget) storage() string {
	return fmt.Sprintf("the module through wazero: host.Registry.Call(batch) (copy into linear memory, the call, "+
		"copy out); files in a directory (WASI): each batch appended to the change log, log sync = %s", t.logSync)
}

func (t *wazeroTarget) handler() test1.Handler {
	return func(batch []byte) ([]byte, error) { return t.reg.Call(t.ctx, batch) }
}

func (t *wazeroTarget) counts() (Counts, error) {
	return moduleCounts(t.ctx, t.reg)
}

// saveLoad times the module's save (snapshot into the rotation, synced) and load.
func (t *wazeroTarget) saveLoad(r *HostResults) error {
	before, err := t.counts()
	if err != nil {
		return err
	}
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
	r.LoadNote = "the module's load export in the same instance"
	after, err := t.counts()
	if err != nil {
		return err
	}
	return sameCounts("wazero reload", before, after)
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
func moduleCounts(ctx context.Context, reg *host.Registry) (Counts, error) {
	var c Counts
	resps, err := reg.Do(ctx, []host.Request{{Op: host.OpStats}})
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(resps[0].Body, &c)
}
