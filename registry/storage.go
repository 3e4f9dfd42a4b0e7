package registry

import (
	"errors"
	"strconv"
	"strings"
)

// Errors of the storage layer and the rotation. Match them with errors.Is.
var (
	ErrBadName = errors.New("registry: invalid file name")
	ErrCorrupt = errors.New("registry: corrupt data")
	ErrCrashed = errors.New("registry: storage crashed (fault injection)")
	ErrNoSpace = errors.New("registry: no space left on storage")
	ErrStale   = errors.New("registry: files changed since they were read")
	// ErrReadOnly: the store was opened read-only; changes are refused.
	ErrReadOnly = errors.New("registry: opened read-only: changes are refused")
	// ErrWritesStopped: a write to the storage failed; the store answers reads from what was
	// acknowledged and refuses changes until a save succeeds again (it retries by itself).
	ErrWritesStopped = errors.New("registry: storage failed: changes are refused until it works again")
)

// Storage is a flat set of named byte files: all the persistence the core needs.
// Implementations: [MemStorage] (tests, fault injection), the dirfs package (a real
// directory, natively or under WASI), and the hosts' own through the WebAssembly module.
//
// Names must pass [ValidName]; every method rejects others with an error wrapping
// [ErrBadName]. A missing file is reported with an error matching fs.ErrNotExist.
//
// # Notes
//
// The contract is what crash-safe snapshots and an append-only log need and no more:
// WriteFile may leave a partial file behind if the process dies, data (and a truncation) is
// durable only after Sync, and Remove is durable when it returns (removing a file is how a
// save retires an old generation). There is no rename: not every host has an atomic one.
// Truncate exists so that recovery cuts a torn log tail without rewriting what precedes it:
// recovery never needs free space and never puts acknowledged bytes at risk (WASI:
// fd_filestat_set_size; IndexedDB: a shorter value). ReadAt lets a load read the headers of
// every file without holding two snapshots in memory at once.
type Storage interface {
	// ReadFile returns the whole content of name.
	ReadFile(name string) ([]byte, error)
	// ReadAt reads len(p) bytes of name at off, with io.ReaderAt's contract: fewer only with
	// an error, io.EOF when the file ends first.
	ReadAt(name string, p []byte, off int64) (int, error)
	// WriteFile creates or truncates name and writes data. Not durable until Sync.
	WriteFile(name string, data []byte) error
	// AppendFile appends data to name, creating it if missing. Not durable until Sync.
	AppendFile(name string, data []byte) error
	// Truncate cuts name to size bytes, no more than its length. Not durable until Sync.
	Truncate(name string, size int64) error
	// Sync makes the content of name and its directory entry durable.
	Sync(name string) error
	// Remove deletes name; a missing file is not an error. Durable when it returns.
	Remove(name string) error
	// Size returns the length of name.
	Size(name string) (int64, error)
	// List returns the names of all files, sorted.
	List() ([]string, error)
}

// MaxNameLen is the longest file name [ValidName] accepts.
const MaxNameLen = 64

// ValidName reports whether name is one of the registry's own file names: 1 to 64 bytes of
// [a-z0-9._-], starting with a letter or digit, without "..". Such a name is never a path,
// so no host has to trust the module with anything but its own directory.
func ValidName(name string) error {
	if name == "" {
		return withDetail(ErrBadName, "empty")
	}
	if len(name) > MaxNameLen {
		return withDetail(ErrBadName, strconv.Quote(name[:16])+"... is longer than "+strconv.Itoa(MaxNameLen)+" bytes")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return withDetail(ErrBadName, strconv.Quote(name)+" has "+strconv.QuoteRune(rune(c))+" at offset "+strconv.Itoa(i))
		}
	}
	if strings.Contains(name, "..") {
		return withDetail(ErrBadName, strconv.Quote(name)+" contains \"..\"")
	}
	return nil
}

// FileError records a failed storage operation and the file it was on.
type FileError struct {
	Op   string // read, write, append, truncate, sync, remove, size, list
	Name string // the file name (for dirfs, its path)
	Err  error
}

func (e *FileError) Error() string {
	op := e.Op + " "
	if e.Op == "" {
		op = ""
	}
	return "registry: " + op + e.Name + ": " + strings.TrimPrefix(e.Err.Error(), "registry: ")
}

func (e *FileError) Unwrap() error { return e.Err }

// detailedError is a sentinel error with detail added to its message; it matches the
// sentinel and any causes with errors.Is.
type detailedError struct {
	msg  string
	errs []error
}

func (e *detailedError) Error() string   { return e.msg }
func (e *detailedError) Unwrap() []error { return e.errs }

// withDetail returns an error matching base and causes whose message is base's plus detail.
func withDetail(base error, detail string, causes ...error) error {
	errs := make([]error, 0, 1+len(causes))
	errs = append(errs, base)
	for _, c := range causes {
		if c != nil {
			errs = append(errs, c)
		}
	}
	return &detailedError{msg: base.Error() + ": " + detail, errs: errs}
}
