package host

// An Option configures Open (and Initialize).
type Option func(*options)

// DefaultMemoryLimit is the default bound of the module's linear memory: 4 GiB, the most a
// 32-bit WebAssembly memory can address, room for netdata's full-size registry (1M persons,
// 24M person-URLs).
const DefaultMemoryLimit = 4 << 30

const pageSize = 64 << 10 // a WebAssembly page

type options struct {
	cacheDir    string // compilation cache; "" for none
	memoryLimit uint64 // bytes, a multiple of pageSize
}

func newOptions(opts []Option) options {
	o := options{memoryLimit: DefaultMemoryLimit}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithCompilationCache keeps the compiled module in dir (created if missing) so that later
// processes skip compilation: about 1 s cold, under 0.2 s warm.
//
// # Notes
//
// A compiled module belongs to one wazero runtime, and the cache is a property of the
// runtime, so each distinct dir (and "no cache") has its own runtime and compiled module in
// the process, made on first use and kept for the life of the process.
func WithCompilationCache(dir string) Option {
	return func(o *options) { o.cacheDir = dir }
}

// WithMemoryLimit bounds the module's linear memory to n bytes, rounded up to 64 KiB pages
// (at most DefaultMemoryLimit, which is also the default). When the registry needs more, the
// Go runtime inside the module dies with "out of memory": the call fails with ErrTrapped.
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
