package host_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/regwasm/regwasm/host"
)

// TestCrash SIGKILLs a real process that records accesses, at random moments, and checks
// after each kill that the directory holds every acknowledged access: the stats count
// exactly the acknowledged accesses, or one more (the one in flight, logged but not yet
// printed), and every file verifies. 5 kills by default, 100 with REGWASM_FULL=1.
func TestCrash(t *testing.T) {
	kills := 5
	if os.Getenv("REGWASM_FULL") == "1" {
		kills = 100
	}
	ctx := context.Background()
	dir := t.TempDir()
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	acked := uint64(0)
	inFlight := 0
	for k := range kills {
		n, err := runAndKill(t, dir, testCache, rnd)
		if err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		acked += n
		r, err := host.Open(ctx, dir, host.WithCompilationCache(testCache))
		if err != nil {
			t.Fatalf("kill %d: reopening: %v", k, err)
		}
		st, err := r.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := r.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		switch st.Accesses {
		case acked:
		case acked + 1:
			acked++ // the access in flight made it to the log: it counts from now on
			inFlight++
		default:
			t.Fatalf("kill %d: %d accesses acknowledged, the registry holds %d", k, acked, st.Accesses)
		}
		if !rep.Healthy {
			t.Fatalf("kill %d: files unhealthy after reopening: %+v", k, rep)
		}
	}
	t.Logf("%d kills, %d accesses acknowledged (%d more were in flight and kept)", kills, acked, inFlight)
	if acked == 0 {
		t.Fatal("no access was ever acknowledged")
	}
}

// runAndKill starts crashChild on dir, kills it at a random moment and returns how many
// accesses it acknowledged.
func runAndKill(t *testing.T, dir, cache string, rnd *rand.Rand) (uint64, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), "REGWASM_CRASH_DIR="+dir, "REGWASM_CRASH_CACHE="+cache)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	first := make(chan struct{})
	done := make(chan uint64)
	go func() {
		var n uint64
		for sc := bufio.NewScanner(out); sc.Scan(); {
			if sc.Text() == "ack" {
				if n++; n == 1 {
					close(first)
				}
			}
		}
		done <- n
	}()
	// Mostly while it works; one time in five at any moment, starting and loading included.
	if rnd.IntN(5) > 0 {
		select {
		case <-first:
		case <-time.After(30 * time.Second):
		}
	}
	time.Sleep(time.Duration(rnd.IntN(300)) * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		return 0, err
	}
	n := <-done
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 {
		return n, fmt.Errorf("child did not die by the kill (%v): %s", err, stderr.Bytes())
	}
	return n, nil
}

// TestCrashChild is runAndKill's process: it records accesses until it is killed, printing
// "ack" after each one the registry acknowledged, and saves now and then.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("REGWASM_CRASH_DIR")
	if dir == "" {
		t.Skip("helper process of TestCrash")
	}
	ctx := context.Background()
	r, err := host.Open(ctx, dir, host.WithCompilationCache(os.Getenv("REGWASM_CRASH_CACHE")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	persons := make([]uuid.UUID, 8)
	for i := 0; ; i++ {
		p := i % len(persons)
		m := uuid.MustParse(fmt.Sprintf("%08x-0000-4000-8000-%012x", i%13, i%13))
		res, err := r.Access(ctx, persons[p], m, "http://agent"+strconv.Itoa(i%13)+"/", "agent")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Stdout.WriteString("ack\n")
		persons[p] = res.Person
		if i%25 == 24 {
			if _, err := r.Save(ctx); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
	}
}
