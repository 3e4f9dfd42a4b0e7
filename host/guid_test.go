package host

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
)

// TestTypedGUIDs: the Go API takes and returns uuid.UUID for persons and machines; the
// string forms stay in Request and Response, the module's own.
func TestTypedGUIDs(t *testing.T) {
	ctx := context.Background()
	r := open(t, t.TempDir())
	a := access(t, r, uuid.Nil, m1, u1, "one")
	b := access(t, r, uuid.Nil, m1, u1, "one")
	if a.Person == uuid.Nil || a.Person == b.Person || a.URLs[0].Machine != m1 {
		t.Fatalf("accesses %+v %+v", a, b)
	}
	urls, err := r.Search(ctx, a.Person, m1, u1, m1)
	if err != nil || len(urls) != 1 || urls[0].Machine != m1 {
		t.Fatalf("search %+v %v", urls, err)
	}
	to, err := r.Switch(ctx, a.Person, m1, u1, b.Person)
	if err != nil || to != b.Person {
		t.Fatalf("switch %s %v", to, err)
	}
	h, err := r.Hello(ctx)
	if set, _ := r.Settings(ctx); err != nil || h.MachineGUID == uuid.Nil || h.MachineGUID.String() != set.MachineGUID {
		t.Fatalf("hello %+v %v", h, err)
	}
	// uuid.Nil as a machine is sent as the zero GUID, which the registry refuses.
	if _, err := r.Access(ctx, a.Person, uuid.Nil, u1, "x"); !errors.Is(err, ErrRefused) {
		t.Fatalf("access to the zero machine: %v", err)
	}
	// An answer whose GUID does not parse is the module's fault, not a nil GUID.
	if _, err := (Response{Status: 200, Person: "garbage", Body: []byte(`{"urls":[]}`)}).Access(); !errors.Is(err, ErrInternal) {
		t.Fatalf("a garbage person GUID: %v", err)
	}
	if _, err := (Response{Status: 200, Body: []byte(`{"urls":[["zz","http://x/",0,1,"x"]]}`)}).URLs(); err == nil {
		t.Fatal("a garbage machine GUID decoded")
	}
}
