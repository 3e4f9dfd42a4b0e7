package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"

	"github.com/regwasm/regwasm/host"
)

// HTTPSaveRun is regwasm serve under load while it saves a large registry (the one test1 left
// on the wazero host): the restart that opened it, then each request's latency, split into
// those that started while the save ran and the others.
type HTTPSaveRun struct {
	Persons        uint64  `json:"persons"`
	RestartSeconds float64 `json:"restart_seconds"` // open of the saved directory: instantiate, load
	LogSync        string  `json:"log_sync"`
	Clients        int     `json:"clients"`
	SaveSeconds    float64 `json:"save_seconds"`
	SaveError      string  `json:"save_error,omitempty"`
	// SaveMemory is how much the process's resident memory rose during the save (its peak,
	// sampled every 20 ms, over the memory just before): the second instance's cost.
	SaveMemory uint64       `json:"save_memory"`
	During     LatencyStats `json:"during_save"`
	Outside    LatencyStats `json:"outside_save"`
}

// LatencyStats summarize request latencies.
type LatencyStats struct {
	Requests  int     `json:"requests"`
	PerSecond float64 `json:"per_second"`
	P50       float64 `json:"p50_seconds"`
	P99       float64 `json:"p99_seconds"`
	P999      float64 `json:"p999_seconds"`
	Max       float64 `json:"max_seconds"`
}

func latencyStats(l []float64, seconds float64) LatencyStats {
	if len(l) == 0 {
		return LatencyStats{}
	}
	slices.Sort(l)
	at := func(q float64) float64 { return l[min(int(q*float64(len(l))), len(l)-1)] }
	return LatencyStats{Requests: len(l), PerSecond: float64(len(l)) / seconds, P50: at(0.5), P99: at(0.99), P999: at(0.999), Max: l[len(l)-1]}
}

// benchHTTPSave opens dir (a registry test1 filled and saved) as regwasm serve does, timing
// the open (a restart), and runs httpClients dashboards against it; after a second it saves,
// and goes on a few seconds after the save ended.
func benchHTTPSave(ctx context.Context, newServer ServerFunc, dir string, persons uint64) (*HTTPSaveRun, error) {
	run := &HTTPSaveRun{Persons: persons, LogSync: "always", Clients: httpClients}
	// The compiled module is in the process already (or its cache): a restart is the open.
	if err := host.Initialize(ctx); err != nil {
		return nil, err
	}
	t0 := time.Now()
	srv, err := newServer(ctx, dir, LogSyncConf(run.LogSync))
	if err != nil {
		return nil, err
	}
	run.RestartSeconds = time.Since(t0).Seconds()
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: httpClients}}
	defer client.CloseIdleConnections()

	type sample struct {
		start time.Time
		took  float64
	}
	var (
		mu       sync.Mutex
		samples  []sample
		firstErr error
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	for c := range httpClients {
		wg.Go(func() {
			person := fmt.Sprintf("00000000-0000-4000-8000-%012d", c+1)
			var mine []sample
			for i := 0; ; i++ {
				select {
				case <-stop:
					mu.Lock()
					samples = append(samples, mine...)
					mu.Unlock()
					return
				default:
				}
				m := (c*7 + i) % httpMachines
				target := fmt.Sprintf("%s/api/v1/registry?action=access&machine=00000000-0000-4000-9000-%012d&url=http://%d.netdata.rocks/&name=agent%d",
					ts.URL, m+1, m+1, m+1)
				start := time.Now()
				p, err := httpAccess(ctx, client, target, person)
				mine = append(mine, sample{start, time.Since(start).Seconds()})
				if err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					samples = append(samples, mine...)
					mu.Unlock()
					return
				}
				person = p
			}
		})
	}
	loadStart := time.Now()
	time.Sleep(time.Second)
	before := currentRSS()
	peak := before
	saved := make(chan error, 1)
	saveStart := time.Now()
	go func() { saved <- srv.Save(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	for wait := true; wait; {
		select {
		case err := <-saved:
			wait = false
			if err != nil {
				run.SaveError = err.Error()
			}
		case <-tick.C:
			peak = max(peak, currentRSS())
		}
	}
	tick.Stop()
	saveEnd := time.Now()
	run.SaveSeconds = saveEnd.Sub(saveStart).Seconds()
	run.SaveMemory = peak - before
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	loadEnd := time.Now()
	if firstErr != nil {
		return nil, firstErr
	}
	var during, outside []float64
	for _, s := range samples {
		if !s.start.Before(saveStart) && s.start.Before(saveEnd) {
			during = append(during, s.took)
		} else {
			outside = append(outside, s.took)
		}
	}
	run.During = latencyStats(during, run.SaveSeconds)
	run.Outside = latencyStats(outside, loadEnd.Sub(loadStart).Seconds()-run.SaveSeconds)
	if run.During.Requests == 0 {
		return nil, fmt.Errorf("no request was answered during the save")
	}
	return run, nil
}
