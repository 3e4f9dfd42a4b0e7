package host

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
)

// BenchmarkAccess measures batches of 1000 quiet accesses through Call (ns/op is per batch,
// ns/access per request) by 20000 persons over 2000 machines that exist. Every call appends
// to the change log and fsyncs it (the default "log sync = always"): "disk" has the directory
// on the test's temporary directory, "shm" on /dev/shm (memory) where fsync costs nothing,
// which leaves the module's own cost. "shm-1" sends one access per call: the cost of a call
// itself, where the log's append and fsync through the mounted directory (wasidir) show.
func BenchmarkAccess(b *testing.B) {
	b.Run("disk", func(b *testing.B) { benchAccess(b, b.TempDir(), 1000) })
	for _, batch := range []int{1000, 1} {
		name := "shm"
		if batch == 1 {
			name = "shm-1"
		}
		b.Run(name, func(b *testing.B) {
			dir, err := os.MkdirTemp("/dev/shm", "regwasm-bench")
			if err != nil {
				b.Skip("no /dev/shm:", err)
			}
			defer os.RemoveAll(dir)
			benchAccess(b, dir, batch)
		})
	}
}

func benchAccess(b *testing.B, dir string, batch int) {
	ctx := context.Background()
	r, err := Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	const persons, machines = 20000, 2000
	ms := make([]string, machines)
	for i := range ms {
		ms[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	ps := make([]string, 0, persons)
	for len(ps) < persons {
		var reqs []Request
		for i := 0; i < 1000; i++ {
			m := (len(ps) + i) % machines
			reqs = append(reqs, Request{Op: OpAccess, Quiet: true, Machine: ms[m], URL: "http://" + ms[m] + "/", Arg: "m"})
		}
		resps, err := r.Do(ctx, reqs)
		if err != nil {
			b.Fatal(err)
		}
		for _, resp := range resps {
			ps = append(ps, resp.Person)
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	batches := make([][]byte, 16000/batch)
	for i := range batches {
		for j := 0; j < batch; j++ {
			m := rnd.IntN(machines)
			req := Request{Op: OpAccess, Quiet: true, Person: ps[rnd.IntN(persons)], Machine: ms[m], URL: "http://" + ms[m] + "/", Arg: "m"}
			batches[i], _ = AppendRequest(batches[i], &req)
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := r.Call(ctx, batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/access")
}
