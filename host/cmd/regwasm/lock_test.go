package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/regwasm/regwasm/host"
)

// nodeHolder opens dir in a Node process (tests/web/lock-peer.mjs, the Node host) and
// returns its pid; the process ends with the test.
func nodeHolder(t *testing.T, dir string) int {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (./build.sh installs what the tests need)")
	}
	root, _ := filepath.Abs(filepath.Join("..", "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "node_modules", "@bjorn3", "browser_wasi_shim")); err != nil {
		t.Fatalf("the Node host's dependencies are missing: run `npm ci` in %s", root)
	}
	cmd := exec.Command(node, filepath.Join(root, "tests", "web", "lock-peer.mjs"))
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(out)
	reply := func() (r struct{ R, Message string }) {
		if !lines.Scan() {
			t.Fatal("the Node process ended")
		}
		json.Unmarshal(lines.Bytes(), &r)
		return r
	}
	reply() // ready
	b, _ := json.Marshal(map[string]string{"cmd": "open", "id": "n", "dir": dir})
	in.Write(append(b, '\n'))
	if r := reply(); r.R != "opened" {
		t.Fatalf("Node could not open %s: %+v", dir, r)
	}
	return cmd.Process.Pid
}

// A directory a Node program holds is refused by serve's open, naming it (check reads it,
// read-only, and names the holder); a directory serve holds is refused by Node (host's lock
// tests run every other pair).
func TestLockAgainstNode(t *testing.T) {
	dir := makeDataDir(t)
	pid := nodeHolder(t, dir)
	named := "process " + strconv.Itoa(pid) + " (node lock-peer.mjs, Node host)"
	if rc, out := runCheckCmd(t, dir); rc != 0 || !strings.Contains(out, "in use: ") || !strings.Contains(out, named) {
		t.Fatalf("check of a directory Node holds: exit %d\n%s", rc, out)
	}
	if _, err := openRegistry(t.Context(), dir); !errors.Is(err, host.ErrLocked) || !strings.Contains(err.Error(), named) {
		t.Fatalf("serve's open of a directory Node holds: %v", err)
	}

	served := t.TempDir()
	openTestRegistry(t, served)
	node, _ := exec.LookPath("node")
	root, _ := filepath.Abs(filepath.Join("..", "..", ".."))
	script := `import('` + filepath.Join(root, "web", "src", "node.js") + `').then(m => m.openRegistry({storage: process.argv[1], wasm: process.argv[2]}))` +
		`.then(() => process.exit(0), e => { console.log(e.code, e.message); process.exit(3); })`
	out, err := exec.Command(node, "--input-type=module", "-e", script, served, filepath.Join(root, "host", "registry.wasm")).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), "locked") ||
		!strings.Contains(string(out), "process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("Node opened a directory serve holds: %v\n%s", err, out)
	}
}
