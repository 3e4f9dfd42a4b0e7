package conformance_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/regwasm/regwasm/tests/conformance"
)

// testCache is the compilation cache every wazero registry of these tests shares.
var testCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "regwasm-conformance-cache")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func vectors(t *testing.T) []*conformance.Vector {
	t.Helper()
	vs, err := conformance.LoadDir("vectors")
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// hosts are the Go runners: the native core over memory and over a directory (what the
// module uses, natively), and the module in wazero.
func hosts(t *testing.T) map[string]func() conformance.Host {
	return map[string]func() conformance.Host{
		"native-memory": func() conformance.Host { return &conformance.Native{} },
		"native-dir":    func() conformance.Host { return &conformance.Native{Dir: t.TempDir()} },
		"wazero":        func() conformance.Host { return &wazeroHost{root: t.TempDir()} },
	}
}

// TestVectors runs every committed vector on every Go host: every response, answer, file and
// snapshot must be what the vector says, byte for byte. A vector whose expectations are
// stale (the core changed) fails natively first: rerun `go run ./tests/conformance/gen
// -update` and review the diff.
func TestVectors(t *testing.T) {
	for _, v := range vectors(t) {
		for name, mk := range hosts(t) {
			t.Run(v.Name+"/"+name, func(t *testing.T) {
				t.Parallel()
				if err := conformance.Run(v, mk(), false); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestVectorsAsGenerated checks that every vector file is exactly what the generator writes
// (no hand edit left unformatted, no expectation missing).
func TestVectorsAsGenerated(t *testing.T) {
	for _, v := range vectors(t) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(v.Path())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Errorf("%s is not as gen -update writes it", v.Path())
		}
		for i, s := range v.Steps {
			if (s.IsAction() && s.Expect == nil && s.ExpectError == nil) || (s.Do == conformance.DoBatch && s.ExpectAll == nil && s.ExpectError == nil) ||
				(s.Do == conformance.DoSave && s.Snapshot == "") || (s.Do == conformance.DoGet && s.Contents == "" && !s.Absent) {
				t.Errorf("%s step %d (%s): no expectation", v.Name, i+1, s.Do)
			}
		}
	}
}

// TestCoverage checks that the vectors exercise what the suite promises: every action and
// storage step, every status of search and switch refusals, EXPIRED set and cleared, the
// machine-only access, and malformed batches.
func TestCoverage(t *testing.T) {
	seen := map[string]bool{}
	note := func(s conformance.Step, r conformance.Response) {
		seen[s.Do] = true
		seen[fmt.Sprintf("%s %d", s.Do, r.Status)] = true
		if s.Do == "access" && s.Flags != nil && *s.Flags&2 != 0 {
			seen[fmt.Sprintf("access machine-only %d", r.Status)] = true
		}
		if strings.Contains(r.Body, `,1]`) {
			seen["expired flag"] = true
		}
	}
	for _, v := range vectors(t) {
		for _, s := range v.Steps {
			seen[s.Do] = true
			if s.ExpectError != nil {
				seen["error "+s.ExpectError.Code] = true
			}
			if s.Expect != nil {
				note(s, *s.Expect)
			}
			for i, a := range s.Actions {
				if a.RawHex == "" && i < len(s.ExpectAll) {
					note(a, s.ExpectAll[i])
				}
			}
		}
	}
	want := []string{"hello", "access", "delete", "search", "switch", "stats", "expire", "config", "check", "import", "export",
		"batch", "save", "load", "reopen", "fresh", "put", "get", "error malformed", "expired flag",
		"access 200", "access 400", "access machine-only 200", "access machine-only 400", "delete 200", "delete 400", "search 200", "search 400", "search 404",
		"switch 200", "switch 400", "switch 430", "switch 431", "switch 432", "switch 433", "switch 434",
		"import 200", "import 400", "export 200", "export 400", "configure 200", "configure 400"}
	var missing []string
	for _, w := range want {
		if !seen[w] {
			missing = append(missing, w)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("no vector covers: %s", strings.Join(missing, ", "))
	}
}

// TestStream checks the random stream against the known answers the JS port checks too, and
// that it does not depend on how it is read.
func TestStream(t *testing.T) {
	data, err := os.ReadFile("stream.json")
	if err != nil {
		t.Fatal(err)
	}
	var a conformance.StreamAnswers
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Seeds) < 5 {
		t.Fatalf("stream.json has %d seeds", len(a.Seeds))
	}
	for _, s := range a.Seeds {
		want, _ := hex.DecodeString(s.Bytes)
		got := make([]byte, len(want))
		if _, err := io.ReadFull(conformance.NewStream(s.Seed), got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("seed %d: %x, want %x", s.Seed, got, want)
		}
		one := conformance.NewStream(s.Seed)
		for i := range want {
			var b [1]byte
			one.Read(b[:])
			if b[0] != want[i] {
				t.Fatalf("seed %d byte %d read alone: %#x, want %#x", s.Seed, i, b[0], want[i])
			}
		}
	}
	// SplitMix64's published first output for seed 0.
	if got := conformance.NewStream(0).Next(); got != 0xe220a8397b1dcdaf {
		t.Fatalf("seed 0: first output %#x", got)
	}
}

// TestHexDump checks that the snapshot dumps read back as written.
func TestHexDump(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 300} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		got, err := conformance.ParseHexDump(conformance.HexDump("test", data))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: %v, got %x", n, err, got)
		}
	}
	if _, err := conformance.ParseHexDump([]byte("00000010  01 02\n")); err == nil {
		t.Fatal("a dump starting at offset 16 was accepted")
	}
	paths, _ := filepath.Glob("vectors/snapshots/*.hex")
	if len(paths) == 0 {
		t.Fatal("no committed snapshots")
	}
}
