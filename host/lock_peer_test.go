package host

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The lock tests run registries in other processes, "peers": this test binary again (the Go
// host) and tests/web/lock-peer.mjs under node (the Node host). Both speak the same JSON-lines
// protocol, described in lock-peer.mjs.

// peerCmd is one command to a peer.
type peerCmd struct {
	Cmd string `json:"cmd"`
	ID  string `json:"id,omitempty"`
	Dir string `json:"dir,omitempty"`
	At  int64  `json:"at,omitempty"` // unix milliseconds: when a race's "lock" starts
}

// peerReply is a peer's answer.
type peerReply struct {
	R       string `json:"r"` // ready, opened, locked, ok, closed, refused, error
	Pid     int    `json:"pid,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Persons uint64 `json:"persons,omitempty"`
}

// peer is a running peer process.
type peer struct {
	kind    string // "go" or "node"
	pid     int
	cmd     *exec.Cmd
	in      io.WriteCloser
	replies chan peerReply
	stderr  *strings.Builder
}

// repoRoot is the repository (host's parent).
func repoRoot(t testing.TB) string {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// nodeOrSkip returns the node binary, or skips the test where node is not installed.
func nodeOrSkip(t testing.TB) string {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (./build.sh installs what the tests need): the Go-vs-Node lock cases need it")
	}
	shim := filepath.Join(repoRoot(t), "node_modules", "@bjorn3", "browser_wasi_shim")
	if _, err := os.Stat(shim); err != nil {
		t.Fatalf("the Node host's dependencies are missing (%v): run `npm ci` in %s", err, repoRoot(t))
	}
	return node
}

// startPeer starts a peer of kind "go" or "node" and waits for it to be ready.
func startPeer(t testing.TB, kind string) *peer {
	t.Helper()
	var cmd *exec.Cmd
	switch kind {
	case "go":
		if err := Initialize(context.Background(), WithCompilationCache(testCache)); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(os.Args[0], "-test.run=^TestLockPeer$")
		cmd.Env = append(os.Environ(), "REGWASM_LOCK_PEER=1", "REGWASM_LOCK_CACHE="+testCache)
	case "node":
		cmd = exec.Command(nodeOrSkip(t), filepath.Join(repoRoot(t), "tests", "web", "lock-peer.mjs"))
		cmd.Env = append(os.Environ(), "REGWASM_NODE_ENTRY=")
	default:
		t.Fatalf("peer kind %q", kind)
	}
	p := &peer{kind: kind, cmd: cmd, replies: make(chan peerReply, 16), stderr: &strings.Builder{}}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{w: p.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.in = in
	go func() {
		defer close(p.replies)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 || line[0] != '{' {
				continue // go test's own output
			}
			var r peerReply
			if err := json.Unmarshal(line, &r); err != nil {
				r = peerReply{R: "error", Message: "bad reply " + string(line)}
			}
			p.replies <- r
		}
	}()
	t.Cleanup(p.kill)
	r := p.wait(t)
	if r.R != "ready" {
		t.Fatalf("%s peer did not start: %+v %s", kind, r, p.stderr)
	}
	p.pid = r.Pid
	return p
}

// lockedWriter lets the child's stderr be read while it is written.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *peer) String() string { return fmt.Sprintf("%s peer %d", p.kind, p.pid) }

// send writes a command without waiting for the answer.
func (p *peer) send(t testing.TB, c peerCmd) {
	t.Helper()
	b, _ := json.Marshal(c)
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}

// wait returns the next answer.
func (p *peer) wait(t testing.TB) peerReply {
	t.Helper()
	select {
	case r, ok := <-p.replies:
		if !ok {
			t.Fatalf("%s exited: %s", p, p.stderr)
		}
		return r
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s did not answer: %s", p, p.stderr)
	}
	return peerReply{}
}

// do sends a command and returns its answer.
func (p *peer) do(t testing.TB, c peerCmd) peerReply {
	t.Helper()
	p.send(t, c)
	return p.wait(t)
}

// kill ends the peer with SIGKILL (a holder killed with -9) and reaps it.
func (p *peer) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// TestLockPeer is the Go peer's process.
func TestLockPeer(t *testing.T) {
	if os.Getenv("REGWASM_LOCK_PEER") == "" {
		t.Skip("helper process of the lock tests")
	}
	runLockPeer(os.Stdin, os.Stdout, os.Getenv("REGWASM_LOCK_CACHE"))
	os.Exit(0)
}

// runLockPeer answers commands until stdin ends.
func runLockPeer(stdin io.Reader, stdout io.Writer, cache string) {
	ctx := context.Background()
	enc := json.NewEncoder(stdout)
	enc.Encode(peerReply{R: "ready", Pid: os.Getpid()})
	regs := map[string]*Registry{}
	locks := map[string]io.Closer{}
	fail := func(err error) peerReply {
		if errors.Is(err, ErrLocked) {
			return peerReply{R: "refused", Code: "locked", Message: err.Error()}
		}
		return peerReply{R: "error", Message: err.Error()}
	}
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		var c peerCmd
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			enc.Encode(peerReply{R: "error", Message: err.Error()})
			continue
		}
		var reply peerReply
		switch c.Cmd {
		case "open":
			r, err := Open(ctx, c.Dir, WithCompilationCache(cache))
			if err != nil {
				reply = fail(err)
				break
			}
			regs[c.ID] = r
			reply = peerReply{R: "opened"}
		case "lock":
			for time.Now().UnixMilli() < c.At {
				// spin: the racers start within a few microseconds of each other
			}
			l, err := lockDir(c.Dir)
			if err != nil {
				reply = fail(err)
				break
			}
			locks[c.ID] = l
			reply = peerReply{R: "locked"}
		case "access":
			r := regs[c.ID]
			if r == nil {
				reply = peerReply{R: "error", Message: "no registry " + c.ID}
				break
			}
			_, err := r.Access(ctx, uuid.Nil, m1, fmt.Sprintf("http://peer-%d/", os.Getpid()), "peer")
			var st Stats
			if err == nil {
				st, err = r.Stats(ctx)
			}
			if err != nil {
				reply = fail(err)
				break
			}
			reply = peerReply{R: "ok", Persons: st.Persons}
		case "close":
			if r := regs[c.ID]; r != nil {
				r.Close()
			}
			if l := locks[c.ID]; l != nil {
				l.Close()
			}
			delete(regs, c.ID)
			delete(locks, c.ID)
			reply = peerReply{R: "closed"}
		case "exit":
			for _, r := range regs {
				r.Close()
			}
			for _, l := range locks {
				l.Close()
			}
			return
		default:
			reply = peerReply{R: "error", Message: "unknown command " + c.Cmd}
		}
		enc.Encode(reply)
	}
}
