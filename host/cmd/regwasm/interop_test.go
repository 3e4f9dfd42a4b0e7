package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/bench"
)

// Persons of the netdata files the tests write.
const (
	personP1 = "5b3c0a1e-1111-4111-8111-000000000001"
	personP2 = "5b3c0a1e-1111-4111-8111-000000000002"
	personP3 = "5b3c0a1e-1111-4111-8111-000000000003" // only in the log
)

// netdataDB writes a registry.db as netdata does, in the 2016 form (U without the name, no T
// line) or today's, with recent times (older persons would be expired on import), plus lines
// netdata skips: a U before any P, an unknown record type.
func netdataDB(today bool) string {
	t := uint32(time.Now().Add(-24 * time.Hour).Unix())
	var b strings.Builder
	fmt.Fprintf(&b, "U\t%08x\t%08x\t%08x\t%02x\t%s\t%s\n", t, t, 1, 0, machineA, "http://orphan/") // no P yet
	fmt.Fprintf(&b, "X\tnot a netdata record\n")
	for _, m := range []struct{ guid, url string }{{machineA, urlA}, {machineB, urlB}} {
		fmt.Fprintf(&b, "M\t%08x\t%08x\t%08x\t%s\n", t, t+60, 3, m.guid)
		fmt.Fprintf(&b, "V\t%08x\t%08x\t%08x\t%02x\t%s\n", t, t+60, 3, 0, m.url)
	}
	pu := func(machine, name, url string, usages int) {
		if today {
			fmt.Fprintf(&b, "U\t%08x\t%08x\t%08x\t%02x\t%s\t%s\t%s\n", t, t+60, usages, 0, machine, name, url)
		} else {
			fmt.Fprintf(&b, "U\t%08x\t%08x\t%08x\t%02x\t%s\t%s\n", t, t+60, usages, 0, machine, url)
		}
	}
	fmt.Fprintf(&b, "P\t%08x\t%08x\t%08x\t%s\n", t, t+60, 4, personP1)
	pu(machineA, "agent-a", urlA, 2)
	pu(machineB, "agent-b", urlB, 2)
	fmt.Fprintf(&b, "P\t%08x\t%08x\t%08x\t%s\n", t, t+60, 2, personP2)
	pu(machineB, "agent-b", urlB, 2)
	if today {
		fmt.Fprintf(&b, "T\t%016x\t%016x\t%016x\t%016x\t%016x\t%016x\n", 2, 2, 7, 0, 3, 2)
	}
	return b.String()
}

// netdataLog is a registry-log.db whose access creates person P3 with the logged GUID.
func netdataLog() string {
	t := uint32(time.Now().Add(-time.Hour).Unix())
	return fmt.Sprintf("A\t%08x\t%s\t%s\t%s\t%s\n", t, personP3, machineA, "agent-a", urlA)
}

func runCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	rc := run(t.Context(), args, &out, &out)
	return rc, out.String()
}

// skipIfNoInterop skips while the module lacks the import/export ops (an older registry.wasm
// answers "unknown op" or 501), naming what is missing.
func skipIfNoInterop(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "unknown op") || strings.Contains(out, "status 501") {
		t.Skipf("registry.wasm has no netdata import/export op yet: %s", out)
	}
}

func TestImportExportRoundTrip(t *testing.T) {
	for _, today := range []bool{false, true} {
		name := "2016 form"
		if today {
			name = "today's form"
		}
		t.Run(name, func(t *testing.T) {
			src := t.TempDir()
			dbFile, logFile := filepath.Join(src, "registry.db"), filepath.Join(src, "registry-log.db")
			writeFile(t, dbFile, netdataDB(today))
			writeFile(t, logFile, netdataLog())
			dir := filepath.Join(t.TempDir(), "data") // import creates it
			rc, out := runCmd(t, "import", dir, dbFile, logFile)
			skipIfNoInterop(t, out)
			if rc != 0 {
				t.Fatalf("import: exit %d\n%s", rc, out)
			}
			for _, want := range []string{"2 persons, 2 machines, 3 person-URLs, 2 machine-URLs", "skipped 2 lines",
				"now holds 3 persons, 2 machines"} {
				if !strings.Contains(out, want) {
					t.Errorf("missing %q in\n%s", want, out)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "netdata-*")); len(m) != 0 {
				t.Fatalf("temporary copies left: %v", m)
			}
			// The imported persons are served with their own GUIDs and URLs.
			reg := openTestRegistry(t, dir)
			s := serverOver(t, reg, nil)
			b := expectStatus(t, access(t, s, personP1, machineA, urlA), 200, "ok")
			if b.PersonGUID != personP1 || len(b.URLs) != 2 || urlsOf(b)[machineB] != urlB {
				t.Fatalf("P1 after import: %+v", b)
			}
			if today && b.URLs[1][4] != "agent-b" && b.URLs[0][4] != "agent-b" {
				t.Fatalf("names lost: %v", b.URLs)
			}
			b = expectStatus(t, access(t, s, personP3, machineA, urlA), 200, "ok")
			if b.PersonGUID != personP3 {
				t.Fatalf("the log's person was not re-created: %+v", b)
			}
			reg.close(t.Context())

			// Export, then import the export into a new directory: the same registry.
			exported := filepath.Join(t.TempDir(), "export.db")
			rc, out = runCmd(t, "export", dir, exported)
			skipIfNoInterop(t, out)
			if rc != 0 || !strings.Contains(out, "exported ") {
				t.Fatalf("export: exit %d\n%s", rc, out)
			}
			text, err := os.ReadFile(exported)
			if err != nil {
				t.Fatal(err)
			}
			// The accesses above renamed machine A's URL "agent" (netdata's U line keeps the last
			// name); today's form keeps agent-b's name from the import.
			wants := []string{"P\t", "M\t", "V\t", "\t" + personP3 + "\n", "\t" + machineA + "\tagent\t" + urlA + "\n", "\nT\t"}
			if today {
				wants = append(wants, "\t"+machineB+"\tagent-b\t"+urlB+"\n")
			}
			for _, want := range wants {
				if !strings.Contains(string(text), want) {
					t.Errorf("export lacks %q:\n%s", want, text)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "netdata-*")); len(m) != 0 {
				t.Fatalf("temporary export left: %v", m)
			}
			if rc, out := runCmd(t, "export", dir, filepath.Join(dir, "registry.log")); rc != 2 {
				t.Fatalf("export into the data directory: exit %d\n%s", rc, out)
			}
			again := t.TempDir()
			if rc, out := runCmd(t, "import", again, exported); rc != 0 {
				t.Fatalf("re-import: exit %d\n%s", rc, out)
			}
			if a, b := statsOf(t, dir), statsOf(t, again); a != b {
				t.Fatalf("round trip changed the counts:\n%s\n%s", a, b)
			}
		})
	}
}

func TestImportRefusesOtherFiles(t *testing.T) {
	src := t.TempDir()
	bogus := filepath.Join(src, "notes.txt")
	writeFile(t, bogus, "hello\nworld\n")
	dir := t.TempDir()
	rc, out := runCmd(t, "import", dir, bogus)
	skipIfNoInterop(t, out)
	if rc != 1 || !strings.Contains(out, "not a netdata registry file") {
		t.Fatalf("import of a text file: exit %d\n%s", rc, out)
	}
	if rc, out := runCmd(t, "import", dir, filepath.Join(src, "missing.db")); rc != 1 || !strings.Contains(out, "no such file") {
		t.Fatalf("missing file: exit %d\n%s", rc, out)
	}
	if rc, _ := runCmd(t, "import", dir); rc != 2 {
		t.Fatalf("import without a file: exit %d, want 2", rc)
	}
}

// statsOf returns the counters of dir as one comparable line.
func statsOf(t *testing.T, dir string) string {
	t.Helper()
	rc, out := runCmd(t, "stats", "--json", dir)
	if rc != 0 {
		t.Fatalf("stats: %d %s", rc, out)
	}
	var v struct {
		Stats bench.Counts `json:"stats"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	c := v.Stats
	return fmt.Sprintf("persons %d machines %d urls %d person-urls %d machine-urls %d accesses %d",
		c.Persons, c.Machines, c.URLs, c.PersonURLs, c.MachineURLs, c.Accesses)
}
