package registry

import (
	"bytes"
	"slices"
	"strconv"
)

// INI is a config registry in Rabbit's format: `[section]` lines and `key=value` lines,
// each ending in a newline, an anonymous section before the first header. A value is
// everything after the first '='; spaces are significant; there is no escaping and no
// comment syntax. The zero value is an empty file.
//
// The file is kept line by line, so a write changes only the lines it must. Lines that are
// neither a header nor a key=value (blank lines, text without '=') are kept and ignored.
// A key or section that occurs more than once is read last-occurrence-wins and written in
// every occurrence. A `[]` header names the anonymous section too.
//
// # Notes
//
// Rabbit documented rules it did not enforce; writes here reject (with [ErrBadConfig], and
// without changing anything) keys that are empty, start with '[' or contain '=', newline
// or NUL, values with a newline or NUL, and section names with ']', newline or NUL.
// Stored files end with a `[.check]` section (see [VerifyINI]) that a Rabbit reader would
// see as one more section.
type INI struct {
	lines []iniLine
}

type iniLine struct {
	text string // without the newline
	kind iniLineKind
	eq   int // iniPair: index of the first '='
}

type iniLineKind uint8

const (
	iniOther iniLineKind = iota
	iniHeader
	iniPair
)

func (l iniLine) name() string  { return l.text[1 : len(l.text)-1] }
func (l iniLine) key() string   { return l.text[:l.eq] }
func (l iniLine) value() string { return l.text[l.eq+1:] }

// parseINI parses plain text. A last line without a newline is accepted.
func parseINI(data []byte) (*INI, error) {
	f := &INI{}
	for off, n := 0, 1; off < len(data); n++ {
		line := data[off:]
		next := len(data)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], off+i+1
		}
		if i := bytes.IndexByte(line, 0); i >= 0 {
			return nil, withDetail(ErrBadConfig, "NUL byte at offset "+strconv.Itoa(off+i))
		}
		l := iniLine{text: string(line)}
		switch eq := bytes.IndexByte(line, '='); {
		case len(line) > 0 && line[0] == '[':
			if len(line) < 2 || line[len(line)-1] != ']' {
				return nil, withDetail(ErrBadConfig, "line "+strconv.Itoa(n)+": section header does not end with ']'")
			}
			l.kind = iniHeader
		case eq >= 0:
			l.kind, l.eq = iniPair, eq
		}
		f.lines = append(f.lines, l)
		off = next
	}
	return f, nil
}

// AppendText appends the file in Rabbit's plain format, without the `[.check]` trailer
// (export). It never fails.
func (f *INI) AppendText(b []byte) ([]byte, error) {
	for _, l := range f.lines {
		b = append(b, l.text...)
		b = append(b, '\n')
	}
	return b, nil
}

// Bytes returns the file as stored: the plain text followed by its `[.check]` trailer.
func (f *INI) Bytes() []byte {
	b, _ := f.AppendText(nil)
	return append(b, iniTrailer(b)...)
}

// walk calls fn for every line with the name of the section it is in.
func (f *INI) walk(fn func(i int, section string, l iniLine) bool) {
	section := ""
	for i, l := range f.lines {
		if l.kind == iniHeader {
			section = l.name()
		}
		if !fn(i, section, l) {
			return
		}
	}
}

// Read stores the values of section's keys into the entries' variables (Rabbit's
// registry_read); keys not in the file leave their variables untouched. "" is the
// anonymous section. A value that does not parse as its entry's kind leaves its variable
// untouched too; Read fills the other entries and returns the first such error.
func (f *INI) Read(section string, entries []Entry) error {
	if err := iniCheckEntries(section, entries); err != nil {
		return err
	}
	var first error
	f.walk(func(_ int, s string, l iniLine) bool {
		if l.kind != iniPair || s != section {
			return true
		}
		for _, e := range entries {
			if e.Kind != EntryNop && e.Kind != EntryDelete && e.Key == l.key() {
				if err := e.decode(section, l.value()); err != nil && first == nil {
					first = err
				}
			}
		}
		return true
	})
	return first
}

// Lookup returns the raw value of key in section (its last occurrence).
func (f *INI) Lookup(section, key string) (value string, ok bool) {
	f.walk(func(_ int, s string, l iniLine) bool {
		if l.kind == iniPair && s == section && l.key() == key {
			value, ok = l.value(), true
		}
		return true
	})
	return value, ok
}

// Enumerate walks the file in order (Rabbit's registry_enumerate): it calls section for
// every section header and, if key is not nil, key for every key=value line, with the
// section it is in ("" before the first header). If section returns true, the walk stops.
// Either function may be nil.
func (f *INI) Enumerate(section func(name string) (stop bool), key func(section, key, value string)) {
	f.walk(func(_ int, s string, l iniLine) bool {
		switch {
		case l.kind == iniHeader && section != nil:
			return !section(s)
		case l.kind == iniPair && key != nil:
			key(s, l.key(), l.value())
		}
		return true
	})
}

// Write edits section (Rabbit's registry_write): every line of a key in entries gets the
// entry's value, or is removed for a [DeleteEntry]; keys not yet there are appended after
// the section's last key; a missing section is created at the end of the file. A nil
// entries slice deletes the whole section; an empty one only makes sure it exists.
// Invalid names or values return an error wrapping [ErrBadConfig] and change nothing.
func (f *INI) Write(section string, entries []Entry) error {
	if err := iniCheckSection(section); err != nil {
		return err
	}
	if entries == nil {
		f.lines = f.without(section)
		return nil
	}
	if err := iniCheckEntries(section, entries); err != nil {
		return err
	}
	values := make([]string, len(entries))
	for i, e := range entries {
		if e.Kind != EntryNop && e.Kind != EntryDelete {
			v, err := e.encode(section)
			if err != nil {
				return err
			}
			values[i] = v
		}
	}
	done := make([]bool, len(entries))
	out := make([]iniLine, 0, len(f.lines)+len(entries)+1)
	end, seen := 0, section == "" // where missing keys go; the anonymous section always exists
	f.walk(func(_ int, s string, l iniLine) bool {
		if s == section && l.kind == iniPair {
			if i := iniEntryIndex(entries, l.key()); i >= 0 {
				done[i] = true
				if entries[i].Kind == EntryDelete {
					return true
				}
				l = iniPairLine(l.key(), values[i])
			}
		}
		out = append(out, l)
		if s == section && l.kind != iniOther {
			end, seen = len(out), true
		}
		return true
	})
	var add []iniLine
	if !seen {
		add = append(add, iniLine{text: "[" + section + "]", kind: iniHeader})
		end = len(out)
	}
	for i, e := range entries {
		if !done[i] && e.Kind != EntryNop && e.Kind != EntryDelete {
			add = append(add, iniPairLine(e.Key, values[i]))
		}
	}
	f.lines = slices.Insert(out, end, add...)
	return nil
}

func iniEntryIndex(entries []Entry, key string) int {
	for i, e := range entries {
		if e.Kind != EntryNop && e.Key == key {
			return i
		}
	}
	return -1
}

func iniPairLine(key, value string) iniLine {
	return iniLine{text: key + "=" + value, kind: iniPair, eq: len(key)}
}

// without returns the lines not in section.
func (f *INI) without(section string) []iniLine {
	out := make([]iniLine, 0, len(f.lines))
	f.walk(func(_ int, s string, l iniLine) bool {
		if s != section {
			out = append(out, l)
		}
		return true
	})
	return out
}
