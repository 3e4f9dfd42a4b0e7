package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

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
		log := filepath.Join(dir, "registry.log")
		if !strings.Contains(logged.String(), log+": no space left on device") {
			t.Fatalf("the server's log does not name %s and the OS error:\n%s", log, logged.String())
		}
		t.Logf("answer: %d %s\nlog: %s", w.Code, w.Body.String(), logged.String())
		return
	}
	t.Fatal("5000 accesses on a full file system all succeeded")
}
