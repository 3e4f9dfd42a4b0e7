package host

import (
	"os"
	"strconv"
	"strings"
)

// procStatus is what /proc/PID/stat tells the lock about a process.
type procStatus struct {
	start  string // field 22, starttime: clock ticks after boot; with the pid, the process's identity
	zombie bool   // state Z or X: dead, not yet reaped
}

// procStat reads /proc/PID/stat; ok is false when it cannot (no such process, or hidden).
func procStat(pid int) (procStatus, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStatus{}, false
	}
	// "pid (comm) state ...": comm may hold spaces and parentheses, so split after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStatus{}, false
	}
	fields := strings.Fields(s[i+1:]) // fields[0] is field 3 (state)
	if len(fields) < 20 {
		return procStatus{}, false
	}
	return procStatus{start: fields[19], zombie: fields[0] == "Z" || fields[0] == "X"}, true
}

// bootID identifies this boot of the machine: a lock from another boot is stale.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// pidNamespace identifies this process's PID namespace: pids of another one (another
// container) cannot be checked from here.
func pidNamespace() string {
	s, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return s
}
