package registry

import (
	"errors"
	"io"
	"io/fs"
	"strconv"
	"strings"
)

// The files a store keeps, as a load finds them: snapshots (registry.db.1|2|3), log segments
// (registry.log.1|2|3), the config (registry.conf.1|2|3), and the first format's one log
// (registry.log), read to convert it.

// snapFile is a snapshot file and what its header says.
type snapFile struct {
	ext       int
	size      int64
	header    SnapshotHeader
	headerErr error // the header does not verify: nothing it says can be trusted
	bodyErr   error // set once the whole file was read and failed verification
}

func (f *snapFile) name() string { return snapshotBase + "." + strconv.Itoa(f.ext) }

// torn reports whether the file looks cut short (a save that did not finish) rather than
// damaged in place: its end marker is missing.
func (f *snapFile) torn() bool {
	var ce *CorruptError
	err := f.bodyErr
	if f.headerErr != nil {
		err = f.headerErr
	}
	return errors.As(err, &ce) && (strings.Contains(ce.Msg, "end marker") || strings.Contains(ce.Msg, "shorter") || strings.Contains(ce.Msg, "cut short"))
}

// segFile is a log segment and its verified content.
type segFile struct {
	ext  int
	scan segScan
}

func (f *segFile) name() string { return segmentName(f.ext) }

func segmentName(ext int) string { return logBase + "." + strconv.Itoa(ext) }

// dirFiles is everything a load reads before deciding anything.
type dirFiles struct {
	snaps  []*snapFile // present, by extension
	segs   []*segFile  // present, by extension
	legacy bool        // the first format's registry.log is present
	other  []string    // names of the store's kinds it does not know (registry.log.7, ...)
}

// readFiles reads the snapshot headers and every log segment of st. Read errors other than a
// missing file are returned: the load cannot tell what the storage holds.
func readFiles(st Storage) (*dirFiles, error) {
	names, err := st.List()
	if err != nil {
		return nil, err
	}
	d := &dirFiles{}
	for _, n := range names {
		switch {
		case n == logBase:
			d.legacy = true
		case strings.HasPrefix(n, snapshotBase+"."):
			ext, ok := extOf(n, snapshotBase)
			if !ok {
				d.other = append(d.other, n)
				continue
			}
			f, err := readSnapHeader(st, n, ext)
			if errors.Is(err, fs.ErrNotExist) {
				continue // retired while we looked (a live directory)
			}
			if err != nil {
				return nil, err
			}
			d.snaps = append(d.snaps, f)
		case strings.HasPrefix(n, logBase+"."):
			ext, ok := extOf(n, logBase)
			if !ok {
				d.other = append(d.other, n)
				continue
			}
			data, err := st.ReadFile(n)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			d.segs = append(d.segs, &segFile{ext: ext, scan: scanSegment(data)})
		}
	}
	return d, nil
}

// extOf parses the extension of base.N, N in 1..3.
func extOf(name, base string) (int, bool) {
	s := strings.TrimPrefix(name, base+".")
	if len(s) != 1 || s[0] < '1' || s[0] > '3' {
		return 0, false
	}
	return int(s[0] - '0'), true
}

// readSnapHeader reads the first bytes of a snapshot and parses its header.
func readSnapHeader(st Storage, name string, ext int) (*snapFile, error) {
	size, err := st.Size(name)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, snapHeaderLen)
	n, err := st.ReadAt(name, buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	f := &snapFile{ext: ext, size: size}
	f.header, _, f.headerErr = ParseSnapshotHeader(buf[:n])
	if f.headerErr == nil && size < int64(snapMinBytes) {
		f.headerErr = corruptAt("snapshot shorter than its header and trailer", 0)
	}
	return f, nil
}

// snap returns the snapshot file of extension ext, nil if there is none.
func (d *dirFiles) snap(ext int) *snapFile {
	for _, f := range d.snaps {
		if f.ext == ext {
			return f
		}
	}
	return nil
}

// seg returns the segment file of extension ext, nil if there is none.
func (d *dirFiles) seg(ext int) *segFile {
	for _, f := range d.segs {
		if f.ext == ext {
			return f
		}
	}
	return nil
}

// hasData reports whether any registry data file is present (the config aside).
func (d *dirFiles) hasData() bool { return len(d.snaps) > 0 || len(d.segs) > 0 || d.legacy }

// readSnapshot reads and verifies a whole snapshot file.
func readSnapshot(st Storage, f *snapFile) ([]byte, error) {
	data, err := st.ReadFile(f.name())
	if err != nil {
		return nil, err
	}
	if err := VerifySnapshot(data); err != nil {
		f.bodyErr = err
		return nil, &FileError{Op: "verify", Name: f.name(), Err: err}
	}
	if h, _, _ := ParseSnapshotHeader(data); h != f.header {
		// Rewritten since its header was read: a live directory's save.
		f.bodyErr = withDetail(ErrStale, f.name()+" changed while it was read")
		return nil, f.bodyErr
	}
	return data, nil
}
