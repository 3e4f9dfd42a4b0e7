package registry

import (
	"bytes"
	"slices"
	"strconv"
)

// ImportNetdataDB merges netdata's registry.db text (today's form or the 2016 prototype's,
// see netdata.go) into the registry.
//
// Lines are skipped and reported the way netdata skips them: a malformed line (wrong length,
// a tab missing where netdata looks for one, a hex field that is not all hex digits, a GUID
// that does not parse), a U or V line with no P or M line before it, an unknown line type.
// Each line is checked completely before it changes anything. Unlike netdata, a malformed P
// or M line also ends the lines of the person or machine before it (netdata would hang its
// U or V lines on that previous one), and a V line belongs only to the M line before it
// (netdata would take the machine of a preceding U line).
//
// Merge rule, for GUIDs and URLs the registry already has (or that a file lists twice):
//   - a person or machine keeps the earlier first time and the later last time, and the
//     usages add up (saturating at 2^31-1);
//   - a URL already linked to the person (or machine) does the same, and the entry with the
//     later last time decides the rest: the machine the URL reaches, its name and its
//     EXPIRED flag (the file's on a tie, as netdata's load overwrites).
//
// Lists are read newest first, as netdata writes them (AppendNetdataDB too): links new to
// the registry become its newest, in the file's order; links it has keep their place. (netdata
// itself prepends each line as it loads, so every restart turns its lists around.)
//
// A U line naming a machine with no M line creates that machine, as netdata does. URLs and
// names are cleaned as requests' are; a URL that cleaning rejects skips its line.
// The access count grows by the T line's usages minus the one netdata adds when it saves,
// or, for a file without one (2016), by the M lines' usages: every access counts one
// usage of exactly one machine.
//
// The error is [ErrNotNetdata] when the file has lines but none is a record; then nothing
// changed. Import never fails otherwise: the report lists what was skipped.
func (r *Registry) ImportNetdataDB(data []byte) (NetdataReport, error) {
	if err := firstRecord(data, checkNetdataDBLine); err != nil {
		return NetdataReport{}, err
	}
	ld := netdataLoader{r: r, person: -1, machine: -1}
	eachLine(data, ld.line)
	ld.endSection()
	added := ld.machineUsages
	if ld.totals {
		added = max(ld.totalUsages, 1) - 1
	}
	before := r.accesses
	r.accesses = addAccesses(r.accesses, added)
	ld.rep.Accesses = r.accesses - before
	return ld.rep, nil
}

// netdataLoader is the state of reading one registry.db.
type netdataLoader struct {
	r               *Registry
	rep             NetdataReport
	person, machine int    // the entity U and V lines attach to, -1 when none
	sectionStart    uint32 // its block's length at its P or M line
	machineUsages   uint64
	totals          bool // a valid T line was read
	totalUsages     uint64
}

// netdataEntity is a parsed P or M line.
type netdataEntity struct {
	guid               GUID
	first, last, usage uint32
}

// netdataURL is a parsed U or V line. machine is zero for V lines.
type netdataURL struct {
	first, last, usage uint32 // usage carries flagExpired
	machine            GUID
	name, url          []byte // raw, not cleaned yet
}

func (ld *netdataLoader) line(no int, line []byte) {
	ld.rep.Lines++
	if len(line) == 0 {
		ld.rep.skip(no, "empty line")
		return
	}
	why := ""
	switch kind := line[0]; kind {
	case 'P', 'M':
		// Whatever this line holds, the U or V lines after it are its own: never hang them
		// on the entity before it.
		ld.endSection()
		var e netdataEntity
		if e, why = parseNetdataEntity(line); why != "" {
			break
		}
		switch {
		case kind == 'P' && e.guid == cookieCheckPerson:
			why = "'P' line: netdata's cookie-check person, which regwasm does not keep"
		case kind == 'P':
			ld.person = int(ld.r.importPerson(&e))
			ld.sectionStart = ld.r.persons[ld.person].n
			ld.rep.Persons++
		default:
			ld.machine = int(ld.r.importMachine(&e))
			ld.sectionStart = ld.r.machines[ld.machine].n
			ld.machineUsages += uint64(e.usage)
			ld.rep.Machines++
		}
	case 'U':
		var u netdataURL
		if u, why = parseNetdataURL(line, true); why != "" {
			break
		}
		if ld.person < 0 {
			why = "U line with no valid P line before it"
			break
		}
		if why = ld.r.importPersonURL(uint32(ld.person), &u); why == "" {
			ld.rep.PersonURLs++
		}
	case 'V':
		var u netdataURL
		if u, why = parseNetdataURL(line, false); why != "" {
			break
		}
		if ld.machine < 0 {
			why = "V line with no valid M line before it"
			break
		}
		if why = ld.r.importMachineURL(uint32(ld.machine), &u); why == "" {
			ld.rep.MachineURLs++
		}
	case 'T':
		var usages uint64
		if usages, why = parseNetdataTotals(line); why == "" {
			ld.totals, ld.totalUsages = true, usages // the last T line counts, as in netdata
		}
	default:
		why = "unknown line type " + lineKind(line)
	}
	if why != "" {
		ld.rep.skip(no, why)
	}
}

// endSection ends the lines of the current P or M line. netdata writes a list newest first
// and the registry keeps its blocks oldest first, so the links the section added (at the end
// of the block, in file order) are turned around.
func (ld *netdataLoader) endSection() {
	var blk []personURL
	var mblk []machineURL
	switch {
	case ld.person >= 0:
		blk = ld.r.personBlock(&ld.r.persons[ld.person])[ld.sectionStart:]
	case ld.machine >= 0:
		mblk = ld.r.machineBlock(&ld.r.machines[ld.machine])[ld.sectionStart:]
	}
	slices.Reverse(blk)
	slices.Reverse(mblk)
	ld.person, ld.machine = -1, -1
}

// checkNetdataDBLine reports why a line is not a well-formed registry.db record, "" if it is
// one (whatever its context).
func checkNetdataDBLine(line []byte) string {
	if len(line) == 0 {
		return "empty line"
	}
	switch line[0] {
	case 'P', 'M':
		_, why := parseNetdataEntity(line)
		return why
	case 'U', 'V':
		_, why := parseNetdataURL(line, line[0] == 'U')
		return why
	case 'T':
		_, why := parseNetdataTotals(line)
		return why
	}
	return "unknown line type " + lineKind(line)
}

// parseNetdataEntity parses `P|M \t first \t last \t usages \t guid`.
func parseNetdataEntity(line []byte) (netdataEntity, string) {
	var e netdataEntity
	kind := lineKind(line)
	if len(line) != netdataEntityLen {
		return e, kind + ": length " + strconv.Itoa(len(line)) + ", want 65"
	}
	if at := missingTab(line, 1, 10, 19, 28); at >= 0 {
		return e, kind + ": no tab at offset " + strconv.Itoa(at)
	}
	var why string
	if e.first, e.last, e.usage, why = parseNetdataTimes(line); why != "" {
		return e, kind + ": " + why
	}
	if e.guid, why = guidField(line, 29, "GUID"); why != "" {
		return e, kind + ": " + why
	}
	return e, ""
}

// parseNetdataURL parses `U \t first \t last \t usages \t flags \t machine [\t name] \t url`
// (person) or `V \t first \t last \t usages \t flags \t url` (machine).
func parseNetdataURL(line []byte, person bool) (netdataURL, string) {
	var u netdataURL
	kind := lineKind(line)
	minLen, tabs := netdataVMinLen, []int{1, 10, 19, 28, 31}
	if person {
		minLen, tabs = netdataURLMinLen, []int{1, 10, 19, 28, 31, 68}
	}
	if len(line) < minLen {
		return u, kind + ": length " + strconv.Itoa(len(line)) + ", want at least " + strconv.Itoa(minLen)
	}
	if at := missingTab(line, tabs...); at >= 0 {
		return u, kind + ": no tab at offset " + strconv.Itoa(at)
	}
	var why string
	if u.first, u.last, u.usage, why = parseNetdataTimes(line); why != "" {
		return u, kind + ": " + why
	}
	flags, ok := hexAt(line, 29, 2)
	if !ok {
		return u, kind + ": flags are not 2 hex digits"
	}
	if flags&netdataExpired != 0 { // netdata defines no other flag
		u.usage |= flagExpired
	}
	if !person {
		u.url = line[32:]
		return u, ""
	}
	if u.machine, why = guidField(line, 32, "machine GUID"); why != "" {
		return u, kind + ": " + why
	}
	// Today's line has the name, then the URL; the 2016 prototype's only the URL. Neither
	// can hold a tab, so the first one after the GUID tells them apart.
	rest := line[69:]
	if i := bytes.IndexByte(rest, '\t'); i >= 0 {
		u.name, u.url = rest[:i], rest[i+1:]
	} else {
		u.url = rest
	}
	return u, ""
}

// parseNetdataTimes parses the first, last and usages fields of P, M, U and V lines.
func parseNetdataTimes(line []byte) (first, last, usage uint32, why string) {
	f, ok1 := hexAt(line, 2, netdataTimeDigits)
	l, ok2 := hexAt(line, 11, netdataTimeDigits)
	n, ok3 := hexAt(line, 20, netdataTimeDigits)
	switch {
	case !ok1:
		return 0, 0, 0, "first time is not 8 hex digits"
	case !ok2:
		return 0, 0, 0, "last time is not 8 hex digits"
	case !ok3:
		return 0, 0, 0, "usages are not 8 hex digits"
	}
	return uint32(f), uint32(l), uint32(min(n, usageMask)), ""
}

// parseNetdataTotals parses `T \t persons \t machines \t usages \t urls \t person_urls \t
// machine_urls` and returns the usages. The other counts are not taken: the registry counts
// what it holds.
func parseNetdataTotals(line []byte) (uint64, string) {
	if len(line) != netdataTotalsLen {
		return 0, "'T' line: length " + strconv.Itoa(len(line)) + ", want 103"
	}
	if at := missingTab(line, 1, 18, 35, 52, 69, 86); at >= 0 {
		return 0, "'T' line: no tab at offset " + strconv.Itoa(at)
	}
	var usages uint64
	for i := 0; i < 6; i++ {
		v, ok := hexAt(line, 2+17*i, 16)
		if !ok {
			return 0, "'T' line: field " + strconv.Itoa(i+1) + " is not 16 hex digits"
		}
		if i == 2 {
			usages = v
		}
	}
	return usages, ""
}

// importPerson adds the person of a P line, or merges it into the one with its GUID.
func (r *Registry) importPerson(e *netdataEntity) uint32 {
	idx, ok := r.findPerson(&e.guid)
	if !ok {
		idx = r.newPerson(e.guid, e.first)
	}
	p := &r.persons[idx]
	mergeEntity(&p.first, &p.last, &p.usage, e, !ok)
	return idx
}

func (r *Registry) importMachine(e *netdataEntity) uint32 {
	idx, ok := r.findMachine(&e.guid)
	if !ok {
		idx = r.newMachine(e.guid, e.first)
	}
	m := &r.machines[idx]
	mergeEntity(&m.first, &m.last, &m.usage, e, !ok)
	return idx
}

// mergeEntity applies the merge rule to a person's or machine's fields (fresh: just made).
func mergeEntity(first, last, usage *uint32, e *netdataEntity, fresh bool) {
	if fresh {
		*first, *last, *usage = e.first, e.last, e.usage
		return
	}
	*first, *last, *usage = min(*first, e.first), max(*last, e.last), addUsage(*usage, e.usage)
}

// importPersonURL links the person to the URL of a U line, or merges the line into the link
// the person has. It returns why the line is skipped, "" when applied.
func (r *Registry) importPersonURL(pidx uint32, u *netdataURL) string {
	url, err := r.cleanURL(u.url)
	if err != nil {
		return "'U' line: URL: " + reasonOf(err)
	}
	name := cleanText(u.name, r.cfg.MaxNameLength, &r.nameBuf)
	// Checked: now change things.
	midx, known := r.findMachine(&u.machine)
	if !known {
		midx = r.newMachine(u.machine, u.first)
	}
	p := &r.persons[pidx]
	i := r.findPersonURLID(p, r.urls.find(url))
	if i < 0 {
		pu := r.appendPersonURL(p, r.urls.ref(url))
		pu.machine, pu.name, pu.first, pu.last, pu.usage = midx, r.names.ref(name), u.first, u.last, u.usage
		return ""
	}
	pu := &r.personBlock(p)[i]
	later := u.last >= pu.last
	pu.first, pu.last = min(pu.first, u.first), max(pu.last, u.last)
	sum := addUsage(pu.usage, u.usage)
	if !later {
		pu.usage = sum | pu.usage&flagExpired
		return ""
	}
	pu.usage = sum | u.usage&flagExpired
	pu.machine = midx
	if !sameBytes(r.names.bytes(pu.name), name) {
		old := pu.name
		pu.name = r.names.ref(name)
		r.names.unref(old)
	}
	return ""
}

// importMachineURL is importPersonURL for a machine and a V line.
func (r *Registry) importMachineURL(midx uint32, u *netdataURL) string {
	url, err := r.cleanURL(u.url)
	if err != nil {
		return "'V' line: URL: " + reasonOf(err)
	}
	m := &r.machines[midx]
	j := r.findMachineURLID(m, r.urls.find(url))
	if j < 0 {
		mu := r.appendMachineURL(m, r.urls.ref(url))
		mu.first, mu.last, mu.usage = u.first, u.last, u.usage
		return ""
	}
	mu := &r.machineBlock(m)[j]
	flag := mu.usage & flagExpired
	if u.last >= mu.last {
		flag = u.usage & flagExpired
	}
	mu.first, mu.last = min(mu.first, u.first), max(mu.last, u.last)
	mu.usage = addUsage(mu.usage, u.usage) | flag
	return ""
}

// ReplayNetdataLog applies netdata's registry-log.db (see netdata.go) to the registry, line
// by line, as accesses and deletes. Like today's netdata, and unlike the 2016 prototype, an
// access re-creates the person GUID the line names when the registry does not know it.
// Replay therefore belongs after the import of the registry.db the log followed.
//
// A malformed line (length, tabs, time, a GUID that does not parse or is zero), an unknown
// line type and a line the action refuses (a delete of a URL the person does not have, a URL
// not starting with 'h' or '*') are skipped and reported. The error is [ErrNotNetdata] when
// the file has lines but none is a record; then nothing changed.
func (r *Registry) ReplayNetdataLog(data []byte) (NetdataReport, error) {
	var rep NetdataReport
	if err := firstRecord(data, checkNetdataLogLine); err != nil {
		return rep, err
	}
	var body []byte
	eachLine(data, func(no int, line []byte) {
		rep.Lines++
		req, why := parseNetdataLogLine(line)
		if why != "" {
			rep.skip(no, why)
			return
		}
		var res Result
		res, body = r.Do(&req, body[:0])
		switch {
		case res.Status == 200 && req.Op == OpAccess:
			rep.Accesses++
		case res.Status == 200:
			rep.Deletes++
		case res.Err != nil:
			rep.skip(no, lineKind(line)+": "+reasonOf(res.Err))
		default:
			rep.skip(no, lineKind(line)+": refused with status "+strconv.Itoa(res.Status))
		}
	})
	return rep, nil
}

// checkNetdataLogLine reports why a line is not a well-formed registry-log.db record, "" if it
// is one.
func checkNetdataLogLine(line []byte) string {
	_, why := parseNetdataLogLine(line)
	return why
}

// parseNetdataLogLine turns a registry-log.db line into the request it records.
func parseNetdataLogLine(line []byte) (Request, string) {
	kind := lineKind(line)
	req := Request{Flags: flagReplay | FlagQuiet}
	switch {
	case len(line) == 0:
		return req, "empty line"
	case line[0] == 'A':
		req.Op = OpAccess
	case line[0] == 'D':
		req.Op = OpDelete
	default:
		return req, "unknown line type " + kind
	}
	if len(line) < netdataLogMinLen {
		return req, kind + ": length " + strconv.Itoa(len(line)) + ", want at least 85"
	}
	if at := missingTab(line, 1, 10, 47, 84); at >= 0 {
		return req, kind + ": no tab at offset " + strconv.Itoa(at)
	}
	when, ok := hexAt(line, 2, netdataTimeDigits)
	if !ok {
		return req, kind + ": time is not 8 hex digits"
	}
	if _, why := guidField(line, 11, "person GUID"); why != "" {
		return req, kind + ": " + why
	}
	if _, why := guidField(line, 48, "machine GUID"); why != "" {
		return req, kind + ": " + why
	}
	req.When, req.Person, req.Machine = uint32(when), line[11:47], line[48:84]
	if g, _ := ParseGUID(req.Person); g == cookieCheckPerson && req.Op == OpAccess {
		// netdata logs its cookie-check accesses under that person and replays them as such.
		req.Flags |= FlagMachineOnly
	}
	rest := line[85:]
	if i := bytes.IndexByte(rest, '\t'); i >= 0 {
		req.Arg, req.URL = rest[:i], rest[i+1:]
	} else if req.Op == OpAccess {
		req.URL = rest // 2016: no name
	} else {
		return req, kind + ": no tab between delete_url and url"
	}
	return req, ""
}
