package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeHost is a host's result at the given scale, every phase at rate req/s.
func fakeHost(name string, o Workload, rate float64) *HostResults {
	h := &HostResults{Host: name, Storage: name + " storage", Options: o, MemoryNote: name + " memory", PeakRSSIsolated: true,
		Counts: Counts{Persons: uint64(o.Persons), Machines: uint64(2 * o.Machines), URLs: 402_000, Accesses: 25_000_000,
			PersonURLs: 24_000_000, MachineURLs: 422_000, Bytes: 800 << 20},
		BytesPerPersonURL: 35, RSSEnd: 900 << 20, PeakRSS: 1200 << 20, SaveSeconds: 2, SnapshotBytes: 350e6, LoadSeconds: 4,
		LoadNote: name + " load", TotalSeconds: 60, LoadAverage: 1.5}
	if name != "native" {
		h.WasmMemoryEnd = 1100 << 20
		h.ColdStartSeconds, h.WarmStartSeconds, h.CompileColdSeconds, h.OpenSeconds, h.StartNote = 0.9, 0.1, 0.8, 0.05, name+" start"
	}
	names := []string{"new persons", "same machines", "other machine", "random 1x", "random 2x"}
	for i := range o.Rounds {
		names = append(names, "mixed "+strconv.Itoa(i+1))
	}
	for _, n := range names {
		h.Phases = append(h.Phases, PhaseResult{Name: n, Requests: o.Persons, Batches: o.Persons / o.Batch, Seconds: float64(o.Persons) / rate, PerSecond: rate})
	}
	return h
}

// writeReport runs WriteReport and returns what it printed.
func writeReport(f ReportFiles) (string, error) {
	var out bytes.Buffer
	err := WriteReport(f, "regwasm bench report --go "+f.Go, &out)
	return out.String(), err
}

func writeReports(t *testing.T, dir string, goRep *Report, js *jsReport) (string, string) {
	t.Helper()
	goFile, jsFile := filepath.Join(dir, "go.json"), filepath.Join(dir, "js.json")
	for f, v := range map[string]any{goFile: goRep, jsFile: js} {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return goFile, jsFile
}

// TestBenchReport merges a full-size Go report with a JS one and checks BENCHMARKS.md: every
// host in every table, targets judged, the chart linked and drawn.
func TestBenchReport(t *testing.T) {
	dir := t.TempDir()
	full := Workload{Persons: 1_000_000, Machines: 200_000, Batch: 1000, Rounds: 9 + 1, Seed: 1, LogSync: "save"}
	goRep := &Report{Date: "2026-11-22T00:00:00Z", Command: "regwasm bench --full", GoVersion: "go1.26.8", Machine: MachineInfo{CPU: "Test CPU", Cores: 2, RAMBytes: 8 << 30},
		Options: full, Hosts: []*HostResults{fakeHost("native", full, 800e3), fakeHost("wazero", full, 300e3)},
		SyncProbe: &SyncProbe{Bytes: 110_000, Samples: 40, MedianSecond: 0.005, P90Seconds: 0.008},
		HTTP:      &HTTPResult{Runs: []HTTPRun{{LogSync: "always", Clients: 16, Requests: 100, PerSecond: 3000, P50Seconds: 0.004}}}}
	goRep.Hosts[1].SnapshotBytes = 450e6 // a miss
	goRep.Hosts[0].EncodeSeconds, goRep.Hosts[0].DecodeSeconds = 1.25, 1.5
	js := &jsReport{Date: "x", Command: "node tests/web/bench.mjs --full", NodeVersion: "v20", ChromiumVersion: "Chromium 156", Options: full,
		Hosts: []*HostResults{fakeHost("chromium", full, 500e3), fakeHost("node", full, 450e3)}, Notes: []string{"a JS note"}}
	// A wasm file and a dist directory to size.
	wasm := filepath.Join(dir, "registry.wasm")
	os.WriteFile(wasm, make([]byte, 5000), 0o644)
	dist := filepath.Join(dir, "dist")
	os.Mkdir(dist, 0o755)
	os.WriteFile(filepath.Join(dist, "browser.js"), []byte(strings.Repeat("let a = 1;\n", 100)), 0o644)
	goFile, jsFile := writeReports(t, dir, goRep, js)
	md, svg := filepath.Join(dir, "BENCHMARKS.md"), filepath.Join(dir, "docs", "bench.svg")
	out, err := writeReport(ReportFiles{Go: goFile, JS: jsFile, MD: md, SVG: svg, Wasm: wasm, Dist: dist})
	if err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"Test CPU, 2 cores, 8.0 GiB RAM", "Chromium 156", "v20", "![req/s per phase per host](docs/bench.svg)",
		"| native | wazero | node | chromium |", "wazero/native", "2016 prototype", "| 1. new persons | 1M | 800K | 300K | 450K | 500K | 0.38 | 0.56 | 0.62 | 54K |",
		"| req/s, random phases 4-15 (slowest) | native | 800K", "✅ pass", "❌ miss", "| snapshot size | wazero | 450 MB | ≤ 400 MB | ❌ miss |",
		"| req/s ratio to native, all phases | wazero | 0.3", "| cold start | node | 900 ms | ≤ 1 s | ✅ pass |",
		"| memory at end: wasm linear memory | node | 1.1 GiB | ≤ 1.0 GiB | ❌ miss |", "fsync probe", "5.00 ms", "native 1.5, wazero 1.5, node 1.5, chromium 1.5 (2 cores", "encoding 1.25 s, decoding into a new registry 1.50 s", "a JS note", "native storage", "chromium load", "node start", "`registry.wasm` | 4.9 KiB",
		"all `.js` of the bundle", "## HTTP server", "| same final counts, 1M persons | native, wazero, node, chromium | identical | identical | ✅ pass |", "regwasm bench --full", "node tests/web/bench.mjs --full", "regwasm bench report --go "} {
		if !strings.Contains(text, strings.ReplaceAll(want, "registry.wasm", filepath.ToSlash(wasm))) && !strings.Contains(text, want) {
			t.Errorf("BENCHMARKS.md lacks %q", want)
		}
	}
	if !strings.Contains(out, "MISS") {
		t.Errorf("the summary does not flag the miss:\n%s", out)
	}
	checkSVG(t, svg, 4*15)

	// Hosts that ran the same workload and disagree: refused, nothing written.
	os.Remove(md)
	js.Hosts[0].Counts.PersonURLs++
	goFile, jsFile = writeReports(t, dir, goRep, js)
	_, err = writeReport(ReportFiles{Go: goFile, JS: jsFile, MD: md, SVG: svg, Wasm: wasm, Dist: dist})
	if err == nil || !strings.Contains(err.Error(), "disagree") || !strings.Contains(err.Error(), "chromium") {
		t.Fatalf("disagreeing counts: %v", err)
	}
	if _, err := os.Stat(md); err == nil {
		t.Fatal("BENCHMARKS.md written despite the disagreement")
	}
}

// TestBenchReportScales: JS hosts at a smaller scale are reported at theirs, without ratios
// to native and without size-dependent verdicts.
func TestBenchReportScales(t *testing.T) {
	dir := t.TempDir()
	full := Workload{Persons: 1_000_000, Machines: 200_000, Batch: 1000, Rounds: 10, Seed: 1, LogSync: "save"}
	small := Workload{Persons: 200_000, Machines: 40_000, Batch: 1000, Rounds: 10, Seed: 1, LogSync: "save"}
	goRep := &Report{Options: full, Hosts: []*HostResults{fakeHost("native", full, 800e3)}}
	js := &jsReport{Options: small, Hosts: []*HostResults{fakeHost("node", small, 400e3)}}
	goFile, jsFile := writeReports(t, dir, goRep, js)
	md := filepath.Join(dir, "B.md")
	wasm := filepath.Join(dir, "m.wasm")
	os.WriteFile(wasm, []byte{0, 'a', 's', 'm'}, 0o644)
	out, err := writeReport(ReportFiles{Go: goFile, JS: jsFile, MD: md, SVG: filepath.Join(dir, "c.svg"), Wasm: wasm, Dist: filepath.Join(dir, "none")})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b, _ := os.ReadFile(md)
	text := string(b)
	for _, want := range []string{"20% of full size", "— node", "— native", "| 1. new persons | 1M | 800K | 400K | - |",
		"| snapshot size | node | 350 MB | ≤ 400 MB | ➖ not at full size |", "| same final counts, 200K persons | node | no other host ran this scale | identical | ➖"} {
		if !strings.Contains(text, want) {
			t.Errorf("B.md lacks %q", want)
		}
	}
	if strings.Contains(text, "ratio to native, all phases | node") {
		t.Error("a ratio between different scales")
	}
}

// Runs of one host merge into each phase's median, the runs kept; the report says so.
func TestMedianPhases(t *testing.T) {
	full := Workload{Persons: 1_000_000, Machines: 200_000, Batch: 1000, Rounds: 10, Seed: 1, LogSync: "save"}
	runs := []*HostResults{fakeHost("native", full, 900e3), fakeHost("native", full, 720e3), fakeHost("native", full, 750e3)}
	runs[0].Phases[7].PerSecond = 600e3 // one slow phase in the first run
	m := medianPhases(runs)
	if m != runs[2] || len(m.RunsPerSecond) != 3 || m.RunsPerSecond[1][0] != 720e3 {
		t.Fatalf("merged %p with runs %v, want the last run carrying all three", m, m.RunsPerSecond)
	}
	for i, p := range m.Phases {
		want := 750e3
		if i == 7 {
			want = 720e3 // 600K, 720K, 750K
		}
		if p.PerSecond != want || p.Seconds != float64(p.Requests)/want {
			t.Fatalf("phase %d: %.0f req/s in %.3f s, want the median %.0f", i, p.PerSecond, p.Seconds, want)
		}
	}
	r := &mergedReport{Hosts: []*HostResults{m}}
	row := r.targets()[0]
	if !strings.Contains(row.figure, "720K (mixed 3; fastest 750K; per phase the median of 3 runs, whose slowest were 600K, 720K, 750K)") || row.mark != markPass {
		t.Fatalf("target row %+v", row)
	}
}
