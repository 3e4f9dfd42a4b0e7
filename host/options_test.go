package host

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// countingReader is a deterministic random source that records how much was read.
type countingReader struct {
	mu   sync.Mutex
	next byte
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range p {
		p[i] = c.next
		c.next++
	}
	c.read += len(p)
	return len(p), nil
}

func (c *countingReader) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read
}

// TestDeterministicOptions checks WithRandSource and WithWalltime: the registry's GUIDs take
// exactly their random bytes from the reader (the Go runtime's start inside the module does
// not touch it, also after a trap restarts the instance), and the realtime clock is the one
// given: requests without a time, saves and the registry's own machine GUID use it.
func TestDeterministicOptions(t *testing.T) {
	ctx := context.Background()
	rnd := &countingReader{}
	at := time.Unix(1_700_000_000, 0)
	r := open(t, t.TempDir(), WithCompilationCache(testCache), WithRandSource(rnd), WithWalltime(func() time.Time { return at }))
	// Opening made the registry's machine GUID: 10 random bytes, the clock's time.
	if got := rnd.total(); got != 10 {
		t.Fatalf("opening read %d random bytes, want 10 (the machine GUID's)", got)
	}
	h, err := r.Hello(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 1_700_000_000_000 ms = 0x18bcfe56800; bytes 0..9 of the reader, version and variant set.
	if want := "018bcfe5-6800-7001-8203-040506070809"; h.MachineGUID.String() != want {
		t.Fatalf("machine GUID %s, want %s", h.MachineGUID, want)
	}

	res, err := r.Access(ctx, uuid.Nil, m1, u1, "one") // no time: the clock's
	if err != nil {
		t.Fatal(err)
	}
	if want := "018bcfe5-6800-7a0b-8c0d-0e0f10111213"; res.Person.String() != want {
		t.Fatalf("person %s, want %s", res.Person, want)
	}
	if !res.URLs[0].LastAccess.Equal(at) {
		t.Fatalf("last access %v, want the clock's %v", res.URLs[0].LastAccess, at)
	}

	// A trapped instance is replaced; the new one's runtime start reads crypto/rand, not rnd.
	if err := r.trap(ctx); !errors.Is(err, ErrTrapped) {
		t.Fatalf("trap: %v", err)
	}
	if got := rnd.total(); got != 20 {
		t.Fatalf("after a restart %d random bytes were read, want 20", got)
	}
	res, err = r.Access(ctx, uuid.Nil, m1, u2, "two")
	if err != nil {
		t.Fatal(err)
	}
	if want := "018bcfe5-6800-7415-9617-18191a1b1c1d"; res.Person.String() != want {
		t.Fatalf("person after the restart %s, want %s", res.Person, want)
	}
	at = at.Add(time.Hour) // the clock is read at every use
	info, err := r.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Storage.LastSave.Equal(at) || info.File != "registry.db.2" {
		t.Fatalf("save %+v at %v, want the clock's %v", info, st.Storage.LastSave, at)
	}
}

// TestDefaultRandomness checks that without the options two registries make different GUIDs
// (crypto/rand), so the deterministic path is only taken on request.
func TestDefaultRandomness(t *testing.T) {
	ctx := context.Background()
	var guids [2][]byte
	for i := range guids {
		r := open(t, t.TempDir(), WithCompilationCache(testCache))
		res, err := r.Access(ctx, uuid.Nil, m1, u1, "one")
		if err != nil {
			t.Fatal(err)
		}
		guids[i], _ = hex.DecodeString(res.Person.String()[24:])
	}
	if bytes.Equal(guids[0], guids[1]) {
		t.Fatalf("two registries made the same random GUID bits %x", guids[0])
	}
}
