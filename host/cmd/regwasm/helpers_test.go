package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
)

// Machines and URLs of the tests: agents a person reaches.
const (
	machineA = "0a1b2c3d-0000-4000-8000-00000000000a"
	machineB = "0a1b2c3d-0000-4000-8000-00000000000b"
	machineC = "0a1b2c3d-0000-4000-8000-00000000000c"
	urlA     = "http://agent-a:19999/"
	urlB     = "http://agent-b:19999/"
	urlC     = "http://agent-c:19999/"
)

// openTestRegistry opens dir through the module and closes it when the test ends.
func openTestRegistry(t *testing.T, dir string) *moduleRegistry {
	t.Helper()
	reg, err := openRegistry(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.close(context.Background()) })
	return reg
}

// testServer is a server over a fresh registry, its settings read from the module and then
// changed by edit (the module has no op to store settings; the HTTP layer is what is tested).
func testServer(t *testing.T, edit func(*serverSettings)) (*server, *moduleRegistry) {
	t.Helper()
	reg := openTestRegistry(t, t.TempDir())
	return serverOver(t, reg, edit), reg
}

func serverOver(t *testing.T, reg servedRegistry, edit func(*serverSettings)) *server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := newServer(context.Background(), reg, "", log)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		set := s.api.set
		edit(&set)
		s.api = newRegistryAPI(reg, set, log)
	}
	return s
}

// call sends one request to the server's handler. headers are name, value pairs.
func call(t *testing.T, s *server, method, target string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	s.handler().ServeHTTP(w, r)
	return w
}

// registryURL builds /api/v1/registry?action=...&k=v...
func registryURL(action string, kv ...string) string {
	q := url.Values{}
	if action != "" {
		q.Set("action", action)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return "/api/v1/registry?" + q.Encode()
}

// netdataBody is the JSON of a registry answer.
type netdataBody struct {
	Action      string  `json:"action"`
	Status      string  `json:"status"`
	Hostname    string  `json:"hostname"`
	MachineGUID string  `json:"machine_guid"`
	PersonGUID  string  `json:"person_guid"`
	Registry    string  `json:"registry"`
	Error       string  `json:"error"`
	URLs        [][]any `json:"urls"`
}

func decodeBody(t *testing.T, w *httptest.ResponseRecorder) netdataBody {
	t.Helper()
	var b netdataBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("status %d, body %q is not JSON: %v", w.Code, w.Body.String(), err)
	}
	return b
}

// expectStatus fails unless the answer has the HTTP status and netdata status given.
func expectStatus(t *testing.T, w *httptest.ResponseRecorder, code int, status string) netdataBody {
	t.Helper()
	b := decodeBody(t, w)
	if w.Code != code || b.Status != status {
		t.Fatalf("got %d %q, want %d %q; body %s", w.Code, b.Status, code, status, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	return b
}

// urlsOf returns the URL of every entry of an urls list, by machine.
func urlsOf(b netdataBody) map[string]string {
	m := map[string]string{}
	for _, e := range b.URLs {
		m[e[0].(string)] = e[1].(string)
	}
	return m
}

// newPerson makes a person by two accesses, as a browser does: the redirect sets the dummy
// cookie, which comes back with the second.
func newPerson(t *testing.T, s *server, machine, u string) string {
	t.Helper()
	w := call(t, s, "GET", registryURL("access", "machine", machine, "url", u, "name", "agent"),
		"Cookie", cookieName+"="+dummyPerson)
	b := expectStatus(t, w, 200, "ok")
	if b.PersonGUID == "" || b.PersonGUID == dummyPerson {
		t.Fatalf("no new person: %s", w.Body.String())
	}
	return b.PersonGUID
}

func access(t *testing.T, s *server, person, machine, u string) *httptest.ResponseRecorder {
	t.Helper()
	return call(t, s, "GET", registryURL("access", "machine", machine, "url", u, "name", "agent"),
		"Cookie", cookieName+"="+person)
}

// failingBackend answers every action with an error, as a module that lost its storage.
type failingBackend struct{ calls int }

func (f *failingBackend) do(context.Context, action) (answer, error) {
	f.calls++
	return answer{}, io.ErrUnexpectedEOF
}

// countingBackend counts the actions that reach it and passes them on.
type countingBackend struct {
	servedRegistry
	calls int
}

func (c *countingBackend) do(ctx context.Context, a action) (answer, error) {
	c.calls++
	return c.servedRegistry.do(ctx, a)
}

var _ http.Handler = (*registryAPI)(nil)

func httptestRequest(method, target, remoteAddr string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = remoteAddr
	return r
}

func serve(s *server, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.handler().ServeHTTP(w, r)
	return w
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
