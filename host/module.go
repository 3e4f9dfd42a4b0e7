package host

import (
	"bytes"
	"context"
	crand "crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/regwasm/regwasm/host/internal/wasidir"
)

// registryWasm is the module, built by ./build.sh from ./wasm (TestCommittedWasmIsFresh
// checks that it matches the sources).
//
//go:embed registry.wasm
var registryWasm []byte

// Binary returns the embedded registry.wasm. The caller must not modify it.
func Binary() []byte { return registryWasm }

// engine is a wazero runtime with WASI and the compiled module.
type engine struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
}

// engines are the process's compiled modules, by the compilation cache asked for: its
// directory, "" for none, noUserCache when the user's cache directory is unknown. A cache
// that could not be used maps to an engine compiled without it (or already compiled).
var engines struct {
	sync.Mutex
	m map[string]*engine
}

const noUserCache = "\x00no user cache directory"

// Initialize compiles the embedded module (or loads it from the compilation cache) for the
// given options, if that has not been done yet in this process. Open does it on first use;
// call Initialize to pay the cost (without a cache, about 0.5 s on 2 cores) at a time of
// your choosing. Only the compilation cache and logger options matter here.
func Initialize(ctx context.Context, opts ...Option) error {
	o := newOptions(opts)
	_, err := getEngine(ctx, &o)
	return err
}

// cacheLocation returns where o keeps the compiled module ("" for nowhere) and the key of its
// engine; err says why the default location is unknown.
func (o *options) cacheLocation() (dir, key string, err error) {
	switch {
	case o.noCache:
		return "", "", nil
	case o.cacheDir != "":
		return o.cacheDir, o.cacheDir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", noUserCache, err
	}
	dir = filepath.Join(base, "regwasm", "wazero")
	return dir, dir, nil
}

func getEngine(ctx context.Context, o *options) (*engine, error) {
	dir, key, cacheErr := o.cacheLocation()
	engines.Lock()
	defer engines.Unlock()
	if e := engines.m[key]; e != nil {
		return e, nil
	}
	if engines.m == nil {
		engines.m = make(map[string]*engine)
	}
	var e *engine
	if dir != "" {
		var cache wazero.CompilationCache
		if cache, cacheErr = wazero.NewCompilationCacheWithDir(dir); cacheErr == nil {
			if e, cacheErr = compile(ctx, cache); cacheErr != nil {
				cache.Close(ctx)
			}
		}
	}
	if e == nil {
		if err := ctx.Err(); err != nil {
			return nil, err // not the cache's fault
		}
		if cacheErr != nil {
			o.logger.Warn("host: compilation cache unavailable, the module is compiled in every process",
				"dir", dir, "err", cacheErr)
		}
		if e = compiledAlready(); e == nil {
			var err error
			if e, err = compile(ctx, nil); err != nil {
				return nil, err
			}
			engines.m[""] = e
		}
	}
	engines.m[key] = e
	return e, nil
}

// compiledAlready returns an engine of this process, preferably the one without a cache,
// for a cache that cannot be used: the compiled module is the same whatever the cache, and
// instantiating it never touches the cache. nil if there is none. engines must be locked.
func compiledAlready() *engine {
	if e := engines.m[""]; e != nil {
		return e
	}
	for _, e := range engines.m {
		return e
	}
	return nil
}

// compile makes a runtime with WASI and compiles the module in it, through cache if not nil.
func compile(ctx context.Context, cache wazero.CompilationCache) (*engine, error) {
	cfg := wazero.NewRuntimeConfig()
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	// The runtime outlives the caller's context: it serves every later Open.
	rt := wazero.NewRuntimeWithConfig(context.WithoutCancel(ctx), cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("host: WASI: %w", err)
	}
	// Functions compile in parallel, one worker per P: on 2 cores the cold compile takes
	// 510-560 ms instead of 900-940 (wazero 1.12 compiles one function at a time otherwise).
	compiled, err := rt.CompileModule(experimental.WithCompilationWorkers(ctx, runtime.GOMAXPROCS(0)), registryWasm)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("host: compiling registry.wasm: %w", err)
	}
	return &engine{rt: rt, compiled: compiled}, nil
}

// instance is one instantiation of the module and its typed exports.
type instance struct {
	mod   api.Module
	mem   api.Memory
	alloc api.Function // (size i32) -> ptr i32
	req   api.Function // (ptr i32, len i32) -> i32
	save  api.Function // () -> i32
	load  api.Function // () -> i32
	trap  api.Function // () -> ()
	// saves in three steps (checkpoint.go)
	saveBegin, saveCommit, saveAbort, checkpoint api.Function
	slot                                         uint32 // the result slot's address
	in                                           uint32 // alloc's buffer, reused while batches fit
	inLen                                        uint32
	stack                                        [2]uint64
	stderr                                       *tail
	dir                                          *wasidir.Dir // the mounted directory: the OS errors behind the module's
}

// instantiate starts an instance with dir mounted as "/" (wasm/ABI.md rules 1-3), with the
// clock and random source of o (WithWalltime, WithRandSource).
//
// # Notes
//
// The directory is mounted through wasidir, not wazero's own WithDirMount: wazero's WASI
// errors have no ENOSPC (nor EDQUOT, EFBIG) and a full disk would reach the module, and the
// caller, as "I/O error". wasidir gives the module the same nearest errno and keeps the real
// one for result to report.
func (e *engine) instantiate(ctx context.Context, dir string, o *options, role instanceRole) (*instance, error) {
	stderr := &tail{}
	random := &switchReader{r: crand.Reader}
	root := wasidir.New(dir)
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions("_initialize").
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(random).
		WithStderr(stderr).
		// The module yields (sched_yield) between slices of its long operations, a load or a
		// snapshot: where the host can stop the goroutine for its garbage collector and run
		// others (registry/pace.go).
		WithOsyield(runtime.Gosched)
	var mount experimentalsys.FS = root
	if o.readOnly() {
		mount = &sysfs.ReadFS{FS: root} // writes refused (ENOSYS) as well as never attempted
	}
	cfg = cfg.WithFSConfig(wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(mount, "/"))
	if o.openMode != "" {
		cfg = cfg.WithEnv("REGWASM_OPEN", o.openMode) // wasm/ABI.md rule 2
	}
	// The limit memoryAllocator enforces: the registry's memory budget derives from it (rule 8).
	cfg = cfg.WithEnv("REGWASM_MEMORY_LIMIT", strconv.FormatUint(o.memoryLimit, 10))
	if role == serving && o.background && !o.readOnly() {
		cfg = cfg.WithEnv("REGWASM_SAVES", "deferred") // saves run in three steps (checkpoint.go)
	}
	if now := o.walltime; now != nil {
		cfg = cfg.WithWalltime(func() (int64, int32) {
			t := now()
			return t.Unix(), int32(t.Nanosecond())
		}, sys.ClockResolution(1))
	}
	ctx = experimental.WithMemoryAllocator(ctx, memoryAllocator{o.memoryLimit})
	mod, err := e.rt.InstantiateModule(ctx, e.compiled, cfg)
	if err != nil {
		if s := panicLine(stderr.String()); s != "" {
			err = fmt.Errorf("%w (%s)", err, s)
		}
		return nil, fmt.Errorf("host: instantiating registry.wasm: %w", err)
	}
	if o.rand != nil {
		// _initialize has run: from now on random_get serves only the registry.
		random.r = o.rand
	}
	in := &instance{mod: mod, mem: mod.Memory(), stderr: stderr, dir: root}
	for name, fn := range map[string]*api.Function{"alloc": &in.alloc, "request": &in.req,
		"save": &in.save, "load": &in.load, "trap": &in.trap, "result_slot": nil,
		"save_begin": &in.saveBegin, "save_commit": &in.saveCommit, "save_abort": &in.saveAbort, "checkpoint": &in.checkpoint} {
		f := mod.ExportedFunction(name)
		if f == nil {
			mod.Close(ctx)
			return nil, fmt.Errorf("host: registry.wasm does not export %q", name)
		}
		if fn != nil {
			*fn = f
		}
	}
	if in.mem == nil {
		mod.Close(ctx)
		return nil, errors.New("host: registry.wasm exports no memory")
	}
	slot, err := in.call(ctx, mod.ExportedFunction("result_slot"))
	if err != nil {
		mod.Close(ctx)
		return nil, &trapError{cause: err, stderr: stderr.String(), during: "result_slot"}
	}
	in.slot = uint32(slot)
	return in, nil
}

// switchReader is an instance's WASI random source: crypto/rand while the Go runtime starts,
// then WithRandSource's reader (see there). It is read only by calls into its instance.
type switchReader struct{ r io.Reader }

func (s *switchReader) Read(p []byte) (int, error) { return s.r.Read(p) }

func (in *instance) close(ctx context.Context) { in.mod.Close(context.WithoutCancel(ctx)) }

// call runs an export without parameters that returns an i32.
func (in *instance) call(ctx context.Context, fn api.Function) (int32, error) {
	if err := fn.CallWithStack(ctx, in.stack[:1]); err != nil {
		return 0, err
	}
	return int32(uint32(in.stack[0])), nil
}

// put copies b into the module's input buffer (alloc's, grown as needed) and returns its
// address. Its errors are traps, except a *moduleError when alloc refuses the buffer.
//
// # Notes
//
// alloc is asked for at least 64 KiB, in powers of two: its buffer serves every later batch
// that fits, so a call is one export entry, not two.
func (in *instance) put(ctx context.Context, b []byte) (uint32, error) {
	n := uint32(len(b))
	if n > in.inLen || in.in == 0 {
		size := uint32(64 << 10)
		for size < n {
			size *= 2
		}
		size = min(size, MaxBatchLength)
		in.stack[0] = uint64(size)
		if err := in.alloc.CallWithStack(ctx, in.stack[:1]); err != nil {
			in.in, in.inLen = 0, 0
			return 0, err
		}
		in.in, in.inLen = uint32(in.stack[0]), size
		if in.in == 0 {
			return 0, badRequest(fmt.Sprintf("alloc refused a buffer of %d bytes", size))
		}
	}
	if !in.mem.Write(in.in, b) {
		return 0, errors.New("host: alloc returned a buffer outside the memory")
	}
	return in.in, nil
}

// callWith copies b into the module and runs fn(ptr, len) (request, save_abort, checkpoint).
func (in *instance) callWith(ctx context.Context, fn api.Function, b []byte) (int32, error) {
	ptr, err := in.put(ctx, b)
	if err != nil {
		return 0, err
	}
	in.stack[0], in.stack[1] = uint64(ptr), uint64(len(b))
	if err := fn.CallWithStack(ctx, in.stack[:2]); err != nil {
		return 0, err
	}
	return int32(uint32(in.stack[0])), nil
}

// flags reads the result slot's third word, set by every call (wasm/ABI.md rule 4).
func (in *instance) flags() uint32 {
	f, _ := in.mem.ReadUint32Le(in.slot + 8)
	return f
}

// request copies batch into the module's input buffer and runs it. Its errors are traps,
// except a *moduleError when alloc refuses the buffer.
func (in *instance) request(ctx context.Context, batch []byte) (int32, error) {
	return in.callWith(ctx, in.req, batch)
}

// result copies out the result of a call that returned ret (wasm/ABI.md rule 4): the bytes
// for ret >= 0, an error with the module's message for ret < 0. Both are read through the
// result slot's pointer and length, and copied: the module reuses the buffer.
func (in *instance) result(ret int32) ([]byte, error) {
	ptr, okPtr := in.mem.ReadUint32Le(in.slot)
	n, okLen := in.mem.ReadUint32Le(in.slot + 4)
	if !okPtr || !okLen {
		return nil, errors.New("host: result slot outside the memory")
	}
	if ret >= 0 && n != uint32(ret) {
		return nil, fmt.Errorf("host: result slot says %d bytes, the call returned %d", n, ret)
	}
	view, ok := in.mem.Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("host: result of %d bytes at %#x is outside the memory", n, ptr)
	}
	if ret == codeStorage {
		msg, cause := in.dir.Explain(string(view))
		return nil, &storageError{msg: msg, cause: cause}
	}
	if ret < 0 {
		return nil, codeError(ret, string(view))
	}
	return bytes.Clone(view), nil
}

// tail keeps the first 4 KiB the module writes to stderr: Go's panic message when it traps
// (the goroutine traces that follow it may be cut).
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p[:min(len(p), 4096-len(t.buf))]...)
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
