package registry

// blockArena stores many small variable-length arrays of a pointer-free T (a person's URLs, a
// machine's URLs) in large fixed-size chunks, addressed by a uint32 offset.
//
// # Notes
//
// One Go slice per person would cost the garbage collector a pointer to trace per person and
// let the heap grow to twice the live data between cycles. Here the whole table is a few
// hundred chunk allocations with no pointers inside, growth never copies existing chunks, and
// blocks come in size classes 1, 2, 3, 4, 6, 8, 12, 16, ... (about 1.5x apart) so the slack in
// a block averages ~17%. Freed blocks go to per-class free lists; when free space passes a
// ninth of the arena, compact slides live blocks down in place (no second copy of the data).
//
// Free space builds up fast: persons gain URLs at about the same pace, so a class that all of
// them have outgrown is freed and never asked for again. The arena before a compaction is the
// most memory the registry ever needs, and in WebAssembly linear memory never shrinks: with
// compaction once free space reached half the live size (the first rule), full test1 peaked at
// 41M elements for 27M live and the module's memory at 1.2 GiB; at a quarter, 8 compactions
// instead of 4 and 1000 MiB; at an eighth (now), 924 MiB and req/s the same within noise
// (926 MiB in BENCHMARKS.md's latest full run, with machine-URLs 32 bytes larger). A
// compaction is cheap: BenchmarkCompact moves half a million 20-URL blocks in 9 ms natively
// and 24 ms in the module.
type blockArena[T any] struct {
	chunks    [][]T
	tail      uint32       // next unused offset; chunks beyond it are not allocated
	free      [62][]uint32 // class 61 is 2^31 elements; 62 would overflow
	freeElems uint64
	liveElems uint64
	// chunkElems and freeCap keep memBytes at hand: the memory budget reads it on every
	// access that adds an entry (see budget.go), too often to sum the chunks each time.
	chunkElems uint64 // the sum of min(len(chunk), chunkLen) over the chunks
	freeCap    uint64 // the sum of cap(free[c])
	maxCap     uint32 // the largest block ever allocated, which bounds the next (maxGrowth)
}

const (
	chunkShift  = 16
	chunkLen    = 1 << chunkShift
	chunkMask   = chunkLen - 1
	smallChunks = 8 // chunks that start small (carve)
)

// classSize is the capacity of size class c.
func classSize(c int) uint32 {
	if c == 0 {
		return 1
	}
	if c&1 == 1 {
		return 1 << ((c + 1) / 2)
	}
	return 3 << (c/2 - 1)
}

// classFor returns the smallest class holding n elements.
func classFor(n uint32) int {
	c := 0
	for classSize(c) < n {
		c++
	}
	return c
}

// block returns the n elements at off.
func (a *blockArena[T]) block(off, n uint32) []T {
	o := off & chunkMask
	return a.chunks[off>>chunkShift][o : o+n : o+n]
}

// alloc reserves a block for at least n elements and returns its offset and capacity.
func (a *blockArena[T]) alloc(n uint32) (off, capacity uint32) {
	c := classFor(n)
	size := classSize(c)
	a.liveElems += uint64(size)
	a.maxCap = max(a.maxCap, size)
	if l := len(a.free[c]); l > 0 {
		off = a.free[c][l-1]
		a.free[c] = a.free[c][:l-1]
		a.freeElems -= uint64(size)
		return off, size
	}
	return a.carve(size), size
}

// carve takes size elements from the tail, starting a new chunk (or a run of chunks for a
// block larger than one) when the current one cannot hold them.
func (a *blockArena[T]) carve(size uint32) uint32 {
	room := uint32(len(a.chunks))<<chunkShift - a.tail
	if size <= room && (size <= chunkLen || a.tail&chunkMask == 0) {
		off := a.tail
		a.tail += size
		a.reserve(off, size)
		return off
	}
	if end := uint32(len(a.chunks)) << chunkShift; a.tail < end {
		a.reserve(a.tail, end-a.tail) // the rest of the chunk must exist to be handed out
		a.freeRange(a.tail, end)
	}
	a.tail = uint32(len(a.chunks)) << chunkShift
	off := a.tail
	if size <= chunkLen {
		// The first chunks start small and grow by doubling up to chunkLen (reserve), so a
		// small registry does not pay for a full chunk. Later ones are full at once: each
		// doubling leaves the old copy as garbage, as much garbage as the arena grows, and
		// garbage is what sets the Go heap's size between collections.
		n := max(size, 64)
		if len(a.chunks) >= smallChunks {
			n = chunkLen
		}
		a.chunks = append(a.chunks, make([]T, n))
		a.chunkElems += uint64(n)
	} else {
		n := (size + chunkMask) >> chunkShift
		big := make([]T, n<<chunkShift)
		for i := uint32(0); i < n; i++ {
			a.chunks = append(a.chunks, big[i<<chunkShift:])
		}
		a.chunkElems += uint64(n) << chunkShift
	}
	a.tail += size
	return off
}

// reserve makes sure the chunk holding [off, off+size) is long enough. Only the last
// chunk can be short; growing it copies at most half a chunk.
func (a *blockArena[T]) reserve(off, size uint32) {
	c := &a.chunks[off>>chunkShift]
	end := int(off&chunkMask + size)
	if end <= len(*c) {
		return
	}
	grown := make([]T, min(max(end, 2*len(*c)), chunkLen))
	copy(grown, *c)
	a.chunkElems += uint64(len(grown) - len(*c))
	*c = grown
}

// freeRange gives the unused elements [from, to) of one chunk to the free lists, largest
// classes first.
func (a *blockArena[T]) freeRange(from, to uint32) {
	for c := classFor(chunkLen); c >= 0 && from < to; {
		if s := classSize(c); s <= to-from {
			a.pushFree(c, from)
			a.freeElems += uint64(s)
			from += s
			continue
		}
		c--
	}
}

// release returns a block to its class's free list.
func (a *blockArena[T]) release(off, capacity uint32) {
	c := classFor(capacity)
	a.pushFree(c, off)
	a.freeElems += uint64(capacity)
	a.liveElems -= uint64(capacity)
}

// pushFree adds a free block of class c at off.
func (a *blockArena[T]) pushFree(c int, off uint32) {
	before := cap(a.free[c])
	a.free[c] = append(a.free[c], off)
	a.freeCap += uint64(cap(a.free[c]) - before)
}

// grow moves the n elements at off (capacity cp) to a block for at least want elements.
func (a *blockArena[T]) grow(off, n, cp, want uint32) (newOff, newCap uint32) {
	newOff, newCap = a.alloc(want)
	if n > 0 {
		copy(a.block(newOff, n), a.block(off, n))
	}
	if cp > 0 {
		a.release(off, cp)
	}
	return newOff, newCap
}

// needsCompaction reports whether free blocks waste more than a ninth of the arena.
func (a *blockArena[T]) needsCompaction() bool {
	return a.freeElems > 1<<20 && a.freeElems*8 > a.liveElems
}

// blockRef names one live block for compact: its owner's index, offset and capacity.
type blockRef struct{ owner, off, capacity uint32 }

// compact slides every live block in refs toward offset 0, in offset order, then frees the
// chunks left empty. moved is told each block's new offset.
//
// Sliding in place is safe: placing the same blocks in the same order with fewer gaps never
// puts a block after where it was, so each copy moves data down (copy is a memmove).
func (a *blockArena[T]) compact(refs []blockRef, moved func(owner, off uint32)) {
	refs = sortByOffset(refs)
	a.free = [len(a.free)][]uint32{}
	a.freeElems, a.freeCap = 0, 0
	var cur uint32
	for _, r := range refs {
		if r.capacity > chunkLen {
			// A block spanning chunks keeps its own memory: it never moves, and the chunks
			// between the cursor and it stay in use through the free lists.
			for cur < r.off {
				end := min((cur|chunkMask)+1, r.off)
				a.freeRange(cur, end)
				cur = end
			}
			// Blocks carved after it in the run's last chunk follow it there: skipping to
			// the next chunk would move them up, over blocks not moved yet.
			moved(r.owner, r.off)
			cur = r.off + r.capacity
			continue
		}
		if cur&chunkMask+r.capacity > chunkLen {
			cur = (cur + chunkMask) &^ chunkMask
		}
		if cur != r.off {
			copy(a.block(cur, r.capacity), a.block(r.off, r.capacity))
		}
		moved(r.owner, cur)
		cur += r.capacity
	}
	used := (cur + chunkMask) >> chunkShift
	for i := used; i < uint32(len(a.chunks)); i++ {
		a.chunks[i] = nil
	}
	a.chunks = a.chunks[:used]
	a.tail = cur
	a.chunkElems = 0
	for _, c := range a.chunks {
		a.chunkElems += uint64(min(len(c), chunkLen))
	}
}

// memBytes is the arena's memory: allocated chunks (a run of chunks that holds a large
// block counts each of its chunks once) plus free-list bookkeeping.
func (a *blockArena[T]) memBytes(elemSize int) int {
	return int(a.chunkElems)*elemSize + int(a.freeCap)*4
}

// sortByOffset sorts refs by offset, in place: a radix sort of two 16-bit passes. (At a
// million persons slices.SortFunc took most of a compaction's 0.75 s in the module.)
func sortByOffset(refs []blockRef) []blockRef {
	tmp := make([]blockRef, len(refs))
	count := make([]int, 1<<16)
	for shift := 0; shift < 32; shift += 16 {
		clear(count)
		for _, r := range refs {
			count[r.off>>shift&0xffff]++
		}
		sum := 0
		for i, c := range count {
			count[i], sum = sum, sum+c
		}
		for _, r := range refs {
			d := r.off >> shift & 0xffff
			tmp[count[d]] = r
			count[d]++
		}
		refs, tmp = tmp, refs
	}
	return refs
}
