package registry

import (
	"strconv"
	"strings"
	"unsafe"
)

// The memory budget: a registry never grows into a size that cannot be loaded again.
//
// # Notes
//
// In WebAssembly the module's memory has a limit (the Go host's WithMemoryLimit, the JS
// engine's maximum), and a registry that reaches it traps with "out of memory", and so does
// every later load: each request carrying netdata's dummy cookie makes a person, so a
// client alone could kill a registry for good. The budget is how many bytes the tables
// (Stats.Bytes) may hold, derived from the limit the host tells the module
// (Config.MemoryLimit) so that the registry still runs, saves and, above all, loads again
// under that limit: accesses that would add a person, a machine, a URL, a name or a link
// past it are refused (status 507, ErrMemoryBudget); everything else goes on, and replaying
// the change log is never refused (acknowledged changes always load).
//
// The factors below are measured, not guessed (tests/host BenchmarkMemoryBudget prints them
// and RATIONALE.md "A memory budget" has the figures): the module's linear memory, which
// never shrinks, peaks at about runFactor times the tables while a registry grows and saves
// (a table that grows is copied whole while the old copy is still live, and large copies
// leave holes later ones do not fit in), at loadFactor times while a snapshot loads (the
// snapshot file is read whole beside the tables it builds), and the change log a load reads
// costs logByteFactor bytes a byte (the file itself, the replay's garbage) and logRecordCost
// bytes a record (the load's index of records, the tables' growth as they replay one by one).
const (
	// memoryReserve is the part of the limit left to the Go runtime and the module's buffers
	// (an empty registry's module uses about 4 MiB, and batches are copied in and out).
	memoryReserve = 16 << 20
	runFactor     = 3.5
	loadFactor    = 1.6
	logByteFactor = 2.5
	logRecordCost = 700
	// minRecordBytes bounds a segment's records from its bytes when they were not counted:
	// a record is a 24-byte header and a batch, and an access takes 40 bytes at least.
	minRecordBytes = 64
)

// logSize is change log that a load reads.
type logSize struct{ bytes, records uint64 }

// cost is the memory a load needs for the log: logByteFactor a byte, logRecordCost a record.
func (l logSize) cost() float64 {
	return logByteFactor*float64(l.bytes) + logRecordCost*float64(l.records)
}

func (l logSize) plus(m logSize) logSize { return logSize{l.bytes + m.bytes, l.records + m.records} }

// budget is the memory budget in force.
type budget struct {
	on      bool
	setting bool   // tables is the "memory budget" setting's, smaller than the limit's share
	tables  uint64 // the bytes the tables may hold
	load    uint64 // the memory a load may use above memoryReserve
	limit   uint64 // Config.MemoryLimit
}

// budget computes the budget from the config: the limit's share (the limit less the reserve,
// over runFactor), or "memory budget" when it is set and smaller.
func (c *Config) budget() budget {
	b := budget{limit: c.MemoryLimit}
	if c.MemoryLimit > 0 {
		b.on = true
		if c.MemoryLimit > memoryReserve {
			b.load = c.MemoryLimit - memoryReserve
			b.tables = uint64(float64(b.load) / runFactor)
		}
	}
	if c.MemoryBudget > 0 && (!b.on || uint64(c.MemoryBudget) < b.tables) {
		b.tables, b.setting = uint64(c.MemoryBudget), true
		if !b.on {
			b.load = uint64(float64(b.tables) * runFactor)
		}
		b.on = true
	}
	return b
}

// loadNeed estimates the memory above memoryReserve that loading tables of t bytes and the
// log takes.
func loadNeed(t uint64, log logSize) uint64 {
	return uint64(loadFactor*float64(t) + log.cost())
}

// memState is the budget's view of the files, kept up to date by the Store.
type memState struct {
	log logSize // every log segment a load reads (the previous generation's too)
	// triedAt is the chain's cost when the budget last asked for a save, so that a save that
	// fails is tried again only once the log has grown by a good part more, not on every call.
	triedAt float64
	// chainKey, chain and other cache the store's log: the chain since the snapshot as last
	// seen, and the segments outside it (the previous generation's).
	chainKey logKey
	chain    logSize
	other    logSize
}

// ErrMemoryBudget (status 507) refuses an access that would add a person, a machine, a URL,
// a name or a link past the memory budget. Known persons, machines and URLs keep working.
var ErrMemoryBudget = budgetError("")

type budgetErr struct{ msg string }

func budgetError(detail string) error {
	msg := "registry: memory budget reached"
	if detail != "" {
		msg += ": " + detail
	}
	return &budgetErr{msg}
}

func (e *budgetErr) Error() string        { return e.msg }
func (e *budgetErr) Is(target error) bool { return target == ErrMemoryBudget }

// tableBytes is the memory the tables hold (Stats.Bytes).
func (r *Registry) tableBytes() uint64 {
	return uint64(cap(r.persons)*int(unsafe.Sizeof(person{})) + cap(r.freePersons)*4 +
		cap(r.machines)*int(unsafe.Sizeof(machine{})) +
		r.personIndex.memBytes() + r.machineIndex.memBytes() +
		r.personURLs.memBytes(int(unsafe.Sizeof(personURL{}))) +
		r.machineURLs.memBytes(int(unsafe.Sizeof(machineURL{}))) +
		r.urls.memBytes() + r.names.memBytes())
}

// budgeted reports whether a memory budget may be in force (budget says which).
func (c *Config) budgeted() bool { return c.MemoryLimit != 0 || c.MemoryBudget > 0 }

// admitAccess decides whether an access may add what it adds (see access): newPerson,
// newMachine, a new URL string (uid 0), a machine link unless inMachine, a person link unless
// link >= 0 (the index of the person's link to the URL), and the name when it is not
// interned yet. It returns ErrMemoryBudget's error when the tables would pass the budget, or
// a load would need more than the limit allows, and nil when nothing new is added.
func (r *Registry) admitAccess(newPerson, newMachine bool, pidx, midx, uid uint32, link int, inMachine, withPerson bool, url, name []byte) error {
	b := r.cfg.budget()
	if !b.on {
		return nil
	}
	creates := newPerson || newMachine || uid == 0 || !inMachine
	grow := 0
	if newPerson {
		if len(r.freePersons) == 0 {
			grow += sliceGrowth(len(r.persons), cap(r.persons), int(unsafe.Sizeof(person{})))
		}
		grow += r.personIndex.growth()
	}
	if newMachine {
		grow += sliceGrowth(len(r.machines), cap(r.machines), int(unsafe.Sizeof(machine{}))) + r.machineIndex.growth()
	}
	if uid == 0 {
		grow += r.urls.growth(len(url))
	}
	if !inMachine {
		n := uint32(0)
		if !newMachine {
			n = r.machines[midx].n
		}
		grow += r.machineURLs.allocGrowth(n+1, int(unsafe.Sizeof(machineURL{})))
	}
	if withPerson {
		i := link
		n := uint32(0)
		if !newPerson {
			n = r.persons[pidx].n
		}
		renamed := i >= 0 && !sameBytes(r.names.bytes(r.personBlock(&r.persons[pidx])[i].name), name)
		if i < 0 {
			creates = true
			grow += r.personURLs.allocGrowth(n+1, int(unsafe.Sizeof(personURL{})))
		}
		if (i < 0 || renamed) && len(name) > 0 && r.names.find(name) == 0 {
			creates = true
			grow += r.names.growth(len(name))
		}
	}
	if !creates {
		return nil
	}
	t := r.tableBytes() + uint64(grow)
	if t > b.tables {
		return budgetError("new persons, machines and URLs are refused (the tables would hold " + mib(t) +
			" of a " + mib(b.tables) + " budget" + b.from() + "); known persons, machines and URLs keep working")
	}
	if need := loadNeed(t, r.mem.log); need > b.load {
		return budgetError("new persons, machines and URLs are refused until a save compacts the change log (loading " +
			mib(t) + " of tables and " + mib(r.mem.log.bytes) + " of change log would need " + mib(need+memoryReserve) +
			" of memory" + b.from() + "); known persons, machines and URLs keep working")
	}
	return nil
}

// from says where the budget comes from, for the error.
func (b budget) from() string {
	if b.setting {
		return ", the \"memory budget\" setting"
	}
	return ", from the module's memory limit of " + mib(b.limit)
}

// wantsSave reports whether the change log since the snapshot (chain bytes of it) has grown
// so large that loading it would need a quarter of the memory the tables leave to a load:
// the Store then saves, which compacts it into a snapshot.
//
// # Notes
//
// A save keeps the log it compacted until the next save (the previous generation), and a
// load reads that too. It was saved when the tables were smaller and left more room, at
// most all of the load's memory (b.load): its share is under b.load/4 then. Tables within
// the budget leave at least 1-loadFactor/runFactor (54%) of b.load to the log, so the two
// together (under b.load/4 and room/4) stay within that room.
func (r *Registry) wantsSave(chain logSize) bool {
	b := r.cfg.budget()
	if !b.on {
		return false
	}
	room := float64(b.load) - min(float64(b.load), loadFactor*float64(r.tableBytes()))
	cost := chain.cost()
	if cost < room/4 {
		r.mem.triedAt = 0
		return false
	}
	if r.mem.triedAt != 0 && cost < r.mem.triedAt+room/8 {
		return false // a save failed at triedAt: not again until the log has grown more
	}
	r.mem.triedAt = cost
	return true
}

// sliceGrowth is the bytes that appending one element to a slice of length and capacity
// allocates beyond the capacity: Go's growth (runtime.nextslicecap), large sizes rounded up
// to its 8 KiB pages.
func sliceGrowth(length, capacity, elem int) int {
	if length < capacity {
		return 0
	}
	newcap := 2 * capacity
	if capacity >= 256 {
		newcap = capacity
		for newcap < length+1 {
			newcap += (newcap + 3*256) >> 2
		}
	}
	newcap = max(newcap, length+1)
	bytes := newcap * elem
	if bytes > 32<<10 {
		bytes = (bytes + 8191) &^ 8191
	}
	return bytes - capacity*elem
}

// growth is the bytes the next insert adds to the index (a resize doubles it).
func (x *guidIndex) growth() int {
	if (x.count+1)*4 > len(x.slots)*3 {
		return len(x.slots) * 8
	}
	return 0
}

// growth is the bytes adding a new string of n bytes allocates.
func (t *internTable) growth(n int) int {
	g := 0
	if len(t.arena)+n > cap(t.arena) {
		g += sliceGrowth(len(t.arena)+n-1, cap(t.arena), 1)
	}
	if len(t.free) == 0 {
		g += sliceGrowth(len(t.ents), cap(t.ents), int(unsafe.Sizeof(internEnt{})))
	}
	if (t.live+1)*4 > len(t.slots)*3 {
		g += len(t.slots) * 8
	}
	return g
}

// allocGrowth is the bytes alloc(n) takes beyond the arena's chunks (as carve would).
func (a *blockArena[T]) allocGrowth(n uint32, elemSize int) int {
	c := classFor(n)
	if len(a.free[c]) > 0 {
		return 0
	}
	size := classSize(c)
	room := uint32(len(a.chunks))<<chunkShift - a.tail
	if size <= room && (size <= chunkLen || a.tail&chunkMask == 0) {
		last := len(a.chunks[a.tail>>chunkShift])
		end := int(a.tail&chunkMask + size)
		if end <= last {
			return 0
		}
		return (min(max(end, 2*last), chunkLen) - last) * elemSize
	}
	g := 0
	if len(a.chunks) > 0 {
		if last := len(a.chunks[len(a.chunks)-1]); last < chunkLen {
			g += (chunkLen - last) * elemSize // the rest of the chunk is made to be handed out
		}
	}
	if size > chunkLen {
		return g + int((size+chunkMask)>>chunkShift)<<chunkShift*elemSize
	}
	if len(a.chunks) >= smallChunks {
		return g + chunkLen*elemSize
	}
	return g + int(max(size, 64))*elemSize
}

// mib formats a byte count in MiB for messages.
func mib(n uint64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

// sizeUnits are netdata's size units (libnetdata/parsers/size.c), matched exactly: K, M, G
// and T are decimal, KiB, MiB, GiB and TiB binary.
var sizeUnits = []struct {
	name string
	mult float64
}{
	{"B", 1}, {"k", 1e3}, {"K", 1e3}, {"KB", 1e3}, {"KiB", 1 << 10}, {"M", 1e6}, {"MB", 1e6},
	{"MiB", 1 << 20}, {"G", 1e9}, {"GB", 1e9}, {"GiB", 1 << 30}, {"T", 1e12}, {"TB", 1e12}, {"TiB", 1 << 40},
}

// parseMemoryBudget reads "memory budget": auto (0, the limit's share) or a size in netdata's
// syntax (a number of bytes, or with a unit: 512MiB, 1.5 GiB, 2G).
func parseMemoryBudget(v string) (int64, bool) {
	s := strings.TrimSpace(v)
	if strings.EqualFold(s, "auto") {
		return 0, true
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if i == 0 || err != nil {
		return 0, false
	}
	mult := 0.0
	unit := strings.TrimSpace(s[i:])
	if unit == "" {
		mult = 1
	}
	for _, u := range sizeUnits {
		if u.name == unit {
			mult = u.mult
		}
	}
	if mult == 0 || n*mult >= 1<<62 {
		return 0, false
	}
	return int64(n * mult), true
}
