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

// newestFiles returns the newest snapshot (the last save's) and the log segment of the
// generation before it (the redundancy that makes up for a damaged newest snapshot).
func newestFiles(t *testing.T, r *Registry, dir string) (snap, prevLog string) {
	t.Helper()
	st := stats(t, r)
	snap = filepath.Join(dir, st.Storage.Snapshot)
	logs, _ := filepath.Glob(filepath.Join(dir, "registry.log.*"))
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		if len(data) > 32 { // the previous generation's segment holds the records
			prevLog = l
		}
	}
	if prevLog == "" {
		t.Fatalf("no log segment with records among %v", logs)
	}
	return snap, prevLog
}

func TestTrapRestartFails(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := open(t, dir)
	access(t, r, uuid.Nil, m1, u1, "one")
	access(t, r, uuid.Nil, m1, u1, "one")
	if _, err := r.Save(ctx); err != nil {
		t.Fatal(err)
	}
	snap, prevLog := newestFiles(t, r, dir)
	good, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(snap, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	// The previous generation makes up for the damaged snapshot: the restart works.
	if err := r.trap(ctx); !errors.Is(err, ErrTrapped) || strings.Contains(err.Error(), "restarting failed") {
		t.Fatalf("trap with the newest snapshot damaged: %v", err)
	}
	if s := stats(t, r); s.Accesses != 2 || len(s.Storage.Notes) == 0 {
		t.Fatalf("after the restart: %+v", s)
	}
	// Without the previous generation's log nothing gives the changes back.
	logData, _ := os.ReadFile(prevLog)
	if err := os.Remove(prevLog); err != nil {
		t.Fatal(err)
	}
	err = r.trap(ctx)
	if !errors.Is(err, ErrTrapped) || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "restarting failed") {
		t.Fatalf("trap with corrupt files: %v", err)
	}
	// Every call tries to start an instance again.
	if _, err := r.Stats(ctx); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), filepath.Base(snap)) {
		t.Fatalf("stats with corrupt files: %v", err)
	}
	if err := os.WriteFile(snap, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prevLog, logData, 0o644); err != nil {
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
	snap, prevLog := newestFiles(t, r, dir)
	r.Close()
	good, _ := os.ReadFile(snap)
	if err := os.WriteFile(snap, good[:len(good)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	// A torn newest snapshot: the previous generation and its log give everything back.
	r2, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("open of a torn snapshot: %v", err)
	}
	if s := stats(t, r2); s.Accesses != 2 {
		t.Fatalf("stats %+v", s)
	}
	r2.Close()
	if err := os.WriteFile(snap, good[:len(good)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	logData, _ := os.ReadFile(prevLog)
	os.Remove(prevLog)
	if _, err := Open(ctx, dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open of a torn snapshot without the log before it: %v", err)
	}
	// The failed Open released the directory.
	if err := os.WriteFile(snap, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prevLog, logData, 0o644); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, open(t, dir)); s.Accesses != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// TestStorageFailure: a write that fails stops writes with the storage's reason; reads go on
// from what was acknowledged; once storage works again the registry resumes by itself.
func TestStorageFailure(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// A clock that stands still: the registry retries writes after a pause, and the test
	// must see them stopped first.
	r := open(t, dir, WithWalltime(func() time.Time { return time.Unix(1_800_000_000, 0) }))
	p := access(t, r, uuid.Nil, m1, u1, "one").Person
	// A save starts a new log segment, which the module then opens to append: make it a
	// directory first, so the next append fails.
	if _, err := r.Save(ctx); err != nil {
		t.Fatal(err)
	}
	var cur string
	logs, _ := filepath.Glob(filepath.Join(dir, "registry.log.*"))
	for _, l := range logs {
		if data, _ := os.ReadFile(l); len(data) == 32 {
			cur = l
		}
	}
	saved, _ := os.ReadFile(cur)
	if err := os.Remove(cur); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(cur, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := r.Access(ctx, p, m2, u2, "two")
	if !errors.Is(err, ErrStorage) || !strings.Contains(err.Error(), filepath.Base(cur)) {
		t.Fatalf("access with an unwritable log: %v", err)
	}
	// The reload after the failure cannot read the segment either (a directory is in its
	// place): nothing is answered that the files cannot vouch for.
	if _, err := r.Stats(ctx); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("stats while the log segment is unreadable: %v", err)
	}
	if err := os.Remove(cur); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cur, saved, 0o644); err != nil {
		t.Fatal(err)
	}
	// Readable again: reads go on from what was acknowledged; changes are refused with the
	// reason until writes resume.
	if s := stats(t, r); s.Accesses != 1 || s.Machines != 1 || s.Storage.WriteError == "" {
		t.Fatalf("stats after the failure: %+v", s)
	}
	if _, err := r.Access(ctx, p, m2, u2, "two"); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("access while writes are stopped: %v", err)
	}
	// A save resumes writing (so does the next change after a pause).
	if _, err := r.Save(ctx); err != nil {
		t.Fatalf("save after the storage came back: %v", err)
	}
	access(t, r, p, m2, u2, "two")
	if _, err := r.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, r); s.Accesses != 2 || s.Machines != 2 || s.Storage.WriteError != "" {
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
