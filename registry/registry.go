package registry

// Registry is the in-memory registry: persons, machines, URLs and the links between them.
// It is not safe for concurrent use; hosts serialize calls.
type Registry struct {
	cfg Config

	persons      []person // by index; free slots have a zero GUID
	freePersons  []uint32
	personIndex  guidIndex
	machines     []machine
	machineIndex guidIndex

	personURLs  blockArena[personURL]
	machineURLs blockArena[machineURL]
	urls        internTable
	names       internTable

	urlSpansGen uint32 // r.urls.gen when machineURL spans were last made right

	accesses    uint64 // netdata's usages_count
	personLinks uint64 // live person-URL entries
	machLinks   uint64 // live machine-URL entries

	// describe, set by a Store, adds storage fields to stats (appending to an open object)
	// and answers config.
	describe func(op Op, b []byte) []byte
	// fileOp, set by a Store, runs the actions on files: check, import, export.
	fileOp func(req *Request, body []byte) (Result, []byte)
	// refuse, set by a Store that cannot take changes (read-only, or stopped after a failed
	// write), is why actions that change the registry are answered 503. onlyChecks refuses
	// everything but check, hello and config (a store opened only to check its files).
	refuse     error
	onlyChecks bool
	// mem is what the memory budget knows of the files (set by a Store: budget.go).
	mem memState

	pace pace // Config.Yield's pacing of long operations

	urlBuf, nameBuf []byte    // cleaning buffers
	delBuf          []byte    // delete's cleaned URL in use, kept for the change log
	newGUID         GUID      // freshPersonGUID's, filled in place (see newTimeGUID)
	reqs            []Request // Handle's parsed batch, reused
	body            []byte    // Handle's body buffer, reused
	res             Result    // Handle's result, reused (do fills every field)
}

// person is one browser identity. Its URLs are the block [off, off+n) of personURLs, oldest
// link first (answers list them backwards, newest first, as netdata does).
type person struct {
	guid               GUID
	first, last, usage uint32
	off, n, cap        uint32
	// urlBits has urlBit(id) set for every URL id in the block: a clear bit proves a URL
	// absent without reading the block. Nearly every access in test1's random phases links a
	// new URL, and scanning 18-24 entries (up to 9 cache lines) for it was what made the later
	// phases slow (findPersonURL: 67 ns a request in rounds 1-6, 270 ns in rounds 7-10, native
	// profile). With 24 URLs a new URL's bit is clear (63/64)^24 = 69% of the time.
	urlBits uint64
}

// urlBit is URL id's bit in person.urlBits (the top six bits of a multiplicative hash, so
// that ids given out one after another spread over the word).
func urlBit(id uint32) uint64 { return 1 << (id * 0x9e3779b9 >> 26) }

// blockURLBits is urlBits for a block.
func blockURLBits(blk []personURL) uint64 {
	var bits uint64
	for _, pu := range blk {
		bits |= urlBit(pu.url)
	}
	return bits
}

// machine is one monitoring agent. Its URLs are the block [off, off+n) of machineURLs, oldest
// first (search lists them backwards).
type machine struct {
	guid               GUID
	first, last, usage uint32
	off, n, cap        uint32
}

// personURL links a person to a URL and the machine it last reached there.
type personURL struct {
	url, machine, name uint32 // url and name are intern ids, machine an index
	first, last        uint32
	usage              uint32 // usages in the low 31 bits, flagExpired on top
}

// machineURL is one URL a machine was reached through.
type machineURL struct {
	url         uint32
	first, last uint32
	usage       uint32
	// off and n place the URL's bytes in r.urls.arena, so that access compares them without
	// reading the intern entry first (a cache miss: 15% of test1's time at full size). They
	// are refreshed after the arena compacts (Registry.urlSpansGen).
	off, n uint32
	// head holds the URL's first bytes, so that access compares a URL that fits (most do)
	// without reading the arena either (sameURL).
	head [machineURLHead]byte
}

// machineURLHead is how many bytes of its URL a machineURL holds: a 56-byte entry. Full
// test1's URLs (http://<n>.netdata.rocks/) fit; the arena's cache miss they save was 10% of
// its random phases (A/B natively: slowest phase 692K/710K -> 776K/814K req/s with the
// comparison skipped altogether), for 13.5 MB more at 422K machine-URLs.
const machineURLHead = 32

// sameURL reports whether mu's URL is url (whose length the caller has compared).
func (r *Registry) sameURL(mu *machineURL, url []byte) bool {
	if len(url) <= len(mu.head) {
		return sameBytes(mu.head[:len(url)], url)
	}
	return sameBytes(mu.head[:], url[:len(mu.head)]) &&
		sameBytes(r.urls.arena[mu.off+uint32(len(mu.head)):mu.off+mu.n], url[len(mu.head):])
}

const (
	flagExpired = 1 << 31
	usageMask   = flagExpired - 1
)

// bump counts one more usage, saturating, and clears the EXPIRED flag (re-access revives).
func bump(u uint32) uint32 {
	if u&usageMask != usageMask {
		u++
	}
	return u &^ flagExpired
}

// New returns an empty registry.
func New(cfg Config) *Registry {
	return &Registry{
		cfg:          cfg.withDefaults(),
		pace:         pace{yield: cfg.Yield},
		personIndex:  newGUIDIndex(),
		machineIndex: newGUIDIndex(),
		urls:         newInternTable(),
		names:        newInternTable(),
	}
}

// Config returns the registry's settings, defaults filled in.
func (r *Registry) Config() Config { return r.cfg }

func (r *Registry) personBlock(p *person) []personURL {
	if p.n == 0 {
		return nil
	}
	return r.personURLs.block(p.off, p.n)
}

func (r *Registry) machineBlock(m *machine) []machineURL {
	if m.n == 0 {
		return nil
	}
	return r.machineURLs.block(m.off, m.n)
}

// findPersonURL returns the index of url in p's block, or -1.
func (r *Registry) findPersonURL(p *person, url uint32) int {
	if p.urlBits&urlBit(url) == 0 {
		return -1
	}
	for i, pu := range r.personBlock(p) {
		if pu.url == url {
			return i
		}
	}
	return -1
}

func (r *Registry) findMachineURL(m *machine, url uint32) int {
	blk := r.machineBlock(m)
	for i := range blk {
		mu := &blk[i]
		if mu.url == url {
			return i
		}
	}
	return -1
}

// newPerson adds a person with the given GUID.
func (r *Registry) newPerson(g GUID, when uint32) uint32 {
	var idx uint32
	if n := len(r.freePersons); n > 0 {
		idx = r.freePersons[n-1]
		r.freePersons = r.freePersons[:n-1]
	} else {
		idx = uint32(len(r.persons))
		r.persons = append(r.persons, person{})
	}
	r.persons[idx] = person{guid: g, first: when, last: when}
	r.personIndex.insert(&g, idx)
	return idx
}

func (r *Registry) newMachine(g GUID, when uint32) uint32 {
	idx := uint32(len(r.machines))
	r.machines = append(r.machines, machine{guid: g, first: when, last: when})
	r.machineIndex.insert(&g, idx)
	return idx
}

func (r *Registry) personGUID(i uint32) *GUID  { return &r.persons[i].guid }
func (r *Registry) machineGUID(i uint32) *GUID { return &r.machines[i].guid }

// findPerson returns the index of a known person.
func (r *Registry) findPerson(g *GUID) (uint32, bool) { return r.personIndex.find(g, r.personGUID) }

// findMachine returns the index of a known machine.
func (r *Registry) findMachine(g *GUID) (uint32, bool) {
	return r.machineIndex.find(g, r.machineGUID)
}

// appendPersonURL adds an entry for URL id url at the end of p's block, growing it if full,
// and returns it. The caller sets every other field: the slot holds what was there before
// (built in place, not copied in: see Registry.do).
func (r *Registry) appendPersonURL(p *person, url uint32) *personURL {
	if p.n == p.cap {
		p.off, p.cap = r.personURLs.grow(p.off, p.n, p.cap, p.n+1)
	}
	p.n++
	p.urlBits |= urlBit(url)
	r.personLinks++
	// Compaction moves blocks, so it comes before the entry's address is taken.
	r.maybeCompactPersons()
	pu := &r.personURLs.block(p.off, p.n)[p.n-1]
	pu.url = url
	return pu
}

// appendMachineURL is appendPersonURL for a machine: the caller sets first, last and usage.
func (r *Registry) appendMachineURL(m *machine, url uint32) *machineURL {
	if m.n == m.cap {
		m.off, m.cap = r.machineURLs.grow(m.off, m.n, m.cap, m.n+1)
	}
	m.n++
	r.machLinks++
	mu := &r.machineURLs.block(m.off, m.n)[m.n-1]
	mu.url = url
	r.setSpan(mu)
	return mu
}

// removePersonURL drops entry i of p's block, keeping the order of the others (the order
// answers list, backwards: see access).
func (r *Registry) removePersonURL(p *person, i int) {
	b := r.personBlock(p)
	r.urls.unref(b[i].url)
	r.names.unref(b[i].name)
	copy(b[i:], b[i+1:])
	p.n--
	p.urlBits = blockURLBits(b[:p.n])
	r.personLinks--
	if p.n == 0 {
		r.personURLs.release(p.off, p.cap)
		p.off, p.cap = 0, 0
	}
	r.maybeCompactPersons()
}

// maybeCompactPersons compacts the person-URL arena when freed blocks waste too much of it.
func (r *Registry) maybeCompactPersons() {
	if !r.personURLs.needsCompaction() {
		return
	}
	refs := make([]blockRef, 0, len(r.persons))
	for i := range r.persons {
		if p := &r.persons[i]; p.cap > 0 {
			refs = append(refs, blockRef{owner: uint32(i), off: p.off, capacity: p.cap})
		}
	}
	r.personURLs.compact(refs, func(owner, off uint32) { r.persons[owner].off = off })
}

// setSpan fills in the place of mu's URL bytes and its head.
func (r *Registry) setSpan(mu *machineURL) {
	e := &r.urls.ents[mu.url]
	mu.off, mu.n = e.off, e.n
	mu.head = [machineURLHead]byte{}
	copy(mu.head[:], r.urls.arena[e.off:e.off+e.n])
}

// refreshURLSpans makes every machineURL's span right after the URL arena compacted.
func (r *Registry) refreshURLSpans() {
	for i := range r.machines {
		blk := r.machineBlock(&r.machines[i])
		for k := range blk {
			r.setSpan(&blk[k])
		}
	}
	r.urlSpansGen = r.urls.gen
}
