package conformance_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/regwasm/regwasm/tests/conformance"
)

// RandomOut is where TestRandom leaves its vector for the JS runners
// (tests/web/conformance.test.mjs runs every vector it finds there).
const RandomOut = "../out/conformance"

// randomSize is the random vector's actions: a few thousand by default, many more with
// REGWASM_FULL=1; REGWASM_SEED picks another seed (default 1).
func randomSize(t *testing.T) (seed uint64, n int) {
	seed, n = 1, 3000
	if os.Getenv("REGWASM_FULL") == "1" {
		n = 50000
	}
	if s := os.Getenv("REGWASM_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil || seed == 0 {
			t.Fatalf("REGWASM_SEED=%q: want a positive integer", s)
		}
	}
	return seed, n
}

// TestRandom is the randomized differential test: a seeded, reproducible sequence of
// thousands of random actions (see conformance.Random) is generated against the native
// registry and written to tests/out/conformance/random-SEED.json; read back from that file,
// it must then run identically, step by step, on the native core over a directory and on
// the wazero host. The JS runners run the same file.
func TestRandom(t *testing.T) {
	seed, n := randomSize(t)
	if err := os.MkdirAll(RandomOut, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(RandomOut, "random-"+strconv.FormatUint(seed, 10)+".json")
	gen, err := conformance.Random(path, seed, n)
	if err != nil {
		t.Fatal(err)
	}
	v, err := conformance.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Steps) != len(gen.Steps) {
		t.Fatalf("read back %d steps of %d", len(v.Steps), len(gen.Steps))
	}
	var actions, refused, failed int
	for _, s := range v.Steps {
		if s.ExpectError != nil {
			failed++
		}
		for _, r := range s.ExpectAll {
			actions++
			if r.Status != 200 {
				refused++
			}
		}
	}
	t.Logf("%s: %d steps, %d actions (%d refused), %d malformed batches", path, len(v.Steps), actions, refused, failed)
	if actions < n*9/10 || refused < n/20 || failed == 0 {
		t.Fatalf("the vector exercises too little: %d actions, %d refused, %d malformed", actions, refused, failed)
	}
	for name, mk := range map[string]func() conformance.Host{
		"native-dir": func() conformance.Host { return &conformance.Native{Dir: t.TempDir()} },
		"wazero":     func() conformance.Host { return &wazeroHost{root: t.TempDir()} },
	} {
		t.Run(name, func(t *testing.T) {
			if err := conformance.Run(v, mk(), false); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRandomReproducible checks that a seed always gives the same vector, byte for byte
// (the JS runners and a rerun after a failure rely on it), and another seed another one.
func TestRandomReproducible(t *testing.T) {
	var files [3][]byte
	for i, seed := range []uint64{5, 5, 6} {
		path := filepath.Join(t.TempDir(), "random.json")
		if _, err := conformance.Random(path, seed, 300); err != nil {
			t.Fatal(err)
		}
		var err error
		if files[i], err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("seed 5 gave two different vectors")
	}
	if bytes.Equal(files[0], files[2]) {
		t.Fatal("seeds 5 and 6 gave the same vector")
	}
}
