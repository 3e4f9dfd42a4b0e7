package registry

import (
	"errors"
	"maps"
	"strconv"
	"strings"
	"testing"
)

func expired(t *testing.T, r *Registry, machine, url string) bool {
	t.Helper()
	midx, ok := r.lookupMachine([]byte(machine))
	if !ok {
		t.Fatalf("machine %s unknown", machine)
	}
	m := &r.machines[midx]
	i := r.findMachineURL(m, r.urls.find([]byte(url)))
	if i < 0 {
		t.Fatalf("machine %s has no URL %s", machine, url)
	}
	return r.machineBlock(m)[i].usage&flagExpired != 0
}

func TestAccessNewPerson(t *testing.T) {
	for _, sent := range []string{"", "not-a-guid", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"} {
		r := newTestRegistry(t)
		res, b := access(t, r, 100, sent, m1, "http://a/", "a")
		if res.Status != 200 || b.Status != "ok" || b.Action != "access" {
			t.Fatalf("sent %q: %+v %+v", sent, res, b)
		}
		if b.PersonGUID == sent || b.PersonGUID != res.Person.String() {
			t.Fatalf("sent %q: got person %q, want a fresh one", sent, b.PersonGUID)
		}
		if g, _ := ParseGUID(b.PersonGUID); g[6]>>4 != 7 {
			t.Fatalf("new person GUID %s is not time-based (v7)", b.PersonGUID)
		}
		if len(b.URLs) != 1 || b.URLs[0][0] != m1 || b.URLs[0][1] != "http://a/" ||
			b.URLs[0][2] != float64(100000) || b.URLs[0][3] != float64(1) || b.URLs[0][4] != "a" {
			t.Fatalf("urls = %v", b.URLs)
		}
	}
}

func TestAccessKnownPersonRepeats(t *testing.T) {
	r := newTestRegistry(t)
	_, b := access(t, r, 100, "", m1, "http://a/", "a")
	p := b.PersonGUID
	_, b = access(t, r, 200, strings.ToUpper(p), strings.ToUpper(m1), "http://a/", "renamed")
	if b.PersonGUID != p {
		t.Fatalf("known person (upper-case) got %s, want %s", b.PersonGUID, p)
	}
	if u := b.URLs[0]; u[2] != float64(200000) || u[3] != float64(2) || u[4] != "renamed" {
		t.Fatalf("repeat access: %v", u)
	}
	pidx, _ := r.lookupPerson([]byte(p))
	midx, _ := r.lookupMachine([]byte(m1))
	pp, mm := r.persons[pidx], r.machines[midx]
	// The prototype forgot last_t on repeats.
	if pp.last != 200 || pp.first != 100 || pp.usage != 2 || mm.last != 200 || mm.usage != 2 {
		t.Fatalf("person %+v machine %+v", pp, mm)
	}
	if st := r.Stats(); st.Persons != 1 || st.Machines != 1 || st.URLs != 1 || st.Accesses != 2 ||
		st.PersonURLs != 1 || st.MachineURLs != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAccessRejectsBadInput(t *testing.T) {
	cases := []struct {
		name, machine, url string
		status             int
		err                error
	}{
		{"bad machine", "zzz", "http://a/", 400, ErrBadMachine},
		{"machine with braces", "{" + m1 + "}", "http://a/", 400, ErrBadMachine},
		{"empty machine", "", "http://a/", 400, ErrBadMachine},
		{"url not h or *", m1, "ftp://a/", 400, ErrBadURL},
		{"blank url", m1, "   ", 400, ErrBadURL},
		{"empty url", m1, "", 400, ErrMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newTestRegistry(t)
			res, b := access(t, r, 1, "", c.machine, c.url, "n")
			if res.Status != c.status || !errors.Is(res.Err, c.err) || b.Status != "failed" || res.Changed {
				t.Fatalf("got %d %v %+v", res.Status, res.Err, b)
			}
			if st := r.Stats(); st.Persons+st.Machines+st.URLs+st.Accesses != 0 {
				t.Fatalf("a rejected access changed the registry: %+v", st)
			}
		})
	}
}

func TestAccessCleansInput(t *testing.T) {
	r := newTestRegistry(t)
	long := "http://" + strings.Repeat("x", 2000)
	_, b := access(t, r, 1, "", m1, "http://a\tb\nc/  ", "\tmy\x01name"+strings.Repeat("n", 100))
	if u := b.URLs[0]; u[1] != "http://a b c/" || len(u[4].(string)) != 50 || !strings.HasPrefix(u[4].(string), "my name") {
		t.Fatalf("cleaned = %q %q", u[1], u[4])
	}
	_, b = access(t, r, 1, b.PersonGUID, m1, long, "x")
	if got := b.URLs[0][1].(string); len(got) != 1024 {
		t.Fatalf("URL cut to %d bytes, want 1024", len(got))
	}
	r2 := New(Config{MaxURLLength: 3, MaxNameLength: 3})
	if c := r2.Config(); c.MaxURLLength != 10 || c.MaxNameLength != 10 {
		t.Fatalf("limits below 10 must clamp to 10: %+v", c)
	}
}

func TestAccessURLMovesMachine(t *testing.T) {
	r := newTestRegistry(t)
	_, b := access(t, r, 1, "", m1, "http://shared/", "one")
	p := b.PersonGUID
	_, b = access(t, r, 2, p, m2, "http://shared/", "two")
	if len(b.URLs) != 1 || b.URLs[0][0] != m2 {
		t.Fatalf("person URL did not follow the machine: %v", b.URLs)
	}
	if !expired(t, r, m1, "http://shared/") || expired(t, r, m2, "http://shared/") {
		t.Fatal("old machine's URL must be EXPIRED, the new one not")
	}
	// Re-access through the old machine clears EXPIRED there and expires m2's.
	access(t, r, 3, p, m1, "http://shared/", "one")
	if expired(t, r, m1, "http://shared/") || !expired(t, r, m2, "http://shared/") {
		t.Fatal("re-access must clear EXPIRED")
	}
	if st := r.Stats(); st.URLs != 1 || st.MachineURLs != 2 || st.PersonURLs != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestHiddenURLsAreNotListed(t *testing.T) {
	r := newTestRegistry(t)
	_, b := access(t, r, 1, "", m1, "***", "hidden")
	if len(b.URLs) != 0 {
		t.Fatalf("*** listed: %v", b.URLs)
	}
	_, b = access(t, r, 2, b.PersonGUID, m1, "http://shown/", "x")
	if len(b.URLs) != 1 || b.URLs[0][1] != "http://shown/" {
		t.Fatalf("urls %v", b.URLs)
	}
}

func TestQuietAccess(t *testing.T) {
	r := newTestRegistry(t)
	res, b := r.Do(&Request{Op: OpAccess, Flags: FlagQuiet, When: 1, Machine: []byte(m1), URL: []byte("http://a/")}, nil)
	if res.Status != 200 || len(b) != 0 || res.Person.IsZero() || !res.Changed {
		t.Fatalf("quiet access: %+v %q", res, b)
	}
}

func TestHello(t *testing.T) {
	r := newTestRegistry(t)
	res, b := do(t, r, OpHello, 0, "", "", "", "")
	if res.Status != 200 || b.Registry != "" || b.Hostname != "test" ||
		b.Machine != "00000000-0000-4000-8000-000000000000" || res.Changed {
		t.Fatalf("hello: %+v %+v", res, b)
	}
}

// Machine URLs keep where their bytes are in the URL arena (machineURL.off); after the arena
// compacts, access must compare the bytes' new place, not the old one. (The URL is longer than
// a machineURL's head, so the comparison reads the arena.)
func TestMachineURLSpansFollowArenaCompaction(t *testing.T) {
	r := newTestRegistry(t)
	url := "http://" + strings.Repeat("a", machineURLHead) + "/"
	pad := r.urls.ref([]byte("http://" + strings.Repeat("x", 1<<17))) // first in the arena
	res, _ := r.Do(&Request{Op: OpAccess, When: 100, Machine: []byte(m1), URL: []byte(url)}, nil)
	r.urls.unref(pad) // frees over half the arena: it compacts, moving url down
	if r.urls.gen == 0 {
		t.Fatal("the URL arena did not compact")
	}
	access(t, r, 200, res.Person.String(), m1, url, "a")
	m := &r.machines[0]
	if blk := r.machineBlock(m); len(blk) != 1 || blk[0].usage != 2 {
		t.Fatalf("machine URLs after compaction: %+v", blk)
	}
	if err := r.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

// A person's URL filter (person.urlBits) only skips scans: with more URLs than bits, after
// deletes and re-accesses, every lookup still finds exactly the URLs the person has.
func TestPersonURLFilter(t *testing.T) {
	r := newTestRegistry(t)
	res, _ := access(t, r, 10, "", m1, "http://0/", "n")
	p := res.Person.String()
	for i := 1; i < 100; i++ {
		access(t, r, 10, p, m1, "http://"+strconv.Itoa(i)+"/", "n")
	}
	for i := 0; i < 100; i += 3 {
		do(t, r, OpDelete, 20, p, m1, "http://1/", "http://"+strconv.Itoa(i)+"/")
	}
	pidx, _ := r.findPerson(&res.Person)
	for i := 0; i < 100; i++ {
		uid := r.urls.find([]byte("http://" + strconv.Itoa(i) + "/"))
		found := r.findPersonURLID(&r.persons[pidx], uid) >= 0
		if want := i%3 != 0; found != want {
			t.Fatalf("URL %d: found %v, want %v", i, found, want)
		}
	}
	access(t, r, 30, p, m1, "http://3/", "n") // re-linked after its delete
	if r.findPersonURLID(&r.persons[pidx], r.urls.find([]byte("http://3/"))) < 0 {
		t.Fatal("re-accessed URL not found")
	}
}

// A machine's URLs are told apart by their bytes past the part a machineURL holds (head), and
// by a difference inside it: each access counts on its own URL.
func TestMachineURLHead(t *testing.T) {
	r := newTestRegistry(t)
	long := "http://" + strings.Repeat("a", machineURLHead) + "/x"
	urls := []string{long, long[:len(long)-1] + "y", "http://short/", "http://shorT/", long}
	for i, u := range urls {
		if res, _ := r.Do(&Request{Op: OpAccess, When: uint32(10 + i), Machine: []byte(m1), URL: []byte(u)}, nil); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	mg, _ := ParseGUID(m1)
	midx, _ := r.findMachine(&mg)
	got := map[string]uint32{}
	for _, mu := range r.machineBlock(&r.machines[midx]) {
		got[string(r.urls.bytes(mu.url))] = mu.usage & usageMask
	}
	want := map[string]uint32{long: 2, urls[1]: 1, "http://short/": 1, "http://shorT/": 1}
	if !maps.Equal(got, want) {
		t.Fatalf("machine URLs and usages %v, want %v", got, want)
	}
	if err := r.checkInvariants(); err != nil {
		t.Fatal(err)
	}
}

// A new person-URL reuses the slot a deleted one left at the end of the block: access fills
// the entry in place (appendPersonURL), so every field must be the new link's, none the old's.
func TestAppendedURLOverwritesStaleSlot(t *testing.T) {
	r := newTestRegistry(t)
	_, b := access(t, r, 100, "", m1, "http://a/", "a")
	p := b.PersonGUID
	for when := uint32(101); when <= 103; when++ {
		access(t, r, when, p, m1, "http://b/", "b")
	}
	if res, _ := do(t, r, OpDelete, 104, p, m1, "http://a/", "http://b/"); res.Status != 200 {
		t.Fatalf("delete: %+v", res)
	}
	_, b = access(t, r, 300, p, m2, "http://c/", "c")
	if len(b.URLs) != 2 {
		t.Fatalf("urls %v", b.URLs)
	}
	if u := b.URLs[0]; u[0] != m2 || u[1] != "http://c/" || u[2] != float64(300000) || u[3] != float64(1) || u[4] != "c" {
		t.Fatalf("new URL in a reused slot: %v", u)
	}
	pidx, _ := r.lookupPerson([]byte(p))
	if pu := r.personBlock(&r.persons[pidx])[1]; pu.first != 300 || pu.last != 300 {
		t.Fatalf("new person-URL %+v, want first and last 300", pu)
	}
}
