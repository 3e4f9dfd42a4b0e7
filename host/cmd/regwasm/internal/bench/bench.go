// Package bench is `regwasm bench`'s harness: netdata's test1 (registry/test1) on the core
// natively and on the module through wazero, side by side, the HTTP server under concurrent
// clients, and the writers of what they measured (text, JSON, BENCHMARKS.md and its SVG
// chart). The command's package parses the flags and gives it regwasm serve's handler.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/regwasm/regwasm/registry/test1"
)

// Report is what `regwasm bench` measured on the Go hosts. --json writes it; `regwasm
// bench report` merges it with the JS hosts' (tests/web/bench.mjs --json) into BENCHMARKS.md.
type Report struct {
	Date      string         `json:"date"`
	Command   string         `json:"command"`
	GoVersion string         `json:"go_version"`
	Machine   MachineInfo    `json:"machine"`
	Options   Workload       `json:"options"`
	Hosts     []*HostResults `json:"hosts"`
	SyncProbe *SyncProbe     `json:"sync_probe,omitempty"`
	HTTP      *HTTPResult    `json:"http,omitempty"`
}

// Workload is the workload's options (the same names in the JS hosts' JSON).
type Workload struct {
	Persons  int    `json:"persons"`
	Machines int    `json:"machines"`
	Batch    int    `json:"batch"`
	Rounds   int    `json:"rounds"`
	Seed     uint32 `json:"seed"`
	LogSync  string `json:"log_sync"` // the "log sync" setting every host runs with
}

// HostResults are one host's figures, Go or JS (tests/web/bench.mjs writes the same fields).
type HostResults struct {
	Host    string        `json:"host"`    // native, wazero, node or chromium
	Storage string        `json:"storage"` // what the timings include
	Options Workload      `json:"options"`
	Phases  []PhaseResult `json:"phases"`
	// RunsPerSecond, when the host ran more than once (--native-runs), holds each run's
	// req/s per phase; Phases then has each phase's median, the rest is the last run's.
	RunsPerSecond [][]float64 `json:"runs_per_second,omitempty"`
	Counts        Counts      `json:"counts"`
	// BytesPerPersonURL is the tables' memory (Counts.Bytes) over the person-URL links.
	BytesPerPersonURL float64 `json:"bytes_per_person_url"`
	// RSSEnd is the resident memory after the last phase, PeakRSS the most over the host's
	// run, save and load included; MemoryNote says whose (this process, a renderer...).
	RSSEnd          uint64 `json:"rss_end"`
	PeakRSS         uint64 `json:"peak_rss"`
	PeakRSSIsolated bool   `json:"peak_rss_isolated"` // false: the peak may be an earlier host's
	MemoryNote      string `json:"memory_note"`
	// WasmMemoryEnd (module hosts) is the instance's linear memory after the last phase: it
	// grows and never shrinks, so it is also the most the registry needed.
	WasmMemoryEnd uint64 `json:"wasm_memory_end,omitempty"`
	// Native only: the Go heap in use after the last phase, and live after a final collection.
	HeapInuseEnd     uint64  `json:"heap_inuse_end,omitempty"`
	HeapAllocAfterGC uint64  `json:"heap_alloc_after_gc,omitempty"`
	SaveSeconds      float64 `json:"save_seconds"`
	SnapshotBytes    int64   `json:"snapshot_bytes"`
	LoadSeconds      float64 `json:"load_seconds"`
	LoadNote         string  `json:"load_note,omitempty"`
	// RestartSeconds is a fresh open of the saved directory (a new instance and its load; a
	// new Store natively), after a second save: the previous generation's log holds the
	// changes between the two saves, not the whole workload.
	RestartSeconds float64 `json:"restart_seconds,omitempty"`
	// HTTPSave (the wazero host, with --http) is regwasm serve on the directory the run
	// left, under load while it saves.
	HTTPSave *HTTPSaveRun `json:"http_save,omitempty"`
	// Native only: encoding the snapshot and decoding it into a new registry, in memory.
	EncodeSeconds float64 `json:"snapshot_encode_seconds,omitempty"`
	DecodeSeconds float64 `json:"snapshot_decode_seconds,omitempty"`
	// Start-up of the module hosts: cold and warm totals to an open, empty registry, their
	// compile and open parts, and StartNote saying what cold and warm mean on this host.
	ColdStartSeconds   float64 `json:"cold_start_seconds,omitempty"`
	WarmStartSeconds   float64 `json:"warm_start_seconds,omitempty"`
	CompileColdSeconds float64 `json:"compile_cold_seconds,omitempty"`
	CompileWarmSeconds float64 `json:"compile_warm_seconds,omitempty"`
	OpenSeconds        float64 `json:"open_seconds,omitempty"`
	StartNote          string  `json:"start_note,omitempty"`
	TotalSeconds       float64 `json:"total_seconds"`
	// LoadAverage is the machine's 1-minute load average when the host finished: at or above
	// the core count, other work competed with the benchmark.
	LoadAverage float64 `json:"load_average"`
}

type PhaseResult struct {
	Name      string  `json:"name"`
	Requests  int     `json:"requests"`
	Batches   int     `json:"batches"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
}

// Counts are the registry's counters after the run (the module's stats JSON).
type Counts struct {
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
	handler() test1.Handler
	// storage says what the timings include besides the registry core.
	storage() string
	counts() (Counts, error)
	// saveLoad writes a snapshot and loads it back, timing both.
	saveLoad(r *HostResults) error
	close() error
}

// Options say what Run measures.
type Options struct {
	Hosts      []string // "native", "wazero" (in this order when both)
	Workload   Workload
	NativeRuns int  // runs of the native host; each phase reports its median over them
	HTTP       bool // also measure regwasm serve's handler (NewServer must be set)
	NewServer  ServerFunc
	Command    string // the command line, for the report
	// Out gets a line per phase when PhaseLines is set (progress bars that do not redraw).
	Out        io.Writer
	PhaseLines bool
	// Progress, when not nil, makes a meter for a host's run of total requests.
	Progress func(label string, total int64) Meter
}

// Meter shows how far a run is.
type Meter interface {
	Set(done int64)
	Finish()
}

// Run runs test1 on each host of o, one after the other in this process so that their
// figures compare side by side, then probes fsync and, with o.HTTP, the HTTP server.
func Run(ctx context.Context, o Options) (*Report, error) {
	w := o.Workload
	if w.Persons <= 0 || w.Machines <= 0 || w.Batch <= 0 || w.Rounds <= 0 || o.NativeRuns <= 0 {
		return nil, fmt.Errorf("bench: persons, machines, batch, rounds and native runs must be positive")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	rep := &Report{Date: time.Now().UTC().Format(time.RFC3339), Command: o.Command,
		GoVersion: runtime.Version(), Machine: readMachine(), Options: w}
	for _, h := range o.Hosts {
		if h != "native" && h != "wazero" {
			return nil, fmt.Errorf("bench: unknown host %q", h)
		}
		runs := 1
		if h == "native" {
			runs = o.NativeRuns
		}
		var res []*HostResults
		for range runs {
			r, err := benchHost(ctx, h, &o)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", h, err)
			}
			res = append(res, r)
		}
		rep.Hosts = append(rep.Hosts, medianPhases(res))
	}
	var err error
	if rep.SyncProbe, err = probeSync(os.TempDir(), rep.Hosts); err != nil {
		return nil, err
	}
	if o.HTTP {
		if o.NewServer == nil {
			return nil, fmt.Errorf("bench: --http needs the server")
		}
		if rep.HTTP, err = benchHTTP(ctx, o.NewServer, o.Out); err != nil {
			return nil, fmt.Errorf("http: %w", err)
		}
	}
	if err := checkCounts(rep.Hosts); err != nil {
		return nil, err
	}
	return rep, nil
}

// WriteJSON writes the report as JSON (what `regwasm bench report --go` reads).
func (rep *Report) WriteJSON(path string) error {
	b, _ := json.MarshalIndent(rep, "", "  ")
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteSVG writes a chart of req/s per phase per host.
func (rep *Report) WriteSVG(path string) error { return writeBenchSVG(path, rep.Hosts) }

// benchHost runs test1 on one host. Hosts run one after the other in the same process, so
// their figures compare side by side; memory is returned to the system in between.
func benchHost(ctx context.Context, name string, opts *Options) (*HostResults, error) {
	o := opts.Workload
	runtime.GC()
	debug.FreeOSMemory()
	res := &HostResults{Host: name, Options: o, PeakRSSIsolated: resetPeakRSS(), MemoryNote: "this process (VmRSS, VmHWM)"}
	t0 := time.Now()
	var (
		target benchTarget
		err    error
	)
	switch name {
	case "native":
		target, err = newNativeTarget(o.Persons, o.LogSync)
	case "wazero":
		target, err = newWazeroTarget(ctx, res, o.LogSync)
	}
	if err != nil {
		return nil, err
	}
	defer target.close()
	if res.Storage = target.storage(); res.Storage == "" {
		return nil, fmt.Errorf("the host does not say what it runs")
	}
	total := int64(test1.Options{Persons: o.Persons, Rounds: o.Rounds}.Requests())
	var bar Meter = nopMeter{}
	if opts.Progress != nil {
		bar = opts.Progress(fmt.Sprintf("%-6s", name), total)
	}
	var done, finished int64
	h := target.handler()
	counted := func(batch []byte) ([]byte, error) {
		out, err := h(batch)
		// A phase's last batch may be short: the count is made exact at the phase's end.
		done = min(done+int64(o.Batch), total)
		bar.Set(done)
		return out, err
	}
	phases, err := test1.Run(counted, test1.Options{Persons: o.Persons, Machines: o.Machines, Batch: o.Batch,
		Rounds: o.Rounds, Seed: o.Seed}, func(p test1.Phase) {
		finished += int64(p.Requests)
		done = finished
		bar.Set(done)
		if opts.PhaseLines {
			fmt.Fprintf(opts.Out, "%-6s %-14s %10.0f req/s\n", name, p.Name, p.PerSecond())
		}
	})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	res.RSSEnd = currentRSS()
	if w, ok := target.(*wazeroTarget); ok {
		st, err := w.reg.Stats(ctx)
		if err != nil {
			return nil, err
		}
		res.WasmMemoryEnd = st.ModuleMemory
	}
	if name == "native" {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		res.HeapInuseEnd = ms.HeapInuse
	}
	for _, p := range phases {
		res.Phases = append(res.Phases, PhaseResult{Name: p.Name, Requests: p.Requests, Batches: p.Batches,
			Seconds: p.Elapsed.Seconds(), PerSecond: p.PerSecond()})
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
	if w, ok := target.(*wazeroTarget); ok && opts.HTTP && opts.NewServer != nil {
		// The run's directory, reopened as regwasm serve opens it: a restart, then requests
		// while it saves. A second save first retires test1's 25M changes (the previous
		// generation's log): a server saves at least every million changes.
		dir := w.reg.Dir()
		if _, err := w.reg.Save(ctx); err != nil {
			return nil, err
		}
		if err := w.reg.Close(); err != nil {
			return nil, err
		}
		w.reg = nil
		if res.HTTPSave, err = benchHTTPSave(ctx, opts.NewServer, dir, res.Counts.Persons); err != nil {
			return nil, fmt.Errorf("http with a save: %w", err)
		}
		res.RestartSeconds = res.HTTPSave.RestartSeconds
		fmt.Fprintf(opts.Out, "%-6s restart %.2f s; http during a save of %.1f s: max %.1f ms, p99.9 %.1f ms\n", name,
			res.RestartSeconds, res.HTTPSave.SaveSeconds, res.HTTPSave.During.Max*1e3, res.HTTPSave.During.P999*1e3)
	}
	if name == "native" {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		res.HeapAllocAfterGC = ms.HeapAlloc
	}
	res.PeakRSS = PeakRSS()
	res.TotalSeconds = time.Since(t0).Seconds()
	res.LoadAverage = loadAverage()
	return res, nil
}

type nopMeter struct{}

func (nopMeter) Set(int64) {}
func (nopMeter) Finish()   {}

// LogSyncConf is the netdata.conf text every host is configured with (op configure): the
// log sync setting, and no saves between requests (netdata's test1 saved only at its end;
// the default, a save every 1M changes, would put ~24 saves inside the timed phases).
func LogSyncConf(logSync string) string {
	return "[registry]\n\tlog sync = " + logSync + "\n\tregistry save db every new entries = 0\n"
}

// medianPhases merges runs of one host: each phase's req/s is its median over the runs (the
// upper middle one for an even count), every other figure the last run's.
//
// # Notes
//
// On a shared 2-vCPU machine one phase's rate moves 20-30% from run to run (the host's memory
// behind the guest's first touches, other guests): the native target, short to run, is run
// more than once by ./build.sh bench, so that its figures, the baseline of every ratio, are
// not one run's luck. Each run's figures stay in RunsPerSecond.
func medianPhases(runs []*HostResults) *HostResults {
	last := runs[len(runs)-1]
	if len(runs) == 1 {
		return last
	}
	for _, r := range runs {
		per := make([]float64, len(r.Phases))
		for i, p := range r.Phases {
			per[i] = p.PerSecond
		}
		last.RunsPerSecond = append(last.RunsPerSecond, per)
	}
	for i := range last.Phases {
		rates := make([]float64, len(runs))
		for k, per := range last.RunsPerSecond {
			rates[k] = per[i]
		}
		slices.Sort(rates)
		p := &last.Phases[i]
		p.PerSecond = rates[len(rates)/2]
		p.Seconds = float64(p.Requests) / p.PerSecond
	}
	return last
}
