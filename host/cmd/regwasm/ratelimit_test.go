package main

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestNewPersonLimit: a client address makes at most the limit's new persons a minute,
// whether it sends netdata's dummy cookie, no usable cookie, or a GUID the registry does not
// know; past it, accesses that would make a person are answered 429 with Retry-After and
// make nothing, while its known persons, other addresses and the cookie check go on. The
// limit refills with time.
func TestNewPersonLimit(t *testing.T) {
	reg := openTestRegistry(t, t.TempDir())
	clock := time.Unix(1_700_000_000, 0)
	limited := limitNewPersons(reg, 3)
	if l, ok := limited.(*newPersonLimit); ok {
		l.now = func() time.Time { return clock }
	}
	s := serverOver(t, limited, nil)
	from := func(addr, cookie string) *limitedAnswer {
		r := httptestRequest("GET", registryURL("access", "machine", machineA, "url", urlA, "name", "a"), addr)
		if cookie != "" {
			r.Header.Add("Cookie", cookieName+"="+cookie)
		}
		w := serve(s, r)
		return &limitedAnswer{code: w.Code, body: decodeBody(t, w), retry: w.Header().Get("Retry-After")}
	}
	persons := func() uint64 {
		st, err := reg.reg.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st.Persons
	}

	var made []string
	for i := range 3 {
		res := from("10.0.0.1:1000", dummyPerson)
		if res.code != 200 || res.body.PersonGUID == "" || res.body.PersonGUID == dummyPerson {
			t.Fatalf("new person %d: %d %+v", i, res.code, res.body)
		}
		made = append(made, res.body.PersonGUID)
	}
	if n := persons(); n != 3 {
		t.Fatalf("%d persons, want 3", n)
	}
	// The fourth, by every way a client makes a person, is refused and makes nothing.
	for _, cookie := range []string{dummyPerson, "not-a-guid", "01234567-89ab-4cde-8f01-23456789abcd"} {
		res := from("10.0.0.1:2000", cookie)
		if res.code != http.StatusTooManyRequests || res.body.Status != "failed" || res.body.Error == "" {
			t.Fatalf("cookie %q past the limit: %d %+v, want 429 failed with a reason", cookie, res.code, res.body)
		}
		if secs, err := strconv.Atoi(res.retry); err != nil || secs < 1 || secs > 20 {
			t.Fatalf("Retry-After %q, want the seconds to the next token (20 at 3 a minute)", res.retry)
		}
	}
	if n := persons(); n != 3 {
		t.Fatalf("%d persons after the refusals, want 3", n)
	}
	// Known persons of that address are not limited, nor is another address.
	if res := from("10.0.0.1:3000", made[0]); res.code != 200 || res.body.PersonGUID != made[0] {
		t.Fatalf("known person past the limit: %d %+v", res.code, res.body)
	}
	if res := from("10.0.0.2:1000", dummyPerson); res.code != 200 {
		t.Fatalf("another address: %d %+v", res.code, res.body)
	}
	// Loopback (a reverse proxy on this host) is not limited.
	for i := range 5 {
		if res := from("127.0.0.1:1000", dummyPerson); res.code != 200 {
			t.Fatalf("loopback %d: %d %+v", i, res.code, res.body)
		}
	}
	// IPv6 addresses count per /64.
	for i := range 3 {
		if res := from("[2001:db8:1:2::"+strconv.Itoa(i+1)+"]:1000", dummyPerson); res.code != 200 {
			t.Fatalf("IPv6 %d: %d %+v", i, res.code, res.body)
		}
	}
	if res := from("[2001:db8:1:2:ffff::9]:1000", "not-a-guid"); res.code != http.StatusTooManyRequests {
		t.Fatalf("fourth address of one /64: %d %+v, want 429", res.code, res.body)
	}
	// The cookie check (no cookie) makes no person: not limited.
	if res := from("10.0.0.1:5000", ""); res.code != 200 || res.body.Status != "redirect" {
		t.Fatalf("cookie check past the limit: %d %+v", res.code, res.body)
	}
	// A token comes back every 20 s at 3 a minute.
	clock = clock.Add(21 * time.Second)
	if res := from("10.0.0.1:4000", dummyPerson); res.code != 200 {
		t.Fatalf("after 21 s: %d %+v", res.code, res.body)
	}
	if res := from("10.0.0.1:4000", dummyPerson); res.code != http.StatusTooManyRequests {
		t.Fatalf("second after 21 s: %d %+v, want 429", res.code, res.body)
	}
}

type limitedAnswer struct {
	code  int
	body  netdataBody
	retry string
}

// TestNewPersonLimitOff: 0 is no limit, and the default is generous.
func TestNewPersonLimitOff(t *testing.T) {
	reg := openTestRegistry(t, t.TempDir())
	if limitNewPersons(reg, 0) != servedRegistry(reg) {
		t.Fatal("a limit of 0 wraps the registry")
	}
	if defaultNewPersonsPerMinute < 60 {
		t.Fatalf("default %d a minute is not generous", defaultNewPersonsPerMinute)
	}
}

// TestNewPersonLimitForgets: addresses whose bucket is full again are forgotten, so the
// limit's memory is bounded by the addresses making persons in the last minute.
func TestNewPersonLimitForgets(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	l := limitNewPersons(nopServed{}, 2).(*newPersonLimit)
	l.now = func() time.Time { return clock }
	for i := range 1000 {
		if _, ok := l.take("10.1." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)); !ok {
			t.Fatal("first take refused")
		}
	}
	clock = clock.Add(2 * time.Minute)
	l.take("10.9.9.9")
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets kept, want 1", len(l.buckets))
	}
	for _, c := range []struct{ addr, key string }{
		{"192.0.2.7:80", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:80", "192.0.2.7"},
		{"[2001:db8:a:b:c:d:e:f]:80", "2001:db8:a:b::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"127.0.0.1:80", ""},
		{"[::1]:80", ""},
	} {
		if k := limitKey(c.addr); k != c.key {
			t.Errorf("limitKey(%q) = %q, want %q", c.addr, k, c.key)
		}
	}
}

type nopServed struct{ servedRegistry }
