package registry

import (
	"encoding/binary"
	"hash/crc32"
	"strconv"
)

// CorruptError says where a snapshot or log stopped making sense. It matches ErrCorrupt.
type CorruptError struct {
	Offset int
	Msg    string
}

func (e *CorruptError) Error() string {
	return "registry: corrupt data at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func corruptAt(msg string, off int) error { return &CorruptError{Offset: off, Msg: msg} }

// VerifySnapshot checks a snapshot's header and trailer: length, checksum and end marker.
// A torn or rotted file fails it.
func VerifySnapshot(data []byte) error {
	_, _, err := snapshotBody(data, true)
	return err
}

// snapshotBody verifies data (the checksum too if crc) and returns its header and the part
// between header and trailer.
func snapshotBody(data []byte, crc bool) (SnapshotHeader, []byte, error) {
	if len(data) < snapMinBytes {
		return SnapshotHeader{}, nil, corruptAt("snapshot shorter than its header and trailer", 0)
	}
	h, n, err := ParseSnapshotHeader(data)
	if err != nil {
		return h, nil, err
	}
	t := len(data) - snapTrailer
	if t < n {
		return h, nil, corruptAt("snapshot shorter than its header and trailer", 0)
	}
	if string(data[len(data)-8:]) != snapEnd {
		return h, nil, corruptAt("snapshot end marker missing (torn write?)", t)
	}
	if l := binary.LittleEndian.Uint64(data[t:]); l != uint64(t) {
		return h, nil, corruptAt("snapshot length "+strconv.FormatUint(l, 10)+" does not match file", t)
	}
	if crc && crc32.Checksum(data[:t+8], castagnoli) != binary.LittleEndian.Uint32(data[t+8:]) {
		return h, nil, corruptAt("snapshot checksum mismatch", t+8)
	}
	return h, data[n:t], nil
}

// SnapshotSeq returns the sequence number a verified snapshot holds.
func SnapshotSeq(data []byte) (uint64, error) {
	h, _, err := snapshotBody(data, true)
	return h.Seq, err
}

// decoder reads uvarints from a verified snapshot body, remembering the first error.
type decoder struct {
	b    []byte
	off  int
	base int // the body's offset in the file, for error offsets
	err  error
	pace *pace
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = corruptAt(msg, d.base+d.off)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

// u32 reads a uvarint that must fit in 32 bits (and be below limit when limit > 0).
func (d *decoder) u32(limit uint64, what string) uint32 {
	v := d.uvarint()
	if v > 1<<32-1 || (limit > 0 && v >= limit) {
		d.fail(what + " out of range")
		return 0
	}
	return uint32(v)
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.fail("truncated")
		return nil
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s
}

// index reads an index that must be below n.
func (d *decoder) index(n int, what string) uint32 {
	v := d.uvarint()
	if v >= uint64(n) {
		d.fail(what + " out of range")
		return 0
	}
	return uint32(v)
}

// count reads an element count, bounded by what the remaining bytes could hold.
func (d *decoder) count(minBytes int, what string) int {
	v := d.uvarint()
	if v > uint64(len(d.b)-d.off)/uint64(minBytes) {
		d.fail(what + " count larger than the data")
		return 0
	}
	return int(v)
}

// LoadSnapshot replaces the registry's contents with a snapshot's and returns the sequence
// number it holds. On any error the registry is left empty, never half-loaded.
func (r *Registry) LoadSnapshot(data []byte) (uint64, error) {
	h, err := r.loadSnapshot(data, true)
	return h.Seq, err
}

// loadSnapshot is LoadSnapshot returning the header, checking the checksum only if crc: a
// Store's snapshot was verified as it was read, and a second pass over ~300 MB took ~40 ms.
func (r *Registry) loadSnapshot(data []byte, crc bool) (SnapshotHeader, error) {
	h, body, err := snapshotBody(data, crc)
	if err != nil {
		return h, err
	}
	fresh := New(r.cfg)
	start := len(data) - snapTrailer - len(body)
	decode := func() error { return fresh.decode(body, start) }
	if h.Version >= 3 {
		decode = func() error { return fresh.decodeV3(data, start, start+len(body)) }
	}
	if err := decode(); err != nil {
		*r = *New(r.cfg)
		return h, err
	}
	*r = *fresh
	return h, nil
}

// decode reads a snapshot's body (after the header, at offset base in its file).
func (r *Registry) decode(body []byte, base int) error {
	d := &decoder{b: body, base: base, pace: &r.pace}
	r.accesses = d.uvarint()
	nURL := d.readStrings(&r.urls, "URL")
	nName := d.readStrings(&r.names, "name")
	// References are counted here by id, not in the tables' entries: a dense array, so the
	// count per link (24M of them at full size) is not a cache miss into the table.
	urlRefs := make([]uint32, nURL+1)
	nameRefs := make([]uint32, nName+1)
	seen := make([]uint64, (nURL+1+63)/64) // a block's URL ids, to find one listed twice
	d.machines(r, urlRefs, seen)
	d.persons(r, urlRefs, nameRefs, seen)
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes after the persons")
	}
	if d.err != nil {
		return d.err
	}
	// Strings that nothing references would be leaks; the format never writes them.
	for _, t := range []struct {
		tab  *internTable
		refs []uint32
	}{{&r.urls, urlRefs}, {&r.names, nameRefs}} {
		for id := 1; id < len(t.refs); id++ {
			if t.refs[id] == 0 {
				return corruptAt("unreferenced string", d.base)
			}
			t.tab.ents[id].refs = t.refs[id]
		}
	}
	return nil
}

// readStrings reads a string table into t, which must be empty, and returns its length.
// The i-th string gets id i+1, so a link's snapshot index plus one is its id.
func (d *decoder) readStrings(t *internTable, what string) int {
	n := d.count(1, what)
	if !d.stringsInto(t, what, n) {
		return 0
	}
	return n
}

// stringsInto reads n strings into t, which must be empty (ids 1..n).
func (d *decoder) stringsInto(t *internTable, what string, n int) bool {
	t.reserve(min(n, 1<<20))
	for i := 1; i <= n; i++ {
		if i&1023 == 0 {
			d.pace.step(8 * 1024)
		}
		s := d.bytes(int(d.u32(MaxFieldLength+1, what+" length")))
		if d.err != nil {
			return false
		}
		if len(s) == 0 || t.addNew(s) != uint32(i) {
			d.fail(what + " empty or repeated")
			return false
		}
	}
	return true
}

// machines reads the machines section into r, counting the links to each URL in urlRefs.
func (d *decoder) machines(r *Registry, urlRefs []uint32, seen []uint64) {
	nm := d.count(20, "machine")
	r.machines = make([]machine, 0, nm)
	r.machineIndex.reserve(nm)
	for i := 0; i < nm && d.err == nil; i++ {
		var g GUID
		copy(g[:], d.bytes(16))
		m := machine{guid: g, first: d.u32(0, "time"), last: d.u32(0, "time"), usage: d.u32(0, "usage")}
		n := d.u32(uint64(len(d.b)-d.off)/4+1, "machine URL count")
		idx := uint32(len(r.machines))
		r.machines = append(r.machines, machine{guid: g})
		if g.IsZero() || !r.machineIndex.insertNew(&g, idx, r.machineGUID) {
			d.fail("repeated or zero machine GUID")
			break
		}
		if n > 0 {
			m.off, m.cap = r.machineURLs.alloc(n)
			m.n = n
		}
		blk := r.machineBlock(&m)
		for k := range blk {
			u := d.index(len(urlRefs)-1, "URL index") + 1
			if d.err != nil {
				break
			}
			blk[k] = machineURL{url: u, first: d.u32(0, "time"), last: d.u32(0, "time"), usage: d.u32(0, "usage")}
			r.setSpan(&blk[k])
			urlRefs[u]++
		}
		if repeatsURL(blk, func(mu *machineURL) uint32 { return mu.url }, seen) {
			d.fail("machine lists a URL twice")
		}
		r.machLinks += uint64(n)
		r.machines[idx] = m
	}
}

// persons reads the persons section into r, counting the links to each string.
func (d *decoder) persons(r *Registry, urlRefs, nameRefs []uint32, seen []uint64) {
	np := d.count(20, "person")
	r.persons = make([]person, 0, np)
	r.personIndex.reserve(np)
	for i := 0; i < np && d.err == nil; i++ {
		var g GUID
		copy(g[:], d.bytes(16))
		p := person{guid: g, first: d.u32(0, "time"), last: d.u32(0, "time"), usage: d.u32(0, "usage")}
		n := d.u32(uint64(len(d.b)-d.off)/6+1, "person URL count")
		d.pace.step(perEntity(n))
		idx := uint32(len(r.persons))
		r.persons = append(r.persons, person{guid: g})
		if g.IsZero() || !r.personIndex.insertNew(&g, idx, r.personGUID) {
			d.fail("repeated or zero person GUID")
			break
		}
		if n > 0 {
			p.off, p.cap = r.personURLs.alloc(n)
			p.n = n
		}
		blk := r.personBlock(&p)
		if !d.personURLsFast(blk, p.first, uint64(len(urlRefs)-1), uint64(len(r.machines)), uint64(len(nameRefs)-1), seen) {
			d.personURLs(blk, p.first, len(urlRefs)-1, len(r.machines), len(nameRefs)-1, seen)
		}
		if d.err != nil {
			break
		}
		for _, pu := range blk {
			urlRefs[pu.url]++
			nameRefs[pu.name]++ // nameRefs[0] counts the links without a name
		}
		p.urlBits = blockURLBits(blk)
		r.personLinks += uint64(n)
		r.persons[idx] = p
	}
}

// personURLs reads a person's links, checking each value as it comes.
func (d *decoder) personURLs(blk []personURL, pfirst uint32, nURL, nMachine, nName int, seen []uint64) {
	for k := range blk {
		u := d.index(nURL, "URL index")
		m := d.index(nMachine, "machine index")
		nm := d.index(nName+1, "name index")
		first := int64(pfirst) + unzigzag(d.uvarint())
		last := first + unzigzag(d.uvarint())
		usage := d.u32(0, "usage")
		if d.err != nil {
			return
		}
		if first < 0 || last < 0 || first > 1<<32-1 || last > 1<<32-1 {
			d.fail("time out of range")
			return
		}
		blk[k] = personURL{url: u + 1, machine: m, name: nm, first: uint32(first), last: uint32(last), usage: usage}
	}
	if repeatsURL(blk, func(pu *personURL) uint32 { return pu.url }, seen) {
		d.fail("person lists a URL twice")
	}
}

// personURLsFast is personURLs for the common case, at a fraction of the cost: it reads
// straight from the bytes while at least the longest link remains, and marks the URLs seen
// as it goes. At anything personURLs would reject (or near the end of the data) it undoes its
// marks and reports false, having consumed nothing, and personURLs reads the block again to
// say what is wrong.
func (d *decoder) personURLsFast(blk []personURL, pfirst uint32, nURL, nMachine, nName uint64, seen []uint64) bool {
	const maxLink = 6 * binary.MaxVarintLen64
	b, off := d.b, d.off
	k := 0
	for ; k < len(blk); k++ {
		if len(b)-off < maxLink {
			break
		}
		s := b[off : off+maxLink]
		var v [6]uint64
		i, ok := 0, true
		for f := range v {
			if c := s[i]; c < 0x80 {
				v[f] = uint64(c)
				i++
				continue
			}
			x, n := binary.Uvarint(s[i:])
			if n <= 0 {
				ok = false
				break
			}
			v[f] = x
			i += n
		}
		first := int64(pfirst) + unzigzag(v[3])
		last := first + unzigzag(v[4])
		u := v[0] + 1 // the URL's id
		if !ok || u > nURL || v[1] >= nMachine || v[2] > nName || v[5] > 1<<32-1 ||
			first < 0 || last < 0 || first > 1<<32-1 || last > 1<<32-1 || seen[u>>6]&(1<<(u&63)) != 0 {
			break
		}
		seen[u>>6] |= 1 << (u & 63)
		blk[k] = personURL{url: uint32(u), machine: uint32(v[1]), name: uint32(v[2]),
			first: uint32(first), last: uint32(last), usage: uint32(v[5])}
		off += i
	}
	unmark(blk[:k], func(pu *personURL) uint32 { return pu.url }, seen)
	if k < len(blk) {
		return false
	}
	d.off = off
	return true
}

// repeatsURL reports whether a block names one URL id twice, marking the ids in seen (one
// bit per id, all clear) as it goes and clearing them again.
func repeatsURL[T any](blk []T, url func(*T) uint32, seen []uint64) bool {
	k := 0
	for ; k < len(blk); k++ {
		u := url(&blk[k])
		if seen[u>>6]&(1<<(u&63)) != 0 {
			break
		}
		seen[u>>6] |= 1 << (u & 63)
	}
	unmark(blk[:k], url, seen)
	return k < len(blk)
}

// unmark clears the bits of blk's URL ids in seen.
func unmark[T any](blk []T, url func(*T) uint32, seen []uint64) {
	for i := range blk {
		u := url(&blk[i])
		seen[u>>6] &^= 1 << (u & 63)
	}
}
