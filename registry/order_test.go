package registry

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// urlsOf is the URL (second element) of every entry of a body's urls list, in order.
func urlsOf(b body) []string {
	var out []string
	for _, u := range b.URLs {
		out = append(out, u[1].(string))
	}
	return out
}

// TestURLOrderIsNetdatas: netdata prepends every new link to a person's list and moves a
// person-URL to the front when a re-access changes its name; a plain re-access, or one that
// moves the URL to another machine under the same name, leaves it in place. The example is
// the one issue 15 measured on netdata v2.10.4.
func TestURLOrderIsNetdatas(t *testing.T) {
	r := newTestRegistry(t)
	_, b := access(t, r, 10, "", m1, "http://agent1/", "agent1")
	p := b.PersonGUID
	access(t, r, 11, p, m2, "http://agent4/", "agent4")
	access(t, r, 12, p, m3, "http://agent5/", "agent5")
	_, b = access(t, r, 13, p, m2, "http://10.0.0.4/", "agent4")
	if got, want := urlsOf(b), []string{"http://10.0.0.4/", "http://agent5/", "http://agent4/", "http://agent1/"}; !slices.Equal(got, want) {
		t.Fatalf("after four links: %q, want newest first %q", got, want)
	}
	_, b = access(t, r, 14, p, m1, "http://agent1/", "agent1") // plain re-access: stays
	if got := urlsOf(b); got[3] != "http://agent1/" {
		t.Fatalf("a plain re-access moved the URL: %q", got)
	}
	_, b = access(t, r, 15, p, m1, "http://agent4/", "agent4") // other machine, same name: stays
	if got := urlsOf(b); got[2] != "http://agent4/" || b.URLs[2][0] != m1 {
		t.Fatalf("a machine change moved the URL: %q %v", got, b.URLs[2])
	}
	_, b = access(t, r, 16, p, m3, "http://agent5/", "agent5 renamed")
	if got, want := urlsOf(b), []string{"http://agent5/", "http://10.0.0.4/", "http://agent4/", "http://agent1/"}; !slices.Equal(got, want) {
		t.Fatalf("after the rename: %q, want %q (netdata's answer)", got, want)
	}
	if u := b.URLs[0]; u[3] != float64(2) || u[4] != "agent5 renamed" {
		t.Fatalf("renamed entry %v: usages and name must carry over", u)
	}
	// A name cut to the limit is compared after the cut: re-sending the long name is no rename.
	long := strings.Repeat("n", 80)
	access(t, r, 17, p, m1, "http://agent1/", long)
	access(t, r, 18, p, m2, "http://10.0.0.4/", "agent4 renamed")
	_, b = access(t, r, 19, p, m1, "http://agent1/", long)
	if got := urlsOf(b); got[0] != "http://10.0.0.4/" {
		t.Fatalf("re-sending a name over the limit counted as a rename: %q", got)
	}
}

// TestSearchOrderAndName: search lists the machine's URLs newest first and never moves them
// (netdata prepends machine-URLs), and the name it shows is that of the person's most recent
// link to the machine (the first netdata's walk of the person's list meets).
func TestSearchOrderAndName(t *testing.T) {
	r := newTestRegistry(t)
	_, b := access(t, r, 10, "", m1, "http://a/", "old name")
	p := b.PersonGUID
	access(t, r, 11, p, m1, "http://b/", "new name")
	access(t, r, 12, p, m1, "http://c/", "new name")
	access(t, r, 13, p, m1, "http://a/", "old name") // re-access: neither list moves
	res, s := do(t, r, OpSearch, 14, p, m1, "http://a/", m1)
	if res.Status != 200 {
		t.Fatalf("search: %+v %+v", res, s)
	}
	if got, want := urlsOf(s), []string{"http://c/", "http://b/", "http://a/"}; !slices.Equal(got, want) {
		t.Fatalf("search order %q, want %q", got, want)
	}
	for _, u := range s.URLs {
		if u[4] != "new name" {
			t.Fatalf("search names %v, want the newest link's name", s.URLs)
		}
	}
	access(t, r, 15, p, m1, "http://a/", "renamed") // moves a to the person's front
	_, s = do(t, r, OpSearch, 16, p, m1, "http://a/", m1)
	if s.URLs[0][4] != "renamed" || urlsOf(s)[2] != "http://a/" {
		t.Fatalf("after a rename search answers %v", s.URLs)
	}
}

// TestURLOrderSurvivesReloadAndReplay: the order is part of the state: a reopened store (log
// replay) and a reloaded snapshot answer it as the live registry did.
func TestURLOrderSurvivesReloadAndReplay(t *testing.T) {
	const t0 = 1_700_000_000 - 100 // recent: the save purges persons idle for a year
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	run := func(s *Store, req Request) Response {
		t.Helper()
		out, err := s.Handle(AppendRequest(nil, &req), nil)
		if err != nil {
			t.Fatal(err)
		}
		resps, _ := ParseResponses(out)
		return resps[0]
	}
	acc := func(when uint32, p, m, u, n string) Request {
		return Request{Op: OpAccess, When: t0 + when, Person: []byte(p), Machine: []byte(m), URL: []byte(u), Arg: []byte(n)}
	}
	p := run(s, acc(10, "", m1, "http://a/", "a")).Person
	run(s, acc(11, p, m2, "http://b/", "b"))
	run(s, acc(12, p, m3, "http://c/", "c"))
	run(s, acc(13, p, m1, "http://a/", "a2"))
	want := run(s, Request{Op: OpSearch, When: t0 + 14, Person: []byte(p), Machine: []byte(m1), URL: []byte("http://a/"), Arg: []byte(m1)}).Body
	wantContents := contents(s.reg)
	check := func(what string, s *Store) {
		t.Helper()
		if got := contents(s.reg); !bytes.Equal(got, wantContents) {
			t.Fatalf("%s: contents differ", what)
		}
		got := run(s, Request{Op: OpSearch, When: t0 + 14, Person: []byte(p), Machine: []byte(m1), URL: []byte("http://a/"), Arg: []byte(m1)}).Body
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: search %s, want %s", what, got, want)
		}
	}
	s2, err := OpenStore(ms, detConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	check("log replay", s2)
	if _, err := s2.Save(); err != nil {
		t.Fatal(err)
	}
	s3, err := OpenStore(ms, detConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	check("snapshot", s3)
	_, b := access(t, s3.reg, t0+20, p, m2, "http://b/", "b")
	if got, want := urlsOf(b), []string{"http://a/", "http://c/", "http://b/"}; !slices.Equal(got, want) {
		t.Fatalf("after reload the order is %q, want %q", got, want)
	}
}

// TestNetdataFilesKeepTheOrder: netdata writes every list head first (newest first); export
// does the same, and import reads a file's lists in that order, so an export imports into the
// order it was exported from.
func TestNetdataFilesKeepTheOrder(t *testing.T) {
	r := newTestRegistry(t)
	_, b := access(t, r, 10, "", m1, "http://a/", "a")
	p := b.PersonGUID
	access(t, r, 11, p, m1, "http://b/", "b")
	_, b = access(t, r, 12, p, m1, "http://c/", "c")
	text := string(r.AppendNetdataDB(nil))
	for _, kind := range []string{"\nV\t", "\nU\t"} {
		c, bb, a := strings.Index(text, kind+"0000000c"), strings.Index(text, kind+"0000000b"), strings.Index(text, kind+"0000000a")
		if c < 0 || !(c < bb && bb < a) {
			t.Fatalf("%q lines are not newest first:\n%s", kind[1:2], text)
		}
	}
	r2 := newTestRegistry(t)
	if _, err := r2.ImportNetdataDB([]byte(text)); err != nil {
		t.Fatal(err)
	}
	mustInvariants(t, r2)
	_, b2 := access(t, r2, 12, p, m1, "http://c/", "c")
	if got, want := urlsOf(b2), urlsOf(b); !slices.Equal(got, want) {
		t.Fatalf("imported order %q, want %q", got, want)
	}
	_, s := do(t, r2, OpSearch, 13, p, m1, "http://c/", m1)
	if got, want := urlsOf(s), []string{"http://c/", "http://b/", "http://a/"}; !slices.Equal(got, want) {
		t.Fatalf("imported machine order %q, want %q", got, want)
	}
}
