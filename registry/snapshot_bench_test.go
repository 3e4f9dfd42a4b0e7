package registry_test

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/dirfs"
	"github.com/regwasm/regwasm/registry/test1"
)

// The snapshot benchmarks run on the state test1 leaves, built once per process. Its size is
// REGWASM_SNAP_PERSONS persons (default 50K; the full workload is 1M, ~24M person-URLs and a
// 318 MB snapshot) and a fifth as many machines, as at full size:
//
//	REGWASM_SNAP_PERSONS=1000000 go test ./registry -run XXX -bench Snapshot -benchtime 1x
//
// The state is deterministic (fixed seed, start time and GUID source), so the logged sha256 of
// the snapshot must not change when the codec is optimized: the format is a contract.
//
// Encode and Write run on the registry as the workload left it, its URL blocks spread over
// the arena; the Store benchmarks on a store that loaded the fixture's snapshot (blocks in
// GUID order, as after a restart), over a temporary directory. With REGWASM_SNAP_LOG=1 the
// workload runs through a Store instead, with "log sync = save" as `regwasm bench` runs it,
// and the Store benchmarks use that store: the first save finds the whole workload in the
// log (1.9 GB at full size) and compacts it. Run them with -benchtime 1x to time that save.
const snapStart = 1_700_000_000

var snapState struct {
	once  sync.Once
	reg   *registry.Registry
	store *registry.Store // with REGWASM_SNAP_LOG
	snap  []byte
	links int // person-URLs
	err   error
}

func snapConfig() registry.Config {
	return registry.Config{Rand: rand.NewChaCha8([32]byte{1}), Now: func() uint32 { return snapStart + 86400 }}
}

func snapFixture(b *testing.B) (*registry.Registry, []byte, int) {
	b.Helper()
	s := &snapState
	s.once.Do(func() {
		persons := 50_000
		if v := os.Getenv("REGWASM_SNAP_PERSONS"); v != "" {
			if persons, s.err = strconv.Atoi(v); s.err != nil {
				return
			}
		}
		t0 := time.Now()
		s.reg = registry.New(snapConfig())
		var out []byte
		h := func(batch []byte) ([]byte, error) {
			var err error
			out, err = s.reg.Handle(batch, out[:0], nil)
			return out, err
		}
		if os.Getenv("REGWASM_SNAP_LOG") != "" {
			s.store = openStore(b, nil)
			if _, s.err = s.store.Configure([]byte("[registry]\n\tlog sync = save\n")); s.err != nil {
				return
			}
			s.reg = s.store.Registry()
			h = func(batch []byte) ([]byte, error) {
				var err error
				out, err = s.store.Handle(batch, out[:0])
				return out, err
			}
		}
		o := test1.Options{Persons: persons, Machines: max(persons/5, 1), Seed: 1, Start: snapStart}
		if _, s.err = test1.Run(h, o, nil); s.err != nil {
			return
		}
		s.snap = s.reg.AppendSnapshot(nil, 1)
		s.links = int(s.reg.Stats().PersonURLs)
		sum := sha256.Sum256(s.snap)
		b.Logf("fixture: %d persons, %d person-URLs, snapshot %d bytes sha256 %s, built in %v",
			persons, s.links, len(s.snap), hex.EncodeToString(sum[:]), time.Since(t0).Round(time.Millisecond))
	})
	if s.err != nil {
		b.Fatal(s.err)
	}
	return s.reg, s.snap, s.links
}

// report adds the per-link cost to the MB/s that SetBytes gives.
func report(b *testing.B, links int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(links), "ns/link")
}

func BenchmarkSnapshotEncode(b *testing.B) {
	reg, snap, links := snapFixture(b)
	b.SetBytes(int64(len(snap)))
	b.ReportAllocs()
	for b.Loop() {
		if got := reg.AppendSnapshot(nil, 1); len(got) != len(snap) {
			b.Fatalf("snapshot of %d bytes, want %d", len(got), len(snap))
		}
	}
	report(b, links)
}

// BenchmarkSnapshotWrite times WriteSnapshot, the encoding a save streams to its file, with
// the chunks dropped: Store.Save without the files.
func BenchmarkSnapshotWrite(b *testing.B) {
	reg, snap, links := snapFixture(b)
	b.SetBytes(int64(len(snap)))
	b.ReportAllocs()
	for b.Loop() {
		if n, err := reg.WriteSnapshot(&registry.SnapshotHeader{Seq: 1}, func([]byte) error { return nil }); n != len(snap) || err != nil {
			b.Fatalf("snapshot of %d bytes (%v), want %d", n, err, len(snap))
		}
	}
	report(b, links)
}

func BenchmarkSnapshotDecode(b *testing.B) {
	_, snap, links := snapFixture(b)
	b.SetBytes(int64(len(snap)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := registry.New(snapConfig()).LoadSnapshot(snap); err != nil {
			b.Fatal(err)
		}
	}
	report(b, links)
}

// openStore opens a Store over a new temporary directory holding snap, if not nil, as its
// snapshot. The directory is removed when the process ends, not with the benchmark, as the
// fixture's store outlives it.
func openStore(b *testing.B, snap []byte) *registry.Store {
	tmp, err := os.MkdirTemp("", "regwasm-snapbench-")
	if err != nil {
		b.Fatal(err)
	}
	snapDirs = append(snapDirs, tmp)
	dir, err := dirfs.Open(tmp)
	if err == nil && snap != nil {
		err = dir.WriteFile("registry.db.1", snap)
	}
	if err != nil {
		b.Fatal(err)
	}
	cfg := snapConfig()
	st, err := registry.OpenStore(dir, &cfg)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

var snapDirs []string

// TestMain removes the stores' directories.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range snapDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// snapStore returns the fixture's store (REGWASM_SNAP_LOG) or a new one holding its snapshot.
func snapStore(b *testing.B, snap []byte) *registry.Store {
	if snapState.store != nil {
		return snapState.store
	}
	return openStore(b, snap)
}

// BenchmarkSnapshotStoreSave times Store.Save: expire, encode, write and fsync the next
// rotation file, remove the old one, compact the log.
func BenchmarkSnapshotStoreSave(b *testing.B) {
	_, snap, links := snapFixture(b)
	st := snapStore(b, snap)
	b.SetBytes(int64(len(snap)))
	for b.Loop() {
		if _, err := st.Save(); err != nil {
			b.Fatal(err)
		}
	}
	report(b, links)
}

// BenchmarkSnapshotStoreLoad times Store.Load: read the log and the snapshot, verify, decode.
func BenchmarkSnapshotStoreLoad(b *testing.B) {
	_, snap, links := snapFixture(b)
	st := snapStore(b, snap)
	b.SetBytes(int64(len(snap)))
	for b.Loop() {
		if err := st.Load(); err != nil {
			b.Fatal(err)
		}
	}
	report(b, links)
}
