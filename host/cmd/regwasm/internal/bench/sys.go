package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/dirfs"
	"github.com/regwasm/regwasm/registry/test1"
)

// MachineInfo describes where the figures were measured.
type MachineInfo struct {
	CPU      string `json:"cpu"`
	Cores    int    `json:"cores"`
	RAMBytes uint64 `json:"ram_bytes"`
	OS       string `json:"os"`
}

func readMachine() MachineInfo {
	m := MachineInfo{CPU: "unknown", Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPU = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		m.RAMBytes = parseKB(v)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += ", Linux " + strings.TrimSpace(string(b))
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file, "" if none.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// parseKB reads "123456 kB" as bytes.
func parseKB(v string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
	return n << 10
}

// currentRSS is the process's resident set (VmRSS), 0 where /proc is missing.
func currentRSS() uint64 { return parseKB(procField("/proc/self/status", "VmRSS")) }

// PeakRSS is the process's peak resident set (VmHWM), 0 where /proc is missing.
func PeakRSS() uint64 { return parseKB(procField("/proc/self/status", "VmHWM")) }

// resetPeakRSS restarts VmHWM from the current RSS (Linux's clear_refs value 5), so that a
// host's peak is its own and not the previous host's; false where that is not possible.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// loadAverage is the 1-minute load average (/proc/loadavg), 0 where it is missing.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return f
}

// SyncProbe is what "log sync = always" would add per batch on this disk: the median time of
// appending one batch's worth of log and fsyncing it.
type SyncProbe struct {
	Dir          string  `json:"dir"`
	Bytes        int     `json:"bytes"`
	Samples      int     `json:"samples"`
	MedianSecond float64 `json:"median_seconds"`
	P90Seconds   float64 `json:"p90_seconds"`
}

// logBatchBytes is what one batch of test1's accesses adds to a change log: the core logs
// one through a registry.Store in dir and the log's growth is measured.
func logBatchBytes(dir string, batch int) (int, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return 0, err
	}
	d, err := dirfs.Open(dir)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	st, err := registry.OpenStore(d, nil)
	if err != nil {
		return 0, err
	}
	before := st.Info().LogBytes
	machine := "01234567-89ab-7def-8123-456789abcdef"
	var b []byte
	for i := range batch {
		b = test1.AppendAccess(b, uint32(time.Now().Unix()), "", machine, "http://"+strconv.Itoa(100000+i)+".netdata.rocks/")
	}
	if _, err := st.Handle(b, nil); err != nil {
		return 0, err
	}
	return int(st.Info().LogBytes - before), nil
}

// probeSync measures appends of a typical batch's size followed by fsync in a temporary
// directory under dir (where the hosts kept their files).
func probeSync(dir string, hosts []*HostResults) (*SyncProbe, error) {
	if len(hosts) == 0 {
		return nil, nil
	}
	tmp, err := os.MkdirTemp(dir, "regwasm-bench-sync-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	size, err := logBatchBytes(filepath.Join(tmp, "store"), hosts[0].Options.Batch)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(tmp, "registry.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	chunk := make([]byte, size)
	const samples = 40
	var times []float64
	for range samples {
		t0 := time.Now()
		if _, err := f.Write(chunk); err != nil {
			return nil, err
		}
		if err := f.Sync(); err != nil {
			return nil, err
		}
		times = append(times, time.Since(t0).Seconds())
	}
	slices.Sort(times)
	return &SyncProbe{Dir: dir, Bytes: size, Samples: samples, MedianSecond: times[samples/2], P90Seconds: times[samples*9/10]}, nil
}

// checkCounts fails when hosts that ran the same workload end with different counts: they
// all sent the same requests (registry/test1 and its JS port), so any difference is a bug.
func checkCounts(hosts []*HostResults) error {
	var problems []string
	for i, a := range hosts {
		for _, b := range hosts[:i] {
			if sameWorkload(a.Options, b.Options) {
				if err := sameCounts(b.Host+" vs "+a.Host, b.Counts, a.Counts); err != nil {
					problems = append(problems, err.Error())
				}
				break
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("hosts disagree on the final counts of the same workload:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// sameWorkload reports whether two hosts sent the same requests.
func sameWorkload(a, b Workload) bool {
	return a.Persons == b.Persons && a.Machines == b.Machines && a.Rounds == b.Rounds && a.Seed == b.Seed && a.Batch == b.Batch
}
