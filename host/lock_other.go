//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package host

import "os"

// pidExists tells whether a process with this id exists (on Windows, FindProcess opens it).
func pidExists(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}

// flockHold: no flock here; the lock record and pid liveness alone decide.
func flockHold(*os.File) bool { return false }

func flockFree(*os.File) (free, known bool) { return false, false }
