package main

import (
	"context"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/regwasm/regwasm/host"
)

// defaultNewPersonsPerMinute is serve's default limit of new persons per client address: a
// browser makes one person once (netdata's dummy cookie, or no cookie, is how), so 60 a
// minute is far more than the people behind one address make, and a few orders of
// magnitude less than a script hammering the registry with dummy cookies.
const defaultNewPersonsPerMinute = 60

// maxLimitedClients bounds the addresses the limit tracks; past it, new addresses share
// one bucket. Only addresses that made a person in the last minute are tracked.
const maxLimitedClients = 100_000

// newPersonLimit is a servedRegistry that lets each client address make at most perMinute
// new persons a minute (a token bucket holding perMinute, refilled continuously): an access
// that would make one more is answered 429 with Retry-After, and makes nothing. Known
// persons are never limited.
//
// # Notes
//
// Whether an access makes a person is known only after it ran: the cookie may be a GUID the
// registry does not know. So a token is taken before the access and given back when no
// person was made; with no token left, the access goes to the registry with
// host.Request.NoNewPerson, which refuses it (429) if it would make a person and runs it
// otherwise. Concurrent accesses (which group commit batches) each hold their own token.
//
// IPv6 clients are limited per /64, the block one host usually has: anything narrower
// gives one machine 2^64 addresses. Loopback clients are not limited: behind a reverse proxy
// on the same host every browser comes from there, and 60 new persons a minute for all of
// them would refuse real browsers (limit in the proxy then).
type newPersonLimit struct {
	servedRegistry
	perMinute float64
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*tokenBucket
	swept   time.Time
}

type tokenBucket struct {
	tokens float64
	at     time.Time
}

// limitNewPersons wraps reg with a limit of perMinute new persons per client address a
// minute; perMinute 0 (or less) is no limit.
func limitNewPersons(reg servedRegistry, perMinute int) servedRegistry {
	if perMinute <= 0 {
		return reg
	}
	return &newPersonLimit{servedRegistry: reg, perMinute: float64(perMinute), now: time.Now,
		buckets: make(map[string]*tokenBucket)}
}

// do runs a, within the client's limit when it is an access that may make a person.
func (l *newPersonLimit) do(ctx context.Context, a action) (answer, error) {
	c, ok := ctx.Value(clientKey{}).(client)
	if a.op != host.OpAccess || a.machineOnly || !ok {
		return l.servedRegistry.do(ctx, a)
	}
	key := limitKey(c.addr)
	if key == "" {
		return l.servedRegistry.do(ctx, a) // loopback: a proxy on this host
	}
	key, took := l.take(key)
	if took {
		ans, err := l.servedRegistry.do(ctx, a)
		if err != nil || ans.status != http.StatusOK || ans.person == "" || strings.EqualFold(ans.person, a.person) {
			l.refund(key) // no person was made
		}
		return ans, err
	}
	a.noNewPerson = true
	ans, err := l.servedRegistry.do(ctx, a)
	if err == nil && ans.status == http.StatusTooManyRequests && c.header != nil {
		c.header.Set("Retry-After", strconv.Itoa(l.retryAfter(key)))
	}
	return ans, err
}

// take takes a token of key's bucket, if it has one, and returns the bucket's key: "*", the
// bucket new addresses share, when too many are tracked.
func (l *newPersonLimit) take(key string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxLimitedClients {
			key = "*"
			b = l.buckets[key]
		}
		if b == nil {
			b = &tokenBucket{tokens: l.perMinute, at: now}
			l.buckets[key] = b
		}
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return key, false
	}
	b.tokens--
	return key, true
}

// refund gives back a token taken for an access that made no person.
func (l *newPersonLimit) refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[key]; b != nil {
		b.tokens = min(b.tokens+1, l.perMinute)
	}
}

// retryAfter is how many seconds key's bucket takes to hold a token again (at least 1).
func (l *newPersonLimit) retryAfter(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return 1
	}
	l.refill(b, l.now())
	return max(1, int(math.Ceil((1-b.tokens)*60/l.perMinute)))
}

func (l *newPersonLimit) refill(b *tokenBucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.perMinute, b.tokens+d.Minutes()*l.perMinute)
		b.at = now
	}
}

// sweep forgets, once a minute, the buckets that are full again: clients that made no
// person for a while. l.mu must be held.
func (l *newPersonLimit) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if l.refill(b, now); b.tokens >= l.perMinute {
			delete(l.buckets, k)
		}
	}
}

// limitKey is the address the limit counts for: the client's IP, its /64 for IPv6; "" for a
// loopback address, which is not limited.
func limitKey(remoteAddr string) string {
	h, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		h = remoteAddr
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return h
	}
	if a = a.Unmap().WithZone(""); a.IsLoopback() {
		return ""
	}
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// client is the request an action comes from: its address and its response's headers.
type client struct {
	addr   string
	header http.Header
}

type clientKey struct{}

// withClient gives the actions run for r (a registryAPI request) their client.
func withClient(r *http.Request, w http.ResponseWriter) context.Context {
	return context.WithValue(r.Context(), clientKey{}, client{addr: r.RemoteAddr, header: w.Header()})
}
