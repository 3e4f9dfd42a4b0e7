package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regwasm/regwasm/host"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader in different goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// withoutCacheDir makes the user's cache directory impossible to create, as for a service
// account with HOME=/nonexistent (not even root can make a directory under a regular file).
func withoutCacheDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", filepath.Join(file, "home"))
	t.Setenv("XDG_CACHE_HOME", "")
}

// TestServeWithoutCacheDir: serve starts, and answers, when the compilation cache cannot be
// created, and says so once.
func TestServeWithoutCacheDir(t *testing.T) {
	// The module compiled once in this process is used (as it would be by a real server's
	// fallback compile): a compile without a cache takes ~30 s under the race detector.
	if err := host.Initialize(context.Background()); err != nil {
		t.Fatal(err)
	}
	withoutCacheDir(t)
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, outW := io.Pipe()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"serve", "--dir", dir, "--addr", "127.0.0.1:0"}, outW, &stderr)
		outW.Close()
		done <- code
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("serve did not start (exit %d): %s", <-done, stderr.String())
	}
	go io.Copy(io.Discard, out)
	start := strings.Index(line, "http://")
	if start < 0 {
		t.Fatalf("no URL in %q", line)
	}
	u := strings.Fields(line[start:])[0]
	c := &http.Client{Timeout: 10 * time.Second}
	if code, b, _ := httpGet(t, c, u+"?action=hello", ""); code != 200 || b.Status != "ok" {
		t.Fatalf("hello: %d %+v", code, b)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
	if n := strings.Count(stderr.String(), "compilation cache unavailable"); n != 1 {
		t.Fatalf("serve said %d times that the compilation cache is unavailable, want once:\n%s", n, stderr.String())
	}
}

// TestCheckWithoutCacheDir: check calls a healthy directory healthy when the compilation
// cache cannot be created (it said NOT healthy: the module could not be loaded).
func TestCheckWithoutCacheDir(t *testing.T) {
	dir := t.TempDir()
	reg := openTestRegistry(t, dir)
	if _, err := reg.do(context.Background(), action{op: host.OpAccess, machine: machineA, url: urlA, arg: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := reg.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	withoutCacheDir(t)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"check", dir}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "healthy") {
		t.Fatalf("check exited %d:\n%s%s", code, stdout.String(), stderr.String())
	}
}
