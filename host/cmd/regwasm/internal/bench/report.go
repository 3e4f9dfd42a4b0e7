package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/regwasm/regwasm/registry/test1"

	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/human"
)

// jsReport is what tests/web/bench.mjs --json writes: the JS hosts' figures in the same shape.
type jsReport struct {
	Date            string         `json:"date"`
	Command         string         `json:"command"`
	NodeVersion     string         `json:"node_version"`
	ChromiumVersion string         `json:"chromium_version"`
	Options         Workload       `json:"options"`
	Hosts           []*HostResults `json:"hosts"`
	Notes           []string       `json:"notes"`
}

// mergedReport is everything BENCHMARKS.md shows.
type mergedReport struct {
	Go        *Report
	ReportCmd string    // the command that writes the report
	JS        *jsReport // nil when only the Go hosts ran
	Hosts     []*HostResults
	Sizes     []fileSize
	SVGLink   string // the chart, relative to the markdown file
	WasmOpt   *WasmOptAB
	Node      *NodeCalls
}

// fileSize is one shipped file's size, raw and gzip -9.
type fileSize struct {
	Name string
	Raw  int64
	Gzip int64
}

// hostOrder is the order of hosts in tables and charts.
var hostOrder = []string{"native", "wazero", "node", "chromium"}

// ReportFiles are what WriteReport reads and writes.
type ReportFiles struct {
	Go   string // the Go hosts' JSON (regwasm bench --json)
	JS   string // the JS hosts' JSON (node tests/web/bench.mjs --json); "" for none
	MD   string // the markdown file to write
	SVG  string // the chart to write (linked from the markdown); "" for none
	Wasm string // the module whose size is reported
	Dist string // the JS bundle directory whose sizes are reported
	// WasmOpt is tests/bench/wasm-opt-ab.mjs's JSON: test1 with the module as Go builds it and
	// as binaryen's wasm-opt optimizes it; "" for none.
	WasmOpt string
	// Node is tests/web/bench-node.mjs's JSON: the Node host's calls and event-loop lag; ""
	// for none.
	Node string
}

// NodeCalls is what tests/web/bench-node.mjs measured.
type NodeCalls struct {
	N     int    `json:"n"`
	Batch int    `json:"batch"`
	Runs  int    `json:"runs"`
	Node  string `json:"node"`
	CPUs  int    `json:"cpus"`
	Load  struct {
		Before float64 `json:"before"`
		After  float64 `json:"after"`
	} `json:"load"`
	Rows []struct {
		Engine  string   `json:"engine"`
		Storage string   `json:"storage"`
		Phase   string   `json:"phase"`
		Rate    *float64 `json:"rate"`
		Ms      float64  `json:"ms"`
		LagP99  float64  `json:"lagP99"`
		LagMax  float64  `json:"lagMax"`
	} `json:"rows"`
}

// WasmOptAB is what tests/bench/wasm-opt-ab.mjs measured.
type WasmOptAB struct {
	Tool         string               `json:"tool"`
	Flags        []string             `json:"flags"`
	Reproducible bool                 `json:"reproducible"`
	OptSeconds   float64              `json:"opt_seconds"`
	Persons      int                  `json:"persons"`
	Bytes        map[string]int64     `json:"bytes"`
	Gzip         map[string]int64     `json:"gzip"`
	Wazero       map[string][]float64 `json:"wazero"`
	Node         map[string][]float64 `json:"node"`
	LoadAverage  []float64            `json:"load_average"`
}

// median of a host's runs of one module.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// faster reports whether the optimized module was measurably faster on both hosts: every
// run above every run of the module as built.
func (w *WasmOptAB) faster() bool {
	for _, h := range []map[string][]float64{w.Wazero, w.Node} {
		if len(h["opt"]) == 0 || slices.Min(h["opt"]) <= slices.Max(h["base"]) {
			return false
		}
	}
	return true
}

// WriteReport merges the Go and JS hosts' figures into the markdown report and its chart,
// and prints each judged target to stdout. command is the command line, for the report.
func WriteReport(f ReportFiles, command string, stdout io.Writer) error {
	var err error
	rep := &mergedReport{Go: &Report{}, ReportCmd: command}
	if err := readJSON(f.Go, rep.Go); err != nil {
		return err
	}
	if f.JS != "" {
		rep.JS = &jsReport{}
		if err := readJSON(f.JS, rep.JS); err != nil {
			return err
		}
	}
	if err := rep.merge(); err != nil {
		return err
	}
	if f.Node != "" {
		rep.Node = &NodeCalls{}
		if err := readJSON(f.Node, rep.Node); err != nil {
			return err
		}
	}
	if f.WasmOpt != "" {
		rep.WasmOpt = &WasmOptAB{}
		if err := readJSON(f.WasmOpt, rep.WasmOpt); err != nil {
			return err
		}
	}
	if rep.Sizes, err = shippedSizes(f.Wasm, f.Dist); err != nil {
		return err
	}
	if f.SVG != "" {
		if err := os.MkdirAll(filepath.Dir(f.SVG), 0o755); err != nil {
			return err
		}
		if err := writeBenchSVG(f.SVG, rep.Hosts); err != nil {
			return err
		}
		rel, err := filepath.Rel(filepath.Dir(f.MD), f.SVG)
		if err != nil {
			rel = f.SVG
		}
		rep.SVGLink = filepath.ToSlash(rel)
	}
	var md bytes.Buffer
	writeBenchMarkdown(&md, rep)
	if err := os.WriteFile(f.MD, md.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s: %d hosts\n", f.MD, f.SVG, len(rep.Hosts))
	for _, t := range rep.targets() {
		if t.mark != markNA {
			fmt.Fprintf(stdout, "  %-4s  %-40s %-8s %s (target %s)\n", t.mark.word(), t.what, t.host, t.figure, t.target)
		}
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// merge puts the hosts in order and checks them: every host ran all phases, and hosts that
// ran the same workload end with the same counts.
func (r *mergedReport) merge() error {
	all := slices.Clone(r.Go.Hosts)
	if r.JS != nil {
		all = append(all, r.JS.Hosts...)
	}
	for _, name := range hostOrder {
		if h := findHost(all, name); h != nil {
			r.Hosts = append(r.Hosts, h)
		}
	}
	if len(r.Hosts) != len(all) {
		return fmt.Errorf("unknown or repeated hosts in the reports (want each of %v at most once)", hostOrder)
	}
	if len(r.Hosts) == 0 {
		return fmt.Errorf("no hosts in the reports")
	}
	for _, h := range r.Hosts {
		want := len(r.Hosts[0].Phases)
		if len(h.Phases) != want || want == 0 {
			return fmt.Errorf("%s ran %d phases, %s %d", h.Host, len(h.Phases), r.Hosts[0].Host, want)
		}
		for i, p := range h.Phases {
			if p.Name != r.Hosts[0].Phases[i].Name || p.PerSecond <= 0 {
				return fmt.Errorf("%s phase %d: %+v", h.Host, i+1, p)
			}
		}
	}
	return checkCounts(r.Hosts)
}

// shippedSizes are the module's and the JS bundle's files, raw and gzip -9.
func shippedSizes(wasm, dist string) ([]fileSize, error) {
	files := []string{wasm}
	if entries, err := os.ReadDir(dist); err == nil {
		for _, e := range entries {
			if !e.IsDir() && e.Name() != "registry.wasm" {
				files = append(files, filepath.Join(dist, e.Name()))
			}
		}
	}
	var out []fileSize
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		w.Write(b)
		w.Close()
		out = append(out, fileSize{Name: filepath.ToSlash(f), Raw: int64(len(b)), Gzip: int64(z.Len())})
	}
	return out, nil
}

// mark is a target's verdict.
type mark int

const (
	markNA mark = iota // not judged: the run was not at the size the target is for
	markPass
	markMiss
)

func (m mark) word() string { return [...]string{"n/a", "pass", "MISS"}[m] }

func (m mark) symbol() string { return [...]string{"➖ not at full size", "✅ pass", "❌ miss"}[m] }

func judge(ok, applies bool) mark {
	switch {
	case !applies:
		return markNA
	case ok:
		return markPass
	}
	return markMiss
}

// targetRow is one figure next to its target.
type targetRow struct {
	what, target, host, figure string
	mark                       mark
}

func isFull(o Workload) bool {
	f := test1.Full()
	return o.Persons == f.Persons && o.Machines == f.Machines && o.Rounds == 10
}

const (
	gib            = 1 << 30
	snapshotTarget = 400e6 // bytes: "400 MB"
)

// targets are the issues' targets, judged on the figures (see BENCHMARKS.md's notes).
func (r *mergedReport) targets() []targetRow {
	var rows []targetRow
	native := findHost(r.Hosts, "native")
	if native != nil {
		lo, hi, name := 0.0, 0.0, ""
		for i, p := range native.Phases[min(3, len(native.Phases)):] {
			if i == 0 || p.PerSecond < lo {
				lo, name = p.PerSecond, p.Name
			}
			hi = max(hi, p.PerSecond)
		}
		figure := fmt.Sprintf("%s (%s; fastest %s", human.Count(uint64(lo)), name, human.Count(uint64(hi)))
		if runs := native.RunsPerSecond; len(runs) > 1 {
			var each []string
			for _, per := range runs {
				each = append(each, human.Count(uint64(slices.Min(per[min(3, len(per)):]))))
			}
			figure += fmt.Sprintf("; per phase the median of %d runs, whose slowest were %s", len(runs), strings.Join(each, ", "))
		}
		figure += ")"
		rows = append(rows, targetRow{"req/s, random phases 4-15 (slowest)", "≥ 700K", "native", figure,
			judge(lo >= 700e3, isFull(native.Options))})
	}
	for _, h := range r.Hosts {
		if h == native || native == nil || !sameWorkload(h.Options, native.Options) {
			continue
		}
		all, worst, worstName := ratioToNative(h, native, -1), 0.0, ""
		for i, p := range h.Phases {
			if q := ratioToNative(h, native, i); i == 0 || q < worst {
				worst, worstName = q, p.Name
			}
		}
		target := "≥ 0.50"
		if h.Host != "wazero" {
			target += " (wazero's, for reference)"
		}
		rows = append(rows, targetRow{"req/s ratio to native, all phases", target, h.Host,
			fmt.Sprintf("%.2f (worst phase %.2f, %s)", all, worst, worstName), judge(all >= 0.5, true)})
	}
	perHost := func(what, target string, figure func(*HostResults) (string, bool, bool)) {
		for _, h := range r.Hosts {
			if f, ok, applies := figure(h); f != "" {
				rows = append(rows, targetRow{what, target, h.Host, f, judge(ok, applies && isFull(h.Options))})
			}
		}
	}
	perHost("memory at end: the registry's tables", "≤ 1.0 GiB", func(h *HostResults) (string, bool, bool) {
		return human.Bytes(int64(h.Counts.Bytes)), h.Counts.Bytes <= gib, true
	})
	perHost("memory at end: wasm linear memory", "≤ 1.0 GiB", func(h *HostResults) (string, bool, bool) {
		if h.WasmMemoryEnd == 0 {
			return "", false, false
		}
		return human.Bytes(int64(h.WasmMemoryEnd)), h.WasmMemoryEnd <= gib, true
	})
	perHost("memory at end: RSS after the last phase", "≤ 1.0 GiB", func(h *HostResults) (string, bool, bool) {
		return human.Bytes(int64(h.RSSEnd)), h.RSSEnd <= gib, true
	})
	perHost("snapshot size", "≤ 400 MB", func(h *HostResults) (string, bool, bool) {
		return megabytes(h.SnapshotBytes), h.SnapshotBytes <= snapshotTarget, true
	})
	perHost("save", "≤ 3 s", func(h *HostResults) (string, bool, bool) {
		return fmt.Sprintf("%.2f s", h.SaveSeconds), h.SaveSeconds <= 3, true
	})
	perHost("restart (open of the saved directory; JS: its load)", "≤ 3 s", func(h *HostResults) (string, bool, bool) {
		s := h.RestartSeconds
		if s <= 0 && (h.Host == "node" || h.Host == "chromium") {
			s = h.LoadSeconds
		}
		if s <= 0 {
			return "", false, false
		}
		return fmt.Sprintf("%.2f s", s), s <= 3, true
	})
	for _, h := range r.Hosts {
		if s := h.HTTPSave; s != nil {
			full := isFull(h.Options)
			rows = append(rows,
				targetRow{"HTTP latency during a save, max", "< 50 ms", h.Host, fmt.Sprintf("%.1f ms (save of %.1f s, %d requests)", s.During.Max*1e3, s.SaveSeconds, s.During.Requests), judge(s.During.Max < 0.05, full)},
				targetRow{"HTTP latency during a save, p99.9", "< 10 ms", h.Host, fmt.Sprintf("%.2f ms", s.During.P999*1e3), judge(s.During.P999 < 0.01, full)})
		}
	}
	if r.Go != nil && r.Go.HTTP != nil {
		for _, run := range r.Go.HTTP.Runs {
			if run.LogSync == "always" {
				ceiling := ""
				for _, c := range r.Go.HTTP.Runs {
					if c.LogSync == ceilingRun {
						ceiling = fmt.Sprintf("; a fixed answer without the registry: %s", human.Count(uint64(c.PerSecond)))
					}
				}
				rows = append(rows, targetRow{"HTTP req/s, log sync = always, 16 clients", "≥ 30K, p99 < 5 ms", "wazero",
					fmt.Sprintf("%s, p99 %.2f ms%s", human.Count(uint64(run.PerSecond)), run.P99Seconds*1e3, ceiling), judge(run.PerSecond >= 30e3 && run.P99Seconds < 0.005, true)})
			}
		}
	}
	perHost("load", "≤ 5 s", func(h *HostResults) (string, bool, bool) {
		if h.LoadSeconds <= 0 {
			return "", false, false
		}
		return fmt.Sprintf("%.2f s", h.LoadSeconds), h.LoadSeconds <= 5, true
	})
	for _, h := range r.Hosts {
		if h.ColdStartSeconds > 0 {
			rows = append(rows, targetRow{"cold start", "≤ 1 s", h.Host, fmt.Sprintf("%.0f ms", h.ColdStartSeconds*1e3), judge(h.ColdStartSeconds <= 1, true)})
		}
	}
	for _, h := range r.Hosts {
		if h.ColdStartSeconds > 0 {
			rows = append(rows, targetRow{"warm start", "≤ 150 ms", h.Host, fmt.Sprintf("%.0f ms", h.WarmStartSeconds*1e3), judge(h.WarmStartSeconds <= 0.15, true)})
		}
	}
	if w := r.WasmOpt; w != nil {
		figure := fmt.Sprintf("wazero %s -> %s, node %s -> %s req/s (medians)", human.Count(uint64(median(w.Wazero["base"]))),
			human.Count(uint64(median(w.Wazero["opt"]))), human.Count(uint64(median(w.Node["base"]))), human.Count(uint64(median(w.Node["opt"]))))
		verdict := "not adopted"
		if w.faster() && w.Reproducible {
			verdict = "faster: adopt"
		}
		rows = append(rows, targetRow{"wasm-opt " + strings.Join(w.Flags[:1], " ") + " (adopt only if faster on both)", "faster and reproducible",
			"wazero, node", figure + "; " + verdict, judge(true, true)})
	}
	// merge refused hosts that disagree: what remains is which hosts could be compared.
	for _, g := range workloadGroups(r.Hosts) {
		names := make([]string, len(g))
		for i, h := range g {
			names[i] = h.Host
		}
		figure, verdict := "identical", markPass
		if len(g) == 1 {
			figure, verdict = "no other host ran this scale", markNA
		}
		rows = append(rows, targetRow{"same final counts, " + human.Count(uint64(g[0].Options.Persons)) + " persons", "identical",
			strings.Join(names, ", "), figure, verdict})
	}
	return rows
}

// workloadGroups groups the hosts that ran the same workload, in host order.
func workloadGroups(hosts []*HostResults) [][]*HostResults {
	var groups [][]*HostResults
next:
	for _, h := range hosts {
		for i, g := range groups {
			if sameWorkload(g[0].Options, h.Options) {
				groups[i] = append(g, h)
				continue next
			}
		}
		groups = append(groups, []*HostResults{h})
	}
	return groups
}

// megabytes prints a size in MB (10^6 bytes, the unit of the snapshot target).
func megabytes(n int64) string {
	if n < 10e6 {
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.0f MB", float64(n)/1e6)
}

// millis prints seconds as milliseconds, "–" for a figure the host does not have.
func millis(s float64) string {
	if s <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f ms", s*1e3)
}
