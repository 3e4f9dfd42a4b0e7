package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/regwasm/regwasm/host"
)

// runSplit runs the command with stdout and stderr apart.
func runSplit(t *testing.T, args ...string) (rc int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	rc = run(t.Context(), args, &o, &e)
	return rc, o.String(), e.String()
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version", "-version"} {
		rc, out, errOut := runSplit(t, arg)
		if rc != 0 || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", arg, rc, errOut)
		}
		for _, want := range []string{"regwasm ", runtime.Version(), "registry.wasm sha256:"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q lacks %q", arg, out, want)
			}
		}
	}
}

// TestHelp: help asked for goes to stdout with exit 0, and a command's help explains its
// arguments, not only its flags.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		rc, out, errOut := runSplit(t, args...)
		if rc != 0 || errOut != "" || !strings.Contains(out, "regwasm import") || !strings.Contains(out, "--version") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, rc, out, errOut)
		}
	}
	wants := map[string][]string{
		"import": {"usage: regwasm import", "DIR", "registry.db", "registry-log.db", "--merge", "--keep-idle", "--expire-idle"},
		"export": {"usage: regwasm export", "DIR", "FILE", "registry.db"},
		"serve":  {"usage: regwasm serve", "--tls-cert", "--tls-key", "/metrics", "/healthz"},
		"check":  {"usage: regwasm check", "DIR", "--json"},
		"stats":  {"usage: regwasm stats", "DIR", "--json"},
	}
	for cmd, want := range wants {
		for _, args := range [][]string{{cmd, "--help"}, {cmd, "-h"}, {"help", cmd}} {
			rc, out, errOut := runSplit(t, args...)
			if rc != 0 || errOut != "" {
				t.Errorf("%v: exit %d, stderr %q", args, rc, errOut)
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("%v: help lacks %q:\n%s", args, w, out)
				}
			}
		}
	}
	// Without arguments the usage is an error: stderr, exit 2.
	if rc, out, errOut := runSplit(t); rc != 2 || out != "" || !strings.Contains(errOut, "usage:") {
		t.Errorf("no arguments: exit %d, stdout %q, stderr %q", rc, out, errOut)
	}
}

// TestFlagErrorOnce: a bad flag is reported once, with a hint, not followed by every flag.
func TestFlagErrorOnce(t *testing.T) {
	for _, args := range [][]string{{"serve", "--nope"}, {"stats", "--json=maybe"}, {"import", "--merge=x", "d", "f"}} {
		rc, out, errOut := runSplit(t, args...)
		if rc != 2 || out != "" {
			t.Errorf("%v: exit %d, stdout %q", args, rc, out)
		}
		flagName := strings.TrimLeft(strings.SplitN(args[1], "=", 2)[0], "-")
		if n := strings.Count(errOut, flagName); n != 1 {
			t.Errorf("%v: the error names -%s %d times:\n%s", args, flagName, n, errOut)
		}
		if strings.Count(errOut, "\n") > 2 || !strings.Contains(errOut, "regwasm "+args[0]+" --help") {
			t.Errorf("%v: stderr %q", args, errOut)
		}
	}
}

func TestPlurals(t *testing.T) {
	one := host.Stats{Persons: 1, Machines: 1, URLs: 1, Accesses: 1, PersonURLs: 1, MachineURLs: 1}
	if got, want := humanStats(one), "1 person, 1 machine, 1 URL, 1 access, 1 person-URL, 1 machine-URL"; got != want {
		t.Errorf("humanStats(1...) = %q, want %q", got, want)
	}
	if got := plural(1, "record", "records") + ", " + plural(4096, "byte", "bytes"); got != "1 record, 4096 bytes" {
		t.Errorf("plural: %q", got)
	}
	two := host.Stats{Persons: 2, Machines: 0, URLs: 1500, Accesses: 2, PersonURLs: 2, MachineURLs: 2}
	if got, want := humanStats(two), "2 persons, 0 machines, 1.5K URLs, 2 accesses, 2 person-URLs, 2 machine-URLs"; got != want {
		t.Errorf("humanStats(2...) = %q, want %q", got, want)
	}
}
