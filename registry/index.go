package registry

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
)

// guidIndex maps GUIDs to table indexes (persons or machines) with open addressing.
//
// # Notes
//
// A slot holds the index (plus one) and 32 bits of the GUID's hash, 8 bytes. The hash bits
// place the slot (its home is hash & mask) and filter the probe: a slot whose bits differ is
// passed without reading its record, so a lookup reads one record, the one it is after, with
// one cache miss (comparing every probed slot's GUID cost a miss per probe, ~13% of test1's
// time at 20K persons). Resizing and removal need no record either. Against a Go map keyed by
// GUID this saves a cache miss per lookup and ~26 bytes per entry. The hash is seeded per
// registry, so clients cannot choose GUIDs that collide.
type guidIndex struct {
	slots []uint64 // 0 empty, else hash<<32 | index+1
	count int
	k0    uint64
	k1    uint64
}

func newGUIDIndex() guidIndex {
	s := maphash.MakeSeed()
	k0 := maphash.Comparable(s, uint64(0x9e3779b97f4a7c15))
	k1 := maphash.Comparable(s, uint64(0xc2b2ae3d27d4eb4f)) | 1
	return guidIndex{slots: make([]uint64, 64), k0: k0, k1: k1}
}

// hash is the 32 bits of g's hash a slot keeps.
func (x *guidIndex) hash(g *GUID) uint64 {
	a := word(g[:8]) ^ x.k0
	b := word(g[8:]) ^ x.k1
	hi, lo := bits.Mul64(a, b)
	h := hi ^ lo
	return (h ^ h>>32) & 0xffffffff
}

// find returns the index of g; guidAt reads the GUID of a table index.
func (x *guidIndex) find(g *GUID, guidAt func(uint32) *GUID) (uint32, bool) {
	return x.finish(x.begin(g), g, guidAt)
}

// probe is a lookup begun: the GUID's hash, its home slot and that slot's contents.
//
// # Notes
//
// On a large registry both the slot and the record it names are cache misses. access begins
// the person's and the machine's lookups before finishing either, so that the two slot misses
// overlap instead of following one another.
type probe struct{ h, i, s uint64 }

func (x *guidIndex) begin(g *GUID) probe {
	h := x.hash(g)
	i := h & uint64(len(x.slots)-1)
	return probe{h, i, x.slots[i]}
}

// finish completes a lookup begun with begin (the index unchanged since).
func (x *guidIndex) finish(p probe, g *GUID, guidAt func(uint32) *GUID) (uint32, bool) {
	mask := uint64(len(x.slots) - 1)
	for i, s := p.i, p.s; s != 0; s = x.slots[i] {
		if s>>32 == p.h && guidAt(uint32(s)-1).equal(g) {
			return uint32(s) - 1, true
		}
		i = (i + 1) & mask
	}
	return 0, false
}

// insert adds idx for g, which must not be present.
func (x *guidIndex) insert(g *GUID, idx uint32) {
	if (x.count+1)*4 > len(x.slots)*3 {
		x.resize(len(x.slots) * 2)
	}
	h := x.hash(g)
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = h<<32 | uint64(idx+1)
	x.count++
}

// reserve sizes the table for n entries, so that inserting them never resizes it. The size
// is the one that inserting them would reach (memory stats do not depend on the way).
func (x *guidIndex) reserve(n int) {
	size := len(x.slots)
	for n*4 > size*3 {
		size *= 2
	}
	if size > len(x.slots) {
		x.resize(size)
	}
}

// insertNew adds idx for g unless g is present, in one probe; it reports whether it added.
func (x *guidIndex) insertNew(g *GUID, idx uint32, guidAt func(uint32) *GUID) bool {
	if (x.count+1)*4 > len(x.slots)*3 {
		x.resize(len(x.slots) * 2)
	}
	h := x.hash(g)
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for ; x.slots[i] != 0; i = (i + 1) & mask {
		if s := x.slots[i]; s>>32 == h && guidAt(uint32(s)-1).equal(g) {
			return false
		}
	}
	x.slots[i] = h<<32 | uint64(idx+1)
	x.count++
	return true
}

func (x *guidIndex) resize(n int) {
	old := x.slots
	x.slots = make([]uint64, n)
	mask := uint64(n - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := s >> 32 & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}

// remove deletes g (which must be present, its record still readable) by backward-shift
// deletion, so no tombstones slow later lookups.
func (x *guidIndex) remove(g *GUID, guidAt func(uint32) *GUID) {
	h := x.hash(g)
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for s := x.slots[i]; s>>32 != h || !guidAt(uint32(s)-1).equal(g); s = x.slots[i] {
		i = (i + 1) & mask
	}
	x.count--
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := x.slots[j]
		if s == 0 {
			break
		}
		home := s >> 32 & mask
		// Move s back into the hole at i unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i] = s
			i = j
		}
	}
	x.slots[i] = 0
}

func (x *guidIndex) memBytes() int { return cap(x.slots) * 8 }

// sortByGUID returns the indexes i < n with keep(i), in the order of guid(i), using keys and
// tmp (n long at least) as scratch. The GUIDs are copied as two big-endian words first:
// sorting them costs no cache miss into the table per comparison.
func sortByGUID(n int, guid func(uint32) *GUID, keep func(int) bool, keys, tmp []sortKey, p *pace) []uint32 {
	keys = keys[:0]
	for i := 0; i < n; i++ {
		if i&4095 == 0 {
			p.step(4096)
		}
		if keep(i) {
			g := guid(uint32(i))
			keys = append(keys, sortKey{binary.BigEndian.Uint64(g[:8]), binary.BigEndian.Uint64(g[8:]), uint32(i)})
		}
	}
	out := make([]uint32, len(keys))
	for i, k := range radixSort(keys, tmp, p) {
		out[i] = k.idx
	}
	return out
}

// sortKey is a 128-bit key, hi:lo, and what it sorts.
type sortKey struct {
	hi, lo uint64
	idx    uint32
}

// radixSort sorts keys by hi:lo and returns them sorted, in keys or in tmp (as long).
//
// # Notes
//
// Least significant digit first, 16 bits a pass, skipping the digits that all keys share
// (the high words of small numbers, the creation time that starts every person GUID): at a
// million keys it takes a few passes over the array, ~3x faster than a comparison sort, and
// has no bad case. A few keys are sorted by insertion. (Not slices.SortFunc: each of its
// instantiations adds ~25 KB to the WebAssembly module.)
func radixSort(keys, tmp []sortKey, p *pace) []sortKey {
	if len(keys) < 64 {
		for i := 1; i < len(keys); i++ {
			for j := i; j > 0 && (keys[j].hi < keys[j-1].hi || keys[j].hi == keys[j-1].hi && keys[j].lo < keys[j-1].lo); j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
			}
		}
		return keys
	}
	var hi, lo uint64 // the bits where some key differs from the first
	for _, k := range keys {
		hi, lo = hi|(k.hi^keys[0].hi), lo|(k.lo^keys[0].lo)
	}
	tmp = tmp[:len(keys)]
	count := make([]int, 1<<16)
	for d := range 8 {
		word, shift := lo, 16*(d%4)
		if d >= 4 {
			word = hi
		}
		if word>>shift&0xffff == 0 {
			continue
		}
		digit := func(k *sortKey) uint64 {
			if d >= 4 {
				return k.hi >> shift & 0xffff
			}
			return k.lo >> shift & 0xffff
		}
		clear(count)
		for i := range keys {
			count[digit(&keys[i])]++
		}
		p.step(len(keys))
		sum := 0
		for v, c := range count {
			count[v], sum = sum, sum+c
		}
		for i := range keys {
			if i&4095 == 0 {
				p.step(4096)
			}
			v := digit(&keys[i])
			tmp[count[v]] = keys[i]
			count[v]++
		}
		keys, tmp = tmp, keys
	}
	return keys
}
