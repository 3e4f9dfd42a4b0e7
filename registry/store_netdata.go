package registry

import (
	"bytes"
	"errors"
	"io/fs"
	"strconv"
)

// importOp loads netdata's files from the storage: the registry.db named by req.Person, then
// the registry-log.db named by req.Machine replayed on top of it, the order netdata loads
// them in. Either name may be empty, not both.
//
// Both files are read and checked to be netdata's before anything changes. The import is
// not logged record by record (its records are not requests): a Save writes a snapshot that
// holds it, and the import is acknowledged once that snapshot committed. The snapshot holds
// the batch's earlier changes too, so they leave the pending log batch. If the save fails,
// the registry is reloaded from the files, in place, dropping the half-applied import (and
// those earlier changes of the batch: memory never holds what the files do not).
//
// Status 400: a name missing or invalid, a file missing or not netdata's; 500: storage.
func (s *Store) importOp(req *Request, body []byte) (Result, []byte) {
	const action = "import"
	reg := s.reg
	dbFile, logFile := string(req.Person), string(req.Machine)
	if dbFile == "" && logFile == "" {
		return reg.fail(body, action, 400, ErrMissing)
	}
	if s.job != nil {
		// An import is acknowledged by the saves that hold it: it waits for the one running.
		return reg.fail(body, action, 503, ErrSaving)
	}
	var dbData, logData []byte
	var err error
	if dbFile != "" {
		if dbData, err = s.readImport(dbFile); err == nil {
			err = firstRecord(dbData, checkNetdataDBLine)
		}
	}
	if err == nil && logFile != "" {
		if logData, err = s.readImport(logFile); err == nil {
			err = firstRecord(logData, checkNetdataLogLine)
		}
	}
	if err != nil {
		return reg.fail(body, action, fileStatus(err), err)
	}

	// Checked: neither call below can fail now.
	var rep NetdataReport
	if dbFile != "" {
		part, _ := reg.ImportNetdataDB(dbData)
		rep.add(part, dbFile)
	}
	if logFile != "" {
		part, _ := reg.ReplayNetdataLog(logData)
		rep.add(part, logFile)
	}
	persons := reg.personIndex.count
	// The import is a change without a log record: it lives in the snapshots, so it takes a
	// sequence number of its own (a lost snapshot then shows as a gap in the chain), and two
	// saves put it in two generations before it is acknowledged.
	acked := s.seq
	s.seq++
	_, err = s.Save()
	if err == nil {
		_, err = s.Save()
	}
	if err == nil {
		// The record that acknowledges the import: with it, the log proves the import
		// happened, and losing both snapshots that hold it is detected.
		s.pending = appendLogRequest(s.pending[:0], &Request{Op: opNote, When: s.settings.Now(), Person: []byte("import")}, &Result{})
		if err = s.appendLog(s.pending); err != nil {
			err = s.fail(err, s.seq)
		}
	}
	// Nothing is left for the batch to log: the snapshot holds its earlier changes (or, if
	// the save failed, the reload below drops them), and Save logged the expiry it may have
	// put there.
	s.pending = s.pending[:0]
	if err != nil {
		if s.savedSeq < acked+1 {
			s.seq = acked
			if lerr := s.reload(acked); lerr != nil {
				err = errors.Join(err, lerr)
			}
		}
		return reg.fail(body, action, 500, err)
	}
	rep.Expired = uint64(persons - reg.personIndex.count)
	return Result{Status: 200}, rep.AppendJSON(body)
}

// readImport reads a file to import. A missing file is the caller's mistake, answered in the
// same words on every storage: the storage's own error names its path, which differs by host
// (the directory natively, "/" inside the module, nothing in memory).
func (s *Store) readImport(name string) ([]byte, error) {
	data, err := s.st.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		err = &FileError{Op: "read", Name: name, Err: fs.ErrNotExist}
	}
	return data, err
}

// exportOp writes the registry as netdata's registry.db text to the file req.Person names,
// synced, or answers the text itself as the body when no file is named (a read-only store
// writes nothing). The store's own files are refused: an export must never overwrite them.
func (s *Store) exportOp(req *Request, body []byte) (Result, []byte) {
	const action = "export"
	name := string(req.Person)
	if name == "" {
		return Result{Status: 200}, s.reg.AppendNetdataDB(body)
	}
	if err := s.writable(); err != nil && s.mode != OpenWrite {
		return s.reg.fail(body, action, 503, err)
	}
	if s.ownsFile(name) {
		return s.reg.fail(body, action, 400, withDetail(ErrBadName, strconv.Quote(name)+" is one of the store's own files"))
	}
	data := s.reg.AppendNetdataDB(nil)
	err := s.st.WriteFile(name, data)
	if err == nil {
		err = s.st.Sync(name)
	}
	if err != nil {
		return s.reg.fail(body, action, fileStatus(err), err)
	}
	body = append(body, `{"action":"export","status":"ok","file":`...)
	body = appendJSONString(body, name)
	body = appendUintField(body, "bytes", uint64(len(data)))
	body = appendUintField(body, "lines", uint64(bytes.Count(data, []byte{'\n'})))
	return Result{Status: 200}, append(body, '}')
}

// fileStatus is the status for a failed file action: the caller's mistake (a bad name, a
// missing file, a file that is not netdata's) is 400, anything else the storage's, 500.
func fileStatus(err error) int {
	if errors.Is(err, ErrBadName) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotNetdata) {
		return 400
	}
	return 500
}
