//go:build !linux

package host

// procStatus is what the OS tells the lock about a process: nothing outside Linux here (no
// start time: a reused pid is taken for the holder, except that a Go holder's flock tells).
type procStatus struct {
	start  string
	zombie bool
}

func procStat(int) (procStatus, bool) { return procStatus{}, false }

func bootID() string { return "" }

func pidNamespace() string { return "" }
