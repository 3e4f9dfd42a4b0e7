package main

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/regwasm/regwasm/host"
)

// lockForReading takes the directory's lock (the one every host's open takes), so that no
// registry starts writing while the files are read, and so that a directory a live registry
// holds (a server, a Node program) is refused rather than read half-written. In a directory
// it may not write to, it only checks that no live registry holds it. It returns the release.
func lockForReading(dir string) (func(), error) {
	l, err := host.LockDir(dir)
	if err == nil {
		return func() { l.Close() }, nil
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		err = host.CheckLock(dir)
		if err == nil {
			return func() {}, nil
		}
	}
	if errors.Is(err, host.ErrLocked) {
		return nil, fmt.Errorf("%s is locked: stop the registry that holds it, or check a copy: %w", dir, err)
	}
	return nil, err
}
