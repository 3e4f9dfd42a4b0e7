package registry

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"strconv"
)

// The first format: snapshots of version 1 in Rabbit's rotation (registry.db.1|2|3, the order
// of preference of rotationOrder) and one change log, registry.log:
//
//	record := length u32le | crc32c u32le | seq u64le | batch[length]
//
// crc32c covers seq and batch; an empty batch is a checkpoint (the sequence number of the
// snapshot a save compacted the log to). Its records hold raw request fields, cleaned again on
// replay. A writable open converts such a directory: it loads it as the first format did, then
// saves a generation of the current format and removes the old files.

const legacyHeader = 16

// scanLegacyLog verifies a first-format log record by record: the valid records and the
// length of the valid prefix. A bad record that runs to the end of the file is a torn tail;
// one with data after it is corruption.
func scanLegacyLog(data []byte) ([]logRecord, int, error) {
	var recs []logRecord
	off := 0
	for off < len(data) {
		if len(data)-off < legacyHeader {
			return recs, off, nil
		}
		n := int(binary.LittleEndian.Uint32(data[off:]))
		end := off + legacyHeader + n
		if n > maxLogRecord || end > len(data) {
			return recs, off, nil
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
		recs = append(recs, logRecord{seq: seq, batch: data[off+legacyHeader : end], off: off, end: end})
		off = end
	}
	return recs, off, nil
}

// loadLegacy loads a first-format directory and, when it may write, converts it.
func (s *Store) loadLegacy(d *dirFiles, confData []byte, confErr error, repair bool) error {
	if confData == nil {
		what := "missing"
		if confErr != nil {
			what = "damaged (" + trimErr(confErr) + ")"
		}
		if s.mode != OpenSalvage {
			return withDetail(ErrCorrupt, configBase+".1|2|3 is "+what+" but the directory holds a registry: restore it, or run regwasm recover")
		}
	}
	set := DefaultSettings()
	if confData != nil {
		f, err := ParseINI(confData)
		if err == nil {
			err = f.Read(configSection, set.entries())
		}
		if err != nil {
			return &FileError{Name: configBase, Err: err}
		}
	}
	if _, ok := ParseGUID(set.MachineGUID); !ok {
		g, err := s.newIdentity()
		if err != nil {
			return err
		}
		set.MachineGUID = g.String()
	}
	if err := s.apply(set); err != nil {
		return err
	}
	reg := s.fresh()
	logData, err := s.st.ReadFile(logBase)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	recs, _, err := scanLegacyLog(logData)
	if err != nil && s.mode != OpenSalvage {
		return &FileError{Name: logBase, Err: err}
	}
	snaps, _ := NewRotation(s.st, snapshotBase, VerifySnapshot)
	data, choice, err := snaps.Read()
	if errors.Is(err, ErrCorrupt) && len(recs) > 0 && recs[0].seq == 1 && len(recs[0].batch) > 0 {
		// No snapshot verifies but the log holds every change from the first: a torn first save.
		data, err = nil, nil
	}
	if err != nil && s.mode != OpenSalvage {
		return err
	}
	var seq uint64
	if data != nil {
		h, err := reg.loadSnapshot(data, false)
		if err != nil {
			return &FileError{Name: choice.Name(), Err: err}
		}
		seq = h.Seq
	}
	if len(recs) > 0 && recs[0].seq > seq+1 && s.mode != OpenSalvage {
		return &FileError{Name: logBase, Err: corruptAt("log starts at change "+uitoa(recs[0].seq)+" but the snapshot holds up to "+uitoa(seq), 0)}
	}
	var live []logRecord
	for _, r := range recs {
		if len(r.batch) > 0 {
			live = append(live, r)
		}
	}
	seq, unsaved, err := reg.replay(live, seq)
	if err != nil && s.mode != OpenSalvage {
		return &FileError{Name: logBase, Err: err}
	}
	s.base, s.chain, s.gen = nil, nil, 0
	s.seq, s.acked, s.savedSeq, s.durable, s.unsaved, s.unsynced, s.lastSave = seq, seq, seq, seq, unsaved, 0, 0
	s.notes = []string{"the directory is in the first format (registry.log, version 1 snapshots)"}
	s.install(reg)
	if !repair {
		return nil
	}
	return s.convert()
}

// convert saves a first-format registry as a generation of this format, then removes the old
// files. Until the new snapshot is durable they are all there is, and stay.
func (s *Store) convert() error {
	g := segState{ext: s.freeExt(logBase, 0), base: s.seq, gen: 1, size: segHeaderLen, first: s.seq + 1, last: s.seq}
	if err := s.writeSynced(g.name(), appendSegmentHeader(nil, s.seq, 1)); err != nil {
		return err
	}
	s.chain = []segState{g}
	if s.mode == OpenSalvage {
		return s.salvage()
	}
	if _, err := s.save(); err != nil {
		return err
	}
	if err := s.retire(); err != nil {
		return err
	}
	s.notes = append(s.notes, "converted to the current format")
	return nil
}
