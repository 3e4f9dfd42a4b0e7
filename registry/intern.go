package registry

import (
	"hash/maphash"
	"unsafe"
)

// internTable de-duplicates strings (URLs, names) into one byte arena and counts references,
// so a string shared by a million links is stored once and freed when its last link goes.
//
// # Notes
//
// Everything is pointer-free: the arena is one []byte, entries are plain structs, and the
// index is open addressing over uint64 slots (32 hash bits and the id), as guidIndex is, so
// the garbage collector never scans any of it, whatever its size. Against the Go map it
// replaced (hash -> first id of a chain) a lookup is one probe in a flat array instead of a
// runtime call (mapaccess was 6% of the module's time in test1, profiled under Node), and an
// entry costs 16 bytes plus 11-21 of index (slots 3/8 to 3/4 full) instead of 24 plus ~24 (a
// map[uint64]uint32 at 400K entries). Id 0 is reserved for the empty string, which is never
// stored or counted.
type internTable struct {
	seed  maphash.Seed
	arena []byte
	ents  []internEnt // by id; ents[0] unused
	free  []uint32    // ids of freed entries, reused first
	slots []uint64    // 0 empty, else hash<<32 | id
	holes int         // arena bytes no live entry uses
	live  int         // number of live entries
	gen   uint32      // counts compactions: arena offsets kept outside are stale after one
}

type internEnt struct {
	off, n uint32
	refs   uint32 // 0 for a free entry
	hash   uint32
}

func newInternTable() internTable {
	return internTable{seed: maphash.MakeSeed(), ents: make([]internEnt, 1), slots: make([]uint64, 16)}
}

func (t *internTable) bytes(id uint32) []byte {
	e := &t.ents[id]
	return t.arena[e.off : e.off+e.n : e.off+e.n]
}

func (t *internTable) str(id uint32) string {
	if id == 0 {
		return ""
	}
	return string(t.bytes(id))
}

// hash is the 32 bits of s's hash that entries and slots keep.
func (t *internTable) hash(s []byte) uint32 {
	h := maphash.Bytes(t.seed, s)
	return uint32(h ^ h>>32)
}

// find returns the id of s, or 0.
func (t *internTable) find(s []byte) uint32 {
	if len(s) == 0 {
		return 0
	}
	id, _ := t.lookup(s, t.hash(s))
	return id
}

// lookup returns the id of s (0 if absent) and the slot where s is or would go.
func (t *internTable) lookup(s []byte, h uint32) (id uint32, slot int) {
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		v := t.slots[i]
		if v == 0 {
			return 0, i
		}
		if uint32(v>>32) == h && sameBytes(t.bytes(uint32(v)), s) {
			return uint32(v), i
		}
	}
}

// ref returns the id of s, adding s if needed, and counts one more reference to it.
func (t *internTable) ref(s []byte) uint32 {
	id, added := t.put(s, 1)
	if !added {
		t.addRef(id)
	}
	return id
}

// addNew adds s, unless it is empty or present, with no reference counted yet (a snapshot's
// strings, whose links come later). It returns the id, or 0 when it added nothing.
func (t *internTable) addNew(s []byte) uint32 {
	if id, added := t.put(s, 0); added {
		return id
	}
	return 0
}

// put returns the id of s, adding it with refs references if it is not present (added).
// The empty string is id 0, never added.
func (t *internTable) put(s []byte, refs uint32) (id uint32, added bool) {
	if len(s) == 0 {
		return 0, false
	}
	h := t.hash(s)
	id, slot := t.lookup(s, h)
	if id != 0 {
		return id, false
	}
	return t.add(s, h, slot, refs), true
}

// add stores s, which is not present, with hash h and refs references; slot is where the
// lookup for s ended.
func (t *internTable) add(s []byte, h uint32, slot int, refs uint32) uint32 {
	if (t.live+1)*4 > len(t.slots)*3 {
		t.resize(len(t.slots) * 2)
		_, slot = t.lookup(s, h)
	}
	var id uint32
	if n := len(t.free); n > 0 {
		id = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		id = uint32(len(t.ents))
		t.ents = append(t.ents, internEnt{})
	}
	t.ents[id] = internEnt{off: uint32(len(t.arena)), n: uint32(len(s)), refs: refs, hash: h}
	t.arena = append(t.arena, s...)
	t.slots[slot] = uint64(h)<<32 | uint64(id)
	t.live++
	return id
}

func (t *internTable) resize(n int) {
	old := t.slots
	t.slots = make([]uint64, n)
	mask := n - 1
	for _, v := range old {
		if v == 0 {
			continue
		}
		i := int(v>>32) & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = v
	}
}

// reserve makes room for n strings in the index, if empty, so that adding them does not
// resize it step by step. The size is the one adding them would reach (memory stats do not
// depend on the way). Callers with a count from untrusted data cap it: the room is taken
// before the data is read.
func (t *internTable) reserve(n int) {
	if t.live > 0 {
		return
	}
	size := len(t.slots)
	for n*4 > size*3 {
		size *= 2
	}
	if size > len(t.slots) {
		t.slots = make([]uint64, size)
	}
}

// addRef counts one more reference to an existing id.
func (t *internTable) addRef(id uint32) {
	if id != 0 {
		t.ents[id].refs++
	}
}

// unref drops one reference and frees the string when none is left.
func (t *internTable) unref(id uint32) {
	if id == 0 {
		return
	}
	e := &t.ents[id]
	if e.refs--; e.refs > 0 {
		return
	}
	t.removeSlot(e.hash, id)
	t.holes += int(e.n)
	*e = internEnt{}
	t.free = append(t.free, id)
	t.live--
	if t.holes > 1<<16 && t.holes > len(t.arena)/2 {
		t.compactArena()
	}
}

// removeSlot deletes id's slot by backward-shift deletion, so no tombstones slow later
// lookups (as guidIndex.remove).
func (t *internTable) removeSlot(h, id uint32) {
	mask := len(t.slots) - 1
	want := uint64(h)<<32 | uint64(id)
	i := int(h) & mask
	for t.slots[i] != want {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		v := t.slots[j]
		if v == 0 {
			break
		}
		home := int(v>>32) & mask
		// Move v back into the hole at i unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			t.slots[i] = v
			i = j
		}
	}
	t.slots[i] = 0
}

// compactArena drops the bytes of freed strings. Ids do not change.
func (t *internTable) compactArena() {
	arena := make([]byte, 0, len(t.arena)-t.holes)
	for id := range t.ents {
		e := &t.ents[id]
		if e.refs == 0 {
			continue
		}
		off := uint32(len(arena))
		arena = append(arena, t.arena[e.off:e.off+e.n]...)
		e.off = off
	}
	t.arena, t.holes = arena, 0
	t.gen++
}

// memBytes is the table's memory: arena, entries, free list and index.
func (t *internTable) memBytes() int {
	return cap(t.arena) + cap(t.ents)*int(unsafe.Sizeof(internEnt{})) + cap(t.free)*4 + cap(t.slots)*8
}
