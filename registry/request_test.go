package registry

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestHandleBatch(t *testing.T) {
	r := newTestRegistry(t)
	var batch []byte
	batch = AppendRequest(batch, &Request{Op: OpHello})
	batch = AppendRequest(batch, &Request{Op: OpAccess, When: 5, Machine: []byte(m1), URL: []byte("http://a/"), Arg: []byte("a")})
	batch = AppendRequest(batch, &Request{Op: OpStats})
	resps, logged, _ := handleChanged(t, r, batch, 3)
	if resps[1].Status != 200 || len(resps[1].Person) != 36 || len(logged) != 1 || logged[0].When != 5 {
		t.Fatalf("access response %+v, logged %d", resps[1], len(logged))
	}
	if string(resps[2].Body) != `{"persons":1,"machines":1,"urls":1,"accesses":1,"person_urls":1,"machine_urls":1,"bytes":`+
		strconv.FormatUint(r.Stats().Bytes, 10)+`}` {
		t.Fatalf("stats body %s", resps[2].Body)
	}
}

// handleChanged runs batch through Handle and returns its n responses and what Handle passed
// to its changed callback (copies: the Result is reused).
func handleChanged(t *testing.T, r *Registry, batch []byte, n int) ([]Response, []Request, []Result) {
	t.Helper()
	var reqs []Request
	var results []Result
	out, err := r.Handle(batch, nil, func(req *Request, res *Result) error {
		reqs, results = append(reqs, *req), append(results, *res)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	resps, err := ParseResponses(out)
	if err != nil || len(resps) != n {
		t.Fatalf("%d responses, want %d: %v", len(resps), n, err)
	}
	return resps, reqs, results
}

func TestHandleRejectsMalformedBatchWhole(t *testing.T) {
	good := AppendRequest(nil, &Request{Op: OpAccess, When: 5, Machine: []byte(m1), URL: []byte("http://a/")})
	cases := map[string][]byte{
		"unknown op":     append(append([]byte{}, good...), 'Z', 0, 0),
		"truncated":      good[:len(good)-1],
		"reserved flag":  append(append([]byte{}, good...), 'a', flagReplay, 1, 0, 0, 0, 0),
		"huge field":     append(append([]byte{}, good...), 'a', 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f),
		"time too large": append(append([]byte{}, good...), 'h', 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
	}
	for name, batch := range cases {
		r := newTestRegistry(t)
		_, err := r.Handle(batch, nil, nil)
		if !errors.Is(err, ErrBadRequest) {
			t.Fatalf("%s: err = %v", name, err)
		}
		if st := r.Stats(); st.Accesses != 0 {
			t.Fatalf("%s: a rejected batch applied %d accesses", name, st.Accesses)
		}
	}
}

// TestCountersMatchContents is a property test: after every one of many random actions the
// counters and reference counts equal what the tables hold.
func TestCountersMatchContents(t *testing.T) {
	for seed := uint64(0); seed < 8; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 1))
		r := New(Config{ExpireIdleDays: 1, Rand: seeded{rand.NewChaCha8([32]byte{byte(seed)})}})
		randomActions(t, r, rnd, 3000)
	}
}

var testMachines = []string{m1, m2, m3, "44444444-4444-4444-8444-444444444444", "not-a-guid", ""}
var testURLs = []string{"http://a/", "http://b/", "https://c:19999/", "***", "*x", "ftp://no/", " http://a/ ", ""}

func randomActions(t testing.TB, r *Registry, rnd *rand.Rand, n int) {
	var persons []string
	pick := func(list []string) string { return list[rnd.IntN(len(list))] }
	person := func() string {
		if len(persons) == 0 || rnd.IntN(8) == 0 {
			return pick([]string{"", "garbage", m1})
		}
		return persons[rnd.IntN(len(persons))]
	}
	when := uint32(1000)
	for i := 0; i < n; i++ {
		when += uint32(rnd.IntN(20000))
		req := Request{When: when, Person: []byte(person()), Machine: []byte(pick(testMachines)), URL: []byte(pick(testURLs))}
		switch k := rnd.IntN(20); {
		case k < 12:
			req.Op, req.Arg = OpAccess, []byte(pick([]string{"a", "b", "", "a long name " + strconv.Itoa(k)}))
		case k < 15:
			req.Op, req.Arg = OpDelete, []byte(pick(testURLs))
		case k < 17:
			req.Op, req.Arg = OpSearch, []byte(pick(testMachines))
		case k < 19:
			req.Op, req.Arg = OpSwitch, []byte(person())
		default:
			req.Op = OpExpire
		}
		res, _ := r.Do(&req, nil)
		if res.Status == 200 && req.Op == OpAccess {
			persons = append(persons, res.Person.String())
		}
		if err := r.checkInvariants(); err != nil {
			t.Fatalf("after action %d (%c): %v", i, req.Op, err)
		}
	}
}

func FuzzHandle(f *testing.F) {
	f.Add(AppendRequest(nil, &Request{Op: OpAccess, When: 5, Machine: []byte(m1), URL: []byte("http://a/"), Arg: []byte("a")}))
	f.Add(AppendRequest(nil, &Request{Op: OpDelete, Person: []byte(m1), Machine: []byte(m1), URL: []byte("http://a/"), Arg: []byte("http://a/")}))
	f.Add(AppendRequest(nil, &Request{Op: OpSwitch, Person: []byte(m1), Machine: []byte(m1), URL: []byte("h"), Arg: []byte(m2)}))
	f.Add([]byte("a\x00\x01\x00\x24" + m1 + "\x09http://a/\x00"))
	f.Fuzz(func(t *testing.T, batch []byte) {
		r := newTestRegistry(t)
		// Seed some state so delete/search/switch have something to find.
		r.Handle(AppendRequest(nil, &Request{Op: OpAccess, When: 1, Machine: []byte(m1), URL: []byte("http://a/")}), nil, nil)
		before := r.Stats()
		out, err := r.Handle(batch, nil, nil)
		if err != nil {
			if r.Stats() != before {
				t.Fatal("a rejected batch changed the registry")
			}
			return
		}
		if _, err := ParseResponses(out); err != nil {
			t.Fatal(err)
		}
		if err := r.checkInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzAccess(f *testing.F) {
	f.Add("", m1, "http://a/", "name", "http://b/")
	f.Add(m1, strings_upper(m1), "*\x00\t", "\xff\xfe", "h")
	f.Fuzz(func(t *testing.T, person, machine, url, name, url2 string) {
		r := newTestRegistry(t)
		res, _ := r.Do(&Request{Op: OpAccess, When: 1, Person: []byte(person), Machine: []byte(machine), URL: []byte(url), Arg: []byte(name)}, nil)
		p := res.Person.String()
		r.Do(&Request{Op: OpAccess, When: 2, Person: []byte(p), Machine: []byte(m2), URL: []byte(url), Arg: []byte(name)}, nil)
		r.Do(&Request{Op: OpDelete, When: 3, Person: []byte(p), Machine: []byte(m2), URL: []byte(url2), Arg: []byte(url)}, nil)
		r.Do(&Request{Op: OpSearch, When: 3, Person: []byte(p), Machine: []byte(m2), URL: []byte(url), Arg: []byte(machine)}, nil)
		if err := r.checkInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}

func strings_upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// appendLogRequest logs what was applied: AppendRequest's bytes with the replay flag and, for
// an access, the person it resolved to (which replay re-creates) and the machine, both as 16
// raw bytes.
func TestLogRequestIsTheRequestEncoding(t *testing.T) {
	person := GUID{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe}
	for _, req := range []Request{
		{Op: OpAccess, When: 300, Person: []byte("ignored"), Machine: []byte(m1), URL: []byte("http://a/"), Arg: []byte("name")},
		{Op: OpAccess, When: 1 << 31, Machine: []byte(m1), URL: []byte("http://a/")},
		{Op: OpDelete, When: 7, Person: []byte(m1), Machine: []byte(m1), URL: []byte("http://a/"), Arg: []byte("http://b/")},
		{Op: OpExpire, When: 9},
	} {
		want := req
		want.Flags = flagReplay | flagApplied
		if req.Op == OpAccess {
			mg, _ := ParseGUID(m1)
			want.Person, want.Machine = person[:], mg[:]
		}
		mg, _ := ParseGUID(req.Machine)
		got := appendLogRequest([]byte("x"), &req, &Result{Person: person, machine: mg})
		if w := AppendRequest([]byte("x"), &want); string(got) != string(w) {
			t.Errorf("op %d: logged %q, want %q", req.Op, got, w)
		}
	}
}

// A GUID field of 16 bytes is a GUID's raw bytes only in a change-log record: from a client
// it is a bad GUID, as before; and a log record with GUID text (an older log) still replays.
func TestRequestGUIDRawOnlyInReplay(t *testing.T) {
	mg, _ := ParseGUID(m1)
	r := newTestRegistry(t)
	res, _ := r.Do(&Request{Op: OpAccess, When: 1, Machine: mg[:], URL: []byte("http://a/")}, nil)
	if !errors.Is(res.Err, ErrBadMachine) {
		t.Fatalf("16-byte machine from a client: %v, want ErrBadMachine", res.Err)
	}
	person := GUID{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0x4d, 0xef, 0x90, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe}
	for _, fields := range [][2][]byte{{person[:], mg[:]}, {[]byte(person.String()), []byte(m1)}} {
		r := newTestRegistry(t)
		res, _ := r.Do(&Request{Op: OpAccess, Flags: flagReplay, When: 1, Person: fields[0], Machine: fields[1], URL: []byte("http://a/")}, nil)
		if res.Err != nil || res.Person != person {
			t.Fatalf("replayed access with %q: person %v (%v), want %v", fields[0], res.Person, res.Err, person)
		}
		if _, ok := r.findMachine(&mg); !ok {
			t.Fatalf("replayed access with %q: machine not created", fields[1])
		}
	}
}

// The request path, as a Store runs it (Handle, then the change logged), allocates nothing
// per request once its buffers have grown: new persons included. (Reading a new person's
// random bits into a local GUID was an allocation per new person.) The tables still grow
// now and then, so the bound is per batch, far under one per request.
func TestRequestPathAllocations(t *testing.T) {
	r := newTestRegistry(t)
	var log, out []byte
	changed := func(req *Request, res *Result) error {
		log = appendLogRequest(log, req, res)
		return nil
	}
	newPersons := func() []byte {
		var b []byte
		for i := 0; i < 100; i++ {
			b = AppendRequest(b, &Request{Op: OpAccess, When: 5, Machine: []byte(m1), URL: []byte("http://a/"), Arg: []byte("a"), Flags: FlagQuiet})
		}
		return b
	}()
	res, _ := r.Do(&Request{Op: OpAccess, When: 5, Machine: []byte(m1), URL: []byte("http://a/")}, nil)
	var known []byte
	for i := 0; i < 100; i++ {
		known = AppendRequest(known, &Request{Op: OpAccess, When: 5, Person: []byte(res.Person.String()), Machine: []byte(m1), URL: []byte("http://a/"), Flags: FlagQuiet})
	}
	for _, c := range []struct {
		name  string
		batch []byte
	}{{"new persons", newPersons}, {"known person", known}} {
		n := testing.AllocsPerRun(50, func() {
			log = log[:0]
			var err error
			if out, err = r.Handle(c.batch, out[:0], changed); err != nil {
				t.Fatal(err)
			}
		})
		if n > 5 {
			t.Errorf("%s: %v allocations per batch of 100 requests", c.name, n)
		}
	}
}

// BenchmarkAppendLogRequest times logging one access (appendLogRequest), which every change
// costs on top of the action.
func BenchmarkAppendLogRequest(b *testing.B) {
	req := Request{Op: OpAccess, When: 1_800_000_000, Machine: []byte(m1), URL: []byte("http://12345.netdata.rocks/"), Arg: []byte("test1")}
	res := Result{Person: GUID{1, 2, 3}, machine: GUID{4, 5, 6}} // as access returns it
	buf := make([]byte, 0, 1<<10)
	for b.Loop() {
		buf = appendLogRequest(buf[:0], &req, &res)
	}
}

// What access returns is what the log needs: its record, replayed into another registry,
// re-creates the same person and machine. (appendLogRequest takes the machine from Result.)
func TestLoggedAccessReplays(t *testing.T) {
	r := newTestRegistry(t)
	req := Request{Op: OpAccess, When: 7, Machine: []byte(m1), URL: []byte("http://a/"), Arg: []byte("a")}
	res, _ := r.Do(&req, nil)
	if !res.Changed {
		t.Fatalf("access: %+v", res)
	}
	reqs, err := parseBatch(appendLogRequest(nil, &req, &res), nil, true)
	if err != nil || len(reqs) != 1 {
		t.Fatalf("log record: %v %v", reqs, err)
	}
	r2 := newTestRegistry(t)
	if got, _ := r2.Do(&reqs[0], nil); got.Err != nil || got.Person != res.Person {
		t.Fatalf("replayed: %+v, want person %v", got, res.Person)
	}
	mg, _ := ParseGUID(m1)
	if _, ok := r2.findMachine(&mg); !ok {
		t.Fatal("replayed access did not create its machine")
	}
}

// Handle reuses one Result for the whole batch, and access fills it field by field: every
// request must still see only its own outcome, whatever the one before left there.
func TestHandleResultsDoNotLeak(t *testing.T) {
	r := newTestRegistry(t)
	var batch []byte
	batch = AppendRequest(batch, &Request{Op: OpAccess, When: 5, Machine: []byte(m1), URL: []byte("http://a/"), Arg: []byte("a")})
	batch = AppendRequest(batch, &Request{Op: OpAccess, When: 5, Machine: []byte("bad"), URL: []byte("http://a/")})
	batch = AppendRequest(batch, &Request{Op: OpAccess, When: 6, Machine: []byte(m2), URL: []byte("http://b/"), Arg: []byte("b")})
	batch = AppendRequest(batch, &Request{Op: OpHello, When: 7})
	resps, _, got := handleChanged(t, r, batch, 4)
	want := []struct {
		status int
		person bool
	}{{200, true}, {400, false}, {200, true}, {200, false}}
	for i, w := range want {
		if resps[i].Status != w.status || (resps[i].Person != "") != w.person {
			t.Errorf("response %d: status %d person %q, want %d and person %v", i, resps[i].Status, resps[i].Person, w.status, w.person)
		}
	}
	// Only the two accesses changed anything; the second carries no error from the failure.
	if len(got) != 2 || got[0].Err != nil || got[1].Err != nil || got[1].Status != 200 || got[1].machine != mustGUID(t, m2) {
		t.Fatalf("changed results %+v", got)
	}
}

func mustGUID(t *testing.T, s string) GUID {
	t.Helper()
	g, ok := ParseGUID(s)
	if !ok {
		t.Fatalf("bad GUID %q", s)
	}
	return g
}
