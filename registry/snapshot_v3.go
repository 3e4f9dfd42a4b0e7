package registry

import (
	"encoding/binary"
	"math/bits"
)

// Snapshot body, version 3: the tables' rows at fixed widths.
//
//	counts   accesses u64 | URLs u32 | names u32 | machines u32 | persons u32
//	widths   url machine name first last usage: one byte each (0-8) | 0 0
//	strings  URLs, then names: uvarint length + bytes each (as version 2)
//	machines each: guid[16] first u32 last u32 usage u32 n u32, then n machine-URLs:
//	         url u32 first u32 last u32 usage u32
//	persons  each: guid[16] first u32 last u32 usage u32 n u32, then n person-URLs of
//	         url, machine, name, first-delta, last-delta, usage at the widths above
//
// Integers are little-endian. In a person-URL row, url and machine are snapshot indexes, name
// is 0 (none) or its index plus one, first-delta is zigzag(first - the person's first),
// last-delta zigzag(last - first) and usage is usages<<1 | EXPIRED; each field takes the
// fewest bytes that hold its largest value in this snapshot (0 when that is 0), so the
// widths are a function of the contents and the bytes stay deterministic.
//
// # Notes
//
// Version 2 wrote every value as a uvarint: reading one is a byte loop with a branch per
// byte, and through wazero the 24M person-URLs of full test1 took ~60% of a 9 s load
// (profiled: decoder.personURLsFast and decoder.persons). A row at fixed widths reads each
// field with one load and a mask, and the rows of a block follow one another, so the load is
// bound by the tables it fills, not by parsing. At full test1 the rows are 12 bytes (URL and
// machine indexes 3 bytes, deltas 2, name and usage 1) against v2's ~12.5 for a person-URL
// with its share of the person: the file stays ~318-345 MB. Persons and machines take 32
// fixed bytes each: a few MB for their simpler decoding.
const (
	snapVersion     = 3
	snapRowHead     = 32 // a person's or machine's fixed part
	snapMachineLink = 16 // a machine-URL row
	snapCountsLen   = 8 + 4*4 + 8
)

// linkWidths are the byte widths of a person-URL row's fields, in row order: url, machine,
// name, first-delta, last-delta, usage.
type linkWidths [6]uint8

// row is the number of bytes a person-URL row takes.
func (w *linkWidths) row() int {
	n := 0
	for _, x := range w {
		n += int(x)
	}
	return n
}

// widthOf is the fewest bytes that hold v.
func widthOf(v uint64) uint8 { return uint8((bits.Len64(v) + 7) / 8) }

// linkMaxima are the largest values of a person-URL row's fields, which set its widths:
// the largest index a URL, machine or name can have, and the largest delta and usage.
type linkMaxima [6]uint64

func (m *linkMaxima) widths() linkWidths {
	var w linkWidths
	for i, v := range m {
		w[i] = widthOf(v)
	}
	return w
}

// setCounts sets the index fields' maxima from the table sizes.
func (m *linkMaxima) setCounts(nURL, nMachine, nName int) {
	m[0], m[1], m[2] = uint64(max(nURL, 1)-1), uint64(max(nMachine, 1)-1), uint64(nName)
}

// merge takes the larger of each field.
func (m *linkMaxima) merge(o *linkMaxima) {
	for i := range m {
		m[i] = max(m[i], o[i])
	}
}

// linkFields are a person-URL's values as a row holds them.
func linkFields(pu *personURL, pfirst uint32, urlNo, machineNo, nameNo uint32) [6]uint64 {
	return [6]uint64{uint64(urlNo), uint64(machineNo), uint64(nameNo),
		zigzag(int64(pu.first) - int64(pfirst)), zigzag(int64(pu.last) - int64(pu.first)),
		uint64(pu.usage&usageMask)<<1 | uint64(pu.usage>>31)}
}

// appendRow appends vs at widths w.
func appendRow(b []byte, vs *[6]uint64, w *linkWidths) []byte {
	for i, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
		b = b[:len(b)-8+int(w[i])]
	}
	return b
}

// appendRowHead appends a person's or machine's fixed part.
func appendRowHead(b []byte, g *GUID, first, last, usage, n uint32) []byte {
	b = append(b, g[:]...)
	b = binary.LittleEndian.AppendUint32(b, first)
	b = binary.LittleEndian.AppendUint32(b, last)
	b = binary.LittleEndian.AppendUint32(b, usage)
	return binary.LittleEndian.AppendUint32(b, n)
}

// decodeV3 reads a version 3 body: data[start:end] of the whole file data (the rows' loads
// may read up to 8 bytes past a field, which the trailer always holds).
func (r *Registry) decodeV3(data []byte, start, end int) error {
	d := &v3decoder{data: data, off: start, end: end}
	if end-start < snapCountsLen {
		return corruptAt("snapshot counts cut short", start)
	}
	r.accesses = binary.LittleEndian.Uint64(data[start:])
	nURL := int(binary.LittleEndian.Uint32(data[start+8:]))
	nName := int(binary.LittleEndian.Uint32(data[start+12:]))
	nMachine := int(binary.LittleEndian.Uint32(data[start+16:]))
	nPerson := int(binary.LittleEndian.Uint32(data[start+20:]))
	copy(d.w[:], data[start+24:start+30])
	d.off += snapCountsLen
	room := end - d.off
	switch {
	case data[start+30] != 0 || data[start+31] != 0:
		return corruptAt("snapshot widths padding not zero", start+30)
	case nURL > room/2 || nName > room/2:
		return corruptAt("string count larger than the data", start+8)
	case nMachine > room/snapRowHead || nPerson > room/snapRowHead:
		return corruptAt("machine or person count larger than the data", start+16)
	}
	for i, x := range d.w {
		if x > 8 {
			return corruptAt("person-URL field width out of range", start+24+i)
		}
	}
	d.lay = d.w.layout()
	dd := &decoder{b: data[:end], off: d.off, base: 0, pace: &r.pace}
	if !dd.stringsInto(&r.urls, "URL", nURL) || !dd.stringsInto(&r.names, "name", nName) {
		return dd.err
	}
	d.off = dd.off
	d.urlRefs = make([]uint32, nURL+1)
	d.nameRefs = make([]uint32, nName+1)
	d.seen = make([]uint64, (nURL+1+63)/64)
	d.machines(r, nMachine)
	d.persons(r, nPerson, nMachine, nName)
	if d.err == nil && d.off != end {
		d.fail("trailing bytes after the persons")
	}
	d.max.setCounts(nURL, nMachine, nName)
	if d.err == nil && d.max.widths() != d.w {
		d.err = corruptAt("person-URL widths are not the fewest bytes that hold their values", start+24)
	}
	if d.err != nil {
		return d.err
	}
	for _, t := range []struct {
		tab  *internTable
		refs []uint32
	}{{&r.urls, d.urlRefs}, {&r.names, d.nameRefs}} {
		for id := 1; id < len(t.refs); id++ {
			if t.refs[id] == 0 {
				return corruptAt("unreferenced string", start)
			}
			t.tab.ents[id].refs = t.refs[id]
		}
	}
	return nil
}

// v3decoder reads the rows of a version 3 body.
type v3decoder struct {
	data              []byte
	off, end          int
	w                 linkWidths
	lay               rowLayout
	max               linkMaxima // ORs of the person-URL rows' values: w must be their fewest bytes
	urlRefs, nameRefs []uint32   // links to each string, by id
	seen              []uint64   // a block's URL ids, to find one listed twice
	// nextURL and nextName are the indexes the next string used for the first time must
	// have: strings are numbered by first use, and a load checks it (one encoding per state).
	nextURL, nextName uint64
	prev              GUID // the last machine's or person's: they come in GUID order
	err               error
}

// inOrder reports whether g follows d.prev (the first of a section follows the zero GUID,
// which no entity has) and makes it the last one.
func (d *v3decoder) inOrder(g *GUID) bool {
	a, b := binary.BigEndian.Uint64(d.prev[:8]), binary.BigEndian.Uint64(d.prev[8:])
	x, y := binary.BigEndian.Uint64(g[:8]), binary.BigEndian.Uint64(g[8:])
	d.prev = *g
	return x > a || x == a && y > b
}

func (d *v3decoder) fail(msg string) {
	if d.err == nil {
		d.err = corruptAt(msg, d.off)
	}
}

func (d *v3decoder) u32(at int) uint32 { return binary.LittleEndian.Uint32(d.data[at:]) }

// head reads a person's or machine's fixed part; n is bounded by limit (the strings a block
// may list: its URLs are distinct) and by the rows of rowLen bytes left.
func (d *v3decoder) head(limit, rowLen int) (g GUID, first, last, usage, n uint32, ok bool) {
	if d.end-d.off < snapRowHead {
		d.fail("row cut short")
		return
	}
	at := d.off
	copy(g[:], d.data[at:at+16])
	first, last, usage, n = d.u32(at+16), d.u32(at+20), d.u32(at+24), d.u32(at+28)
	d.off += snapRowHead
	if int(n) > limit || int(n) > (d.end-d.off)/max(rowLen, 1) {
		d.off = at + 28
		d.fail("URL count out of range")
		return
	}
	return g, first, last, usage, n, true
}

// machines reads the machines and their URLs into r.
func (d *v3decoder) machines(r *Registry, nm int) {
	r.machines = make([]machine, 0, nm)
	r.machineIndex.reserve(nm)
	nURL := len(d.urlRefs) - 1
	for i := 0; i < nm && d.err == nil; i++ {
		g, first, last, usage, n, ok := d.head(nURL, snapMachineLink)
		if !ok {
			return
		}
		r.pace.step(perEntity(n))
		idx := uint32(len(r.machines))
		r.machines = append(r.machines, machine{guid: g})
		if g.IsZero() || !r.machineIndex.insertNew(&g, idx, r.machineGUID) || !d.inOrder(&g) {
			d.off -= snapRowHead
			d.fail("repeated, zero or unordered machine GUID")
			return
		}
		m := machine{guid: g, first: first, last: last, usage: usage, n: n}
		if n > 0 {
			m.off, m.cap = r.machineURLs.alloc(n)
		}
		blk := r.machineBlock(&m)
		for k := range blk {
			at := d.off
			ui := d.u32(at)
			if int(ui) >= nURL || uint64(ui) > d.nextURL {
				d.fail("URL index out of range or not numbered by first use")
				return
			}
			if uint64(ui) == d.nextURL {
				d.nextURL++
			}
			u := ui + 1
			blk[k] = machineURL{url: u, first: d.u32(at + 4), last: d.u32(at + 8), usage: d.u32(at + 12)}
			r.setSpan(&blk[k])
			d.urlRefs[u]++
			d.off += snapMachineLink
		}
		if repeatsURL(blk, func(mu *machineURL) uint32 { return mu.url }, d.seen) {
			d.fail("machine lists a URL twice")
			return
		}
		r.machLinks += uint64(n)
		r.machines[idx] = m
	}
}

// persons reads the persons and their URLs into r.
func (d *v3decoder) persons(r *Registry, np, nMachine, nName int) {
	r.persons = make([]person, 0, np)
	r.personIndex.reserve(np)
	rowLen := d.lay.len
	nURL := len(d.urlRefs) - 1
	for i := 0; i < np && d.err == nil; i++ {
		g, first, last, usage, n, ok := d.head(nURL, rowLen)
		if !ok {
			return
		}
		r.pace.step(perEntity(n))
		if n > 0 && rowLen == 0 {
			d.fail("person-URL rows of no bytes")
			return
		}
		idx := uint32(len(r.persons))
		r.persons = append(r.persons, person{guid: g})
		if i == 0 {
			d.prev = GUID{} // the persons' order starts again
		}
		if g.IsZero() || !r.personIndex.insertNew(&g, idx, r.personGUID) || !d.inOrder(&g) {
			d.off -= snapRowHead
			d.fail("repeated, zero or unordered person GUID")
			return
		}
		p := person{guid: g, first: first, last: last, usage: usage, n: n}
		if n > 0 {
			p.off, p.cap = r.personURLs.alloc(n)
		}
		if !d.personURLs(r.personBlock(&p), &p, uint64(nMachine), uint64(nName)) {
			return
		}
		r.personLinks += uint64(n)
		r.persons[idx] = p
	}
}

// rowLayout is where a person-URL row's fields are and how to mask them out of a
// little-endian 8-byte load at their offset.
type rowLayout struct {
	o1, o2, o3, o4, o5     int // field offsets (the url's is 0)
	m0, m1, m2, m3, m4, m5 uint64
	len                    int
}

func (w *linkWidths) layout() rowLayout {
	var l rowLayout
	mask := func(x uint8) uint64 {
		if x >= 8 {
			return ^uint64(0)
		}
		return 1<<(8*uint64(x)) - 1
	}
	l.m0, l.m1, l.m2, l.m3, l.m4, l.m5 = mask(w[0]), mask(w[1]), mask(w[2]), mask(w[3]), mask(w[4]), mask(w[5])
	l.o1 = int(w[0])
	l.o2 = l.o1 + int(w[1])
	l.o3 = l.o2 + int(w[2])
	l.o4 = l.o3 + int(w[3])
	l.o5 = l.o4 + int(w[4])
	l.len = l.o5 + int(w[5])
	return l
}

// personURLs reads a person's rows into blk, counting the links to each string and setting
// the person's URL bits. It reports false (d.err set) at a value out of range.
//
// # Notes
//
// Written for Go's WebAssembly backend, where the first version of this loop (fields in
// [6]uint64 arrays, one load through a bounds-checked slice each) was slower than version 2's
// varint decoder: fields are scalars, the loads unchecked (loadAt, after one check that the
// block's rows and an 8-byte load past them lie in data), and the largest values kept as an
// OR, which has the same width.
func (d *v3decoder) personURLs(blk []personURL, p *person, nMachine, nName uint64) bool {
	l := d.lay
	data, row := d.data, d.off
	if row+len(blk)*l.len+8 > len(data) {
		d.fail("person-URL rows cut short")
		return false
	}
	nURL := uint64(len(d.urlRefs) - 1)
	seen, urlRefs, nameRefs := d.seen, d.urlRefs, d.nameRefs
	pfirst := int64(p.first)
	var bitsSet, or3, or4, or5 uint64
	nextURL, nextName := d.nextURL, d.nextName
	k := 0
	for ; k < len(blk); k++ {
		u0 := loadAt(data, row) & l.m0
		mi := loadAt(data, row+l.o1) & l.m1
		nm := loadAt(data, row+l.o2) & l.m2
		df := loadAt(data, row+l.o3) & l.m3
		dl := loadAt(data, row+l.o4) & l.m4
		us := loadAt(data, row+l.o5) & l.m5
		or3, or4, or5 = or3|df, or4|dl, or5|us
		first := pfirst + unzigzag(df)
		last := first + unzigzag(dl)
		u := u0 + 1
		if u0 >= nURL || u0 > nextURL || mi >= nMachine || nm > nName || nm > nextName+1 || us > 1<<32-1 ||
			uint64(first) > 1<<32-1 || uint64(last) > 1<<32-1 || seen[u>>6]&(1<<(u&63)) != 0 {
			break
		}
		if u0 == nextURL {
			nextURL++
		}
		if nm == nextName+1 {
			nextName++
		}
		seen[u>>6] |= 1 << (u & 63)
		blk[k] = personURL{url: uint32(u), machine: uint32(mi), name: uint32(nm),
			first: uint32(first), last: uint32(last), usage: uint32(us>>1) | uint32(us&1)<<31}
		urlRefs[u]++
		nameRefs[nm]++ // nameRefs[0] counts the links without a name
		bitsSet |= urlBit(uint32(u))
		row += l.len
	}
	unmark(blk[:k], func(pu *personURL) uint32 { return pu.url }, seen)
	if k < len(blk) {
		d.off = row
		d.fail("person-URL out of range, repeated or not numbered by first use")
		return false
	}
	d.off, d.nextURL, d.nextName = row, nextURL, nextName
	d.max[3], d.max[4], d.max[5] = d.max[3]|or3, d.max[4]|or4, d.max[5]|or5
	p.urlBits = bitsSet
	return true
}
