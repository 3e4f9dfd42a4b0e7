package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

type overviewJSON struct {
	Now     int64       `json:"now"`
	Started int64       `json:"started"`
	Every   int64       `json:"every"`
	Stats   moduleStats `json:"stats"`
	History [][]uint64  `json:"history"`
	Storage struct {
		Files []struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		} `json:"files"`
		DiskBytes  int64  `json:"disk_bytes"`
		LogBytes   int64  `json:"log_bytes"`
		Snapshot   string `json:"snapshot"`
		LastSave   int64  `json:"last_save"`
		LogRecords uint64 `json:"log_records"`
		SaveError  string `json:"save_error"`
		WriteError string `json:"write_error"`
	} `json:"storage"`
	Top []struct {
		GUID   string `json:"machine_guid"`
		Usages int    `json:"usages"`
		URL    string `json:"url"`
	} `json:"top"`
	Check *struct {
		Healthy bool `json:"healthy"`
	} `json:"check"`
}

func getOverview(t *testing.T, s *server, query string) overviewJSON {
	t.Helper()
	w := call(t, s, "GET", "/api/v1/registry/overview"+query)
	if w.Code != http.StatusOK {
		t.Fatalf("overview: %d %s", w.Code, w.Body.String())
	}
	var o overviewJSON
	if err := json.Unmarshal(w.Body.Bytes(), &o); err != nil {
		t.Fatalf("overview: %v: %s", err, w.Body.String())
	}
	return o
}

func TestOverview(t *testing.T) {
	s, reg := testServer(t, nil)
	p := newPerson(t, s, machineA, urlA)
	access(t, s, p, machineB, urlB)
	access(t, s, p, machineB, urlB)
	o := getOverview(t, s, "")
	if o.Stats.Persons != 1 || o.Stats.Accesses != 3 {
		t.Fatalf("stats: %+v", o.Stats)
	}
	if len(o.History) < 1 {
		t.Fatal("no history")
	}
	if last := o.History[len(o.History)-1]; len(last) != 7 || last[1] != 1 || last[4] != 3 || int64(last[0]) != o.Now {
		t.Fatalf("the last point is now's counts: %v (now %d)", last, o.Now)
	}
	if len(o.Top) != 2 || o.Top[0].GUID != machineB || o.Top[0].Usages != 2 || o.Top[0].URL != urlB {
		t.Fatalf("top: %+v", o.Top)
	}
	if o.Storage.LogBytes == 0 || o.Storage.DiskBytes < o.Storage.LogBytes || o.Storage.LogRecords == 0 {
		t.Fatalf("storage: %+v", o.Storage)
	}
	if o.Check != nil {
		t.Fatalf("without check=1: %+v", o.Check)
	}
	first := o.Storage.Snapshot
	before := time.Now().Add(-time.Second).UnixMilli()
	if err := reg.save(context.Background()); err != nil {
		t.Fatal(err)
	}
	o = getOverview(t, s, "?check=1")
	if o.Storage.LastSave < before || o.Storage.Snapshot == "" || o.Storage.Snapshot == first {
		t.Fatalf("after a save: %+v", o.Storage)
	}
	names := map[string]bool{}
	for _, f := range o.Storage.Files {
		names[f.Name] = true
	}
	if !names[o.Storage.Snapshot] || names[".lock"] {
		t.Fatalf("files: %+v", o.Storage.Files)
	}
	if o.Check == nil || !o.Check.Healthy {
		t.Fatalf("check=1: %+v", o.Check)
	}
	if first, second := s.overview(), s.overview(); first != second {
		t.Fatal("a second handler() started a second history")
	}
}

func TestOverviewRingKeepsTheLastSamples(t *testing.T) {
	o := newOverview(&failingBackend{}, parseAllowList("*"))
	for i := 0; i < overviewKeep+5; i++ {
		o.record(sample{uint64(i)})
	}
	h := o.history()
	if len(h) != overviewKeep || h[0][0] != 5 || h[len(h)-1][0] != overviewKeep+4 {
		t.Fatalf("ring: %d samples, first %v, last %v", len(h), h[0], h[len(h)-1])
	}
}

func TestOverviewSamplesOverTime(t *testing.T) {
	s, _ := testServer(t, nil)
	o := newOverview(s.reg, s.api.allow)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		o.sampleEvery(ctx, 10*time.Millisecond)
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(o.history()) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if n := len(o.history()); n < 3 {
		t.Fatalf("%d samples", n)
	}
}

func TestOverviewRefusesWhomTheRegistryRefuses(t *testing.T) {
	s, _ := testServer(t, func(set *serverSettings) { set.AllowFrom = "10.*" })
	if w := call(t, s, "GET", "/api/v1/registry/overview"); w.Code != http.StatusForbidden {
		t.Fatalf("from 127.0.0.1: %d", w.Code)
	}
}
