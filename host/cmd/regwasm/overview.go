package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/regwasm/regwasm/host"
)

// GET /api/v1/registry/overview answers what the operator of `regwasm serve` watches on the
// dashboard's registry view, in one request:
//
//	{"now": ms, "started": ms, "every": s,
//	 "stats": {the module's stats answer, "storage" included},
//	 "history": [[ms, persons, machines, urls, accesses, person_urls, machine_urls], ...],
//	 "storage": {"files": [{"name", "size", "modified": ms}], "disk_bytes", "log_bytes",
//	             "snapshot", "last_save": ms, "log_records", "save_error", "write_error"},
//	 "top": [{"machine_guid", "usages", "first", "last", "urls", "url"}, ...],
//	 "check": {the module's check report}}          (only with ?check=1: it reads every file)
//
// history holds a sample every overviewEvery while the server runs (a day of them), and the
// counts now as its last point. Like /api/v1/registry/stats it answers only addresses the
// registry allows.
const (
	overviewEvery = time.Minute
	overviewKeep  = 24 * 60
	overviewTop   = "10"
)

// overview keeps the server's history of counts.
type overview struct {
	reg     backend
	allow   allowList
	dir     string // the data directory, "" when the backend has none
	started time.Time
	now     func() time.Time

	mu   sync.Mutex
	ring []sample // the last overviewKeep samples, oldest first once full
	next int      // where the next sample goes once the ring is full
}

// sample is one point of the history: unix ms, then the counters.
type sample [7]uint64

// moduleStats is what the overview reads of the module's stats answer.
type moduleStats struct {
	Persons     uint64 `json:"persons"`
	Machines    uint64 `json:"machines"`
	URLs        uint64 `json:"urls"`
	Accesses    uint64 `json:"accesses"`
	PersonURLs  uint64 `json:"person_urls"`
	MachineURLs uint64 `json:"machine_urls"`
	Storage     struct {
		Snapshot   string `json:"snapshot"`
		LastSave   int64  `json:"last_save"`
		LogRecords uint64 `json:"log_records"`
		SaveError  string `json:"save_error"`
		WriteError string `json:"write_error"`
	} `json:"storage"`
}

// overviews holds one overview per server: handler() may be called more than once (tests call
// it per request) and the history must not start over each time.
var overviews sync.Map // *server -> *overview

// overview returns the server's overview handler, sampling from the first call until the
// server shuts down.
func (s *server) overview() *overview {
	if o, ok := overviews.Load(s); ok {
		return o.(*overview)
	}
	o := newOverview(s.reg, s.api.allow)
	if got, loaded := overviews.LoadOrStore(s, o); loaded {
		return got.(*overview)
	}
	ctx, stop := context.WithCancel(context.Background())
	s.http.RegisterOnShutdown(func() {
		stop()
		overviews.Delete(s)
	})
	go o.sampleEvery(ctx, overviewEvery)
	return o
}

func newOverview(reg backend, allow allowList) *overview {
	o := &overview{reg: reg, allow: allow, started: time.Now(), now: time.Now}
	if d, ok := reg.(interface{ dataDir() string }); ok {
		o.dir = d.dataDir()
	}
	return o
}

// dataDir is the directory the registry's files are in.
func (m *moduleRegistry) dataDir() string { return m.reg.Dir() }

// sampleEvery records a sample now and every interval until ctx is done.
func (o *overview) sampleEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if st, err := o.stats(ctx); err == nil {
			o.record(o.point(st))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stats asks the module for its counters; the raw answer is returned too.
func (o *overview) stats(ctx context.Context) (moduleStats, error) {
	var st moduleStats
	ans, err := o.reg.do(ctx, action{op: host.OpStats})
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(ans.body, &st); err != nil {
		return st, err
	}
	return st, nil
}

func (o *overview) point(st moduleStats) sample {
	return sample{uint64(o.now().UnixMilli()), st.Persons, st.Machines, st.URLs, st.Accesses, st.PersonURLs, st.MachineURLs}
}

// record adds a sample to the ring.
func (o *overview) record(p sample) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.ring) < overviewKeep {
		o.ring = append(o.ring, p)
		return
	}
	o.ring[o.next] = p
	o.next = (o.next + 1) % overviewKeep
}

// history is the ring oldest first.
func (o *overview) history() []sample {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]sample, 0, len(o.ring)+1)
	out = append(out, o.ring[o.next:]...)
	return append(out, o.ring[:o.next]...)
}

type overviewFile struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	Modified int64  `json:"modified"`
}

type overviewStorage struct {
	Files      []overviewFile `json:"files"`
	DiskBytes  int64          `json:"disk_bytes"`
	LogBytes   int64          `json:"log_bytes"`
	Snapshot   string         `json:"snapshot"`
	LastSave   int64          `json:"last_save"` // unix ms, 0: none known
	LogRecords uint64         `json:"log_records"`
	SaveError  string         `json:"save_error"`
	WriteError string         `json:"write_error"` // writes stopped after a failed one
}

type overviewAnswer struct {
	Now     int64           `json:"now"`
	Started int64           `json:"started"`
	Every   int64           `json:"every"`
	Stats   json.RawMessage `json:"stats"`
	History []sample        `json:"history"`
	Storage overviewStorage `json:"storage"`
	Top     json.RawMessage `json:"top"`
	Check   json.RawMessage `json:"check,omitempty"`
}

func (o *overview) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	noCache(w.Header())
	if !allowedMethod(w, r) {
		return
	}
	if !o.allow.allows(r.RemoteAddr) {
		http.Error(w, "You are not allowed to access this resource.", http.StatusForbidden)
		return
	}
	ans, err := o.answer(r.Context(), r.URL.Query().Get("check") == "1")
	if err != nil {
		http.Error(w, "registry failure: "+err.Error(), http.StatusInternalServerError)
		return
	}
	b, _ := json.Marshal(ans)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func (o *overview) answer(ctx context.Context, check bool) (*overviewAnswer, error) {
	raw, err := o.reg.do(ctx, action{op: host.OpStats})
	if err != nil {
		return nil, err
	}
	var st moduleStats
	if err := json.Unmarshal(raw.body, &st); err != nil {
		return nil, err
	}
	top, err := o.reg.do(ctx, action{op: host.OpTop, arg: overviewTop})
	if err != nil {
		return nil, err
	}
	var topBody struct {
		Machines json.RawMessage `json:"machines"`
	}
	if err := json.Unmarshal(top.body, &topBody); err != nil || top.status != http.StatusOK {
		topBody.Machines = json.RawMessage("[]")
	}
	ans := &overviewAnswer{
		Now:     o.now().UnixMilli(),
		Started: o.started.UnixMilli(),
		Every:   int64(overviewEvery / time.Second),
		Stats:   raw.body,
		History: append(o.history(), o.point(st)),
		Storage: o.storage(st),
		Top:     topBody.Machines,
	}
	if check {
		c, err := o.reg.do(ctx, action{op: host.OpCheck})
		if err != nil {
			return nil, err
		}
		ans.Check = c.body
	}
	return ans, nil
}

// storage describes the data directory's files with the module's view of them.
func (o *overview) storage(st moduleStats) overviewStorage {
	s := overviewStorage{Files: []overviewFile{}, Snapshot: st.Storage.Snapshot, LogRecords: st.Storage.LogRecords,
		SaveError: st.Storage.SaveError, WriteError: st.Storage.WriteError}
	if st.Storage.LastSave > 0 {
		s.LastSave = st.Storage.LastSave * 1000
	}
	if o.dir == "" {
		return s
	}
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		s.SaveError = strings.TrimSpace(s.SaveError + " reading the directory: " + err.Error())
		return s
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !e.Type().IsRegular() || e.Name() == host.LockName {
			continue
		}
		s.Files = append(s.Files, overviewFile{Name: e.Name(), Size: info.Size(), Modified: info.ModTime().UnixMilli()})
		s.DiskBytes += info.Size()
		if strings.HasPrefix(e.Name(), "registry.log") {
			s.LogBytes += info.Size()
		}
	}
	return s
}
