// Package test1 is netdata's 2016 registry benchmark ("test1" in the prototype's registry.c),
// ported phase for phase, as request batches that any host can run: the registry natively,
// the module through wazero, Node or Chromium. It does no I/O.
//
// Phases, at full size (1M persons, 200K machines):
//  1. every person is new and accesses one of the first 200K machines, round robin;
//  2. all again, the same machines;
//  3. all again, each a different machine;
//  4. 1M random persons x random machines of the first 200K;
//  5. the same over all 400K machines;
//  6. and on to 15: ten rounds of 2M random accesses over 400K machines, 1/10000 of them with
//     a new random URL and 1/1000 with the URL of another machine.
//
// The random choices come from [Rand], a specified 32-bit generator: tests/web/bench-workload.mjs
// is an exact port of [New], so every host, Go or JS, sends the same requests in the same
// batches and ends with the same counts.
package test1

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/regwasm/regwasm/registry"
)

// Handler runs one request batch and returns the response batch (wasm/ABI.md). It may reuse
// the returned memory on the next call.
type Handler func(batch []byte) ([]byte, error)

// Options size the workload.
type Options struct {
	Persons  int    // 1,000,000 at full size
	Machines int    // 200,000 at full size (phases 5+ use twice as many)
	Batch    int    // requests per batch; 1000 if 0
	Seed     uint32 // of the random choices; runs with the same options send the same requests
	Start    uint32 // unix seconds of phase 1 (0: now); phases are a minute apart
	Rounds   int    // random rounds (phases 6+); 10 if 0
}

// Full is the prototype's size.
func Full() Options { return Options{Persons: 1_000_000, Machines: 200_000} }

// Requests is how many accesses the workload sends: 5 phases of one per person, then two per
// person per round.
func (o Options) Requests() int { return 5*o.Persons + 2*o.Persons*o.rounds() }

func (o Options) rounds() int {
	if o.Rounds == 0 {
		return 10
	}
	return o.Rounds
}

// Name is the name every access carries.
const Name = "test1"

// Request is one access of the workload.
type Request struct {
	Person  int // index of the person; -1: a new person (phase 1), whose GUID the response tells
	Machine int // index into Workload.Machines
	URL     string
}

// Spec is one phase: N requests, request i made by Next(i), all at time When. The random
// phases draw from the workload's one generator: run the phases in order, each in full.
type Spec struct {
	Name string
	N    int
	When uint32
	Next func(i int) Request
}

// Workload is test1's request stream.
type Workload struct {
	Options  Options  // with the defaults filled in
	Machines []string // 2 x Options.Machines GUIDs, drawn first from the generator
	URLs     []string // URLs[m] is machine m's own URL
	Phases   []Spec
	rnd      *Rand
}

// New makes the workload o describes.
func New(o Options) (*Workload, error) {
	if o.Persons <= 0 || o.Machines <= 0 {
		return nil, fmt.Errorf("test1: persons and machines must be positive")
	}
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	o.Rounds = o.rounds()
	if o.Start == 0 {
		o.Start = uint32(time.Now().Unix())
	}
	w := &Workload{Options: o, rnd: NewRand(o.Seed)}
	M, M2, P := o.Machines, 2*o.Machines, o.Persons
	w.Machines = make([]string, M2)
	w.URLs = make([]string, M2)
	for i := range w.Machines {
		var g registry.GUID
		for k := 0; k < 16; k += 4 {
			binary.BigEndian.PutUint32(g[k:], w.rnd.Uint32())
		}
		g[6] = g[6]&0x0f | 0x40
		g[8] = g[8]&0x3f | 0x80
		w.Machines[i] = g.String()
		w.URLs[i] = "http://" + strconv.Itoa(i+1) + ".netdata.rocks/"
	}
	add := func(name string, n int, next func(i int) Request) {
		w.Phases = append(w.Phases, Spec{Name: name, N: n, When: o.Start + 60*uint32(len(w.Phases)), Next: next})
	}
	// Phase 1 creates the persons: the prototype's loop pre-increments m, starting at 1.
	add("new persons", P, func(i int) Request { m := (i + 1) % M; return Request{-1, m, w.URLs[m]} })
	add("same machines", P, func(i int) Request { m := (i + 1) % M; return Request{i, m, w.URLs[m]} })
	add("other machine", P, func(i int) Request { m := (i + 2) % M; return Request{i, m, w.URLs[m]} })
	// Draw order (the JS port keeps it): the machine, then the person.
	add("random 1x", P, func(int) Request { m := w.rnd.IntN(M); return Request{w.rnd.IntN(P), m, w.URLs[m]} })
	add("random 2x", P, func(int) Request { m := w.rnd.IntN(M2); return Request{w.rnd.IntN(P), m, w.URLs[m]} })
	for round := 1; round <= o.Rounds; round++ {
		add("mixed "+strconv.Itoa(round), 2*P, func(int) Request {
			p, m := w.rnd.IntN(P), w.rnd.IntN(M2)
			url := w.URLs[m]
			if w.rnd.IntN(10000) == 1234 {
				url = "http://random." + strconv.FormatUint(uint64(w.rnd.Uint32()), 10) + ".netdata.rocks/"
			} else if w.rnd.IntN(1000) == 123 {
				url = w.URLs[w.rnd.IntN(M2)]
			}
			return Request{p, m, url}
		})
	}
	return w, nil
}

// Phase is one phase's measurement. Elapsed counts only the time inside the handler, as the
// prototype timed only its registry_request calls: building the batches is the client's work.
type Phase struct {
	Name     string
	Requests int
	Batches  int
	Elapsed  time.Duration
}

// PerSecond is the phase's request rate.
func (p Phase) PerSecond() float64 { return float64(p.Requests) / p.Elapsed.Seconds() }

// Run drives h through every phase, calling done after each one.
func Run(h Handler, o Options, done func(Phase)) ([]Phase, error) {
	w, err := New(o)
	if err != nil {
		return nil, err
	}
	persons := make([]string, w.Options.Persons)
	var phases []Phase
	var batch []byte
	for _, s := range w.Phases {
		ph := Phase{Name: s.Name, Requests: s.N}
		for i := 0; i < s.N; {
			first := i
			newPersons := false
			batch = batch[:0]
			for ; i < s.N && i-first < w.Options.Batch; i++ {
				r := s.Next(i)
				person := ""
				if r.Person >= 0 {
					person = persons[r.Person]
				} else {
					newPersons = true
				}
				batch = AppendAccess(batch, s.When, person, w.Machines[r.Machine], r.URL)
			}
			t0 := time.Now()
			out, err := h(batch)
			ph.Elapsed += time.Since(t0)
			ph.Batches++
			if err != nil {
				return phases, fmt.Errorf("test1: %s: %w", s.Name, err)
			}
			if newPersons {
				if err := learnPersons(out, persons[first:i]); err != nil {
					return phases, fmt.Errorf("test1: %s: %w", s.Name, err)
				}
			}
		}
		phases = append(phases, ph)
		if done != nil {
			done(ph)
		}
	}
	return phases, nil
}

// AppendAccess appends one quiet access record (wasm/ABI.md) to a request batch.
func AppendAccess(b []byte, when uint32, person, machine, url string) []byte {
	b = append(b, byte(registry.OpAccess), registry.FlagQuiet)
	b = binary.AppendUvarint(b, uint64(when))
	for _, f := range [4]string{person, machine, url, Name} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// learnPersons reads the GUIDs the registry gave new persons from a response batch.
func learnPersons(out []byte, persons []string) error {
	resps, err := registry.ParseResponses(out)
	if err != nil || len(resps) != len(persons) {
		return fmt.Errorf("%d responses for %d requests (%v)", len(resps), len(persons), err)
	}
	for k, r := range resps {
		if r.Status != 200 {
			return fmt.Errorf("status %d: %s", r.Status, r.Body)
		}
		persons[k] = r.Person
	}
	return nil
}
