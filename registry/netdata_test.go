package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Test lines are written with fmt, independently of the exporter, so a format slip on either
// side shows.

const (
	np1   = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	np2   = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
	np3   = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
	nzero = "00000000-0000-0000-0000-000000000000"
)

func ndEntity(kind byte, first, last, usage uint32, guid string) string {
	return fmt.Sprintf("%c\t%08x\t%08x\t%08x\t%s\n", kind, first, last, usage, guid)
}

func ndV(first, last, usage uint32, flags uint8, url string) string {
	return fmt.Sprintf("V\t%08x\t%08x\t%08x\t%02x\t%s\n", first, last, usage, flags, url)
}

// ndU writes today's U line, or the 2016 one when name is "-".
func ndU(first, last, usage uint32, flags uint8, machine, name, url string) string {
	if name == "-" {
		return fmt.Sprintf("U\t%08x\t%08x\t%08x\t%02x\t%s\t%s\n", first, last, usage, flags, machine, url)
	}
	return fmt.Sprintf("U\t%08x\t%08x\t%08x\t%02x\t%s\t%s\t%s\n", first, last, usage, flags, machine, name, url)
}

func ndT(persons, machines, usages, personURLs, machineURLs uint64) string {
	return fmt.Sprintf("T\t%016x\t%016x\t%016x\t%016x\t%016x\t%016x\n", persons, machines, usages, 0, personURLs, machineURLs)
}

// ndLog writes a registry-log.db line: today's with a name (for D the delete_url), the 2016
// one when name is "-".
func ndLog(kind byte, when uint32, person, machine, name, url string) string {
	if name == "-" {
		return fmt.Sprintf("%c\t%08x\t%s\t%s\t%s\n", kind, when, person, machine, url)
	}
	return fmt.Sprintf("%c\t%08x\t%s\t%s\t%s\t%s\n", kind, when, person, machine, name, url)
}

// skipped is a report's skipped lines as "number: reason".
func skipped(rep NetdataReport) []string {
	var out []string
	for _, e := range rep.Errors {
		out = append(out, strconv.Itoa(e.Line)+": "+e.Reason)
	}
	return out
}

// wantSkipped checks that the report skipped exactly the lines of want, each for a reason
// containing the given text.
func wantSkipped(t *testing.T, rep NetdataReport, want map[int]string) {
	t.Helper()
	if rep.Skipped != len(want) || len(rep.Errors) != len(want) {
		t.Errorf("skipped %d lines, want %d: %q", rep.Skipped, len(want), skipped(rep))
	}
	for _, e := range rep.Errors {
		w, ok := want[e.Line]
		if !ok {
			t.Errorf("line %d skipped (%s), want it imported", e.Line, e.Reason)
		} else if !strings.Contains(e.Reason, w) {
			t.Errorf("line %d: reason %q, want it to say %q", e.Line, e.Reason, w)
		}
		delete(want, e.Line)
	}
	for line, w := range want {
		t.Errorf("line %d not reported, want %q", line, w)
	}
}

func mustInvariants(t testing.TB, r *Registry) {
	t.Helper()
	if err := r.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

func exported(r *Registry) string { return string(r.AppendNetdataDB(nil)) }

// wantLines checks that text has every one of lines.
func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, l) {
			t.Errorf("missing line %q in:\n%s", l, text)
		}
	}
}

func personGUIDs(r *Registry) []string {
	var out []string
	for _, i := range r.personsByGUID() {
		out = append(out, r.persons[i].guid.String())
	}
	return out
}

func TestNetdataExportFormat(t *testing.T) {
	r := newTestRegistry(t)
	res, _ := access(t, r, 0x100, "", m1, "http://a/", "alpha")
	p := res.Person.String()
	access(t, r, 0x200, p, m2, "http://a/", "al\tpha") // the URL moves: m1's entry expires
	access(t, r, 0x300, p, m1, "http://b/\n", "")
	access(t, r, 0x400, p, m3, "http://x/\ty\r\nz", "a\tb\nc\x01d")
	want := ndEntity('M', 0x100, 0x300, 2, m1) + // lists newest first, as netdata writes them
		ndV(0x300, 0x300, 1, 0, "http://b/") +
		ndV(0x100, 0x100, 1, 1, "http://a/") +
		ndEntity('M', 0x200, 0x200, 1, m2) +
		ndV(0x200, 0x200, 1, 0, "http://a/") +
		ndEntity('M', 0x400, 0x400, 1, m3) +
		ndV(0x400, 0x400, 1, 0, "http://x/ y  z") +
		ndEntity('P', 0x100, 0x400, 4, p) +
		ndU(0x400, 0x400, 1, 0, m3, "a b c d", "http://x/ y  z") +
		ndU(0x300, 0x300, 1, 0, m1, "", "http://b/") +
		ndU(0x100, 0x200, 2, 0, m2, "al pha", "http://a/") +
		ndT(1, 3, 5, 3, 4)
	got := exported(r)
	if got != want {
		t.Fatalf("export:\n%s\nwant:\n%s", got, want)
	}
	// Every line has its fields where netdata looks: tabs and line ends in names and URLs
	// were cleaned to spaces, so the tab counts are fixed.
	tabs := map[byte]int{'M': 4, 'V': 5, 'P': 4, 'U': 7, 'T': 6}
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if n := strings.Count(line, "\t"); n != tabs[line[0]] || strings.ContainsAny(line, "\r\x01") {
			t.Errorf("line %q has %d tabs, want %d", line, n, tabs[line[0]])
		}
	}
	if got := exported(New(Config{})); got != ndT(0, 0, 1, 0, 0) {
		t.Fatalf("empty registry exports %q", got)
	}
}

// TestNetdataRoundTrip: export, import into an empty registry, export again: the same text
// and the same contents, counters included.
func TestNetdataRoundTrip(t *testing.T) {
	for seed := uint64(0); seed < 6; seed++ {
		r := New(Config{Rand: seeded{rand.NewChaCha8([32]byte{byte(seed)})}})
		randomActions(t, r, rand.New(rand.NewPCG(seed, 11)), 1500)
		text := r.AppendNetdataDB(nil)
		r2 := New(Config{})
		rep, err := r2.ImportNetdataDB(text)
		if err != nil || rep.Skipped != 0 {
			t.Fatalf("seed %d: import: %v, skipped %q", seed, err, skipped(rep))
		}
		mustInvariants(t, r2)
		if again := r2.AppendNetdataDB(nil); !bytes.Equal(again, text) {
			t.Fatalf("seed %d: second export differs", seed)
		}
		if !bytes.Equal(contents(r2), contents(r)) {
			t.Fatalf("seed %d: imported contents differ", seed)
		}
		st, st2 := r.Stats(), r2.Stats()
		st.Bytes, st2.Bytes = 0, 0
		if st != st2 {
			t.Fatalf("seed %d: stats %+v, want %+v", seed, st2, st)
		}
		if rep.Persons != st.Persons || rep.Machines != st.Machines || rep.PersonURLs != st.PersonURLs ||
			rep.MachineURLs != st.MachineURLs || rep.Accesses != st.Accesses || st.PersonURLs == 0 {
			t.Fatalf("seed %d: report %+v disagrees with stats %+v", seed, rep, st)
		}
	}
}

// netdata2016 is a prototype-era registry.db (U lines without names, no T line) with one line
// of every kind netdata skips. Line numbers are in the comments.
var netdata2016 = ndEntity('M', 0x10, 0x20, 3, m1) + // 1
	ndV(0x10, 0x20, 3, 0, "http://a/") + // 2
	ndV(0x11, 0x12, 1, 1, "http://old/") + // 3: expired
	ndEntity('M', 0x10, 0x20, 3, m2[:35]) + // 4: short
	ndV(0x10, 0x20, 3, 0, "http://orphan/") + // 5: its M was malformed
	ndEntity('P', 0x11, 0x22, 2, np1) + // 6
	ndU(0x11, 0x20, 1, 0, m1, "-", "http://a/") + // 7
	ndU(0x21, 0x22, 1, 0, m3, "-", "http://c/") + // 8: m3 has no M line
	"U\t0000001g\t00000022\t00000001\t00\t" + m1 + "\thttp://x/\n" + // 9: not hex
	"U\t00000011\t00000022\t00000001\t00\t" + m1 + " http://x/\n" + // 10: no tab at 68
	ndV(0x10, 0x20, 3, 0, "http://a/") + // 11: V under a P
	"X\tsomething\n" + // 12
	"\n" + // 13
	ndEntity('P', 0x11, 0x22, 2, nzero) + // 14
	ndU(0x11, 0x20, 1, 0, m1, "-", "http://y/") + // 15: its P was malformed
	ndEntity('P', 0x11, 0x22, 2, "not-a-guid-but-thirty-six-chars-long") + // 16
	ndEntity('P', 0x30, 0x40, 1, strings.ToUpper(np2)) + // 17
	ndU(0x30, 0x40, 1, 0, m1, "-", "ftp://x/") + // 18
	"U\t00000030\t00000040\t00000001\tzz\t" + m1 + "\thttp://d/\n" + // 19
	strings.TrimSuffix(ndU(0x30, 0x40, 1, 0, m1, "-", "http://a/"), "\n") + "\r\n" // 20: CRLF

func TestNetdataImport2016(t *testing.T) {
	r := newTestRegistry(t)
	rep, err := r.ImportNetdataDB([]byte(netdata2016))
	if err != nil {
		t.Fatal(err)
	}
	mustInvariants(t, r)
	wantSkipped(t, rep, map[int]string{
		4:  "'M' line: length 64, want 65",
		5:  "V line with no valid M line",
		9:  "first time is not 8 hex digits",
		10: "no tab at offset 68",
		11: "V line with no valid M line",
		12: "unknown line type 'X'",
		13: "empty line",
		14: "GUID is zero",
		15: "U line with no valid P line",
		16: "GUID is not a valid UUID",
		18: "it must start with 'h' or '*'",
		19: "flags are not 2 hex digits",
	})
	if rep.Lines != 20 || rep.Persons != 2 || rep.Machines != 1 || rep.PersonURLs != 3 || rep.MachineURLs != 2 || rep.Accesses != 3 {
		t.Fatalf("report %+v", rep)
	}
	want := ndEntity('M', 0x10, 0x20, 3, m1) +
		ndV(0x10, 0x20, 3, 0, "http://a/") +
		ndV(0x11, 0x12, 1, 1, "http://old/") +
		ndEntity('M', 0x21, 0x21, 0, m3) + // made by the U line, as netdata does
		ndEntity('P', 0x11, 0x22, 2, np1) +
		ndU(0x11, 0x20, 1, 0, m1, "", "http://a/") +
		ndU(0x21, 0x22, 1, 0, m3, "", "http://c/") +
		ndEntity('P', 0x30, 0x40, 1, np2) +
		ndU(0x30, 0x40, 1, 0, m1, "", "http://a/") +
		ndT(2, 2, 4, 3, 2)
	if got := exported(r); got != want {
		t.Fatalf("imported:\n%s\nwant:\n%s", got, want)
	}
}

// netdataToday is today's registry.db: names in U lines and a T line, with malformed lines.
var netdataToday = ndEntity('M', 0x10, 0x50, 9, m1) + // 1
	ndV(0x10, 0x50, 9, 0, "http://a/") + // 2
	"P\t0000000A\t000000FF\t00000007\t" + strings.ToUpper(np1) + "\n" + // 3: upper-case hex
	ndU(0x10, 0x50, 5, 0, m1, "my name", "http://a/") + // 4
	ndU(0x20, 0x40, 2, 1, m1, "", "http://b/") + // 5: no name, expired
	ndU(0x20, 0x40, 2, 0, m1, "name", "") + // 6: no URL
	ndU(0x20, 0x40, 2, 0, m1, "a\x01name that is longer than the fifty bytes allowed for names", "http://c/") + // 7
	"T\t0001\n" + // 8: short
	ndT(1, 1, 0x2a, 3, 1) + // 9: usages 0x2a, one more than the accesses
	"T\t0000000000000001\t0000000000000001\t00000000000000zz\t0000000000000000\t0000000000000003\t0000000000000001\n" + // 10
	ndU(0x20, 0x40, 2, 0, m1, "x", "\t") // 11: a tab as URL: not starting with 'h' or '*'

func TestNetdataImportToday(t *testing.T) {
	r := newTestRegistry(t)
	rep, err := r.ImportNetdataDB([]byte(netdataToday))
	if err != nil {
		t.Fatal(err)
	}
	mustInvariants(t, r)
	wantSkipped(t, rep, map[int]string{
		6:  "URL: required parameter is missing",
		8:  "'T' line: length 6, want 103",
		10: "'T' line: field 3 is not 16 hex digits",
		11: "URL: invalid URL given in the request",
	})
	if rep.Accesses != 0x29 || r.Stats().Accesses != 0x29 {
		t.Fatalf("accesses: report %d, registry %d, want 41 (T's usages minus one)", rep.Accesses, r.Stats().Accesses)
	}
	wantLines(t, exported(r),
		ndEntity('P', 0x0a, 0xff, 7, np1),
		ndU(0x10, 0x50, 5, 0, m1, "my name", "http://a/"),
		ndU(0x20, 0x40, 2, 1, m1, "", "http://b/"),
		ndU(0x20, 0x40, 2, 0, m1, "a name that is longer than the fifty bytes allowed", "http://c/"),
		ndT(1, 1, 0x2a, 3, 1))
}

// TestNetdataImportMerge checks the merge rule against a registry that already has the
// person, the machine and some of the URLs.
func TestNetdataImportMerge(t *testing.T) {
	r := newTestRegistry(t)
	res, _ := access(t, r, 100, "", m1, "http://a/", "old")
	p := res.Person.String()
	file := ndEntity('M', 0x10, 0x500, 7, m1) +
		ndV(0x20, 0x30, 2, 1, "http://a/") + // earlier than the registry's: its flag loses
		ndEntity('P', 0x50, 0x90, 5, p) +
		ndU(0x60, 0x200, 4, 1, m2, "new", "http://a/") + // later: machine, name, flag win
		ndU(0x10, 0x20, 2, 1, m1, "older", "http://b/") +
		ndU(0x05, 0x30, 1, 0, m1, "stale", "http://a/") // earlier again: only counts
	rep, err := r.ImportNetdataDB([]byte(file))
	if err != nil || rep.Skipped != 0 {
		t.Fatalf("%v %q", err, skipped(rep))
	}
	mustInvariants(t, r)
	want := ndEntity('M', 0x10, 0x500, 8, m1) +
		ndV(0x20, 100, 3, 0, "http://a/") +
		ndEntity('M', 0x60, 0x60, 0, m2) +
		ndEntity('P', 0x50, 0x90, 6, p) +
		ndU(0x10, 0x20, 2, 1, m1, "older", "http://b/") + // new to the person: newer
		ndU(0x05, 0x200, 6, 1, m2, "new", "http://a/") + // merged: keeps its place
		ndT(1, 2, 9, 2, 1)
	if got := exported(r); got != want {
		t.Fatalf("merged:\n%s\nwant:\n%s", got, want)
	}
	if r.names.find([]byte("old")) != 0 || r.names.find([]byte("stale")) != 0 {
		t.Fatal("names no link uses are still interned")
	}
	// Usages saturate instead of wrapping.
	big := ndEntity('P', 1, 2, 0x7fffffff, p) + ndU(1, 2, 0xffffffff, 0, m2, "", "http://a/")
	if _, err := r.ImportNetdataDB([]byte(big)); err != nil {
		t.Fatal(err)
	}
	wantLines(t, exported(r), ndEntity('P', 1, 0x90, 0x7fffffff, p), ndU(1, 0x200, 0x7fffffff, 1, m2, "new", "http://a/"))
	mustInvariants(t, r)
	// On a tie the file's line wins, as netdata's load overwrites.
	tie := ndEntity('P', 1, 2, 0, p) + ndU(0x10, 0x20, 1, 0, m2, "tie", "http://b/")
	if _, err := r.ImportNetdataDB([]byte(tie)); err != nil {
		t.Fatal(err)
	}
	wantLines(t, exported(r), ndU(0x10, 0x20, 3, 0, m2, "tie", "http://b/"))
	mustInvariants(t, r)
}

func TestNetdataRefusesOtherFiles(t *testing.T) {
	r := newTestRegistry(t)
	access(t, r, 100, "", m1, "http://a/", "a")
	before := contents(r)
	for name, data := range map[string][]byte{
		"snapshot": r.AppendSnapshot(nil, 7),
		"text":     []byte("hello\nworld\n"),
		"blank":    []byte("\n\n"),
		"log":      []byte(ndLog('A', 1, np1, m1, "n", "http://a/")),
	} {
		if _, err := r.ImportNetdataDB(data); !errors.Is(err, ErrNotNetdata) {
			t.Errorf("%s as registry.db: %v", name, err)
		}
		if name == "log" {
			continue
		}
		if _, err := r.ReplayNetdataLog(data); !errors.Is(err, ErrNotNetdata) {
			t.Errorf("%s as registry-log.db: %v", name, err)
		}
	}
	if !bytes.Equal(contents(r), before) {
		t.Fatal("a refused file changed the registry")
	}
	for _, data := range [][]byte{nil, {}} {
		if rep, err := r.ImportNetdataDB(data); err != nil || rep.Lines != 0 {
			t.Fatalf("empty registry.db: %v %+v", err, rep)
		}
		if rep, err := r.ReplayNetdataLog(data); err != nil || rep.Lines != 0 {
			t.Fatalf("empty registry-log.db: %v %+v", err, rep)
		}
	}
}

func TestNetdataReportCapsErrors(t *testing.T) {
	r := newTestRegistry(t)
	data := ndEntity('M', 1, 2, 3, m1) + strings.Repeat("bad\n", 250)
	rep, err := r.ImportNetdataDB([]byte(data))
	if err != nil || rep.Skipped != 250 || len(rep.Errors) != maxNetdataErrors || rep.Errors[99].Line != 101 {
		t.Fatalf("%v: skipped %d, listed %d", err, rep.Skipped, len(rep.Errors))
	}
	var all NetdataReport
	all.add(rep, "a")
	all.add(rep, "b")
	if all.Skipped != 500 || len(all.Errors) != maxNetdataErrors || all.Errors[0].File != "a" {
		t.Fatalf("combined: skipped %d, listed %d", all.Skipped, len(all.Errors))
	}
}

// netdataLog has 2016 and today's lines, deletes, and every kind of bad line.
var netdataLog = ndLog('A', 0x64, np1, m1, "-", "http://a/") + // 1: 2016
	ndLog('A', 0x65, np1, m1, "name a", "http://b/") + // 2
	ndLog('A', 0x66, strings.ToUpper(np2), m2, "", "http://a/") + // 3
	ndLog('D', 0x67, np1, m1, "http://a/", "http://b/") + // 4: deletes http://a/
	ndLog('D', 0x68, np1, m1, "http://zzz/", "http://b/") + // 5: not the person's
	ndLog('D', 0x68, np1, m1, "-", "http://b/") + // 6: no delete_url slot
	"A\t0000006g\t" + np1 + "\t" + m1 + "\tn\thttp://a/\n" + // 7
	ndLog('A', 0x69, nzero, m1, "n", "http://a/") + // 8
	ndLog('A', 0x69, np3, nzero, "n", "http://a/") + // 9
	ndLog('A', 0x69, "not-a-guid-but-thirty-six-chars-long", m1, "n", "http://a/") + // 10
	ndLog('A', 0x69, np3, m1, "n", "ftp://x/") + // 11: refused: np3 must not appear
	"Q\t00000069\n" + // 12
	"A\t1\n" + // 13
	ndLog('D', 0x6a, np3, m1, "http://a/", "http://a/") + // 14: unknown person
	"A\t00000069 " + np3 + "\t" + m1 + "\tn\thttp://a/\n" // 15: space for a tab

func TestNetdataLogReplay(t *testing.T) {
	r := newTestRegistry(t)
	rep, err := r.ReplayNetdataLog([]byte(netdataLog))
	if err != nil {
		t.Fatal(err)
	}
	mustInvariants(t, r)
	wantSkipped(t, rep, map[int]string{
		5:  "'D' line: URL is not linked to this person",
		6:  "no tab between delete_url and url",
		7:  "time is not 8 hex digits",
		8:  "person GUID is zero",
		9:  "machine GUID is zero",
		10: "person GUID is not a valid UUID",
		11: "it must start with 'h' or '*'",
		12: "unknown line type 'Q'",
		13: "length 3, want at least 85",
		14: "person is not known",
		15: "no tab at offset 10",
	})
	if rep.Accesses != 3 || rep.Deletes != 1 || rep.Lines != 15 {
		t.Fatalf("report %+v", rep)
	}
	if got := personGUIDs(r); !slices.Equal(got, []string{np1, np2}) {
		t.Fatalf("persons %v, want exactly the logged %s and %s", got, np1, np2)
	}
	wantLines(t, exported(r),
		ndEntity('P', 0x64, 0x65, 2, np1),
		ndU(0x65, 0x65, 1, 0, m1, "name a", "http://b/"),
		ndU(0x66, 0x66, 1, 0, m2, "", "http://a/"),
		ndT(2, 2, 4, 2, 3))
	if strings.Contains(exported(r), ndU(0x64, 0x64, 1, 0, m1, "", "http://a/")) {
		t.Fatal("the deleted URL is still the person's")
	}
}

// TestNetdataLogReplayRecreatesState runs random accesses and deletes, writes the log netdata
// would have written, and replays it into an empty registry: the same contents, person GUIDs
// included.
func TestNetdataLogReplayRecreatesState(t *testing.T) {
	for seed := uint64(0); seed < 4; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 5))
		r := New(Config{Rand: seeded{rand.NewChaCha8([32]byte{byte(seed)})}})
		pick := func(list []string) string { return list[rnd.IntN(len(list))] }
		persons := []string{"", "garbage"}
		var log strings.Builder
		for i := 0; i < 1500; i++ {
			when := uint32(1000 + i*7)
			req := Request{When: when, Person: []byte(pick(persons)), Machine: []byte(pick(testMachines)),
				URL: []byte(pick(testURLs)), Arg: []byte(pick([]string{"a", "", "b c"}))}
			kind := byte('A')
			if req.Op = OpAccess; rnd.IntN(4) == 0 {
				kind, req.Op, req.Arg = 'D', OpDelete, []byte(pick(testURLs))
			}
			res, _ := r.Do(&req, nil)
			if res.Status != 200 {
				continue
			}
			g := res.Person.String()
			persons = append(persons, g)
			// netdata logs the cleaned values.
			url, _ := r.cleanURL(req.URL)
			arg := string(cleanText(req.Arg, r.cfg.MaxNameLength, &r.nameBuf))
			if kind == 'D' {
				arg = string(cleanText(req.Arg, r.cfg.MaxURLLength, new([]byte)))
			}
			log.WriteString(ndLog(kind, when, g, string(req.Machine), arg, string(url)))
		}
		r2 := New(Config{})
		rep, err := r2.ReplayNetdataLog([]byte(log.String()))
		if err != nil || rep.Skipped != 0 {
			t.Fatalf("seed %d: %v %q", seed, err, skipped(rep))
		}
		mustInvariants(t, r2)
		if rep.Deletes == 0 || rep.Accesses != r.Stats().Accesses {
			t.Fatalf("seed %d: report %+v", seed, rep)
		}
		if !bytes.Equal(contents(r2), contents(r)) {
			t.Fatalf("seed %d: replayed contents differ", seed)
		}
	}
}

// FuzzNetdataImport: any input leaves a consistent registry (or, refused, an unchanged one),
// and whatever got in exports and re-imports to the same text.
func FuzzNetdataImport(f *testing.F) {
	f.Add([]byte(netdata2016))
	f.Add([]byte(netdataToday))
	f.Add([]byte(ndEntity('P', 1, 2, 3, np1) + ndU(1, 2, 3, 1, m1, "n", "http://a/") + ndT(1, 1, 0xffffffffffffffff, 1, 0)))
	f.Add([]byte("U\t\t\t\t\t\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newTestRegistry(t)
		r.Do(&Request{Op: OpAccess, When: 5, Machine: []byte(m1), URL: []byte("http://a/"), Arg: []byte("a")}, nil)
		before := contents(r)
		rep, err := r.ImportNetdataDB(data)
		mustInvariants(t, r)
		if err != nil {
			if !errors.Is(err, ErrNotNetdata) || !bytes.Equal(contents(r), before) {
				t.Fatalf("refused with %v, registry changed: %v", err, !bytes.Equal(contents(r), before))
			}
			return
		}
		if rep.Skipped+int(rep.Persons+rep.Machines+rep.PersonURLs+rep.MachineURLs) > rep.Lines {
			t.Fatalf("report counts more lines than read: %+v", rep)
		}
		text := r.AppendNetdataDB(nil)
		r2 := New(Config{})
		rep2, err := r2.ImportNetdataDB(text)
		if err != nil || rep2.Skipped != 0 {
			t.Fatalf("re-import: %v %q", err, skipped(rep2))
		}
		if again := r2.AppendNetdataDB(nil); !bytes.Equal(again, text) {
			t.Fatalf("export, import, export differ:\n%s\n%s", text, again)
		}
	})
}

// FuzzNetdataLog: any log leaves a consistent registry whose persons are all GUIDs the log
// names (replay never invents one).
func FuzzNetdataLog(f *testing.F) {
	f.Add([]byte(netdataLog))
	f.Add([]byte(ndLog('A', 5, np1, m1, "-", "http://a/") + ndLog('D', 6, np1, m1, "http://a/", "http://a/")))
	f.Add([]byte("A\t\t\t\t\t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newTestRegistry(t)
		rep, err := r.ReplayNetdataLog(data)
		mustInvariants(t, r)
		if err != nil {
			if !errors.Is(err, ErrNotNetdata) || r.Stats().Persons != 0 {
				t.Fatalf("refused with %v, persons %d", err, r.Stats().Persons)
			}
			return
		}
		if uint64(rep.Skipped)+rep.Accesses+rep.Deletes != uint64(rep.Lines) {
			t.Fatalf("report does not add up: %+v", rep)
		}
		lower := bytes.ToLower(data)
		for _, g := range personGUIDs(r) {
			if !bytes.Contains(lower, []byte(g)) {
				t.Fatalf("person %s is not in the log", g)
			}
		}
	})
}

// --- Store: the import and export actions ---

// recentRegistry is a random registry whose persons are recent enough that a Store's save
// does not purge them.
func recentRegistry(seed uint64, n int) *Registry {
	rnd := rand.New(rand.NewPCG(seed, 9))
	r := New(Config{Rand: seeded{rand.NewChaCha8([32]byte{byte(seed), 1})}})
	persons := []string{""}
	for i := 0; i < n; i++ {
		req := Request{Op: OpAccess, When: 1_699_000_000 + uint32(i), Person: []byte(persons[rnd.IntN(len(persons))]),
			Machine: []byte(testMachines[rnd.IntN(4)]), URL: []byte(testURLs[rnd.IntN(3)]), Arg: []byte("n" + strconv.Itoa(rnd.IntN(3)))}
		if res, _ := r.Do(&req, nil); res.Status == 200 {
			persons = append(persons, res.Person.String())
		}
	}
	return r
}

// fileAction runs one import or export through Store.Handle and decodes the answer.
func fileAction(t *testing.T, s *Store, op Op, fields ...string) (int, map[string]any) {
	t.Helper()
	req := Request{Op: op}
	for i, f := range fields {
		if i == 0 {
			req.Person = []byte(f)
		} else {
			req.Machine = []byte(f)
		}
	}
	out, err := s.Handle(AppendRequest(nil, &req), nil)
	if err != nil {
		t.Fatal(err)
	}
	resps, err := ParseResponses(out)
	if err != nil || len(resps) != 1 {
		t.Fatalf("%d responses, %v", len(resps), err)
	}
	var body map[string]any
	if err := json.Unmarshal(resps[0].Body, &body); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, resps[0].Body)
	}
	return resps[0].Status, body
}

func TestStoreNetdataImportExport(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(5))
	if err != nil {
		t.Fatal(err)
	}
	src := recentRegistry(1, 400)
	ms.WriteFile("netdata.db", src.AppendNetdataDB(nil))
	ms.WriteFile("netdata-log.db", []byte(ndLog('A', 1_699_500_000, np1, m1, "logged", "http://log/")+"junk\n"))

	status, body := fileAction(t, s, OpImport, "netdata.db", "netdata-log.db")
	st := src.Stats()
	if status != 200 || body["status"] != "ok" || body["persons"] != float64(st.Persons) ||
		body["person_urls"] != float64(st.PersonURLs) || body["accesses"] != float64(st.Accesses+1) ||
		body["skipped"] != float64(1) || body["expired"] != float64(0) {
		t.Fatalf("import: %d %v", status, body)
	}
	errs, _ := body["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["file"] != "netdata-log.db" || errs[0].(map[string]any)["line"] != float64(2) {
		t.Fatalf("errors %v", body["errors"])
	}
	mustInvariants(t, s.reg)
	if got := s.reg.Stats().Persons; got != st.Persons+1 {
		t.Fatalf("%d persons, want %d", got, st.Persons+1)
	}
	// Acknowledged means durable: a crash right now keeps it all.
	s2, err := OpenStore(ms.Crash(), detConfig(5))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(contents(s2.reg), contents(s.reg)) {
		t.Fatal("the import did not survive a reopen")
	}

	status, body = fileAction(t, s, OpExport, "out.db")
	want := s.reg.AppendNetdataDB(nil)
	got, _ := ms.ReadFile("out.db")
	if status != 200 || !bytes.Equal(got, want) || body["file"] != "out.db" ||
		body["bytes"] != float64(len(want)) || body["lines"] != float64(bytes.Count(want, []byte("\n"))) {
		t.Fatalf("export: %d %v", status, body)
	}
	if durable, _ := ms.Crash().ReadFile("out.db"); !bytes.Equal(durable, want) {
		t.Fatal("export not synced")
	}
}

func TestStoreNetdataRefusals(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(6))
	if err != nil {
		t.Fatal(err)
	}
	s.Handle(AppendRequest(nil, &Request{Op: OpAccess, Machine: []byte(m1), URL: []byte("http://a/")}), nil)
	ms.WriteFile("garbage.db", []byte("not\nnetdata\n"))
	ms.WriteFile("good.db", []byte(netdataToday))
	before, ops := contents(s.reg), ms.Ops()
	for _, c := range []struct {
		op     Op
		fields []string
		why    string
	}{
		{OpImport, []string{"", ""}, "missing"},
		{OpImport, []string{"nope.db", ""}, "not exist"},
		{OpImport, []string{"", "Bad.db"}, "invalid file name"},
		{OpImport, []string{"garbage.db", ""}, "not a netdata registry file"},
		{OpImport, []string{"good.db", "garbage.db"}, "not a netdata registry file"}, // checked before anything
		{OpImport, []string{"good.db", "nope.db"}, "not exist"},
		{OpExport, []string{"../x"}, "invalid file name"},
		{OpExport, []string{"registry.log"}, "store's own files"},
		{OpExport, []string{"registry.log.3"}, "store's own files"},
		{OpExport, []string{"registry.db.2"}, "store's own files"},
		{OpExport, []string{"registry.conf.1"}, "store's own files"},
	} {
		status, body := fileAction(t, s, c.op, c.fields...)
		if msg, _ := body["error"].(string); status != 400 || !strings.Contains(msg, c.why) {
			t.Errorf("%c %q: %d %v, want 400 saying %q", c.op, c.fields, status, body, c.why)
		}
	}
	if !bytes.Equal(contents(s.reg), before) || ms.Ops() != ops {
		t.Fatal("a refused action changed the registry or the files")
	}
	// netdata's own default name is not one of the store's files.
	if status, body := fileAction(t, s, OpExport, "registry.db"); status != 200 {
		t.Fatalf("export to registry.db: %d %v", status, body)
	}
	// Without a name, the text is the answer (what a read-only store exports).
	out, err := s.Handle(AppendRequest(nil, &Request{Op: OpExport}), nil)
	if resps, _ := ParseResponses(out); err != nil || resps[0].Status != 200 || !bytes.HasPrefix(resps[0].Body, []byte("M\t")) {
		t.Fatalf("export without a name: %v %+v", err, resps)
	}
}

// TestStoreNetdataImportInBatch: an import between other changes of one batch. The snapshot
// that acknowledges the import holds the changes before it; they must not be replayed again
// after a reopen, and the ones after it must be logged.
func TestStoreNetdataImportInBatch(t *testing.T) {
	ms := &MemStorage{}
	s, _ := OpenStore(ms, detConfig(7))
	ms.WriteFile("netdata.db", recentRegistry(2, 100).AppendNetdataDB(nil))
	var batch []byte
	batch = AppendRequest(batch, &Request{Op: OpAccess, When: 1_699_900_000, Machine: []byte(m1), URL: []byte("http://before/")})
	batch = AppendRequest(batch, &Request{Op: OpImport, Person: []byte("netdata.db")})
	batch = AppendRequest(batch, &Request{Op: OpAccess, When: 1_699_900_001, Machine: []byte(m2), URL: []byte("http://after/")})
	out, err := s.Handle(batch, nil)
	resps, _ := ParseResponses(out)
	if err != nil || len(resps) != 3 || resps[0].Status != 200 || resps[1].Status != 200 || resps[2].Status != 200 {
		t.Fatalf("%v %v", err, resps)
	}
	s2, err := OpenStore(ms.Crash(), detConfig(7))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(contents(s2.reg), contents(s.reg)) {
		t.Fatal("reopened store differs from the one that imported")
	}
	if a := s.reg.Stats().Accesses; a != 102 {
		t.Fatalf("%d accesses, want 102", a)
	}
}

// TestStoreNetdataImportSaveFails: the snapshot that would acknowledge the import cannot be
// written. The import is dropped, the registry is the files' again, and the batch goes on
// with it.
func TestStoreNetdataImportSaveFails(t *testing.T) {
	ms := &MemStorage{}
	s, _ := OpenStore(ms, detConfig(8))
	s.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1_699_900_000, Machine: []byte(m1), URL: []byte("http://a/")}), nil)
	ms.WriteFile("netdata.db", recentRegistry(3, 50).AppendNetdataDB(nil))
	before := contents(s.reg)
	reg := s.reg
	ms.FailOnce(1, ErrNoSpace)
	var batch []byte
	batch = AppendRequest(batch, &Request{Op: OpImport, Person: []byte("netdata.db")})
	batch = AppendRequest(batch, &Request{Op: OpAccess, When: 1_699_900_001, Machine: []byte(m2), URL: []byte("http://b/")})
	out, err := s.Handle(batch, nil)
	resps, _ := ParseResponses(out)
	if err != nil || len(resps) != 2 || resps[0].Status != 500 || resps[1].Status != 200 ||
		!bytes.Contains(resps[0].Body, []byte("no space")) {
		t.Fatalf("%v %v", err, resps)
	}
	if s.reg != reg {
		t.Fatal("the store swapped the registry the batch was running on")
	}
	mustInvariants(t, s.reg)
	if st := s.reg.Stats(); st.Persons != 2 || st.Accesses != 2 {
		t.Fatalf("after the failed import: %+v, want the earlier access and the later one only", st)
	}
	s2, err := OpenStore(ms.Crash(), detConfig(8))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(contents(s2.reg), contents(s.reg)) || bytes.Equal(contents(s.reg), before) {
		t.Fatal("reopened store differs, or the access after the import is lost")
	}
}

// TestStoreNetdataImportCrash crashes the import at every storage operation (and tears every
// write): recovery finds the registry before the import or after it, and after it whenever
// the import was acknowledged.
func TestStoreNetdataImportCrash(t *testing.T) {
	base := &MemStorage{}
	s, _ := OpenStore(base, detConfig(9))
	s.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1_699_900_000, Machine: []byte(m1), URL: []byte("http://a/")}), nil)
	s.Save()
	s.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1_699_900_001, Machine: []byte(m2), URL: []byte("http://b/")}), nil)
	base.WriteFile("netdata.db", recentRegistry(4, 60).AppendNetdataDB(nil))
	base.Sync("netdata.db")
	before := contents(s.reg)
	batch := AppendRequest(nil, &Request{Op: OpImport, Person: []byte("netdata.db")})

	clean := base.Clone()
	sc, _ := OpenStore(clean, detConfig(9))
	ops := clean.Ops()
	sc.Handle(batch, nil)
	after, total := contents(sc.reg), clean.Ops()-ops
	if bytes.Equal(after, before) || total == 0 {
		t.Fatal("the clean import changed nothing")
	}
	outcomes := map[bool]int{}
	for op := 1; op <= total; op++ {
		for _, tear := range []int{-1, 0, 9, 100} {
			ms := base.Clone()
			s, err := OpenStore(ms, detConfig(9))
			if err != nil {
				t.Fatal(err)
			}
			if tear < 0 {
				ms.FailAfter(op)
			} else {
				ms.TearAfter(op, tear)
			}
			out, _ := s.Handle(batch, nil)
			resps, _ := ParseResponses(out)
			acked := len(resps) == 1 && resps[0].Status == 200
			s2, err := OpenStore(ms.Crash(), detConfig(9))
			if err != nil {
				t.Fatalf("op %d tear %d: recovery failed: %v", op, tear, err)
			}
			got := contents(s2.reg)
			if !bytes.Equal(got, after) && (acked || !bytes.Equal(got, before)) {
				t.Fatalf("op %d tear %d (acknowledged %v): recovered neither state", op, tear, acked)
			}
			outcomes[acked]++
		}
	}
	// The import is acknowledged by the log record written after its two snapshots: a crash
	// at any operation fails it (recovery may still find it, as a call in flight).
	t.Logf("%d operations, outcomes %v", total, outcomes)
	if outcomes[true] != 0 || outcomes[false] == 0 {
		t.Fatalf("outcomes %v over %d operations: an import acknowledged before its last operation", outcomes, total)
	}
}

func TestStoreNetdataImportReportsExpired(t *testing.T) {
	ms := &MemStorage{}
	s, _ := OpenStore(ms, detConfig(10))
	old := ndEntity('P', 0x10, 0x20, 1, np1) + ndU(0x10, 0x20, 1, 0, m1, "", "http://a/")
	recent := ndEntity('P', 1_699_000_000, 1_699_000_000, 1, np2) + ndU(1_699_000_000, 1_699_000_000, 1, 0, m1, "", "http://a/")
	ms.WriteFile("netdata.db", []byte(old+recent))
	status, body := fileAction(t, s, OpImport, "netdata.db")
	if status != 200 || body["persons"] != float64(2) || body["expired"] != float64(1) {
		t.Fatalf("%d %v", status, body)
	}
	if got := personGUIDs(s.reg); !slices.Equal(got, []string{np2}) {
		t.Fatalf("persons %v", got)
	}
}
