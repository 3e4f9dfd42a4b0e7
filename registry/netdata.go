package registry

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// netdata's own files, so a registry can move between netdata and regwasm in both directions
// (facts in shared/reference/netdata-registry.md). Every record is one line; times, usages and
// flags are zero-padded lower-case hex.
//
// registry.db, the database netdata saves:
//
//	M first last usages guid                       a machine, exactly 65 bytes
//	V first last usages flags url                  one of its URLs (follows its M)
//	P first last usages guid                       a person, exactly 65 bytes
//	U first last usages flags machine name url     one of its URLs (follows its P)
//	T persons machines usages+1 0 person_urls machine_urls      totals, 16 digits each
//
// with the fields separated by single tabs. The 2016 prototype wrote U without the name and no
// T line; both forms are read, today's is written. Flag 0x01 is EXPIRED.
//
// registry-log.db, the changes since that save:
//
//	A|D when person machine name url               today (D: the name slot holds delete_url)
//	A   when person machine url                    2016
const (
	netdataExpired    = 0x01
	maxNetdataErrors  = 100 // skipped lines a report lists; Skipped counts them all
	netdataEntityLen  = 65  // P and M lines
	netdataURLMinLen  = 69  // U lines: up to the tab after the machine GUID
	netdataVMinLen    = 32  // V lines: up to the tab after the flags
	netdataTotalsLen  = 103 // T lines
	netdataLogMinLen  = 85  // A and D lines: up to the tab after the machine GUID
	netdataGUIDLen    = 36
	netdataTimeDigits = 8
)

// cookieCheckPerson is netdata's REGISTRY_VERIFY_COOKIES_GUID,
// 11111111-2222-3333-4444-555555555555: the cookie of its cookie-check redirect. netdata keeps
// it as a person with no URLs and logs its cookie-check accesses under it.
var cookieCheckPerson = GUID{0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}

// ErrNotNetdata means a file given as netdata's registry.db or registry-log.db has lines but
// not one of them is a netdata record (a binary snapshot, another text file): it is refused
// whole and nothing changes.
var ErrNotNetdata = errors.New("registry: not a netdata registry file")

// NetdataReport says what reading netdata's files did. Lines that netdata would skip are
// skipped here too and reported, never fatal.
type NetdataReport struct {
	Lines       int    // lines read
	Persons     uint64 // P lines applied
	Machines    uint64 // M lines applied
	PersonURLs  uint64 // U lines applied
	MachineURLs uint64 // V lines applied
	Accesses    uint64 // accesses added to the registry's count (for a log: A lines replayed)
	Deletes     uint64 // D lines replayed
	Expired     uint64 // persons the Store's save after the import purged as idle
	Skipped     int    // lines skipped
	// Errors are the first maxNetdataErrors skipped lines, in file order.
	Errors []NetdataLineError
}

// NetdataLineError is one skipped line.
type NetdataLineError struct {
	File   string // the file's name when a Store read it, else ""
	Line   int    // 1-based
	Reason string
}

func (rep *NetdataReport) skip(line int, reason string) {
	rep.Skipped++
	if len(rep.Errors) < maxNetdataErrors {
		rep.Errors = append(rep.Errors, NetdataLineError{Line: line, Reason: reason})
	}
}

// add sums o into rep, naming o's file in its errors.
func (rep *NetdataReport) add(o NetdataReport, file string) {
	rep.Lines += o.Lines
	rep.Persons += o.Persons
	rep.Machines += o.Machines
	rep.PersonURLs += o.PersonURLs
	rep.MachineURLs += o.MachineURLs
	rep.Accesses += o.Accesses
	rep.Deletes += o.Deletes
	rep.Expired += o.Expired
	rep.Skipped += o.Skipped
	for _, e := range o.Errors {
		if len(rep.Errors) == maxNetdataErrors {
			break
		}
		e.File = file
		rep.Errors = append(rep.Errors, e)
	}
}

// AppendJSON writes the report as the module's answer to an import.
func (rep *NetdataReport) AppendJSON(b []byte) []byte {
	b = append(b, `{"action":"import","status":"ok","persons":`...)
	b = appendUint(b, rep.Persons)
	b = appendUintField(b, "machines", rep.Machines)
	b = appendUintField(b, "person_urls", rep.PersonURLs)
	b = appendUintField(b, "machine_urls", rep.MachineURLs)
	b = appendUintField(b, "accesses", rep.Accesses)
	b = appendUintField(b, "deletes", rep.Deletes)
	b = appendUintField(b, "expired", rep.Expired)
	b = appendUintField(b, "lines", uint64(rep.Lines))
	b = appendUintField(b, "skipped", uint64(rep.Skipped))
	b = append(b, `,"errors":[`...)
	for i, e := range rep.Errors {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"line":`...)
		b = appendUint(b, uint64(e.Line))
		b = append(b, `,"file":`...)
		b = appendJSONString(b, e.File)
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, e.Reason)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// eachLine calls fn with every line of data and its 1-based number. A trailing "\r" and
// spaces are cut (netdata's reader trims line ends; cleaned URLs and names never end in a
// space), tabs are kept: they delimit fields, an empty last field included.
func eachLine(data []byte, fn func(no int, line []byte)) {
	for no := 1; len(data) > 0; no++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		for len(line) > 0 && (line[len(line)-1] == '\r' || line[len(line)-1] == ' ') {
			line = line[:len(line)-1]
		}
		fn(no, line)
	}
}

// firstRecord finds the first line parse accepts. A file with lines of which none is a
// record is not netdata's: the error names the first line and why it failed.
func firstRecord(data []byte, parse func(line []byte) string) error {
	found, first, firstNo := false, "", 0
	eachLine(data, func(no int, line []byte) {
		if found {
			return
		}
		why := parse(line)
		if why == "" {
			found = true
		} else if firstNo == 0 {
			first, firstNo = why, no
		}
	})
	if found || firstNo == 0 {
		return nil
	}
	return withDetail(ErrNotNetdata, "no line is a record (line "+strconv.Itoa(firstNo)+": "+first+")")
}

// missingTab returns the first of the offsets that does not hold a tab, or -1.
func missingTab(line []byte, offsets ...int) int {
	for _, at := range offsets {
		if at >= len(line) || line[at] != '\t' {
			return at
		}
	}
	return -1
}

// hexAt parses the n hex digits at line[at:], every one of them: netdata's strtoul would stop
// at the first other byte and take a prefix, which hides a damaged field.
func hexAt(line []byte, at, n int) (uint64, bool) {
	if at+n > len(line) {
		return 0, false
	}
	var v uint64
	for _, c := range line[at : at+n] {
		d := unhex(c)
		if d > 15 {
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

// guidField parses the GUID at line[at:]. The zero GUID is refused: the registry never has such
// a person or machine (a snapshot holding one would not load).
func guidField(line []byte, at int, what string) (GUID, string) {
	if at+netdataGUIDLen > len(line) {
		return GUID{}, what + " is cut short"
	}
	g, ok := ParseGUID(line[at : at+netdataGUIDLen])
	if !ok {
		return g, what + " is not a valid UUID"
	}
	if g.IsZero() {
		return g, what + " is zero"
	}
	return g, ""
}

// lineKind names a line's type for reasons: its first byte, quoted like 'M' (or '\xff').
func lineKind(line []byte) string {
	if len(line) == 0 {
		return "empty line"
	}
	if c := line[0]; c < 0x80 {
		return strconv.QuoteRune(rune(c)) + " line"
	}
	return `'\x` + string([]byte{hexDigits[line[0]>>4], hexDigits[line[0]&15]}) + "' line"
}

// reasonOf is an error's message without the package prefix, for line reports.
func reasonOf(err error) string { return strings.TrimPrefix(err.Error(), "registry: ") }

// addUsage adds two usage counts (low 31 bits), saturating like bump.
func addUsage(a, b uint32) uint32 {
	return uint32(min(uint64(a&usageMask)+uint64(b&usageMask), usageMask))
}

// maxNetdataAccesses bounds the access count an import adds up to, one below the largest
// value: netdata's save writes the count plus one, which must not wrap to 0.
const maxNetdataAccesses = 1<<64 - 2

// addAccesses adds to the access count, saturating: a file may claim any total.
func addAccesses(a, b uint64) uint64 {
	if a >= maxNetdataAccesses || b > maxNetdataAccesses-a {
		return max(a, maxNetdataAccesses)
	}
	return a + b
}
