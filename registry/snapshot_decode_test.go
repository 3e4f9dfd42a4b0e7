package registry

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// referenceLoad is LoadSnapshot with the decoders as first written (referenceDecode for
// version 2, referenceDecodeV3): one value at a time, string ids looked up, refs counted in
// the tables, repeated URLs found by sorting. The decoders must accept and reject exactly
// what they do, with the same error (message and offset), and load the same registry.
func referenceLoad(data []byte) (*Registry, uint64, error) {
	h, body, err := snapshotBody(data, true)
	if err != nil {
		return nil, 0, err
	}
	r := New(Config{})
	start := len(data) - snapTrailer - len(body)
	if h.Version >= 3 {
		err = referenceDecodeV3(r, data, start, start+len(body))
	} else {
		err = referenceDecode(r, body, start)
	}
	return r, h.Seq, err
}

// sortedRepeats is the reference's check for a URL listed twice in a block: by sorting.
func sortedRepeats[T any](blk []T, url func(T) uint32, scratch *[]uint32) bool {
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

func referenceDecode(r *Registry, body []byte, base int) error {
	d := &decoder{b: body, base: base}
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
			r.setSpan(&blk[k])
			r.urls.ents[u].refs++
		}
		if sortedRepeats(blk, func(mu machineURL) uint32 { return mu.url }, &scratch) {
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
		if sortedRepeats(blk, func(pu personURL) uint32 { return pu.url }, &scratch) {
			d.fail("person lists a URL twice")
		}
		r.personLinks += uint64(n)
		p.urlBits = blockURLBits(blk)
		r.persons[idx] = p
	}
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes after the persons")
	}
	if d.err != nil {
		return d.err
	}
	// Strings that nothing references would be leaks; the format never writes them.
	for _, t := range []*internTable{&r.urls, &r.names} {
		for id := 1; id < len(t.ents); id++ {
			if t.ents[id].refs == 0 && t.ents[id].n != 0 {
				return corruptAt("unreferenced string", d.base)
			}
		}
	}
	return nil
}

// sameLoad fails t unless LoadSnapshot and referenceLoad agree on data.
func sameLoad(t *testing.T, data []byte) {
	t.Helper()
	want, wantSeq, wantErr := referenceLoad(data)
	got := New(Config{})
	seq, err := got.LoadSnapshot(data)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("LoadSnapshot: %v, the reference decoder: %v", err, wantErr)
	}
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && err.Error() != "registry: corrupt snapshot: unreferenced string" {
			t.Fatalf("unexpected kind of error %v", err)
		}
		return
	}
	if err := got.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	if seq != wantSeq || got.Stats() != want.Stats() || !bytes.Equal(got.AppendSnapshot(nil, seq), want.AppendSnapshot(nil, seq)) {
		t.Fatalf("loaded %+v (seq %d), the reference decoder %+v (seq %d)", got.Stats(), seq, want.Stats(), wantSeq)
	}
}

// TestDecodeMatchesReference loads valid snapshots and damaged ones (a few bytes changed,
// inserted or removed anywhere, the checksum made right again, so the damage reaches the
// decoder) with both decoders.
func TestDecodeMatchesReference(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 5))
	trials := 120
	if testing.Short() {
		trials = 50
	}
	for seed := uint64(0); seed < 8; seed++ {
		r := busyRegistry(t, seed%4, []int{20, 200, 800, 2000}[seed%4])
		version, snap := 3, r.AppendSnapshot(nil, seed)
		if seed >= 4 {
			version, snap = 2, referenceSnapshotV2(r, seed)
		}
		sameLoad(t, snap)
		body := snap[snapHeaderLen : len(snap)-snapTrailer]
		for i := 0; i < trials; i++ {
			b := bytes.Clone(body)
			for k := 1 + rnd.IntN(3); k > 0; k-- {
				// Aim at the persons half of the time: it is the bulk, and has the fast path.
				at := rnd.IntN(len(b))
				if rnd.IntN(2) == 0 {
					at = len(b) - 1 - rnd.IntN(len(b)/3)
				}
				switch rnd.IntN(7) {
				case 6: // a varint that never ends
					copy(b[at:], bytes.Repeat([]byte{0xff}, 11))
				case 0:
					b = append(b[:at:at], b[at+1:]...)
				case 1:
					b = append(b[:at:at], append([]byte{byte(rnd.IntN(256))}, b[at:]...)...)
				case 2:
					b[at] ^= 0x80
				default:
					b[at] = byte(rnd.IntN(256))
				}
			}
			sameLoad(t, sealSnapshotVersion(b, version))
		}
	}
}

// TestDecodeMatchesReferenceCrafted loads snapshots of registries broken on purpose, in
// ways the encoder does not check and random damage rarely makes.
func TestDecodeMatchesReferenceCrafted(t *testing.T) {
	for seed := uint64(0); seed < 3; seed++ {
		r := busyRegistry(t, seed, 500)
		var short, long *person // a person with 2..16 URLs, and one with more
		for i := range r.persons {
			switch p := &r.persons[i]; {
			case p.n >= 2 && p.n <= 16 && short == nil:
				short = p
			case p.n > 16 && long == nil:
				long = p
			}
		}
		both := func() {
			sameLoad(t, r.AppendSnapshot(nil, 1))
			sameLoad(t, referenceSnapshotV2(r, 1))
		}
		for _, p := range []*person{short, long} {
			if p == nil {
				continue
			}
			blk := r.personBlock(p)
			for _, k := range []int{1, len(blk) - 1} {
				saved := blk[k].url
				blk[k].url = blk[k-1].url // a person listing a URL twice
				both()
				blk[k].url = saved
			}
		}
		for _, g := range []GUID{r.persons[0].guid, {}} {
			saved := r.persons[1].guid
			r.persons[1].guid = g // a repeated or zero GUID
			both()
			r.persons[1].guid = saved
		}
		both()
	}
}

// FuzzDecodeMatchesReference: any sealed body loads the same way with both decoders.
func FuzzDecodeMatchesReference(f *testing.F) {
	r := busyRegistry(f, 1, 100)
	for v, snap := range map[byte][]byte{3: r.AppendSnapshot(nil, 3), 2: referenceSnapshotV2(r, 3)} {
		f.Add(v, snap[snapHeaderLen:len(snap)-snapTrailer])
	}
	f.Fuzz(func(t *testing.T, version byte, body []byte) {
		sameLoad(t, sealSnapshotVersion(body, 2+int(version%2)))
	})
}
