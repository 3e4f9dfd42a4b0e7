package registry

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"time"
)

// Config holds the registry's settings. Zero fields take netdata's defaults (see Defaults).
// The persistence layer reads and writes them as netdata's [registry] keys in the INI config
// registry.
type Config struct {
	Hostname           string // "registry hostname": answered in every response
	MachineGUID        string // this registry's own machine GUID, answered in every response
	RegistryToAnnounce string // "registry to announce", answered by hello; "" when not set
	MaxURLLength       int    // "max URL length", at least 10
	MaxNameLength      int    // "max URL name length", at least 10
	ExpireIdleDays     int    // "registry expire idle persons": persons idle longer are purged
	// Rand is the source of new person GUIDs' random bits. When nil, a ChaCha8 stream keyed
	// with 256 bits of the runtime's OS-seeded randomness. (Not crypto/rand: it would pull
	// math/big, fmt and reflect into the WebAssembly module; the module passes WASI's
	// random_get instead.)
	Rand io.Reader
	// Now gives the time (unix seconds) for requests that carry none; time.Now when nil.
	Now func() uint32
	// MemoryLimit is the most memory the registry's module may use, as its host says
	// (WebAssembly's linear memory limit, REGWASM_MEMORY_LIMIT: wasm/ABI.md); 0 when unknown.
	// The memory budget derives from it (see ErrMemoryBudget). Not a setting: the host's.
	MemoryLimit uint64
	// MemoryBudget is "memory budget": the bytes the tables may hold before new persons,
	// machines and URLs are refused. 0 (auto) takes the share of MemoryLimit that lets the
	// registry load again under that limit; a value above that share is capped to it.
	MemoryBudget int64
	// Yield, when not nil, is called between slices of about a millisecond of a long
	// operation's work (loading or writing a snapshot, replaying a log), so that a host
	// running the core on one of its threads can let others run (see pace).
	Yield func()
}

// MaxExpireIdleDays is the largest ExpireIdleDays, 100 years: larger values are clamped to
// it. Hosts compute the cookie's expiry from the setting, and at 106,752 days Go's
// time.Duration overflows (the Expires of the cookie went back to 1842).
const MaxExpireIdleDays = 36500

// Defaults returns netdata's defaults.
func Defaults() Config {
	return Config{
		Hostname:       "regwasm",
		MaxURLLength:   1024,
		MaxNameLength:  50,
		ExpireIdleDays: 365,
	}
}

// withDefaults fills zero fields with Defaults, clamps limits to netdata's minimum of 10 and
// the idle days to MaxExpireIdleDays.
func (c Config) withDefaults() Config {
	d := Defaults()
	if c.Hostname == "" {
		c.Hostname = d.Hostname
	}
	if c.MaxURLLength == 0 {
		c.MaxURLLength = d.MaxURLLength
	}
	if c.MaxNameLength == 0 {
		c.MaxNameLength = d.MaxNameLength
	}
	c.MaxURLLength = max(c.MaxURLLength, 10)
	c.MaxNameLength = max(c.MaxNameLength, 10)
	if c.ExpireIdleDays == 0 {
		c.ExpireIdleDays = d.ExpireIdleDays
	}
	c.ExpireIdleDays = min(c.ExpireIdleDays, MaxExpireIdleDays)
	c.MemoryBudget = max(c.MemoryBudget, 0)
	if c.Rand == nil {
		var key [32]byte
		for i := 0; i < 32; i += 8 {
			binary.LittleEndian.PutUint64(key[i:], rand.Uint64())
		}
		c.Rand = rand.NewChaCha8(key)
	}
	if c.Now == nil {
		c.Now = func() uint32 { return uint32(time.Now().Unix()) }
	}
	return c
}
