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

// flockFree tells whether no holder keeps an flock on f's file (known is false when flock
// fails for another reason). The probe's own lock is released at once.
//
// # Notes
//
// flock locks belong to the open file, not the process: a probe in the holder's own process
// opens the file again and finds it held, like any other process.
//
// The probe takes a shared lock, which only a holder's exclusive one refuses: openers racing
// for a stale lock probe it at the same moment, and exclusive probes took one another for a
// live holder (one opener of six refused, naming the dead one, in TestLockProcesses' race).
func flockFree(f *os.File) (free, known bool) {
	if f == nil {
		return false, false
	}
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return true, true
	}
	return false, errors.Is(err, syscall.EWOULDBLOCK)
}
