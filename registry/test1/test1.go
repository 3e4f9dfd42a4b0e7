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
//     6-15. ten rounds of 2M random accesses over 400K machines, 1/10000 of them with a new random
//     URL and 1/1000 with the URL of another machine.
package test1

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
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
	Seed     uint64 // random choices; fixed for reproducible runs
	Start    uint32 // unix seconds of phase 1; phases are a minute apart
	Rounds   int    // random rounds (phases 6+); 10 if 0
}

// Full is the prototype's size.
func Full() Options { return Options{Persons: 1_000_000, Machines: 200_000} }

// Phase is one phase's measurement. Elapsed counts only the time inside the handler, as the
// prototype timed only its registry_request calls: building the batches is the client's work.
type Phase struct {
	Name     string
	Requests int
	Elapsed  time.Duration
}

// PerSecond is the phase's request rate.
func (p Phase) PerSecond() float64 { return float64(p.Requests) / p.Elapsed.Seconds() }

// Run drives h through every phase, calling done after each one.
func Run(h Handler, o Options, done func(Phase)) ([]Phase, error) {
	if o.Persons <= 0 || o.Machines <= 0 {
		return nil, fmt.Errorf("test1: persons and machines must be positive")
	}
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.Rounds == 0 {
		o.Rounds = 10
	}
	if o.Start == 0 {
		o.Start = uint32(time.Now().Unix())
	}
	w := &workload{o: o, h: h, rnd: rand.New(rand.NewPCG(o.Seed, 0x7e571))}
	w.machines = make([]string, 2*o.Machines)
	w.urls = make([]string, 2*o.Machines)
	for i := range w.machines {
		var g registry.GUID
		binary.BigEndian.PutUint64(g[:8], w.rnd.Uint64())
		binary.BigEndian.PutUint64(g[8:], w.rnd.Uint64())
		g[6] = g[6]&0x0f | 0x40
		g[8] = g[8]&0x3f | 0x80
		w.machines[i] = g.String()
		w.urls[i] = "http://" + strconv.Itoa(i+1) + ".netdata.rocks/"
	}
	w.persons = make([]string, o.Persons)
	var phases []Phase
	add := func(name string, n int, gen func(i int) (p, m int, url string)) error {
		ph, err := w.phase(name, n, gen)
		if err != nil {
			return err
		}
		phases = append(phases, ph)
		if done != nil {
			done(ph)
		}
		return nil
	}
	M, M2, P := o.Machines, 2*o.Machines, o.Persons
	// Phase 1 creates the persons: the prototype's loop pre-increments m, starting at 1.
	if err := add("new persons", P, func(i int) (int, int, string) { m := (i + 1) % M; return -1, m, w.urls[m] }); err != nil {
		return phases, err
	}
	steps := []struct {
		name string
		n    int
		gen  func(i int) (int, int, string)
	}{
		{"same machines", P, func(i int) (int, int, string) { m := (i + 1) % M; return i, m, w.urls[m] }},
		{"other machine", P, func(i int) (int, int, string) { m := (i + 2) % M; return i, m, w.urls[m] }},
		{"random 1x", P, func(int) (int, int, string) { m := w.rnd.IntN(M); return w.rnd.IntN(P), m, w.urls[m] }},
		{"random 2x", P, func(int) (int, int, string) { m := w.rnd.IntN(M2); return w.rnd.IntN(P), m, w.urls[m] }},
	}
	for _, s := range steps {
		if err := add(s.name, s.n, s.gen); err != nil {
			return phases, err
		}
	}
	for round := 0; round < o.Rounds; round++ {
		err := add("mixed "+strconv.Itoa(round+1), 2*P, func(int) (int, int, string) {
			p, m := w.rnd.IntN(P), w.rnd.IntN(M2)
			url := w.urls[m]
			if w.rnd.IntN(10000) == 1234 {
				url = "http://random." + strconv.FormatUint(w.rnd.Uint64()>>33, 10) + ".netdata.rocks/"
			} else if w.rnd.IntN(1000) == 123 {
				url = w.urls[w.rnd.IntN(M2)]
			}
			return p, m, url
		})
		if err != nil {
			return phases, err
		}
	}
	return phases, nil
}

type workload struct {
	o        Options
	h        Handler
	rnd      *rand.Rand
	machines []string
	urls     []string
	persons  []string
	when     uint32
	phases   uint32
	batch    []byte
}

// phase sends n accesses in batches; gen returns the person index (-1: a new person, whose
// GUID the response tells), the machine index and the URL of request i.
func (w *workload) phase(name string, n int, gen func(i int) (p, m int, url string)) (Phase, error) {
	w.when = w.o.Start + 60*w.phases
	w.phases++
	var elapsed time.Duration
	for i := 0; i < n; {
		w.batch = w.batch[:0]
		first := i
		newPersons := false
		for ; i < n && i-first < w.o.Batch; i++ {
			p, m, url := gen(i)
			person := ""
			if p >= 0 {
				person = w.persons[p]
			} else {
				newPersons = true
			}
			w.batch = append(w.batch, byte(registry.OpAccess), registry.FlagQuiet)
			w.batch = binary.AppendUvarint(w.batch, uint64(w.when))
			for _, f := range [4]string{person, w.machines[m], url, "test1"} {
				w.batch = binary.AppendUvarint(w.batch, uint64(len(f)))
				w.batch = append(w.batch, f...)
			}
		}
		t0 := time.Now()
		out, err := w.h(w.batch)
		elapsed += time.Since(t0)
		if err != nil {
			return Phase{}, fmt.Errorf("test1: %s: %w", name, err)
		}
		if newPersons {
			resps, err := registry.ParseResponses(out)
			if err != nil || len(resps) != i-first {
				return Phase{}, fmt.Errorf("test1: %s: %d responses for %d requests (%v)", name, len(resps), i-first, err)
			}
			for k, r := range resps {
				if r.Status != 200 {
					return Phase{}, fmt.Errorf("test1: %s: status %d: %s", name, r.Status, r.Body)
				}
				w.persons[first+k] = r.Person
			}
		}
	}
	return Phase{Name: name, Requests: n, Elapsed: elapsed}, nil
}
