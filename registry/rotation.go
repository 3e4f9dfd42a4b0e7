package registry

import (
	"errors"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// Rotation keeps one logical file BASE crash-safely as BASE.1, BASE.2 or BASE.3, the scheme
// of the Rabbit/Digi registry.lib: 0, 1 or 2 of them exist. A write goes to the next
// extension after the current one (none->1, 1->2, 2->3, 3->1), is synced, and only then the
// old file is removed: deleting the old file is the commit.
//
// # Notes
//
// Rabbit trusted a fixed order of preference among the files present; so does Read, but
// verification decides: a presumed-good file that fails Verify (or cannot be read) gives
// way to the next candidate, and nothing is deleted while reading. Write never deletes the
// current file before the new one is synced, and never deletes anything before a verified
// current file is known. One writer at a time: Write detects, but does not prevent, a
// concurrent change ([ErrStale]).
//
// Rabbit's calls map to Read (prep_read, and prep_write: the Choice it returns is what Write
// writes after), Write (write and finish_write) and Update (registry_update). [INIStore]
// adds the INI layer.
type Rotation struct {
	st     Storage
	base   string
	verify func([]byte) error
}

// NewRotation returns the rotation of base over st. verify accepts or rejects a file's
// content; nil accepts everything (Rabbit's behaviour, for plain imports only).
func NewRotation(st Storage, base string, verify func([]byte) error) (*Rotation, error) {
	if err := ValidName(base + ".1"); err != nil {
		return nil, err
	}
	return &Rotation{st: st, base: base, verify: verify}, nil
}

// Name returns the file name of extension ext (1, 2 or 3).
func (r *Rotation) Name(ext int) string { return r.base + "." + strconv.Itoa(ext) }

// Choice is the outcome of a Read: the files seen, the one chosen and why the others
// before it in the order of preference were rejected.
type Choice struct {
	Base     string
	Found    []int       // extensions present, ascending
	Ext      int         // chosen extension, 0 if none (no file, or none verified)
	Rejected []Rejection // candidates tried before Ext, in the order tried
}

// Rejection is a candidate file that could not be read or failed verification.
type Rejection struct {
	Ext int
	Err error
}

// Name returns the chosen file's name, "" if none.
func (c Choice) Name() string {
	if c.Ext == 0 {
		return ""
	}
	return c.Base + "." + strconv.Itoa(c.Ext)
}

// String explains the choice in one line, e.g.
// "registry.conf.2 (found .1 .2; .1 rejected: registry: corrupt data: crc32 mismatch)".
func (c Choice) String() string {
	var b strings.Builder
	switch {
	case len(c.Found) == 0:
		return c.Base + ": no file (new)"
	case c.Ext == 0:
		b.WriteString(c.Base + ": no valid file")
	default:
		b.WriteString(c.Name())
	}
	b.WriteString(" (found")
	for _, ext := range c.Found {
		b.WriteString(" ." + strconv.Itoa(ext))
	}
	for _, rj := range c.Rejected {
		b.WriteString("; ." + strconv.Itoa(rj.Ext) + " rejected: " + rj.Err.Error())
	}
	b.WriteString(")")
	return b.String()
}

// rotationOrder is Rabbit's table: for the set of extensions present, the order in which they
// are presumed good. Of two files the older one comes first: the newer exists only if a
// write did not commit. All three cannot happen through Write; Rabbit picked 1.
func rotationOrder(found []int) []int {
	switch len(found) {
	case 3:
		return []int{1, 2, 3}
	case 2:
		if found[0]%3+1 == found[1] { // {1,2}, {2,3}
			return []int{found[0], found[1]}
		}
		return []int{3, 1} // {1,3}: 3 is older, 1 its successor
	}
	return found
}

// present returns the extensions that exist, ascending.
func (r *Rotation) present() ([]int, error) {
	var found []int
	for ext := 1; ext <= 3; ext++ {
		_, err := r.st.Size(r.Name(ext))
		switch {
		case err == nil:
			found = append(found, ext)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	return found, nil
}

// Read chooses the current file (Rabbit's prep_read) and returns its verified content.
// With no file at all it returns nil data, Choice.Ext 0 and no error: a new registry.
// If files exist but none verifies, it returns an error naming them that wraps
// [ErrCorrupt] when at least one failed verification (else only the read errors), and
// deletes nothing.
func (r *Rotation) Read() ([]byte, Choice, error) {
	c := Choice{Base: r.base}
	found, err := r.present()
	if err != nil {
		return nil, c, err
	}
	c.Found = found
	for _, ext := range rotationOrder(found) {
		data, err := r.st.ReadFile(r.Name(ext))
		if err == nil && r.verify != nil {
			if err = r.verify(data); err != nil && !errors.Is(err, ErrCorrupt) {
				err = withDetail(ErrCorrupt, strings.TrimPrefix(err.Error(), "registry: "), err)
			}
		}
		if err != nil {
			c.Rejected = append(c.Rejected, Rejection{Ext: ext, Err: err})
			continue
		}
		c.Ext = ext
		return data, c, nil
	}
	if len(found) == 0 {
		return nil, c, nil
	}
	return nil, c, rotationNoValid(c)
}

func rotationNoValid(c Choice) error {
	var b strings.Builder
	causes := make([]error, 0, len(c.Rejected))
	corrupt := false
	for i, rj := range c.Rejected {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.Base + "." + strconv.Itoa(rj.Ext) + ": " + strings.TrimPrefix(rj.Err.Error(), "registry: "))
		causes = append(causes, rj.Err)
		corrupt = corrupt || errors.Is(rj.Err, ErrCorrupt)
	}
	detail := "no valid " + c.Base + " (" + b.String() + ")"
	if corrupt {
		return withDetail(ErrCorrupt, detail, causes...)
	}
	return &detailedError{msg: "registry: " + detail, errs: causes}
}

// Write stores data as the generation after prev (from Read or a previous Write) and
// commits it (Rabbit's prep_write, write and finish_write). It returns the new Choice.
//
// Steps: check that the files present are still prev.Found, else [ErrStale]; remove files
// other than the current and the next (left by a rejected or foreign write), so that at
// most two ever exist; write and sync the next file; remove the current one (the commit).
//
// If writing or syncing fails, Write removes the partial file if it can and the current
// file stays as it was. If the final remove fails, the outcome is unknown: later Reads see
// the old or the new data, whole. Write refuses to run after a Read that found files but
// verified none ([ErrCorrupt]): see [Rotation.Discard].
func (r *Rotation) Write(prev Choice, data []byte) (Choice, error) {
	return r.WriteFunc(prev, func(put func([]byte) error) error { return put(data) })
}

// WriteFunc is Write with the data produced by fill, which passes it to put in consecutive
// chunks: the first is written with WriteFile, the others appended. If fill fails, nothing
// is committed, as when a write fails. (A snapshot is streamed this way, never whole in
// memory.)
func (r *Rotation) WriteFunc(prev Choice, fill func(put func([]byte) error) error) (Choice, error) {
	switch {
	case prev.Base != r.base:
		return prev, withDetail(ErrStale, "choice is for "+strconv.Quote(prev.Base)+", not "+strconv.Quote(r.base))
	case prev.Ext == 0 && len(prev.Found) > 0:
		return prev, withDetail(ErrCorrupt, "no verified "+r.base+" to write after")
	case prev.Ext != 0 && !slices.Contains(prev.Found, prev.Ext):
		return prev, withDetail(ErrStale, "choice of "+r.base+" is not from Read")
	}
	found, err := r.present()
	if err != nil {
		return prev, err
	}
	if !slices.Equal(found, prev.Found) {
		return prev, withDetail(ErrStale, r.base+" files changed since they were read")
	}
	next := prev.Ext%3 + 1
	for _, ext := range found {
		if ext != prev.Ext && ext != next {
			if err := r.st.Remove(r.Name(ext)); err != nil {
				return prev, err
			}
		}
	}
	name := r.Name(next)
	started := false
	err = fill(func(chunk []byte) error {
		if started {
			return r.st.AppendFile(name, chunk)
		}
		started = true
		return r.st.WriteFile(name, chunk)
	})
	if err == nil && !started {
		err = r.st.WriteFile(name, nil)
	}
	if err == nil {
		err = r.st.Sync(name)
	}
	if err != nil {
		_ = r.st.Remove(name) // best effort: it is not the current file
		return prev, err
	}
	if prev.Ext != 0 {
		if err := r.st.Remove(r.Name(prev.Ext)); err != nil {
			return prev, err
		}
	}
	return Choice{Base: r.base, Found: []int{next}, Ext: next}, nil
}

// Update reads the current content (nil if none), passes it to fn and writes fn's result.
// If fn fails nothing is written.
func (r *Rotation) Update(fn func(old []byte) ([]byte, error)) (Choice, error) {
	old, c, err := r.Read()
	if err != nil {
		return c, err
	}
	data, err := fn(old)
	if err != nil {
		return c, err
	}
	return r.Write(c, data)
}

// Discard removes the files of c, from a Read that found files but verified none, so that
// the next Write starts a new registry. Rotation never does this on its own: deciding that
// data is beyond repair (a torn first write, or rot) is the caller's policy.
func (r *Rotation) Discard(c Choice) (Choice, error) {
	if c.Base != r.base || c.Ext != 0 || len(c.Found) == 0 || len(c.Rejected) != len(c.Found) {
		return c, withDetail(ErrStale, "discard needs a Read that verified no file of "+r.base)
	}
	found, err := r.present()
	if err != nil {
		return c, err
	}
	if !slices.Equal(found, c.Found) {
		return c, withDetail(ErrStale, r.base+" files changed since they were read")
	}
	for _, ext := range found {
		if err := r.st.Remove(r.Name(ext)); err != nil {
			return c, err
		}
	}
	return Choice{Base: r.base}, nil
}

// Cleanup removes every file but the chosen one, as Rabbit's prep_read did. c must come
// from a Read that chose a file, and the files present must still be c.Found.
func (r *Rotation) Cleanup(c Choice) (Choice, error) {
	if c.Base != r.base || c.Ext == 0 {
		return c, withDetail(ErrStale, "cleanup needs a verified choice of "+r.base)
	}
	found, err := r.present()
	if err != nil {
		return c, err
	}
	if !slices.Equal(found, c.Found) {
		return c, withDetail(ErrStale, r.base+" files changed since they were read")
	}
	for _, ext := range found {
		if ext != c.Ext {
			if err := r.st.Remove(r.Name(ext)); err != nil {
				return c, err
			}
		}
	}
	return Choice{Base: r.base, Found: []int{c.Ext}, Ext: c.Ext}, nil
}
