// Package host_test checks the Go host against the registry core: the same actions run
// natively and through registry.wasm give the same bytes, and the state survives SIGKILLs.
package host_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/regwasm/regwasm/host"
	"github.com/regwasm/regwasm/registry"
)

// testCache is the compilation cache every registry of these tests (and their child
// processes) shares: the module is compiled once per run.
var testCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "regwasm-tests-host-cache")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestEquivalence runs one seeded sequence of thousands of random actions (every op but
// import/export, valid and invalid parameters, explicit times, a few malformed batches and
// saves) through the module and natively (registry.OpenStore over registry.MemStorage with
// the module's config file), and compares every response batch, the snapshots and the change
// logs byte for byte; then reopens the module (snapshot + log replay) and compares again.
//
// # Notes
//
// New persons get random GUIDs, so the two sides cannot agree by themselves. Instead of
// substituting GUIDs afterwards, the native side is fed the module's: newTimeGUID takes 10
// random bytes and the time, so giving the native registry, in order of creation, the random
// bytes of the GUIDs the module created makes it create the very same GUIDs. Everything can
// then be compared byte for byte, snapshots included (they sort persons by GUID, which a
// substitution would break). A native person the module did not create runs the feed dry:
// that batch fails and the test reports it.
func TestEquivalence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// One clock for both sides: snapshots hold the time of their save.
	now := time.Unix(1_700_000_000, 0)
	clock := host.WithWalltime(func() time.Time { return now })
	mod, err := host.Open(ctx, dir, host.WithCompilationCache(testCache), clock)
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close()
	// The native store starts from the module's new files: the same registry GUID.
	mem := &registry.MemStorage{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if registry.ValidName(e.Name()) != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := mem.WriteFile(e.Name(), data); err != nil {
			t.Fatal(err)
		}
	}
	feed := &guidFeed{}
	nat, err := registry.OpenStore(mem, &registry.Config{Rand: feed, Now: func() uint32 { return uint32(now.Unix()) }})
	if err != nil {
		t.Fatal(err)
	}

	g := newGen(1)
	const batches = 200
	requests := 0
	for b := range batches {
		batch, n := g.batch()
		requests += n
		if b%37 == 36 { // a malformed batch: refused whole on both sides
			batch = append(batch, 'a', 0)
		}
		modOut, modErr := mod.Call(ctx, batch)
		if modErr == nil {
			feed.learn(t, g, modOut)
		}
		natOut, natErr := nat.Handle(batch, nil)
		if (modErr != nil) != (natErr != nil) || modErr != nil && !errors.Is(modErr, host.ErrBadRequest) {
			t.Fatalf("batch %d: module error %v, native error %v", b, modErr, natErr)
		}
		if !bytes.Equal(normalize(modOut), normalize(natOut)) {
			t.Fatalf("batch %d differs:\n%s", b, diffResponses(t, modOut, natOut))
		}
		if b%50 == 49 {
			compareSave(t, mod, nat, mem, dir)
		}
	}
	if requests < 3000 {
		t.Fatalf("only %d requests", requests)
	}
	compareFiles(t, dir, mem)
	st := nat.Registry().Stats()
	t.Logf("%d requests in %d batches: %+v", requests, batches, st)
	if st.Persons < 100 || st.PersonURLs < 200 {
		t.Fatalf("the sequence built too little: %+v", st)
	}

	// Reopened, the module rebuilds the same registry from its snapshot and log.
	if err := mod.Close(); err != nil {
		t.Fatal(err)
	}
	if mod, err = host.Open(ctx, dir, host.WithCompilationCache(testCache), clock); err != nil {
		t.Fatal(err)
	}
	defer mod.Close()
	ms, err := mod.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ms.Persons != st.Persons || ms.Machines != st.Machines || ms.URLs != st.URLs || ms.Accesses != st.Accesses ||
		ms.PersonURLs != st.PersonURLs || ms.MachineURLs != st.MachineURLs {
		t.Fatalf("reopened module %+v, native %+v", ms, st)
	}
	compareSave(t, mod, nat, mem, dir)
}

// compareSave saves both sides and compares what they say and write.
func compareSave(t *testing.T, mod *host.Registry, nat *registry.Store, mem *registry.MemStorage, dir string) {
	t.Helper()
	mi, err := mod.Save(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ni, err := nat.Save()
	if err != nil {
		t.Fatal(err)
	}
	if mi.File != ni.File || mi.Seq != ni.Seq || mi.Bytes != ni.Bytes {
		t.Fatalf("save: module %+v, native %+v", mi, ni)
	}
	compareFiles(t, dir, mem)
}

// compareFiles compares every file of the registry (snapshots, log segments, config) the
// module wrote with the native side's.
func compareFiles(t *testing.T, dir string, mem *registry.MemStorage) {
	t.Helper()
	names, err := mem.List()
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	onDisk := 0
	for _, e := range ents {
		if registry.ValidName(e.Name()) == nil {
			onDisk++
		}
	}
	if onDisk != len(names) {
		t.Fatalf("the module's directory holds %d files, the native storage %v", onDisk, names)
	}
	for _, n := range names {
		compareFile(t, n, dir, mem)
	}
}

func compareFile(t *testing.T, name, dir string, mem *registry.MemStorage) {
	t.Helper()
	a, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := mem.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("%s: module wrote %d bytes, native %d, not the same", name, len(a), len(b))
	}
}

// lastSave is the time of the last save, the one thing of a stats answer that comes from each
// side's own clock (the same second, unless a second boundary falls between them).
var lastSave = regexp.MustCompile(`"last_save":[0-9]+`)

func normalize(b []byte) []byte { return lastSave.ReplaceAll(b, []byte(`"last_save":T`)) }

func diffResponses(t *testing.T, a, b []byte) string {
	ra, erra := host.ParseResponses(a)
	rb, errb := host.ParseResponses(b)
	if erra != nil || errb != nil || len(ra) != len(rb) {
		return fmt.Sprintf("module %d responses (%v), native %d (%v)", len(ra), erra, len(rb), errb)
	}
	for i := range ra {
		if ra[i].Status != rb[i].Status || ra[i].Person != rb[i].Person || !bytes.Equal(normalize(ra[i].Body), normalize(rb[i].Body)) {
			return fmt.Sprintf("response %d:\nmodule %d %s %s\nnative %d %s %s", i,
				ra[i].Status, ra[i].Person, ra[i].Body, rb[i].Status, rb[i].Person, rb[i].Body)
		}
	}
	return "same records, different bytes"
}

// guidFeed is the native registry's random source: the random bytes of the GUIDs the module
// created, in order.
type guidFeed struct {
	q []byte
}

func (f *guidFeed) Read(p []byte) (int, error) {
	if len(f.q) < len(p) {
		return 0, errors.New("native registry made a person the module did not")
	}
	n := copy(p, f.q)
	f.q = f.q[n:]
	return n, nil
}

// learn queues the GUIDs of the persons a module response batch created.
func (f *guidFeed) learn(t *testing.T, g *gen, out []byte) {
	resps, err := host.ParseResponses(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resps {
		if r.Person == "" || g.seen[r.Person] {
			continue
		}
		id, ok := registry.ParseGUID(r.Person)
		if !ok {
			t.Fatalf("module answered person %q", r.Person)
		}
		g.seen[r.Person] = true
		g.persons = append(g.persons, r.Person)
		f.q = append(f.q, id[6:]...)
	}
}

// gen makes random request batches over a small world of machines, URLs and names.
type gen struct {
	rnd      *rand.Rand
	when     time.Time
	machines []string
	urls     []string // urls[i] is machine i's
	persons  []string // every person the module ever created
	seen     map[string]bool
}

func newGen(seed uint64) *gen {
	g := &gen{rnd: rand.New(rand.NewPCG(seed, 7)), seen: map[string]bool{},
		// In the future, so that saves (which expire idle persons as of now) purge nobody.
		when: time.Now().Add(24 * time.Hour).Truncate(time.Second)}
	for i := range 30 {
		g.machines = append(g.machines, fmt.Sprintf("%08x-1234-4abc-8def-%012x", i*7919, i))
		g.urls = append(g.urls, fmt.Sprintf("http://agent%d.example:19999/", i))
	}
	return g
}

func (g *gen) pick(s []string) string { return s[g.rnd.IntN(len(s))] }

func (g *gen) person() string {
	switch n := g.rnd.IntN(100); {
	case n < 10 || len(g.persons) == 0:
		return ""
	case n < 13:
		return "not-a-guid"
	case n < 16:
		return fmt.Sprintf("%08x-dead-4eef-8bad-%012x", g.rnd.Uint32(), g.rnd.Uint64()>>16) // unknown
	}
	return g.pick(g.persons)
}

func (g *gen) machine() string {
	switch n := g.rnd.IntN(100); {
	case n < 2:
		return g.pick([]string{"zzz", "", strings.ToUpper(g.machines[0])})
	case n < 60: // a few busy machines, so that persons share them (switch) and own URLs (delete)
		return g.pick(g.machines[:4])
	}
	return g.pick(g.machines)
}

func (g *gen) url(m string) string {
	switch n := g.rnd.IntN(100); {
	case n < 8:
		return g.pick(g.urls) // another machine's: the URL moves
	case n < 11:
		return fmt.Sprintf("http://new%d.example/", g.rnd.IntN(1000))
	case n < 13:
		return g.pick([]string{"ftp://x/", "", "  http://spaced\t/  ", "*hidden"})
	case n < 14:
		return "http://long.example/" + strings.Repeat("x", 1100)
	}
	for i, mm := range g.machines {
		if mm == m {
			return g.urls[i]
		}
	}
	return g.urls[0]
}

func (g *gen) name() string {
	if g.rnd.IntN(40) == 0 {
		return strings.Repeat("n", 60) // longer than netdata's 50
	}
	return fmt.Sprintf("agent-%d", g.rnd.IntN(40))
}

// batch returns an encoded batch of 1-40 requests.
func (g *gen) batch() ([]byte, int) {
	n := 1 + g.rnd.IntN(40)
	var b []byte
	for range n {
		g.when = g.when.Add(time.Duration(g.rnd.IntN(7200)) * time.Second)
		m := g.machine()
		req := host.Request{When: g.when, Quiet: g.rnd.IntN(3) == 0, Person: g.person(), Machine: m, URL: g.url(m)}
		switch k := g.rnd.IntN(1000); {
		case k < 550:
			req.Op, req.Arg = host.OpAccess, g.name()
		case k < 650:
			req.Op, req.Arg = host.OpDelete, g.url(g.pick(g.machines[:4]))
		case k < 770:
			req.Op, req.Arg = host.OpSearch, g.machine()
		case k < 890:
			req.Op, req.Arg = host.OpSwitch, g.person()
		case k < 930:
			req.Op = host.OpHello
		case k < 970:
			req.Op = host.OpStats
		case k < 985:
			req.Op = host.OpConfig
		case k < 995:
			req.Op = host.OpCheck
		default:
			// Purge the persons idle for a year as of a time up to 60 days ahead of them.
			req.Op = host.OpExpire
			req.When = g.when.Add(365*24*time.Hour - time.Duration(g.rnd.IntN(60*24))*time.Hour)
		}
		var err error
		if b, err = host.AppendRequest(b, &req); err != nil {
			panic(err)
		}
	}
	return b, n
}
