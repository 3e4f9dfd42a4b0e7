package main

import (
	"net/http"
	"strings"
	"time"
)

const (
	cookieName = "netdata_registry_id"
	// dummyPerson is netdata's REGISTRY_VERIFY_COOKIES_GUID: the cookie of the redirect that
	// tests whether the browser keeps cookies. It never becomes a person.
	dummyPerson = "11111111-2222-3333-4444-555555555555"
	// guidLength is how much of a cookie or token netdata reads (UUID_STR_LEN - 1).
	guidLength = 36
)

// personOf returns the person GUID a request carries: the value of the first
// netdata_registry_id cookie, else a bearer token, else "". Like netdata it reads at most 36
// characters; the module decides whether they name a known person.
func personOf(r *http.Request) string {
	for _, line := range r.Header.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), cookieName+"="); ok {
				return cut(strings.Trim(v, `"`), guidLength)
			}
		}
	}
	auth := r.Header.Get("Authorization")
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return cut(strings.TrimSpace(auth[7:]), guidLength)
	}
	return ""
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// cookiePolicy is how netdata sends the person's cookie (registry_set_cookie).
type cookiePolicy struct {
	expireDays     int64  // "registry expire idle persons"
	sameSiteSecure bool   // "enable cookies SameSite and Secure"
	domain         string // "registry domain", "" for none
}

// set adds netdata's Set-Cookie headers for guid: the plain cookie, and when SameSite is on
// also a SameSite=Strict one (same-site dashboards) and a SameSite=None; Secure one (the
// cross-site registry of netdata's dashboard); all of them again with Domain= when a registry
// domain is set. They are written by hand because net/http's Cookie would add its own
// attributes and refuses none of netdata's.
func (c cookiePolicy) set(h http.Header, guid string, now time.Time) {
	expires := now.Add(time.Duration(c.expireDays) * 24 * time.Hour).UTC().Format(http.TimeFormat)
	base := cookieName + "=" + guid + "; Expires=" + expires
	domains := []string{""}
	if c.domain != "" {
		domains = append(domains, "; Domain="+c.domain)
	}
	for _, d := range domains {
		h.Add("Set-Cookie", base+d)
		if c.sameSiteSecure {
			h.Add("Set-Cookie", base+d+"; SameSite=Strict")
			h.Add("Set-Cookie", base+d+"; SameSite=None; Secure")
		}
	}
}

// validCookieDomain reports whether d can go into a cookie attribute as it is: a host name,
// optionally with a leading dot. Anything else (';', spaces, control bytes) could smuggle in
// other attributes, so such a setting is not used.
func validCookieDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
