package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regwasm/regwasm/host"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and localhost and its key,
// and returns their paths and a pool that trusts it.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "regwasm test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// startServe runs `regwasm serve args...` until the test ends or stop is called, waiting
// until base answers /healthz.
func startServe(t *testing.T, c *http.Client, base string, args ...string) (out *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	code := make(chan int, 1)
	go func() { code <- run(ctx, append([]string{"serve"}, args...), out, out) }()
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		resp, err := c.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case rc := <-code:
			t.Fatalf("serve exited %d\n%s", rc, out.String())
		default:
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("server did not start: %v\n%s", err, out.String())
		}
	}
	rc := -1
	stop = func() int {
		if rc == -1 {
			cancel()
			select {
			case rc = <-code:
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not stop")
			}
		}
		return rc
	}
	t.Cleanup(func() { stop() })
	return out, stop
}

// TestServeAnnouncesAndStops: serve says where it listens, which directory it serves and the
// registry it announces, and when it stops.
func TestServeAnnouncesAndStops(t *testing.T) {
	addr, dir := freeAddr(t), filepath.Join(t.TempDir(), "data")
	c := &http.Client{Timeout: 5 * time.Second}
	out, stop := startServe(t, c, "http://"+addr, "--dir", dir, "--addr", addr, "--save-every", "0")
	for _, want := range []string{"listening on http://" + addr + "/", "data directory " + dir + " (0 persons, 0 machines)",
		"announces itself"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start lacks %q:\n%s", want, out.String())
		}
	}
	if rc := stop(); rc != 0 {
		t.Fatalf("exit %d\n%s", rc, out.String())
	}
	if !strings.Contains(out.String(), "stopped after ") || !strings.Contains(out.String(), "saved") {
		t.Fatalf("no stop line:\n%s", out.String())
	}
}

// TestServeStartErrorsCreateNothing: a busy port, a missing --web directory and a bad TLS
// pair stop the start before the data directory is created.
func TestServeStartErrorsCreateNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	writeFile(t, garbage, "not a certificate\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", busy.Addr().String()}, "address already in use"},
		{[]string{"--addr", "127.0.0.1:0", "--web", filepath.Join(parent, "no-such-dir")}, "--web"},
		{[]string{"--addr", "127.0.0.1:0", "--web", garbage}, "not a directory"},
		{[]string{"--addr", "127.0.0.1:0", "--tls-cert", garbage, "--tls-key", garbage}, "--tls-cert"},
		{[]string{"--addr", "127.0.0.1:0", "--tls-cert", garbage}, "go together"},
	} {
		rc, stdout, stderr := runSplit(t, append([]string{"serve", "--dir", dir}, c.args...)...)
		if rc == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", c.args, rc, stdout, stderr)
		}
		expectEmpty(t, parent)
	}
}

// TestServeTLS: with --tls-cert and --tls-key the registry answers over HTTPS (HTTP/2) and
// sets netdata's cross-site cookie, SameSite=None; Secure.
func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := writeSelfSigned(t, t.TempDir())
	addr := freeAddr(t)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	base := "https://" + addr
	out, _ := startServe(t, c, base, "--dir", t.TempDir(), "--addr", addr, "--save-every", "0",
		"--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.Contains(out.String(), "listening on https://"+addr+"/") {
		t.Fatalf("start:\n%s", out.String())
	}
	req, _ := http.NewRequest("GET", base+registryURL("access", "machine", machineA, "url", urlA, "name", "a"), nil)
	req.Header.Set("Cookie", cookieName+"="+dummyPerson)
	req.Header.Set("Origin", "https://agent.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || !strings.Contains(string(body), `"status":"ok"`) {
		t.Fatalf("%s %d %s", resp.Proto, resp.StatusCode, body)
	}
	cookie := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	if !strings.Contains(cookie, "SameSite=None") || !strings.Contains(cookie, "Secure") {
		t.Fatalf("cookies %q", cookie)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://agent.example" {
		t.Fatalf("CORS origin %q", got)
	}
	// Plain HTTP on the TLS port is refused, not answered in the clear.
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/healthz"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatalf("plain HTTP answered: %s", b)
		}
	}
}

// TestCertReload: a renewed certificate is served without a restart; one that does not
// load keeps the previous.
func TestCertReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := writeSelfSigned(t, dir)
	c, err := loadCertFiles(certFile, keyFile, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	first, _ := c.get(nil)
	writeSelfSigned(t, dir) // renewed: same names, new pair
	os.Chtimes(certFile, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	c.checked = time.Time{}
	second, _ := c.get(nil)
	if second == first || string(second.Certificate[0]) == string(first.Certificate[0]) {
		t.Fatal("the renewed certificate was not loaded")
	}
	writeFile(t, certFile, "broken\n")
	os.Chtimes(certFile, time.Now().Add(2*time.Minute), time.Now().Add(2*time.Minute))
	c.checked = time.Time{}
	if third, _ := c.get(nil); third != second {
		t.Fatal("a broken renewal replaced the certificate")
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// parseProm checks text against the Prometheus text format (0.0.4) strictly enough to catch
// what a scraper rejects: every sample's family has HELP and TYPE lines before it, names
// and label pairs are well formed, values parse, histograms are cumulative and end with
// +Inf equal to _count. It returns the samples by name{labels}.
func parseProm(t *testing.T, text string) map[string]float64 {
	t.Helper()
	sampleRe := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)$`)
	types := map[string]string{}
	helps := map[string]bool{}
	out := map[string]float64{}
	var lastBucket map[string]float64 = map[string]float64{}
	if !strings.HasSuffix(text, "\n") {
		t.Fatal("no final newline")
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			f := strings.SplitN(line, " ", 4)
			if len(f) < 4 || helps[f[2]] {
				t.Fatalf("line %d: bad or repeated HELP: %q", i+1, line)
			}
			helps[f[2]] = true
			continue
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) != 4 || types[f[2]] != "" || !helps[f[2]] {
				t.Fatalf("line %d: bad TYPE (or no HELP before it): %q", i+1, line)
			}
			switch f[3] {
			case "counter", "gauge", "histogram", "summary", "untyped":
			default:
				t.Fatalf("line %d: type %q", i+1, f[3])
			}
			types[f[2]] = f[3]
			continue
		case strings.HasPrefix(line, "#") || line == "":
			t.Fatalf("line %d: %q", i+1, line)
		}
		m := sampleRe.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %d is not a sample: %q", i+1, line)
		}
		v, err := strconv.ParseFloat(strings.Replace(m[3], "Inf", "inf", 1), 64)
		if err != nil {
			t.Fatalf("line %d: value %q", i+1, m[3])
		}
		family := m[1]
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base := strings.TrimSuffix(m[1], suf); base != m[1] && types[base] == "histogram" {
				family = base
			}
		}
		if types[family] == "" {
			t.Fatalf("line %d: sample of %s before its TYPE", i+1, family)
		}
		if strings.HasSuffix(m[1], "_bucket") {
			series := regexp.MustCompile(`,?le="[^"]*"`).ReplaceAllString(m[2], "")
			if series == "{}" {
				series = ""
			}
			if v < lastBucket[family+series] {
				t.Fatalf("line %d: buckets not cumulative", i+1)
			}
			lastBucket[family+series] = v
			if strings.Contains(m[2], `le="+Inf"`) {
				out[family+series+"+Inf"] = v
			}
		}
		if strings.HasSuffix(m[1], "_count") && types[family] == "histogram" {
			if inf, ok := out[family+m[2]+"+Inf"]; !ok || inf != v {
				t.Fatalf("line %d: %s_count %v, +Inf bucket %v", i+1, family, v, inf)
			}
		}
		key := m[1] + m[2]
		if _, dup := out[key]; dup {
			t.Fatalf("line %d: %s twice", i+1, key)
		}
		out[key] = v
	}
	return out
}

func scrape(t *testing.T, s *server) map[string]float64 {
	t.Helper()
	w := call(t, s, "GET", "/metrics")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %v", w.Code, w.Header())
	}
	return parseProm(t, w.Body.String())
}

// TestMetrics: /metrics counts requests by action and status, times them, and reports the
// registry's counters, its files, saves and memory.
func TestMetrics(t *testing.T) {
	s, reg := testServer(t, nil)
	p := newPerson(t, s, machineA, urlA) // an access with the test cookie: a new person
	expectStatus(t, access(t, s, p, machineB, urlB), 200, "ok")
	call(t, s, "GET", registryURL("search", "machine", machineA, "url", urlA, "for", machineC), "Cookie", cookieName+"="+p)
	call(t, s, "GET", registryURL("nonsense"))
	call(t, s, "GET", registryURL("access")) // parameters missing: 400
	call(t, s, "GET", "/api/v1/registry/stats")
	m := scrape(t, s)
	for key, want := range map[string]float64{
		`regwasm_http_requests_total{action="access",code="200"}`:                 2,
		`regwasm_http_requests_total{action="access",code="400"}`:                 1,
		`regwasm_http_requests_total{action="unknown",code="400"}`:                1,
		`regwasm_http_requests_total{action="stats",code="200"}`:                  1,
		`regwasm_http_request_duration_seconds_count{action="access"}`:            3,
		`regwasm_http_request_duration_seconds_bucket{action="access",le="+Inf"}`: 3,
		`regwasm_persons`:                     1,
		`regwasm_machines`:                    2,
		`regwasm_urls`:                        2,
		`regwasm_person_urls`:                 2,
		`regwasm_log_records`:                 2,
		`regwasm_unsaved_changes`:             2,
		`regwasm_saves_total{result="ok"}`:    0,
		`regwasm_module_traps_total`:          0,
		`regwasm_registry_up`:                 1,
		`regwasm_http_requests_in_flight`:     0,
		`regwasm_save_failing`:                0,
		`regwasm_save_duration_seconds_count`: 0,
		`regwasm_http_request_duration_seconds_bucket{action="search",le="+Inf"}`: 1,
	} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	// A new registry starts with an empty snapshot: its save time is the open's.
	if last := m["regwasm_last_save_time_seconds"]; last < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("regwasm_last_save_time_seconds = %v", last)
	}
	for _, key := range []string{"regwasm_log_bytes", "regwasm_module_memory_bytes", "regwasm_go_memory_bytes", "regwasm_table_bytes", "process_resident_memory_bytes"} {
		if m[key] <= 0 {
			t.Errorf("%s = %v", key, m[key])
		}
	}
	// A save: counted, timed, and the log is empty after it.
	if err := s.save(t.Context()); err != nil {
		t.Fatal(err)
	}
	m = scrape(t, s)
	if m[`regwasm_saves_total{result="ok"}`] != 1 || m["regwasm_save_duration_seconds_count"] != 1 ||
		m["regwasm_log_records"] != 0 || m["regwasm_unsaved_changes"] != 0 || m["regwasm_last_save_time_seconds"] < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("after a save: %v", m)
	}
	_ = reg
}

// TestHealthz: 200 while the registry answers; 503 with the reason when it does not.
func TestHealthz(t *testing.T) {
	s, reg := testServer(t, nil)
	w := call(t, s, "GET", "/healthz")
	if w.Code != 200 || w.Body.String() != "ok\n" {
		t.Fatalf("%d %q", w.Code, w.Body.String())
	}
	if w := call(t, s, "HEAD", "/healthz"); w.Code != 200 {
		t.Fatalf("HEAD %d", w.Code)
	}
	if w := call(t, s, "POST", "/healthz"); w.Code != 405 {
		t.Fatalf("POST %d", w.Code)
	}
	// Writes stopped after a failed write: reads go on, accesses do not; the probe says so.
	s.reg = stoppedWrites{s.reg}
	w = call(t, s, "GET", "/healthz")
	if w.Code != 503 || !strings.Contains(w.Body.String(), "writes stopped: disk full") {
		t.Fatalf("writes stopped: %d %q", w.Code, w.Body.String())
	}
	if m := scrape(t, s); m["regwasm_writes_stopped"] != 1 {
		t.Fatalf("regwasm_writes_stopped = %v", m["regwasm_writes_stopped"])
	}
	reg.close(t.Context())
	w = call(t, s, "GET", "/healthz")
	if w.Code != 503 || !strings.Contains(w.Body.String(), "closed") {
		t.Fatalf("closed registry: %d %q", w.Code, w.Body.String())
	}
	if m := scrape(t, s); m["regwasm_registry_up"] != 0 {
		t.Fatalf("up = %v", m["regwasm_registry_up"])
	}
}

// stoppedWrites is a registry whose writes stopped (its stats say why).
type stoppedWrites struct{ servedRegistry }

func (r stoppedWrites) stats(ctx context.Context) (host.Stats, error) {
	st, err := r.servedRegistry.stats(ctx)
	st.Storage.WriteError = "disk full"
	return st, err
}
