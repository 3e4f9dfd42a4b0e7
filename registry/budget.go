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
	budgetOf budgetCache
	roomy    roomyKey // see roomyFor
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

// budget is r.cfg.budget(), computed again only when the settings it comes from change (a
// division and conversions: 70 ns in the module, on every access that adds something).
//
// # Notes
//
// Here and in admitAccess nothing larger than 16 bytes is copied or compared whole: under
// GOARCH=wasm that is a memmove or a byte-by-byte memequal (see Registry.do), and the
// budget's fast path took 450 ns instead of 60 that way.
func (r *Registry) budget() *budget {
	if c := &r.mem.budgetOf; c.limit != r.cfg.MemoryLimit || c.setting != r.cfg.MemoryBudget || !c.ok {
		c.limit, c.setting, c.ok, c.b = r.cfg.MemoryLimit, r.cfg.MemoryBudget, true, r.cfg.budget()
	}
	return &r.mem.budgetOf.b
}

// budgetCache is a budget and the settings it comes from.
type budgetCache struct {
	limit   uint64
	setting int64
	ok      bool
	b       budget
}

// budgeted reports whether a memory budget may be in force (budget says which).
func (c *Config) budgeted() bool { return c.MemoryLimit != 0 || c.MemoryBudget > 0 }

// admitAccess decides whether an access may add what it adds (see access): newPerson,
// newMachine, a new URL string (uid 0), a machine link unless inMachine, a person link unless
// link >= 0 (the index of the person's link to the URL), and the name (as if new) for a new
// or renamed link. It returns ErrMemoryBudget's error when the tables would pass the budget, or
// a load would need more than the limit allows, and nil when nothing new is added.
func (r *Registry) admitAccess(newPerson, newMachine bool, pidx, midx, uid uint32, link int, inMachine, withPerson bool, url, name []byte) error {
	b := r.budget()
	if !b.on {
		return nil
	}
	t := r.tableBytes()
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
		if (i < 0 || renamed) && len(name) > 0 {
			// The name may be interned already; looking it up is a hash (400 ns in the
			// module), so the growth a new one would cause is counted anyway.
			creates = true
			grow += r.names.growth(len(name))
		}
	}
	if !creates {
		return nil
	}
	r.roomyFor(b, t)
	t += uint64(grow)
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

// roomyKey says when admitAccess may skip its work: the tables hold tables bytes (the
// persons' and their index's sizes too, the two that grow by most) and the log is log.
type roomyKey struct {
	tables          uint64
	persons, pslots int
	log             logSize
}

// roomy reports whether the tables are far enough from the budget that no access can reach
// it (see roomyFor): access then skips admitAccess.
func (r *Registry) roomy() bool {
	k := &r.mem.roomy
	return k.tables == r.tableBytes() && k.persons == cap(r.persons) && k.pslots == len(r.personIndex.slots) &&
		k.log.bytes == r.mem.log.bytes && k.log.records == r.mem.log.records
}

// roomyFor records, when even the largest growth one access can cause (maxGrowth) stays
// within the budget, that the tables at t bytes are roomy: admitAccess then admits at once,
// until they or the log change. Finding what an access adds costs about 300 ns in the
// module, a tenth of an access that adds a link; roomy, 40.
func (r *Registry) roomyFor(b *budget, t uint64) {
	k := &r.mem.roomy
	k.tables = 0 // no table is empty: never matches
	if g := t + r.maxGrowth(); g <= b.tables && loadNeed(g, r.mem.log) <= b.load {
		k.tables, k.persons, k.pslots, k.log = t, cap(r.persons), len(r.personIndex.slots), r.mem.log
	}
}

// maxGrowth bounds what one access can add to the tables: every table growing at once, as
// if full (a person, a machine, a URL and a name of the longest, two links).
func (r *Registry) maxGrowth() uint64 {
	g := sliceGrowth(cap(r.persons), cap(r.persons), int(unsafe.Sizeof(person{}))) + len(r.personIndex.slots)*8 +
		sliceGrowth(cap(r.machines), cap(r.machines), int(unsafe.Sizeof(machine{}))) + len(r.machineIndex.slots)*8 +
		r.urls.maxGrowth(r.cfg.MaxURLLength) + r.names.maxGrowth(r.cfg.MaxNameLength) +
		r.personURLs.maxGrowth(int(unsafe.Sizeof(personURL{}))) + r.machineURLs.maxGrowth(int(unsafe.Sizeof(machineURL{})))
	return uint64(g)
}

// maxGrowth bounds growth(n) for n up to maxLen, whatever the table holds.
func (t *internTable) maxGrowth(maxLen int) int {
	return sliceGrowth(cap(t.arena), cap(t.arena), 1) + maxLen + sliceGrowth(cap(t.ents), cap(t.ents), int(unsafe.Sizeof(internEnt{}))) + len(t.slots)*8
}

// maxGrowth bounds allocGrowth for a block one larger than any so far: the rest of the last
// chunk, and a new chunk or run of chunks.
func (a *blockArena[T]) maxGrowth(elemSize int) int {
	run := int(classSize(classFor(a.maxCap + 1)))
	return (2*chunkLen + max(run, chunkLen)) * elemSize
}

// from says where the budget comes from, for the error.
func (b *budget) from() string {
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
	b := r.budget()
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
