// Package dirfs is the directory-backed [registry.Storage]: the registry's files as plain
// files in one directory, through nothing but what WASI preview1 offers (open, read, pread,
// write, fsync, ftruncate as fd_filestat_set_size, unlink, readdir). It runs natively and
// inside the GOOS=wasip1 module, where the directory is the host's preopen "/".
//
// # Notes
//
// WriteFile truncates and writes in place, with no temporary file and rename: crash safety
// comes from the rotation, which never overwrites the current file. Sync fsyncs the file and,
// when an entry may have been created since the last time, its directory, so a new file's
// entry is durable too; Remove fsyncs the directory, because removing the old file is how a
// rotation commits. Where a directory cannot be fsynced (some WASI hosts, some systems) that
// part is skipped.
//
// The file appended to last (the change log) stays open: opening and closing it for every
// append cost ~40 µs a call inside the wasm module (Go's os package on wasip1), 7x the native
// cost, which made a one-request call ~20x dearer than a hello. Any other operation on that
// name closes it first.
package dirfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/regwasm/regwasm/registry"
)

// Dir is a directory of registry files.
type Dir struct {
	dir      string
	appendTo *os.File // open for appends to appendName; nil when none
	// appendName is the file appendTo writes; dirDirty says an entry may have been created
	// since the directory was last fsynced.
	appendName string
	dirDirty   bool
}

var _ registry.Storage = (*Dir)(nil)

// Open returns the Storage of an existing directory.
func Open(dir string) (*Dir, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, wrap("open", dir, err)
	}
	if !fi.IsDir() {
		return nil, wrap("open", dir, syscall.ENOTDIR)
	}
	return &Dir{dir: dir}, nil
}

// Close closes the file held open for appends. The Dir stays usable: the next append reopens it.
func (d *Dir) Close() error {
	if d.appendTo == nil {
		return nil
	}
	err := d.appendTo.Close()
	p := filepath.Join(d.dir, d.appendName)
	d.appendTo, d.appendName = nil, ""
	return wrap("close", p, err)
}

// release closes the append handle when it is name's, before name is replaced or removed.
func (d *Dir) release(name string) error {
	if d.appendTo != nil && d.appendName == name {
		return d.Close()
	}
	return nil
}

// Path returns the directory.
func (d *Dir) Path() string { return d.dir }

func (d *Dir) path(name string) (string, error) {
	if err := registry.ValidName(name); err != nil {
		return "", err
	}
	return filepath.Join(d.dir, name), nil
}

// ReadFile returns the content of name.
func (d *Dir) ReadFile(name string) ([]byte, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, wrap("read", p, err)
	}
	return data, nil
}

// ReadAt reads len(p) bytes of name at off (io.ReaderAt's contract).
func (d *Dir) ReadAt(name string, p []byte, off int64) (int, error) {
	path, err := d.path(name)
	if err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, wrap("read", path, err)
	}
	defer f.Close()
	n, err := f.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, wrap("read", path, err)
	}
	return n, err
}

// Truncate cuts name to size bytes. It needs no free space: recovery cuts a torn log tail
// with it rather than rewriting the file.
func (d *Dir) Truncate(name string, size int64) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return wrap("truncate", p, err)
	}
	if size < 0 || size > fi.Size() {
		return wrap("truncate", p, fs.ErrInvalid)
	}
	if d.appendTo != nil && d.appendName == name {
		return wrap("truncate", p, d.appendTo.Truncate(size))
	}
	return wrap("truncate", p, os.Truncate(p, size))
}

// WriteFile creates or truncates name and writes data.
func (d *Dir) WriteFile(name string, data []byte) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := d.release(name); err != nil {
		return err
	}
	d.dirDirty = true
	return wrap("write", p, os.WriteFile(p, data, 0o644))
}

// AppendFile appends data to name, creating it if missing.
func (d *Dir) AppendFile(name string, data []byte) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if d.appendTo == nil || d.appendName != name {
		if err := d.Close(); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return wrap("append", p, err)
		}
		d.appendTo, d.appendName, d.dirDirty = f, name, true
	}
	if _, err := d.appendTo.Write(data); err != nil {
		// The handle's state is unknown (a short write): drop it, the next append reopens.
		d.Close()
		return wrap("append", p, err)
	}
	return nil
}

// Sync fsyncs name, then the directory if an entry may have been created since it was last
// fsynced.
func (d *Dir) Sync(name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if d.appendTo != nil && d.appendName == name {
		err = d.appendTo.Sync()
	} else {
		var f *os.File
		if f, err = os.OpenFile(p, os.O_WRONLY, 0); err != nil {
			return wrap("sync", p, err)
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return wrap("sync", p, err)
	}
	if !d.dirDirty {
		return nil
	}
	return d.syncDir()
}

// Remove deletes name and fsyncs the directory; a missing file is not an error.
func (d *Dir) Remove(name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := d.release(name); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return wrap("remove", p, err)
	}
	return d.syncDir()
}

// Size returns the length of name.
func (d *Dir) Size(name string) (int64, error) {
	p, err := d.path(name)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return 0, wrap("size", p, err)
	}
	return fi.Size(), nil
}

// List returns the names of the regular files that are valid registry names, sorted.
// Other entries in the directory are not the registry's and are ignored.
func (d *Dir) List() ([]string, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, wrap("list", d.dir, err)
	}
	var names []string
	for _, e := range ents { // sorted by name
		if e.Type().IsRegular() && registry.ValidName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// syncDir makes the directory's entries durable where the system can.
func (d *Dir) syncDir() error {
	f, err := os.Open(d.dir)
	if err != nil {
		return wrap("sync", d.dir, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil && !unsupported(err) {
		return wrap("sync", d.dir, err)
	}
	d.dirDirty = false
	return nil
}

// unsupported reports errors meaning "a directory cannot be fsynced here": Linux and the
// BSDs may say EINVAL, WASI hosts ENOTSUP, ENOSYS, EBADF or EISDIR.
func unsupported(err error) bool {
	for _, e := range []error{syscall.EINVAL, syscall.ENOTSUP, syscall.ENOSYS, syscall.EBADF, syscall.EISDIR, errors.ErrUnsupported} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// ioError is an OS error that also matches registry.ErrNoSpace when the disk is full.
type ioError struct{ err error }

func (e *ioError) Error() string { return e.err.Error() }
func (e *ioError) Unwrap() []error {
	if errors.Is(e.err, syscall.ENOSPC) {
		return []error{e.err, registry.ErrNoSpace}
	}
	return []error{e.err}
}

// wrap returns err (nil if nil) as a *registry.FileError on path, without the *fs.PathError
// layer that would repeat the path.
func wrap(op, path string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &registry.FileError{Op: op, Name: path, Err: &ioError{err}}
}
