//go:build linux

// Package smallfs gives a test a real, small file system that it can fill: the test runs
// again in a child process that sees a fresh tmpfs (or a loop-mounted ext2 image) of the given
// size at a directory, so that "no space left on device" comes from the kernel, not from an
// injected error.
//
//	func TestDiskFull(t *testing.T) {
//		dir, ok := smallfs.Mount(t, 256<<10)
//		if !ok {
//			return // the child ran the test (its result is this test's), or it was skipped
//		}
//		... fill dir ...
//	}
//
// # Notes
//
// Mounting needs privileges a test process does not have and must not leave mounts behind,
// so the mount is made in a private mount namespace by a wrapper around the child, tried in
// this order: `unshare -Urm` (an unprivileged user and mount namespace, a tmpfs), `unshare
// -m` (as root, a tmpfs), and as root without unshare a loop-mounted ext2 image that the
// wrapper unmounts when the child ends. When the kernel allows none of them the test is
// skipped with each attempt's reason, and the caller still covers its mapping with an
// injected errno at the file system boundary.
package smallfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// envDir names, in the child, the directory that is the small file system.
const envDir = "REGWASM_SMALLFS_DIR"

// exitNoMount is the wrapper's exit status when it could not mount (the child did not run).
const exitNoMount = 97

// attempt is one way to mount: a shell script run with the directory as $1, the size in
// bytes as $2 and the child's command line after them.
type attempt struct {
	name   string
	argv   []string // runs the script
	script string
	root   bool // needs to be root
}

var attempts = []attempt{
	{
		name:   "tmpfs in a private user and mount namespace (unshare -Urm)",
		argv:   []string{"unshare", "-Urm", "sh", "-c"},
		script: `mount -t tmpfs -o size="$2" regwasm-smallfs "$1" || exit 97; shift 2; exec "$@"`,
	},
	{
		name:   "tmpfs in a private mount namespace (unshare -m, as root)",
		argv:   []string{"unshare", "-m", "sh", "-c"},
		script: `mount -t tmpfs -o size="$2" regwasm-smallfs "$1" || exit 97; shift 2; exec "$@"`,
		root:   true,
	},
	{
		name: "loop-mounted ext2 image (as root)",
		argv: []string{"sh", "-c"},
		script: `img="$1.img"; dir="$1"; size="$2"; shift 2
truncate -s "$size" "$img" && mkfs.ext2 -q -F -m 0 "$img" >/dev/null 2>&1 && mount -o loop "$img" "$dir" || exit 97
"$@"; rc=$?; umount "$dir"; rm -f "$img"; exit $rc`,
		root: true,
	},
}

// Mount returns a directory on a file system of about size bytes, with ok set, when called in
// the child process it started for t. Called in the test process, it runs t's test again in
// a child that sees that file system, fails t if the child failed, and returns ok false: the
// caller returns at once. It skips t when no way to mount works here.
func Mount(t *testing.T, size int64) (dir string, ok bool) {
	t.Helper()
	if d := os.Getenv(envDir); d != "" {
		if err := verify(d, size); err != nil {
			t.Fatalf("smallfs: %v", err)
		}
		return d, true
	}
	if strings.Contains(t.Name(), "/") {
		t.Fatal("smallfs: Mount works in top-level tests only")
	}
	base := t.TempDir()
	var reasons []string
	for _, a := range attempts {
		if a.root && os.Geteuid() != 0 {
			reasons = append(reasons, a.name+": not root")
			continue
		}
		if _, err := exec.LookPath(a.argv[0]); err != nil {
			reasons = append(reasons, a.name+": "+err.Error())
			continue
		}
		dir := filepath.Join(base, fmt.Sprintf("fs%d", len(reasons)))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		args := append(append([]string{}, a.argv[1:]...), a.script, "sh", dir, strconv.FormatInt(size, 10),
			os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1")
		if testing.Verbose() {
			args = append(args, "-test.v")
		}
		cmd := exec.Command(a.argv[0], args...)
		cmd.Env = append(os.Environ(), envDir+"="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == exitNoMount {
			reasons = append(reasons, a.name+": "+strings.TrimSpace(lastLine(out.String())))
			continue
		}
		t.Logf("smallfs: ran in a child on a %d-byte %s", size, a.name)
		if err != nil {
			t.Fatalf("the test on the small file system failed (%v):\n%s", err, out.String())
		}
		if testing.Verbose() {
			t.Logf("child output:\n%s", out.String())
		}
		return "", false
	}
	t.Skipf("smallfs: no small file system can be mounted here (%s)", strings.Join(reasons, "; "))
	return "", false
}

// Available reports whether the child of Mount runs: tests that fall back to injected errors
// when no file system can be mounted use it to say which they did.
func Available() bool { return os.Getenv(envDir) != "" }

// verify checks that dir is the small file system, not the directory it hides: a test that
// filled the real disk would be worse than one that failed.
func verify(dir string, size int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dir, err)
	}
	if total := int64(st.Blocks) * int64(st.Bsize); total > 2*size+(1<<20) {
		return fmt.Errorf("%s holds %d bytes, not the %d of the small file system: not mounted", dir, total, size)
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
