package registry

import (
	"io"
	"io/fs"
	"slices"
	"strings"
)

// MemStorage is an in-memory [Storage] that models crashes, for tests. The zero value is an
// empty store ready to use. It is safe for one goroutine at a time.
//
// Every WriteFile, AppendFile, Truncate, Sync and Remove is a mutating op, numbered from 1 by [Ops];
// faults are planned by op number, relative to the count when they are set.
//
// # Crash model
//
// A file's durable state (its existence and content) is what [MemStorage.Crash] returns:
//   - WriteFile and AppendFile change only what reads see; Sync copies that to the durable
//     state (a file never synced does not exist after a crash, a rewritten one reverts);
//   - Remove is durable at once (directory operations are not reordered);
//   - a torn op ([MemStorage.TearAfter]) applies the first k bytes of its data and then
//     flushes the file as it is, so after the crash an appended file holds its synced
//     prefix, its unsynced appends and the torn tail, and a rewritten one the first k bytes.
//
// Once a store has crashed ([MemStorage.FailAfter], TearAfter) every call fails with
// [ErrCrashed], reads included: the process is dead, only Crash may look at the disk.
type MemStorage struct {
	files map[string]*memFile
	used  int64 // sum of live sizes, for the quota
	quota int64 // 0: unlimited
	// competing: another writer takes, at once, any space this store frees (taken holds it).
	competing bool
	taken     int64

	ops      int
	failAt   int // op that crashes the store (0: none)
	tearAt   int // op that tears and crashes the store (0: none)
	tearKeep int
	onceAt   int // op that fails with onceErr, without crashing (0: none)
	onceErr  error
	onOp     string // FailOn: the kind and name prefix of the op that fails next
	onPrefix string
	onErr    error
	crashed  bool
}

// memFile slices are never modified in place (appends only write past their length),
// so the live and durable contents of a file and of its clones share memory safely.
type memFile struct {
	data    []byte // what reads see
	durable []byte // what a crash leaves, if synced
	synced  bool   // the file exists after a crash
}

// Ops returns the number of mutating ops so far.
func (m *MemStorage) Ops() int { return m.ops }

// Crashed reports whether a planned crash has happened.
func (m *MemStorage) Crashed() bool { return m.crashed }

// FailAfter plans a crash: the n-th mutating op from now and every op after it fail with
// [ErrCrashed] and do nothing. n < 1 cancels the plan.
func (m *MemStorage) FailAfter(n int) { m.failAt = m.at(n) }

// TearAfter plans a torn write: if the n-th mutating op from now is a WriteFile or
// AppendFile, it applies only the first k bytes of its data and flushes the file (see the
// crash model); then the store is crashed, that op included, as with [MemStorage.FailAfter].
// n < 1 cancels the plan.
func (m *MemStorage) TearAfter(n, k int) { m.tearAt, m.tearKeep = m.at(n), max(k, 0) }

// FailOnce makes the n-th mutating op from now fail with err and do nothing, without
// crashing: a transient I/O error. n < 1 cancels the plan.
func (m *MemStorage) FailOnce(n int, err error) { m.onceAt, m.onceErr = m.at(n), err }

// FailOn makes the next mutating op of kind op ("write", "append", "truncate", "sync",
// "remove") on a file whose name starts with prefix fail with err and do nothing, once,
// without crashing.
func (m *MemStorage) FailOn(op, prefix string, err error) {
	m.onOp, m.onPrefix, m.onErr = op, prefix, err
}

// SetQuota limits the total size of the files to n bytes (n < 1: unlimited). A write or
// append that would exceed it stores what fits and fails with [ErrNoSpace].
func (m *MemStorage) SetQuota(n int64) { m.quota = max(n, 0) }

// CompetingWriter models another process filling the same disk: while on, whatever space the
// store frees from now on (a truncation, a rewrite, a removal) is taken by the other writer
// before the store can use it again, and stays taken. Off gives the space back.
func (m *MemStorage) CompetingWriter(on bool) {
	m.competing = on
	if !on {
		m.taken = 0
	}
}

// grab lets the competing writer take the freed bytes.
func (m *MemStorage) grab(freed int64) {
	if m.competing && freed > 0 {
		m.taken += freed
	}
}

func (m *MemStorage) at(n int) int {
	if n < 1 {
		return 0
	}
	return m.ops + n
}

// Crash returns the store a restart would see: only the durable state of every file, no
// planned faults, op count zero. m itself is not changed.
func (m *MemStorage) Crash() *MemStorage {
	c := &MemStorage{files: make(map[string]*memFile, len(m.files)), quota: m.quota, competing: m.competing, taken: m.taken}
	for name, f := range m.files {
		if f.synced {
			d := slices.Clip(f.durable)
			c.files[name] = &memFile{data: d, durable: d, synced: true}
			c.used += int64(len(d))
		}
	}
	return c
}

// Clone returns an independent copy of m: files, durable states, op count, planned faults.
func (m *MemStorage) Clone() *MemStorage {
	c := *m
	c.files = make(map[string]*memFile, len(m.files))
	for name, f := range m.files {
		c.files[name] = &memFile{data: slices.Clip(f.data), durable: slices.Clip(f.durable), synced: f.synced}
	}
	return &c
}

// step validates name, counts a mutating op and applies the fault plan. tear reports that
// the op must apply a prefix of its data and then return err.
func (m *MemStorage) step(op, name string) (tear bool, err error) {
	if err := ValidName(name); err != nil {
		return false, err
	}
	m.ops++
	switch {
	case m.crashed || m.ops == m.failAt:
		m.crashed = true
		return false, &FileError{Op: op, Name: name, Err: ErrCrashed}
	case m.ops == m.tearAt:
		m.crashed = true
		return op == "write" || op == "append", &FileError{Op: op, Name: name, Err: ErrCrashed}
	case m.ops == m.onceAt:
		return false, &FileError{Op: op, Name: name, Err: m.onceErr}
	case m.onErr != nil && op == m.onOp && strings.HasPrefix(name, m.onPrefix):
		err := m.onErr
		m.onErr = nil
		return false, &FileError{Op: op, Name: name, Err: err}
	}
	return false, nil
}

// look validates name for a read-only call.
func (m *MemStorage) look(op, name string) (*memFile, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if m.crashed {
		return nil, &FileError{Op: op, Name: name, Err: ErrCrashed}
	}
	f := m.files[name]
	if f == nil {
		return nil, &FileError{Op: op, Name: name, Err: fs.ErrNotExist}
	}
	return f, nil
}

// ReadFile returns a copy of the content of name.
func (m *MemStorage) ReadFile(name string) ([]byte, error) {
	f, err := m.look("read", name)
	if err != nil {
		return nil, err
	}
	return slices.Clone(f.data), nil
}

// ReadAt reads len(p) bytes of name at off (io.ReaderAt's contract).
func (m *MemStorage) ReadAt(name string, p []byte, off int64) (int, error) {
	f, err := m.look("read", name)
	if err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &FileError{Op: "read", Name: name, Err: fs.ErrInvalid}
	}
	if off >= int64(len(f.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Size returns the length of name.
func (m *MemStorage) Size(name string) (int64, error) {
	f, err := m.look("size", name)
	if err != nil {
		return 0, err
	}
	return int64(len(f.data)), nil
}

// List returns the names of all files, sorted.
func (m *MemStorage) List() ([]string, error) {
	if m.crashed {
		return nil, &FileError{Op: "list", Name: ".", Err: ErrCrashed}
	}
	names := make([]string, 0, len(m.files))
	for name := range m.files {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// WriteFile creates or truncates name and writes a copy of data.
func (m *MemStorage) WriteFile(name string, data []byte) error {
	return m.put("write", name, data, false)
}

// AppendFile appends data to name, creating it if missing.
func (m *MemStorage) AppendFile(name string, data []byte) error {
	return m.put("append", name, data, true)
}

func (m *MemStorage) put(op, name string, data []byte, appending bool) error {
	tear, err := m.step(op, name)
	if err != nil && !tear {
		return err
	}
	if tear {
		data = data[:min(m.tearKeep, len(data))]
	}
	f := m.files[name]
	if f == nil {
		f = &memFile{}
		if m.files == nil {
			m.files = make(map[string]*memFile)
		}
		m.files[name] = f
	}
	base := f.data
	if !appending {
		base = nil
		m.used -= int64(len(f.data)) // truncated first, as a real write(2) after O_TRUNC
		m.grab(int64(len(f.data)))
		f.data = nil
	}
	full := false
	if m.quota > 0 {
		free := m.quota - m.taken - (m.used - int64(len(f.data)) + int64(len(base)))
		if int64(len(data)) > free {
			data, full = data[:max(free, 0)], true
		}
	}
	m.used += int64(len(base) + len(data) - len(f.data))
	if appending {
		f.data = append(f.data, data...)
	} else {
		f.data = slices.Clone(data)
	}
	if tear {
		f.durable, f.synced = slices.Clip(f.data), true
		return err
	}
	if full {
		return &FileError{Op: op, Name: name, Err: ErrNoSpace}
	}
	return nil
}

// Sync makes the content of name durable.
func (m *MemStorage) Sync(name string) error {
	if _, err := m.step("sync", name); err != nil {
		return err
	}
	f := m.files[name]
	if f == nil {
		return &FileError{Op: "sync", Name: name, Err: fs.ErrNotExist}
	}
	f.durable, f.synced = slices.Clip(f.data), true
	return nil
}

// Remove deletes name; a missing file is not an error.
func (m *MemStorage) Remove(name string) error {
	if _, err := m.step("remove", name); err != nil {
		return err
	}
	if f := m.files[name]; f != nil {
		m.used -= int64(len(f.data))
		m.grab(int64(len(f.data)))
		delete(m.files, name)
	}
	return nil
}

// Truncate cuts name to size bytes (a size beyond the end is an error: the store never
// extends a file this way). Like a write, it is durable only after Sync.
func (m *MemStorage) Truncate(name string, size int64) error {
	if _, err := m.step("truncate", name); err != nil {
		return err
	}
	f := m.files[name]
	if f == nil {
		return &FileError{Op: "truncate", Name: name, Err: fs.ErrNotExist}
	}
	if size < 0 || size > int64(len(f.data)) {
		return &FileError{Op: "truncate", Name: name, Err: fs.ErrInvalid}
	}
	m.used -= int64(len(f.data)) - size
	m.grab(int64(len(f.data)) - size)
	f.data = slices.Clip(f.data[:size])
	return nil
}
