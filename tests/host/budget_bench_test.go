package host_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regwasm/regwasm/host"
	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/dirfs"
)

// BenchmarkMemoryBudget prints the figures the memory budget's factors come from
// (registry/budget.go, RATIONALE.md "A memory budget"): the module's linear memory at its
// peak, which WebAssembly never gives back, against the tables' bytes (Stats.Bytes), the
// snapshot and the log, through wazero.
//
//	go test ./tests/host -run '^$' -bench MemoryBudget -benchtime 1x   # REGWASM_FULL=1: 3M persons too
//
// Loading: registries of three shapes and several sizes are built natively into a
// directory in four states (a snapshot alone; everything in the log, one access per record as
// serve writes it under light load, or batched: 1000 a record, 20 for links, whose persons
// must be known before their next access; everything in the previous generation's
// segment, read by a load but not replayed) and opened by a new instance: its memory then is
// the load's peak. Running: registries are filled through the module, and saved, and their
// memory read as they grow. Factors are taken above the 16 MiB reserve the budget leaves the
// runtime: load (memory - reserve) / tables for a snapshot, (memory - reserve - 1.6 tables) /
// log bytes for a log, and that against the budget's model of a log (2.5 bytes a byte, 700 a
// record): at most 1; run (memory - reserve) / tables.
func BenchmarkMemoryBudget(b *testing.B) {
	sizes := []int{100_000, 300_000, 1_000_000}
	if os.Getenv("REGWASM_FULL") == "1" {
		sizes = append(sizes, 3_000_000)
	}
	for b.Loop() {
		out := os.Stdout
		fmt.Fprintf(out, "\nLoading (a new instance opening the directory; MiB):\n")
		fmt.Fprintf(out, "%-8s %9s %-10s %8s %8s %8s %8s  %s\n", "shape", "persons", "state", "tables", "snapshot", "log", "memory", "factor")
		var worstLoad, worstLog float64
		for _, shape := range []string{"persons", "urls", "links"} {
			for _, n := range sizes {
				var snapTables uint64
				for _, state := range []string{"snapshot", "log-1", "log-batch", "prev-1"} {
					f, ok := loadFigure(b, shape, n, state, snapTables)
					if !ok {
						fmt.Fprintf(out, "%-8s %9d %-10s %8s %8s %8.1f %8s  skipped: a budgeted store saves before its log is this large\n",
							shape, n, state, "", "", mibs(f.log), "")
						continue
					}
					if state == "snapshot" {
						snapTables = f.tables
					}
					factor := "load " + fmt.Sprintf("%.2f", f.loadFactor())
					if state == "snapshot" {
						worstLoad = max(worstLoad, f.loadFactor())
					} else {
						factor = fmt.Sprintf("log %.2f a byte, %d records: %.2f of the model", f.logFactor(), f.records, f.logModel())
						worstLog = max(worstLog, f.logModel())
					}
					fmt.Fprintf(out, "%-8s %9d %-10s %8.1f %8.1f %8.1f %8.1f  %s\n", shape, n, state,
						mibs(f.tables), mibs(f.snapshot), mibs(f.log), mibs(f.memory), factor)
				}
			}
		}
		fmt.Fprintf(out, "worst: load %.2f (budget.go loadFactor 1.6), log %.2f of the model (2.5 a byte + 700 a record)\n", worstLoad, worstLog)
		fmt.Fprintf(out, "\nRunning (one instance filled 1000 accesses a call, then saved; MiB):\n")
		fmt.Fprintf(out, "%-8s %9s %8s %8s  %s\n", "shape", "persons", "tables", "memory", "factor")
		var worstRun float64
		for _, shape := range []string{"persons", "urls", "links"} {
			for _, f := range runFigures(b, shape, sizes[len(sizes)-1]) {
				worstRun = max(worstRun, f.runFactor())
				fmt.Fprintf(out, "%-8s %9d %8.1f %8.1f  run %.2f%s\n", shape, f.persons, mibs(f.tables), mibs(f.memory), f.runFactor(), f.note)
			}
		}
		fmt.Fprintf(out, "worst: run %.2f (budget.go runFactor 3.5)\n", worstRun)
	}
}

const reserve = 16 << 20 // registry/budget.go memoryReserve

type memFigure struct {
	persons                       int
	tables, snapshot, log, memory uint64
	records                       uint64 // log records
	note                          string
}

func (f memFigure) loadFactor() float64 {
	return (float64(f.memory) - reserve) / float64(f.tables)
}

func (f memFigure) logFactor() float64 {
	return (float64(f.memory) - reserve - 1.6*float64(f.tables)) / float64(f.log)
}

// logModel is the log's share of the load against the budget's model of it
// (registry/budget.go: logByteFactor 2.5, logRecordCost 700): at most 1.
func (f memFigure) logModel() float64 {
	return (float64(f.memory) - reserve - 1.6*float64(f.tables)) / (2.5*float64(f.log) + 700*float64(f.records))
}

func (f memFigure) runFactor() float64 { return (float64(f.memory) - reserve) / float64(f.tables) }

// shapeRequest is access i of a shape: persons, netdata's dummy cookie again and again; urls,
// a new person on a new machine and URL each; links, persons of test1's kind, each reaching
// 20 machines of persons/2 through their own URLs.
func shapeRequest(shape string, i int, persons []string) registry.Request {
	req := registry.Request{Op: registry.OpAccess, Flags: registry.FlagQuiet,
		Machine: []byte("0b000000-0000-4000-8000-000000000000"), URL: []byte("http://agent-0.example/"), Arg: []byte("agent 0")}
	switch shape {
	case "urls":
		req.Machine = []byte(fmt.Sprintf("0b%06x-0000-4000-8000-000000000000", i))
		req.URL = []byte(fmt.Sprintf("http://agent-%d.example/", i))
		req.Arg = []byte(fmt.Sprint("agent ", i))
	case "links":
		if i%20 != 0 {
			req.Person = []byte(persons[len(persons)-1])
		}
		m := (i*7919 + i/20) % max(i/40, 1)
		req.Machine = []byte(fmt.Sprintf("0b%06x-0000-4000-8000-000000000000", m))
		req.URL = []byte(fmt.Sprintf("http://%d.netdata.rocks/", m))
		req.Arg = []byte(fmt.Sprint(m))
	}
	return req
}

// accessesFor is how many accesses make n persons of a shape.
func accessesFor(shape string, n int) int {
	if shape == "links" {
		return 20 * n
	}
	return n
}

// loadFigure builds a registry natively in a state and measures a new instance loading it,
// unless the budget's model (registry/budget.go) says its load needs more than 3.5 GiB
// (tables as the snapshot state's): a store under a memory limit saves long before that.
func loadFigure(b *testing.B, shape string, n int, state string, tables uint64) (memFigure, bool) {
	dir := b.TempDir()
	st, err := dirfs.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	s, err := registry.OpenStore(st, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.UpdateSettings(func(p *registry.Settings) { p.LogSync, p.SaveEvery = "save", 0 }); err != nil {
		b.Fatal(err)
	}
	perRecord := 1
	if state == "log-batch" || state == "snapshot" {
		perRecord = 1000
	}
	var batch []byte
	k := 0
	var persons []string
	records := uint64(0)
	flush := func() {
		out, err := s.Handle(batch, nil)
		if err != nil {
			b.Fatal(err)
		}
		records++
		if shape == "links" {
			resps, _ := registry.ParseResponses(out)
			for _, r := range resps {
				persons = append(persons, r.Person)
			}
		}
		batch, k = batch[:0], 0
	}
	for i := range accessesFor(shape, n) {
		req := shapeRequest(shape, i, persons)
		batch = registry.AppendRequest(batch, &req)
		// The links shape needs each person's GUID before its next access.
		if k++; k >= perRecord || shape == "links" && i%20 == 0 {
			flush()
		}
	}
	if k > 0 {
		flush()
	}
	saves := map[string]int{"snapshot": 2, "prev-1": 1}[state]
	for range saves {
		if _, err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
	f := memFigure{persons: n}
	if state != "snapshot" {
		f.records = records
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		switch {
		case strings.HasPrefix(e.Name(), "registry.db."):
			f.snapshot = max(f.snapshot, uint64(fi.Size()))
		case strings.HasPrefix(e.Name(), "registry.log."):
			f.log += uint64(fi.Size())
		}
	}
	if 1.6*float64(tables)+2.5*float64(f.log)+700*float64(records) > 3.5*(1<<30) {
		return f, false
	}
	ctx := context.Background()
	r, err := host.Open(ctx, dir, host.WithCompilationCache(testCache))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	stats, err := r.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	f.tables, f.memory = stats.Bytes, stats.ModuleMemory
	return f, true
}

// runFigures fills a registry of a shape through the module up to n persons, reading the
// module's memory as it grows, then saves it.
func runFigures(b *testing.B, shape string, n int) []memFigure {
	ctx := context.Background()
	r, err := host.Open(ctx, b.TempDir(), host.WithCompilationCache(testCache))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Configure(ctx, "[registry]\nlog sync = save\nregistry save db every new entries = 0\n"); err != nil {
		b.Fatal(err)
	}
	var figs []memFigure
	var persons []string
	var batch []byte
	next := max(n/8, 50_000)
	total := accessesFor(shape, n)
	call := func() {
		out, err := r.Call(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if shape == "links" {
			resps, _ := host.ParseResponses(out)
			for _, p := range resps {
				persons = append(persons, p.Person)
			}
		}
		batch = batch[:0]
	}
	for i := 0; i < total; i++ {
		req := shapeRequest(shape, i, persons)
		var err error
		if batch, err = host.AppendRequest(batch, &host.Request{Op: host.OpAccess, Quiet: true,
			Person: string(req.Person), Machine: string(req.Machine), URL: string(req.URL), Arg: string(req.Arg)}); err != nil {
			b.Fatal(err)
		}
		if (i+1)%1000 == 0 || shape == "links" && i%20 == 0 || i == total-1 {
			call()
		}
		if (i+1)%accessesFor(shape, next) == 0 || i == total-1 {
			st, err := r.Stats(ctx)
			if err != nil {
				b.Fatal(err)
			}
			figs = append(figs, memFigure{persons: int(st.Persons), tables: st.Bytes, memory: st.ModuleMemory})
		}
	}
	t0 := time.Now()
	if _, err := r.Save(ctx); err != nil {
		b.Fatal(err)
	}
	st, err := r.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	figs = append(figs, memFigure{persons: int(st.Persons), tables: st.Bytes, memory: st.ModuleMemory,
		note: fmt.Sprintf(" (after a save, %v)", time.Since(t0).Round(time.Millisecond))})
	return figs
}
