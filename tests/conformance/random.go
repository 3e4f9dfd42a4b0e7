package conformance

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// RandomStart is the clock and first action time of random vectors (2023-11-14).
const RandomStart = 1_700_000_000

// Random generates a vector of about n random actions from seed, runs it on the native
// registry (recording the expected outcomes, snapshots and files next to path) and writes it
// to path. The same seed always gives the same vector.
//
// The actions are every op but import (valid and invalid parameters, quiet or not, persons
// known, unknown and invalid, URLs that move between machines, long and dirty fields, new
// limits through configure) in batches of 1 to 12, with malformed batches, expire actions
// that purge, saves, loads,
// reopens (replay of the log) and exports read back. Persons are the GUIDs the native
// registry created, written literally: every host must create the very same ones.
func Random(path string, seed uint64, n int) (*Vector, error) {
	v := NewVector(path, fmt.Sprintf("random-%d", seed),
		fmt.Sprintf("%d random actions from seed %d (tests/conformance/random.go)", n, seed), seed, RandomStart)
	g := newRandGen(seed)
	r := &Runner{V: v, H: &Native{}, Update: true}
	if err := r.Start(); err != nil {
		return nil, err
	}
	run := func(s Step) error {
		v.Steps = append(v.Steps, s)
		st := &v.Steps[len(v.Steps)-1]
		if err := r.Step(st); err != nil {
			return fmt.Errorf("%s, step %d (%s): %w", v.Name, len(v.Steps), st.Do, err)
		}
		g.learn(st)
		return nil
	}
	for done, batches := 0, 0; done < n; batches++ {
		s := g.batch()
		done += len(s.Actions)
		if batches%37 == 36 { // a malformed batch: refused whole, nothing applied
			s.Actions = append(s.Actions, Step{RawHex: "61 00"})
		}
		if err := run(s); err != nil {
			return nil, err
		}
		var extra []Step
		switch {
		case batches%61 == 60:
			extra = []Step{{Do: DoSave}, {Do: "stats"}}
		case batches%97 == 96:
			at := g.when
			extra = []Step{{Do: DoReopen, At: &at}, {Do: "stats"}}
		case batches%83 == 82:
			extra = []Step{{Do: DoLoad}}
		case batches%151 == 150:
			name := fmt.Sprintf("export-%d.db", batches)
			extra = []Step{{Do: "export", File: name}, {Do: DoGet, File: name}}
		}
		for _, s := range extra {
			if err := run(s); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range []Step{{Do: DoSave}, {Do: DoReopen}, {Do: "stats"}, {Do: "check"}} {
		if err := run(s); err != nil {
			return nil, err
		}
	}
	if err := r.H.Close(); err != nil {
		return nil, err
	}
	return v, v.Write()
}

// randGen makes random actions over a small world of machines, URLs and names.
type randGen struct {
	rnd      *rand.Rand
	when     uint32
	machines []string
	urls     []string // urls[i] is machine i's
	persons  []string // every person the registry created, in order
	seen     map[string]bool
}

func newRandGen(seed uint64) *randGen {
	g := &randGen{rnd: rand.New(rand.NewPCG(seed, 0x5eed)), when: RandomStart, seen: map[string]bool{}}
	for i := range 24 {
		g.machines = append(g.machines, fmt.Sprintf("%08x-1234-4abc-8def-%012x", i*7919, i))
		g.urls = append(g.urls, fmt.Sprintf("http://agent%d.example:19999/", i))
	}
	return g
}

// learn adds the persons a step's responses name.
func (g *randGen) learn(s *Step) {
	rs := s.ExpectAll
	if s.Expect != nil {
		rs = []Response{*s.Expect}
	}
	for _, r := range rs {
		if r.Person != "" && !g.seen[r.Person] {
			g.seen[r.Person] = true
			g.persons = append(g.persons, r.Person)
		}
	}
}

func (g *randGen) pick(s []string) string { return s[g.rnd.IntN(len(s))] }

func (g *randGen) person() string {
	switch n := g.rnd.IntN(100); {
	case n < 10 || len(g.persons) == 0:
		return ""
	case n < 13:
		return "not-a-guid"
	case n < 16:
		return fmt.Sprintf("%08x-dead-4eef-8bad-%012x", g.rnd.Uint32(), g.rnd.Uint64()>>16) // unknown
	case n < 18:
		return strings.ToUpper(g.pick(g.persons))
	}
	return g.pick(g.persons)
}

func (g *randGen) machine() string {
	switch n := g.rnd.IntN(100); {
	case n < 2:
		return g.pick([]string{"zzz", "", strings.ToUpper(g.machines[0]), "00000000-0000-0000-0000-000000000000"})
	case n < 60: // a few busy machines, so that persons share them (switch) and own URLs (delete)
		return g.pick(g.machines[:4])
	}
	return g.pick(g.machines)
}

func (g *randGen) url(m string) string {
	switch n := g.rnd.IntN(100); {
	case n < 8:
		return g.pick(g.urls) // another machine's: the URL moves, the old entry expires
	case n < 11:
		return fmt.Sprintf("http://new%d.example/", g.rnd.IntN(1000))
	case n < 13:
		return g.pick([]string{"ftp://x/", "", "  http://spaced\t/  ", "*hidden", "***", "http://ctl\x01\x7f/"})
	case n < 14:
		return "http://long.example/" + strings.Repeat("x", 1000+g.rnd.IntN(100))
	}
	for i, mm := range g.machines {
		if mm == m {
			return g.urls[i]
		}
	}
	return g.urls[0]
}

func (g *randGen) name() string {
	switch g.rnd.IntN(40) {
	case 0:
		return strings.Repeat("n", 60) // longer than netdata's 50
	case 1:
		return `quote " and \ back`
	}
	return fmt.Sprintf("agent-%d", g.rnd.IntN(40))
}

// batch returns a batch step of 1-12 actions.
func (g *randGen) batch() Step {
	s := Step{Do: DoBatch}
	for range 1 + g.rnd.IntN(12) {
		g.when += uint32(g.rnd.IntN(7200))
		when := uint64(g.when)
		m := g.machine()
		a := Step{When: &when, Quiet: g.rnd.IntN(3) == 0, Person: Str(g.person()), Machine: Str(m), URL: Str(g.url(m))}
		switch k := g.rnd.IntN(1000); {
		case k < 550:
			a.Do, a.Name = "access", Str(g.name())
		case k < 650:
			a.Do, a.DeleteURL = "delete", Str(g.url(g.pick(g.machines[:4])))
		case k < 770:
			a.Do, a.For = "search", Str(g.machine())
		case k < 890:
			a.Do, a.To = "switch", Str(g.person())
		default:
			a = g.other(a)
		}
		s.Actions = append(s.Actions, a)
	}
	return s
}

// other is one of the actions without the common fields.
func (g *randGen) other(a Step) Step {
	switch k := g.rnd.IntN(112); {
	case k < 40:
		return Step{Do: "hello", When: a.When}
	case k < 80:
		return Step{Do: "stats", When: a.When}
	case k < 95:
		return Step{Do: "config", When: a.When}
	case k < 100:
		return Step{Do: "check", When: a.When}
	case k >= 110:
		// New limits (or a refused key): later URLs and names are cut differently.
		conf := fmt.Sprintf("[registry]\n  max URL length = %d\n  max URL name length = %d\n",
			[]int{1024, 300, 40}[g.rnd.IntN(3)], []int{50, 20, 8}[g.rnd.IntN(3)])
		if g.rnd.IntN(4) == 0 {
			conf += "  no such key = 1\n"
		}
		return Step{Do: "configure", When: a.When, Conf: Str(conf)}
	default:
		// Purge the persons idle for a year as of a time up to 60 days ahead of them.
		when := uint64(g.when) + 365*86400 - uint64(g.rnd.IntN(60))*86400
		return Step{Do: "expire", When: &when}
	}
}
