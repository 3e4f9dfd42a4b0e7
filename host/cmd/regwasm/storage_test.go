package main

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/regwasm/regwasm/host"
	"github.com/regwasm/regwasm/host/internal/smallfs"
)

// TestServeDiskFull fills the small file system a served registry lives on: the access that
// cannot be logged is answered 503 with the reason in netdata's failed shape (it was 500
// "registry failure"), and the server's log names the file and the OS error.
func TestServeDiskFull(t *testing.T) {
	mnt, ok := smallfs.Mount(t, 256<<10)
	if !ok {
		return
	}
	dir := filepath.Join(mnt, "registry")
	reg := openTestRegistry(t, dir)
	var logged lockedBuffer
	s, err := newServer(context.Background(), reg, "", slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	access := registryURL("access", "machine", machineA, "url", urlA, "name", "a")
	newPerson := []string{"Cookie", cookieName + "=" + dummyPerson} // each access a new person
	expectStatus(t, call(t, s, "GET", access, newPerson...), 200, "ok")
	smallfs.Fill(t, mnt, "filler")
	for i := 0; i < 5000; i++ {
		w := call(t, s, "GET", access, newPerson...)
		if w.Code == 200 {
			continue
		}
		b := expectStatus(t, w, 503, "failed")
		if b.Action != "access" || !strings.Contains(b.Error, "no space left on device") {
			t.Fatalf("access %d on a full disk: %s", i, w.Body.String())
		}
		if strings.Contains(b.Error, mnt) {
			t.Fatalf("the answer shows clients a server path: %s", w.Body.String())
		}
		log := filepath.Join(dir, "registry.log.1") // a new registry's first log segment
		if !strings.Contains(logged.String(), log+": no space left on device") {
			t.Fatalf("the server's log does not name %s and the OS error:\n%s", log, logged.String())
		}
		t.Logf("answer: %d %s\nlog: %s", w.Code, w.Body.String(), logged.String())
		return
	}
	t.Fatal("5000 accesses on a full file system all succeeded")
}

// TestRegistryFailure checks the answer to each kind of failure: storage failures are 503
// with the OS error and no path, anything else 500.
func TestRegistryFailure(t *testing.T) {
	storage := func(op string, errno syscall.Errno) error {
		return fmt.Errorf("%w: registry: %s /srv/registry.log: %w", host.ErrStorage, op,
			&fs.PathError{Op: op, Path: "/srv/registry.log", Err: errno})
	}
	for _, c := range []struct {
		err    error
		status int
		reason string
	}{
		{storage("append", syscall.ENOSPC), 503, "registry storage failure: no space left on device"},
		{storage("append", syscall.EROFS), 503, "registry storage failure: read-only file system"},
		{storage("open", syscall.EACCES), 503, "registry storage failure: permission denied"},
		{host.ErrStorage, 503, "registry storage failure"},
		{host.ErrTrapped, 500, "registry failure"},
		{context.Canceled, 500, "registry failure"},
	} {
		if status, reason := registryFailure(c.err); status != c.status || reason != c.reason {
			t.Errorf("%v: %d %q, want %d %q", c.err, status, reason, c.status, c.reason)
		}
	}
}
