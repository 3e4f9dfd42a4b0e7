package main

import (
	"bytes"
	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/human"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUsageAndExitCodes(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage:"},
		{[]string{"help"}, 0, "regwasm serve"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"check"}, 2, "exactly one DIR"},
		{[]string{"export", "x"}, 2, "DIR FILE"},
		{[]string{"serve", "--nope"}, 2, "flag provided but not defined"},
		{[]string{"stats", "a", "b"}, 2, "at most one DIR"},
		{[]string{"check", "-h"}, 0, "-json"},
	}
	for _, tt := range tests {
		rc, out := runCmd(t, tt.args...)
		if rc != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("regwasm %v: exit %d, want %d with %q\n%s", tt.args, rc, tt.code, tt.want, out)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	// Keep the compilation cache where it is: a new one would compile the module again.
	if cache, err := os.UserCacheDir(); err == nil {
		t.Setenv("XDG_CACHE_HOME", cache)
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("REGWASM_DIR", "")
	t.Setenv("XDG_DATA_HOME", "")
	if d, _ := defaultDir(); d != filepath.Join(home, ".local", "share", "regwasm") {
		t.Fatalf("without XDG: %s", d)
	}
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "xdg"))
	if d, _ := defaultDir(); d != filepath.Join(home, "xdg", "regwasm") {
		t.Fatalf("with XDG: %s", d)
	}
	t.Setenv("REGWASM_DIR", filepath.Join(home, "explicit"))
	// A read-only command creates nothing, not even the default directory: stats of a first
	// run is an error that names it.
	if d, err := dataDir("", false); err == nil {
		t.Fatalf("a missing default directory was accepted: %s", d)
	}
	rc, out := runCmd(t, "stats")
	if rc != 1 || !strings.Contains(out, filepath.Join(home, "explicit")) {
		t.Fatalf("stats: exit %d\n%s", rc, out)
	}
	if _, err := os.Stat(filepath.Join(home, "explicit")); !os.IsNotExist(err) {
		t.Fatalf("stats created the default directory: %v", err)
	}
	// serve creates it, private to the user.
	d, err := dataDir("", true)
	if err != nil || d != filepath.Join(home, "explicit") {
		t.Fatalf("REGWASM_DIR: %s %v", d, err)
	}
	if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("default dir not created private: %v %v", st, err)
	}
	if _, err := dataDir(filepath.Join(home, "given"), false); err == nil {
		t.Fatal("a missing given directory was accepted")
	}
	// stats on the new directory: no registry yet, and still nothing written.
	rc, out = runCmd(t, "stats")
	if rc != 0 || !strings.Contains(out, "0 persons, 0 machines") || !strings.Contains(out, "snapshot none yet") {
		t.Fatalf("stats: exit %d\n%s", rc, out)
	}
	if entries, _ := os.ReadDir(d); len(entries) != 0 {
		t.Fatalf("stats wrote %v", entries)
	}
}

func TestStatsCommand(t *testing.T) {
	dir := makeDataDir(t)
	rc, out := runCmd(t, "stats", dir)
	if rc != 0 {
		t.Fatalf("exit %d\n%s", rc, out)
	}
	for _, want := range []string{"2 persons, 3 machines, 3 URLs, 4 accesses, 4 person-URLs, 3 machine-URLs",
		"memory ", "per person-URL", "snapshot registry.db.", "2 changes in the log", "registry.log"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	rc, js := runCmd(t, "stats", "--json", dir)
	if rc != 0 || !strings.Contains(js, `"person_urls": 4`) || !strings.Contains(js, `"disk_bytes"`) {
		t.Fatalf("--json: exit %d\n%s", rc, js)
	}
}

func TestHumanNumbers(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1K", 1250: "1.2K", 400_000: "400K",
		1_200_000: "1.2M", 24_000_000: "24M", 3_000_000_000: "3G"} {
		if got := human.Count(n); got != want {
			t.Errorf("human.Count(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 3 << 30: "3.0 GiB"} {
		if got := human.Bytes(n); got != want {
			t.Errorf("human.Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestProgressPlain: off a terminal the bar prints whole lines, not \r redraws: a quick job
// one line when it ends, a long one a line every plainPrintEvery, never the same line twice.
func TestProgressPlain(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, "copying", 1000, human.Bytes)
	if p.tty {
		t.Fatal("a buffer is not a terminal")
	}
	for i := int64(0); i <= 1000; i += 10 {
		p.set(i)
	}
	p.finish()
	s := out.String()
	if strings.Contains(s, "\r") {
		t.Fatalf("carriage returns off a terminal: %q", s)
	}
	if lines := strings.Split(strings.TrimSpace(s), "\n"); len(lines) != 1 ||
		!strings.Contains(lines[0], "100%") || !strings.Contains(lines[0], "1000 B/1000 B") {
		t.Fatalf("a quick job printed %d lines:\n%s", len(lines), s)
	}
	// A long job: a line each time plainPrintEvery has passed, then the last.
	out.Reset()
	p = newProgress(&out, "copying", 1000, human.Bytes)
	p.started = p.started.Add(-3 * plainPrintEvery)
	p.drawn = p.started
	p.set(100) // over plainPrintEvery since the start: a line
	p.set(200) // just after it: none
	p.drawn = p.drawn.Add(-plainPrintEvery)
	p.set(1000) // a line
	p.finish()  // the same state: not again
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 ||
		!strings.Contains(lines[0], " 10%") || !strings.Contains(lines[1], "100%") {
		t.Fatalf("a long job printed:\n%s", out.String())
	}
	// On a terminal: one line, redrawn.
	var tty bytes.Buffer
	p = newProgress(&tty, "x", 10, nil)
	p.tty, p.drawn = true, time.Time{}
	p.set(5)
	p.drawn = time.Time{}
	p.set(10)
	p.finish()
	if got := tty.String(); strings.Count(got, "\r") != 3 || !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
		t.Fatalf("terminal output %q", got)
	}
}
