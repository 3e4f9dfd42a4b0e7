package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// oldNetdataDB is a registry.db whose persons were last seen two years ago: every one of
// them is idle for longer than the default 365 days.
func oldNetdataDB() string {
	t := uint32(time.Now().Add(-2 * 365 * 24 * time.Hour).Unix())
	var b strings.Builder
	fmt.Fprintf(&b, "M\t%08x\t%08x\t%08x\t%s\n", t, t, 3, machineA)
	fmt.Fprintf(&b, "V\t%08x\t%08x\t%08x\t%02x\t%s\n", t, t, 3, 0, urlA)
	for _, p := range []string{personP1, personP2, personP3} {
		fmt.Fprintf(&b, "P\t%08x\t%08x\t%08x\t%s\n", t, t, 1, p)
		fmt.Fprintf(&b, "U\t%08x\t%08x\t%08x\t%02x\t%s\t%s\t%s\n", t, t, 1, 0, machineA, "agent-a", urlA)
	}
	return b.String()
}

// writeSource writes a netdata file into a directory of its own and returns its path.
func writeSource(t *testing.T, name, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), name)
	writeFile(t, f, content)
	return f
}

// personsLine returns the numbers of import's "persons: B before, A after the import, D
// dropped ..., N now" line.
func personsLine(t *testing.T, out string) (before, after, dropped, now int) {
	t.Helper()
	m := regexp.MustCompile(`persons: (\d+) before, (\d+) after the import, (\d+) dropped as idle for longer than \d+ days, (\d+) now`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no persons line in\n%s", out)
	}
	n := make([]int, 4)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return n[0], n[1], n[2], n[3]
}

// TestImportReportsUserFiles: skipped lines and refusals name the files the user gave, in
// one message without the layers it went through.
func TestImportReportsUserFiles(t *testing.T) {
	db := writeSource(t, "registry.db", netdataDB(true))
	rc, out := runCmd(t, "import", filepath.Join(t.TempDir(), "data"), db)
	if rc != 0 {
		t.Fatalf("exit %d\n%s", rc, out)
	}
	for _, want := range []string{db + ":1: ", db + ":2: unknown line type"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "netdata-import") {
		t.Errorf("internal names in\n%s", out)
	}
	notes := writeSource(t, "notes.txt", "hello\nworld\n")
	rc, out = runCmd(t, "import", filepath.Join(t.TempDir(), "data"), notes)
	if rc != 1 || !strings.Contains(out, "regwasm import: "+notes+": not a netdata registry file") {
		t.Fatalf("exit %d\n%s", rc, out)
	}
	for _, layer := range []string{"host:", "refused", "status 400"} {
		if strings.Contains(out, layer) {
			t.Errorf("%q in %q", layer, out)
		}
	}
}

// TestImportIdlePersons: an older netdata file's persons are all idle; import says so
// before dropping any, and does what the flag says.
func TestImportIdlePersons(t *testing.T) {
	db := writeSource(t, "registry.db", oldNetdataDB())
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	rc, out := runCmd(t, "import", dir, db)
	if rc != 1 || !strings.Contains(out, "3 persons of "+db+" have been idle for longer than 365 days") ||
		!strings.Contains(out, "--keep-idle") || !strings.Contains(out, "--expire-idle") || !strings.Contains(out, "Nothing was imported") {
		t.Fatalf("without a flag: exit %d\n%s", rc, out)
	}
	expectEmpty(t, parent)

	rc, out = runCmd(t, "import", "--expire-idle", dir, db)
	if rc != 0 {
		t.Fatalf("--expire-idle: exit %d\n%s", rc, out)
	}
	if b, a, d, n := personsLine(t, out); b != 0 || a != 3 || d != 3 || n != 0 {
		t.Fatalf("--expire-idle: %d before, %d after, %d dropped, %d now\n%s", b, a, d, n, out)
	}

	kept := filepath.Join(t.TempDir(), "kept")
	rc, out = runCmd(t, "import", "--keep-idle", kept, db)
	if rc != 0 || !strings.Contains(out, "kept 3 persons idle for longer than 365 days") || !strings.Contains(out, "now holds 3 persons") {
		t.Fatalf("--keep-idle: exit %d\n%s", rc, out)
	}
	if b, a, d, n := personsLine(t, out); b != 0 || a != 3 || d != 0 || n != 3 {
		t.Fatalf("--keep-idle: %d before, %d after, %d dropped, %d now\n%s", b, a, d, n, out)
	}
	// The policy is the registry's, unchanged: the next save drops them.
	reg := openTestRegistry(t, kept)
	if set, err := reg.reg.Settings(t.Context()); err != nil || set.ExpireIdleDays != 365 {
		t.Fatalf("settings after --keep-idle: %+v %v", set, err)
	}
	if _, err := reg.reg.Save(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st, _ := reg.reg.Stats(t.Context()); st.Persons != 0 {
		t.Fatalf("after a save: %d persons", st.Persons)
	}
	reg.close(t.Context())

	if rc, out := runCmd(t, "import", "--keep-idle", "--expire-idle", dir, db); rc != 2 {
		t.Fatalf("both flags: exit %d\n%s", rc, out)
	}
}

// TestImportMerge: a directory that holds a registry is merged into only with --merge, and
// an idle file is refused before anything changes there.
func TestImportMerge(t *testing.T) {
	dir := makeDataDir(t)
	files := readAll(t, dir)
	db := writeSource(t, "registry.db", netdataDB(true))
	rc, out := runCmd(t, "import", dir, db)
	if rc != 1 || !strings.Contains(out, "already holds a registry (2 persons, 3 machines)") || !strings.Contains(out, "--merge") {
		t.Fatalf("without --merge: exit %d\n%s", rc, out)
	}
	old := writeSource(t, "old.db", oldNetdataDB())
	if rc, out := runCmd(t, "import", "--merge", dir, old); rc != 1 || !strings.Contains(out, "3 persons of "+old) {
		t.Fatalf("--merge of an idle file: exit %d\n%s", rc, out)
	}
	if got := readAll(t, dir); !equalFiles(got, files) {
		t.Fatal("a refused import changed the directory")
	}
	rc, out = runCmd(t, "import", "--merge", dir, db)
	if rc != 0 {
		t.Fatalf("--merge: exit %d\n%s", rc, out)
	}
	if b, a, d, n := personsLine(t, out); b != 2 || a != 4 || d != 0 || n != 4 {
		t.Fatalf("--merge: %d before, %d after, %d dropped, %d now\n%s", b, a, d, n, out)
	}
}

// TestFailedImportCreatesNothing: a new directory appears only with a successful import;
// an existing empty one stays empty.
func TestFailedImportCreatesNothing(t *testing.T) {
	notes := writeSource(t, "notes.txt", "hello\nworld\n")
	parent := t.TempDir()
	if rc, out := runCmd(t, "import", filepath.Join(parent, "a", "b", "data"), notes); rc != 1 {
		t.Fatalf("exit %d\n%s", rc, out)
	}
	expectEmpty(t, parent)
	empty := t.TempDir()
	if rc, out := runCmd(t, "import", empty, notes); rc != 1 {
		t.Fatalf("exit %d\n%s", rc, out)
	}
	expectEmpty(t, empty)
	if rc, out := runCmd(t, "import", filepath.Join(parent, "data"), filepath.Join(parent, "missing.db")); rc != 1 || !strings.Contains(out, "no such file") {
		t.Fatalf("a missing file: exit %d\n%s", rc, out)
	}
	expectEmpty(t, parent)
	// A good import into the existing empty directory fills it.
	db := writeSource(t, "registry.db", netdataDB(true))
	if rc, out := runCmd(t, "import", empty, db); rc != 0 {
		t.Fatalf("exit %d\n%s", rc, out)
	}
	if ok, _ := holdsRegistry(empty); !ok {
		t.Fatal("no registry after the import")
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(empty), ".*.import-*")); len(m) != 0 {
		t.Fatalf("scratch left: %v", m)
	}
}

// TestExportIntoDirectory: an existing directory gets registry.db; the data directory and
// a directory in the way are refused clearly.
func TestExportIntoDirectory(t *testing.T) {
	dir := makeDataDir(t)
	out := t.TempDir()
	rc, text := runCmd(t, "export", dir, out)
	if rc != 0 || !strings.Contains(text, "to "+filepath.Join(out, "registry.db")) {
		t.Fatalf("exit %d\n%s", rc, text)
	}
	first, err := os.ReadFile(filepath.Join(out, "registry.db"))
	if err != nil || !strings.Contains(string(first), "\nT\t") {
		t.Fatalf("%q %v", first, err)
	}
	// Again: the file is replaced whole.
	if rc, text := runCmd(t, "export", dir, filepath.Join(out, "registry.db")); rc != 0 {
		t.Fatalf("exit %d\n%s", rc, text)
	}
	if again, _ := os.ReadFile(filepath.Join(out, "registry.db")); string(again) != string(first) {
		t.Fatal("a second export differs")
	}
	if rc, text := runCmd(t, "export", dir, dir); rc != 2 || !strings.Contains(text, "outside the data directory") {
		t.Fatalf("export into the data directory: exit %d\n%s", rc, text)
	}
	blocked := t.TempDir()
	if err := os.Mkdir(filepath.Join(blocked, "registry.db"), 0o755); err != nil {
		t.Fatal(err)
	}
	if rc, text := runCmd(t, "export", dir, blocked); rc != 1 || !strings.Contains(text, "is a directory") {
		t.Fatalf("a directory in the way: exit %d\n%s", rc, text)
	}
	if m, _ := filepath.Glob(filepath.Join(out, ".*")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

// expectEmpty fails unless dir has no entries.
func expectEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) > 0 {
		t.Fatalf("%s holds %v", dir, names)
	}
}

func equalFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
