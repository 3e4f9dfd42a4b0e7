package host

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The directory lock every host takes on a real directory: this file is the Go side,
// web/src/lock.js the Node side, RATIONALE.md ("One lock for every host") the protocol.
//
//   - DIR/.lock holds its holder's record, one JSON line (lockRecord). It is written whole
//     into DIR/.lock.<token>.tmp first and put in place with link(2), which fails when the
//     name exists: an opener never sees a half-written lock.
//   - The second opener reads the record and refuses while the holder lives (lockError
//     names it). A dead holder's lock is stale: the opener claims it by linking its own
//     record as DIR/.lock.takeover.<stale token> (exactly one opener can), checks that
//     DIR/.lock is still the stale one, and renames its record over it. A claimer that
//     died is itself a stale holder: the next opener claims .takeover.<its token>.
//   - The holder removes DIR/.lock on Close (if the record is still its own).
//
// A Go holder also keeps an flock on its lock file, so that Go openers tell a dead Go holder
// from a live one even where process start times are unknown (not Linux) or across PID
// namespaces; correctness does not depend on it (Node takes no flock).

const (
	lockFormat     = 1
	lockTmpSuffix  = ".tmp"
	lockClaimInfix = ".takeover."
)

// lockWait bounds the wait for another opener's takeover in progress (microseconds when it
// runs, so only a stopped claimer is ever waited for this long). A variable for the tests.
var lockWait = 5 * time.Second

// lockRecord is the content of a lock file (and of its temporary and claim files).
type lockRecord struct {
	Format  int    `json:"regwasm_lock"`
	Token   string `json:"token"`           // random, names the holder's temporary and claim files
	PID     int    `json:"pid"`             // the holder's process id
	Start   string `json:"start,omitempty"` // Linux: field 22 of /proc/PID/stat (ticks after boot)
	Boot    string `json:"boot,omitempty"`  // Linux: /proc/sys/kernel/random/boot_id
	PIDNS   string `json:"pidns,omitempty"` // Linux: the /proc/self/ns/pid link ("pid:[N]")
	Host    string `json:"host"`            // os.Hostname
	Program string `json:"program"`         // e.g. "regwasm serve", "node server.mjs"
	Runtime string `json:"runtime"`         // "go" or "node"
	Since   string `json:"since"`           // RFC 3339, UTC
	Flock   bool   `json:"flock,omitempty"` // the holder keeps an flock on the file

	valid  bool // a record of this protocol
	legacy bool // a lock file of regwasm before this protocol: the holder's pid alone
}

var tokenPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// parseLockRecord reads a lock file's content. Anything that is not a record gets a token
// made of its bytes, so that racing openers name the same claim file for it.
func parseLockRecord(b []byte) lockRecord {
	var r lockRecord
	if json.Unmarshal(b, &r) == nil && r.Format >= 1 && tokenPattern.MatchString(r.Token) && r.PID > 0 {
		r.valid = true
		return r
	}
	r = lockRecord{}
	if s := strings.TrimSpace(string(b)); s != "" && strings.Trim(s, "0123456789") == "" {
		if pid, err := strconv.Atoi(s); err == nil && pid > 0 {
			r.PID, r.legacy = pid, true
		}
	}
	sum := sha256.Sum256(b)
	r.Token = "x" + hex.EncodeToString(sum[:16])
	return r
}

// describe names the holder for a refusal.
func (r lockRecord) describe() string {
	if r.legacy {
		return fmt.Sprintf("process %d (a regwasm of an older version)", r.PID)
	}
	if !r.valid {
		return "an unreadable lock"
	}
	me := lockIdentity()
	runtime := map[string]string{"go": "Go host", "node": "Node host"}[r.Runtime]
	if runtime == "" {
		runtime = r.Runtime + " host"
	}
	if r.PID == me.pid && r.Host == me.host && r.Start == me.start {
		runtime += ", this process"
	}
	return fmt.Sprintf("process %d (%s, %s) on host %s since %s", r.PID, r.Program, runtime, r.Host, r.Since)
}

// lockSelf is this process as a lock records it.
type lockSelf struct {
	pid                            int
	start, boot, pidns, host, prog string
}

var self = sync.OnceValue(func() lockSelf {
	s := lockSelf{pid: os.Getpid(), boot: bootID(), pidns: pidNamespace()}
	if st, ok := procStat(s.pid); ok {
		s.start = st.start
	}
	s.host, _ = os.Hostname()
	s.prog = "go program"
	if len(os.Args) > 0 {
		s.prog = filepath.Base(os.Args[0])
		if len(os.Args) > 1 && subcommand.MatchString(os.Args[1]) {
			s.prog += " " + os.Args[1]
		}
	}
	return s
})

var subcommand = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

func lockIdentity() lockSelf { return self() }

// holderDead tells whether the holder of a lock (or claim) file is gone, and if it cannot
// be checked from here, why. f is the file the record was read from (for the flock probe).
func holderDead(r lockRecord, f *os.File) (dead bool, note string) {
	me := lockIdentity()
	if r.legacy {
		// The old Go host held an flock on it, and nothing else.
		if free, known := flockFree(f); known {
			return free, ""
		}
		return !pidExists(r.PID), ""
	}
	if !r.valid {
		// Every host writes its record before the name appears (link): an unreadable lock
		// was never any host's (a crash before the data reached the disk, or a stray file).
		return true, ""
	}
	if r.Host != me.host {
		return false, "; it runs on another host and cannot be checked from here: if it is gone, remove the lock file"
	}
	if r.Boot != "" && me.boot != "" && r.Boot != me.boot {
		return true, "" // the machine has restarted since
	}
	if r.Flock {
		if free, known := flockFree(f); known && free {
			return true, ""
		}
	}
	if r.PIDNS != "" && me.pidns != "" && r.PIDNS != me.pidns {
		return false, "; it runs in another PID namespace (a container) and cannot be checked from here: if it is gone, remove the lock file"
	}
	if !pidExists(r.PID) {
		return true, ""
	}
	if st, ok := procStat(r.PID); ok && (st.zombie || (r.Start != "" && st.start != r.Start)) {
		return true, "" // killed and not yet reaped, or the pid was reused by another process
	}
	return false, ""
}

// readLock opens a lock (or claim) file and reads its record; the file stays open for the
// flock probe and the caller closes it.
func readLock(path string) (lockRecord, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return lockRecord{}, nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		f.Close()
		return lockRecord{}, nil, err
	}
	return parseLockRecord(b), f, nil
}

// dirLock is a held directory lock.
type dirLock struct {
	path, tmp, token string
	file             *os.File // the lock file's inode, open while held (the Go host's flock)
	once             sync.Once
	err              error
}

// lockDir takes the lock of dir, or returns an error matching ErrLocked that names the
// live holder.
func lockDir(dir string) (*dirLock, error) {
	me := lockIdentity()
	var token [16]byte
	rand.Read(token[:])
	rec := lockRecord{Format: lockFormat, Token: hex.EncodeToString(token[:]), PID: me.pid, Start: me.start,
		Boot: me.boot, PIDNS: me.pidns, Host: me.host, Program: me.prog, Runtime: "go",
		Since: time.Now().UTC().Format(time.RFC3339)}
	path := filepath.Join(dir, LockName)
	l := &dirLock{path: path, tmp: path + "." + rec.Token + lockTmpSuffix, token: rec.Token}
	f, err := os.OpenFile(l.tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	l.file = f
	rec.Flock = flockHold(f)
	b, _ := json.Marshal(rec)
	if _, err = f.Write(append(b, '\n')); err == nil {
		err = l.acquire()
	}
	if err != nil {
		f.Close()
		os.Remove(l.tmp)
		return nil, err
	}
	return l, nil
}

// acquire puts the record in place, taking over a stale lock, or refuses.
func (l *dirLock) acquire() error {
	deadline := time.Now().Add(lockWait)
	for wait := time.Millisecond; ; {
		err := os.Link(l.tmp, l.path)
		if err == nil {
			os.Remove(l.tmp)
			l.sweep()
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("host: creating the lock file (the directory's file system must support hard links): %w", err)
		}
		cur, f, err := readLock(l.path)
		if errors.Is(err, fs.ErrNotExist) && time.Now().Before(deadline) {
			continue // released meanwhile
		}
		if err != nil {
			return err
		}
		if cur.Token == l.token { // a link that succeeded but reported EEXIST (NFS retransmits)
			f.Close()
			os.Remove(l.tmp)
			l.sweep()
			return nil
		}
		dead, note := holderDead(cur, f)
		f.Close()
		if !dead {
			return &lockError{path: l.path, holder: cur, note: note}
		}
		won, busy, err := l.takeOver(cur)
		if won || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			if busy == nil {
				busy = &cur
			}
			return &lockError{path: l.path, holder: *busy, note: "; it is taking over the lock of a process that died"}
		}
		if busy != nil {
			time.Sleep(wait)
			wait = min(2*wait, 50*time.Millisecond)
		}
	}
}

// takeOver replaces the stale lock with l's record if l wins the claim on it. busy is a live
// claimer that got there first; with neither won nor busy the lock changed: start again.
func (l *dirLock) takeOver(stale lockRecord) (won bool, busy *lockRecord, err error) {
	on := stale.Token
	for range 64 {
		claim := l.path + lockClaimInfix + on
		err := os.Link(l.tmp, claim)
		if err == nil {
			cur, f, err := readLock(l.path)
			if f != nil {
				f.Close()
			}
			if err != nil || cur.Token != stale.Token {
				os.Remove(claim)
				return false, nil, nil
			}
			if err := os.Rename(l.tmp, l.path); err != nil {
				os.Remove(claim)
				return false, nil, fmt.Errorf("host: taking over a stale lock: %w", err)
			}
			l.sweep()
			return true, nil, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return false, nil, fmt.Errorf("host: claiming a stale lock: %w", err)
		}
		claimer, f, err := readLock(claim)
		if err != nil {
			return false, nil, nil // the claim went: start again
		}
		dead, _ := holderDead(claimer, f)
		f.Close()
		if !dead {
			return false, &claimer, nil
		}
		on = claimer.Token // it died claiming: claim its claim
	}
	return false, nil, errors.New("host: a stale lock has more than 64 dead claimers")
}

// sweep removes, after a successful lock, the claim files (they were all about a lock that
// is no longer there) and the temporary files of openers that died.
func (l *dirLock) sweep() {
	dir := filepath.Dir(l.path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name, full := e.Name(), filepath.Join(dir, e.Name())
		switch {
		case strings.HasPrefix(name, LockName+lockClaimInfix):
			os.Remove(full)
		case strings.HasPrefix(name, LockName+".") && strings.HasSuffix(name, lockTmpSuffix) && full != l.tmp:
			r, f, err := readLock(full)
			if err != nil {
				continue
			}
			dead, _ := holderDead(r, f)
			info, _ := f.Stat()
			f.Close()
			// An unreadable one may be being written right now, unless it is old.
			if dead && (r.valid || info != nil && time.Since(info.ModTime()) > time.Minute) {
				os.Remove(full)
			}
		}
	}
}

// Close releases the lock: it removes the lock file if it still holds this lock's record.
func (l *dirLock) Close() error {
	l.once.Do(func() {
		if cur, f, err := readLock(l.path); err == nil {
			f.Close()
			if cur.Token == l.token {
				l.err = os.Remove(l.path)
			}
		}
		if err := l.file.Close(); l.err == nil {
			l.err = err
		}
	})
	return l.err
}

// LockDir takes the lock host.Open takes on dir (DIR/.lock), for a program that reads the
// registry's files without opening it (a consistent copy, say). A directory held by a live
// registry, in any process of any host, is refused with an error matching ErrLocked that
// names the holder. Close releases it.
func LockDir(dir string) (io.Closer, error) {
	l, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// CheckLock returns an error matching ErrLocked, naming the holder, if a live registry holds
// dir; it changes nothing (for directories the caller may not write to).
func CheckLock(dir string) error {
	path := filepath.Join(dir, LockName)
	cur, f, err := readLock(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if dead, note := holderDead(cur, f); !dead {
		return &lockError{path: path, holder: cur, note: note}
	}
	return nil
}

// lockError is a refused lock: the lock file and its holder.
type lockError struct {
	path   string
	holder lockRecord
	note   string
}

func (e *lockError) Error() string {
	return ErrLocked.Error() + " (lock file " + e.path + ": held by " + e.holder.describe() + e.note +
		"): one process owns a registry directory at a time"
}

func (e *lockError) Unwrap() error { return ErrLocked }
