package test1_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/test1"
)

var update = flag.Bool("update", false, "rewrite tests/bench/test1-fixture.json")

// fixturePath is shared with tests/web/bench-workload.test.mjs, which checks the JS port
// against the same file: Go and JS each equal the fixture, so they equal each other.
const fixturePath = "../../tests/bench/test1-fixture.json"

type fixture struct {
	Comment string      `json:"comment"`
	Rand    fixtureRand `json:"rand"`
	Tiny    fixtureRun  `json:"tiny"`
	Small   fixtureRun  `json:"small"`
}

type fixtureRand struct {
	Seed   uint32     `json:"seed"`
	Uint32 []uint32   `json:"uint32"`
	IntN   [][2]int64 `json:"intn"` // [n, value] drawn in order, after the Uint32 outputs
}

// fixtureRun is the workload at one scale: its request stream (in full for the tiny scale,
// as digests for both), and the counts the native registry ends with.
type fixtureRun struct {
	Options  fixtureOptions   `json:"options"`
	Machines []string         `json:"machines,omitempty"`
	Phases   []fixturePhase   `json:"phases"`
	Requests string           `json:"requests_sha256"` // lines "phase\tperson\tmachine\turl\n"
	Batches  string           `json:"batches_sha256"`  // the request batches' bytes, see below
	Random   int              `json:"random_urls"`     // accesses with a new random URL
	Other    int              `json:"other_urls"`      // accesses with another machine's URL
	Counts   map[string]int64 `json:"counts"`
}

type fixtureOptions struct {
	Persons  int    `json:"persons"`
	Machines int    `json:"machines"`
	Batch    int    `json:"batch"`
	Rounds   int    `json:"rounds"`
	Seed     uint32 `json:"seed"`
	Start    uint32 `json:"start"`
}

type fixturePhase struct {
	Name     string  `json:"name"`
	N        int     `json:"n"`
	When     uint32  `json:"when"`
	Requests [][]any `json:"requests,omitempty"` // [person, machine, url]
}

// fixturePerson stands for person p's GUID in batches_sha256 (the real ones are random).
func fixturePerson(p int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012x", p) }

func makeFixtureRun(t *testing.T, o fixtureOptions, full bool) fixtureRun {
	w, err := test1.New(test1.Options{Persons: o.Persons, Machines: o.Machines, Batch: o.Batch, Rounds: o.Rounds, Seed: o.Seed, Start: o.Start})
	if err != nil {
		t.Fatal(err)
	}
	run := fixtureRun{Options: o}
	if full {
		run.Machines = w.Machines
	}
	reqHash, batchHash := sha256.New(), sha256.New()
	var batch []byte
	for k, s := range w.Phases {
		ph := fixturePhase{Name: s.Name, N: s.N, When: s.When}
		for i := 0; i < s.N; i++ {
			r := s.Next(i)
			fmt.Fprintf(reqHash, "%d\t%d\t%d\t%s\n", k, r.Person, r.Machine, r.URL)
			if full {
				ph.Requests = append(ph.Requests, []any{r.Person, r.Machine, r.URL})
			}
			switch {
			case r.URL == w.URLs[r.Machine]:
			case strings.HasPrefix(r.URL, "http://random."):
				run.Random++
			default:
				run.Other++
			}
			person := ""
			if r.Person >= 0 {
				person = fixturePerson(r.Person)
			}
			batch = test1.AppendAccess(batch, s.When, person, w.Machines[r.Machine], r.URL)
			if (i+1)%o.Batch == 0 || i == s.N-1 {
				batchHash.Write(batch)
				batch = batch[:0]
			}
		}
		run.Phases = append(run.Phases, ph)
	}
	run.Requests = hex.EncodeToString(reqHash.Sum(nil))
	run.Batches = hex.EncodeToString(batchHash.Sum(nil))

	reg := registry.New(registry.Config{})
	var out []byte
	if _, err := test1.Run(func(b []byte) ([]byte, error) {
		out, err = reg.Handle(b, out[:0], nil)
		return out, err
	}, w.Options, nil); err != nil {
		t.Fatal(err)
	}
	st := reg.Stats()
	run.Counts = map[string]int64{"persons": int64(st.Persons), "machines": int64(st.Machines), "urls": int64(st.URLs),
		"accesses": int64(st.Accesses), "person_urls": int64(st.PersonURLs), "machine_urls": int64(st.MachineURLs)}
	return run
}

// TestFixture checks that the workload still yields tests/bench/test1-fixture.json (run with
// -update after a deliberate change, and update the JS port to match).
func TestFixture(t *testing.T) {
	f := fixture{
		Comment: "registry/test1 at two scales; written by `go test ./registry/test1 -run TestFixture -update`, checked by tests/web/bench-workload.test.mjs",
		Rand:    fixtureRand{Seed: 1},
	}
	r := test1.NewRand(1)
	for range 8 {
		f.Rand.Uint32 = append(f.Rand.Uint32, r.Uint32())
	}
	for _, n := range []int64{1, 2, 3, 10, 1000, 10000, 400_000, 1_000_000, 1<<31 + 1, 1<<32 - 1} {
		f.Rand.IntN = append(f.Rand.IntN, [2]int64{n, int64(r.IntN(int(n)))})
	}
	start := uint32(1_800_000_000)
	f.Tiny = makeFixtureRun(t, fixtureOptions{Persons: 30, Machines: 6, Batch: 7, Rounds: 2, Seed: 1, Start: start}, true)
	f.Small = makeFixtureRun(t, fixtureOptions{Persons: 3000, Machines: 500, Batch: 256, Rounds: 10, Seed: 42, Start: start}, false)
	if f.Small.Random == 0 || f.Small.Other == 0 {
		t.Fatalf("the small scale should exercise both URL variations: %d random, %d other", f.Small.Random, f.Small.Other)
	}
	got, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(compactRequests(got), '\n')
	if *update {
		if err := os.WriteFile(fixturePath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatalf("%v (write it with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the workload no longer yields %s: if the change is deliberate, rerun with -update and port it to tests/web/bench-workload.mjs", fixturePath)
	}
}

// compactRequests puts each [person, machine, url] triple and each [n, value] pair on one line,
// so the fixture stays readable.
func compactRequests(b []byte) []byte {
	var out bytes.Buffer
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasSuffix(l, "[") && i+1 < len(lines) && !strings.HasSuffix(strings.TrimSpace(lines[i+1]), "[") &&
			!strings.HasSuffix(strings.TrimSpace(lines[i+1]), "{") && (strings.Contains(l, "   [") || strings.HasSuffix(l, "  [")) {
			var parts []string
			j := i + 1
			for ; j < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[j]), "]"); j++ {
				parts = append(parts, strings.TrimSuffix(strings.TrimSpace(lines[j]), ","))
			}
			if j < len(lines) && len(parts) <= 3 {
				out.WriteString(l + strings.Join(parts, ", ") + strings.TrimSpace(lines[j]) + "\n")
				i = j
				continue
			}
		}
		out.WriteString(l + "\n")
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}
