package registry

import (
	"errors"
	"testing"
)

func TestDelete(t *testing.T) {
	r := newTestRegistry(t)
	_, b := access(t, r, 1, "", m1, "http://a/", "a")
	p := b.PersonGUID
	access(t, r, 2, p, m2, "http://b/", "b")
	cases := []struct {
		name, person, machine, url, del string
		err                             error
	}{
		{"unknown person", m3, m1, "http://a/", "http://b/", ErrNoPerson},
		{"unknown machine", p, m3, "http://a/", "http://b/", ErrNoMachine},
		{"url in use not the person's", p, m1, "http://zzz/", "http://b/", ErrNoURL},
		{"delete_url not the person's", p, m1, "http://a/", "http://zzz/", ErrNoURL},
		{"missing delete_url", p, m1, "http://a/", "", ErrMissing},
	}
	for _, c := range cases {
		res, b := do(t, r, OpDelete, 3, c.person, c.machine, c.url, c.del)
		if res.Status != 400 || !errors.Is(res.Err, c.err) || b.Status != "failed" || res.Changed {
			t.Fatalf("%s: %d %v", c.name, res.Status, res.Err)
		}
	}
	res, b := do(t, r, OpDelete, 3, p, m1, "http://a/", "http://b/")
	if res.Status != 200 || b.Status != "ok" || !res.Changed {
		t.Fatalf("delete: %+v %+v", res, b)
	}
	_, b = access(t, r, 4, p, m1, "http://a/", "a")
	if len(b.URLs) != 1 || b.URLs[0][1] != "http://a/" {
		t.Fatalf("after delete: %v", b.URLs)
	}
	// http://b/ is still linked to machine m2, so it stays interned.
	if st := r.Stats(); st.URLs != 2 || st.PersonURLs != 1 || st.MachineURLs != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSearch(t *testing.T) {
	r := newTestRegistry(t)
	_, b := access(t, r, 1, "", m1, "http://a/", "alpha")
	p := b.PersonGUID
	_, b = access(t, r, 2, "", m2, "http://b/", "beta")
	q := b.PersonGUID
	access(t, r, 3, q, m1, "http://a2/", "alpha2")

	res, b := do(t, r, OpSearch, 4, p, m1, "http://a/", m1)
	if res.Status != 200 || len(b.URLs) != 2 || b.URLs[0][0] != m1 || b.URLs[0][4] != "alpha" {
		t.Fatalf("search: %d %+v", res.Status, b)
	}
	cases := []struct {
		name, person, forM string
		status             int
		err                error
	}{
		{"no person", "", m1, 400, ErrNoPerson},
		{"unknown person", m3, m1, 404, ErrNoPerson},
		{"unknown machine", p, m3, 404, ErrNoMachine},
		{"never accessed", p, m2, 404, ErrNotAccessed},
	}
	for _, c := range cases {
		res, b := do(t, r, OpSearch, 5, c.person, m1, "http://a/", c.forM)
		if res.Status != c.status || !errors.Is(res.Err, c.err) || b.Status != "failed" {
			t.Fatalf("%s: %d %v", c.name, res.Status, res.Err)
		}
	}
}

func TestSwitch(t *testing.T) {
	r := newTestRegistry(t)
	_, b := access(t, r, 1, "", m1, "http://a/", "a")
	p := b.PersonGUID
	_, b = access(t, r, 1, "", m1, "http://a/", "a")
	q := b.PersonGUID
	_, b = access(t, r, 1, "", m2, "http://b/", "b")
	z := b.PersonGUID
	access(t, r, 1, "", m3, "http://c/", "c")
	cases := []struct {
		name, from, machine, to string
		status                  int
	}{
		{"no old person", "", m1, q, 400},
		{"old person unknown", m2, m1, q, 430},
		{"new person unknown", p, m1, m2, 431},
		{"machine unknown", p, "44444444-4444-4444-8444-444444444444", q, 432},
		{"old never accessed machine", z, m1, q, 433},
		{"new never accessed machine", p, m1, z, 434},
	}
	for _, c := range cases {
		res, b := do(t, r, OpSwitch, 2, c.from, c.machine, "http://a/", c.to)
		if res.Status != c.status || b.Status != "failed" || res.Changed {
			t.Fatalf("%s: got %d %v", c.name, res.Status, res.Err)
		}
	}
	// netdata checks the URL in use before the persons: not starting with 'h' or '*' is 400.
	if res, _ := do(t, r, OpSwitch, 2, p, m1, "ftp://a/", q); res.Status != 400 || !errors.Is(res.Err, ErrBadURL) {
		t.Fatalf("switch with an ftp URL: %d %v", res.Status, res.Err)
	}
	res, b := do(t, r, OpSwitch, 2, p, m1, "http://a/", q)
	if res.Status != 200 || b.PersonGUID != q || res.Person.String() != q {
		t.Fatalf("switch: %+v %+v", res, b)
	}
}

func TestExpireIdlePersons(t *testing.T) {
	r := New(Config{ExpireIdleDays: 1})
	_, b := access(t, r, 1000, "", m1, "http://old/", "o")
	old := b.PersonGUID
	_, b = access(t, r, 1000+86400, "", m1, "http://new/", "n")
	fresh := b.PersonGUID
	if n := r.Expire(1000 + 86400 + 10); n != 1 {
		t.Fatalf("expired %d persons, want 1", n)
	}
	if err := r.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.lookupPerson([]byte(old)); ok {
		t.Fatal("idle person still there")
	}
	if _, ok := r.lookupPerson([]byte(fresh)); !ok {
		t.Fatal("active person purged")
	}
	// The purged person's slot is reused.
	access(t, r, 1000+86400+20, "", m2, "http://x/", "x")
	if st := r.Stats(); st.Persons != 2 || st.PersonURLs != 2 || len(r.persons) != 2 {
		t.Fatalf("stats %+v, %d slots", st, len(r.persons))
	}
}
