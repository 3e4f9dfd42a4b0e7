//go:build !linux

package smallfs

import "testing"

// Mount skips t: mount namespaces and tmpfs are Linux's.
func Mount(t *testing.T, size int64) (dir string, ok bool) {
	t.Skip("smallfs: a small file system is mounted on Linux only")
	return "", false
}

// Available reports whether the child of Mount runs: never here.
func Available() bool { return false }
