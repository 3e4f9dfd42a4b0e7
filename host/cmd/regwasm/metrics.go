package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regwasm/regwasm/host"
)

// serverMetrics are the figures /metrics serves besides the registry's own counters (read
// from the module at each scrape): the server's requests and saves.
//
// # Notes
//
// The Prometheus text format is written here rather than with client_golang: it is a few
// lines of text, and the library would bring a dozen modules into a program that otherwise
// depends on wazero alone.
type serverMetrics struct {
	started  time.Time
	inFlight atomic.Int64

	mu       sync.Mutex
	requests map[requestKey]uint64
	latency  map[string]*histogram // by action
	saves    map[string]uint64     // by result: ok, error
	saveTime histogram
}

type requestKey struct {
	action string
	code   int
}

// Latency buckets in seconds: a request is a module call (tens of µs) plus, with "log sync
// = always", the group commit's fsync (ms); a save of millions of entries takes seconds.
var (
	requestBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	saveBuckets    = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
)

func newServerMetrics() *serverMetrics {
	return &serverMetrics{started: time.Now(), requests: map[requestKey]uint64{}, latency: map[string]*histogram{},
		saves: map[string]uint64{}, saveTime: newHistogram(saveBuckets)}
}

// histogram counts observations into cumulative buckets, as Prometheus reads them.
type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

func newHistogram(bounds []float64) histogram {
	return histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.bounds, v)
	h.counts[i]++
	h.sum += v
	h.count++
}

// registryActions are the action labels: netdata's, the stats endpoint's, and "unknown" for
// anything else, so that clients cannot make up label values.
var registryActions = map[string]bool{"hello": true, "access": true, "delete": true, "search": true, "switch": true, "stats": true}

// instrument counts the requests of a registry endpoint by action and status and times them.
// action names the endpoint's action; "" takes it from the query, as netdata does.
func (m *serverMetrics) instrument(action string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Add(1)
		defer m.inFlight.Add(-1)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		t0 := time.Now()
		next.ServeHTTP(rec, r)
		took := time.Since(t0).Seconds()
		name := action
		if name == "" {
			name = param(r.URL.Query(), "action")
		}
		if !registryActions[name] {
			name = "unknown"
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.requests[requestKey{name, rec.status}]++
		h := m.latency[name]
		if h == nil {
			nh := newHistogram(requestBuckets)
			h = &nh
			m.latency[name] = h
		}
		h.observe(took)
	})
}

// saved records one save the server made.
func (m *serverMetrics) saved(took time.Duration, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.saves[result]++
	m.saveTime.observe(took.Seconds())
}

// serveMetrics answers GET /metrics in the Prometheus text format (version 0.0.4).
func (s *server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var b strings.Builder
	p := promWriter{w: &b}
	s.metrics.write(&p)
	ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
	defer cancel()
	st, err := s.reg.stats(ctx)
	up := 1.0
	if err != nil {
		up = 0
		s.log.Warn("metrics: the registry did not answer", "err", err)
	}
	p.gauge("regwasm_registry_up", "1 if the registry answered this scrape's stats call, else 0", up)
	if err == nil {
		writeRegistryMetrics(&p, st)
	}
	writeProcessMetrics(&p)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	noCache(w.Header())
	_, _ = io.WriteString(w, b.String())
}

func (m *serverMetrics) write(p *promWriter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p.header("regwasm_http_requests_total", "counter", "registry API requests answered, by action and HTTP status")
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b requestKey) int {
		if c := strings.Compare(a.action, b.action); c != 0 {
			return c
		}
		return a.code - b.code
	})
	for _, k := range keys {
		p.sample("regwasm_http_requests_total", labels("action", k.action, "code", strconv.Itoa(k.code)), float64(m.requests[k]))
	}
	p.header("regwasm_http_request_duration_seconds", "histogram", "time to answer a registry API request, by action")
	for _, a := range sortedKeys(m.latency) {
		p.histogram("regwasm_http_request_duration_seconds", labels("action", a), m.latency[a])
	}
	p.gauge("regwasm_http_requests_in_flight", "registry API requests being answered", float64(m.inFlight.Load()))
	p.header("regwasm_saves_total", "counter", "snapshots the server wrote (periodic and at shutdown), by result")
	for _, result := range []string{"ok", "error"} {
		p.sample("regwasm_saves_total", labels("result", result), float64(m.saves[result]))
	}
	p.header("regwasm_save_duration_seconds", "histogram", "time the server's saves took")
	p.histogram("regwasm_save_duration_seconds", "", &m.saveTime)
	p.gauge("regwasm_start_time_seconds", "when the server started, unix seconds", float64(m.started.UnixNano())/1e9)
}

// writeRegistryMetrics writes the module's counters and the state of the files.
func writeRegistryMetrics(p *promWriter, st host.Stats) {
	for _, g := range []struct {
		name, help string
		v          uint64
	}{
		{"regwasm_persons", "persons (browsers) the registry holds", st.Persons},
		{"regwasm_machines", "machines (agents) the registry holds", st.Machines},
		{"regwasm_urls", "unique URLs the registry holds", st.URLs},
		{"regwasm_person_urls", "person-URL links", st.PersonURLs},
		{"regwasm_machine_urls", "machine-URL links", st.MachineURLs},
		{"regwasm_accesses", "accesses counted (netdata's usages)", st.Accesses},
		{"regwasm_table_bytes", "memory the registry's tables hold", st.Bytes},
		{"regwasm_table_budget_bytes", "the tables' memory budget: past it, new persons, machines and URLs are refused (507)", st.Budget},
		{"regwasm_module_memory_bytes", "the module's linear memory (it grows and never shrinks)", st.ModuleMemory},
		{"regwasm_log_records", "changes in the change log since the last snapshot", st.Storage.LogRecords},
		{"regwasm_unsaved_changes", "changes not in a snapshot yet", st.Storage.Unsaved},
	} {
		p.gauge(g.name, g.help, float64(g.v))
	}
	p.gauge("regwasm_log_bytes", "bytes in the change log since the last snapshot", float64(st.Storage.LogBytes))
	last := 0.0
	if !st.Storage.LastSave.IsZero() {
		last = float64(st.Storage.LastSave.Unix())
	}
	p.gauge("regwasm_last_save_time_seconds", "when the snapshot was saved, unix seconds (0: none yet)", last)
	failing := 0.0
	if st.Storage.SaveError != "" {
		failing = 1
	}
	p.gauge("regwasm_save_failing", "1 while the last save failed (the change log still holds every change)", failing)
	stopped := 0.0
	if st.Storage.WriteError != "" {
		stopped = 1
	}
	p.gauge("regwasm_writes_stopped", "1 while changes are refused after a failed write (a full disk, say)", stopped)
	p.header("regwasm_module_traps_total", "counter", "module calls that trapped (each cost a new instance and a reload)")
	p.sample("regwasm_module_traps_total", "", float64(st.Traps))
}

// writeProcessMetrics writes the process's memory as Go and the system see it.
func writeProcessMetrics(p *promWriter) {
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(samples)
	for i, g := range []struct{ name, help string }{
		{"regwasm_go_memory_bytes", "memory the Go runtime mapped (the module's linear memory is apart: regwasm_module_memory_bytes)"},
		{"regwasm_go_heap_bytes", "Go heap in live and unswept objects"},
	} {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			p.gauge(g.name, g.help, float64(samples[i].Value.Uint64()))
		}
	}
	if rss, ok := residentBytes(); ok {
		p.gauge("process_resident_memory_bytes", "resident memory of the process", float64(rss))
	}
}

// residentBytes reads the process's resident set from /proc (Linux); false elsewhere.
func residentBytes() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}

// probeTimeout bounds how long /healthz and /metrics wait for the registry: a probe that
// hangs is worse than one that says the registry is busy.
const probeTimeout = 5 * time.Second

// serveHealth answers GET /healthz: 200 "ok" while the registry answers a stats call in
// time and takes changes, 503 with the reason otherwise (a module that cannot load its files,
// writes stopped after a failed write).
func (s *server) serveHealth(w http.ResponseWriter, r *http.Request) {
	noCache(w.Header())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
	defer cancel()
	st, err := s.reg.stats(ctx)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "unavailable: the registry did not answer within %v\n", probeTimeout)
	case err != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "unavailable: %v\n", err)
	case st.Storage.WriteError != "":
		// Reads go on, but every access is refused: not a registry a dashboard can use.
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "unavailable: writes stopped: %s\n", st.Storage.WriteError)
	case st.Storage.SaveError != "":
		// Serving, but the snapshot is behind: the log grows until a save succeeds.
		fmt.Fprintf(w, "ok; the last save failed: %s\n", st.Storage.SaveError)
	default:
		fmt.Fprintln(w, "ok")
	}
}

// promWriter writes the Prometheus text format.
type promWriter struct{ w *strings.Builder }

func (p *promWriter) header(name, kind, help string) {
	fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, kind)
}

func (p *promWriter) sample(name, labels string, v float64) {
	fmt.Fprintf(p.w, "%s%s %s\n", name, labels, formatValue(v))
}

func (p *promWriter) gauge(name, help string, v float64) {
	p.header(name, "gauge", help)
	p.sample(name, "", v)
}

// histogram writes h's cumulative buckets, sum and count; labels is "" or "{k=\"v\"}".
func (p *promWriter) histogram(name, labels string, h *histogram) {
	inner := strings.TrimSuffix(strings.TrimPrefix(labels, "{"), "}")
	if inner != "" {
		inner += ","
	}
	var cum uint64
	for i, c := range h.counts {
		cum += c
		le := "+Inf"
		if i < len(h.bounds) {
			le = formatValue(h.bounds[i])
		}
		p.sample(name+"_bucket", "{"+inner+`le="`+le+`"}`, float64(cum))
	}
	p.sample(name+"_sum", labels, h.sum)
	p.sample(name+"_count", labels, float64(h.count))
}

// labels renders name, value pairs as {a="x",b="y"}.
func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i] + `="` + escapeLabel(kv[i+1]) + `"`)
	}
	return b.String() + "}"
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatInt(int64(v), 10) // counts read best whole: 200000, not 2e+05
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
