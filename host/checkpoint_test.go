package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// fill makes n persons, each with two URLs, in one batch.
func fill(t testing.TB, r *Registry, n int) {
	t.Helper()
	var reqs []Request
	for i := range n {
		reqs = append(reqs, Request{Op: OpAccess, Quiet: true, Machine: machine(i%50 + 1).String(), URL: u1, Arg: "a"})
	}
	if _, err := r.Do(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
}

// TestBackgroundSave: with WithBackgroundSaves, a save written by a second instance while
// calls go on gives the same files a reopen reads back, and the directory is healthy.
func TestBackgroundSave(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, WithBackgroundSaves(), WithoutCompilationCache())
	fill(t, r, 3000)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	calls := 0
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := r.Access(context.Background(), uuid.Nil, machine(i%7+100), u2, "b"); err != nil {
				t.Error(err)
				return
			}
			calls++
		}
	})
	var infos []SaveInfo
	for range 3 {
		info, err := r.Save(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, info)
	}
	close(stop)
	wg.Wait()
	st := stats(t, r)
	last := infos[len(infos)-1]
	if st.Storage.Snapshot != last.File || st.Storage.SavedSeq != last.Seq || st.Storage.Generation != 4 || st.Storage.SaveError != "" {
		t.Fatalf("after 3 saves (%+v): storage %+v", infos, st.Storage)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r2 := open(t, dir, WithBackgroundSaves())
	st2 := stats(t, r2)
	if st2.Persons != st.Persons || st2.Accesses != st.Accesses || st2.PersonURLs != st.PersonURLs {
		t.Fatalf("reopened %+v, want %+v (%d calls during the saves)", st2, st, calls)
	}
	rep, err := r2.Check(context.Background())
	if err != nil || !rep.Healthy || len(rep.Notes) > 0 {
		t.Fatalf("check: %+v %v", rep, err)
	}
}

// TestBackgroundAutoSave: "registry save db every new entries" starts a save in the
// background from the call that reached the count, and a Close waits for it.
func TestBackgroundAutoSave(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, WithBackgroundSaves())
	if _, err := r.Configure(context.Background(), "[registry]\n\tregistry save db every new entries = 50\n"); err != nil {
		t.Fatal(err)
	}
	fill(t, r, 60) // one batch: 60 changes
	deadline := time.Now().Add(20 * time.Second)
	for stats(t, r).Storage.Generation < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no save after 60 changes: %+v", stats(t, r).Storage)
		}
		time.Sleep(10 * time.Millisecond)
	}
	fill(t, r, 60)
	if err := r.Close(); err != nil { // waits for the save the second batch started
		t.Fatal(err)
	}
	r2 := open(t, dir)
	if st := stats(t, r2); st.Accesses != 120 || st.Storage.SaveError != "" {
		t.Fatalf("reopened: %+v", st)
	}
}

// TestBackgroundSaveFails: the second instance cannot write the snapshot (the previous one
// rotted after the open): the save fails with the reason, the registry goes on, the stats say
// why, and once a save succeeds they stop saying it.
func TestBackgroundSaveFails(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, WithBackgroundSaves())
	fill(t, r, 20)
	if _, err := r.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(dir, stats(t, r).Storage.Snapshot)
	data, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	rotten := append([]byte(nil), data...)
	rotten[len(rotten)/2] ^= 0x20
	if err := os.WriteFile(snap, rotten, 0o644); err != nil {
		t.Fatal(err)
	}
	fill(t, r, 5)
	if _, err := r.Save(context.Background()); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("a save from a rotten snapshot: %v", err)
	}
	st := stats(t, r)
	if !strings.Contains(st.Storage.SaveError, "checkpoint:") || st.Accesses != 25 {
		t.Fatalf("after the failed save: %+v", st)
	}
	// The generation before the previous one went when the save began; the failed snapshot
	// went with the abort.
	if names, _ := filepath.Glob(filepath.Join(dir, "registry.db.*")); len(names) != 1 || names[0] != snap {
		t.Fatalf("snapshots after the failed save: %v", names)
	}
	fill(t, r, 5) // the registry goes on
	if err := os.WriteFile(snap, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := stats(t, r); st.Storage.SaveError != "" || st.Accesses != 30 {
		t.Fatalf("after a save that worked: %+v", st.Storage)
	}
}

// TestBackgroundSaveRefusesReadOnly: a read-only registry does not save, in the background
// or not.
func TestBackgroundSaveRefusesReadOnly(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir)
	fill(t, r, 5)
	r.Close()
	ro := open(t, dir, WithReadOnly(), WithBackgroundSaves())
	if _, err := ro.Save(context.Background()); err == nil || errors.Is(err, ErrTrapped) {
		t.Fatalf("a read-only save: %v", err)
	}
}
