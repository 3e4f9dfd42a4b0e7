package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// HTTPResult is the HTTP server's throughput: concurrent dashboards calling access.
type HTTPResult struct {
	Runs []HTTPRun `json:"runs"`
}

type HTTPRun struct {
	LogSync    string  `json:"log_sync"`
	Clients    int     `json:"clients"`
	Seconds    float64 `json:"seconds"`
	Requests   int     `json:"requests"`
	PerSecond  float64 `json:"per_second"`
	P50Seconds float64 `json:"p50_seconds"`
	P99Seconds float64 `json:"p99_seconds"`
}

func (h *HTTPResult) summary() string {
	s := ""
	for i, r := range h.Runs {
		if i > 0 {
			s += "; "
		}
		s += fmt.Sprintf("%.0f req/s with log sync = %s (%d clients, p50 %.2f ms, p99 %.2f ms)",
			r.PerSecond, r.LogSync, r.Clients, r.P50Seconds*1e3, r.P99Seconds*1e3)
	}
	return s
}

const (
	httpClients  = 16
	httpDuration = 3 * time.Second
	httpMachines = 20 // each client's dashboard reaches this many agents, so its URL list stays short
)

// benchHTTP measures regwasm serve's handler over loopback: httpClients persons, each calling
// access (netdata's JSON answer with the person's URLs) as fast as it gets answers, for
// httpDuration, once with serve's default "log sync = always" (group commit: one fsync per
// module call) and once with "log sync = save".
// Server is regwasm serve's HTTP handler over a registry directory, for the HTTP benchmark:
// the command's package makes it (ServerFunc), so that this package measures the real server.
type Server interface {
	Handler() http.Handler
	Save(ctx context.Context) error
	Close() error
}

// ServerFunc opens dir (created if missing) as regwasm serve does, with the netdata.conf
// text conf applied, and returns regwasm serve's handler over it.
type ServerFunc func(ctx context.Context, dir, conf string) (Server, error)

func benchHTTP(ctx context.Context, newServer ServerFunc, stdout io.Writer) (*HTTPResult, error) {
	res := &HTTPResult{}
	for _, logSync := range []string{"always", "save", ceilingRun} {
		run, err := benchHTTPRun(ctx, newServer, logSync)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(stdout, "http   log sync = %-6s %10.0f req/s\n", logSync, run.PerSecond)
		res.Runs = append(res.Runs, run)
	}
	return res, nil
}

// ceilingRun is the run against a handler that answers every access with a fixed body, no
// registry: what this machine's loopback, net/http and the clients allow at most.
const ceilingRun = "none (fixed answer)"

// fixedAnswer is ceilingRun's server.
type fixedAnswer struct{}

func (fixedAnswer) Handler() http.Handler {
	body := []byte(`{"action":"access","status":"ok","hostname":"regwasm","machine_guid":"00000000-0000-4000-8000-000000000000","person_guid":"00000000-0000-4000-8000-000000000001","urls":[]}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
}
func (fixedAnswer) Save(context.Context) error { return nil }
func (fixedAnswer) Close() error               { return nil }

func benchHTTPRun(ctx context.Context, newServer ServerFunc, logSync string) (HTTPRun, error) {
	run := HTTPRun{LogSync: logSync, Clients: httpClients}
	if logSync == ceilingRun {
		newServer = func(context.Context, string, string) (Server, error) { return fixedAnswer{}, nil }
	}
	tmp, err := os.MkdirTemp("", "regwasm-bench-http-")
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(tmp)
	srv, err := newServer(ctx, tmp, LogSyncConf(logSync))
	if err != nil {
		return run, err
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: httpClients}}
	defer client.CloseIdleConnections()

	var (
		mu        sync.Mutex
		latencies []float64
		firstErr  error
		wg        sync.WaitGroup
	)
	deadline := time.Now().Add(httpDuration)
	t0 := time.Now()
	for c := range httpClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// An unknown person GUID makes a new person (netdata's rule); its answer names it.
			person := fmt.Sprintf("00000000-0000-4000-8000-%012d", c+1)
			var mine []float64
			for i := 0; time.Now().Before(deadline); i++ {
				m := (c*7 + i) % httpMachines
				target := fmt.Sprintf("%s/api/v1/registry?action=access&machine=00000000-0000-4000-9000-%012d&url=http://%d.netdata.rocks/&name=agent%d",
					ts.URL, m+1, m+1, m+1)
				start := time.Now()
				p, err := httpAccess(ctx, client, target, person)
				mine = append(mine, time.Since(start).Seconds())
				if err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
					return
				}
				person = p
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	run.Seconds = time.Since(t0).Seconds()
	if firstErr != nil {
		return run, firstErr
	}
	slices.Sort(latencies)
	run.Requests = len(latencies)
	if run.Requests == 0 {
		return run, fmt.Errorf("no request was answered")
	}
	run.PerSecond = float64(run.Requests) / run.Seconds
	run.P50Seconds = latencies[run.Requests/2]
	run.P99Seconds = latencies[run.Requests*99/100]
	return run, nil
}

// httpAccess sends one access with the person's cookie and returns the person it resolved to.
func httpAccess(ctx context.Context, client *http.Client, target, person string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Cookie", "netdata_registry_id="+person)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Person string `json:"person_guid"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK || body.Status != "ok" || body.Person == "" {
		return "", fmt.Errorf("access: HTTP %d, status %q", resp.StatusCode, body.Status)
	}
	return body.Person, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
