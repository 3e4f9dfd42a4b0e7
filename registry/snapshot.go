package registry

import (
	"encoding/binary"
	"hash/crc32"
	"runtime"
	"sync"
)

// Snapshot format. Saves write version 3: the header (snapshot_header.go), a body of the
// tables' rows at fixed widths (snapshot_v3.go), and the trailer:
//
//	trailer  body length u64le | crc32c of everything before u32le | "RWEND!" 0x00 0x00
//
// Version 2, still read, had the same header and trailer and a body of uvarints:
//
//	accesses
//	strings  URL count, then length+bytes each | name count, then length+bytes each
//	machines count, then each: guid[16] first last usage murls, each: url first last usage
//	persons  count, then each: guid[16] first last usage purls, each:
//	         url machine name first-delta last-delta usage
//
// Version 1 had an 8-byte magic and seq for header and version 2's body.
// In every version machines and persons are written in GUID order, strings in the order the
// walk first meets them, and each entity's URLs in their live order: the bytes depend only
// on the registry's contents (and the header's fields), never on its history, so every host
// writes the same bytes for the same state.
// A person-URL's first time is stored relative to its person's first time and its last time
// relative to its own first (small numbers, one or two bytes each).
const (
	snapEnd      = "RWEND!\x00\x00"
	snapTrailer  = 8 + 4 + 8
	snapMinBytes = snapHeaderV1 + snapTrailer
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendSnapshot appends the registry's snapshot, recording seq as the last change it holds
// (and zero for the header's other fields). A save does not use it (see WriteSnapshot): it is
// for tests and tools that want the bytes.
func (r *Registry) AppendSnapshot(b []byte, seq uint64) []byte {
	return r.snapPlan(r.snapWorkers()).appendTo(b, &SnapshotHeader{Seq: seq})
}

// appendTo appends the planned snapshot with header h.
func (e *snapEncoding) appendTo(b []byte, h *SnapshotHeader) []byte {
	e.write(h, func(chunk []byte) error {
		b = append(b, chunk...)
		return nil
	})
	return b
}

// WriteSnapshot passes the registry's snapshot, with header h (its Version is ignored), to
// put in consecutive chunks (each valid only during the call) and returns its length. It
// stops at put's first error.
//
// # Notes
//
// A save streams the snapshot to its file this way, through a few reused buffers: the whole
// snapshot (~300 MB at a million persons) is never in memory, and is not first allocated
// and faulted in, which took longer than writing the file.
func (r *Registry) WriteSnapshot(h *SnapshotHeader, put func([]byte) error) (int, error) {
	return r.snapPlan(r.snapWorkers()).write(h, put)
}

const (
	// snapChunk is the size from which written bytes are passed on rather than gathered: a
	// small snapshot is one chunk, so one write.
	snapChunk = 1 << 20
	// snapPersonsChunk is how many persons one chunk of the persons section holds.
	snapPersonsChunk = 1 << 13
	// snapParallelMin is the number of persons from which the work on them is shared
	// between goroutines.
	snapParallelMin = 1 << 15
)

// snapWriter gathers the snapshot's bytes into chunks for put and checksums them.
type snapWriter struct {
	buf   []byte
	chunk int // snapChunk; smaller in tests
	put   func([]byte) error
	n     int // bytes passed to put
	crc   uint32
	err   error
}

// emit passes b on, after what is gathered; a short b is gathered too.
func (w *snapWriter) emit(b []byte) {
	if len(w.buf)+len(b) <= w.chunk {
		w.buf = append(w.buf, b...)
		return
	}
	w.flush()
	w.pass(b)
}

// flush passes on what is gathered.
func (w *snapWriter) flush() {
	w.pass(w.buf)
	w.buf = w.buf[:0]
}

func (w *snapWriter) pass(b []byte) {
	if w.err != nil || len(b) == 0 {
		return
	}
	w.crc = crc32.Update(w.crc, castagnoli, b)
	w.n += len(b)
	w.err = w.put(b)
}

// write encodes the snapshot planned by e, in version 3 whatever h.Version says.
func (e *snapEncoding) write(h *SnapshotHeader, put func([]byte) error) (int, error) {
	r := e.r
	w := &snapWriter{put: put, chunk: e.chunk}
	hv := *h
	hv.Version = snapVersion
	w.buf = appendSnapshotHeader(w.buf, &hv)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, r.accesses)
	for _, n := range []int{len(e.urlOrder), len(e.nameOrder), len(e.machines), len(e.persons)} {
		w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(n))
	}
	w.buf = append(append(w.buf, e.widths[:]...), 0, 0)
	for _, t := range []struct {
		tab   *internTable
		order []uint32
	}{{&r.urls, e.urlOrder}, {&r.names, e.nameOrder}} {
		for _, id := range t.order {
			s := t.tab.bytes(id)
			w.buf = append(appendUv(w.buf, uint64(len(s))), s...)
			if len(w.buf) >= w.chunk {
				w.flush()
			}
		}
	}
	for _, mi := range e.machines {
		m := &r.machines[mi]
		w.buf = appendRowHead(w.buf, &m.guid, m.first, m.last, m.usage, m.n)
		for _, mu := range r.machineBlock(m) {
			w.buf = binary.LittleEndian.AppendUint32(w.buf, e.urlNo[mu.url]-1)
			w.buf = binary.LittleEndian.AppendUint32(w.buf, mu.first)
			w.buf = binary.LittleEndian.AppendUint32(w.buf, mu.last)
			w.buf = binary.LittleEndian.AppendUint32(w.buf, mu.usage)
		}
		if len(w.buf) >= w.chunk {
			w.flush()
		}
	}
	e.writePersons(w)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, uint64(w.n+len(w.buf)))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, crc32.Update(w.crc, castagnoli, w.buf))
	w.buf = append(w.buf, snapEnd...)
	w.flush()
	return w.n, w.err
}

// writePersons emits the persons section (after its count) in chunks of persons in GUID
// order. With several workers, they encode a round of chunks (one each) while this
// goroutine emits the previous round's, in order, checksumming them and writing the file.
func (e *snapEncoding) writePersons(w *snapWriter) {
	per := e.personsChunk
	chunks := (len(e.persons) + per - 1) / per
	var pc *pace
	if e.workers == 1 {
		pc = &e.r.pace // a pace is one goroutine's
	}
	encode := func(j int, b []byte) []byte {
		for _, pi := range e.persons[j*per : min((j+1)*per, len(e.persons))] {
			p := &e.r.persons[pi]
			pc.step(perEntity(p.n))
			b = e.appendPerson(b, p)
		}
		return b
	}
	cur, prev := make([][]byte, e.workers), make([][]byte, e.workers)
	done := 0 // chunks in prev
	for j := 0; j < chunks && w.err == nil; j += e.workers {
		n := min(e.workers, chunks-j)
		var wg sync.WaitGroup
		for k := range n {
			if e.workers == 1 {
				cur[k] = encode(j+k, cur[k][:0])
				continue
			}
			wg.Go(func() { cur[k] = encode(j+k, cur[k][:0]) })
		}
		for _, b := range prev[:done] {
			w.emit(b)
		}
		wg.Wait()
		cur, prev, done = prev, cur, n
	}
	for _, b := range prev[:done] {
		w.emit(b)
	}
}

// snapEncoding is the plan of a snapshot: the order of everything and the numbers of the
// strings and machines.
type snapEncoding struct {
	r                   *Registry
	machines, persons   []uint32    // table indexes in GUID order
	blocks              []snapBlock // the live persons in the order of their URL blocks
	urlNo, nameNo       []uint32    // intern id -> 1 + snapshot index (0: unused)
	machineNo           []uint32    // table index -> snapshot index
	urlOrder, nameOrder []uint32    // intern ids in snapshot order
	widths              linkWidths  // of the person-URL rows
	workers             int         // goroutines sharing the work on persons
	chunk, personsChunk int         // snapChunk and snapPersonsChunk; smaller in tests
}

// snapWorkers is how many goroutines share the work on persons: one (the caller) for a
// small registry, and always under wasm, where GOMAXPROCS is 1.
func (r *Registry) snapWorkers() int {
	if r.personIndex.count < snapParallelMin {
		return 1
	}
	return min(runtime.GOMAXPROCS(0), 4)
}

// snapBlock is a person (table index owner, rank in GUID order) and its block's offset.
type snapBlock struct{ off, owner, rank uint32 }

// snapPlan orders and numbers everything a snapshot holds.
//
// # Notes
//
// Strings are numbered in the order the walk in GUID order first meets them. Rather than
// doing that walk (a cache miss per person, whose URL blocks lie all over the arena), each
// person-URL's place in it, (person rank, index in the block), is known while reading the
// blocks in the arena's order: a string's number follows from the first place it appears
// at. Machines are fewer and walked in GUID order.
func (r *Registry) snapPlan(workers int) *snapEncoding {
	e := &snapEncoding{r: r, workers: workers, chunk: snapChunk, personsChunk: snapPersonsChunk, urlNo: make([]uint32, len(r.urls.ents)), nameNo: make([]uint32, len(r.names.ents)),
		machineNo: make([]uint32, len(r.machines)),
		urlOrder:  make([]uint32, 0, r.urls.live), nameOrder: make([]uint32, 0, r.names.live)}
	n := max(len(r.persons), len(r.machines), len(r.urls.ents), len(r.names.ents))
	scratch := make([]sortKey, 2*n) // for the sorts, one after the other
	keys, tmp := scratch[:n:n], scratch[n:]
	p := &r.pace
	e.machines = sortByGUID(len(r.machines), r.machineGUID, func(int) bool { return true }, keys, tmp, p)
	e.persons = sortByGUID(len(r.persons), r.personGUID, func(i int) bool { return !r.persons[i].guid.IsZero() }, keys, tmp, p)
	for k, mi := range e.machines {
		p.step(perEntity(r.machines[mi].n))
		e.machineNo[mi] = uint32(k)
		for _, mu := range r.machineBlock(&r.machines[mi]) {
			if e.urlNo[mu.url] == 0 {
				e.urlOrder = append(e.urlOrder, mu.url)
				e.urlNo[mu.url] = uint32(len(e.urlOrder))
			}
		}
	}
	rank := make([]uint32, len(r.persons))
	for k, pi := range e.persons {
		rank[pi] = uint32(k)
	}
	offs := keys[:0]
	for i := range r.persons {
		if p := &r.persons[i]; !p.guid.IsZero() {
			offs = append(offs, sortKey{lo: uint64(p.off), idx: uint32(i)})
		}
	}
	p.step(len(r.persons))
	e.blocks = make([]snapBlock, len(e.persons))
	for k, o := range radixSort(offs, tmp, p) {
		e.blocks[k] = snapBlock{off: uint32(o.lo), owner: o.idx, rank: rank[o.idx]}
	}
	urlFirst := make([][]uint64, e.workers)
	nameFirst := make([][]uint64, e.workers)
	maxima := make([]linkMaxima, e.workers)
	e.eachPart(func(w int, part []snapBlock) { urlFirst[w], nameFirst[w], maxima[w] = e.firstUses(part) })
	e.urlOrder = numberByFirstUse(e.urlOrder, e.urlNo, urlFirst, keys, tmp, p)
	e.nameOrder = numberByFirstUse(e.nameOrder, e.nameNo, nameFirst, keys, tmp, p)
	for _, m := range maxima[1:] {
		maxima[0].merge(&m)
	}
	maxima[0].setCounts(len(e.urlOrder), len(e.machines), len(e.nameOrder))
	e.widths = maxima[0].widths()
	return e
}

// eachPart runs fn on each worker's share of the blocks, concurrently.
func (e *snapEncoding) eachPart(fn func(w int, part []snapBlock)) {
	if e.workers == 1 {
		fn(0, e.blocks)
		return
	}
	var wg sync.WaitGroup
	for w := range e.workers {
		part := e.blocks[w*len(e.blocks)/e.workers : (w+1)*len(e.blocks)/e.workers]
		wg.Go(func() { fn(w, part) })
	}
	wg.Wait()
}

// appendPerson writes one person's row and its person-URL rows.
func (e *snapEncoding) appendPerson(b []byte, p *person) []byte {
	b = appendRowHead(b, &p.guid, p.first, p.last, p.usage, p.n)
	blk := e.r.personBlock(p)
	for i := range blk {
		pu := &blk[i]
		vs := linkFields(pu, p.first, e.urlNo[pu.url]-1, e.machineNo[pu.machine], e.nameNo[pu.name])
		b = appendRow(b, &vs, &e.widths)
	}
	return b
}

// firstUses returns, for each URL and name id, the first position (rank<<32 | index in the
// block) where the persons of part use it (^0 where they do not), and the largest deltas
// and usage of their person-URL rows.
func (e *snapEncoding) firstUses(part []snapBlock) (urls, names []uint64, mx linkMaxima) {
	urls = make([]uint64, len(e.r.urls.ents))
	names = make([]uint64, len(e.r.names.ents))
	for i := range urls {
		urls[i] = ^uint64(0)
	}
	for i := range names {
		names[i] = ^uint64(0)
	}
	var pc *pace
	if e.workers == 1 {
		pc = &e.r.pace // a pace is one goroutine's
	}
	for _, bl := range part {
		p := &e.r.persons[bl.owner]
		blk := e.r.personBlock(p)
		pc.step(perEntity(uint32(len(blk))))
		for k := range blk {
			pu := &blk[k]
			pos := uint64(bl.rank)<<32 | uint64(k)
			urls[pu.url] = min(urls[pu.url], pos)
			if pu.name != 0 {
				names[pu.name] = min(names[pu.name], pos)
			}
			vs := linkFields(pu, p.first, 0, 0, 0)
			mx[3], mx[4], mx[5] = max(mx[3], vs[3]), max(mx[4], vs[4]), max(mx[5], vs[5])
		}
	}
	return urls, names, mx
}

// numberByFirstUse numbers the ids not numbered yet in the order of their first use, using
// keys and tmp (len(no) long at least) to sort them.
func numberByFirstUse(order, no []uint32, first [][]uint64, keys, tmp []sortKey, p *pace) []uint32 {
	uses := keys[:0]
	for id := range no {
		pos := first[0][id]
		for _, f := range first[1:] {
			pos = min(pos, f[id])
		}
		if pos != ^uint64(0) && no[id] == 0 {
			uses = append(uses, sortKey{lo: pos, idx: uint32(id)})
		}
	}
	for _, u := range radixSort(uses, tmp, p) {
		order = append(order, u.idx)
		no[u.idx] = uint32(len(order))
	}
	return order
}

// appendUv is binary.AppendUvarint with the snapshot's common one- and two-byte cases
// inlined.
func appendUv(b []byte, v uint64) []byte {
	if v < 1<<7 {
		return append(b, byte(v))
	}
	if v < 1<<14 {
		return append(b, byte(v)|0x80, byte(v>>7))
	}
	return binary.AppendUvarint(b, v)
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }
