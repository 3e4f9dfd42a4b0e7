package main

import (
	"net"
	"net/netip"
	"strings"
)

// allowList is netdata's "allow from" setting: a list of simple patterns matched against the
// client's address. Patterns are separated by spaces (or '|'), may hold '*' anywhere, and a
// leading '!' makes one negative. The first pattern that matches decides; an address no
// pattern matches is denied. An empty list allows everyone, as netdata does when the setting
// is blank (it then has no pattern list at all).
type allowList struct {
	patterns []allowPattern
}

type allowPattern struct {
	glob     string
	negative bool
}

func parseAllowList(s string) allowList {
	var l allowList
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == '|' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
	}) {
		p := allowPattern{glob: f}
		if strings.HasPrefix(f, "!") {
			p = allowPattern{glob: f[1:], negative: true}
		}
		if p.glob != "" {
			l.patterns = append(l.patterns, p)
		}
	}
	return l
}

// allows reports whether a client at remoteAddr (host:port, as net/http gives it) may use
// the registry.
func (l allowList) allows(remoteAddr string) bool {
	if len(l.patterns) == 0 {
		return true
	}
	ip := clientIP(remoteAddr)
	for _, p := range l.patterns {
		if globMatch(p.glob, ip) {
			return !p.negative
		}
	}
	return false
}

// clientIP returns the address netdata would match: the IP without port or brackets, with an
// IPv4-mapped IPv6 address printed as plain IPv4.
func clientIP(remoteAddr string) string {
	h, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		h = remoteAddr
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return h
}

// globMatch matches s against a pattern where '*' stands for any run of bytes (netdata's
// simple patterns: exact, prefix, suffix, substring and their combinations).
func globMatch(pattern, s string) bool {
	// Iterative matching with one backtrack point: the last '*' seen.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
