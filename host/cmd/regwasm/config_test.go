package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regwasm/regwasm/host"
)

// TestServeConfig: `serve --config` applies a netdata.conf's [registry] section (here: no
// cookie check, another hostname) and keeps it in the directory; a bad file stops the start.
func TestServeConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(t.TempDir(), "bad.conf")
	writeFile(t, bad, "[registry]\n\tverify browser cookies support = maybe\n")
	var out syncBuffer
	if rc := run(t.Context(), []string{"serve", "--dir", dir, "--addr", "127.0.0.1:0", "--config", bad}, &out, &out); rc == 0 ||
		!strings.Contains(out.String(), "line 2") {
		t.Fatalf("a bad config: exit %d\n%s", rc, out.String())
	}

	conf := filepath.Join(t.TempDir(), "netdata.conf")
	// A 2.x netdata.conf: keys regwasm does not use and unknown ones are listed, not fatal.
	writeFile(t, conf, "[global]\n\thostname = ignored\n[registry]\n\tenabled = yes\n\tregistry hostname = from-conf\n"+
		"\tverify browser cookies support = no\n\tuse mmap = no\n\tregistry expire idle persons = 1y\n\tallow by dns = heuristic\n\tsome new key = 1\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"serve", "--dir", dir, "--addr", addr, "--config", conf, "--save-every", "0"}, &out, &out)
	}()
	c := &http.Client{Timeout: 5 * time.Second}
	base := "http://" + addr
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := c.Get(base + registryURL("hello")); err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("server did not start\n%s", out.String())
		}
	}
	if st, b, _ := httpGet(t, c, base+registryURL("hello"), ""); st != 200 || b.Hostname != "from-conf" || b.Registry != base {
		t.Fatalf("hello %d %+v, want it to announce %s", st, b, base)
	}
	for _, want := range []string{
		`[registry] keys not used by regwasm: \"use mmap\" (line 7), \"allow by dns\" (line 9)`,
		`line 10: [registry] \"some new key\": unknown key, ignored`,
		"regwasm: announces itself: the scheme and host each request reached, e.g. http://" + addr,
	} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	// Without the cookie check a first access is recorded at once: no redirect.
	if st, b, _ := httpGet(t, c, base+registryURL("access", "machine", machineA, "url", urlA, "name", "a"), ""); st != 200 || b.Status != "ok" || b.PersonGUID == "" {
		t.Fatalf("access %d %+v", st, b)
	}
	cancel()
	if rc := <-code; rc != 0 {
		t.Fatalf("serve exited %d\n%s", rc, out.String())
	}
	// The settings live in the directory: a later start without --config keeps them.
	reg, err := host.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if set, err := reg.Settings(t.Context()); err != nil || set.Hostname != "from-conf" || set.VerifyCookies {
		t.Fatalf("stored settings %+v %v", set, err)
	}
}

// TestServeWarnsOfThePublicRegistry: announcing netdata's public registry (what an earlier
// regwasm stored by default) sends browsers away from this one: serve says so at startup.
func TestServeWarnsOfThePublicRegistry(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "netdata.conf")
	writeFile(t, conf, "[registry]\n\tregistry to announce = https://registry.my-netdata.io\n")
	ctx, cancel := context.WithCancel(t.Context())
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--dir", t.TempDir(), "--addr", "127.0.0.1:0", "--config", conf, "--save-every", "0"}, &out, &out)
	}()
	for start := time.Now(); !strings.Contains(out.String(), "regwasm: announces"); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("no startup lines:\n%s", out.String())
		}
	}
	cancel()
	if rc := <-done; rc != 0 {
		t.Fatalf("serve exited %d\n%s", rc, out.String())
	}
	for _, want := range []string{"regwasm: announces https://registry.my-netdata.io (registry to announce)", "leave it for netdata's public registry"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}
