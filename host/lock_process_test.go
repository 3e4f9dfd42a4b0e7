package host

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// lockTally counts the two-process cases for the fault-suite report.
type lockTally struct {
	mu                          sync.Mutex
	run, refused, opened, wrong int
}

// note records one case: refused tells which way it went right; a non-empty problem is a
// wrong outcome (two holders, a stale lock that blocked, a refusal that does not name the
// holder).
func (c *lockTally) note(t testing.TB, refused bool, problem string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.run++
	switch {
	case problem != "":
		c.wrong++
		t.Error(problem)
	case refused:
		c.refused++
	default:
		c.opened++
	}
}

func (c *lockTally) String() string {
	return fmt.Sprintf("lock cases: %d run, %d refused correctly, %d opened correctly, %d wrong (two holders, a blocked stale lock, or an unnamed holder)",
		c.run, c.refused, c.opened, c.wrong)
}

// refusal returns "" when r refuses the directory naming holder, else what is wrong.
func refusal(r peerReply, holder *peer, what string) string {
	if r.R != "refused" {
		return fmt.Sprintf("%s: %s was not refused while %s holds it: %+v", what, "the directory", holder, r)
	}
	host, _ := os.Hostname()
	program := filepath.Base(os.Args[0])
	if holder.kind == "node" {
		program = "lock-peer.mjs"
	}
	for _, want := range []string{"process " + strconv.Itoa(holder.pid), program, host, "since"} {
		if !strings.Contains(r.Message, want) {
			return fmt.Sprintf("%s: the refusal does not name the holder (%q missing): %s", what, want, r.Message)
		}
	}
	return ""
}

// opening returns "" when r is want, else what is wrong.
func opening(r peerReply, want, what string) string {
	if r.R != want {
		return fmt.Sprintf("%s: %+v, want %s", what, r, want)
	}
	return ""
}

// TestLockProcesses opens one directory from two processes, for every pair of hosts (Go,
// Node): a held directory is refused naming its holder, a released one opens, and so does one
// whose holder was killed with -9. It prints the case count.
func TestLockProcesses(t *testing.T) {
	nodeOrSkip(t)
	var tally lockTally
	defer func() { t.Log(tally.String()) }()
	kinds := []string{"go", "node"}
	peers := map[string][2]*peer{}
	for _, k := range kinds {
		peers[k] = [2]*peer{startPeer(t, k), startPeer(t, k)}
	}
	for _, a := range kinds {
		for _, b := range kinds {
			t.Run(a+"-holds-"+b+"-opens", func(t *testing.T) {
				lockPairCases(t, &tally, peers[a][0], peers[b][1])
			})
		}
	}
	for _, k := range kinds {
		t.Run(k+"-same-process", func(t *testing.T) {
			p, dir := peers[k][0], t.TempDir()
			tally.note(t, false, opening(p.do(t, peerCmd{Cmd: "open", ID: "x", Dir: dir}), "opened", "first open"))
			tally.note(t, true, refusal(p.do(t, peerCmd{Cmd: "open", ID: "y", Dir: dir}), p, "second open in the process"))
			p.do(t, peerCmd{Cmd: "close", ID: "y"})
			p.do(t, peerCmd{Cmd: "close", ID: "x"})
		})
	}
}

// lockPairCases: a holds a directory, b opens it.
func lockPairCases(t *testing.T, tally *lockTally, a, b *peer) {
	dir := t.TempDir()
	tally.note(t, false, opening(a.do(t, peerCmd{Cmd: "open", ID: "a", Dir: dir}), "opened", "holder opens"))
	if r := a.do(t, peerCmd{Cmd: "access", ID: "a"}); r.R != "ok" || r.Persons != 1 {
		t.Fatalf("holder's access: %+v", r)
	}
	r := b.do(t, peerCmd{Cmd: "open", ID: "b", Dir: dir})
	tally.note(t, true, refusal(r, a, "held"))
	if r.R == "opened" {
		b.do(t, peerCmd{Cmd: "close", ID: "b"})
	}

	// Released: the next process opens and finds the data.
	a.do(t, peerCmd{Cmd: "close", ID: "a"})
	tally.note(t, false, opening(b.do(t, peerCmd{Cmd: "open", ID: "b", Dir: dir}), "opened", "released"))
	if r := b.do(t, peerCmd{Cmd: "access", ID: "b"}); r.R != "ok" || r.Persons != 2 {
		t.Errorf("after the release: %+v", r)
	}
	b.do(t, peerCmd{Cmd: "close", ID: "b"})

	// Killed with -9 while holding: the lock is stale, the next process opens.
	dir = t.TempDir()
	victim := startPeer(t, a.kind)
	tally.note(t, false, opening(victim.do(t, peerCmd{Cmd: "open", ID: "v", Dir: dir}), "opened", "victim opens"))
	victim.do(t, peerCmd{Cmd: "access", ID: "v"})
	victim.kill()
	tally.note(t, false, opening(b.do(t, peerCmd{Cmd: "open", ID: "b", Dir: dir}), "opened", "holder killed with -9"))
	if r := b.do(t, peerCmd{Cmd: "access", ID: "b"}); r.R != "ok" || r.Persons != 2 {
		t.Errorf("after the kill: %+v", r)
	}
	b.do(t, peerCmd{Cmd: "close", ID: "b"})
}
