package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// stats reads the registry's counters.
func stats(t *testing.T, reg *moduleRegistry) (persons, machines, machineURLs, accesses uint64) {
	t.Helper()
	st, err := reg.reg.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st.Persons, st.Machines, st.MachineURLs, st.Accesses
}

// TestCookieCheckRecordsTheMachine: like netdata since it keeps every machine GUID and URL
// even when no cookie can be set, the cookie-check redirect creates the machine and counts
// the URL on it, linking no person: search usages, search results and switch see it.
func TestCookieCheckRecordsTheMachine(t *testing.T) {
	s, reg := testServer(t, nil)
	const cookieless = "http://cookieless:19999/"
	w := call(t, s, "GET", registryURL("access", "machine", machineA, "url", cookieless, "name", "a"))
	if b := expectStatus(t, w, 200, "redirect"); b.PersonGUID != dummyPerson {
		t.Fatalf("redirect %s", w.Body.String())
	}
	if p, m, mu, a := stats(t, reg); p != 0 || m != 1 || mu != 1 || a != 1 {
		t.Fatalf("after the redirect: persons %d machines %d machine URLs %d accesses %d; want 0 1 1 1", p, m, mu, a)
	}
	person := newPerson(t, s, machineA, urlA)
	w = call(t, s, "GET", registryURL("search", "machine", machineA, "url", urlA, "for", machineA), "Cookie", cookieName+"="+person)
	b := expectStatus(t, w, 200, "ok")
	if len(b.URLs) != 2 || b.URLs[0][1] != urlA || b.URLs[1][1] != cookieless || b.URLs[1][3] != float64(1) {
		t.Fatalf("search %s: want %s (newest) and the cookie-less URL", w.Body.String(), urlA)
	}
	if b.URLs[0][3] != float64(1) {
		t.Fatalf("search usages of %s: %v, want 1 (the redirect's access was a new person's)", urlA, b.URLs[0][3])
	}
	// switch on a machine only a redirect saw: 433 (the person never used it), not 432.
	call(t, s, "GET", registryURL("access", "machine", machineC, "url", urlC, "name", "c"))
	other := newPerson(t, s, machineB, urlB)
	w = call(t, s, "GET", registryURL("switch", "machine", machineC, "url", urlC, "to", person), "Cookie", cookieName+"="+other)
	if w.Code != 433 {
		t.Fatalf("switch on a machine only a redirect saw: %d %s, want 433", w.Code, w.Body.String())
	}
}

// TestURLValidatedBeforeRedirectAndTrimming: netdata refuses a URL not starting with 'h' or
// '*', as sent, before the cookie check: 400, nothing recorded, no cookie.
func TestURLValidatedBeforeRedirectAndTrimming(t *testing.T) {
	s, reg := testServer(t, nil)
	for _, target := range []string{
		registryURL("access", "machine", machineA, "url", "ftp://x/", "name", "a"),
		"/api/v1/registry?action=access&machine=" + machineA + "&url=%20http://a.example/&name=a",
		"/api/v1/registry?action=access&machine=" + machineA + "&url=+http://a.example/&name=a",
	} {
		for _, cookie := range []string{"", dummyPerson} {
			var h []string
			if cookie != "" {
				h = []string{"Cookie", cookieName + "=" + cookie}
			}
			w := call(t, s, "GET", target, h...)
			b := expectStatus(t, w, 400, "failed")
			if !strings.Contains(b.Error, "nvalid URL given in the request") || len(w.Header().Values("Set-Cookie")) != 0 {
				t.Fatalf("%s (cookie %q): %s %q", target, cookie, w.Body.String(), w.Header().Values("Set-Cookie"))
			}
		}
	}
	if p, m, mu, a := stats(t, reg); p+m+mu+a != 0 {
		t.Fatalf("refused accesses recorded: %d %d %d %d", p, m, mu, a)
	}
}

// TestMalformedMachineIs400: the client's error, with the reason, with and without a cookie.
func TestMalformedMachineIs400(t *testing.T) {
	s, _ := testServer(t, nil)
	person := newPerson(t, s, machineA, urlA)
	for _, cookie := range []string{"", person} {
		var h []string
		if cookie != "" {
			h = []string{"Cookie", cookieName + "=" + cookie}
		}
		w := call(t, s, "GET", registryURL("access", "machine", "not-a-guid", "url", urlA, "name", "a"), h...)
		if b := expectStatus(t, w, 400, "failed"); !strings.Contains(b.Error, "machine GUID") {
			t.Fatalf("cookie %q: %s", cookie, w.Body.String())
		}
	}
}

// TestContentTypeIsNetdatas: every answer of the API, the module's and the server's own.
func TestContentTypeIsNetdatas(t *testing.T) {
	s, _ := testServer(t, nil)
	person := newPerson(t, s, machineA, urlA)
	for _, target := range []string{
		registryURL("hello"),
		registryURL("access", "machine", machineA, "url", urlA, "name", "a"),
		registryURL("search", "machine", machineA, "url", urlA, "for", machineA),
		registryURL("nothing"),
		"/api/v1/registry/stats",
	} {
		for _, cookie := range []string{"", person} {
			w := call(t, s, "GET", target, "Cookie", cookieName+"="+cookie)
			if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Fatalf("%s: Content-Type %q", target, ct)
			}
		}
	}
}

// TestBearerIsNotAnIdentity: netdata takes a person from Authorization only for bearer
// tokens it issued and verified; regwasm issues none, so the header is no identity.
func TestBearerIsNotAnIdentity(t *testing.T) {
	s, _ := testServer(t, nil)
	p := newPerson(t, s, machineA, urlA)
	w := call(t, s, "GET", registryURL("access", "machine", machineB, "url", urlB, "name", "b"), "Authorization", "Bearer "+p)
	if b := expectStatus(t, w, 200, "redirect"); b.PersonGUID != dummyPerson {
		t.Fatalf("access with a bearer token and no cookie: %s", w.Body.String())
	}
}

// TestBodiesAreValidUTF8: invalid UTF-8 in a URL or a name never reaches an answer.
func TestBodiesAreValidUTF8(t *testing.T) {
	s, _ := testServer(t, nil)
	p := newPerson(t, s, machineA, urlA)
	w := call(t, s, "GET", "/api/v1/registry?action=access&machine="+machineB+"&url=http://b/%FF%FE&name=n%C3%28", "Cookie", cookieName+"="+p)
	b := expectStatus(t, w, 200, "ok")
	if !utf8.Valid(w.Body.Bytes()) || b.URLs[0][1] != "http://b/\ufffd\ufffd" || b.URLs[0][4] != "n\ufffd(" {
		t.Fatalf("body %q", w.Body.String())
	}
	w = call(t, s, "GET", registryURL("search", "machine", machineB, "url", urlA, "for", machineB), "Cookie", cookieName+"="+p)
	if !utf8.Valid(w.Body.Bytes()) {
		t.Fatalf("search body %q", w.Body.String())
	}
}

// TestCookieExpiresNeverOverflows: a huge "registry expire idle persons" is clamped (by the
// module) and the cookie's Expires is in the future whatever the setting.
func TestCookieExpiresNeverOverflows(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, days := range []int64{106_752, 1 << 40, -5} {
		h := http.Header{}
		cookiePolicy{expireDays: days}.set(h, dummyPerson, now)
		_, exp, _ := strings.Cut(h.Get("Set-Cookie"), "Expires=")
		when, err := time.Parse(http.TimeFormat, exp)
		if err != nil || !when.After(now) || when.Year() > 2126 {
			t.Fatalf("expire %d days: Expires=%s (%v)", days, exp, err)
		}
	}
	s, _ := testServer(t, nil)
	s.api.now = func() time.Time { return now }
	w := call(t, s, "GET", registryURL("access", "machine", machineA, "url", urlA, "name", "a"))
	if c := w.Header().Get("Set-Cookie"); !strings.Contains(c, "Expires=Fri, 01 Jan 2027") {
		t.Fatalf("default cookie %q", c)
	}
}

// request sends target with the given Host and headers.
func request(s *server, host, target string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	r.RemoteAddr, r.Host = "127.0.0.1:40000", host
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return serve(s, r)
}

// TestAnnouncesItself: without "registry to announce" the server announces the scheme and
// host the request reached (behind a proxy: X-Forwarded-Proto and X-Forwarded-Host), in hello,
// the cookie-check redirect and a disabled registry's answers; an explicit setting wins.
func TestAnnouncesItself(t *testing.T) {
	s, _ := testServer(t, nil)
	hello := func(host string, headers ...string) string {
		t.Helper()
		w := request(s, host, registryURL("hello"), headers...)
		return expectStatus(t, w, 200, "ok").Registry
	}
	for _, c := range []struct {
		host    string
		headers []string
		want    string
	}{
		{"registry.example:19999", nil, "http://registry.example:19999"},
		{"10.0.0.1:19999", nil, "http://10.0.0.1:19999"},
		{"[::1]:19999", nil, "http://[::1]:19999"},
		{"127.0.0.1:19999", []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "registry.example"}, "https://registry.example"},
		{"127.0.0.1:19999", []string{"X-Forwarded-Proto", "https, http", "X-Forwarded-Host", "a.example:8443, b.example"}, "https://a.example:8443"},
		{"127.0.0.1:19999", []string{"X-Forwarded-Proto", "gopher", "X-Forwarded-Host", "evil.example/path"}, "http://127.0.0.1:19999"},
		{"127.0.0.1:19999", []string{"X-Forwarded-Host", "a b"}, "http://127.0.0.1:19999"},
	} {
		if got := hello(c.host, c.headers...); got != c.want {
			t.Errorf("Host %s %q: announces %q, want %q", c.host, c.headers, got, c.want)
		}
	}
	w := request(s, "registry.example:19999", registryURL("access", "machine", machineA, "url", urlA, "name", "a"))
	if b := expectStatus(t, w, 200, "redirect"); b.Registry != "http://registry.example:19999" {
		t.Fatalf("redirect announces %q", b.Registry)
	}
	disabled, _ := testServer(t, func(s *serverSettings) { s.Enabled = false })
	w = request(disabled, "registry.example:19999", registryURL("search", "for", machineA))
	if b := expectStatus(t, w, 200, "disabled"); b.Registry != "http://registry.example:19999" {
		t.Fatalf("disabled answer announces %q", b.Registry)
	}
	explicit, _ := testServer(t, func(s *serverSettings) { s.Announce = "https://registry.my.example" })
	w = request(explicit, "other.example", registryURL("hello"), "X-Forwarded-Host", "x.example")
	if b := expectStatus(t, w, 200, "ok"); b.Registry != "https://registry.my.example" {
		t.Fatalf("explicit setting: announces %q", b.Registry)
	}
}
