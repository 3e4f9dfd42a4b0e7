package registry

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strconv"
)

// Saves off the request path. A save in three steps lets a host keep answering requests
// while a snapshot is written:
//
//  1. BeginSave (the serving store, milliseconds): purges expired persons, syncs the log,
//     retires the generation before the previous one and creates the segment the changes
//     after the snapshot go to, exactly as Save does before it writes; it answers a plan.
//  2. WriteCheckpoint (a second instance of the core, on another thread or Worker): loads
//     the files the plan names as far as the plan's change, and writes that state into the
//     snapshot slot the plan names, synced. The serving store appends to the new segment
//     meanwhile.
//  3. CommitSave (the serving store): checks the snapshot's header and trailer, logs that
//     the save finished, and makes the snapshot its base; or AbortSave removes it.
//
// # Notes
//
// The files are what a synchronous save leaves at each point, except that changes may be
// logged after the new segment's header before its snapshot is complete. A load already
// joins snapshots and segments by sequence numbers, so a crash anywhere leaves a loadable,
// exact directory: the new snapshot when it is whole, else the previous generation and the
// log. One thing a load must tell apart is a snapshot cut short by a crash during its save
// (a note) from one cut short after its save finished (damage, reported): the segment header
// says its appends may precede its snapshot (segDeferred), and the commit's log record
// ("snapshot committed: generation N") says the save finished.
//
// While a save is pending the store starts no other: Save, BeginSave and imports are
// refused with ErrSaving, and a store whose writes stopped resumes only once the host
// committed or aborted, so that nothing else ever writes or retires the slot the second
// instance writes.

// ErrSaving: a save is in progress (BeginSave was called and neither CommitSave nor
// AbortSave yet): another save must wait for it.
var ErrSaving = errors.New("registry: a save is in progress")

// saveJob is a save begun: its snapshot's slot and header, and what WriteCheckpoint loads.
type saveJob struct {
	ext     int            // the snapshot's slot
	header  SnapshotHeader // the snapshot's header
	newSeg  int            // the segment created for the changes after it (0: none, see beginSave)
	nextExt int            // the segment those changes go to: newSeg, or the current one
	unsaved uint64         // changes it holds that its base does not
	base    *snapFile      // the chain it holds: this snapshot (nil: none) ...
	segs    []segState     // ... and these segments, as far as header.Seq
}

// beginSave does a save's first step (see the comment above): the expiry, the sync, the
// retirement and the new segment, whose header says whether appends may precede the
// snapshot (deferred). It chooses the snapshot's slot.
func (s *Store) beginSave(deferred bool) (*saveJob, error) {
	if err := s.writable(); err != nil {
		return nil, err
	}
	if s.job != nil {
		return nil, ErrSaving
	}
	if err := s.ready(); err != nil {
		return nil, err
	}
	now := s.settings.Now()
	if cutoff, ok := s.reg.expiryCutoff(now); ok {
		if n := s.reg.expireBefore(cutoff); n > 0 {
			acked := s.seq
			s.pending = appendLogRequest(s.pending[:0], &Request{Op: opPurge, When: cutoff}, &Result{})
			if err := s.appendLog(s.pending); err != nil {
				return nil, s.fail(err, acked)
			}
			s.acked = s.seq
		}
	}
	// The log must be durable before a snapshot that follows it.
	if s.unsynced > 0 {
		if err := s.syncLog(); err != nil {
			return nil, s.fail(err, s.seq)
		}
	}
	if err := s.retire(); err != nil {
		return nil, err
	}
	id, _ := ParseGUID(s.settings.MachineGUID)
	job := &saveJob{unsaved: s.unsaved, base: s.base, segs: append([]segState(nil), s.chain...),
		header: SnapshotHeader{Version: snapVersion, Seq: s.seq, Gen: s.gen + 1, Saved: now, Registry: id}}
	cur := s.chain[len(s.chain)-1]
	job.header.Next, job.nextExt = cur.base, cur.ext
	if cur.last > cur.base || cur.base != s.seq || cur.rotten {
		// The segment the changes after this snapshot go to, made durable before the snapshot
		// names it. With no free slot (a chain that damage made long), appends continue in
		// the current segment instead.
		if ext := s.freeExt(logBase, cur.ext); ext != 0 {
			g := segState{ext: ext, base: s.seq, gen: s.gen + 1, size: segHeaderLen, first: s.seq + 1, last: s.seq}
			var flags uint32
			if deferred {
				flags = segDeferred
			}
			if err := s.writeSynced(g.name(), appendSegmentHeaderFlags(nil, s.seq, s.gen+1, flags)); err != nil {
				return nil, err
			}
			s.chain = append(s.chain, g)
			job.header.Next, job.nextExt, job.newSeg = s.seq, ext, ext
		}
	}
	after := 0
	if s.base != nil {
		after = s.base.ext
	}
	if job.ext = s.freeExt(snapshotBase, after); job.ext == 0 {
		s.dropNewSegment(job)
		return nil, withDetail(ErrStale, "no free snapshot slot: the files changed behind the store")
	}
	return job, nil
}

// dropNewSegment undoes beginSave's new segment when nothing was appended to it (a save that
// failed before any append: a synchronous one, or one that never got a snapshot slot).
func (s *Store) dropNewSegment(job *saveJob) {
	last := &s.chain[len(s.chain)-1]
	if job.newSeg == 0 || last.ext != job.newSeg || last.last != last.base || len(s.chain) == 1 {
		return
	}
	_ = s.st.Remove(last.name()) // best effort: it holds nothing yet
	s.chain = s.chain[:len(s.chain)-1]
}

// adopt makes the snapshot the job wrote the store's base.
func (s *Store) adopt(job *saveJob, snap *snapFile) SaveInfo {
	s.base, s.gen, s.savedSeq, s.lastSave = snap, max(s.gen, job.header.Gen), job.header.Seq, job.header.Saved
	s.unsaved -= min(s.unsaved, job.unsaved)
	for i, g := range s.chain {
		if g.ext == job.nextExt {
			s.chain = s.chain[i:]
			break
		}
	}
	return SaveInfo{File: snap.name(), Seq: job.header.Seq, Bytes: int(snap.size)}
}

// BeginSave begins a save whose snapshot another instance of the core writes
// (WriteCheckpoint), and returns the plan to give it. Until CommitSave or AbortSave, the
// store goes on taking changes, and starts no other save (ErrSaving).
func (s *Store) BeginSave() ([]byte, error) {
	if s.writeErr != nil && s.mode != OpenReadOnly {
		// Resuming after a failed write saves synchronously (see resume): nothing to defer.
		if err := s.resume(); err != nil {
			s.saveErr = err.Error()
			return nil, err
		}
	}
	job, err := s.beginSave(true)
	if err != nil {
		s.saveErr = err.Error()
		return nil, err
	}
	s.job = job
	return job.plan(), nil
}

// CommitSave ends the save begun by BeginSave once WriteCheckpoint wrote its snapshot: the
// snapshot's header and trailer are checked, a log record says the save finished, and the
// snapshot becomes the store's base (the previous generation stays until the next save).
func (s *Store) CommitSave() (SaveInfo, error) {
	job := s.job
	if job == nil {
		return SaveInfo{}, errors.New("registry: no save in progress to commit")
	}
	info, err := s.commit(job)
	if err != nil {
		s.abort(job, err)
		return SaveInfo{}, err
	}
	s.job, s.saveErr = nil, ""
	return info, nil
}

func (s *Store) commit(job *saveJob) (SaveInfo, error) {
	if err := s.writable(); err != nil {
		return SaveInfo{}, err
	}
	snap, err := checkWritten(s.st, job)
	if err != nil {
		return SaveInfo{}, err
	}
	chained := false
	for _, g := range s.chain {
		chained = chained || g.ext == job.nextExt
	}
	if !chained {
		return SaveInfo{}, withDetail(ErrStale, "the log segment after "+snap.name()+" is no longer the store's")
	}
	acked := s.seq
	s.pending = appendLogRequest(s.pending[:0], &Request{Op: opNote, When: s.settings.Now(),
		Person: []byte(commitNote(job.header.Gen))}, &Result{})
	if err := s.appendLog(s.pending); err != nil {
		return SaveInfo{}, s.fail(err, acked)
	}
	s.acked = s.seq
	return s.adopt(job, snap), nil
}

// AbortSave ends the save begun by BeginSave without its snapshot (WriteCheckpoint failed,
// or the host gave up): the snapshot file goes, if it is not the store's base, and cause is
// reported as the save's error in Info until a save succeeds.
func (s *Store) AbortSave(cause error) {
	if s.job != nil {
		s.abort(s.job, cause)
	}
}

func (s *Store) abort(job *saveJob, cause error) {
	s.job = nil
	if s.base == nil || s.base.ext != job.ext {
		_ = s.st.Remove(snapshotBase + "." + strconv.Itoa(job.ext)) // best effort: no chain needs it
	}
	if job.newSeg != 0 {
		// Its segment stays (changes may be in it): the next save's generation is after it.
		s.gen = max(s.gen, job.header.Gen)
	}
	if cause != nil {
		s.saveErr = cause.Error()
	}
}

// Saving reports whether a save is in progress (BeginSave without CommitSave or AbortSave).
func (s *Store) Saving() bool { return s.job != nil }

// SaveDue reports whether "registry save db every new entries", or the memory budget (the log
// a load would read), calls for a save that the store leaves to its host (DeferSaves).
func (s *Store) SaveDue() bool {
	return s.deferSaves && s.job == nil && s.writeErr == nil &&
		(s.settings.SaveEvery > 0 && s.unsaved >= uint64(s.settings.SaveEvery) || s.budgetWantsSave())
}

// DeferSaves makes the store leave the saves "registry save db every new entries" calls for
// to its host, which sees SaveDue and saves with BeginSave, WriteCheckpoint and CommitSave,
// instead of saving within the call that reached the count.
func (s *Store) DeferSaves(on bool) { s.deferSaves = on }

// commitNote is the text of the log record that says the save of generation gen finished.
func commitNote(gen uint64) string { return "snapshot committed: generation " + uitoa(gen) }

// committedIn reports whether segment sf logs that the save of generation gen finished.
func committedIn(sf *segFile, gen uint64) bool {
	want := commitNote(gen)
	for i := range sf.scan.recs {
		reqs, err := parseBatch(sf.scan.recs[i].batch, nil, true)
		if err != nil {
			continue
		}
		for _, r := range reqs {
			if r.Op == opNote && string(r.Person) == want {
				return true
			}
		}
	}
	return false
}

// checkWritten checks the snapshot a checkpointer wrote for job: its header is the job's
// and its trailer says it is whole (the checkpointer verified its checksum as it wrote it).
func checkWritten(st Storage, job *saveJob) (*snapFile, error) {
	name := snapshotBase + "." + strconv.Itoa(job.ext)
	f, err := readSnapHeader(st, name, job.ext)
	if err != nil {
		return nil, err
	}
	if f.headerErr != nil {
		return nil, &FileError{Op: "verify", Name: name, Err: f.headerErr}
	}
	if f.header != job.header {
		return nil, withDetail(ErrStale, name+" is not the snapshot this save began")
	}
	var tail [snapTrailer]byte
	if _, err := st.ReadAt(name, tail[:], f.size-snapTrailer); err != nil {
		return nil, err
	}
	if string(tail[12:]) != snapEnd || binary.LittleEndian.Uint64(tail[:]) != uint64(f.size-snapTrailer) {
		return nil, &FileError{Op: "verify", Name: name, Err: corruptAt("snapshot end marker or length wrong", int(f.size)-snapTrailer)}
	}
	return f, nil
}

// The plan BeginSave answers and WriteCheckpoint reads, little-endian:
//
//	"RWCKPT" 0 1 | slot u8 | header: seq u64 gen u64 next u64 saved u32 registry[16]
//	| base: slot u8 (0: none) seq u64 gen u64 | segments u8, each: slot u8 base u64 gen u64
//	size u64 rotten u8 | crc32c u32 of everything before
//
// A plan is the module's own (hosts pass it on as it is); the checksum makes a plan damaged
// on its way a refusal, not a wrong snapshot.
const planMagic = "RWCKPT\x00\x01"

func (job *saveJob) plan() []byte {
	b := append([]byte(planMagic), byte(job.ext))
	h := &job.header
	b = binary.LittleEndian.AppendUint64(b, h.Seq)
	b = binary.LittleEndian.AppendUint64(b, h.Gen)
	b = binary.LittleEndian.AppendUint64(b, h.Next)
	b = binary.LittleEndian.AppendUint32(b, h.Saved)
	b = append(b, h.Registry[:]...)
	if job.base != nil {
		b = append(b, byte(job.base.ext))
		b = binary.LittleEndian.AppendUint64(b, job.base.header.Seq)
		b = binary.LittleEndian.AppendUint64(b, job.base.header.Gen)
	} else {
		b = append(b, make([]byte, 17)...)
	}
	b = append(b, byte(len(job.segs)))
	for _, g := range job.segs {
		b = append(b, byte(g.ext))
		b = binary.LittleEndian.AppendUint64(b, g.base)
		b = binary.LittleEndian.AppendUint64(b, g.gen)
		b = binary.LittleEndian.AppendUint64(b, uint64(g.size))
		rotten := byte(0)
		if g.rotten {
			rotten = 1
		}
		b = append(b, rotten)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// checkpointPlan is a parsed plan.
type checkpointPlan struct {
	ext     int
	header  SnapshotHeader
	baseExt int
	baseSeq uint64
	baseGen uint64
	segs    []segState
}

var errBadPlan = withDetail(ErrBadRequest, "not a checkpoint plan of this module (or damaged)")

func parsePlan(b []byte) (*checkpointPlan, error) {
	const fixed = len(planMagic) + 1 + 8*3 + 4 + 16 + 1 + 16 + 1
	if len(b) < fixed+4 || string(b[:len(planMagic)]) != planMagic ||
		crc32.Checksum(b[:len(b)-4], castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, errBadPlan
	}
	p := &checkpointPlan{}
	o := len(planMagic)
	u8 := func() int { o++; return int(b[o-1]) }
	u64 := func() uint64 { o += 8; return binary.LittleEndian.Uint64(b[o-8:]) }
	p.ext = u8()
	h := &p.header
	h.Version, h.Seq, h.Gen, h.Next = snapVersion, u64(), u64(), u64()
	h.Saved = binary.LittleEndian.Uint32(b[o:])
	o += 4
	copy(h.Registry[:], b[o:])
	o += 16
	p.baseExt, p.baseSeq, p.baseGen = u8(), u64(), u64()
	n := u8()
	if len(b) != fixed+n*26+4 || p.ext < 1 || p.ext > 3 || p.baseExt > 3 {
		return nil, errBadPlan
	}
	for range n {
		g := segState{ext: u8(), base: u64(), gen: u64(), size: int64(u64())}
		g.rotten = u8() == 1
		if g.ext < 1 || g.ext > 3 || g.size < segHeaderLen {
			return nil, errBadPlan
		}
		p.segs = append(p.segs, g)
	}
	return p, nil
}

// WriteCheckpoint does a save's second step (see BeginSave) in an instance of the core of
// its own: it loads the files the plan names as far as the plan's change (the base snapshot
// verified, every record verified and in sequence) and writes that state as the plan's
// snapshot, synced, streaming it as a save does. It writes nothing else; on failure it
// removes what it wrote. cfg's Yield, if set, is called as it goes (see pace).
func WriteCheckpoint(st Storage, plan []byte, cfg *Config) (SaveInfo, error) {
	p, err := parsePlan(plan)
	if err != nil {
		return SaveInfo{}, err
	}
	var c Config
	if cfg != nil {
		c = Config{Rand: cfg.Rand, Now: cfg.Now, Yield: cfg.Yield}
	}
	reg := New(c)
	seq := uint64(0)
	if p.baseExt != 0 {
		if seq, err = loadCheckpointBase(st, reg, p); err != nil {
			return SaveInfo{}, err
		}
	}
	for _, g := range p.segs {
		if seq, err = replaySegment(st, reg, g, seq, p.header.Seq); err != nil {
			return SaveInfo{}, err
		}
	}
	if seq != p.header.Seq {
		return SaveInfo{}, withDetail(ErrCorrupt, "the files reach change "+uitoa(seq)+", not the plan's "+uitoa(p.header.Seq))
	}
	f := &snapFile{ext: p.ext, header: p.header}
	if _, err := st.Size(f.name()); err == nil {
		return SaveInfo{}, withDetail(ErrStale, f.name()+" exists: it is not the free slot the plan names")
	}
	n, err := writeSnapshotFile(st, reg, f)
	if err != nil {
		return SaveInfo{}, err
	}
	return SaveInfo{File: f.name(), Seq: p.header.Seq, Bytes: n}, nil
}

// writeSnapshotFile writes reg's snapshot with f's header into f's slot and syncs it; on
// failure it removes what it wrote, if it can.
func writeSnapshotFile(st Storage, reg *Registry, f *snapFile) (int, error) {
	started := false
	n, err := reg.WriteSnapshot(&f.header, func(chunk []byte) error {
		if started {
			return st.AppendFile(f.name(), chunk)
		}
		started = true
		return st.WriteFile(f.name(), chunk)
	})
	if err == nil {
		err = st.Sync(f.name())
	}
	if err != nil {
		_ = st.Remove(f.name()) // best effort: it is not the current file
		return 0, err
	}
	f.size = int64(n)
	return n, nil
}

// loadCheckpointBase loads the plan's base snapshot into reg, checking it is the one the
// plan names, its checksum computed a slice at a time (pace).
func loadCheckpointBase(st Storage, reg *Registry, p *checkpointPlan) (uint64, error) {
	name := snapshotBase + "." + strconv.Itoa(p.baseExt)
	data, err := st.ReadFile(name)
	if err != nil {
		return 0, err
	}
	h, _, err := snapshotBody(data, false)
	if err == nil && (h.Seq != p.baseSeq || h.Gen != p.baseGen) {
		err = withDetail(ErrStale, name+" is not the snapshot the plan names")
	}
	if err == nil {
		t := len(data) - snapTrailer
		crc := uint32(0)
		for off := 0; off < t+8; off += 1 << 16 {
			end := min(off+1<<16, t+8)
			crc = crc32.Update(crc, castagnoli, data[off:end])
			reg.pace.step((end - off) / 16)
		}
		if crc != binary.LittleEndian.Uint32(data[t+8:]) {
			err = corruptAt("snapshot checksum mismatch", t+8)
		}
	}
	if err == nil {
		_, err = reg.loadSnapshot(data, false)
	}
	if err != nil {
		return 0, &FileError{Op: "load", Name: name, Err: err}
	}
	return h.Seq, nil
}

// replaySegment replays the records of segment g after change seq, as far as change upTo,
// reading its first g.size bytes a window at a time, and returns the last change replayed.
func replaySegment(st Storage, reg *Registry, g segState, seq, upTo uint64) (uint64, error) {
	name := g.name()
	var head [segHeaderLen]byte
	if _, err := st.ReadAt(name, head[:], 0); err != nil {
		return seq, err
	}
	if sc := scanSegment(head[:]); !g.rotten && (!sc.headerOK || sc.base != g.base || sc.gen != g.gen) {
		return seq, &FileError{Op: "load", Name: name, Err: withDetail(ErrStale, "not the segment the plan names")}
	}
	const window = 1 << 20
	var buf []byte
	start, base := 0, int64(segHeaderLen) // buf[0] is at offset base of the file
	for seq < upTo {
		if start == len(buf) && base+int64(len(buf)) >= g.size {
			break // the plan's part of the segment is replayed
		}
		rec, msg := recordAt(buf, start)
		if msg == msgCutShort && base+int64(len(buf)) < g.size {
			// Keep the part read of this record and read on: a window, or the whole record.
			need := recHeaderLen
			if len(buf)-start >= recHeaderLen {
				need += int(binary.LittleEndian.Uint32(buf[start:]))
			}
			buf = append(buf[:0], buf[start:]...)
			base, start = base+int64(start), 0
			n := int(min(int64(max(need, window)), g.size-base))
			have := len(buf)
			buf = append(buf, make([]byte, n-have)...)
			if _, err := st.ReadAt(name, buf[have:], base+int64(have)); err != nil {
				return seq, err
			}
			continue
		}
		if msg == "" && rec.seq != seq+1 {
			msg = "log record " + uitoa(rec.seq) + " follows change " + uitoa(seq)
		}
		if msg != "" {
			return seq, &FileError{Op: "load", Name: name, Err: corruptAt(msg, int(base)+start)}
		}
		rec.off, rec.end = int(base)+start, int(base)+rec.end
		last, _, err := reg.replay([]logRecord{rec}, seq)
		if err != nil {
			return seq, &FileError{Op: "load", Name: name, Err: err}
		}
		seq, start = last, rec.end-int(base)
	}
	return seq, nil
}
