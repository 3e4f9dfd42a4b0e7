package registry_test

import (
	"testing"

	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/dirfs"
)

// TestImportMissingFileSameEverywhere checks that importing a file that does not exist is
// answered in the same words over memory and over a directory: a response body is the same
// on every host, and never names a host path.
func TestImportMissingFileSameEverywhere(t *testing.T) {
	dir, err := dirfs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, st := range []registry.Storage{&registry.MemStorage{}, dir} {
		s, err := registry.OpenStore(st, nil)
		if err != nil {
			t.Fatal(err)
		}
		batch := registry.AppendRequest(nil, &registry.Request{Op: registry.OpImport, Person: []byte("missing.db")})
		out, err := s.Handle(batch, nil)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := registry.ParseResponses(out)
		if err != nil || len(rs) != 1 || rs[0].Status != 400 {
			t.Fatalf("%v %+v", err, rs)
		}
		// The machine GUID differs between the two stores: compare from the error on.
		b := string(rs[0].Body)
		bodies = append(bodies, b[len(b)-len(`"error":"registry: read missing.db: file does not exist"}`):])
	}
	if bodies[0] != bodies[1] || bodies[0] != `"error":"registry: read missing.db: file does not exist"}` {
		t.Fatalf("memory answered %s, a directory %s", bodies[0], bodies[1])
	}
}
