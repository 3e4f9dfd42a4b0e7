package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/regwasm/regwasm/host"
)

// budgetCase fills a registry under a memory limit until the memory budget refuses.
type budgetCase struct {
	limitMiB int
	shape    string // persons: netdata's dummy cookie again and again; urls: new machines and URLs too
	perCall  int    // accesses per module call, so per log record (serve makes one per request)
}

func (c budgetCase) String() string {
	return fmt.Sprintf("%d MiB, %s, %d per call", c.limitMiB, c.shape, c.perCall)
}

// TestMemoryBudgetRestart is the fault suite's memory case: a registry is filled with new
// persons (and machines and URLs) through the module under a low memory limit
// (host.WithMemoryLimit) until the memory budget refuses them, then closed and opened again
// under the same limit. Each case must end refused, never trapped ("out of memory"), keep
// serving its known persons, and load again with everything it acknowledged, twice. Two cases
// by default, fifteen with REGWASM_FULL=1.
func TestMemoryBudgetRestart(t *testing.T) {
	cases := []budgetCase{{64, "persons", 1}, {64, "urls", 1000}}
	if os.Getenv("REGWASM_FULL") == "1" {
		// The persons shape costs the most memory (its persons table grows by copying), and
		// where the budget falls in its growth steps depends on the limit: many limits.
		cases = append(cases, budgetCase{64, "persons", 1000}, budgetCase{64, "urls", 1}, budgetCase{96, "persons", 100},
			budgetCase{128, "persons", 1000}, budgetCase{128, "urls", 1000}, budgetCase{128, "persons", 1},
			budgetCase{192, "persons", 1000}, budgetCase{256, "persons", 1000}, budgetCase{256, "urls", 1000},
			budgetCase{384, "persons", 1000}, budgetCase{512, "persons", 1000}, budgetCase{768, "persons", 1000},
			budgetCase{1024, "persons", 1000})
	}
	run, reloaded, trapped := 0, 0, 0
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			run++
			err := budgetRestart(t, c)
			if errors.Is(err, host.ErrTrapped) {
				trapped++
			}
			if err != nil {
				t.Fatal(err)
			}
			reloaded++
		})
	}
	t.Logf("memory budget cases: %d run, %d refused then reloaded under the same limit, %d trapped", run, reloaded, trapped)
}

func budgetRestart(t *testing.T, c budgetCase) error {
	ctx := context.Background()
	dir := t.TempDir()
	opts := []host.Option{host.WithCompilationCache(testCache), host.WithMemoryLimit(uint64(c.limitMiB) << 20)}
	r, err := host.Open(ctx, dir, opts...)
	if err != nil {
		return err
	}
	defer func() { r.Close() }()
	// log sync = save: the test is about memory, and fsyncs would only make it slower.
	if _, err := r.Configure(ctx, "[registry]\nlog sync = save\n"); err != nil {
		return err
	}
	const m0, u0 = "0b000000-0000-4000-8000-000000000000", "http://agent-0.example/"
	machine0 := uuid.MustParse(m0)
	first, err := r.Access(ctx, uuid.Nil, machine0, u0, "agent 0")
	if err != nil {
		return err
	}
	next := 1 // the shape's next new entry
	fillReq := func() host.Request {
		req := host.Request{Op: host.OpAccess, Quiet: true, Machine: m0, URL: u0, Arg: "agent 0"}
		if c.shape == "urls" {
			req.Machine = fmt.Sprintf("0b%06x-0000-4000-8000-000000000000", next)
			req.URL = fmt.Sprintf("http://agent-%d.example/", next)
			req.Arg = fmt.Sprint("agent ", next)
		}
		next++
		return req
	}
	// Two rounds: fill until refused, close, open again under the same limit; the second
	// round fills what the reloaded tables still take (little or nothing).
	for round := 1; round <= 2; round++ {
		t0 := time.Now()
		reqs := make([]host.Request, c.perCall)
		var refused host.Request
		for refused.Op == 0 {
			for k := range reqs {
				reqs[k] = fillReq()
			}
			resps, err := r.Do(ctx, reqs)
			if err != nil {
				return fmt.Errorf("round %d, entry %d: %w", round, next, err)
			}
			for k, resp := range resps {
				if err := resp.Err(); err != nil {
					if !errors.Is(err, host.ErrMemoryBudget) {
						return fmt.Errorf("round %d, entry %d: %w, want the memory budget's 507", round, next, err)
					}
					refused = reqs[k]
					break
				}
			}
		}
		filled, err := r.Stats(ctx)
		if err != nil {
			return err
		}
		fill := time.Since(t0)
		// Known persons keep working (and count); the refused entry stays refused.
		if res, err := r.Access(ctx, first.Person, machine0, u0, "agent 0"); err != nil || res.Person != first.Person {
			return fmt.Errorf("round %d: known person after the refusal: %v", round, err)
		}
		if resps, err := r.Do(ctx, []host.Request{refused}); err != nil || !errors.Is(resps[0].Err(), host.ErrMemoryBudget) {
			return fmt.Errorf("round %d: the refused access again: %v %v, want refused", round, err, resps)
		}
		want, err := r.Stats(ctx)
		if err != nil {
			return err
		}
		if want.Accesses != filled.Accesses+1 || want.Persons != filled.Persons {
			return fmt.Errorf("round %d: the known access was not counted: %+v after %+v", round, want, filled)
		}
		r.Close()

		t1 := time.Now()
		r, err = host.Open(ctx, dir, opts...)
		if err != nil {
			return fmt.Errorf("round %d: reopening under the same limit: %w", round, err)
		}
		got, err := r.Stats(ctx)
		if err != nil {
			return err
		}
		if got.Persons != want.Persons || got.Accesses != want.Accesses || got.PersonURLs != want.PersonURLs || got.URLs != want.URLs {
			return fmt.Errorf("round %d: reloaded %+v, want %+v", round, got, want)
		}
		if _, err := r.Access(ctx, first.Person, machine0, u0, "agent 0"); err != nil {
			return fmt.Errorf("round %d: known person after the reload: %v", round, err)
		}
		t.Logf("round %d: %d persons, tables %.1f MiB of a %.1f MiB budget; module memory %.1f MiB filling, %.1f MiB loading, of %d MiB; %d saves; filled in %v, reloaded in %v",
			round, want.Persons, mibs(want.Bytes), mibs(want.Budget), mibs(want.ModuleMemory), mibs(got.ModuleMemory), c.limitMiB,
			want.Storage.Generation-1, fill.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	}
	return nil
}

func mibs(n uint64) float64 { return float64(n) / (1 << 20) }
