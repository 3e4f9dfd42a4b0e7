package registry

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
)

// fileOp runs the actions that work on the store's files. Their fields (request.go) name
// files in the storage, validated by the Storage itself.
func (s *Store) fileOp(req *Request, body []byte) (Result, []byte) {
	switch req.Op {
	case OpCheck:
		rep := CheckStorage(s.st)
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

// CheckReport is what `regwasm check` prints: every file verified, what an open would load,
// and what is wrong.
type CheckReport struct {
	// Healthy: every file verifies and the set is whole. Leftovers of a crash (a torn log
	// tail, an unfinished save) are Notes and leave it healthy: an open clears them.
	Healthy bool
	// Loss says which acknowledged changes the files prove but cannot give back (an open
	// refuses; regwasm recover salvages the rest). "" when nothing is lost.
	Loss     string
	Open     string // what an open loads, in words
	Problems []string
	Notes    []string
	Files    []CheckFile

	Snapshot       string // chosen snapshot file, "" if none
	SnapshotReason string
	SnapshotError  string
	Config         string
	ConfigReason   string
	ConfigError    string
	LogRecords     int // records an open replays
	LogBytes       int // bytes of the log segments
	LogTornTail    int // bytes an open would cut off
	LogError       string
}

// CheckFile is one of the store's files and what check found in it.
type CheckFile struct {
	Name   string
	Bytes  int64
	Status string // "ok", "unused" (a previous generation kept as redundancy), or the problem
}

// CheckStorage verifies every file of the store kept in st without changing anything (it
// writes nothing and needs no lock: it reads the immutable snapshots and the log's verified
// prefix, so it works on a directory another process is writing).
func CheckStorage(st Storage) CheckReport {
	var rep CheckReport
	for attempt := 0; ; attempt++ {
		var err error
		rep, err = checkOnce(st)
		if err == nil || !errors.Is(err, ErrStale) || attempt >= 8 {
			if err != nil {
				rep.Problems = append(rep.Problems, err.Error())
				rep.Healthy = false
			}
			return rep
		}
	}
}

func checkOnce(st Storage) (CheckReport, error) {
	var rep CheckReport
	conf, _ := NewRotation(st, configBase, VerifyINI)
	confData, cc, cerr := conf.Read()
	rep.Config, rep.ConfigReason = cc.Name(), cc.String()
	if cerr != nil {
		rep.ConfigError = cerr.Error()
	}
	d, err := readFiles(st)
	if err != nil {
		return rep, err
	}
	// Verify every snapshot whole, not only the one a load starts from.
	for _, f := range d.snaps {
		if f.headerErr == nil {
			if _, err := readSnapshot(st, f); errors.Is(err, ErrStale) || errors.Is(err, fs.ErrNotExist) {
				return rep, withDetail(ErrStale, f.name()+" changed while it was checked")
			}
		}
	}
	plan, _ := planLoad(d, func(f *snapFile) ([]byte, error) {
		if f.bodyErr != nil {
			return nil, f.bodyErr
		}
		return nil, nil
	})
	rep.Problems, rep.Notes = plan.problems, plan.notes
	switch {
	case !d.hasData() && confData == nil && cerr == nil:
		rep.Open = "nothing: no registry here yet"
		rep.Notes = append(rep.Notes, "no registry here yet")
		rep.Healthy = true
		rep.Files = checkFiles(st, d, plan)
		return rep, nil
	case !d.hasData():
		rep.Problems = append(rep.Problems, "the registry's data files are missing but "+cc.Name()+" exists")
	case cerr != nil:
		rep.Problems = append(rep.Problems, "config: "+trimErr(cerr))
	case confData == nil:
		rep.Problems = append(rep.Problems, configBase+".1|2|3 is missing")
	}
	if d.legacy || hasV1Snapshot(d) {
		rep.Notes = append(rep.Notes, "first-format files (registry.log, version 1 snapshots): a writable open converts them")
	}
	if plan.lost() {
		rep.Loss = plan.lossMessage()
	}
	rep.Open = describePlan(plan)
	if plan.start != nil {
		rep.Snapshot = plan.start.name()
		rep.SnapshotReason = plan.start.name() + " (generation " + uitoa(plan.start.header.Gen) + ", change " + uitoa(plan.start.header.Seq) + ")"
	} else {
		rep.SnapshotReason = snapshotBase + ": none verified; the log is replayed from change 0"
	}
	for _, f := range d.snaps {
		if err := f.headerErr; err != nil || f.bodyErr != nil {
			if err == nil {
				err = f.bodyErr
			}
			if rep.SnapshotError != "" {
				rep.SnapshotError += "; "
			}
			rep.SnapshotError += f.name() + ": " + trimErr(err)
		}
	}
	for _, p := range plan.parts {
		rep.LogRecords += len(p.recs)
	}
	for _, sf := range d.segs {
		rep.LogBytes += sf.scan.size
		if dm := sf.scan.damage; dm != nil {
			rep.LogError = sf.name() + ": damaged at offset " + strconv.Itoa(dm.off) + " (" + dm.msg + ")"
		}
	}
	if plan.current != nil && plan.cut {
		rep.LogTornTail = plan.current.scan.tail()
	}
	rep.Files = checkFiles(st, d, plan)
	rep.Healthy = len(rep.Problems) == 0 && rep.Loss == ""
	return rep, nil
}

// describePlan says in words what an open loads.
func describePlan(p *loadPlan) string {
	var b strings.Builder
	if p.start != nil {
		b.WriteString(p.start.name() + " (change " + uitoa(p.start.header.Seq) + ")")
	} else {
		b.WriteString("the empty registry")
	}
	for _, part := range p.parts {
		b.WriteString(" + " + part.seg.name() + " (changes " + uitoa(part.recs[0].seq) + "-" + uitoa(part.recs[len(part.recs)-1].seq) + ")")
	}
	b.WriteString(": up to change " + uitoa(p.end))
	return b.String()
}

// checkFiles lists the store's files with what check found in each.
func checkFiles(st Storage, d *dirFiles, p *loadPlan) []CheckFile {
	used := map[string]bool{}
	if p.start != nil {
		used[p.start.name()] = true
	}
	for _, part := range p.parts {
		used[part.seg.name()] = true
	}
	if p.current != nil {
		used[p.current.name()] = true
	}
	names, _ := st.List()
	var out []CheckFile
	for _, n := range names {
		_, conf := extOf(n, configBase)
		if !isStoreFile(n) && !conf {
			continue
		}
		size, _ := st.Size(n)
		status := "ok"
		switch {
		case conf:
		case n == logBase:
			status = "first format"
		case strings.HasPrefix(n, snapshotBase):
			ext, _ := extOf(n, snapshotBase)
			if f := d.snap(ext); f != nil && (f.headerErr != nil || f.bodyErr != nil) {
				status = "does not verify"
				if f.torn() {
					status = "cut short: a save is writing it, or did not finish"
				}
			} else if !used[n] {
				status = "unused (the previous generation, kept as redundancy)"
			}
		default:
			ext, _ := extOf(n, logBase)
			if f := d.seg(ext); f != nil && (f.scan.damage != nil || !f.scan.headerOK) {
				status = "damaged"
			} else if f != nil && f.scan.tail() > 0 {
				status = strconv.Itoa(f.scan.tail()) + " bytes of an unfinished append"
			} else if !used[n] {
				status = "unused (the previous generation, kept as redundancy)"
			}
		}
		out = append(out, CheckFile{Name: n, Bytes: size, Status: status})
	}
	return out
}

// AppendJSON writes the report as the module's check answer.
func (r CheckReport) AppendJSON(b []byte) []byte {
	b = append(b, `{"healthy":`...)
	b = strconv.AppendBool(b, r.Healthy)
	b = append(b, `,"loss":`...)
	b = appendJSONString(b, r.Loss)
	b = append(b, `,"open":`...)
	b = appendJSONString(b, r.Open)
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
	b = append(b, `},"log":{"records":`...)
	b = appendUint(b, uint64(r.LogRecords))
	b = appendUintField(b, "bytes", uint64(r.LogBytes))
	b = appendUintField(b, "torn_tail", uint64(r.LogTornTail))
	b = append(b, `,"error":`...)
	b = appendJSONString(b, r.LogError)
	b = append(b, `},"problems":`...)
	b = appendJSONStrings(b, r.Problems)
	b = append(b, `,"notes":`...)
	b = appendJSONStrings(b, r.Notes)
	b = append(b, `,"files":[`...)
	for i, f := range r.Files {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, f.Name)
		b = appendUintField(b, "bytes", uint64(f.Bytes))
		b = append(b, `,"status":`...)
		b = appendJSONString(b, f.Status)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func appendJSONStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}
