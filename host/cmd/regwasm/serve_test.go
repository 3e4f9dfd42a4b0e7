package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/bench"
)

// httpGet sends a request to a live server and decodes the answer.
func httpGet(t *testing.T, c *http.Client, u, cookie string) (int, netdataBody, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookieName+"="+cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var b netdataBody
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatalf("%s: %d %q", u, resp.StatusCode, data)
	}
	return resp.StatusCode, b, resp.Header
}

// startServer runs s.run on a loopback port; stop cancels it and returns run's error.
func startServer(t *testing.T, s *server, saveEvery time.Duration) (base string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx, ln, saveEvery) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				runErr = fmt.Errorf("server did not stop")
			}
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), stop
}

// TestPersistenceAcrossRestart serves a directory, saves on the timer, stops gracefully,
// and serves the same directory again: the person keeps their URLs.
func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	reg, err := openRegistry(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	base, stop := startServer(t, serverOver(t, reg, nil), 50*time.Millisecond)
	c := &http.Client{Timeout: 10 * time.Second}
	acc := func(base, person, machine, u string) (int, netdataBody) {
		code, b, _ := httpGet(t, c, base+registryURL("access", "machine", machine, "url", u, "name", "n"), person)
		return code, b
	}
	code, b := acc(base, dummyPerson, machineA, urlA)
	if code != 200 || b.PersonGUID == "" {
		t.Fatalf("access %d %+v", code, b)
	}
	person := b.PersonGUID
	if code, _ := acc(base, person, machineB, urlB); code != 200 {
		t.Fatalf("access %d", code)
	}
	// The timer saves once changes are pending: wait for the snapshot to hold them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.Get(base + "/api/v1/registry/stats")
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Storage struct {
				Seq     uint64 `json:"seq"`
				Unsaved uint64 `json:"unsaved"`
			} `json:"storage"`
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		if st.Storage.Seq > 0 && st.Storage.Unsaved == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no periodic save: %s", raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(base + "/"); err == nil {
		t.Fatal("still serving after shutdown")
	}
	// The directory is free again (the registry was closed) and holds the last save's
	// snapshot and the one before it (kept until the next save, as redundancy).
	snaps, _ := filepath.Glob(filepath.Join(dir, "registry.db.*"))
	if len(snaps) != 2 {
		t.Fatalf("snapshots %v", snaps)
	}
	reg2 := openTestRegistry(t, dir)
	base2, _ := startServer(t, serverOver(t, reg2, nil), 0)
	code, b = acc(base2, person, machineC, urlC)
	if code != 200 || b.PersonGUID != person {
		t.Fatalf("after restart: %d %+v", code, b)
	}
	if u := urlsOf(b); len(u) != 3 || u[machineA] != urlA || u[machineB] != urlB {
		t.Fatalf("after restart the person has %v", b.URLs)
	}
}

// blockingBackend holds every action until released, to have requests in flight.
type blockingBackend struct {
	servedRegistry
	entered chan struct{}
	release chan struct{}
}

func (b *blockingBackend) do(ctx context.Context, a action) (answer, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.servedRegistry.do(ctx, a)
}

// TestShutdownFinishesRequests: a stop while a request is in flight waits for its answer,
// and only then saves and closes.
func TestShutdownFinishesRequests(t *testing.T) {
	reg, err := openRegistry(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := serverOver(t, reg, func(s *serverSettings) { s.VerifyCookies = false })
	blocking := &blockingBackend{servedRegistry: reg, entered: make(chan struct{}), release: make(chan struct{})}
	s.api.reg = blocking
	base, stop := startServer(t, s, 0)
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + registryURL("access", "machine", machineA, "url", urlA, "name", "a"))
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-blocking.entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("stopped with a request in flight: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(blocking.release)
	if code := <-answered; code != 200 {
		t.Fatalf("in-flight request answered %d", code)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	// The registry was saved and closed: its directory opens again, with the access.
	reg2 := openTestRegistry(t, reg.reg.Dir())
	st, err := reg2.reg.Stats(t.Context())
	if err != nil || st.Accesses != 1 || st.Storage.LogRecords != 0 || st.Storage.Snapshot == "" {
		t.Fatalf("after shutdown: %+v %v", st, err)
	}
}

// TestServeCommand runs `regwasm serve` as a user would, on a free loopback port, and stops
// it the way SIGINT does (the command's context ends).
func TestServeCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir, web := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(web, "index.html"), "<title>regwasm dashboard</title>")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"serve", "--dir", dir, "--addr", addr, "--web", web, "--save-every", "0"}, &out, &out)
	}()
	c := &http.Client{Timeout: 5 * time.Second}
	var resp *http.Response
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if resp, err = c.Get("http://" + addr + "/"); err == nil {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("server did not start: %v\n%s", err, out.String())
		}
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "regwasm dashboard") {
		t.Fatalf("dashboard %q", page)
	}
	st, b, _ := httpGet(t, c, "http://"+addr+registryURL("access", "machine", machineA, "url", urlA, "name", "a"), dummyPerson)
	if st != 200 || b.Status != "ok" {
		t.Fatalf("access %d %+v", st, b)
	}
	// A second server on the same directory is refused: the directory is locked.
	if rc := run(t.Context(), []string{"serve", "--dir", dir, "--addr", "127.0.0.1:0"}, io.Discard, &out); rc != 1 ||
		!strings.Contains(out.String(), "locked") {
		t.Fatalf("second server: exit %d\n%s", rc, out.String())
	}
	cancel()
	select {
	case rc := <-code:
		if rc != 0 {
			t.Fatalf("serve exited %d\n%s", rc, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	// Shutdown saved: the snapshot holds the access, and the log nothing more to replay (a
	// save in the background ends with a record that changes nothing).
	var stats bytes.Buffer
	if rc := run(t.Context(), []string{"stats", "--json", dir}, &stats, &stats); rc != 0 {
		t.Fatalf("stats: %d %s", rc, stats.String())
	}
	var sr struct {
		Stats struct {
			Persons uint64 `json:"persons"`
			Storage struct {
				Snapshot string `json:"snapshot"`
				Unsaved  uint64 `json:"unsaved"`
			} `json:"storage"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(stats.Bytes(), &sr); err != nil || sr.Stats.Persons != 1 || sr.Stats.Storage.Snapshot == "" || sr.Stats.Storage.Unsaved != 0 {
		t.Fatalf("after shutdown: %s (%v)", stats.String(), err)
	}
}

// TestLoopbackLoad drives a live server from 4 clients (2000 requests each, at most 5 s) and
// checks that every answer is right and that memory stays bounded.
func TestLoopbackLoad(t *testing.T) {
	s, reg := testServer(t, nil)
	srv := httptest.NewServer(s.handler())
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	const clients, perClient, machines = 4, 2000, 50
	guids := make([]string, machines)
	for i := range guids {
		guids[i] = fmt.Sprintf("0a1b2c3d-0000-4000-8000-%012x", i)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var done, failed atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(5 * time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			person := dummyPerson
			for i := 0; i < perClient && time.Now().Before(deadline); i++ {
				m := (w*7 + i) % machines
				u := srv.URL + registryURL("access", "machine", guids[m], "url", fmt.Sprintf("http://agent-%d/", m), "name", "load")
				req, _ := http.NewRequest("GET", u, nil)
				req.Header.Set("Cookie", cookieName+"="+person)
				resp, err := c.Do(req)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				var b netdataBody
				err = json.NewDecoder(resp.Body).Decode(&b)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || b.Status != "ok" || (person != dummyPerson && b.PersonGUID != person) {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %+v %v", resp.StatusCode, b, err))
					continue
				}
				person = b.PersonGUID
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d failed requests, first: %v", n, firstErr.Load())
	}
	if done.Load() < clients*100 {
		t.Fatalf("only %d requests in %v", done.Load(), elapsed)
	}
	t.Logf("loopback load: %d requests from %d clients in %v: %.0f req/s", done.Load(), clients, elapsed.Round(time.Millisecond),
		float64(done.Load())/elapsed.Seconds())
	st, err := reg.reg.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Persons != clients || st.Machines != machines || st.Accesses != uint64(done.Load()) {
		t.Fatalf("after the load: %+v, want %d persons, %d machines, %d accesses", st, clients, machines, done.Load())
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 64<<20 {
		t.Fatalf("Go heap grew by %d MiB over the load", grown>>20)
	}
	if rss := bench.PeakRSS(); rss > 1<<30 {
		t.Fatalf("peak RSS %d MiB", rss>>20)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
