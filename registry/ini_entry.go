package registry

import (
	"strconv"
	"strings"
)

// EntryKind is the type of an [Entry], after Rabbit's entry options.
type EntryKind uint8

// Entry kinds. Types are not stored in the file: the kind only says how a value is
// formatted and parsed.
const (
	EntryNop    EntryKind = iota // placeholder, ignored
	EntryShort                   // int16, decimal
	EntryLong                    // int, int32 or int64, decimal
	EntryBool                    // 1 or 0
	EntryFloat                   // float64, decimal without exponent
	EntryBin                     // fixed-length bytes, upper-case hex
	EntryString                  // text, optionally length-limited
	EntryDelete                  // on write: remove the key
)

var iniKindNames = [...]string{"NOP", "SHORT", "LONG", "BOOL", "FLOAT", "BIN", "STRING", "DELETE"}

func (k EntryKind) String() string {
	if int(k) < len(iniKindNames) {
		return iniKindNames[k]
	}
	return "EntryKind(" + strconv.Itoa(int(k)) + ")"
}

// Entry binds a key to a caller's variable, like a row of Rabbit's entry table: a read
// stores a found value into the variable (leaving it untouched if the key is missing, so
// callers preset defaults), a write formats the variable's value. Build entries with the
// constructors ([LongEntry], [StringEntry], ...).
type Entry struct {
	Key  string
	Kind EntryKind
	max  int // EntryString: longest value in bytes, 0 for no limit
	ptr  any // *int16, *int, *int32, *int64, *bool, *float64, []byte, *string
}

// ShortEntry binds key to a 16-bit integer.
func ShortEntry(key string, p *int16) Entry { return Entry{Key: key, Kind: EntryShort, ptr: p} }

// LongEntry binds key to an integer variable; values out of its range are errors.
func LongEntry[T int | int32 | int64](key string, p *T) Entry {
	return Entry{Key: key, Kind: EntryLong, ptr: p}
}

// BoolEntry binds key to a boolean, stored as 1 or 0. Reads also accept what
// strconv.ParseBool does and any other integer (non-zero is true).
func BoolEntry(key string, p *bool) Entry { return Entry{Key: key, Kind: EntryBool, ptr: p} }

// FloatEntry binds key to a float, stored in %f style but with the shortest digits that
// read back exactly (Rabbit's %f kept six decimals).
func FloatEntry(key string, p *float64) Entry { return Entry{Key: key, Kind: EntryFloat, ptr: p} }

// BinEntry binds key to buf, stored as 2*len(buf) upper-case hex digits. A read needs
// exactly that many digits (either case) and fills buf.
func BinEntry(key string, buf []byte) Entry { return Entry{Key: key, Kind: EntryBin, ptr: buf} }

// StringEntry binds key to a string of at most max bytes (max <= 0: no limit).
// A longer value is an error on read and on write, not a silent truncation.
func StringEntry(key string, p *string, max int) Entry {
	return Entry{Key: key, Kind: EntryString, max: max, ptr: p}
}

// DeleteEntry removes key on write; reads ignore it.
func DeleteEntry(key string) Entry { return Entry{Key: key, Kind: EntryDelete} }

// NopEntry is a placeholder that reads and writes ignore.
func NopEntry() Entry { return Entry{Kind: EntryNop} }

// iniBadEntry reports a problem with entry e of section.
func iniBadEntry(section string, e Entry, what string) error {
	return withDetail(ErrBadConfig, "["+section+"] "+strconv.Quote(e.Key)+" ("+e.Kind.String()+"): "+what)
}

// iniCheckKey applies Rabbit's format rules to a key.
func iniCheckKey(key string) string {
	switch {
	case key == "":
		return "empty key"
	case key[0] == '[':
		return "key starts with '['"
	case strings.ContainsAny(key, "=\n\x00"):
		return "key contains '=', newline or NUL"
	}
	return ""
}

// iniCheckSection applies the format rules to a section name ("" is the anonymous section).
func iniCheckSection(name string) error {
	switch {
	case strings.ContainsAny(name, "]\n\x00"):
		return withDetail(ErrBadConfig, "section name "+strconv.Quote(name)+" contains ']', newline or NUL")
	case name == iniCheckName:
		return withDetail(ErrBadConfig, "section name "+strconv.Quote(name)+" is reserved")
	}
	return nil
}

// iniCheckEntries validates a table: keys, destinations, no key twice.
func iniCheckEntries(section string, entries []Entry) error {
	for i, e := range entries {
		if e.Kind == EntryNop {
			continue
		}
		if msg := iniCheckKey(e.Key); msg != "" {
			return iniBadEntry(section, e, msg)
		}
		if e.Kind > EntryDelete {
			return iniBadEntry(section, e, "unknown kind")
		}
		if e.Kind != EntryDelete && !e.bound() {
			return iniBadEntry(section, e, "no variable bound (use the constructors)")
		}
		for _, f := range entries[:i] {
			if f.Kind != EntryNop && f.Key == e.Key {
				return iniBadEntry(section, e, "key given twice")
			}
		}
	}
	return nil
}

func (e Entry) bound() bool {
	switch p := e.ptr.(type) {
	case *int16:
		return p != nil && e.Kind == EntryShort
	case *int:
		return p != nil && e.Kind == EntryLong
	case *int32:
		return p != nil && e.Kind == EntryLong
	case *int64:
		return p != nil && e.Kind == EntryLong
	case *bool:
		return p != nil && e.Kind == EntryBool
	case *float64:
		return p != nil && e.Kind == EntryFloat
	case []byte:
		return e.Kind == EntryBin
	case *string:
		return p != nil && e.Kind == EntryString
	}
	return false
}

// encode formats the bound variable's value (e must have passed iniCheckEntries).
func (e Entry) encode(section string) (string, error) {
	switch p := e.ptr.(type) {
	case *int16:
		return strconv.Itoa(int(*p)), nil
	case *int:
		return strconv.Itoa(*p), nil
	case *int32:
		return strconv.FormatInt(int64(*p), 10), nil
	case *int64:
		return strconv.FormatInt(*p, 10), nil
	case *bool:
		if *p {
			return "1", nil
		}
		return "0", nil
	case *float64:
		return strconv.FormatFloat(*p, 'f', -1, 64), nil
	case []byte:
		const hex = "0123456789ABCDEF"
		b := make([]byte, 0, 2*len(p))
		for _, c := range p {
			b = append(b, hex[c>>4], hex[c&15])
		}
		return string(b), nil
	case *string:
		if e.max > 0 && len(*p) > e.max {
			return "", iniBadEntry(section, e, "value longer than "+strconv.Itoa(e.max)+" bytes")
		}
		if strings.ContainsAny(*p, "\n\x00") {
			return "", iniBadEntry(section, e, "value contains newline or NUL")
		}
		return *p, nil
	}
	return "", iniBadEntry(section, e, "no variable bound")
}

// decode parses v into the bound variable; on error the variable is untouched.
func (e Entry) decode(section, v string) error {
	bad := func() error { return iniBadEntry(section, e, "cannot parse "+strconv.Quote(v)) }
	switch p := e.ptr.(type) {
	case *int16:
		n, err := strconv.ParseInt(v, 10, 16)
		if err != nil {
			return bad()
		}
		*p = int16(n)
	case *int:
		n, err := strconv.ParseInt(v, 10, strconv.IntSize)
		if err != nil {
			return bad()
		}
		*p = int(n)
	case *int32:
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return bad()
		}
		*p = int32(n)
	case *int64:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return bad()
		}
		*p = n
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return bad()
			}
			b = n != 0
		}
		*p = b
	case *float64:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return bad()
		}
		*p = f
	case []byte:
		if len(v) != 2*len(p) {
			return iniBadEntry(section, e, strconv.Itoa(len(v))+" hex digits, want "+strconv.Itoa(2*len(p)))
		}
		for i := 0; i < len(v); i++ {
			if unhex(v[i]) > 15 {
				return bad()
			}
		}
		for i := range p {
			p[i] = unhex(v[2*i])<<4 | unhex(v[2*i+1])
		}
	case *string:
		if e.max > 0 && len(v) > e.max {
			return iniBadEntry(section, e, "value longer than "+strconv.Itoa(e.max)+" bytes")
		}
		*p = v
	}
	return nil
}
