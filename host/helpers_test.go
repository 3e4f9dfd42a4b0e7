package host

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
)

// testCache is a compilation cache for the tests' child processes (and the tests of the
// cache), so that they load the module instead of compiling it again.
var testCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "regwasm-host-test-cache")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Machine GUIDs and URLs the tests use: m1, m2 as the typed API takes them, s1, s2 as
// request fields.
var (
	s1 = "11111111-1111-4111-8111-111111111111"
	s2 = "22222222-2222-4222-8222-222222222222"
	m1 = uuid.MustParse(s1)
	m2 = uuid.MustParse(s2)
	u1 = "http://one:19999/"
	u2 = "http://two:19999/"
)

func open(t testing.TB, dir string, opts ...Option) *Registry {
	t.Helper()
	r, err := Open(context.Background(), dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func stats(t testing.TB, r *Registry) Stats {
	t.Helper()
	s, err := r.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func access(t testing.TB, r *Registry, person, machine uuid.UUID, url, name string) AccessResult {
	t.Helper()
	res, err := r.Access(context.Background(), person, machine, url, name)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// machine returns the i-th test machine GUID.
func machine(i int) uuid.UUID {
	return uuid.MustParse(fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i))
}

// at is a fixed time of the test sequences, whole seconds.
var at = time.Now().Add(-48 * time.Hour).Truncate(time.Second)
