package host

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// lockRecordFor is a lock record of process pid on this machine, as its holder would write
// it (its real start time where the OS gives it), changed by edits.
func lockRecordFor(t testing.TB, pid int, edits ...func(*lockRecord)) []byte {
	t.Helper()
	me := lockIdentity()
	r := lockRecord{Format: lockFormat, Token: "t" + strconv.Itoa(pid) + strconv.FormatInt(time.Now().UnixNano(), 36),
		PID: pid, Boot: me.boot, PIDNS: me.pidns, Host: me.host, Program: "stale-test", Runtime: "go",
		Since: time.Now().UTC().Format(time.RFC3339)}
	if st, ok := procStat(pid); ok {
		r.Start = st.start
	}
	for _, e := range edits {
		e(&r)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// exitedPid returns the pid of a process that has exited and been reaped.
func exitedPid(t testing.TB) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// neverPid returns a pid no process can have (above the kernel's pid_max), for locks of an
// older regwasm: they hold a pid alone, so a dead holder's pid reused by the many processes
// the tests start would make the lock look alive (a loud refusal, rightly, but not the state
// the test means). Where pid_max cannot be read, an exited process's pid.
func neverPid(t testing.TB) int {
	t.Helper()
	if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n + 1
		}
	}
	return exitedPid(t)
}

// sleeper starts a live, unrelated process; it is killed at the end of the test.
func sleeper(t testing.TB) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "120")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// lockNames lists the lock's files in dir.
func lockNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), LockName) {
			names = append(names, e.Name())
		}
	}
	return names
}

// takesOver checks that lockDir takes dir's stale lock and leaves only its own lock file.
func takesOver(t *testing.T, dir string) {
	t.Helper()
	l, err := lockDir(dir)
	if err != nil {
		t.Fatalf("a stale lock was not taken over: %v", err)
	}
	cur, f, err := readLock(filepath.Join(dir, LockName))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if cur.Token != l.token || cur.PID != os.Getpid() {
		t.Fatalf("the lock file holds %+v after the takeover", cur)
	}
	if names := lockNames(t, dir); len(names) != 1 {
		t.Fatalf("left behind: %v", names)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if names := lockNames(t, dir); len(names) != 0 {
		t.Fatalf("after the release: %v", names)
	}
}

// refuses checks that lockDir refuses dir naming the holder, with the words in want.
func refuses(t *testing.T, dir string, want ...string) {
	t.Helper()
	l, err := lockDir(dir)
	if err == nil {
		l.Close()
		t.Fatal("a live holder's lock was taken")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("refused with %v", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("the refusal lacks %q: %v", w, err)
		}
	}
}

func writeLock(t testing.TB, dir, name string, content []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Stale locks are taken over and live ones refused, whatever a dead holder left: a dead or
// reused pid, a zombie, another boot, an older regwasm's lock, unreadable bytes, claimers
// that died.
func TestLockStale(t *testing.T) {
	linux := runtime.GOOS == "linux"
	live := sleeper(t)
	livePid := live.Process.Pid
	cases := []struct {
		name    string
		content func() []byte
		linux   bool // needs /proc (start times, boot id)
	}{
		{"dead pid", func() []byte { return lockRecordFor(t, exitedPid(t)) }, false},
		{"pid reused by a live unrelated process", func() []byte {
			return lockRecordFor(t, livePid, func(r *lockRecord) { r.Start = "1" })
		}, true},
		{"pid reused by this process", func() []byte {
			return lockRecordFor(t, os.Getpid(), func(r *lockRecord) { r.Start = "1" })
		}, true},
		{"another boot", func() []byte {
			return lockRecordFor(t, livePid, func(r *lockRecord) { r.Boot = "00000000-0000-0000-0000-000000000000" })
		}, true},
		{"a Go holder's flock is free (its pid reused, no start time)", func() []byte {
			return lockRecordFor(t, livePid, func(r *lockRecord) { r.Start, r.Flock = "", true })
		}, false},
		{"older regwasm, no flock held", func() []byte { return []byte(strconv.Itoa(livePid) + "\n") }, false},
		{"unreadable", func() []byte { return []byte("\x00\x00garbage") }, false},
		{"empty", func() []byte { return nil }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.linux && !linux {
				t.Skip("needs /proc")
			}
			dir := t.TempDir()
			writeLock(t, dir, LockName, c.content())
			takesOver(t, dir)
		})
	}

	t.Run("a zombie", func(t *testing.T) {
		if !linux {
			t.Skip("needs /proc")
		}
		z := exec.Command("sleep", "120")
		if err := z.Start(); err != nil {
			t.Fatal(err)
		}
		defer z.Wait()
		dir := t.TempDir()
		writeLock(t, dir, LockName, lockRecordFor(t, z.Process.Pid))
		refuses(t, dir, "process "+strconv.Itoa(z.Process.Pid))
		z.Process.Signal(syscall.SIGKILL) // killed, not reaped
		for st, ok := procStat(z.Process.Pid); !ok || !st.zombie; st, ok = procStat(z.Process.Pid) {
			time.Sleep(time.Millisecond)
		}
		takesOver(t, dir)
	})

	t.Run("live holder, then killed", func(t *testing.T) {
		s := sleeper(t)
		dir := t.TempDir()
		writeLock(t, dir, LockName, lockRecordFor(t, s.Process.Pid))
		host, _ := os.Hostname()
		refuses(t, dir, "process "+strconv.Itoa(s.Process.Pid), "stale-test", "Go host", "on host "+host, "since ")
		s.Process.Kill()
		s.Wait()
		takesOver(t, dir)
	})

	t.Run("older regwasm holding its flock", func(t *testing.T) {
		dir := t.TempDir()
		writeLock(t, dir, LockName, []byte(strconv.Itoa(os.Getpid())+"\n"))
		f, err := os.Open(filepath.Join(dir, LockName))
		if err != nil {
			t.Fatal(err)
		}
		if !flockHold(f) {
			f.Close()
			t.Skip("no flock here")
		}
		refuses(t, dir, "process "+strconv.Itoa(os.Getpid()), "older version")
		f.Close()
		takesOver(t, dir)
	})

	t.Run("another host or PID namespace cannot be checked", func(t *testing.T) {
		dir := t.TempDir()
		writeLock(t, dir, LockName, lockRecordFor(t, exitedPid(t), func(r *lockRecord) { r.Host = "elsewhere" }))
		refuses(t, dir, "on host elsewhere", "another host", "remove the lock file")
		if linux {
			writeLock(t, dir, LockName, lockRecordFor(t, exitedPid(t), func(r *lockRecord) { r.PIDNS = "pid:[1]" }))
			refuses(t, dir, "another PID namespace")
		}
	})

	t.Run("claimers that died", func(t *testing.T) {
		dir := t.TempDir()
		stale := lockRecordFor(t, exitedPid(t))
		writeLock(t, dir, LockName, stale)
		// Two openers died in turn after claiming: .takeover.<stale>, .takeover.<claimer 1>.
		c1 := lockRecordFor(t, exitedPid(t))
		c2 := lockRecordFor(t, exitedPid(t))
		writeLock(t, dir, LockName+lockClaimInfix+parseLockRecord(stale).Token, c1)
		writeLock(t, dir, LockName+lockClaimInfix+parseLockRecord(c1).Token, c2)
		// And one died after its takeover, before removing its claim; plus a dead opener's
		// temporary file.
		writeLock(t, dir, LockName+lockClaimInfix+"gone", c1)
		writeLock(t, dir, LockName+"."+parseLockRecord(c2).Token+lockTmpSuffix, c2)
		takesOver(t, dir)
	})

	t.Run("a live claimer is waited for, then named", func(t *testing.T) {
		defer func(w time.Duration) { lockWait = w }(lockWait)
		lockWait = 200 * time.Millisecond
		s := sleeper(t)
		dir := t.TempDir()
		stale := lockRecordFor(t, exitedPid(t))
		writeLock(t, dir, LockName, stale)
		writeLock(t, dir, LockName+lockClaimInfix+parseLockRecord(stale).Token, lockRecordFor(t, s.Process.Pid))
		refuses(t, dir, "process "+strconv.Itoa(s.Process.Pid), "taking over")
		s.Process.Kill()
		s.Wait()
		takesOver(t, dir)
	})
}

// Openers racing for one stale lock (goroutines of this process: each claimer is alive to
// the others): exactly one wins each round, the others are refused naming this process.
func TestLockTakeoverRace(t *testing.T) {
	rounds, racers := 200, 8
	if testing.Short() {
		rounds = 50
	}
	dead := exitedPid(t)
	for round := range rounds {
		dir := t.TempDir()
		stale := lockRecordFor(t, dead)
		writeLock(t, dir, LockName, stale)
		if round%2 == 1 { // and a claimer that died
			writeLock(t, dir, LockName+lockClaimInfix+parseLockRecord(stale).Token, lockRecordFor(t, dead))
		}
		var (
			start  sync.WaitGroup
			done   sync.WaitGroup
			mu     sync.Mutex
			winner []*dirLock
			errs   []error
		)
		start.Add(1)
		for range racers {
			done.Go(func() {
				start.Wait()
				l, err := lockDir(dir)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					winner = append(winner, l)
				} else {
					errs = append(errs, err)
				}
			})
		}
		start.Done()
		done.Wait()
		if len(winner) != 1 {
			t.Fatalf("round %d: %d winners; errors %v", round, len(winner), errs)
		}
		for _, err := range errs {
			if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "this process") {
				t.Fatalf("round %d: a loser got %v", round, err)
			}
		}
		if names := lockNames(t, dir); len(names) != 1 {
			t.Fatalf("round %d: left behind %v", round, names)
		}
		winner[0].Close()
	}
}

// Close removes the lock file only while it holds this lock's record; LockDir and CheckLock
// are the lock for programs that read the files.
func TestLockRelease(t *testing.T) {
	dir := t.TempDir()
	l, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckLock(dir); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "this process") {
		t.Fatalf("CheckLock on a held directory: %v", err)
	}
	other := lockRecordFor(t, os.Getpid(), func(r *lockRecord) { r.Token = "someoneelse" })
	writeLock(t, dir, LockName, other)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, LockName)); string(b) != string(other) {
		t.Fatalf("Close removed or changed a lock that was not its own: %q", b)
	}
	os.Remove(filepath.Join(dir, LockName))
	if err := CheckLock(dir); err != nil {
		t.Fatalf("CheckLock on a free directory: %v", err)
	}
	if _, err := LockDir(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LockDir of a missing directory: %v", err)
	}
}

// A data directory reached through a symlink opens, and is the same directory: its lock
// holds against the real path.
func TestLockSymlinkDir(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	r := open(t, link)
	access(t, r, uuid.Nil, m1, u1, "one")
	if _, err := Open(t.Context(), real); !errors.Is(err, ErrLocked) {
		t.Fatalf("the real path while the symlink's registry holds it: %v", err)
	}
	r.Close()
	r = open(t, real)
	if st := stats(t, r); st.Persons != 1 {
		t.Fatalf("through the real path: %+v", st)
	}
}
