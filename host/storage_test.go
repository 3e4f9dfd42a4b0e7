package host

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/regwasm/regwasm/host/internal/smallfs"

	"github.com/google/uuid"
)

// TestDiskFull fills the small file system a registry lives on, as another program taking the
// space would, and accesses until one fails: the error says "no space left on device" and
// names the file (it said "I/O error": wazero's WASI errors have no ENOSPC), matches
// ErrStorage and syscall.ENOSPC, and carries the file as an *fs.PathError. Once the space is
// freed the registry accepts changes again.
func TestDiskFull(t *testing.T) {
	mnt, ok := smallfs.Mount(t, 256<<10)
	if !ok {
		return
	}
	ctx := context.Background()
	dir := filepath.Join(mnt, "registry")
	// A clock that stands still: the registry retries writes after a pause, and the test
	// must see them stopped first.
	r := open(t, dir, WithWalltime(func() time.Time { return time.Unix(1_800_000_000, 0) }))
	access(t, r, uuid.Nil, m1, u1, "one")
	filler := smallfs.Fill(t, mnt, "filler")

	var err error
	n := 0
	for ; n < 5000 && err == nil; n++ {
		_, err = r.Access(ctx, uuid.Nil, machine(n), u1, "one") // a new person: a log record each
	}
	if err == nil {
		t.Fatalf("%d accesses on a full file system all succeeded", n)
	}
	log := filepath.Join(dir, "registry.log.1") // a new registry's first log segment
	if !errors.Is(err, ErrStorage) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("access %d on a full disk: %v; want ErrStorage and ENOSPC", n, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "no space left on device") || !strings.Contains(msg, log) {
		t.Fatalf("message %q does not say %q and name %s", msg, "no space left on device", log)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != log {
		t.Fatalf("the error's *fs.PathError is %+v, want one on %s", pe, log)
	}
	t.Logf("access %d: %v", n, err)

	// Writes stopped: reads go on, changes are refused with the reason.
	if st := stats(t, r); !strings.Contains(st.Storage.WriteError, "no space left on device") {
		t.Fatalf("storage after the failure: %+v", st.Storage)
	}
	if _, err := r.Access(ctx, uuid.Nil, m2, u2, "two"); !errors.Is(err, ErrRefused) {
		t.Fatalf("a change while writes are stopped: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// A save resumes (so does the first change after a pause), then changes are taken.
	if _, err := r.Save(ctx); err != nil {
		t.Fatalf("save once space is free: %v", err)
	}
	access(t, r, uuid.Nil, m2, u2, "two")
}
