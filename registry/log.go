package registry

import (
	"encoding/binary"
	"hash/crc32"
	"strconv"
)

// Change log. Every call that changed the registry appends one record holding all of that
// call's changes, so a batch is atomic: a torn record drops the whole call, never part of it.
//
//	record := length u32le | crc32c u32le | seq u64le | batch[length]
//
// crc32c covers seq and batch. A record with an empty batch is a checkpoint: log compaction
// leaves one holding the sequence number of the snapshot it follows. batch is a request batch (wasm/ABI.md) whose records carry the
// replay flag, the resolved time and, for access, the person GUID the call resolved to, so
// replay re-creates the same persons. In access records the person and machine GUIDs are 16
// raw bytes (a 16-byte field, which no GUID text is); text is read too.
const (
	logName       = "registry.log"
	logHeader     = 16
	maxLogRecord  = MaxBatchLength
	snapshotBase  = "registry.db"
	configBase    = "registry.conf"
	configSection = "registry"
)

// appendLogRequest adds req, as it was applied, to a pending log batch: with the replay flag
// and, for access, the person it resolved to and its machine as 16 bytes each, not 36 of text.
// Accesses are nearly all of a log: full test1 logs 76 bytes an access instead of 116, 1.9 GB
// instead of 2.9 (perf on native test1's late phases: copying the log into the page cache
// was about a sixth of the time).
func appendLogRequest(b []byte, req *Request, res *Result) []byte {
	if req.Op != OpAccess {
		return appendRequest(b, req, flagReplay, nil, nil)
	}
	// access sets both when it changes (Person zero for a FlagMachineOnly access, whose flag
	// the record keeps).
	return appendRequest(b, req, flagReplay|req.Flags&FlagMachineOnly, &res.Person, &res.machine)
}

// appendLogRecord frames a batch as one log record.
func appendLogRecord(b []byte, seq uint64, batch []byte) []byte {
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(batch)))
	b = append(b, 0, 0, 0, 0)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = append(b, batch...)
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+8:], castagnoli))
	return b
}

// logRecord is one verified record of a log file.
type logRecord struct {
	seq   uint64
	batch []byte
	end   int // offset just past the record
}

// scanLog verifies a log file record by record. It returns the valid records and the length of
// the valid prefix. A record that fails verification is a torn tail when it runs to the end of
// the file (a crash during its append): it and nothing else is dropped. A bad record with more
// data after it is corruption, an error naming its offset: nothing is skipped past it.
func scanLog(data []byte) ([]logRecord, int, error) {
	var recs []logRecord
	off := 0
	for off < len(data) {
		if len(data)-off < logHeader {
			return recs, off, nil // torn header
		}
		n := int(binary.LittleEndian.Uint32(data[off:]))
		end := off + logHeader + n
		if n > maxLogRecord || end > len(data) {
			return recs, off, nil // torn (or garbage length) at the tail
		}
		if crc32.Checksum(data[off+8:end], castagnoli) != binary.LittleEndian.Uint32(data[off+4:]) {
			if end == len(data) {
				return recs, off, nil
			}
			return recs, off, corruptAt("log record checksum mismatch (record "+strconv.Itoa(len(recs)+1)+")", off)
		}
		seq := binary.LittleEndian.Uint64(data[off+8:])
		if len(recs) > 0 && seq != recs[len(recs)-1].seq+1 {
			return recs, off, corruptAt("log sequence jumps from "+strconv.FormatUint(recs[len(recs)-1].seq, 10)+" to "+strconv.FormatUint(seq, 10), off)
		}
		recs = append(recs, logRecord{seq: seq, batch: data[off+logHeader : end], end: end})
		off = end
	}
	return recs, off, nil
}

// replay applies the records after seq to the registry and returns the last seq applied.
func (r *Registry) replay(recs []logRecord, seq uint64) (last, changes uint64, err error) {
	var reqs []Request
	for _, rec := range recs {
		if rec.seq <= seq {
			continue
		}
		if rec.seq != seq+1 && !(len(rec.batch) == 0 && rec.seq == seq) {
			return seq, changes, corruptAt("log starts at change "+strconv.FormatUint(rec.seq, 10)+" but the snapshot holds up to "+strconv.FormatUint(seq, 10), rec.end-len(rec.batch)-logHeader)
		}
		reqs, err = parseBatch(rec.batch, reqs[:0], true)
		if err != nil {
			return seq, changes, corruptAt("log record does not parse: "+err.Error(), rec.end-len(rec.batch))
		}
		for i := range reqs {
			reqs[i].Flags |= FlagQuiet
			r.Do(&reqs[i], nil)
		}
		seq = rec.seq
		changes += uint64(len(reqs))
	}
	return seq, changes, nil
}
