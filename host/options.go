package host

import (
	"io"
	"log/slog"
	"time"
)

// An Option configures Open (and Initialize).
type Option func(*options)

// DefaultMemoryLimit is the default bound of the module's linear memory: 4 GiB, the most a
// 32-bit WebAssembly memory can address, room for netdata's full-size registry (1M persons,
// 24M person-URLs).
const DefaultMemoryLimit = 4 << 30

const pageSize = 64 << 10 // a WebAssembly page

type options struct {
	cacheDir    string           // compilation cache; "" for the default location
	noCache     bool             // WithoutCompilationCache
	logger      *slog.Logger     // WithLogger, else slog.Default()
	memoryLimit uint64           // bytes, a multiple of pageSize
	rand        io.Reader        // WithRandSource; nil for crypto/rand
	walltime    func() time.Time // WithWalltime; nil for the system clock
	openMode    string           // the module's REGWASM_OPEN: "" (write), read-only, check, salvage
	background  bool             // WithBackgroundSaves
}

// readOnly reports whether the directory is opened without writing (no lock, no changes).
func (o *options) readOnly() bool { return o.openMode == "read-only" || o.openMode == "check" }

func newOptions(opts []Option) options {
	o := options{memoryLimit: DefaultMemoryLimit}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	return o
}

// WithCompilationCache keeps the compiled module in dir (created if missing) instead of the
// default location, so that later processes skip compilation: about 0.5 s cold on 2 cores
// (more with fewer), under 0.2 s warm. "" means the default location.
//
// By default the cache is in the user's cache directory (os.UserCacheDir()/regwasm/wazero,
// e.g. ~/.cache/regwasm/wazero). Entries are keyed by wazero's version and platform (a
// directory each) and by the module's hash and the CPU's features, so that different builds
// never load each other's code.
//
// # Notes
//
// A cache is an optimisation, never a condition: when it cannot be created or used (a
// service account with HOME=/nonexistent, a read-only or full disk, a damaged entry) the
// module is compiled without it and one warning goes to the logger (WithLogger), once per
// cache directory per process. Open never fails for want of a cache.
//
// A compiled module belongs to one wazero runtime, and the cache is a property of the
// runtime, so each distinct dir (and "no cache") has its own runtime and compiled module in
// the process, made on first use and kept for the life of the process.
func WithCompilationCache(dir string) Option {
	return func(o *options) { o.cacheDir, o.noCache = dir, false }
}

// WithoutCompilationCache compiles the module in memory only (once per process), writing
// nothing outside the registry's directory.
func WithoutCompilationCache() Option {
	return func(o *options) { o.noCache = true }
}

// WithLogger sends the host's warnings to l instead of slog.Default(). There is one: a
// compilation cache that cannot be used (see WithCompilationCache), said once per cache
// directory per process by the Open or Initialize that first meets it. Errors are never
// logged, only returned.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithMemoryLimit bounds the module's linear memory to n bytes, rounded up to 64 KiB pages
// (at most DefaultMemoryLimit, which is also the default). The module is told the limit
// (wasm/ABI.md rule 8) and keeps its tables within a budget derived from it (Stats.Budget,
// about (n - 16 MiB) / 3.5): past it, accesses that would add a person, a machine or a URL
// are refused (ErrMemoryBudget), so that the registry always loads again under the same
// limit. Were the module to need more anyway, its Go runtime would die with "out of memory"
// and the call fail with ErrTrapped.
//
// # Notes
//
// The limit is enforced by the host's memory allocator, not by wazero's runtime config, so
// that every Open shares one compiled module whatever its limit.
func WithMemoryLimit(n uint64) Option {
	return func(o *options) {
		n = (n + pageSize - 1) &^ (pageSize - 1)
		o.memoryLimit = min(max(n, pageSize), DefaultMemoryLimit)
	}
}

// WithRandSource makes the registry take the random bits of new person GUIDs (and of its own
// machine GUID, made when a directory is first opened) from r instead of crypto/rand: for
// reproducible tests and conformance runs, where every host must give the same bytes.
// r is read one call at a time, also across the instances that replace a trapped one.
//
// # Notes
//
// The module's WASI random_get serves two readers: the Go runtime inside the module, which
// seeds itself from it while `_initialize` runs, and the registry afterwards, which asks for
// exactly the bytes it uses (10 per GUID). The host answers the runtime's start from
// crypto/rand and switches to r only once `_initialize` has returned, so r's stream is the
// registry's alone: the same stream given to the native registry (registry.Config.Rand)
// makes the same GUIDs.
func WithRandSource(r io.Reader) Option {
	return func(o *options) { o.rand = r }
}

// WithReadOnly opens the directory without writing a byte and without taking its lock: the
// module loads the newest snapshot that verifies and the log's verified prefix, and refuses
// changes (503, "opened read-only"). It works on a directory another process is serving:
// snapshots are never rewritten and the log is only appended to, so what it reads is a
// consistent, acknowledged state (an online backup with Export, a health probe with Stats).
//
// # Notes
//
// A directory that does not exist is an error (nothing is created). A save running in the
// other process while the files are read makes the module read them again.
func WithReadOnly() Option {
	return func(o *options) { o.openMode = "read-only" }
}

// WithBackgroundSaves makes saves run beside the registry's calls instead of between them:
// Save, and the saves "registry save db every new entries" calls for, write the snapshot in
// a second instance of the module on its own goroutine while the registry goes on answering
// (see Save). For servers, whose clients would otherwise wait for every save: seconds at a
// million persons.
//
// # Notes
//
// The second instance loads the files as far as the save's change and costs about as much
// memory as the registry while the save runs (BENCHMARKS.md measures it), and a core. A
// save in the background also logs one record more than one in between calls: the record
// that says it finished, which a load needs to tell a snapshot cut short after its save
// from one whose save never finished (registry/store_checkpoint.go).
func WithBackgroundSaves() Option {
	return func(o *options) { o.background = true }
}

// WithWalltime makes the module's realtime clock read now instead of the system clock: the
// time of requests sent without one, of saves (which expire idle persons as of then) and of
// the machine GUID made on first open. For reproducible tests; the monotonic clock (timers,
// the Go runtime's scheduling) stays the system's.
func WithWalltime(now func() time.Time) Option {
	return func(o *options) { o.walltime = now }
}
