package host

import (
	"os"
	"path/filepath"
	"testing"
)

// A data directory reached through a symlink opens, and is the same directory: its lock
// holds against the real path.
func TestLockSymlinkDir(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	r := open(t, link)
	access(t, r, "", m1, u1, "one")
	if _, err := Open(t.Context(), real); err == nil {
		t.Fatal("the real path opened while the symlink's registry holds it")
	}
	r.Close()
	r = open(t, real)
	if st := stats(t, r); st.Persons != 1 {
		t.Fatalf("through the real path: %+v", st)
	}
}
