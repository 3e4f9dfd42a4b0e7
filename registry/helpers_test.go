package registry

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// seeded is a deterministic random source for new person GUIDs.
type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

func newTestRegistry(t testing.TB) *Registry {
	t.Helper()
	return New(Config{Hostname: "test", MachineGUID: "00000000-0000-4000-8000-000000000000",
		Rand: seeded{rand.NewChaCha8([32]byte{1})}, Now: func() uint32 { return 1_700_000_000 }})
}

const (
	m1 = "11111111-1111-4111-8111-111111111111"
	m2 = "22222222-2222-4222-8222-222222222222"
	m3 = "33333333-3333-4333-8333-333333333333"
)

// body is a decoded netdata response.
type body struct {
	Action     string  `json:"action"`
	Status     string  `json:"status"`
	Hostname   string  `json:"hostname"`
	Machine    string  `json:"machine_guid"`
	PersonGUID string  `json:"person_guid"`
	Registry   string  `json:"registry"`
	URLs       [][]any `json:"urls"`
	Error      string  `json:"error"`
}

// do runs one action, checks the invariants, and decodes the body.
func do(t testing.TB, r *Registry, op Op, when uint32, person, machine, url, arg string) (Result, body) {
	t.Helper()
	req := Request{Op: op, When: when, Person: []byte(person), Machine: []byte(machine), URL: []byte(url), Arg: []byte(arg)}
	res, b := r.Do(&req, nil)
	var out body
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%c: body is not JSON: %v: %s", op, err, b)
	}
	if err := r.checkInvariants(); err != nil {
		t.Fatalf("%c: %v", op, err)
	}
	return res, out
}

func access(t testing.TB, r *Registry, when uint32, person, machine, url, name string) (Result, body) {
	t.Helper()
	return do(t, r, OpAccess, when, person, machine, url, name)
}
