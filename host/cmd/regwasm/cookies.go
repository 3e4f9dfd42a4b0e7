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
	// guidLength is how much of a cookie netdata reads (UUID_STR_LEN - 1).
	guidLength = 36
	// maxCookieDays is the module's largest "registry expire idle persons" (100 years).
	maxCookieDays = 36500
)

// personOf returns the person GUID a request carries: the value of the first
// netdata_registry_id cookie, else "". Like netdata it reads at most 36 characters; the
// module decides whether they name a known person. (netdata also takes the person from a
// bearer token, but only one it issued and verified; regwasm issues none.)
func personOf(r *http.Request) string {
	for _, line := range r.Header.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), cookieName+"="); ok {
				return cut(strings.Trim(v, `"`), guidLength)
			}
		}
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
	// The module clamps the setting; this keeps any value from overflowing the Duration
	// (at 106,752 days the cookie's Expires went back to 1842).
	days := min(max(c.expireDays, 1), maxCookieDays)
	expires := now.UTC().AddDate(0, 0, int(days)).Format(http.TimeFormat)
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
