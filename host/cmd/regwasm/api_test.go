package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHelloAnswersModuleSettings(t *testing.T) {
	s, reg := testServer(t, nil)
	w := call(t, s, "GET", registryURL("hello"))
	b := expectStatus(t, w, 200, "ok")
	if b.Action != "hello" || b.Registry != "http://example.com" || b.Hostname == "" { // itself (httptest's Host)
		t.Fatalf("hello %s", w.Body.String())
	}
	// The server's settings are the module's: the same machine GUID as the module answers.
	conf, err := reg.settings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(conf, &m); err != nil {
		t.Fatal(err)
	}
	if b.MachineGUID == "" || b.MachineGUID != m["machine guid"] || s.api.set.MachineGUID != b.MachineGUID {
		t.Fatalf("hello machine_guid %q, config %v, server %q", b.MachineGUID, m["machine guid"], s.api.set.MachineGUID)
	}
	if !s.api.set.VerifyCookies || !s.api.set.SameSiteSecure || s.api.set.AllowFrom != "*" || s.api.set.ExpireDays != 365 {
		t.Fatalf("netdata's defaults expected, got %+v", s.api.set)
	}
	if len(w.Header().Values("Set-Cookie")) != 0 {
		t.Fatal("hello must not set a cookie")
	}
}

// TestRedirectFlow follows netdata's cookie check: an access without identity gets the dummy
// person and status "redirect", no person is recorded (the machine is: see
// TestCookieCheckRecordsTheMachine), and the dummy cookie coming back makes a new person.
func TestRedirectFlow(t *testing.T) {
	s, reg := testServer(t, nil)
	w := call(t, s, "GET", registryURL("access", "machine", machineA, "url", urlA, "name", "a"))
	b := expectStatus(t, w, 200, "redirect")
	if b.PersonGUID != dummyPerson || b.Registry == "" || b.Action != "access" || b.MachineGUID == "" {
		t.Fatalf("redirect body %s", w.Body.String())
	}
	cookies := w.Header().Values("Set-Cookie")
	if len(cookies) != 3 || !strings.HasPrefix(cookies[0], cookieName+"="+dummyPerson+"; Expires=") {
		t.Fatalf("redirect cookies %q", cookies)
	}
	st, err := reg.reg.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Persons != 0 || st.PersonURLs != 0 {
		t.Fatalf("the redirect recorded a person: %+v", st)
	}
	person := newPerson(t, s, machineA, urlA)
	w = access(t, s, person, machineA, urlA)
	b = expectStatus(t, w, 200, "ok")
	if b.PersonGUID != person || len(b.URLs) != 1 || b.URLs[0][3].(float64) != 2 { // the person's usages
		t.Fatalf("second access %s", w.Body.String())
	}
	// The dummy never became a person: switching to it is refused.
	w = call(t, s, "GET", registryURL("switch", "machine", machineA, "url", urlA, "to", dummyPerson), "Cookie", cookieName+"="+person)
	if w.Code != 431 {
		t.Fatalf("switch to the dummy person: %d %s", w.Code, w.Body.String())
	}
}

func TestVerifyCookiesOffMakesPersonAtOnce(t *testing.T) {
	s, _ := testServer(t, func(s *serverSettings) { s.VerifyCookies = false })
	w := call(t, s, "GET", registryURL("access", "machine", machineA, "url", urlA, "name", "a"))
	b := expectStatus(t, w, 200, "ok")
	if b.PersonGUID == "" || b.PersonGUID == dummyPerson {
		t.Fatalf("access %s", w.Body.String())
	}
}

func TestCookieVariants(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	const g = "01a2b3c4-0000-7000-8000-000000000001"
	tests := []struct {
		name   string
		policy cookiePolicy
		want   []string
	}{
		{"plain only", cookiePolicy{expireDays: 365}, []string{
			"netdata_registry_id=" + g + "; Expires=Thu, 04 Mar 2027 05:06:07 GMT",
		}},
		{"SameSite", cookiePolicy{expireDays: 1, sameSiteSecure: true}, []string{
			"netdata_registry_id=" + g + "; Expires=Thu, 05 Mar 2026 05:06:07 GMT",
			"netdata_registry_id=" + g + "; Expires=Thu, 05 Mar 2026 05:06:07 GMT; SameSite=Strict",
			"netdata_registry_id=" + g + "; Expires=Thu, 05 Mar 2026 05:06:07 GMT; SameSite=None; Secure",
		}},
		{"SameSite and domain", cookiePolicy{expireDays: 1, sameSiteSecure: true, domain: "my-netdata.io"}, []string{
			"netdata_registry_id=" + g + "; Expires=Thu, 05 Mar 2026 05:06:07 GMT",
			"netdata_registry_id=" + g + "; Expires=Thu, 05 Mar 2026 05:06:07 GMT; SameSite=Strict",
			"netdata_registry_id=" + g + "; Expires=Thu, 05 Mar 2026 05:06:07 GMT; SameSite=None; Secure",
			"netdata_registry_id=" + g + "; Expires=Thu, 05 Mar 2026 05:06:07 GMT; Domain=my-netdata.io",
			"netdata_registry_id=" + g + "; Expires=Thu, 05 Mar 2026 05:06:07 GMT; Domain=my-netdata.io; SameSite=Strict",
			"netdata_registry_id=" + g + "; Expires=Thu, 05 Mar 2026 05:06:07 GMT; Domain=my-netdata.io; SameSite=None; Secure",
		}},
		{"domain only", cookiePolicy{expireDays: 2, domain: ".example.com"}, []string{
			"netdata_registry_id=" + g + "; Expires=Fri, 06 Mar 2026 05:06:07 GMT",
			"netdata_registry_id=" + g + "; Expires=Fri, 06 Mar 2026 05:06:07 GMT; Domain=.example.com",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			tt.policy.set(h, g, now)
			got := h.Values("Set-Cookie")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestCookiesFromSettings checks that the server applies the cookie settings and sets the
// cookie on access and switch only.
func TestCookiesFromSettings(t *testing.T) {
	s, _ := testServer(t, func(s *serverSettings) {
		s.Domain, s.ExpireDays = "registry.example", 10
	})
	s.api.now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	p1 := newPerson(t, s, machineA, urlA)
	w := access(t, s, p1, machineA, urlA)
	cookies := w.Header().Values("Set-Cookie")
	if len(cookies) != 6 || cookies[3] != cookieName+"="+p1+"; Expires=Sun, 11 Jan 2026 00:00:00 GMT; Domain=registry.example" {
		t.Fatalf("cookies %q", cookies)
	}
	// A domain that would smuggle in attributes is not used.
	bad, _ := testServer(t, func(s *serverSettings) { s.Domain = "x; Secure=no" })
	w = access(t, bad, newPerson(t, bad, machineA, urlA), machineA, urlA)
	for _, c := range w.Header().Values("Set-Cookie") {
		if strings.Contains(c, "Domain") {
			t.Fatalf("unsafe domain used: %q", c)
		}
	}
	// Delete and search answer without a cookie.
	w = call(t, s, "GET", registryURL("search", "machine", machineA, "url", urlA, "for", machineA), "Cookie", cookieName+"="+p1)
	expectStatus(t, w, 200, "ok")
	if len(w.Header().Values("Set-Cookie")) != 0 {
		t.Fatal("search set a cookie")
	}
}

// TestFirstCookieCounts: only the first netdata_registry_id cookie is the person.
func TestFirstCookieCounts(t *testing.T) {
	s, _ := testServer(t, nil)
	p := newPerson(t, s, machineA, urlA)
	q := newPerson(t, s, machineC, urlC)
	w := call(t, s, "GET", registryURL("access", "machine", machineC, "url", urlC, "name", "c"),
		"Cookie", "other=1; "+cookieName+"="+q+"; "+cookieName+"="+p)
	if b := expectStatus(t, w, 200, "ok"); b.PersonGUID != q {
		t.Fatalf("cookie person %q, want %q", b.PersonGUID, q)
	}
}

// TestStatuses covers every action's success and netdata's refusals.
func TestStatuses(t *testing.T) {
	s, _ := testServer(t, nil)
	p1 := newPerson(t, s, machineA, urlA)
	p2 := newPerson(t, s, machineB, urlB)
	expectStatus(t, access(t, s, p1, machineB, urlB), 200, "ok")
	cookie := func(p string) []string { return []string{"Cookie", cookieName + "=" + p} }
	tests := []struct {
		name   string
		target string
		person string
		code   int
		status string
	}{
		{"search ok", registryURL("search", "machine", machineA, "url", urlA, "for", machineB), p1, 200, "ok"},
		{"search never accessed", registryURL("search", "machine", machineB, "url", urlB, "for", machineA), p2, 404, "failed"},
		{"search unknown machine", registryURL("search", "machine", machineA, "url", urlA, "for", machineC), p1, 404, "failed"},
		{"search without person", registryURL("search", "machine", machineA, "url", urlA, "for", machineA), "", 400, "failed"},
		{"switch unknown person", registryURL("switch", "machine", machineB, "url", urlB, "to", p2), "01a2b3c4-0000-7000-8000-0000000000ff", 430, "failed"},
		{"switch unknown target", registryURL("switch", "machine", machineB, "url", urlB, "to", "01a2b3c4-0000-7000-8000-0000000000ff"), p1, 431, "failed"},
		{"switch unknown machine", registryURL("switch", "machine", machineC, "url", urlC, "to", p2), p1, 432, "failed"},
		{"switch old never accessed", registryURL("switch", "machine", machineA, "url", urlA, "to", p1), p2, 433, "failed"},
		{"switch target never accessed", registryURL("switch", "machine", machineA, "url", urlA, "to", p2), p1, 434, "failed"},
		{"switch ok", registryURL("switch", "machine", machineB, "url", urlB, "to", p2), p1, 200, "ok"},
		{"access bad machine", registryURL("access", "machine", "not-a-guid", "url", urlA, "name", "x"), p1, 400, "failed"},
		{"access bad url", registryURL("access", "machine", machineA, "url", "ftp://x/", "name", "x"), p1, 400, "failed"},
		{"delete unknown url", registryURL("delete", "machine", machineA, "url", urlA, "delete_url", "http://nowhere/"), p1, 400, "failed"},
		{"delete ok", registryURL("delete", "machine", machineA, "url", urlA, "delete_url", urlB), p1, 200, "ok"},
		{"delete again", registryURL("delete", "machine", machineA, "url", urlA, "delete_url", urlB), p1, 400, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.person != "" {
				h = cookie(tt.person)
			}
			w := call(t, s, "GET", tt.target, h...)
			b := expectStatus(t, w, tt.code, tt.status)
			if tt.name == "switch ok" {
				if b.PersonGUID != p2 || len(w.Header().Values("Set-Cookie")) != 3 ||
					!strings.HasPrefix(w.Header().Get("Set-Cookie"), cookieName+"="+p2+";") {
					t.Fatalf("switch answer %s, cookies %q", w.Body.String(), w.Header().Values("Set-Cookie"))
				}
			}
			if tt.name == "search ok" && urlsOf(b)[machineB] != urlB {
				t.Fatalf("search urls %s", w.Body.String())
			}
		})
	}
	// After the delete, p1 sees only urlA.
	b := expectStatus(t, access(t, s, p1, machineA, urlA), 200, "ok")
	if u := urlsOf(b); len(u) != 1 || u[machineA] != urlA {
		t.Fatalf("after delete: %s", b.URLs)
	}
}

func TestMissingParameters(t *testing.T) {
	s, _ := testServer(t, func(s *serverSettings) { s.VerifyCookies = false })
	full := map[string][]string{
		"access": {"machine", machineA, "url", urlA, "name", "a"},
		"delete": {"machine", machineA, "url", urlA, "delete_url", urlA},
		"search": {"for", machineA},
		"switch": {"machine", machineA, "url", urlA, "to", machineA},
	}
	for action, kv := range full {
		for i := 0; i < len(kv); i += 2 {
			for _, empty := range []bool{false, true} {
				var args []string
				for j := 0; j < len(kv); j += 2 {
					if j != i {
						args = append(args, kv[j], kv[j+1])
					} else if empty {
						args = append(args, kv[j], "")
					}
				}
				w := call(t, s, "GET", registryURL(action, args...))
				b := expectStatus(t, w, 400, "failed")
				if b.Action != action || !strings.Contains(b.Error, "Invalid registry") {
					t.Fatalf("%s without %s: %s", action, kv[i], w.Body.String())
				}
			}
		}
	}
	for _, target := range []string{"/api/v1/registry", registryURL("nothing"), registryURL("")} {
		w := call(t, s, "GET", target)
		expectStatus(t, w, 400, "failed")
	}
}

func TestDoNotTrack(t *testing.T) {
	respect, _ := testServer(t, func(s *serverSettings) { s.RespectDNT = true })
	w := call(t, respect, "GET", registryURL("access", "machine", machineA, "url", urlA, "name", "a"), "DNT", "1")
	if b := expectStatus(t, w, 400, "failed"); !strings.Contains(b.Error, "DNT") {
		t.Fatalf("DNT refusal %s", w.Body.String())
	}
	w = call(t, respect, "GET", registryURL("hello"), "DNT", "0")
	expectStatus(t, w, 200, "ok")
	ignore, _ := testServer(t, nil)
	w = call(t, ignore, "GET", registryURL("hello"), "DNT", "1")
	expectStatus(t, w, 200, "ok")
}

func TestAllowFrom(t *testing.T) {
	s, _ := testServer(t, func(s *serverSettings) { s.AllowFrom = "10.* !192.168.1.* 192.168.* ::1" })
	for addr, ok := range map[string]bool{
		"10.1.2.3:555":         true,
		"192.168.1.7:1":        false,
		"192.168.2.7:1":        true,
		"[::1]:80":             true,
		"[::ffff:10.0.0.1]:80": true,
		"127.0.0.1:1":          false,
		"[2001:db8::1]:80":     false,
	} {
		r := httptestRequest("GET", registryURL("hello"), addr)
		w := serve(s, r)
		want := 200
		if !ok {
			want = 403
		}
		if w.Code != want {
			t.Errorf("%s: %d, want %d (%s)", addr, w.Code, want, w.Body.String())
		}
		if r := httptestRequest("GET", "/api/v1/registry/stats", addr); serve(s, r).Code != want {
			t.Errorf("stats from %s: want %d", addr, want)
		}
	}
}

func TestAllowListPatterns(t *testing.T) {
	tests := []struct {
		patterns, ip string
		ok           bool
	}{
		{"*", "1.2.3.4", true},
		{"", "1.2.3.4", true},
		{"   ", "1.2.3.4", true},
		{"1.2.3.4", "1.2.3.4", true},
		{"1.2.3.4", "1.2.3.44", false},
		{"1.2.*", "1.2.3.4", true},
		{"*.4", "1.2.3.4", true},
		{"*2.3*", "1.2.3.4", true},
		{"1*3*4", "1.2.3.4", true},
		{"1*3*5", "1.2.3.4", false},
		{"!1.2.3.4 *", "1.2.3.4", false},
		{"!1.2.3.4 *", "1.2.3.5", true},
		{"10.*|127.0.0.1", "127.0.0.1", true},
		{"**", "x", true},
		{"!*", "1.2.3.4", false},
	}
	for _, tt := range tests {
		if got := parseAllowList(tt.patterns).allows(tt.ip + ":1"); got != tt.ok {
			t.Errorf("allow from %q, client %s: %v, want %v", tt.patterns, tt.ip, got, tt.ok)
		}
	}
}

func TestDisabledRegistry(t *testing.T) {
	s, _ := testServer(t, func(s *serverSettings) { s.Enabled = false })
	for _, a := range []string{"access", "delete", "search", "switch"} {
		w := call(t, s, "GET", registryURL(a, "machine", machineA, "url", urlA, "name", "a", "for", machineA, "delete_url", urlA, "to", machineA))
		if b := expectStatus(t, w, 200, "disabled"); b.Action != a {
			t.Fatalf("disabled %s: %s", a, w.Body.String())
		}
	}
	// Parameters are still checked first, and hello still announces the registry.
	expectStatus(t, call(t, s, "GET", registryURL("access", "machine", machineA)), 400, "failed")
	expectStatus(t, call(t, s, "GET", registryURL("hello")), 200, "ok")
}

func TestCORS(t *testing.T) {
	s, _ := testServer(t, nil)
	w := call(t, s, "GET", registryURL("hello"), "Origin", "https://app.netdata.cloud")
	if w.Header().Get("Access-Control-Allow-Origin") != "https://app.netdata.cloud" ||
		w.Header().Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("CORS headers %v", w.Header())
	}
	w = call(t, s, "GET", registryURL("hello"))
	if w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("no Origin: %v", w.Header())
	}
	w = call(t, s, "OPTIONS", registryURL("access"), "Origin", "http://dash:19999",
		"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "cache-control, pragma")
	h := w.Header()
	if w.Code != 200 || h.Get("Access-Control-Allow-Origin") != "http://dash:19999" ||
		h.Get("Access-Control-Allow-Credentials") != "true" ||
		h.Get("Access-Control-Allow-Methods") != "GET, POST, OPTIONS" ||
		h.Get("Access-Control-Allow-Headers") != "accept, x-requested-with, origin, content-type, cookie, pragma, cache-control, x-auth-token, x-netdata-auth, x-transaction-id" ||
		h.Get("Access-Control-Max-Age") != "1209600" {
		t.Fatalf("preflight %d %v", w.Code, h)
	}
	// The preflight never reaches the registry, and errors carry CORS headers too.
	w = call(t, s, "GET", registryURL("bogus"), "Origin", "http://dash:19999")
	if w.Code != 400 || w.Header().Get("Access-Control-Allow-Origin") != "http://dash:19999" {
		t.Fatalf("error without CORS: %d %v", w.Code, w.Header())
	}
}

func TestBadAndHugeInput(t *testing.T) {
	s, reg := testServer(t, func(s *serverSettings) { s.VerifyCookies = false })
	counter := &countingBackend{servedRegistry: reg}
	s.api.reg = counter
	huge := strings.Repeat("x", 9000)
	for _, target := range []string{
		registryURL("access", "machine", machineA, "url", "http://"+huge, "name", "a"),
		registryURL("access", "machine", machineA, "url", urlA, "name", huge),
		"/api/v1/registry?action=access&machine=%zz",
	} {
		w := call(t, s, "GET", target)
		expectStatus(t, w, 400, "failed")
	}
	if counter.calls != 0 {
		t.Fatalf("%d refused requests reached the module", counter.calls)
	}
	// Long but allowed values are cut by the module to netdata's limits.
	w := call(t, s, "GET", registryURL("access", "machine", machineA, "url", "http://"+strings.Repeat("u", 3000), "name", strings.Repeat("n", 500)))
	b := expectStatus(t, w, 200, "ok")
	if u := b.URLs[0][1].(string); len(u) != 1024 {
		t.Fatalf("URL of %d bytes, want netdata's 1024", len(u))
	}
	if n := b.URLs[0][4].(string); len(n) != 50 {
		t.Fatalf("name of %d bytes, want netdata's 50", len(n))
	}
	if w := call(t, s, "PUT", registryURL("hello")); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", w.Code)
	}
	// Arbitrary bytes in every parameter and the cookie: an answer, never a crash or a 5xx.
	junk := []string{"", "\x00", "\xff\xfe", "*", "h", "ä€𝄞", "\t\n\r ", "'\"<>", strings.Repeat("%", 100), "-1", "11111111-2222-3333-4444-555555555555"}
	for i, v := range junk {
		for _, a := range []string{"access", "delete", "search", "switch", "hello"} {
			w := call(t, s, "GET", registryURL(a, "machine", v, "url", v, "name", v, "delete_url", v, "for", v, "to", v),
				"Cookie", cookieName+"="+junk[(i+1)%len(junk)])
			if w.Code >= 500 {
				t.Fatalf("%s with %q: %d %s", a, v, w.Code, w.Body.String())
			}
			decodeBody(t, w)
		}
	}
}

func TestRegistryFailureIs500(t *testing.T) {
	s, _ := testServer(t, func(s *serverSettings) { s.VerifyCookies = false })
	s.api.reg = &failingBackend{}
	w := call(t, s, "GET", registryURL("access", "machine", machineA, "url", urlA, "name", "a"))
	expectStatus(t, w, 500, "failed")
	w = call(t, s, "GET", "/api/v1/registry/stats")
	expectStatus(t, w, 500, "failed")
}

// TestIsolation: a person sees only their own URLs, searches only machines they accessed,
// and is identified by the cookie alone (a person_guid parameter changes nothing).
func TestIsolation(t *testing.T) {
	s, _ := testServer(t, nil)
	alice := newPerson(t, s, machineA, urlA)
	bob := newPerson(t, s, machineB, urlB)
	b := expectStatus(t, access(t, s, alice, machineA, urlA), 200, "ok")
	if u := urlsOf(b); len(u) != 1 || u[machineA] != urlA {
		t.Fatalf("alice sees %v", b.URLs)
	}
	b = expectStatus(t, access(t, s, bob, machineB, urlB), 200, "ok")
	if u := urlsOf(b); len(u) != 1 || u[machineB] != urlB {
		t.Fatalf("bob sees %v", b.URLs)
	}
	w := call(t, s, "GET", registryURL("search", "machine", machineA, "url", urlA, "for", machineB), "Cookie", cookieName+"="+alice)
	expectStatus(t, w, 404, "failed")
	w = call(t, s, "GET", registryURL("access", "machine", machineC, "url", urlC, "name", "c", "person_guid", bob, "person", bob),
		"Cookie", cookieName+"="+alice)
	b = expectStatus(t, w, 200, "ok")
	if b.PersonGUID != alice || len(urlsOf(b)) != 2 || urlsOf(b)[machineB] != "" {
		t.Fatalf("parameters chose the person: %s", w.Body.String())
	}
	// An unknown cookie is a new person, never the GUID it carries.
	const forged = "01a2b3c4-0000-7000-8000-0000000000aa"
	b = expectStatus(t, access(t, s, forged, machineA, urlA), 200, "ok")
	if b.PersonGUID == forged || b.PersonGUID == "" || len(b.URLs) != 1 {
		t.Fatalf("forged cookie: %+v", b)
	}
}

func TestStatsEndpoint(t *testing.T) {
	s, _ := testServer(t, nil)
	newPerson(t, s, machineA, urlA)
	for _, target := range []string{"/api/v1/registry/stats", registryURL("stats")} {
		w := call(t, s, "GET", target)
		var st struct {
			Persons    uint64 `json:"persons"`
			PersonURLs uint64 `json:"person_urls"`
			Storage    struct {
				Seq uint64 `json:"seq"`
			} `json:"storage"`
		}
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &st) != nil || st.Persons != 1 || st.PersonURLs != 1 || st.Storage.Seq == 0 {
			t.Fatalf("%s: %d %s", target, w.Code, w.Body.String())
		}
	}
}

func TestDashboard(t *testing.T) {
	s, _ := testServer(t, nil)
	w := call(t, s, "GET", "/")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "dashboard is not built") {
		t.Fatalf("built-in page: %d %s", w.Code, w.Body.String())
	}
	if w := call(t, s, "GET", "/nothing.js"); w.Code != 404 {
		t.Fatalf("missing file: %d", w.Code)
	}
	dir := t.TempDir()
	writeFile(t, dir+"/index.html", "<h1>dash</h1>")
	writeFile(t, dir+"/app.js", "console.log(1)")
	s.webDir = dir
	if w := call(t, s, "GET", "/"); w.Code != 200 || !strings.Contains(w.Body.String(), "dash") {
		t.Fatalf("index: %d %s", w.Code, w.Body.String())
	}
	if w := call(t, s, "GET", "/app.js"); w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), "javascript") {
		t.Fatalf("app.js: %d %v", w.Code, w.Header())
	}
	if got, err := findWebDir(dir); got != dir || err != nil {
		t.Fatalf("findWebDir(%q) = %q", dir, got)
	}
}
