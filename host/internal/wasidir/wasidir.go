// Package wasidir mounts one flat OS directory into a wazero module (WASI preview1) as an
// experimental/sys.FS that remembers the OS error behind each failed operation, so that the
// host can tell the operator what the module could not be told.
//
// # Notes
//
// wazero's errno set (experimental/sys.Errno) has no ENOSPC, EDQUOT or EFBIG, and its WASI
// layer turns any errno it lacks into EIO: through wazero's own directory mount a full disk
// reaches the module as "I/O error". A Dir answers the module with the same nearest errno
// (experimental/sys.UnwrapOSError), and keeps the last failures with the real OS error, the
// operation and the file; Explain rewrites the module's storage error message with them.
//
// The directory is flat: the module keeps its files in the preopen itself, so any path with
// a separator is refused (ENOENT), and only what Go's os package on wasip1 uses on such files
// is implemented: open, read, pread, write, append, fsync, ftruncate (fd_filestat_set_size),
// stat, unlink and readdir. Rename, mkdir, links and times are ENOSYS (sys.UnimplementedFS),
// and so is seek: the module reads whole files or at offsets (pread) and appends, and go
// vet's stdmethods check refuses a method named Seek with wazero's signature; a directory
// is read once per open, as Go's os.ReadDir does.
// For a read-only mount wrap a Dir in wazero's experimental/sysfs.ReadFS: it refuses writes
// (EROFS; ENOSYS for an open for writing) before they reach the Dir.
//
// A Dir belongs to one module instance (one call at a time); its record is guarded anyway, so
// the host may read it from any goroutine.
package wasidir

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// keep is how many failures a Dir remembers: more than one call's worth.
const keep = 16

// Dir is a directory mounted as a WASI preopen.
type Dir struct {
	experimentalsys.UnimplementedFS
	path string

	mu       sync.Mutex
	failures [keep]Failure // a ring; next is the slot of the next failure
	next     int
	count    int
}

// Failure is an operation of the module that failed: the OS error (with the host's name for
// the operation and the file's full path) and the errno the module was given instead.
type Failure struct {
	Err   *fs.PathError
	Name  string                // the file as the module named it, relative to the directory
	Errno experimentalsys.Errno // what the module was told
}

// New mounts the directory path (which must exist).
func New(path string) *Dir { return &Dir{path: path} }

var _ experimentalsys.FS = (*Dir)(nil)

// record notes a failed operation and returns the errno for the module.
func (d *Dir) record(op, name string, err error) experimentalsys.Errno {
	errno := experimentalsys.UnwrapOSError(err)
	if errno == 0 {
		return 0
	}
	if errno == experimentalsys.ENOENT {
		return errno // the module probes for files: not a failure, and never lossy
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	d.mu.Lock()
	d.failures[d.next] = Failure{Err: &fs.PathError{Op: op, Path: d.full(name), Err: err}, Name: name, Errno: errno}
	d.next = (d.next + 1) % keep
	d.count = min(d.count+1, keep)
	d.mu.Unlock()
	return errno
}

// Failures returns the failures remembered, newest first.
func (d *Dir) Failures() []Failure {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Failure, 0, d.count)
	for i := 1; i <= d.count; i++ {
		out = append(out, d.failures[(d.next-i+keep)%keep])
	}
	return out
}

// full returns the host path of a name in the directory.
func (d *Dir) full(name string) string {
	if name == "." {
		return d.path
	}
	return filepath.Join(d.path, name)
}

// flat returns the name path denotes in the directory ("." for the directory itself), or
// false when it names anything deeper.
func flat(path string) (string, bool) {
	switch path {
	case "", ".", "/":
		return ".", true
	}
	if strings.ContainsAny(path, `/\`) || path == ".." {
		return "", false
	}
	return path, true
}

// OpenFile implements experimental/sys.FS.
func (d *Dir) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	name, ok := flat(path)
	if !ok {
		return nil, experimentalsys.ENOENT
	}
	f, err := os.OpenFile(d.full(name), osFlags(flag), perm)
	if err != nil {
		return nil, d.record("open", name, err)
	}
	return &file{dir: d, name: name, f: f, append: flag&experimentalsys.O_APPEND != 0}, 0
}

// osFlags translates the open flags wazero passes (O_NOFOLLOW and O_NONBLOCK have no use on
// the registry's regular files and are left out; O_DIRECTORY is checked by wazero).
func osFlags(flag experimentalsys.Oflag) int {
	var f int
	switch flag & (experimentalsys.O_RDONLY | experimentalsys.O_RDWR | experimentalsys.O_WRONLY) {
	case experimentalsys.O_RDWR:
		f = os.O_RDWR
	case experimentalsys.O_WRONLY:
		f = os.O_WRONLY
	default:
		f = os.O_RDONLY
	}
	for _, m := range [...]struct {
		sys experimentalsys.Oflag
		os  int
	}{
		{experimentalsys.O_APPEND, os.O_APPEND},
		{experimentalsys.O_CREAT, os.O_CREATE},
		{experimentalsys.O_EXCL, os.O_EXCL},
		{experimentalsys.O_TRUNC, os.O_TRUNC},
		{experimentalsys.O_SYNC, os.O_SYNC},
	} {
		if flag&m.sys != 0 {
			f |= m.os
		}
	}
	return f
}

// Stat implements experimental/sys.FS.
func (d *Dir) Stat(path string) (sys.Stat_t, experimentalsys.Errno) {
	return d.stat(path, os.Stat)
}

// Lstat implements experimental/sys.FS.
func (d *Dir) Lstat(path string) (sys.Stat_t, experimentalsys.Errno) {
	return d.stat(path, os.Lstat)
}

func (d *Dir) stat(path string, stat func(string) (fs.FileInfo, error)) (sys.Stat_t, experimentalsys.Errno) {
	name, ok := flat(path)
	if !ok {
		return sys.Stat_t{}, experimentalsys.ENOENT
	}
	fi, err := stat(d.full(name))
	if err != nil {
		return sys.Stat_t{}, d.record("stat", name, err)
	}
	return sys.NewStat_t(fi), 0
}

// Unlink implements experimental/sys.FS: it removes a file, never a directory (EISDIR).
func (d *Dir) Unlink(path string) experimentalsys.Errno {
	name, ok := flat(path)
	if !ok || name == "." {
		return experimentalsys.ENOENT
	}
	p := d.full(name)
	if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
		return experimentalsys.EISDIR
	}
	if err := os.Remove(p); err != nil {
		return d.record("remove", name, err)
	}
	return 0
}

// Rmdir implements experimental/sys.FS without removing anything: Go's os.Remove tries it
// after a failed unlink and keeps unlink's error only when rmdir says ENOTDIR.
func (d *Dir) Rmdir(path string) experimentalsys.Errno {
	name, ok := flat(path)
	if !ok || name == "." {
		return experimentalsys.ENOENT
	}
	fi, err := os.Lstat(d.full(name))
	switch {
	case err != nil:
		return experimentalsys.UnwrapOSError(err)
	case !fi.IsDir():
		return experimentalsys.ENOTDIR
	}
	return experimentalsys.EPERM // the registry's directory holds no directories of its own
}

// file is an open file or the directory itself.
type file struct {
	experimentalsys.UnimplementedFile
	dir    *Dir
	name   string
	f      *os.File
	append bool

	isDir   *bool                    // cached by IsDir
	listing []experimentalsys.Dirent // the directory's entries not yet read; nil: list again
}

func (f *file) fail(op string, err error) experimentalsys.Errno {
	if errors.Is(err, os.ErrClosed) {
		return experimentalsys.EBADF
	}
	return f.dir.record(op, f.name, err)
}

func (f *file) IsAppend() bool { return f.append }

func (f *file) IsDir() (bool, experimentalsys.Errno) {
	if f.isDir == nil {
		fi, err := f.f.Stat()
		if err != nil {
			return false, f.fail("stat", err)
		}
		isDir := fi.IsDir()
		f.isDir = &isDir
	}
	return *f.isDir, 0
}

func (f *file) Ino() (sys.Inode, experimentalsys.Errno) {
	st, errno := f.Stat()
	return st.Ino, errno
}

func (f *file) Dev() (uint64, experimentalsys.Errno) {
	st, errno := f.Stat()
	return st.Dev, errno
}

func (f *file) Stat() (sys.Stat_t, experimentalsys.Errno) {
	fi, err := f.f.Stat()
	if err != nil {
		return sys.Stat_t{}, f.fail("stat", err)
	}
	return sys.NewStat_t(fi), 0
}

func (f *file) Read(buf []byte) (int, experimentalsys.Errno) {
	n, err := f.f.Read(buf)
	if err != nil && err != io.EOF {
		return n, f.fail("read", err)
	}
	return n, 0
}

func (f *file) Pread(buf []byte, off int64) (int, experimentalsys.Errno) {
	n, err := f.f.ReadAt(buf, off)
	if err != nil && err != io.EOF {
		return n, f.fail("read", err)
	}
	return n, 0
}

func (f *file) Write(buf []byte) (int, experimentalsys.Errno) {
	n, err := f.f.Write(buf)
	if err != nil {
		op := "write"
		if f.append {
			op = "append"
		}
		return n, f.fail(op, err)
	}
	return n, 0
}

func (f *file) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	n, err := f.f.WriteAt(buf, off)
	if err != nil {
		return n, f.fail("write", err)
	}
	return n, 0
}

func (f *file) Truncate(size int64) experimentalsys.Errno {
	if size < 0 {
		return experimentalsys.EINVAL
	}
	if err := f.f.Truncate(size); err != nil {
		return f.fail("truncate", err)
	}
	return 0
}

func (f *file) Sync() experimentalsys.Errno {
	if err := f.f.Sync(); err != nil {
		// Some systems cannot fsync a directory: the module skips that, as on any host.
		return f.fail("sync", err)
	}
	return 0
}

func (f *file) Datasync() experimentalsys.Errno { return f.Sync() }

// Readdir lists the directory once (it is small and flat) and hands out n entries at a
// time.
func (f *file) Readdir(n int) ([]experimentalsys.Dirent, experimentalsys.Errno) {
	if isDir, errno := f.IsDir(); errno != 0 || !isDir {
		return nil, experimentalsys.EBADF
	}
	if f.listing == nil {
		ents, err := os.ReadDir(f.dir.path)
		if err != nil {
			return nil, f.fail("list", err)
		}
		f.listing = make([]experimentalsys.Dirent, 0, len(ents))
		for i, e := range ents {
			var ino sys.Inode
			if fi, err := e.Info(); err == nil {
				ino = sys.NewStat_t(fi).Ino
			}
			if ino == 0 {
				// Go's readdir skips entries with inode 0 (deleted ones): systems that report
				// none get a stand-in.
				ino = sys.Inode(i + 1)
			}
			f.listing = append(f.listing, experimentalsys.Dirent{Name: e.Name(), Ino: ino, Type: e.Type().Type()})
		}
	}
	if n <= 0 || n > len(f.listing) {
		n = len(f.listing)
	}
	out := f.listing[:n:n]
	f.listing = f.listing[n:]
	return out, 0
}

func (f *file) Close() experimentalsys.Errno {
	if err := f.f.Close(); err != nil {
		return f.fail("close", err)
	}
	return 0
}
