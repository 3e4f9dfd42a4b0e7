package host

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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
	t.Run("race", func(t *testing.T) {
		racers := []*peer{peers["go"][0], peers["go"][1], startPeer(t, "go"), peers["node"][0], peers["node"][1], startPeer(t, "node")}
		lockRace(t, &tally, racers)
	})
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

// lockRaceKinds are the states a race's directory starts in: what dead holders leave.
var lockRaceKinds = []struct {
	name  string
	setup func(t *testing.T, dir string, livePid int)
}{
	{"no lock", func(*testing.T, string, int) {}},
	{"dead holder", func(t *testing.T, dir string, _ int) { writeLock(t, dir, LockName, lockRecordFor(t, exitedPid(t))) }},
	{"pid reused", func(t *testing.T, dir string, live int) {
		writeLock(t, dir, LockName, lockRecordFor(t, live, func(r *lockRecord) { r.Start = "1" }))
	}},
	{"dead claimer", func(t *testing.T, dir string, _ int) {
		stale := lockRecordFor(t, exitedPid(t))
		writeLock(t, dir, LockName, stale)
		writeLock(t, dir, LockName+lockClaimInfix+parseLockRecord(stale).Token, lockRecordFor(t, exitedPid(t)))
	}},
	{"died after its takeover", func(t *testing.T, dir string, _ int) {
		holder := lockRecordFor(t, exitedPid(t))
		writeLock(t, dir, LockName, holder)
		writeLock(t, dir, LockName+lockClaimInfix+"earlier", holder)
		writeLock(t, dir, LockName+".dead"+lockTmpSuffix, lockRecordFor(t, exitedPid(t)))
	}},
	{"older regwasm", func(t *testing.T, dir string, _ int) {
		writeLock(t, dir, LockName, []byte(strconv.Itoa(neverPid(t))+"\n"))
	}},
	{"unreadable", func(t *testing.T, dir string, _ int) { writeLock(t, dir, LockName, []byte("\x00")) }},
}

// lockRace: the racers (Go and Node processes) take one directory's lock at the same moment,
// round after round, from every state a dead holder can leave: exactly one wins, the others
// are refused naming it, and only the winner's lock file is left. REGWASM_FULL=1 runs 1,000
// rounds instead of 70.
func lockRace(t *testing.T, tally *lockTally, racers []*peer) {
	rounds := 70
	if os.Getenv("REGWASM_FULL") != "" {
		rounds = 1000
	}
	live := sleeper(t).Process.Pid
	base := t.TempDir()
	won := map[string]int{}
	for round := range rounds {
		kind := lockRaceKinds[round%len(lockRaceKinds)]
		dir := filepath.Join(base, strconv.Itoa(round))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		kind.setup(t, dir, live)
		at := time.Now().Add(40 * time.Millisecond).UnixMilli()
		for _, p := range racers {
			p.send(t, peerCmd{Cmd: "lock", ID: "race", Dir: dir, At: at})
		}
		replies := make([]peerReply, len(racers))
		var winner *peer
		winners := 0
		for i, p := range racers {
			replies[i] = p.wait(t)
			if replies[i].R == "locked" {
				winner = p
				winners++
			}
		}
		if winners != 1 {
			tally.note(t, false, fmt.Sprintf("round %d (%s): %d winners: %+v", round, kind.name, winners, replies))
			t.FailNow()
		}
		won[winner.kind]++
		for i, p := range racers {
			if p == winner {
				tally.note(t, false, "")
				continue
			}
			tally.note(t, true, refusal(replies[i], winner, fmt.Sprintf("round %d (%s), %s", round, kind.name, p)))
		}
		if names := lockNames(t, dir); len(names) != 1 || names[0] != LockName {
			t.Errorf("round %d (%s): left behind %v", round, kind.name, names)
		}
		winner.do(t, peerCmd{Cmd: "close", ID: "race"})
		if names := lockNames(t, dir); len(names) != 0 {
			t.Errorf("round %d (%s): after the release %v", round, kind.name, names)
		}
	}
	t.Logf("lock race: %d rounds of %d processes (Go and Node) from %d starting states: exactly one winner each time (Go won %d, Node %d)",
		rounds, len(racers), len(lockRaceKinds), won["go"], won["node"])
}
