package registry

import (
	"encoding/json"
	"errors"
	"testing"
)

type topBody struct {
	Action   string `json:"action"`
	Status   string `json:"status"`
	Error    string `json:"error"`
	Machines []struct {
		GUID   string `json:"machine_guid"`
		Usages int    `json:"usages"`
		First  int    `json:"first"`
		Last   int    `json:"last"`
		URLs   int    `json:"urls"`
		URL    string `json:"url"`
	} `json:"machines"`
}

func top(t *testing.T, r *Registry, limit string) (Result, topBody) {
	t.Helper()
	req := Request{Op: OpTop, Person: []byte(limit)}
	res, b := r.Do(&req, nil)
	var out topBody
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("top: body is not JSON: %v: %s", err, b)
	}
	return res, out
}

func TestTopMachines(t *testing.T) {
	r := newTestRegistry(t)
	res, out := top(t, r, "")
	if res.Status != 200 || len(out.Machines) != 0 || out.Action != "top" {
		t.Fatalf("empty registry: %d %+v", res.Status, out)
	}
	// m2 three accesses (two URLs, the newer last), m1 two, m3 two but used later than m1.
	access(t, r, 100, "", m2, "http://m2-old/", "old")
	access(t, r, 101, "", m1, "http://m1/", "one")
	access(t, r, 102, "", m1, "http://m1/", "one")
	access(t, r, 103, "", m2, "http://m2-new/", "new")
	access(t, r, 104, "", m3, "http://m3/", "three")
	access(t, r, 105, "", m3, "http://m3/", "three")
	access(t, r, 106, "", m2, "http://m2-new/", "new")
	res, out = top(t, r, "")
	if res.Status != 200 || res.Changed {
		t.Fatalf("top: status %d changed %v", res.Status, res.Changed)
	}
	var got []string
	for _, m := range out.Machines {
		got = append(got, m.GUID)
	}
	if want := []string{m2, m3, m1}; !equalStrings(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	first := out.Machines[0]
	if first.Usages != 3 || first.URLs != 2 || first.URL != "http://m2-new/" || first.First != 100 || first.Last != 106 {
		t.Fatalf("m2: %+v", first)
	}
	_, out = top(t, r, "2")
	if len(out.Machines) != 2 || out.Machines[1].GUID != m3 {
		t.Fatalf("limit 2: %+v", out.Machines)
	}
	for _, bad := range []string{"0", "101", "x", "-1", "1e2"} {
		res, out = top(t, r, bad)
		if res.Status != 400 || !errors.Is(res.Err, ErrBadLimit) || out.Status != "failed" {
			t.Fatalf("limit %q: %d %v %+v", bad, res.Status, res.Err, out)
		}
	}
}

// An EXPIRED URL (it now reaches another machine) is shown only when the machine has no other.
func TestTopMachinesPrefersLiveURL(t *testing.T) {
	r := newTestRegistry(t)
	res, _ := access(t, r, 100, "", m1, "http://live/", "a")
	p := res.Person.String()
	access(t, r, 101, p, m1, "http://moved/", "b")
	access(t, r, 102, p, m2, "http://moved/", "b") // the person's URL now reaches m2: m1's entry expires
	_, out := top(t, r, "")
	for _, m := range out.Machines {
		if m.GUID == m1 && m.URL != "http://live/" {
			t.Fatalf("m1's URL %q, want the live one", m.URL)
		}
	}
}

func TestTopMachinesThroughBatch(t *testing.T) {
	r := newTestRegistry(t)
	access(t, r, 100, "", m1, "http://m1/", "one")
	batch := AppendRequest(nil, &Request{Op: OpTop, Person: []byte("5")})
	reqs, err := ParseBatch(batch, nil)
	if err != nil || len(reqs) != 1 || string(reqs[0].Person) != "5" {
		t.Fatalf("ParseBatch: %v %+v", err, reqs)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
