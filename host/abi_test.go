package host

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/api"
)

// TestABIExports compares the export table of wasm/ABI.md with the embedded module's
// exported functions and their signatures, both ways.
func TestABIExports(t *testing.T) {
	doc, err := parseABIExports("../wasm/ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(doc) < 7 {
		t.Fatalf("only %d exports documented: %v", len(doc), doc)
	}
	e, err := getEngine(context.Background(), &options{})
	if err != nil {
		t.Fatal(err)
	}
	built := map[string]string{}
	for name, fn := range e.compiled.ExportedFunctions() {
		built[name] = signature(fn.ParamTypes(), fn.ResultTypes())
	}
	for name, sig := range doc {
		if got, ok := built[name]; !ok {
			t.Errorf("ABI.md documents %s %s: not exported", name, sig)
		} else if got != sig {
			t.Errorf("%s: ABI.md says %s, the module has %s", name, sig, got)
		}
	}
	for name, sig := range built {
		if _, ok := doc[name]; !ok {
			t.Errorf("the module exports %s %s: not in ABI.md", name, sig)
		}
	}
}

// exportRow is a row of the export table: | `name` | `(a i32, b i32) -> i32` | ... |
var exportRow = regexp.MustCompile("^\\|\\s*`([a-z_]+)`\\s*\\|\\s*`\\(([^)]*)\\)\\s*->\\s*([^`]+)`\\s*\\|")

// parseABIExports returns the signatures of the "## Exports" table as "(i32,i32)->(i32)".
func parseABIExports(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	in := false
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Exports"
			continue
		}
		m := exportRow.FindStringSubmatch(line)
		if !in || m == nil {
			continue
		}
		var params []string
		for _, p := range strings.Split(m[2], ",") {
			if f := strings.Fields(p); len(f) > 0 {
				params = append(params, f[len(f)-1]) // "size i32" -> "i32"
			}
		}
		results := strings.Trim(strings.TrimSpace(m[3]), "()")
		out[m[1]] = "(" + strings.Join(params, ",") + ")->(" + strings.ReplaceAll(results, " ", "") + ")"
	}
	return out, nil
}

func signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		var s []string
		for _, t := range ts {
			s = append(s, api.ValueTypeName(t))
		}
		return strings.Join(s, ",")
	}
	return "(" + names(params) + ")->(" + names(results) + ")"
}

// TestCommittedWasmIsFresh rebuilds the module with exactly build.sh's command and compares
// it with the embedded one (the build is reproducible with -trimpath -buildvcs=false).
// ./build.sh test does not rebuild the module, so this is what catches a committed blob that
// its sources no longer produce.
func TestCommittedWasmIsFresh(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out := filepath.Join(t.TempDir(), "registry.wasm")
	cmd := exec.Command(goBin, "build", "-trimpath", "-buildvcs=false", "-buildmode=c-shared", "-o", out, "./wasm")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building ./wasm: %v\n%s", err, msg)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, Binary()) {
		t.Fatalf("host/registry.wasm (%d bytes) differs from a fresh build of ./wasm (%d bytes): "+
			"run ./build.sh to rebuild host/registry.wasm and commit it", len(registryWasm), len(fresh))
	}
}
