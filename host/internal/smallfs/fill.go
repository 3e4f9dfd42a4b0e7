package smallfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Fill writes zeros to a file named name in dir until the file system is full, as another
// program taking the space would, and returns the file's path. It fails t on any error other
// than "no space left on device".
func Fill(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for chunk := len(buf); chunk > 0; {
		if _, err := f.Write(buf[:chunk]); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", p, err)
			}
			chunk /= 2 // the last pages, down to the last byte
		}
	}
	return p
}
