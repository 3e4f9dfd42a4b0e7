//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package host

import (
	"errors"
	"os"
	"syscall"
)

// pidExists tells whether a process with this id exists (EPERM: it does, another user's).
func pidExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// flockHold takes an exclusive flock on the holder's own, new lock file: it stays while the
// file is open, that is while the holder lives. false where the file system has no flock.
func flockHold(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

// flockFree tells whether nobody holds an flock on f's file (known is false when flock
// fails for another reason). A free lock is released at once.
//
// # Notes
//
// flock locks belong to the open file, not the process: a probe in the holder's own process
// opens the file again and finds it held, like any other process.
func flockFree(f *os.File) (free, known bool) {
	if f == nil {
		return false, false
	}
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return true, true
	}
	return false, errors.Is(err, syscall.EWOULDBLOCK)
}
