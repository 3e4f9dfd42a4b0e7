package registry

import "hash/maphash"

// internTable de-duplicates strings (URLs, names) into one byte arena and counts references,
// so a string shared by a million links is stored once and freed when its last link goes.
//
// # Notes
//
// Everything is pointer-free: the arena is one []byte, entries are plain structs, and the
// index maps a 64-bit hash to the first entry of a collision chain. The garbage collector
// never scans any of it, whatever its size. Id 0 is reserved for the empty string, which is
// never stored or counted.
type internTable struct {
	seed   maphash.Seed
	arena  []byte
	ents   []internEnt // by id; ents[0] unused
	free   []uint32    // ids of freed entries, reused first
	index  map[uint64]uint32
	holes  int // arena bytes no live entry uses
	live   int // number of live entries
	maxLen int
}

type internEnt struct {
	off, n uint32
	refs   uint32 // 0 for a free entry
	next   uint32 // next id with the same hash, 0 ends the chain
	hash   uint64
}

func newInternTable() internTable {
	return internTable{seed: maphash.MakeSeed(), ents: make([]internEnt, 1), index: map[uint64]uint32{}}
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

// find returns the id of s, or 0.
func (t *internTable) find(s []byte) uint32 {
	if len(s) == 0 {
		return 0
	}
	return t.findHash(s, maphash.Bytes(t.seed, s))
}

func (t *internTable) findHash(s []byte, h uint64) uint32 {
	for id := t.index[h]; id != 0; id = t.ents[id].next {
		if string(t.bytes(id)) == string(s) {
			return id
		}
	}
	return 0
}

// ref returns the id of s, adding s if needed, and counts one more reference to it.
func (t *internTable) ref(s []byte) uint32 {
	if len(s) == 0 {
		return 0
	}
	h := maphash.Bytes(t.seed, s)
	if id := t.findHash(s, h); id != 0 {
		t.ents[id].refs++
		return id
	}
	return t.add(s, h, 1)
}

// addNew adds s, unless it is empty or present, with no reference counted yet (a snapshot's
// strings, whose links come later). It returns the id, or 0 when it added nothing.
func (t *internTable) addNew(s []byte) uint32 {
	if len(s) == 0 {
		return 0
	}
	h := maphash.Bytes(t.seed, s)
	if t.findHash(s, h) != 0 {
		return 0
	}
	return t.add(s, h, 0)
}

// add stores s, which is not present, with hash h and refs references.
func (t *internTable) add(s []byte, h uint64, refs uint32) uint32 {
	var id uint32
	if n := len(t.free); n > 0 {
		id = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		id = uint32(len(t.ents))
		t.ents = append(t.ents, internEnt{})
	}
	t.ents[id] = internEnt{off: uint32(len(t.arena)), n: uint32(len(s)), refs: refs, next: t.index[h], hash: h}
	t.arena = append(t.arena, s...)
	t.index[h] = id
	t.live++
	return id
}

// reserve makes room for n strings in the index, if empty, so that adding them does not
// grow it step by step. (The entries grow as before: their capacity is in the memory stats.)
// Callers with a count from untrusted data cap it: the room is taken before the data is read.
func (t *internTable) reserve(n int) {
	if len(t.index) == 0 {
		t.index = make(map[uint64]uint32, n)
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
	// Unlink from its hash chain.
	if head := t.index[e.hash]; head == id {
		if e.next == 0 {
			delete(t.index, e.hash)
		} else {
			t.index[e.hash] = e.next
		}
	} else {
		for p := head; p != 0; p = t.ents[p].next {
			if t.ents[p].next == id {
				t.ents[p].next = e.next
				break
			}
		}
	}
	t.holes += int(e.n)
	*e = internEnt{}
	t.free = append(t.free, id)
	t.live--
	if t.holes > 1<<16 && t.holes > len(t.arena)/2 {
		t.compactArena()
	}
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
}

// memBytes estimates the table's memory: arena, entries and index.
func (t *internTable) memBytes() int {
	return cap(t.arena) + cap(t.ents)*28 + cap(t.free)*4 + len(t.index)*24
}
