package main

import (
	"net"
	"net/http"
	"strings"
)

// selfURL is this registry's URL as the request reached it, what it announces when no
// "registry to announce" is set: the scheme (https over TLS) and the Host header; behind a
// reverse proxy, the first X-Forwarded-Proto (http or https) and X-Forwarded-Host values
// instead. A value that is not a plain scheme or host[:port] is not used.
//
// # Notes
//
// Trusting the X-Forwarded headers, which any client can send, is safe here: the announced
// URL goes only into the answer to that same request, and registry answers are never
// cacheable (noCache), so a client can only mislead itself, as it could with the Host header.
// A page of another site cannot set these headers on a visitor's request: they are not among
// the headers CORS allows (corsAllowHeaders), so the browser refuses the preflight.
func selfURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := strings.ToLower(firstValue(r.Header.Get("X-Forwarded-Proto"))); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if h := firstValue(r.Header.Get("X-Forwarded-Host")); validHost(h) {
		host = h
	}
	if !validHost(host) {
		host = "localhost"
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && validHost(a.String()) {
			host = a.String()
		}
	}
	return scheme + "://" + host
}

// firstValue is the first of a header's comma-separated values (proxies append theirs).
func firstValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

// validHost reports whether h is a host name or address with an optional port, and nothing
// else: no path, user, space or quote can reach an announced URL.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}
