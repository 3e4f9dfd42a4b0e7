package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/dirfs"
	"github.com/regwasm/regwasm/registry/test1"
)

// nativeTarget runs the registry core directly in this process, as the module runs it: a
// registry.Store over a directory (registry/dirfs, the same Storage the module uses on its
// preopen), in a temporary directory that goes when the run ends. It is the baseline the
// module hosts are compared with (the only use of package registry outside the module, per
// DESIGN.md).
type nativeTarget struct {
	tmp   string
	dir   *dirfs.Dir // keeps the log open for appends: closed with the target
	store *registry.Store
	out   []byte
	// batches counts handled batches: every adviseEvery of them the heap's new mappings get
	// the huge-page advice (adviseHeapHugePages).
	batches int
}

// adviseEvery is how often, in batches, the native target renews the huge-page advice for
// heap mapped beyond its reservation (reserveHugeHeap).
const adviseEvery = 100

// heapPerPerson is the heap the native target reserves per person of the workload: full
// test1 peaks at about 2.3 GiB for 1M persons (the tables, their growth and a save's buffers).
const heapPerPerson = 2 << 10

func newNativeTarget(persons int, logSync string) (*nativeTarget, error) {
	reserveHugeHeap(persons * heapPerPerson)
	tmp, err := os.MkdirTemp("", "regwasm-bench-native-")
	if err != nil {
		return nil, err
	}
	t := &nativeTarget{tmp: tmp}
	t.dir, err = dirfs.Open(tmp)
	if err == nil {
		t.store, err = registry.OpenStore(t.dir, nil)
	}
	if err == nil {
		_, err = t.store.Configure([]byte(LogSyncConf(logSync)))
	}
	if err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func (t *nativeTarget) storage() string {
	return fmt.Sprintf("Go, the core in this process: registry.Store.Handle(batch); files in a directory "+
		"(registry/dirfs): each batch appended to the change log, log sync = %s; "+
		"the heap advised to use huge pages, as the wazero host advises its linear memory", t.store.Settings().LogSync)
}

func (t *nativeTarget) handler() test1.Handler {
	return func(batch []byte) ([]byte, error) {
		if t.batches++; t.batches%adviseEvery == 0 {
			adviseHeapHugePages()
		}
		var err error
		t.out, err = t.store.Handle(batch, t.out[:0])
		return t.out, err
	}
}

func (t *nativeTarget) counts() (Counts, error) {
	s := t.store.Registry().Stats()
	return Counts{Persons: s.Persons, Machines: s.Machines, URLs: s.URLs, Accesses: s.Accesses,
		PersonURLs: s.PersonURLs, MachineURLs: s.MachineURLs, Bytes: s.Bytes}, nil
}

// saveLoad times the store's save (expire, encode, write the next rotation file, sync, remove
// the old one, compact the log) and load (read, verify, decode, replay the log's tail), the
// same code the module runs.
func (t *nativeTarget) saveLoad(r *HostResults) error {
	before, err := t.counts()
	if err != nil {
		return err
	}
	t0 := time.Now()
	info, err := t.store.Save()
	if err != nil {
		return err
	}
	r.SaveSeconds = time.Since(t0).Seconds()
	r.SnapshotBytes = int64(info.Bytes)
	t0 = time.Now()
	if err := t.store.Load(); err != nil {
		return err
	}
	r.LoadSeconds = time.Since(t0).Seconds()
	r.LoadNote = "registry.Store.Load in the same process"
	if _, err := t.store.Save(); err != nil {
		return err
	}
	t0 = time.Now()
	if _, err := registry.OpenStoreMode(t.dir, nil, registry.OpenReadOnly); err != nil {
		return err
	}
	r.RestartSeconds = time.Since(t0).Seconds()
	after, err := t.counts()
	if err != nil {
		return err
	}
	if err := sameCounts("native reload", before, after); err != nil {
		return err
	}
	// The codec alone: how much of save and load is CPU, not files. Encoding streams the
	// snapshot to nowhere, as a save streams it to its file; decoding reads the file the
	// save wrote (the reading not timed).
	t0 = time.Now()
	if _, err := t.store.Registry().WriteSnapshot(&registry.SnapshotHeader{Seq: info.Seq}, func([]byte) error { return nil }); err != nil {
		return err
	}
	r.EncodeSeconds = time.Since(t0).Seconds()
	snap, err := os.ReadFile(filepath.Join(t.tmp, info.File))
	if err != nil {
		return err
	}
	t0 = time.Now()
	_, err = registry.New(registry.Config{}).LoadSnapshot(snap)
	r.DecodeSeconds = time.Since(t0).Seconds()
	return err
}

func (t *nativeTarget) close() error {
	if t.dir != nil {
		t.dir.Close()
	}
	return os.RemoveAll(t.tmp)
}

// sameCounts compares two counters, memory aside.
func sameCounts(what string, a, b Counts) error {
	a.Bytes, b.Bytes = 0, 0
	if a != b {
		return fmt.Errorf("%s: counts %+v, want %+v", what, b, a)
	}
	return nil
}
