package registry

import (
	"errors"
	"strconv"
	"strings"
)

// SaveInfo describes a committed snapshot.
type SaveInfo struct {
	File  string
	Seq   uint64
	Bytes int
}

// Save purges expired persons (a logged change) and writes a new generation: a log segment
// for the changes after it, then a snapshot of the registry. The previous snapshot and the
// log since it stay until the next save, so one damaged file costs nothing. A failed save
// leaves the files as they were and is reported in Info until a save succeeds. A store whose
// writes stopped after a storage failure tries to resume (see Store).
func (s *Store) Save() (SaveInfo, error) {
	var info SaveInfo
	var err error
	if s.writeErr != nil && s.mode != OpenReadOnly {
		err = s.resume()
		info = s.lastInfo()
	} else {
		info, err = s.save()
	}
	s.saveErr = ""
	if err != nil {
		s.saveErr = err.Error()
	}
	return info, err
}

func (s *Store) lastInfo() SaveInfo {
	if s.base == nil {
		return SaveInfo{Seq: s.savedSeq}
	}
	return SaveInfo{File: s.base.name(), Seq: s.savedSeq, Bytes: int(s.base.size)}
}

func (s *Store) save() (SaveInfo, error) {
	job, err := s.beginSave(false)
	if err != nil {
		return SaveInfo{}, err
	}
	f := &snapFile{ext: job.ext, header: job.header}
	if _, err := writeSnapshotFile(s.st, s.reg, f); err != nil {
		s.dropNewSegment(job)
		return SaveInfo{}, err
	}
	return s.adopt(job, f), nil
}

// writeSynced creates name with data and makes it durable; on failure it removes what it
// wrote, if it can.
func (s *Store) writeSynced(name string, data []byte) error {
	err := s.st.WriteFile(name, data)
	if err == nil {
		err = s.st.Sync(name)
	}
	if err != nil {
		_ = s.st.Remove(name)
	}
	return err
}

// retire removes the files the current chain does not need: the previous generation (kept
// until this save), snapshots and segments that did not verify, unfinished saves, and the
// first format's files once a snapshot of this format exists.
func (s *Store) retire() error {
	names, err := s.st.List()
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	if s.base != nil {
		keep[s.base.name()] = true
	}
	for _, g := range s.chain {
		keep[g.name()] = true
	}
	for _, n := range names {
		if !isStoreFile(n) || keep[n] {
			continue
		}
		if s.base == nil && (n == logBase || s.isV1Snapshot(n)) {
			// Before the first snapshot of this format, the first format's files stay: they
			// may be all there is.
			continue
		}
		if err := s.st.Remove(n); err != nil {
			return err
		}
	}
	return nil
}

// isV1Snapshot reports whether name is a snapshot of the first format.
func (s *Store) isV1Snapshot(name string) bool {
	if !strings.HasPrefix(name, snapshotBase+".") {
		return false
	}
	var buf [snapHeaderV1]byte
	n, _ := s.st.ReadAt(name, buf[:], 0)
	h, _, err := ParseSnapshotHeader(buf[:n])
	return err == nil && h.Version == 1
}

// freeExt returns the first extension after after (cyclically) that no base.N file uses, 0 if
// all three are taken.
func (s *Store) freeExt(base string, after int) int {
	for k := 1; k <= 3; k++ {
		ext := (after+k-1)%3 + 1
		if _, err := s.st.Size(base + "." + strconv.Itoa(ext)); err != nil {
			return ext
		}
	}
	return 0
}

// salvage ends a salvage: the settings are written (a rebuilt config), then two generations,
// so that the directory holds only what verified, with the usual redundancy.
func (s *Store) salvage() error {
	if _, c, err := s.conf.Read(); errors.Is(err, ErrCorrupt) {
		// The config that does not verify gives way to the one rebuilt (its identity kept).
		if _, err := s.conf.Discard(c); err != nil {
			return err
		}
	}
	if _, err := s.writeSettings(&s.settings); err != nil {
		return err
	}
	if len(s.chain) == 0 {
		// Nothing continues the chain (its segments were lost): start a segment here.
		g := segState{ext: s.freeExt(logBase, 0), base: s.seq, gen: s.gen + 1, size: segHeaderLen, first: s.seq + 1, last: s.seq}
		if g.ext == 0 {
			return errors.New("registry: salvage: no free log segment slot")
		}
		if err := s.writeSynced(g.name(), appendSegmentHeader(nil, s.seq, g.gen)); err != nil {
			return err
		}
		s.chain, s.gen = []segState{g}, g.gen
	}
	for range 2 {
		if _, err := s.save(); err != nil {
			return err
		}
	}
	return nil
}

// AppendJSON writes the save's outcome as the JSON object the module's save export answers.
func (i SaveInfo) AppendJSON(b []byte) []byte {
	b = append(b, `{"file":`...)
	b = appendJSONString(b, i.File)
	b = appendUintField(b, "seq", i.Seq)
	b = appendUintField(b, "bytes", uint64(i.Bytes))
	return append(b, '}')
}
