package registry

import (
	"bytes"
	"slices"
)

// AppendNetdataDB appends the registry as the registry.db text today's netdata saves and
// loads (see netdata.go): every machine with its URLs, every person with theirs, then the
// totals line. Machines and persons come in GUID order, so the text depends only on the
// registry's contents, and each one's URLs newest first, as netdata writes its lists (and as
// answers list them; ImportNetdataDB reads them back in that order).
//
// URLs and names never hold a tab or a line end (cleaning made them spaces), so every record
// stays one line with its fields where netdata looks for them.
func (r *Registry) AppendNetdataDB(b []byte) []byte {
	// Fixed-width fields plus a typical URL: one allocation for most registries.
	b = slices.Grow(b, 66*(len(r.machines)+r.personIndex.count)+64*int(r.machLinks)+128*int(r.personLinks)+104)
	for _, mi := range r.machinesByGUID() {
		m := &r.machines[mi]
		b = appendNetdataEntity(b, 'M', m.first, m.last, m.usage, m.guid)
		blk := r.machineBlock(m)
		for i := len(blk) - 1; i >= 0; i-- {
			mu := &blk[i]
			b = appendNetdataTimes(b, 'V', mu.first, mu.last, mu.usage)
			b = append(b, r.urls.bytes(mu.url)...)
			b = append(b, '\n')
		}
	}
	for _, pi := range r.personsByGUID() {
		p := &r.persons[pi]
		b = appendNetdataEntity(b, 'P', p.first, p.last, p.usage, p.guid)
		blk := r.personBlock(p)
		for i := len(blk) - 1; i >= 0; i-- {
			pu := &blk[i]
			b = appendNetdataTimes(b, 'U', pu.first, pu.last, pu.usage)
			b = r.machines[pu.machine].guid.AppendText(b)
			b = append(b, '\t')
			b = append(b, r.names.bytes(pu.name)...)
			b = append(b, '\t')
			b = append(b, r.urls.bytes(pu.url)...)
			b = append(b, '\n')
		}
	}
	// netdata writes its usage count plus one ("lost on db rotation") and a URL count it no
	// longer keeps, 0.
	b = append(b, 'T')
	for _, v := range [6]uint64{uint64(r.personIndex.count), uint64(r.machineIndex.count),
		r.accesses + 1, 0, r.personLinks, r.machLinks} {
		b = append(b, '\t')
		b = appendHex(b, v, 16)
	}
	return append(b, '\n')
}

// appendNetdataEntity writes a P or M line.
func appendNetdataEntity(b []byte, kind byte, first, last, usage uint32, g GUID) []byte {
	b = append(b, kind, '\t')
	b = appendHex(b, uint64(first), 8)
	b = append(b, '\t')
	b = appendHex(b, uint64(last), 8)
	b = append(b, '\t')
	b = appendHex(b, uint64(usage&usageMask), 8)
	b = append(b, '\t')
	b = g.AppendText(b)
	return append(b, '\n')
}

// appendNetdataTimes writes the fields U and V lines share, up to the tab after the flags.
func appendNetdataTimes(b []byte, kind byte, first, last, usage uint32) []byte {
	b = append(b, kind, '\t')
	b = appendHex(b, uint64(first), 8)
	b = append(b, '\t')
	b = appendHex(b, uint64(last), 8)
	b = append(b, '\t')
	b = appendHex(b, uint64(usage&usageMask), 8)
	flags := uint64(0)
	if usage&flagExpired != 0 {
		flags = netdataExpired
	}
	b = append(b, '\t')
	b = appendHex(b, flags, 2)
	return append(b, '\t')
}

// appendHex writes v as exactly digits lower-case hex digits (printf's %0*x for values that
// fit).
func appendHex(b []byte, v uint64, digits int) []byte {
	for shift := (digits - 1) * 4; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[v>>uint(shift)&15])
	}
	return b
}

func (r *Registry) machinesByGUID() []uint32 {
	order := make([]uint32, len(r.machines))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(x, y uint32) int { return bytes.Compare(r.machines[x].guid[:], r.machines[y].guid[:]) })
	return order
}

func (r *Registry) personsByGUID() []uint32 {
	order := make([]uint32, 0, r.personIndex.count)
	for i := range r.persons {
		if !r.persons[i].guid.IsZero() {
			order = append(order, uint32(i))
		}
	}
	slices.SortFunc(order, func(x, y uint32) int { return bytes.Compare(r.persons[x].guid[:], r.persons[y].guid[:]) })
	return order
}
