package registry

import (
	"encoding/binary"
	"hash/crc32"
	"strconv"
)

// Change log, format 2. The log is a chain of segments, one file each (registry.log.1|2|3):
// a segment holds the changes made after one snapshot, one record per call that changed
// something, so a call is atomic: a torn record drops the whole call, never part of it.
//
//	segment := "RWLOG" 0 0 2 | base u64 | gen u64 | flags u32 | hcrc u32 | record*
//	record  := length u32 | seq u64 | lag u32 | hcrc u32 | bcrc u32 | body[length]
//
// Integers are little-endian; checksums are CRC-32C. A segment's hcrc covers the 28 bytes
// before it; a record's hcrc covers its length, seq and lag, and bcrc its body. base is the
// sequence number of the snapshot the segment continues (its first record is base+1) and gen
// the save generation that created it. lag counts the records before this one that were not
// yet known durable when it was written (0 with "log sync = always").
//
// Because a record's header is checked on its own, a damaged length is never mistaken for a
// torn tail: a record that does not verify is a torn tail only when no verified record
// follows it. When one does, lag tells what the damage is: if a later record says the bad
// one was synced before it was written, acknowledged data was damaged (the load refuses);
// if not, the bad record and those after it were unsynced writes that a crash reordered,
// which "log sync = every N" and "save" allow to be lost.
//
// A body is a request batch (wasm/ABI.md) holding the call's changes as they were applied:
// records carry the replay and applied flags, the resolved time, cleaned URLs and names and,
// for access, the person GUID the call resolved to, so that replay re-creates exactly what was
// acknowledged whatever the settings are by then. In access records the person and machine
// GUIDs are 16 raw bytes (a 16-byte field, which no GUID text is); text is read too.
const (
	logBase       = "registry.log"
	segHeaderLen  = 32
	recHeaderLen  = 24
	segMagic      = "RWLOG\x00\x00\x02"
	maxLogRecord  = MaxBatchLength
	snapshotBase  = "registry.db"
	configBase    = "registry.conf"
	configSection = "registry"
)

// appendLogRequest adds req, as it was applied, to a pending log batch: with the replay and
// applied flags and, for access, the person it resolved to and its machine as 16 bytes each,
// not 36 of text. Accesses are nearly all of a log: full test1 logs 76 bytes an access
// instead of 116, 1.9 GB instead of 2.9 (perf on native test1's late phases: copying the log
// into the page cache was about a sixth of the time).
func appendLogRequest(b []byte, req *Request, res *Result) []byte {
	if req.Op != OpAccess {
		return appendRequest(b, req, flagReplay|flagApplied, nil, nil)
	}
	// access sets both when it changes (Person zero for a FlagMachineOnly access, whose flag
	// the record keeps).
	return appendRequest(b, req, flagReplay|flagApplied|req.Flags&FlagMachineOnly, &res.Person, &res.machine)
}

// appendSegmentHeader writes the header of a segment that continues the snapshot at base.
func appendSegmentHeader(b []byte, base, gen uint64) []byte {
	return appendSegmentHeaderFlags(b, base, gen, 0)
}

// segDeferred, in a segment header's flags, says that changes may be logged in the segment
// before the snapshot of its generation is complete (a save written by another instance of
// the core, see store_checkpoint.go): a record after that snapshot does not prove it was
// whole; the commit record does. Readers of the first version of this format ignore it.
const segDeferred = 1

// appendSegmentHeaderFlags is appendSegmentHeader with flags (segDeferred) in its u32.
func appendSegmentHeaderFlags(b []byte, base, gen uint64, flags uint32) []byte {
	start := len(b)
	b = append(b, segMagic...)
	b = binary.LittleEndian.AppendUint64(b, base)
	b = binary.LittleEndian.AppendUint64(b, gen)
	b = binary.LittleEndian.AppendUint32(b, flags)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// appendLogRecord frames a batch as one log record.
func appendLogRecord(b []byte, seq uint64, lag uint32, batch []byte) []byte {
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(batch)))
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = binary.LittleEndian.AppendUint32(b, lag)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(batch, castagnoli))
	return append(b, batch...)
}

// logRecord is one verified record.
type logRecord struct {
	seq   uint64
	lag   uint32
	batch []byte
	off   int // offset of its header in its file
	end   int // offset just past it
}

// durable is the highest sequence number the record says was synced before it was written.
func (r *logRecord) durable() uint64 { return r.seq - 1 - uint64(r.lag) }

// segScan is what a segment file holds, verified.
type segScan struct {
	headerOK  bool
	base, gen uint64 // from a verified header
	flags     uint32 // from a verified header: segDeferred
	recs      []logRecord
	valid     int        // length of the verified prefix: the header and whole records
	size      int        // the file's length
	damage    *segDamage // a record that does not verify with verified records after it
}

// segDamage is a record that failed verification and is not a torn tail: verified records
// follow it, or its bytes are whole but wrong (rot).
type segDamage struct {
	off   int    // where the bad bytes start
	msg   string // what is wrong there
	want  uint64 // the sequence number the bad record should have had
	later []logRecord
	// unwritten: the bad bytes end in zeros, as a crash leaves pages of unsynced appends
	// that never reached the disk (rot flips bits, it does not zero runs of them).
	unwritten bool
}

// lostToCrash reports whether the damage is what a crash does to unsynced writes (which the
// "log sync" setting allows to be lost), rather than damage to acknowledged, durable data.
func (d *segDamage) lostToCrash() bool { return d.unwritten && !d.synced() }

// last is the newest change the damaged part proves: the bad record's or a later one's.
func (d *segDamage) last() uint64 {
	if len(d.later) > 0 {
		return d.later[len(d.later)-1].seq
	}
	return d.want
}

// synced reports whether a later record says the damaged one had been synced: the damage is
// then to acknowledged, durable data, not to writes a crash lost.
func (d *segDamage) synced() bool {
	for i := range d.later {
		if d.later[i].durable() >= d.want {
			return true
		}
	}
	return false
}

// tail is the number of bytes after the verified prefix.
func (s *segScan) tail() int { return s.size - s.valid }

// first and last are the sequence numbers the segment covers: records first..last.
func (s *segScan) first() uint64 {
	if len(s.recs) > 0 {
		return s.recs[0].seq
	}
	return s.base + 1
}

func (s *segScan) last() uint64 {
	if len(s.recs) > 0 {
		return s.recs[len(s.recs)-1].seq
	}
	return s.base
}

// scanSegment verifies a segment file record by record.
func scanSegment(data []byte) segScan {
	s := segScan{size: len(data)}
	if len(data) >= segHeaderLen && string(data[:len(segMagic)]) == segMagic &&
		crc32.Checksum(data[:segHeaderLen-4], castagnoli) == binary.LittleEndian.Uint32(data[segHeaderLen-4:]) {
		s.headerOK = true
		s.base = binary.LittleEndian.Uint64(data[8:])
		s.gen = binary.LittleEndian.Uint64(data[16:])
		s.flags = binary.LittleEndian.Uint32(data[24:])
	}
	if len(data) < segHeaderLen {
		return s // a torn header: the segment's creation did not finish
	}
	off := segHeaderLen
	s.valid = off
	want := s.base + 1
	for off < len(data) {
		rec, msg := recordAt(data, off)
		if msg == "" && (s.headerOK || len(s.recs) > 0) && rec.seq != want {
			msg = "log sequence jumps from " + strconv.FormatUint(want-1, 10) + " to " + strconv.FormatUint(rec.seq, 10)
		}
		if msg != "" {
			later := laterRecords(data, off, want)
			region := data[off:]
			if len(later) > 0 {
				region = data[off:later[0].off]
			}
			unwritten := zeroTail(region, 8)
			if len(later) == 0 && (msg == msgCutShort || unwritten) {
				return s // a torn tail: the last append did not finish
			}
			s.damage = &segDamage{off: off, msg: msg, want: want, later: later, unwritten: unwritten}
			return s
		}
		s.recs = append(s.recs, rec)
		off = rec.end
		s.valid = off
		want = rec.seq + 1
	}
	return s
}

const msgCutShort = "record cut short"

// recordAt verifies the record at off; msg says why it does not verify.
func recordAt(data []byte, off int) (logRecord, string) {
	if len(data)-off < recHeaderLen {
		return logRecord{}, msgCutShort
	}
	h := data[off : off+recHeaderLen]
	if crc32.Checksum(h[:16], castagnoli) != binary.LittleEndian.Uint32(h[16:]) {
		return logRecord{}, "record header checksum mismatch"
	}
	n := int(binary.LittleEndian.Uint32(h))
	end := off + recHeaderLen + n
	if n > maxLogRecord {
		return logRecord{}, "record length out of range"
	}
	if end > len(data) {
		return logRecord{}, msgCutShort
	}
	body := data[off+recHeaderLen : end : end]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(h[20:]) {
		return logRecord{}, "record body checksum mismatch"
	}
	return logRecord{seq: binary.LittleEndian.Uint64(h[4:]), lag: binary.LittleEndian.Uint32(h[12:]),
		batch: body, off: off, end: end}, ""
}

// zeroTail reports whether b ends with n zero bytes (or is all zeros): what a crash leaves
// where appended pages never reached the disk. A record never ends so: its last field is
// text, or a one-byte empty name.
func zeroTail(b []byte, n int) bool {
	k := 0
	for k < len(b) && b[len(b)-1-k] == 0 {
		k++
	}
	return k == len(b) || k >= n
}

// laterRecords looks for verified records from off on that continue a log expecting want or
// later, and returns the first consecutive run of them. A torn tail (a partial last append)
// holds none: a record found after a bad one proves the bad one is damage in the middle.
func laterRecords(data []byte, off int, want uint64) []logRecord {
	for p := off; p+recHeaderLen <= len(data); p++ {
		rec, msg := recordAt(data, p)
		if msg != "" || rec.seq < want {
			continue
		}
		run := []logRecord{rec}
		for q := rec.end; ; {
			next, msg := recordAt(data, q)
			if msg != "" || next.seq != run[len(run)-1].seq+1 {
				return run
			}
			run = append(run, next)
			q = next.end
		}
	}
	return nil
}

// replay applies the records after seq to the registry and returns the last seq applied and
// how many changes it made. Records must follow seq without a gap.
func (r *Registry) replay(recs []logRecord, seq uint64) (last, changes uint64, err error) {
	var reqs []Request
	for _, rec := range recs {
		if rec.seq <= seq {
			continue
		}
		if rec.seq != seq+1 {
			return seq, changes, corruptAt("log record "+strconv.FormatUint(rec.seq, 10)+" follows change "+strconv.FormatUint(seq, 10), rec.off)
		}
		r.pace.step(2 * len(rec.batch))
		reqs, err = parseBatch(rec.batch, reqs[:0], true)
		if err != nil {
			return seq, changes, corruptAt("log record does not parse: "+err.Error(), rec.off)
		}
		for i := range reqs {
			reqs[i].Flags |= FlagQuiet
			r.Do(&reqs[i], nil)
			if reqs[i].Op != opNote {
				changes++
			}
		}
		seq = rec.seq
	}
	return seq, changes, nil
}
