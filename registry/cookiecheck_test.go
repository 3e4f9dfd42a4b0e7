package registry

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// machineOnly runs a machine-only access (netdata's cookie-check access).
func machineOnly(t *testing.T, r *Registry, when uint32, machine, url string) Result {
	t.Helper()
	req := Request{Op: OpAccess, Flags: FlagMachineOnly, When: when, Machine: []byte(machine), URL: []byte(url), Arg: []byte("name")}
	res, _ := r.Do(&req, nil)
	if err := r.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestMachineOnlyAccess: the cookie-check access creates the machine and counts the URL on
// it, links no person, and what it recorded is seen by search and switch as netdata's is.
func TestMachineOnlyAccess(t *testing.T) {
	r := newTestRegistry(t)
	res := machineOnly(t, r, 10, m1, "http://cookieless/")
	if res.Status != 200 || !res.Changed || !res.Person.IsZero() {
		t.Fatalf("machine-only access: %+v", res)
	}
	if st := r.Stats(); st.Persons != 0 || st.Machines != 1 || st.URLs != 1 || st.MachineURLs != 1 || st.PersonURLs != 0 || st.Accesses != 1 {
		t.Fatalf("stats %+v: want the machine and its URL, no person", st)
	}
	machineOnly(t, r, 11, m1, "http://cookieless/")
	_, b := access(t, r, 12, "", m1, "http://a/", "a")
	p := b.PersonGUID
	if len(b.URLs) != 1 {
		t.Fatalf("the person sees %v: the cookie-less URL is nobody's", b.URLs)
	}
	_, s := do(t, r, OpSearch, 13, p, m1, "http://a/", m1)
	if got := urlsOf(s); !slices.Equal(got, []string{"http://a/", "http://cookieless/"}) {
		t.Fatalf("search %q: must find the URL only cookie-less browsers used", got)
	}
	if s.URLs[1][3] != float64(2) {
		t.Fatalf("cookie-less URL usages %v, want 2", s.URLs[1][3])
	}
	// switch on a machine only a redirect saw: known (433 for a person who never used it).
	machineOnly(t, r, 14, m2, "http://only-redirects/")
	_, q := access(t, r, 15, "", m3, "http://q/", "q")
	if res, _ := do(t, r, OpSwitch, 16, p, m2, "http://a/", q.PersonGUID); res.Status != 433 {
		t.Fatalf("switch on a machine only a redirect saw: %d, want 433", res.Status)
	}
}

func TestMachineOnlyAccessValidates(t *testing.T) {
	for _, c := range []struct {
		machine, url string
		err          error
	}{{"zzz", "http://a/", ErrBadMachine}, {m1, "ftp://a/", ErrBadURL}, {m1, " http://a/", ErrBadURL}} {
		r := newTestRegistry(t)
		res := machineOnly(t, r, 10, c.machine, c.url)
		if res.Status != 400 || !errors.Is(res.Err, c.err) || res.Changed {
			t.Fatalf("%q %q: %+v", c.machine, c.url, res)
		}
		if st := r.Stats(); st.Machines+st.URLs+st.Accesses != 0 {
			t.Fatalf("a refused cookie-check changed the registry: %+v", st)
		}
	}
}

// TestMachineOnlyAccessIsLogged: the change log keeps the flag, so replay records no person.
func TestMachineOnlyAccessIsLogged(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(4))
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Op: OpAccess, Flags: FlagMachineOnly, When: 1_700_000_000, Person: []byte(m2), Machine: []byte(m1), URL: []byte("http://a/")}
	if _, err := s.Handle(AppendRequest(nil, &req), nil); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenStore(ms, detConfig(4))
	if err != nil {
		t.Fatal(err)
	}
	if st := s2.reg.Stats(); st.Persons != 0 || st.Machines != 1 || st.MachineURLs != 1 || st.Accesses != 1 {
		t.Fatalf("replayed stats %+v", st)
	}
}

// TestNetdataCookieCheckLines: netdata logs its cookie-check accesses under the dummy person
// 11111111-2222-3333-4444-555555555555 and keeps that person (no URLs) in registry.db; the
// import replays such lines as machine-only accesses and keeps no such person.
func TestNetdataCookieCheckLines(t *testing.T) {
	const dummy = "11111111-2222-3333-4444-555555555555"
	r := newTestRegistry(t)
	rep, err := r.ImportNetdataDB([]byte(ndEntity('P', 0x10, 0x10, 0, dummy) + ndEntity('P', 0x10, 0x10, 1, np1)))
	if err != nil || rep.Persons != 1 || rep.Skipped != 1 {
		t.Fatalf("import: %v %+v", err, rep)
	}
	log := "A\t00000020\t" + dummy + "\t" + m1 + "\tname\thttp://a/\n"
	rep, err = r.ReplayNetdataLog([]byte(log))
	if err != nil || rep.Accesses != 1 || rep.Skipped != 0 {
		t.Fatalf("replay: %v %+v", err, rep)
	}
	mustInvariants(t, r)
	if _, known := r.lookupPerson([]byte(dummy)); known {
		t.Fatal("the cookie-check person became a person")
	}
	if st := r.Stats(); st.Persons != 1 || st.Machines != 1 || st.MachineURLs != 1 || st.PersonURLs != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestURLValidatedBeforeTrimming: like netdata, a URL must start with 'h' or '*' as sent;
// cleaning comes after. delete_url, which netdata does not validate, is only cleaned.
func TestURLValidatedBeforeTrimming(t *testing.T) {
	r := newTestRegistry(t)
	for _, u := range []string{" http://a/", "\thttp://a/", "   ", "ftp://a/"} {
		res, b := access(t, r, 10, "", m1, u, "n")
		if res.Status != 400 || !errors.Is(res.Err, ErrBadURL) || b.Status != "failed" {
			t.Fatalf("access %q: %d %v", u, res.Status, res.Err)
		}
	}
	if st := r.Stats(); st.Persons+st.Machines != 0 {
		t.Fatalf("refused accesses changed the registry: %+v", st)
	}
	_, b := access(t, r, 10, "", m1, "http://a/", "n")
	p := b.PersonGUID
	access(t, r, 11, p, m1, "http://b/", "n")
	if res, _ := do(t, r, OpSwitch, 12, p, m1, " http://a/", p); res.Status != 400 || !errors.Is(res.Err, ErrBadURL) {
		t.Fatalf("switch with a URL starting with a space: %+v", res)
	}
	if res, _ := do(t, r, OpDelete, 12, p, m1, " http://a/", "http://b/"); res.Status != 400 || !errors.Is(res.Err, ErrBadURL) {
		t.Fatalf("delete from a URL starting with a space: %+v", res)
	}
	if res, _ := do(t, r, OpDelete, 12, p, m1, "http://a/", "  http://b/ "); res.Status != 200 {
		t.Fatalf("delete_url is cleaned, not validated: %+v", res)
	}
}

// TestMalformedMachineIs400: a malformed machine GUID is the client's error, with the reason.
func TestMalformedMachineIs400(t *testing.T) {
	r := newTestRegistry(t)
	res, b := access(t, r, 10, "", "not-a-machine", "http://a/", "n")
	if res.Status != 400 || !errors.Is(res.Err, ErrBadMachine) || !strings.Contains(b.Error, "machine") {
		t.Fatalf("access with a malformed machine: %d %+v", res.Status, b)
	}
}

// TestInvalidUTF8IsReplaced: URLs and names are valid UTF-8 once cleaned (invalid sequences
// become U+FFFD), so every body, snapshot and export holds valid UTF-8; a cut never splits
// a sequence; cleaning twice changes nothing.
func TestInvalidUTF8IsReplaced(t *testing.T) {
	r := newTestRegistry(t)
	res, raw := r.Do(&Request{Op: OpAccess, When: 10, Machine: []byte(m1), URL: []byte("http://a/\xff\xfe/x"), Arg: []byte("n\xc3\x28me\xe2\x82")}, nil)
	if res.Status != 200 || !utf8.Valid(raw) {
		t.Fatalf("access body is not valid UTF-8: %d %q", res.Status, raw)
	}
	_, b := access(t, r, 11, res.Person.String(), m1, "http://a/\xff\xfe/x", "n\xc3\x28me\xe2\x82")
	if u := b.URLs[0]; u[1] != "http://a/\ufffd\ufffd/x" || u[4] != "n\ufffd(me\ufffd\ufffd" || u[3] != float64(2) {
		t.Fatalf("cleaned entry %q", u)
	}
	if text := r.AppendNetdataDB(nil); !utf8.Valid(text) {
		t.Fatal("export holds invalid UTF-8")
	}
	var buf []byte
	for _, in := range []string{"h\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", "hé\xe9\x80\x80\x80", "h\x01\xff\x02é"} {
		for max := 10; max < 16; max++ {
			once := string(cleanText([]byte(in), max, &buf))
			if !utf8.ValidString(once) || len(once) > max {
				t.Fatalf("clean(%q, %d) = %q", in, max, once)
			}
			if twice := string(cleanText([]byte(once), max, &buf)); twice != once {
				t.Fatalf("clean(clean(%q)) = %q, want %q", in, twice, once)
			}
		}
	}
}

// TestExpireIdleDaysClamped: the limit is clamped so that times computed from it (the
// cookie's Expires in the hosts) cannot overflow.
func TestExpireIdleDaysClamped(t *testing.T) {
	if got := New(Config{ExpireIdleDays: 106_752}).Config().ExpireIdleDays; got != MaxExpireIdleDays {
		t.Fatalf("ExpireIdleDays %d, want the clamp %d", got, MaxExpireIdleDays)
	}
	if got := New(Config{ExpireIdleDays: 30}).Config().ExpireIdleDays; got != 30 {
		t.Fatalf("ExpireIdleDays %d, want 30", got)
	}
}
