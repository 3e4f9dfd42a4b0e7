package registry

import (
	"encoding/binary"
	"errors"
	"slices"
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

// decoder reads uvarints from a verified snapshot body, remembering the first error.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = corruptAt(msg, len(snapMagic)+d.off)
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
	body, err := snapshotBody(data)
	if err != nil {
		return 0, err
	}
	fresh := New(r.cfg)
	seq, err := fresh.decode(body)
	if err != nil {
		*r = *New(r.cfg)
		return 0, err
	}
	*r = *fresh
	return seq, nil
}

func (r *Registry) decode(body []byte) (uint64, error) {
	d := &decoder{b: body}
	seq := binary.LittleEndian.Uint64(d.bytes(8))
	r.accesses = d.uvarint()

	readStrings := func(t *internTable, what string) []uint32 {
		n := d.count(1, what)
		ids := make([]uint32, n)
		for i := range ids {
			s := d.bytes(int(d.u32(MaxFieldLength+1, what+" length")))
			if d.err != nil {
				return nil
			}
			if len(s) == 0 || t.find(s) != 0 {
				d.fail(what + " empty or repeated")
				return nil
			}
			ids[i] = t.ref(s)
			t.ents[ids[i]].refs = 0 // counted again as links are read
		}
		return ids
	}
	urlIDs := readStrings(&r.urls, "URL")
	nameIDs := readStrings(&r.names, "name")

	var scratch []uint32
	nm := d.count(20, "machine")
	r.machines = make([]machine, 0, nm)
	for i := 0; i < nm && d.err == nil; i++ {
		var g GUID
		copy(g[:], d.bytes(16))
		m := machine{guid: g, first: d.u32(0, "time"), last: d.u32(0, "time"), usage: d.u32(0, "usage")}
		n := d.u32(uint64(len(d.b)-d.off)/4+1, "machine URL count")
		if _, dup := r.findMachine(&g); dup || g.IsZero() {
			d.fail("repeated or zero machine GUID")
			break
		}
		idx := r.newMachine(g, 0)
		if n > 0 {
			m.off, m.cap = r.machineURLs.alloc(n)
			m.n = n
		}
		blk := r.machineBlock(&m)
		for k := range blk {
			ui := d.index(len(urlIDs), "URL index")
			if d.err != nil {
				break
			}
			u := urlIDs[ui]
			blk[k] = machineURL{url: u, first: d.u32(0, "time"), last: d.u32(0, "time"), usage: d.u32(0, "usage")}
			r.urls.ents[u].refs++
		}
		if repeatsURL(blk, func(mu machineURL) uint32 { return mu.url }, &scratch) {
			d.fail("machine lists a URL twice")
		}
		r.machLinks += uint64(n)
		r.machines[idx] = m
	}

	np := d.count(20, "person")
	r.persons = make([]person, 0, np)
	for i := 0; i < np && d.err == nil; i++ {
		var g GUID
		copy(g[:], d.bytes(16))
		p := person{guid: g, first: d.u32(0, "time"), last: d.u32(0, "time"), usage: d.u32(0, "usage")}
		n := d.u32(uint64(len(d.b)-d.off)/6+1, "person URL count")
		if _, dup := r.findPerson(&g); dup || g.IsZero() {
			d.fail("repeated or zero person GUID")
			break
		}
		idx := r.newPerson(g, 0)
		if n > 0 {
			p.off, p.cap = r.personURLs.alloc(n)
			p.n = n
		}
		blk := r.personBlock(&p)
		for k := range blk {
			u := d.index(len(urlIDs), "URL index")
			m := d.index(len(r.machines), "machine index")
			nm := d.index(len(nameIDs)+1, "name index")
			first := int64(p.first) + unzigzag(d.uvarint())
			last := first + unzigzag(d.uvarint())
			usage := d.u32(0, "usage")
			if d.err != nil {
				break
			}
			if first < 0 || last < 0 || first > 1<<32-1 || last > 1<<32-1 {
				d.fail("time out of range")
				break
			}
			pu := personURL{url: urlIDs[u], machine: m, first: uint32(first), last: uint32(last), usage: usage}
			if nm > 0 {
				pu.name = nameIDs[nm-1]
				r.names.ents[pu.name].refs++
			}
			blk[k] = pu
			r.urls.ents[pu.url].refs++
		}
		if repeatsURL(blk, func(pu personURL) uint32 { return pu.url }, &scratch) {
			d.fail("person lists a URL twice")
		}
		r.personLinks += uint64(n)
		r.persons[idx] = p
	}
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes after the persons")
	}
	if d.err != nil {
		return 0, d.err
	}
	// Strings that nothing references would be leaks; the format never writes them.
	for _, t := range []*internTable{&r.urls, &r.names} {
		for id := 1; id < len(t.ents); id++ {
			if t.ents[id].refs == 0 && t.ents[id].n != 0 {
				return 0, errors.New("registry: corrupt snapshot: unreferenced string")
			}
		}
	}
	return seq, nil
}

// repeatsURL reports whether a block names one URL twice.
func repeatsURL[T any](blk []T, url func(T) uint32, scratch *[]uint32) bool {
	if len(blk) <= 16 {
		for i := range blk {
			for j := i + 1; j < len(blk); j++ {
				if url(blk[i]) == url(blk[j]) {
					return true
				}
			}
		}
		return false
	}
	s := (*scratch)[:0]
	for _, e := range blk {
		s = append(s, url(e))
	}
	slices.Sort(s)
	*scratch = s
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			return true
		}
	}
	return false
}
