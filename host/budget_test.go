package host

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
)

// TestMemoryLimitGivesTheBudget: the module is told WithMemoryLimit (REGWASM_MEMORY_LIMIT) and
// derives its tables' budget from it; "memory budget" lowers it; an access past it is a
// StatusError 507 matching ErrMemoryBudget and ErrRefused, and known persons go on.
func TestMemoryLimitGivesTheBudget(t *testing.T) {
	ctx := context.Background()
	for _, limit := range []uint64{64 << 20, DefaultMemoryLimit} {
		r := open(t, t.TempDir(), WithMemoryLimit(limit))
		want := uint64(float64(limit-16<<20) / 3.5) // registry/budget.go
		if got := stats(t, r).Budget; got != want {
			t.Fatalf("limit %d: budget %d, want %d", limit, got, want)
		}
	}
	r := open(t, t.TempDir(), WithMemoryLimit(64<<20))
	set, err := r.Configure(ctx, "[registry]\nmemory budget = 100 KiB\n")
	if err != nil || set.MemoryBudget != 100<<10 {
		t.Fatalf("configure: %v %+v", err, set)
	}
	if got := stats(t, r).Budget; got != 100<<10 {
		t.Fatalf("budget %d after memory budget = 100 KiB", got)
	}
	first := access(t, r, uuid.Nil, m1, u1, "one")
	var err507 error
	for i := 0; err507 == nil && i < 10_000; i++ {
		_, err507 = r.Access(ctx, uuid.Nil, m1, u1, "one")
	}
	var se *StatusError
	if !errors.As(err507, &se) || se.Status != StatusMemoryBudget || !errors.Is(err507, ErrMemoryBudget) || !errors.Is(err507, ErrRefused) {
		t.Fatalf("past the budget: %v, want a 507 StatusError matching ErrMemoryBudget and ErrRefused", err507)
	}
	if res := access(t, r, first.Person, m1, u1, "one"); res.Person != first.Person {
		t.Fatalf("known person: %+v", res)
	}
	if errors.Is(&StatusError{Status: 503}, ErrMemoryBudget) {
		t.Fatal("a 503 matches ErrMemoryBudget")
	}
}

// TestNoNewPerson: Request.NoNewPerson refuses (429) an access that would make a person and
// lets a known person's through.
func TestNoNewPerson(t *testing.T) {
	ctx := context.Background()
	r := open(t, t.TempDir())
	first := access(t, r, uuid.Nil, m1, u1, "one")
	resps, err := r.Do(ctx, []Request{
		{Op: OpAccess, NoNewPerson: true, Machine: s1, URL: u1, Arg: "one"},
		{Op: OpAccess, NoNewPerson: true, Person: first.Person.String(), Machine: s2, URL: u2, Arg: "two"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resps[0].Status != 429 || resps[1].Status != 200 {
		t.Fatalf("new person %d, known person %d; want 429, 200", resps[0].Status, resps[1].Status)
	}
	if st := stats(t, r); st.Persons != 1 {
		t.Fatalf("%d persons, want 1", st.Persons)
	}
}
