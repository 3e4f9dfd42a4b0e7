package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regwasm/regwasm/host"
)

// makeDataDir writes a registry with a snapshot and log records after it, as a server that
// ran for a while leaves it.
func makeDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	reg, err := openRegistry(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	s := serverOver(t, reg, nil)
	p := newPerson(t, s, machineA, urlA)
	expectStatus(t, access(t, s, p, machineB, urlB), 200, "ok")
	if _, err := reg.reg.Save(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, access(t, s, p, machineC, urlC), 200, "ok")
	newPerson(t, s, machineC, urlC)
	if err := reg.close(t.Context()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// snapshotFile returns the path of the newest snapshot in dir (the last save's).
func snapshotFile(t *testing.T, dir string) string {
	t.Helper()
	rep, err := host.CheckDir(t.Context(), dir)
	if err != nil || rep.Snapshot.Chosen == "" {
		t.Fatalf("check: %v %+v", err, rep)
	}
	return filepath.Join(dir, rep.Snapshot.Chosen)
}

// currentLog returns the path of the log segment appends go to (the one with records).
func currentLog(t *testing.T, dir string) string {
	t.Helper()
	rep, err := host.CheckDir(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndex(rep.Open, "registry.log.")
	if i < 0 {
		t.Fatalf("no log segment in %q", rep.Open)
	}
	return filepath.Join(dir, rep.Open[i:i+len("registry.log.1")])
}

// readAll returns every file of dir, to show that check changed none.
func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

func runCheckCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	rc := run(t.Context(), append([]string{"check"}, args...), &out, &out)
	return rc, out.String()
}

func TestCheckHealthy(t *testing.T) {
	dir := makeDataDir(t)
	before := readAll(t, dir)
	rc, out := runCheckCmd(t, dir)
	if rc != 0 || !strings.HasSuffix(out, "healthy\n") || strings.Contains(out, "NOT") {
		t.Fatalf("exit %d\n%s", rc, out)
	}
	snap := filepath.Base(snapshotFile(t, dir))
	for _, want := range []string{"snapshot: " + snap + " (generation 2", "log:      2 records to replay", "crc32 ", "allow from = *",
		"unused (the previous generation",
		"registry save db every new entries = 1000000"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	rc, js := runCheckCmd(t, "--json", dir)
	if rc != 0 || !strings.Contains(js, `"healthy": true`) {
		t.Fatalf("--json: %d %s", rc, js)
	}
	if after := readAll(t, dir); len(after) != len(before) {
		t.Fatalf("check changed the directory: %d files before, %d after", len(before), len(after))
	}
}

func TestCheckDamagedFiles(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(t *testing.T, dir string)
		healthy bool
		want    []string
	}{
		{"torn snapshot", func(t *testing.T, dir string) {
			f := snapshotFile(t, dir)
			b, _ := os.ReadFile(f)
			writeFile(t, f, string(b[:len(b)/2]))
		}, false, []string{"cut short after its save finished", "nothing acknowledged is lost"}},
		{"bit-flipped snapshot", func(t *testing.T, dir string) {
			f := snapshotFile(t, dir)
			b, _ := os.ReadFile(f)
			b[len(b)/3] ^= 0x10
			writeFile(t, f, string(b))
		}, false, []string{"checksum mismatch", "does not verify", "nothing acknowledged is lost"}},
		{"torn log tail", func(t *testing.T, dir string) {
			f, err := os.OpenFile(currentLog(t, dir), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			// The start of a record that never finished: a crash mid-append.
			f.Write([]byte{0x07, 0x00, 0x00})
			f.Close()
		}, true, []string{"an unfinished append of 3 bytes"}},
		{"bit-flipped log", func(t *testing.T, dir string) {
			f := currentLog(t, dir)
			b, _ := os.ReadFile(f)
			b[40] ^= 0x01
			writeFile(t, f, string(b))
		}, false, []string{"damaged at offset 32", "LOSS:", "regwasm recover"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := makeDataDir(t)
			tt.damage(t, dir)
			before := readAll(t, dir)
			rc, out := runCheckCmd(t, dir)
			if tt.healthy && (rc != 0 || !strings.HasSuffix(out, "healthy\n") || strings.Contains(out, "NOT")) ||
				!tt.healthy && (rc != 1 || !strings.Contains(out, "NOT healthy")) {
				t.Fatalf("exit %d\n%s", rc, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in\n%s", w, out)
				}
			}
			after := readAll(t, dir)
			for name, content := range before {
				if after[name] != content {
					t.Fatalf("check changed %s", name)
				}
			}
			if len(after) != len(before) {
				t.Fatal("check created or removed files")
			}
		})
	}
}

// TestCheckLiveDir: check reads a directory a running registry holds, without its lock, and
// says who holds it; a missing directory is an error and is not created.
func TestCheckLiveDir(t *testing.T) {
	dir := makeDataDir(t)
	openTestRegistry(t, dir) // a running server
	rc, out := runCheckCmd(t, dir)
	if rc != 0 || !strings.Contains(out, "in use: ") || !strings.HasSuffix(out, "healthy\n") {
		t.Fatalf("exit %d\n%s", rc, out)
	}
	if rc, out := runCheckCmd(t, filepath.Join(dir, "missing")); rc != 1 || !strings.Contains(out, "no such file") {
		t.Fatalf("missing dir: exit %d\n%s", rc, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("check created the directory")
	}
}
