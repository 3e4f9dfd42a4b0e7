package host

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// TestDefaultCompilationCache checks that Open without options uses a compilation cache in
// the user's cache directory (it compiled in every process), and that WithoutCompilationCache
// writes nothing there. The default location is seeded with a damaged copy of the tests'
// cache: Open reading it shows as the warning (a new cache would cost a compile, minutes
// under the race detector).
func TestDefaultCompilationCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	dir := filepath.Join(cache, "regwasm", "wazero")
	damaged := t.TempDir()
	damagedCopy(t, damaged) // first: the module compiled for testCache serves the next Open
	open(t, t.TempDir(), WithoutCompilationCache())
	if _, err := os.Stat(filepath.Join(cache, "regwasm")); err == nil {
		t.Fatal("WithoutCompilationCache wrote to the user's cache directory")
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(damaged, dir); err != nil {
		t.Fatal(err)
	}
	var w warnings
	r := open(t, t.TempDir(), WithLogger(w.logger()))
	access(t, r, uuid.Nil, m1, u1, "one")
	if got := w.lines("compilation cache unavailable"); len(got) != 1 || !strings.Contains(got[0], dir) {
		t.Fatalf("Open without options did not read %s (warnings %q)", dir, got)
	}
}

// damagedCopy copies the tests' compilation cache to dir with every entry damaged.
func damagedCopy(t *testing.T, dir string) {
	t.Helper()
	if err := Initialize(context.Background(), WithCompilationCache(testCache)); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(dir, os.DirFS(testCache)); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b[len(b)/2] ^= 0xff
		return os.WriteFile(p, b, 0o644)
	})
	if err != nil || n == 0 {
		t.Fatalf("no cache entry to damage (%d): %v", n, err)
	}
}

// warnings is a logger that keeps what it is told.
type warnings struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *warnings) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *warnings) logger() *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// lines returns the lines logged that contain s.
func (w *warnings) lines(s string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for line := range strings.Lines(w.buf.String()) {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// TestCompilationCacheUnavailable checks that a compilation cache that cannot be created
// (a service account's HOME=/nonexistent) costs the compile, never the registry, and is
// reported once per directory to the logger given.
func TestCompilationCacheUnavailable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Not even root can create a directory under a regular file.
	t.Setenv("HOME", filepath.Join(file, "home"))
	t.Setenv("XDG_CACHE_HOME", "")
	var w warnings
	for range 2 {
		r := open(t, t.TempDir(), WithLogger(w.logger()))
		access(t, r, uuid.Nil, m1, u1, "one")
	}
	if got := w.lines("compilation cache unavailable"); len(got) != 1 || !strings.Contains(got[0], filepath.Join(file, "home")) {
		t.Fatalf("warnings for the default location %q, want one naming it", got)
	}
	bad := filepath.Join(file, "cache")
	r := open(t, t.TempDir(), WithCompilationCache(bad), WithLogger(w.logger()))
	access(t, r, uuid.Nil, m1, u1, "one")
	if err := Initialize(context.Background(), WithCompilationCache(bad), WithLogger(w.logger())); err != nil {
		t.Fatalf("Initialize with a cache that cannot be made: %v", err)
	}
	if got := w.lines(bad); len(got) != 1 {
		t.Fatalf("warnings for %s: %q, want one", bad, got)
	}
}

// TestCompilationCacheDamaged checks that a damaged cache entry is compiled around, with a
// warning: it failed the compile (wazero verifies the entry's checksum).
func TestCompilationCacheDamaged(t *testing.T) {
	damaged := t.TempDir()
	damagedCopy(t, damaged)
	var w warnings
	r := open(t, t.TempDir(), WithCompilationCache(damaged), WithLogger(w.logger()))
	access(t, r, uuid.Nil, m1, u1, "one")
	if got := w.lines("compilation cache unavailable"); len(got) != 1 || !strings.Contains(got[0], damaged) {
		t.Fatalf("warnings %q, want one naming %s", got, damaged)
	}
}
