package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

// snapshotFile returns the path of the one snapshot in dir.
func snapshotFile(t *testing.T, dir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "registry.db.*"))
	if len(m) != 1 {
		t.Fatalf("snapshots %v", m)
	}
	return m[0]
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
	for _, want := range []string{"snapshot: " + snap + " (found .", "log:      3 records", "crc32 ", "allow from = *",
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
		name   string
		damage func(t *testing.T, dir string)
		want   []string
	}{
		{"torn snapshot", func(t *testing.T, dir string) {
			f := snapshotFile(t, dir)
			b, _ := os.ReadFile(f)
			writeFile(t, f, string(b[:len(b)/2]))
		}, []string{"load:     FAILED", "corrupt"}},
		{"bit-flipped snapshot", func(t *testing.T, dir string) {
			f := snapshotFile(t, dir)
			b, _ := os.ReadFile(f)
			b[len(b)/3] ^= 0x10
			writeFile(t, f, string(b))
		}, []string{"load:     FAILED", "corrupt"}},
		{"torn log tail", func(t *testing.T, dir string) {
			f, err := os.OpenFile(filepath.Join(dir, "registry.log"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			// The start of a record that never finished: a crash mid-append.
			f.Write([]byte{0x07, 0x00, 0x00})
			f.Close()
		}, []string{"torn bytes off registry.log"}},
		{"bit-flipped log", func(t *testing.T, dir string) {
			f := filepath.Join(dir, "registry.log")
			b, _ := os.ReadFile(f)
			b[len(b)/2] ^= 0x01
			writeFile(t, f, string(b))
		}, []string{"registry.log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := makeDataDir(t)
			tt.damage(t, dir)
			before := readAll(t, dir)
			rc, out := runCheckCmd(t, dir)
			if rc != 1 || !strings.HasSuffix(out, "NOT healthy\n") {
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
		})
	}
}

func TestCheckRefusesLockedDir(t *testing.T) {
	dir := makeDataDir(t)
	openTestRegistry(t, dir) // a running server
	rc, out := runCheckCmd(t, dir)
	if rc != 1 || !strings.Contains(out, "locked") {
		t.Fatalf("exit %d\n%s", rc, out)
	}
	if rc, out := runCheckCmd(t, filepath.Join(dir, "missing")); rc != 1 || !strings.Contains(out, "no such file") {
		t.Fatalf("missing dir: exit %d\n%s", rc, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("check created the directory")
	}
}
