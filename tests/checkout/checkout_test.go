// Package checkout tests what a person with a fresh clone meets before any code runs:
// build.sh's prerequisites and the README's instructions.
package checkout

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// buildSh runs ../../build.sh with args and the given PATH, nothing else from the
// environment but HOME.
func buildSh(t *testing.T, path string, args ...string) (string, error) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	cmd := exec.Command(bash, append([]string{"../../build.sh"}, args...)...)
	cmd.Env = []string{"PATH=" + path, "HOME=" + os.Getenv("HOME")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestBuildShNeedsGo: without Go, or with an old one, build.sh says what it needs instead of
// failing on "go: command not found" halfway.
func TestBuildShNeedsGo(t *testing.T) {
	// A PATH with the shell's tools but no go.
	bin := t.TempDir()
	for _, tool := range []string{"bash", "env", "dirname", "mkdir", "sed", "cat", "printf"} {
		if p, err := exec.LookPath(tool); err == nil {
			if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, args := range [][]string{nil, {"test"}, {"serve"}} {
		out, err := buildSh(t, bin, args...)
		if err == nil || !strings.Contains(out, "Go >= 1.26 is needed") || strings.Contains(out, "command not found") {
			t.Errorf("build.sh %v without go: %v\n%s", args, err, out)
		}
	}
	old := filepath.Join(bin, "go")
	if err := os.WriteFile(old, []byte("#!/bin/sh\n[ \"$1 $2\" = \"env GOVERSION\" ] && echo go1.21.3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := buildSh(t, bin)
	if err == nil || !strings.Contains(out, "Go >= 1.26 is needed; `go` is go1.21.3") {
		t.Errorf("build.sh with go1.21: %v\n%s", err, out)
	}
}

// TestReadme: the README lists what the machine needs and what build.sh installs, tells how
// to use the module from a checkout (it is not published), and has the operator's section.
func TestReadme(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, want := range []string{
		"Go >= 1.26", "Node >= 20", "staticcheck", "Chromium", // prerequisites, installs
		"replace github.com/regwasm/regwasm =>", // using it from a checkout
		"docs/regwasm.service", "systemctl", "--tls-cert", "--tls-key", "reverse proxy",
		"/metrics", "/healthz", "regwasm export", "regwasm check", "regwasm recover",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?m)^\s*go get github\.com/regwasm/regwasm\s*$|go get github.com/regwasm/regwasm\x60`).MatchString(readme) ||
		strings.Contains(readme, "(`go get github.com/regwasm/regwasm`") {
		t.Error("README tells to `go get` a module that is not published")
	}
	// Every metric the README names is one /metrics serves.
	src, err := os.ReadFile("../../host/cmd/regwasm/metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("`(regwasm_[a-z_]+)`").FindAllStringSubmatch(readme, -1) {
		if !strings.Contains(string(src), `"`+m[1]+`"`) {
			t.Errorf("README names %s, which /metrics does not serve", m[1])
		}
	}
}
