package registry

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"slices"
	"testing"
)

// referenceSnapshotV3 writes version 3 as snapshot_v3.go specifies it, the simple way: the
// order and numbering of referenceSnapshotV2, the widths from one more walk. AppendSnapshot
// must write the same bytes.
func referenceSnapshotV3(r *Registry, seq uint64) []byte {
	machines, persons, urls, names, urlNo, nameNo, machineNo := referenceOrder(r)
	var mx linkMaxima
	for _, pi := range persons {
		p := &r.persons[pi]
		for _, pu := range r.personBlock(p) {
			vs := linkFields(&pu, p.first, 0, 0, 0)
			for f := 3; f < 6; f++ {
				mx[f] = max(mx[f], vs[f])
			}
		}
	}
	mx.setCounts(len(urls), len(machines), len(names))
	w := mx.widths()
	b := appendSnapshotHeader(nil, &SnapshotHeader{Version: 3, Seq: seq})
	b = binary.LittleEndian.AppendUint64(b, r.accesses)
	for _, n := range []int{len(urls), len(names), len(machines), len(persons)} {
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
	}
	b = append(append(b, w[:]...), 0, 0)
	for _, list := range [][][]byte{urls, names} {
		for _, s := range list {
			b = append(binary.AppendUvarint(b, uint64(len(s))), s...)
		}
	}
	u32 := func(vs ...uint32) {
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
	}
	for _, mi := range machines {
		m := &r.machines[mi]
		b = append(b, m.guid[:]...)
		u32(m.first, m.last, m.usage, m.n)
		for _, mu := range r.machineBlock(m) {
			u32(uint32(urlNo[mu.url]-1), mu.first, mu.last, mu.usage)
		}
	}
	for _, pi := range persons {
		p := &r.persons[pi]
		b = append(b, p.guid[:]...)
		u32(p.first, p.last, p.usage, p.n)
		for _, pu := range r.personBlock(p) {
			vs := linkFields(&pu, p.first, uint32(urlNo[pu.url]-1), uint32(machineNo[pu.machine]), uint32(nameNo[pu.name]))
			for f, v := range vs {
				for k := 0; k < int(w[f]); k++ {
					b = append(b, byte(v>>(8*k)))
				}
			}
		}
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(len(b)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return append(b, snapEnd...)
}

// referenceDecodeV3 reads a version 3 body one field at a time: strings looked up, refs
// counted in the tables, repeated URLs found by sorting. decodeV3 must accept and reject
// exactly what it does, with the same error (message and offset).
func referenceDecodeV3(r *Registry, data []byte, start, end int) error {
	off := start
	fail := func(msg string, at int) error { return corruptAt(msg, at) }
	if end-start < snapCountsLen {
		return fail("snapshot counts cut short", start)
	}
	le32 := func(at int) uint32 { return binary.LittleEndian.Uint32(data[at:]) }
	r.accesses = binary.LittleEndian.Uint64(data[start:])
	nURL, nName, nMachine, nPerson := int(le32(start+8)), int(le32(start+12)), int(le32(start+16)), int(le32(start+20))
	var w linkWidths
	copy(w[:], data[start+24:])
	off += snapCountsLen
	room := end - off
	switch {
	case data[start+30] != 0 || data[start+31] != 0:
		return fail("snapshot widths padding not zero", start+30)
	case nURL > room/2 || nName > room/2:
		return fail("string count larger than the data", start+8)
	case nMachine > room/32 || nPerson > room/32:
		return fail("machine or person count larger than the data", start+16)
	}
	for i, x := range w {
		if x > 8 {
			return fail("person-URL field width out of range", start+24+i)
		}
	}
	d := &decoder{b: data[:end], off: off}
	readStrings := func(t *internTable, what string, n int) []uint32 {
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
			t.ents[ids[i]].refs = 0
		}
		return ids
	}
	urlIDs := readStrings(&r.urls, "URL", nURL)
	nameIDs := readStrings(&r.names, "name", nName)
	if d.err != nil {
		return d.err
	}
	off = d.off
	r.machines = make([]machine, 0, nMachine)
	r.persons = make([]person, 0, nPerson)
	var scratch []uint32
	var nextURL, nextName uint64
	var prev GUID
	ordered := func(g GUID) bool {
		ok := bytes.Compare(g[:], prev[:]) > 0
		prev = g
		return ok
	}
	head := func(limit, rowLen int) (GUID, [4]uint32, error) {
		var g GUID
		var v [4]uint32
		if end-off < 32 {
			return g, v, fail("row cut short", off)
		}
		copy(g[:], data[off:])
		for i := range v {
			v[i] = le32(off + 16 + 4*i)
		}
		off += 32
		if int(v[3]) > limit || int(v[3]) > (end-off)/max(rowLen, 1) {
			return g, v, fail("URL count out of range", off-4)
		}
		return g, v, nil
	}
	for range nMachine {
		g, v, err := head(nURL, 16)
		if err != nil {
			return err
		}
		if _, dup := r.findMachine(&g); dup || g.IsZero() || !ordered(g) {
			return fail("repeated, zero or unordered machine GUID", off-32)
		}
		idx := r.newMachine(g, 0)
		m := machine{guid: g, first: v[0], last: v[1], usage: v[2], n: v[3]}
		if m.n > 0 {
			m.off, m.cap = r.machineURLs.alloc(m.n)
		}
		blk := r.machineBlock(&m)
		for k := range blk {
			ui := le32(off)
			if int(ui) >= nURL || uint64(ui) > nextURL {
				return fail("URL index out of range or not numbered by first use", off)
			}
			if uint64(ui) == nextURL {
				nextURL++
			}
			blk[k] = machineURL{url: urlIDs[ui], first: le32(off + 4), last: le32(off + 8), usage: le32(off + 12)}
			r.setSpan(&blk[k])
			r.urls.ents[blk[k].url].refs++
			off += 16
		}
		if sortedRepeats(blk, func(mu machineURL) uint32 { return mu.url }, &scratch) {
			return fail("machine lists a URL twice", off)
		}
		r.machLinks += uint64(m.n)
		r.machines[idx] = m
	}
	var mx linkMaxima
	rowLen := w.row()
	prev = GUID{}
	for range nPerson {
		g, v, err := head(nURL, rowLen)
		if err != nil {
			return err
		}
		if v[3] > 0 && rowLen == 0 {
			return fail("person-URL rows of no bytes", off)
		}
		if _, dup := r.findPerson(&g); dup || g.IsZero() || !ordered(g) {
			return fail("repeated, zero or unordered person GUID", off-32)
		}
		idx := r.newPerson(g, 0)
		p := person{guid: g, first: v[0], last: v[1], usage: v[2], n: v[3]}
		if p.n > 0 {
			p.off, p.cap = r.personURLs.alloc(p.n)
		}
		blk := r.personBlock(&p)
		for k := range blk {
			var f [6]uint64
			at := off
			for i := range f {
				for j := 0; j < int(w[i]); j++ {
					f[i] |= uint64(data[at]) << (8 * j)
					at++
				}
			}
			for i := 3; i < 6; i++ {
				mx[i] = max(mx[i], f[i])
			}
			first := int64(p.first) + unzigzag(f[3])
			last := first + unzigzag(f[4])
			if f[0] >= uint64(nURL) || f[1] >= uint64(nMachine) || f[2] > uint64(nName) || f[5] > 1<<32-1 ||
				first < 0 || last < 0 || first > 1<<32-1 || last > 1<<32-1 ||
				containsURL(blk[:k], urlIDs[f[0]]) || f[0] > nextURL || f[2] > nextName+1 {
				return fail("person-URL out of range, repeated or not numbered by first use", off)
			}
			if f[0] == nextURL {
				nextURL++
			}
			if f[2] == nextName+1 {
				nextName++
			}
			pu := personURL{url: urlIDs[f[0]], machine: uint32(f[1]), first: uint32(first), last: uint32(last),
				usage: uint32(f[5]>>1) | uint32(f[5]&1)<<31}
			if f[2] > 0 {
				pu.name = nameIDs[f[2]-1]
				r.names.ents[pu.name].refs++
			}
			blk[k] = pu
			r.urls.ents[pu.url].refs++
			off = at
		}
		r.personLinks += uint64(p.n)
		p.urlBits = blockURLBits(blk)
		r.persons[idx] = p
	}
	if off != end {
		return fail("trailing bytes after the persons", off)
	}
	mx.setCounts(nURL, nMachine, nName)
	if mx.widths() != w {
		return fail("person-URL widths are not the fewest bytes that hold their values", start+24)
	}
	for _, t := range []*internTable{&r.urls, &r.names} {
		for id := 1; id < len(t.ents); id++ {
			if t.ents[id].refs == 0 && t.ents[id].n != 0 {
				return fail("unreferenced string", start)
			}
		}
	}
	return nil
}

func containsURL(blk []personURL, url uint32) bool {
	return slices.ContainsFunc(blk, func(pu personURL) bool { return pu.url == url })
}

// TestSnapshotV2StillLoads: a registry's version 2 snapshot (as earlier saves wrote it)
// loads into the same registry: its version 3 snapshot is the original's.
func TestSnapshotV2StillLoads(t *testing.T) {
	for seed := uint64(0); seed < 4; seed++ {
		r := busyRegistry(t, seed, []int{20, 300, 1000, 3000}[seed])
		v2 := referenceSnapshotV2(r, 9)
		if h, _, err := ParseSnapshotHeader(v2); err != nil || h.Version != 2 {
			t.Fatalf("reference v2 header: %+v %v", h, err)
		}
		got := New(Config{})
		seq, err := got.LoadSnapshot(v2)
		if err != nil || seq != 9 {
			t.Fatalf("seed %d: loading version 2: %v (seq %d)", seed, err, seq)
		}
		if err := got.checkInvariants(); err != nil {
			t.Fatal(err)
		}
		want, have := r.Stats(), got.Stats()
		want.Bytes, have.Bytes = 0, 0 // the tables' sizes depend on their history
		if !bytes.Equal(got.AppendSnapshot(nil, 9), r.AppendSnapshot(nil, 9)) || have != want {
			t.Fatalf("seed %d: the version 2 snapshot loaded another registry", seed)
		}
	}
}

// TestSnapshotV3Widths: each person-URL field takes the fewest bytes its values need, up to
// eight (a usage near 2^31 with EXPIRED, a first time years before or after the person's).
func TestSnapshotV3Widths(t *testing.T) {
	r := busyRegistry(t, 2, 300)
	snap := r.AppendSnapshot(nil, 1)
	w := linkWidths(snap[snapHeaderLen+24 : snapHeaderLen+30])
	if w[2] != 2 || w[5] != 1 || w[0] != 2 { // ~300 names, small usages, ~20K URLs
		t.Fatalf("widths %v", w)
	}
	var p *person
	for i := range r.persons {
		if r.persons[i].n > 0 {
			p = &r.persons[i]
			break
		}
	}
	blk := r.personBlock(p)
	blk[0].usage, blk[0].first, blk[0].last = usageMask|flagExpired, 0, 1<<32-1
	p.first = 1<<32 - 1
	snap = r.AppendSnapshot(nil, 1)
	w = linkWidths(snap[snapHeaderLen+24 : snapHeaderLen+30])
	if w[3] != 5 || w[4] != 5 || w[5] != 4 {
		t.Fatalf("widths %v after extreme values", w)
	}
	got := New(Config{})
	if _, err := got.LoadSnapshot(snap); err != nil || !bytes.Equal(got.AppendSnapshot(nil, 1), snap) {
		t.Fatalf("extreme values do not round-trip: %v", err)
	}
}
