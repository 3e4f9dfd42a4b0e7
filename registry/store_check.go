package registry

import (
	"errors"
	"io/fs"
)

// fileOp runs the actions that work on the store's files. Their fields (request.go) name
// files in the storage, validated by the Storage itself.
func (s *Store) fileOp(req *Request, body []byte) (Result, []byte) {
	switch req.Op {
	case OpCheck:
		rep := s.Check()
		return Result{Status: 200}, rep.AppendJSON(body)
	case OpImport:
		return s.importOp(req, body)
	case OpExport:
		return s.exportOp(req, body)
	case OpConfigure:
		return s.configureOp(req, body)
	}
	return Result{Status: 400, Err: ErrBadRequest}, s.reg.failed(body, "file", ErrBadRequest)
}

// CheckReport is what `regwasm check` prints: every file verified, and which snapshot the
// rotation chooses and why.
type CheckReport struct {
	Healthy        bool
	Snapshot       string // chosen snapshot file, "" if none
	SnapshotReason string // the rotation's explanation
	SnapshotError  string
	Config         string
	ConfigReason   string
	ConfigError    string
	LogRecords     int
	LogBytes       int
	LogTornTail    int // bytes a load would cut off
	LogError       string
}

// Check verifies the files without changing them.
func (s *Store) Check() CheckReport {
	var rep CheckReport
	data, c, err := s.snaps.Read()
	rep.Snapshot, rep.SnapshotReason = c.Name(), c.String()
	if err == nil && data != nil {
		_, err = New(Config{}).LoadSnapshot(data)
	}
	if err != nil {
		rep.SnapshotError = err.Error()
	}
	_, cc, cerr := s.conf.Read()
	rep.Config, rep.ConfigReason = cc.Name(), cc.String()
	if cerr != nil {
		rep.ConfigError = cerr.Error()
	}
	logData, lerr := s.st.ReadFile(logName)
	if lerr == nil {
		recs, valid, err := scanLog(logData)
		rep.LogRecords, rep.LogBytes, rep.LogTornTail = len(recs), len(logData), len(logData)-valid
		lerr = err
		var seq uint64
		if data != nil {
			seq, _ = SnapshotSeq(data)
		}
		if lerr == nil && len(recs) > 0 && recs[0].seq > seq+1 {
			lerr = corruptAt("log starts at change "+uitoa(recs[0].seq)+" but the snapshot holds up to "+uitoa(seq), 0)
		}
	} else if errors.Is(lerr, fs.ErrNotExist) {
		lerr = nil
	}
	if lerr != nil {
		rep.LogError = lerr.Error()
	}
	rep.Healthy = err == nil && cerr == nil && lerr == nil && rep.LogTornTail == 0
	return rep
}

// AppendJSON writes the report as the module's check answer.
func (r CheckReport) AppendJSON(b []byte) []byte {
	b = append(b, `{"healthy":`...)
	if r.Healthy {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	b = append(b, `,"snapshot":{"chosen":`...)
	b = appendJSONString(b, r.Snapshot)
	b = append(b, `,"explain":`...)
	b = appendJSONString(b, r.SnapshotReason)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, r.SnapshotError)
	b = append(b, `},"config":{"chosen":`...)
	b = appendJSONString(b, r.Config)
	b = append(b, `,"explain":`...)
	b = appendJSONString(b, r.ConfigReason)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, r.ConfigError)
	b = append(b, `},"log":{`...)
	b = append(b, `"records":`...)
	b = appendUint(b, uint64(r.LogRecords))
	b = appendUintField(b, "bytes", uint64(r.LogBytes))
	b = appendUintField(b, "torn_tail", uint64(r.LogTornTail))
	b = append(b, `,"error":`...)
	b = appendJSONString(b, r.LogError)
	return append(b, "}}"...)
}

func uitoa(v uint64) string { return string(appendUint(nil, v)) }
