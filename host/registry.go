// Package host runs the registry in Go programs: the registry core compiled to WebAssembly
// (the embedded registry.wasm, see wasm/ABI.md) executed by wazero, sandboxed, with its
// files in a real directory.
//
//	r, err := host.Open(ctx, "/var/lib/regwasm")
//	...
//	defer r.Close()
//	person, _ := uuid.Parse(cookie) // uuid.Nil when there is none: a new person
//	res, err := r.Access(ctx, person, machineGUID, "http://agent:19999/", "agent")
//	// res.Person.String() is the cookie to hand back
//
// Persons and machines are uuid.UUID (github.com/google/uuid) in the API; Do and Call take
// requests in the module's own form, strings, for servers that pass cookies on as they came.
//
// A Registry is safe for concurrent use. Every call is acknowledged when it returns without
// error: its changes are in the directory's change log by then, and survive a crash.
// Contexts are honoured between calls: a call whose context is done before it reaches the
// module (while it waits for another caller, say) returns the context's error; a call that
// has started runs to its end.
//
// # Notes
//
// The host never links the registry's Go code (package registry): it runs it only through
// the module, exactly as the JS hosts do, so that what Go programs test is what ships.
// One registry owns a directory: Open takes the directory lock every host takes, dir/.lock
// (a name outside the module's files; lock.go and RATIONALE.md "One lock for every host"),
// so that a second opener in any process of any host (Go, the CLI, Node) is refused, and a
// holder killed with -9 never blocks the next open. A trap inside the module (a Go panic) costs the call, never the process:
// the instance is discarded and a new one reloads the files (wasm/ABI.md rule 6).
//
// Outside dir, Open writes only the compilation cache (the user's cache directory by default,
// see WithCompilationCache), and it logs nothing unless that cache cannot be used (one
// warning, see WithLogger). The directory is mounted into the module through
// host/internal/wasidir, so that a storage error says the OS error ("no space left on
// device") that WASI through wazero cannot carry.
//
// Calls are not interrupted mid-way: wazero's WithCloseOnContextDone, which would allow it,
// made batches of 1000 quiet accesses 5x slower (17.5 ms instead of 3.3 ms, BenchmarkAccess),
// and an interrupted call would cost a new instance and a reload of the files anyway.
package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// LockName is the lock file Open keeps in the directory.
const LockName = ".lock"

// Registry is an open registry directory.
type Registry struct {
	dir  string
	opts options
	eng  *engine
	lock io.Closer

	// sem admits one call at a time: an instance runs one export at a time (api.Function is
	// not goroutine-safe) and a channel, unlike a mutex, lets a waiting caller give up when
	// its context is done. Everything below is guarded by it.
	sem    chan struct{}
	inst   *instance // nil after a trap whose restart failed: the next call retries
	closed bool
	traps  int

	// saveMu admits one save at a time (checkpoint.go): its second step runs without the
	// instance, so sem does not. autoSaving is set while a save the module asked for is
	// being started.
	saveMu     sync.Mutex
	autoSaving atomic.Bool
}

// Open opens the registry kept in dir, creating the directory if it is missing, and loads
// it: the newest snapshot that verifies plus the change log after it. The files are
// registry.db.1|2|3 (snapshots), registry.log.1|2|3 (log segments) and registry.conf.1|2|3
// (settings). A directory another Registry holds (in this process or another) is refused
// with an error matching ErrLocked; WithReadOnly opens it anyway, without writing.
// Files whose loss or damage costs acknowledged changes are refused with an error matching
// ErrCorrupt that names them (see Recover).
func Open(ctx context.Context, dir string, opts ...Option) (*Registry, error) {
	o := newOptions(opts)
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	var lock io.Closer = nopCloser{}
	if o.readOnly() {
		if err := isDir(abs); err != nil {
			return nil, err
		}
	} else {
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("host: %w", err)
		}
		if lock, err = lockDir(abs); err != nil {
			if errors.Is(err, ErrLocked) {
				return nil, err
			}
			return nil, fmt.Errorf("host: locking the directory: %w", err)
		}
	}
	eng, err := getEngine(ctx, &o)
	if err != nil {
		lock.Close()
		return nil, err
	}
	r := &Registry{dir: abs, opts: o, eng: eng, lock: lock, sem: make(chan struct{}, 1)}
	if err := r.start(ctx); err != nil {
		lock.Close()
		return nil, err
	}
	return r, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// isDir reports an error unless path is an existing directory.
func isDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("host: %s is not a directory", path)
	}
	return nil
}

// Dir returns the registry's directory (absolute).
func (r *Registry) Dir() string { return r.dir }

// Close waits for the call in progress, discards the instance and releases the directory.
// The registry's state is already in its files: Close writes nothing (call Save first to
// compact the log into a snapshot). Closing twice is not an error.
func (r *Registry) Close() error {
	r.saveMu.Lock() // a save in progress ends first: the module has begun it
	defer r.saveMu.Unlock()
	r.sem <- struct{}{}
	defer func() { <-r.sem }()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.inst != nil {
		r.inst.close(context.Background())
		r.inst = nil
	}
	return r.lock.Close()
}

// Call runs a raw request batch (wasm/ABI.md) and returns the response batch, a copy the
// caller owns. It is the fast path: one export call per batch. A malformed batch is refused
// whole with an error matching ErrBadRequest; decode the answer with ParseResponses.
func (r *Registry) Call(ctx context.Context, batch []byte) ([]byte, error) {
	if len(batch) > MaxBatchLength {
		return nil, badRequest(fmt.Sprintf("batch of %d bytes is longer than %d", len(batch), MaxBatchLength))
	}
	return r.exec(ctx, func(in *instance) (int32, error) { return in.request(ctx, batch) })
}

// Do runs the requests as one batch and returns one Response per request, in order. A
// refused action is a Response with its status, not an error: use Response.Err.
func (r *Registry) Do(ctx context.Context, reqs []Request) ([]Response, error) {
	var batch []byte
	for i := range reqs {
		var err error
		if batch, err = AppendRequest(batch, &reqs[i]); err != nil {
			return nil, err
		}
	}
	out, err := r.Call(ctx, batch)
	if err != nil {
		return nil, err
	}
	resps, err := appendResponses(make([]Response, 0, len(reqs)), out)
	if err == nil && len(resps) != len(reqs) {
		err = &moduleError{ErrInternal, fmt.Sprintf("%d responses to %d requests", len(resps), len(reqs))}
	}
	return resps, err
}

// Load reloads the registry from its files (the newest valid snapshot and the log) and
// returns its stats. Open already did: Load is for files changed behind the registry's back.
func (r *Registry) Load(ctx context.Context) (Stats, error) {
	out, err := r.exec(ctx, func(in *instance) (int32, error) { return in.call(ctx, in.load) })
	if err != nil {
		return Stats{}, err
	}
	return decodeStats(out)
}

// trap makes the module panic (its trap export), for tests of recovery.
func (r *Registry) trap(ctx context.Context) error {
	_, err := r.exec(ctx, func(in *instance) (int32, error) {
		_, err := in.call(ctx, in.trap)
		return 0, err
	})
	return err
}

func (r *Registry) acquire(ctx context.Context) error {
	select {
	case r.sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case r.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// exec runs fn on the instance, holding it, and copies out the result. An error from fn is a
// trap (the instance is replaced) unless it is a *moduleError: a refusal before the module
// ran.
func (r *Registry) exec(ctx context.Context, fn func(*instance) (int32, error)) ([]byte, error) {
	if err := r.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-r.sem }()
	return r.execLocked(ctx, fn)
}

// execLocked is exec for a caller that holds the instance.
func (r *Registry) execLocked(ctx context.Context, fn func(*instance) (int32, error)) ([]byte, error) {
	if r.closed {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.inst == nil {
		if err := r.start(ctx); err != nil {
			return nil, err
		}
	}
	in := r.inst
	ret, err := fn(in)
	if me := (*moduleError)(nil); errors.As(err, &me) {
		return nil, err
	}
	if err != nil {
		return nil, r.recover(ctx, in, err)
	}
	if in.flags()&flagSaveDue != 0 {
		r.saveSoon()
	}
	return in.result(ret)
}

// start instantiates the module and loads the files.
func (r *Registry) start(ctx context.Context) error {
	in, err := r.eng.instantiate(ctx, r.dir, &r.opts, serving)
	if err != nil {
		return err
	}
	ret, err := in.call(ctx, in.load)
	if err != nil {
		in.close(ctx)
		return &trapError{cause: err, stderr: in.stderr.String(), during: "load"}
	}
	if _, err := in.result(ret); err != nil {
		in.close(ctx)
		return err
	}
	r.inst = in
	return nil
}

// recover discards an instance whose call failed inside wazero (a trap) and starts a new one.
func (r *Registry) recover(ctx context.Context, in *instance, cause error) error {
	in.close(ctx)
	r.inst = nil
	r.traps++
	te := &trapError{cause: cause, stderr: in.stderr.String()}
	// The new instance must come up even if the caller's context has ended.
	if err := r.start(context.WithoutCancel(ctx)); err != nil {
		te.restart = err
	}
	return te
}
