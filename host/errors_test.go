package host

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestTrapRecovery(t *testing.T) {
	ctx := context.Background()
	r := open(t, t.TempDir())
	p := access(t, r, uuid.Nil, m1, u1, "one").Person
	err := r.trap(ctx)
	if !errors.Is(err, ErrTrapped) || !strings.Contains(err.Error(), "panic: registry: trap requested by the host") ||
		!strings.Contains(err.Error(), "a new instance reloaded the files") {
		t.Fatalf("trap: %v", err)
	}
	if r.traps != 1 {
		t.Fatalf("%d traps counted", r.traps)
	}
	// The new instance holds the acknowledged state and serves calls.
	if res := access(t, r, p, m1, u1, "one"); res.Person != p || res.URLs[0].Usages != 2 {
		t.Fatalf("after the trap: %+v", res)
	}
}

func TestTrapRestartFails(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := open(t, dir)
	// Two changes: a save after the first only is a case the core reads differently (it takes
	// the log's checkpoint at change 1 for a log that starts at the first change).
	access(t, r, uuid.Nil, m1, u1, "one")
	access(t, r, uuid.Nil, m1, u1, "one")
	if _, err := r.Save(ctx); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(dir, "registry.db.1")
	good, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(snap, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	// The log was compacted by the save: without the snapshot nothing can be loaded.
	err = r.trap(ctx)
	if !errors.Is(err, ErrTrapped) || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "restarting failed") {
		t.Fatalf("trap with corrupt files: %v", err)
	}
	// Every call tries to start an instance again.
	if _, err := r.Stats(ctx); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "registry.db.1") {
		t.Fatalf("stats with corrupt files: %v", err)
	}
	if err := os.WriteFile(snap, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, r); s.Accesses != 2 {
		t.Fatalf("after repair: %+v", s)
	}
}

func TestOpenCorrupt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := open(t, dir)
	access(t, r, uuid.Nil, m1, u1, "one")
	access(t, r, uuid.Nil, m1, u1, "one")
	if _, err := r.Save(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()
	snap := filepath.Join(dir, "registry.db.1")
	good, _ := os.ReadFile(snap)
	if err := os.WriteFile(snap, good[:len(good)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open of a torn snapshot: %v", err)
	}
	// The failed Open released the directory.
	if err := os.WriteFile(snap, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, open(t, dir)); s.Accesses != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestStorageFailure(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := open(t, dir)
	p := access(t, r, uuid.Nil, m1, u1, "one").Person
	// A save rewrites the log, so the module no longer holds it open (it keeps the file it
	// appends to open); then the log cannot be reopened while it is a directory.
	if _, err := r.Save(ctx); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "registry.log")
	saved, _ := os.ReadFile(log)
	if err := os.Remove(log); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(log, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := r.Access(ctx, p, m2, u2, "two")
	if !errors.Is(err, ErrStorage) || !strings.Contains(err.Error(), "registry.log") {
		t.Fatalf("access with an unwritable log: %v", err)
	}
	if err := os.Remove(log); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(log, saved, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load(ctx); err != nil {
		t.Fatal(err)
	}
	// The failed access is not there: memory holds only what the log acknowledged.
	if s := stats(t, r); s.Accesses != 1 || s.Machines != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	r := open(t, t.TempDir())
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	calls := map[string]func() error{
		"Access":   func() error { _, err := r.Access(ctx, uuid.Nil, m1, u1, "one"); return err },
		"Delete":   func() error { return r.Delete(ctx, uuid.Nil, m1, u1, u1) },
		"Search":   func() error { _, err := r.Search(ctx, uuid.Nil, m1, u1, m1); return err },
		"Switch":   func() error { _, err := r.Switch(ctx, uuid.Nil, m1, u1, uuid.Nil); return err },
		"Hello":    func() error { _, err := r.Hello(ctx); return err },
		"Stats":    func() error { _, err := r.Stats(ctx); return err },
		"Settings": func() error { _, err := r.Settings(ctx); return err },
		"Check":    func() error { _, err := r.Check(ctx); return err },
		"Expire":   func() error { _, err := r.Expire(ctx, time.Now()); return err },
		"Import":   func() error { _, err := r.Import(ctx, "x", ""); return err },
		"Export":   func() error { _, err := r.Export(ctx, filepath.Join(t.TempDir(), "x")); return err },
		"Save":     func() error { _, err := r.Save(ctx); return err },
		"Load":     func() error { _, err := r.Load(ctx); return err },
		"Do":       func() error { _, err := r.Do(ctx, []Request{{Op: OpStats}}); return err },
		"Call":     func() error { _, err := r.Call(ctx, nil); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v", name, err)
		}
	}
}

func TestLocked(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := open(t, dir)
	_, err := Open(ctx, dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second open: %v", err)
	}
	if code := lockChild(t, dir); code != 3 {
		t.Fatalf("another process opened a held directory (exit %d)", code)
	}
	r.Close()
	if code := lockChild(t, dir); code != 0 {
		t.Fatalf("another process could not open a released directory (exit %d)", code)
	}
	open(t, dir)
}

// lockChild runs TestLockChild in a new process on dir and returns its exit code.
func lockChild(t *testing.T, dir string) int {
	if err := Initialize(context.Background(), WithCompilationCache(testCache)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockChild$")
	cmd.Env = append(os.Environ(), "REGWASM_LOCK_DIR="+dir, "REGWASM_LOCK_CACHE="+testCache)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return 0
}

// TestLockChild is lockChild's process: exit 3 if the directory is locked.
func TestLockChild(t *testing.T) {
	dir := os.Getenv("REGWASM_LOCK_DIR")
	if dir == "" {
		t.Skip("helper process of TestLocked")
	}
	r, err := Open(context.Background(), dir, WithCompilationCache(os.Getenv("REGWASM_LOCK_CACHE")))
	if errors.Is(err, ErrLocked) {
		os.Exit(3)
	}
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}

func TestContext(t *testing.T) {
	r := open(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Access(ctx, uuid.Nil, m1, u1, "one"); !errors.Is(err, context.Canceled) {
		t.Fatalf("access with a canceled context: %v", err)
	}
	// A caller waiting for the instance gives up when its context ends.
	r.sem <- struct{}{}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := r.Stats(ctx)
	<-r.sem
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting stats: %v", err)
	}
	if s := stats(t, r); s.Accesses != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMemoryLimit(t *testing.T) {
	ctx := context.Background()
	r := open(t, t.TempDir(), WithMemoryLimit(32<<20))
	access(t, r, uuid.Nil, m1, u1, "one")
	// alloc of a 40 MiB batch needs more than the limit: Go's runtime in the module dies.
	_, err := r.Call(ctx, make([]byte, 40<<20))
	if !errors.Is(err, ErrTrapped) || !strings.Contains(err.Error(), "out of memory") {
		t.Fatalf("call past the memory limit: %v", err)
	}
	if s := stats(t, r); s.Accesses != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestStatusError(t *testing.T) {
	err := error(&StatusError{Action: "switch", Status: 431, Message: "registry: person is not known"})
	if !errors.Is(err, ErrRefused) || errors.Is(err, ErrBadRequest) {
		t.Fatal("StatusError matching")
	}
	if want := "host: switch refused with status 431: registry: person is not known"; err.Error() != want {
		t.Fatalf("%q, want %q", err, want)
	}
	resp := Response{Status: 404, Body: []byte(`{"action":"search","status":"failed","error":"registry: machine is not known"}`)}
	var se *StatusError
	if !errors.As(resp.Err(), &se) || se.Action != "search" || se.Status != 404 || se.Message != "registry: machine is not known" {
		t.Fatalf("%+v", se)
	}
	if (Response{Status: 200}).Err() != nil {
		t.Fatal("status 200 is an error")
	}
}
