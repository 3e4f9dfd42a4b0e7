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
// A slot holds only the index (plus one), 4 bytes, and the key check reads the GUID from the
// record itself, which the caller is about to read anyway. Against a Go map keyed by GUID this
// saves one cache miss per lookup and ~30 bytes per entry. The hash is seeded per registry, so
// clients cannot choose GUIDs that collide.
type guidIndex struct {
	slots []uint32 // 0 empty, else index+1
	count int
	k0    uint64
	k1    uint64
}

func newGUIDIndex() guidIndex {
	s := maphash.MakeSeed()
	k0 := maphash.Comparable(s, uint64(0x9e3779b97f4a7c15))
	k1 := maphash.Comparable(s, uint64(0xc2b2ae3d27d4eb4f)) | 1
	return guidIndex{slots: make([]uint32, 64), k0: k0, k1: k1}
}

func (x *guidIndex) hash(g *GUID) uint64 {
	a := binary.LittleEndian.Uint64(g[:8]) ^ x.k0
	b := binary.LittleEndian.Uint64(g[8:]) ^ x.k1
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// find returns the index of g; guidAt reads the GUID of a table index.
func (x *guidIndex) find(g *GUID, guidAt func(uint32) *GUID) (uint32, bool) {
	mask := uint64(len(x.slots) - 1)
	for i := x.hash(g) & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if *guidAt(s - 1) == *g {
			return s - 1, true
		}
	}
}

// insert adds idx for g, which must not be present.
func (x *guidIndex) insert(g *GUID, idx uint32, guidAt func(uint32) *GUID) {
	if (x.count+1)*4 > len(x.slots)*3 {
		x.resize(len(x.slots)*2, guidAt)
	}
	mask := uint64(len(x.slots) - 1)
	i := x.hash(g) & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = idx + 1
	x.count++
}

func (x *guidIndex) resize(n int, guidAt func(uint32) *GUID) {
	old := x.slots
	x.slots = make([]uint32, n)
	mask := uint64(n - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := x.hash(guidAt(s-1)) & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}

// remove deletes g (which must be present, its record still readable) by backward-shift
// deletion, so no tombstones slow later lookups.
func (x *guidIndex) remove(g *GUID, guidAt func(uint32) *GUID) {
	mask := uint64(len(x.slots) - 1)
	i := x.hash(g) & mask
	for *guidAt(x.slots[i] - 1) != *g {
		i = (i + 1) & mask
	}
	x.count--
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := x.slots[j]
		if s == 0 {
			break
		}
		home := x.hash(guidAt(s-1)) & mask
		// Move s back into the hole at i unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i] = s
			i = j
		}
	}
	x.slots[i] = 0
}

func (x *guidIndex) memBytes() int { return cap(x.slots) * 4 }
