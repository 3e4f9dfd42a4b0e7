//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package host

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// held are the lock files this process holds: without flock the lock only keeps a second
// Open in this process out.
var held sync.Map

type heldFile struct {
	*os.File
	key string
}

func (h *heldFile) Close() error {
	defer held.Delete(h.key)
	return h.File.Close()
}

// lockFile creates path with this process's id and records it as held.
func lockFile(path string) (io.Closer, error) {
	key, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if _, taken := held.LoadOrStore(key, true); taken {
		return nil, lockedError(path)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		held.Delete(key)
		return nil, err
	}
	_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	return &heldFile{f, key}, nil
}
