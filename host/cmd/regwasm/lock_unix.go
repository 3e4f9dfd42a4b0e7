//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/regwasm/regwasm/host"
)

// lockForReading takes a shared lock on the directory's lock file (the one host.Open locks
// exclusively), so that no server starts writing while the files are read, and so that a
// directory a server holds is refused rather than read half-written. It returns the release.
func lockForReading(dir string) (func(), error) {
	path := filepath.Join(dir, host.LockName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	}
	if err != nil {
		// A directory we may not write to and that never had a server: nothing to race with.
		return func() {}, nil
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid, _ := os.ReadFile(path)
			return nil, fmt.Errorf("%s is locked: a running regwasm (pid %s) holds it; stop it or check a copy: %w",
				dir, strings.TrimSpace(string(pid)), host.ErrLocked)
		}
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return func() { f.Close() }, nil
}
