package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnit: docs/regwasm.service starts serve with flags serve takes, serves the
// directory systemd makes for it, and (where systemd-analyze is installed) verifies.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("../../../docs/regwasm.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	var tlsLine string
	for line := range strings.Lines(string(unit)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#   --addr :443") {
			tlsLine = strings.TrimPrefix(line, "#   ")
		}
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k] = v
		}
	}
	exec0 := strings.Fields(keys["ExecStart"])
	if len(exec0) < 2 || filepath.Base(exec0[0]) != "regwasm" || exec0[1] != "serve" {
		t.Fatalf("ExecStart=%s", keys["ExecStart"])
	}
	c, err := parseServeArgs(exec0[2:], nil)
	if err != nil {
		t.Fatalf("ExecStart's flags: %v", err)
	}
	if c.dir != "/var/lib/"+keys["StateDirectory"] || keys["User"] == "" || keys["StateDirectoryMode"] != "0700" {
		t.Fatalf("--dir %s with StateDirectory=%s, User=%s", c.dir, keys["StateDirectory"], keys["User"])
	}
	if keys["Environment"] != "XDG_CACHE_HOME=/var/cache" || keys["CacheDirectory"] != "regwasm" {
		t.Fatalf("the compilation cache is not in the CacheDirectory: %q %q", keys["Environment"], keys["CacheDirectory"])
	}
	if tlsLine == "" {
		t.Fatal("no TLS example in the unit")
	}
	if c, err := parseServeArgs(append(exec0[2:], strings.Fields(tlsLine)...), nil); err != nil || c.cert == "" || c.key == "" {
		t.Fatalf("the TLS example's flags: %+v %v", c, err)
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit's syntax is not verified")
	}
	// verify wants ExecStart's program to exist: this test's binary stands in for it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "regwasm.service")
	writeFile(t, path, strings.Replace(string(unit), "ExecStart="+exec0[0], "ExecStart="+self, 1))
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
