package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/regwasm/regwasm/registry/test1"
)

// benchReport is everything `regwasm bench` measured; --json writes it as is (BENCHMARKS.md is
// written from it).
type benchReport struct {
	Date      string         `json:"date"`
	GoVersion string         `json:"go_version"`
	CPUs      int            `json:"cpus"`
	Options   benchOptions   `json:"options"`
	Hosts     []*hostResults `json:"hosts"`
	// Storage says what each host's timings include: native is the core in memory, wazero the
	// module with its data directory (every batch in the change log, synced per "log sync").
	Storage map[string]string `json:"storage"`
	// Ratio is wazero req/s over native req/s per phase, when both ran.
	Ratio []float64 `json:"ratio_wazero_native,omitempty"`
}

type benchOptions struct {
	Persons  int    `json:"persons"`
	Machines int    `json:"machines"`
	Batch    int    `json:"batch"`
	Rounds   int    `json:"rounds"`
	Seed     uint64 `json:"seed"`
}

// hostResults are one host's figures.
type hostResults struct {
	Host   string        `json:"host"` // native or wazero
	Phases []phaseResult `json:"phases"`
	Counts benchCounts   `json:"counts"`
	// BytesPerPersonURL is the tables' memory over the person-URL links.
	BytesPerPersonURL float64 `json:"bytes_per_person_url"`
	// PeakHeapInuse (native): the most runtime.MemStats.HeapInuse seen after any phase;
	// HeapAllocAfterGC: live heap after a final collection.
	PeakHeapInuse    uint64 `json:"peak_heap_inuse,omitempty"`
	HeapAllocAfterGC uint64 `json:"heap_alloc_after_gc,omitempty"`
	// PeakRSS is the process's VmHWM after this host's run (reset before it where Linux
	// allows, so each host's figure is its own).
	PeakRSS         uint64  `json:"peak_rss"`
	PeakRSSIsolated bool    `json:"peak_rss_isolated"`
	SaveSeconds     float64 `json:"save_seconds"`
	SnapshotBytes   int64   `json:"snapshot_bytes"`
	LoadSeconds     float64 `json:"load_seconds"`
	// ColdStartSeconds (wazero): compiling the module into an empty compilation cache;
	// WarmStartSeconds: the same from a filled cache, in a fresh runtime; OpenSeconds: opening
	// an empty registry once compiled.
	ColdStartSeconds float64 `json:"cold_start_seconds,omitempty"`
	WarmStartSeconds float64 `json:"warm_start_seconds,omitempty"`
	OpenSeconds      float64 `json:"open_seconds,omitempty"`
	TotalSeconds     float64 `json:"total_seconds"`
	storage          string  // see benchReport.Storage
}

type phaseResult struct {
	Name      string  `json:"name"`
	Requests  int     `json:"requests"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
}

// benchCounts are the registry's counters after the run (the module's stats JSON).
type benchCounts struct {
	Persons     uint64 `json:"persons"`
	Machines    uint64 `json:"machines"`
	URLs        uint64 `json:"urls"`
	Accesses    uint64 `json:"accesses"`
	PersonURLs  uint64 `json:"person_urls"`
	MachineURLs uint64 `json:"machine_urls"`
	Bytes       uint64 `json:"bytes"`
}

// benchTarget is one host under test.
type benchTarget interface {
	name() string
	handler() test1.Handler
	// storage says what the timings include besides the registry core.
	storage() string
	counts() (benchCounts, error)
	// saveLoad writes a snapshot and loads it back, timing both.
	saveLoad(r *hostResults) error
	close() error
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	hostSel := fs.String("host", "both", "native, wazero or both")
	persons := fs.Int("persons", 100_000, "persons (netdata's test1: 1,000,000)")
	machines := fs.Int("machines", 20_000, "machines (netdata's test1: 200,000; phases 5+ use twice as many)")
	batch := fs.Int("batch", 1000, "requests per call")
	rounds := fs.Int("rounds", 10, "random rounds (phases 6+)")
	full := fs.Bool("full", false, "netdata's full size: 1M persons, 200K machines")
	seed := fs.Uint64("seed", 1, "random seed of the workload")
	svgFile := fs.String("svg", "", "write a chart of req/s per phase to this SVG file")
	jsonFile := fs.String("json", "", "write every figure to this JSON file")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("unexpected arguments %q", rest)
	}
	if *full {
		*persons, *machines = 1_000_000, 200_000
	}
	if *persons <= 0 || *machines <= 0 || *batch <= 0 || *rounds <= 0 {
		return usageError("--persons, --machines, --batch and --rounds must be positive")
	}
	var hosts []string
	switch *hostSel {
	case "native", "wazero":
		hosts = []string{*hostSel}
	case "both":
		hosts = []string{"native", "wazero"}
	default:
		return usageError("--host must be native, wazero or both, not %q", *hostSel)
	}
	rep := &benchReport{Date: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(),
		CPUs: runtime.NumCPU(), Options: benchOptions{Persons: *persons, Machines: *machines, Batch: *batch, Rounds: *rounds, Seed: *seed}}
	rep.Storage = map[string]string{}
	for _, h := range hosts {
		res, err := benchHost(ctx, h, rep.Options, stdout)
		if err != nil {
			return fmt.Errorf("%s: %w", h, err)
		}
		rep.Hosts = append(rep.Hosts, res)
		rep.Storage[h] = res.storage
	}
	if len(rep.Hosts) == 2 {
		for i, p := range rep.Hosts[0].Phases {
			if i < len(rep.Hosts[1].Phases) && p.PerSecond > 0 {
				rep.Ratio = append(rep.Ratio, rep.Hosts[1].Phases[i].PerSecond/p.PerSecond)
			}
		}
	}
	printBench(stdout, rep)
	if *svgFile != "" {
		if err := writeBenchSVG(*svgFile, rep); err != nil {
			return err
		}
	}
	if *jsonFile != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonFile, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// benchHost runs test1 on one host. Hosts run one after the other in the same process, so
// their figures compare side by side; memory is returned to the system in between.
func benchHost(ctx context.Context, name string, o benchOptions, stdout io.Writer) (*hostResults, error) {
	runtime.GC()
	debug.FreeOSMemory()
	res := &hostResults{Host: name, PeakRSSIsolated: resetPeakRSS()}
	t0 := time.Now()
	var (
		target benchTarget
		err    error
	)
	switch name {
	case "native":
		target = newNativeTarget()
	case "wazero":
		target, err = newWazeroTarget(ctx, res)
	}
	if err != nil {
		return nil, err
	}
	defer target.close()
	res.storage = target.storage()
	total := int64(5*o.Persons + 2*o.Persons*o.Rounds)
	bar := newProgress(stdout, fmt.Sprintf("%-6s", name), total, func(n int64) string { return humanCount(uint64(n)) })
	var done int64
	h := target.handler()
	counted := func(batch []byte) ([]byte, error) {
		out, err := h(batch)
		// A phase's last batch may be short: the count is made exact at the phase's end.
		done = min(done+int64(o.Batch), total)
		bar.set(done)
		return out, err
	}
	var finished int64
	phases, err := test1.Run(counted, test1.Options{Persons: o.Persons, Machines: o.Machines, Batch: o.Batch,
		Rounds: o.Rounds, Seed: o.Seed}, func(p test1.Phase) {
		finished += int64(p.Requests)
		done = finished
		bar.set(done)
		if name == "native" {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			res.PeakHeapInuse = max(res.PeakHeapInuse, ms.HeapInuse)
		}
		if !bar.tty {
			fmt.Fprintf(stdout, "%-6s %-14s %10.0f req/s\n", name, p.Name, p.PerSecond())
		}
	})
	bar.finish()
	if err != nil {
		return nil, err
	}
	for _, p := range phases {
		res.Phases = append(res.Phases, phaseResult{Name: p.Name, Requests: p.Requests, Seconds: p.Elapsed.Seconds(), PerSecond: p.PerSecond()})
	}
	if res.Counts, err = target.counts(); err != nil {
		return nil, err
	}
	if res.Counts.PersonURLs > 0 {
		res.BytesPerPersonURL = float64(res.Counts.Bytes) / float64(res.Counts.PersonURLs)
	}
	if err := target.saveLoad(res); err != nil {
		return nil, err
	}
	if name == "native" {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		res.HeapAllocAfterGC = ms.HeapAlloc
		res.PeakHeapInuse = max(res.PeakHeapInuse, ms.HeapInuse)
	}
	res.PeakRSS = peakRSS()
	res.TotalSeconds = time.Since(t0).Seconds()
	return res, nil
}

func printBench(w io.Writer, rep *benchReport) {
	fmt.Fprintf(w, "\ntest1: %s persons, %s machines, batches of %d (%s, %d CPUs)\n\n",
		humanCount(uint64(rep.Options.Persons)), humanCount(uint64(rep.Options.Machines)), rep.Options.Batch, rep.GoVersion, rep.CPUs)
	byHost := map[string]*hostResults{}
	for _, h := range rep.Hosts {
		byHost[h.Host] = h
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\trequests\treq/s native\treq/s wazero\twazero/native\t")
	for i, p := range rep.Hosts[0].Phases {
		cells := []string{p.Name, humanCount(uint64(p.Requests)), "-", "-", "-"}
		if n := byHost["native"]; n != nil && i < len(n.Phases) {
			cells[2] = fmt.Sprintf("%.0f", n.Phases[i].PerSecond)
		}
		if z := byHost["wazero"]; z != nil && i < len(z.Phases) {
			cells[3] = fmt.Sprintf("%.0f", z.Phases[i].PerSecond)
		}
		if i < len(rep.Ratio) {
			cells[4] = fmt.Sprintf("%.2f", rep.Ratio[i])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, h := range rep.Hosts {
		fmt.Fprintf(w, "%-6s  %s\n", h.Host, rep.Storage[h.Host])
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, h := range rep.Hosts {
		c := h.Counts
		fmt.Fprintf(tw, "%s\tpersons %s, machines %s, URLs %s, accesses %s, person-URLs %s, machine-URLs %s\n", h.Host,
			humanCount(c.Persons), humanCount(c.Machines), humanCount(c.URLs), humanCount(c.Accesses), humanCount(c.PersonURLs), humanCount(c.MachineURLs))
		fmt.Fprintf(tw, "\tmemory %s (%.1f bytes per person-URL)", humanBytes(int64(c.Bytes)), h.BytesPerPersonURL)
		if h.PeakHeapInuse > 0 {
			fmt.Fprintf(tw, ", Go heap peak %s, live after GC %s", humanBytes(int64(h.PeakHeapInuse)), humanBytes(int64(h.HeapAllocAfterGC)))
		}
		rss := humanBytes(int64(h.PeakRSS))
		if !h.PeakRSSIsolated {
			rss += " (process, both hosts)"
		}
		fmt.Fprintf(tw, ", peak RSS %s\n", rss)
		fmt.Fprintf(tw, "\tsave %.3f s, snapshot %s, load %.3f s\n", h.SaveSeconds, humanBytes(h.SnapshotBytes), h.LoadSeconds)
		if h.Host == "wazero" {
			fmt.Fprintf(tw, "\tmodule cold start %.3f s (compile), warm start %.3f s (compilation cache), open %.3f s\n",
				h.ColdStartSeconds, h.WarmStartSeconds, h.OpenSeconds)
		}
	}
	tw.Flush()
}

func writeBenchSVG(path string, rep *benchReport) error {
	var phases []string
	for _, p := range rep.Hosts[0].Phases {
		phases = append(phases, p.Name)
	}
	colors := map[string]string{"native": "#4e79a7", "wazero": "#f28e2b"}
	var series []chartSeries
	for _, h := range rep.Hosts {
		s := chartSeries{Name: h.Host, Color: colors[h.Host]}
		for _, p := range h.Phases {
			s.Values = append(s.Values, p.PerSecond)
		}
		series = append(series, s)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("regwasm test1: %s persons, %s machines (req/s per phase)",
		humanCount(uint64(rep.Options.Persons)), humanCount(uint64(rep.Options.Machines)))
	if err := writeBarChart(f, title, phases, series); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// peakRSS returns the process's peak resident set (VmHWM), 0 where /proc is missing.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// resetPeakRSS restarts VmHWM from the current RSS (Linux's clear_refs value 5), so that a
// host's peak is its own and not the previous host's; false where that is not possible.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}
