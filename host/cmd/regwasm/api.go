package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/regwasm/regwasm/host"
)

// maxRequestURI bounds the request line's target. netdata's URLs are at most 1024 bytes and
// names 50, so a longer request is not a dashboard's: it is refused before the module sees it.
const maxRequestURI = 8 << 10

// action is one registry request for the module: netdata's cookie and parameters.
type action struct {
	op                        host.Op
	machineOnly               bool // access: netdata's cookie-check access, no person
	noNewPerson               bool // access: refused (429) if it would make a person (ratelimit.go)
	person, machine, url, arg string
}

// answer is the module's reply: netdata's HTTP status, the person the action resolved to and
// netdata's JSON body.
type answer struct {
	status int
	person string
	body   []byte
}

// backend runs actions; the server's is the module (see registryBackend), safe for concurrent
// requests.
type backend interface {
	do(ctx context.Context, a action) (answer, error)
}

// registryAPI serves netdata's GET /api/v1/registry?action=hello|access|delete|search|switch.
type registryAPI struct {
	reg     backend
	set     serverSettings
	allow   allowList
	cookies cookiePolicy
	now     func() time.Time
	log     *slog.Logger
}

func newRegistryAPI(reg backend, set serverSettings, log *slog.Logger) *registryAPI {
	a := &registryAPI{reg: reg, set: set, allow: parseAllowList(set.AllowFrom), now: time.Now, log: log,
		cookies: cookiePolicy{expireDays: set.ExpireDays, sameSiteSecure: set.SameSiteSecure}}
	if set.Domain != "" {
		if validCookieDomain(set.Domain) {
			a.cookies.domain = set.Domain
		} else {
			log.Warn("ignoring \"registry domain\": not a host name", "domain", set.Domain)
		}
	}
	return a
}

// The parameters each action needs, as netdata checks them (api_v1_registry.c); the module
// checks the values.
var requiredParams = map[string][]string{
	"access": {"machine", "url", "name"},
	"delete": {"machine", "url", "delete_url"},
	"search": {"for"},
	"switch": {"machine", "url", "to"},
}

var actionOps = map[string]host.Op{
	"hello": host.OpHello, "access": host.OpAccess, "delete": host.OpDelete, "search": host.OpSearch, "switch": host.OpSwitch,
}

// actionArg names the parameter that goes into the module's fourth field.
var actionArg = map[string]string{"access": "name", "delete": "delete_url", "search": "for", "switch": "to"}

var netdataRequestName = map[string]string{
	"access": "Access", "delete": "Delete", "search": "Search", "switch": "Switch",
}

func (a *registryAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	noCache(w.Header())
	if !allowedMethod(w, r) {
		return
	}
	if len(r.RequestURI) > maxRequestURI || len(r.URL.RawQuery) > maxRequestURI {
		a.fail(w, http.StatusBadRequest, "unknown", "request too long")
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		a.fail(w, http.StatusBadRequest, "unknown", "malformed query string")
		return
	}
	name := param(q, "action")
	if name == "stats" {
		// Not netdata's: the counters for the dashboard, also at /api/v1/registry/stats.
		a.serveStats(w, r)
		return
	}
	op, known := actionOps[name]
	if !known {
		name = "unknown" // never echo what the client sent as an action
	}
	if a.set.RespectDNT && hasDoNotTrack(r) {
		a.fail(w, http.StatusBadRequest, name, "Your web browser is sending 'DNT: 1' (Do Not Track). The registry requires persistent cookies on your browser to work.")
		return
	}
	if !a.allow.allows(r.RemoteAddr) {
		a.fail(w, http.StatusForbidden, name, "You are not allowed to access this resource.")
		return
	}
	if !known {
		a.fail(w, http.StatusBadRequest, name, "Invalid registry request - you need to set an action: hello, access, delete, search, switch")
		return
	}
	for _, p := range requiredParams[name] {
		if param(q, p) == "" {
			a.fail(w, http.StatusBadRequest, name, "Invalid registry "+netdataRequestName[name]+" request.")
			return
		}
	}
	if !a.set.Enabled && op != host.OpHello {
		// netdata answers the actions of a disabled registry with 200, status "disabled" and
		// the registry to use; hello still works, so that dashboards learn which one.
		a.writeJSON(w, http.StatusOK, a.announcing(a.header(name, "disabled"), r))
		return
	}
	if op == host.OpHello {
		// Answered here, not by the module: the registry to announce may be this server as
		// the request reached it.
		a.writeJSON(w, http.StatusOK, a.announcing(a.header(name, "ok"), r))
		return
	}
	person := personOf(r)
	// netdata's cookie check: an access without identity records the machine and its URL
	// only (which validates them first), and is answered with a redirect.
	cookieCheck := op == host.OpAccess && a.set.VerifyCookies && person == ""
	if op == host.OpAccess && person == dummyPerson {
		// The browser kept the test cookie: it supports cookies, and is a new person.
		person = ""
	}
	act := action{op: op, machineOnly: cookieCheck, person: person, machine: param(q, "machine"), url: param(q, "url"), arg: param(q, actionArg[name])}
	ans, err := a.reg.do(withClient(r, w), act)
	if err != nil {
		a.log.Error("registry request failed", "action", name, "err", err)
		status, reason := registryFailure(err)
		a.fail(w, status, name, reason)
		return
	}
	if cookieCheck && ans.status == http.StatusOK {
		a.redirect(w, r)
		return
	}
	if ans.status == http.StatusOK && ans.person != "" && (op == host.OpAccess || op == host.OpSwitch) {
		a.cookies.set(w.Header(), ans.person, a.now())
	}
	a.writeRaw(w, ans.status, ans.body)
}

// redirect answers an access without any identity while "verify browser cookies support" is
// on, once the machine and its URL are recorded: the dummy person's cookie and status
// "redirect", so that the dashboard asks again and shows whether the cookie came back.
func (a *registryAPI) redirect(w http.ResponseWriter, r *http.Request) {
	body := a.announcing(a.header("access", "redirect"), r)
	body["person_guid"] = dummyPerson
	a.cookies.set(w.Header(), dummyPerson, a.now())
	a.writeJSON(w, http.StatusOK, body)
}

// announcing adds "registry": the registry to announce, "registry to announce" or, when that
// is not set, this server as the request reached it (selfURL).
func (a *registryAPI) announcing(body jsonHeader, r *http.Request) jsonHeader {
	body["registry"] = a.set.Announce
	if a.set.Announce == "" {
		body["registry"] = selfURL(r)
	}
	return body
}

// serveStats answers GET /api/v1/registry/stats (and ?action=stats) with the module's
// counters.
func (a *registryAPI) serveStats(w http.ResponseWriter, r *http.Request) {
	noCache(w.Header())
	if !allowedMethod(w, r) {
		return
	}
	if !a.allow.allows(r.RemoteAddr) {
		a.fail(w, http.StatusForbidden, "stats", "You are not allowed to access this resource.")
		return
	}
	ans, err := a.reg.do(r.Context(), action{op: host.OpStats})
	if err != nil {
		a.log.Error("stats failed", "err", err)
		status, reason := registryFailure(err)
		a.fail(w, status, "stats", reason)
		return
	}
	a.writeRaw(w, ans.status, ans.body)
}

// jsonHeader keeps netdata's field order (action, status, hostname, machine_guid, ...) when
// encoded, since dashboards and people read these bodies.
type jsonHeader map[string]string

var headerOrder = []string{"action", "status", "hostname", "machine_guid", "person_guid", "registry", "error"}

func (h jsonHeader) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for _, k := range headerOrder {
		v, ok := h[k]
		if !ok {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		b = append(append(append(b, kb...), ':'), vb...)
	}
	return append(b, '}'), nil
}

func (a *registryAPI) header(action, status string) jsonHeader {
	return jsonHeader{"action": action, "status": status, "hostname": a.set.Hostname, "machine_guid": a.set.MachineGUID}
}

// fail answers a request refused before (or without) the module, in the module's "failed"
// shape, so the dashboard parses every answer the same way.
func (a *registryAPI) fail(w http.ResponseWriter, status int, action, msg string) {
	if action == "" {
		action = "unknown"
	}
	body := a.header(action, "failed")
	body["error"] = msg
	a.writeJSON(w, status, body)
}

func (a *registryAPI) writeJSON(w http.ResponseWriter, status int, body jsonHeader) {
	b, _ := body.MarshalJSON()
	a.writeRaw(w, status, b)
}

func (a *registryAPI) writeRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8") // netdata's
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// allowedMethod accepts what netdata accepts on the registry (GET, and POST with the same
// query; HEAD for probes) and answers anything else with 405.
func allowedMethod(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
		return true
	}
	w.Header().Set("Allow", "GET, POST, OPTIONS")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// noCache marks a response as never cacheable, as netdata does for every registry answer:
// they depend on the cookie.
func noCache(h http.Header) {
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")
}

// hasDoNotTrack reports a "DNT: 1" header (netdata looks at the first character).
func hasDoNotTrack(r *http.Request) bool {
	v := r.Header.Get("DNT")
	return len(v) > 0 && v[0] == '1'
}

// param returns the last non-empty value of a query parameter: netdata skips empty values and
// a repeated parameter overwrites the earlier one.
func param(q url.Values, name string) string {
	vs := q[name]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i] != "" {
			return vs[i]
		}
	}
	return ""
}
