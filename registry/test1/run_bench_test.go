package test1_test

import (
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/dirfs"
	"github.com/regwasm/regwasm/registry/test1"
)

// BenchmarkRun runs test1 through a registry.Store over a directory, the path the module runs
// (parse, act, append to the log, answer), batch building included: a quick whole-path
// figure and CPU profile (-cpuprofile). REGWASM_TEST1_PERSONS sizes it (default 20,000).
//
// # Notes
//
// Its profile as the module's PGO profile (-pgo) was measured through wazero at 100K persons:
// no gain (random phases 172-184K req/s either way), so the module is built without one.
func BenchmarkRun(b *testing.B) {
	persons := 20_000
	if v, err := strconv.Atoi(os.Getenv("REGWASM_TEST1_PERSONS")); err == nil && v > 0 {
		persons = v
	}
	o := test1.Options{Persons: persons, Machines: max(persons/5, 1), Seed: 1}
	for b.Loop() {
		dir, err := dirfs.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		st, err := registry.OpenStore(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		// As regwasm bench runs it: no saves inside the workload (netdata's test1 saved once,
		// at its end).
		if _, err := st.Configure([]byte("[registry]\n\tlog sync = save\n\tregistry save db every new entries = 0\n")); err != nil {
			b.Fatal(err)
		}
		var out []byte
		h := func(batch []byte) ([]byte, error) {
			out, err = st.Handle(batch, out[:0])
			return out, err
		}
		if _, err := test1.Run(h, o, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(o.Requests()), "ns/req")
	// Under wasip1, Sys is close to the module's linear memory, which never shrinks.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MiB")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
}
