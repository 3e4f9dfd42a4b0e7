package wasidir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// TestInjectedErrors covers the mapping at the file system boundary with injected OS errors,
// whatever the machine allows mounting: each is answered with wazero's nearest errno, and
// Explain tells the module's message with the real one, the operation and the full path.
func TestInjectedErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		os    syscall.Errno
		errno experimentalsys.Errno
		text  string // the module's (Go on wasip1)
		want  string // the host's
	}{
		{syscall.ENOSPC, experimentalsys.EIO, "I/O error", "no space left on device"},
		{syscall.EDQUOT, experimentalsys.EIO, "I/O error", "disk quota exceeded"},
		{syscall.EIO, experimentalsys.EIO, "I/O error", "input/output error"},
		{syscall.EROFS, experimentalsys.EROFS, "Read-only file system", "read-only file system"},
		{syscall.EACCES, experimentalsys.EACCES, "Permission denied", "permission denied"},
		{syscall.EPERM, experimentalsys.EPERM, "Operation not permitted", "operation not permitted"},
	} {
		d := New(dir)
		if got := d.record("append", "registry.log", &fs.PathError{Op: "write", Path: "x", Err: c.os}); got != c.errno {
			t.Errorf("%v: the module was told %v, want %v", c.os, got, c.errno)
		}
		msg, err := d.Explain("registry: append /registry.log: " + c.text + "; writes stopped")
		want := "registry: append " + filepath.Join(dir, "registry.log") + ": " + c.want + "; writes stopped"
		if msg != want {
			t.Errorf("%v: explained as %q, want %q", c.os, msg, want)
		}
		var pe *fs.PathError
		if !errors.Is(err, c.os) || !errors.As(err, &pe) || pe.Op != "append" || pe.Path != filepath.Join(dir, "registry.log") {
			t.Errorf("%v: cause %#v", c.os, err)
		}
	}
	// A message in another shape still gets the cause, in parentheses.
	d := New(dir)
	d.record("sync", "registry.db.2", syscall.ENOSPC)
	msg, err := d.Explain("registry: saving /registry.db.2 failed (I/O error)")
	if want := "registry: saving /registry.db.2 failed (I/O error) (sync " + filepath.Join(dir, "registry.db.2") + ": no space left on device)"; msg != want || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("explained as %q (%v), want %q", msg, err, want)
	}
	// The directory itself (its fsync) is "/" to the module.
	root := New(dir)
	root.record("sync", ".", syscall.EIO)
	if msg, _ := root.Explain("registry: sync /: I/O error"); msg != "registry: sync "+dir+": input/output error" {
		t.Errorf("the directory's failure explained as %q", msg)
	}
	// A message about another file, or another errno, is left alone.
	for _, m := range []string{"registry: append /registry.log: I/O error", "registry: read /registry.db.2: Permission denied"} {
		if got, err := d.Explain(m); got != m || err != nil {
			t.Errorf("%q explained as %q (%v)", m, got, err)
		}
	}
	// Missing files are the module's probes, not failures.
	if _, errno := d.Stat("registry.db.3"); errno != experimentalsys.ENOENT || len(d.Failures()) != 1 {
		t.Errorf("stat of a missing file: %v, failures %v", errno, d.Failures())
	}
}

// TestFailuresRing checks that the newest failures are kept, newest first.
func TestFailuresRing(t *testing.T) {
	d := New(t.TempDir())
	for i := range keep + 3 {
		d.record("write", string(rune('a'+i)), syscall.EIO)
	}
	f := d.Failures()
	if len(f) != keep || f[0].Name != string(rune('a'+keep+2)) || f[keep-1].Name != "d" {
		t.Fatalf("failures %v", f)
	}
}

// TestOperations runs what the module does on its files through the FS: create, append,
// read, truncate (fd_filestat_set_size), fsync, list, stat and remove.
func TestOperations(t *testing.T) {
	dir := t.TempDir()
	d := New(dir)
	f, errno := d.OpenFile("registry.log", experimentalsys.O_WRONLY|experimentalsys.O_CREAT|experimentalsys.O_APPEND, 0o644)
	if errno != 0 {
		t.Fatal(errno)
	}
	for _, s := range []string{"hello ", "world"} {
		if n, errno := f.Write([]byte(s)); errno != 0 || n != len(s) {
			t.Fatal(n, errno)
		}
	}
	if !f.IsAppend() || f.Sync() != 0 || f.Truncate(5) != 0 || f.Truncate(-1) != experimentalsys.EINVAL || f.Close() != 0 {
		t.Fatal("append file: IsAppend, Sync, Truncate or Close")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "registry.log")); err != nil || string(b) != "hello" {
		t.Fatalf("after truncate: %q %v", b, err)
	}
	f, errno = d.OpenFile("registry.log", experimentalsys.O_RDONLY, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	buf := make([]byte, 10)
	if n, errno := f.Pread(buf, 1); errno != 0 || string(buf[:n]) != "ello" {
		t.Fatalf("pread %q %v", buf[:n], errno)
	}
	if n, errno := f.Read(buf); errno != 0 || string(buf[:n]) != "hello" {
		t.Fatalf("read %q %v", buf[:n], errno)
	}
	if n, errno := f.Read(buf); errno != 0 || n != 0 {
		t.Fatalf("read at the end: %d %v", n, errno)
	}
	if _, errno := f.Write([]byte("x")); errno != experimentalsys.EBADF {
		t.Fatalf("write to a read-only file: %v", errno)
	}
	f.Close()
	if errno := d.Mkdir("sub", 0o755); errno != experimentalsys.ENOSYS {
		t.Fatalf("mkdir: %v", errno)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}

	st, errno := d.Stat("registry.log")
	if errno != 0 || st.Size != 5 || st.Ino == 0 {
		t.Fatalf("stat %+v %v", st, errno)
	}
	if _, errno := d.OpenFile("sub/x", experimentalsys.O_RDONLY, 0); errno != experimentalsys.ENOENT {
		t.Fatalf("a path below the directory: %v", errno)
	}

	root, errno := d.OpenFile(".", experimentalsys.O_RDONLY|experimentalsys.O_DIRECTORY, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	if isDir, errno := root.IsDir(); !isDir || errno != 0 {
		t.Fatal("the directory is not one")
	}
	var names []string
	for {
		ents, errno := root.Readdir(1)
		if errno != 0 {
			t.Fatal(errno)
		}
		if len(ents) == 0 {
			break
		}
		if ents[0].Ino == 0 {
			t.Fatalf("entry %v has inode 0: Go's readdir skips it", ents[0])
		}
		names = append(names, ents[0].Name)
	}
	if slices.Sort(names); !slices.Equal(names, []string{"registry.log", "sub"}) {
		t.Fatalf("listed %v", names)
	}
	if root.Sync() != 0 || root.Close() != 0 {
		t.Fatal("directory sync or close")
	}

	if errno := d.Unlink("sub"); errno != experimentalsys.EISDIR {
		t.Fatalf("unlink of a directory: %v", errno)
	}
	if errno := d.Rmdir("registry.log"); errno != experimentalsys.ENOTDIR {
		t.Fatalf("rmdir of a file: %v", errno)
	}
	if errno := d.Unlink("registry.log"); errno != 0 {
		t.Fatal(errno)
	}
	if errno := d.Unlink("registry.log"); errno != experimentalsys.ENOENT {
		t.Fatalf("unlink of a missing file: %v", errno)
	}
	if f := d.Failures(); len(f) != 1 || f[0].Err.Op != "write" || !errors.Is(f[0].Err, syscall.EBADF) {
		t.Fatalf("failures recorded: %v, want the write to a read-only file only", f)
	}
}

// TestReadOnly checks that a Dir mounts read-only behind wazero's sysfs.ReadFS: reads work,
// every write is refused before it reaches the directory (wazero answers an open for
// writing with ENOSYS, the rest with EROFS).
func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "registry.log"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	ro := &sysfs.ReadFS{FS: New(dir)}
	f, errno := ro.OpenFile("registry.log", experimentalsys.O_RDONLY, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	buf := make([]byte, 8)
	if n, errno := f.Read(buf); errno != 0 || string(buf[:n]) != "data" {
		t.Fatalf("read %q %v", buf[:n], errno)
	}
	if errno := f.Truncate(0); errno == 0 {
		t.Fatal("truncated through a read-only mount")
	}
	f.Close()
	if _, errno := ro.OpenFile("registry.log", experimentalsys.O_WRONLY|experimentalsys.O_APPEND, 0); errno == 0 {
		t.Fatalf("open for append: %v", errno)
	}
	if _, errno := ro.OpenFile("new", experimentalsys.O_RDWR|experimentalsys.O_CREAT, 0o644); errno == 0 {
		t.Fatalf("create: %v", errno)
	}
	if errno := ro.Unlink("registry.log"); errno != experimentalsys.EROFS {
		t.Fatalf("unlink: %v", errno)
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file was created: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "registry.log")); err != nil || string(b) != "data" {
		t.Fatalf("the file changed: %q %v", b, err)
	}
}
