package main

import "net/http"

// netdata's answers to cross-origin requests: its dashboard calls the registry from another
// origin with credentials and the headers Cache-Control and Pragma, so browsers send a
// preflight first (see the reference's "Cross-origin use").
const (
	corsAllowMethods = "GET, POST, OPTIONS"
	corsAllowHeaders = "accept, x-requested-with, origin, content-type, cookie, pragma, cache-control, x-auth-token, x-netdata-auth, x-transaction-id"
	corsMaxAge       = "1209600"
)

// withCORS adds netdata's CORS headers to every response and answers preflight requests.
func withCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		origin := r.Header.Get("Origin")
		if origin == "" {
			origin = "*"
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		if origin != "*" {
			// The answer depends on the Origin: caches must not share it across origins.
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			h.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("OK"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
