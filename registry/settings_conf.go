package registry

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ConfNote is a line of netdata.conf's [registry] section that was accepted but not applied.
type ConfNote struct {
	Line int
	Key  string // "" for a line that is not key = value
	Why  string
}

// Why a ConfNote's line was not applied.
const (
	NoteNotUsed = "not used by regwasm"
	NoteUnknown = "unknown key, ignored"
	NoteOldName = "older name of \"registry expire idle persons\", which is also given"
	NoteNoValue = "not key = value, ignored"
)

// netdataOnlyKeys are the [registry] keys netdata 1.x and 2.x read that regwasm has no use
// for: its files are registry.db.N and registry.log in its data directory, it keeps no
// management API, resolves no names for "allow from" and maps nothing.
var netdataOnlyKeys = []string{
	"registry db directory", "registry db file", "registry log file",
	"netdata unique id file", "netdata management api key file", "allow by dns", "use mmap",
}

// Older key names netdata still reads (its netdata-conf-backwards-compatibility.c): the newer
// name wins when both are given.
const (
	expireKey    = "registry expire idle persons"
	expireOldKey = "registry expire idle persons days"
)

// ParseNetdataConf applies the [registry] section of netdata.conf text to set: netdata's
// syntax (`key = value`, `#` comments, its booleans and durations) and its key names, older
// ones too. Other sections are ignored, so a whole netdata.conf may be given. Keys netdata
// reads that regwasm does not use, unknown keys and lines that are not `key = value` are
// ignored, as netdata ignores what it does not know, and returned as notes for the operator.
// A value of a key regwasm uses is checked strictly: one that does not parse (netdata would
// take a prefix, or its default) is an error naming its line, and set is left untouched.
//
// # Notes
//
// This is not the config registry's own format (Rabbit's INI with a checksum trailer, see
// ini.go): it is what people already have on disk, read once and stored through
// Store.Configure into registry.conf.N.
func ParseNetdataConf(text []byte, set *Settings) ([]ConfNote, error) {
	next := *set
	entries := next.entries()
	var notes []ConfNote
	section := ""
	newExpireGiven := false
	for n, line := range bytes.Split(text, []byte("\n")) {
		no := n + 1
		s := strings.TrimSpace(string(line))
		if s == "" || s[0] == '#' || s[0] == ';' {
			continue
		}
		if s[0] == '[' && s[len(s)-1] == ']' {
			section = strings.TrimSpace(s[1 : len(s)-1])
			continue
		}
		if section != configSection {
			continue
		}
		key, value, ok := strings.Cut(s, "=")
		if !ok {
			notes = append(notes, ConfNote{Line: no, Why: NoteNoValue})
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case key == expireOldKey && newExpireGiven:
			notes = append(notes, ConfNote{no, key, NoteOldName})
			continue
		case key == expireOldKey:
			key = expireKey
		case key == expireKey:
			newExpireGiven = true
		}
		i := iniEntryIndex(entries, key)
		if i < 0 || isNetdataOnly(key) {
			why := NoteUnknown
			if isNetdataOnly(key) {
				why = NoteNotUsed
			}
			notes = append(notes, ConfNote{no, key, why})
			continue
		}
		if err := applyNetdataValue(entries[i], value); err != nil {
			return nil, &settingError{"netdata.conf line " + strconv.Itoa(no) + ": [registry] " + strconv.Quote(key) + ": " + err.Error()}
		}
	}
	*set = next
	return notes, nil
}

func isNetdataOnly(key string) bool {
	for _, k := range netdataOnlyKeys {
		if k == key {
			return true
		}
	}
	return false
}

// applyNetdataValue checks value for e's key and stores it (netdata's syntax).
func applyNetdataValue(e Entry, value string) error {
	if !utf8.ValidString(value) || strings.ContainsFunc(value, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return errors.New("the value holds invalid UTF-8 or control characters")
	}
	switch e.Key {
	case expireKey:
		days, ok := parseNetdataDays(value)
		if !ok {
			return errors.New("not a duration (days, or a number with a unit: s m h d w mo y): " + strconv.Quote(value))
		}
		*e.ptr.(*int) = days
		return nil
	case "registry to announce":
		if !validAnnounceURL(value) {
			return errors.New("not an http:// or https:// URL: " + strconv.Quote(value))
		}
	case "registry domain":
		if !validDomain(value) {
			return errors.New("not a host name: " + strconv.Quote(value))
		}
	case "machine guid":
		if g, ok := ParseGUID(value); !ok || g.IsZero() {
			return errors.New("not a GUID: " + strconv.Quote(value))
		}
	case "memory budget":
		n, ok := parseMemoryBudget(value)
		if !ok {
			return errors.New("not auto or a size (bytes, or a number with a unit: KiB MiB GiB, K M G): " + strconv.Quote(value))
		}
		*e.ptr.(*int64) = n
		return nil
	case "log sync":
		probe := Settings{LogSync: value}
		if _, err := probe.logSyncEvery(); err != nil {
			return errors.New("must be always, save or every N: " + strconv.Quote(value))
		}
	}
	switch p := e.ptr.(type) {
	case *bool:
		b, ok := netdataBool(value)
		if !ok {
			return errors.New("not yes or no: " + strconv.Quote(value))
		}
		*p = b
		return nil
	case *int, *int64:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			return errors.New("not a whole number, 0 or more: " + strconv.Quote(value))
		}
		if e.Key == "max URL length" || e.Key == "max URL name length" {
			n = max(n, 10) // as netdata does
		}
		if ip, ok := p.(*int); ok {
			*ip = int(n)
		} else {
			*p.(*int64) = n
		}
		return nil
	}
	if err := e.decode(configSection, value); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), ErrBadConfig.Error()+": "))
	}
	return nil
}

// netdataBool reads netdata's booleans: yes, true, on, auto and "on demand" are true (as
// netdata's inicfg_test_boolean_value), no, false and off false, and 1 and 0. Anything else,
// which netdata takes for false, is refused.
func netdataBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "yes", "true", "on", "auto", "on demand", "1":
		return true, true
	case "no", "false", "off", "0":
		return false, true
	}
	return false, false
}

// validAnnounceURL reports whether v can be announced to browsers: empty (regwasm serve then
// announces itself) or an http or https URL with a host and no spaces.
func validAnnounceURL(v string) bool {
	if v == "" {
		return true
	}
	rest, ok := strings.CutPrefix(v, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(v, "http://")
	}
	return ok && rest != "" && rest[0] != '/' && !strings.ContainsAny(v, " \"'<>\\")
}

// validDomain reports whether d can be a cookie's Domain attribute: empty or a host name,
// optionally with a leading dot. Anything else (';', spaces) could add cookie attributes.
func validDomain(d string) bool {
	if len(d) > 253 {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// appendNotesJSON adds `,"ignored":[{"line":N,"key":"...","why":"..."},...]` (nothing without
// notes).
func appendNotesJSON(b []byte, notes []ConfNote) []byte {
	if len(notes) == 0 {
		return b
	}
	b = append(b, `,"ignored":[`...)
	for i, n := range notes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"line":`...)
		b = appendUint(b, uint64(n.Line))
		b = append(b, `,"key":`...)
		b = appendJSONString(b, n.Key)
		b = append(b, `,"why":`...)
		b = appendJSONString(b, n.Why)
		b = append(b, '}')
	}
	return append(b, ']')
}

// Configure applies netdata.conf text (ParseNetdataConf) and stores the settings crash-safely.
// Invalid text or settings change nothing. It returns the lines it ignored.
func (s *Store) Configure(netdataConf []byte) ([]ConfNote, error) {
	set := s.settings
	notes, err := ParseNetdataConf(netdataConf, &set)
	if err != nil {
		return nil, err
	}
	return notes, s.UpdateSettings(func(p *Settings) { *p = set })
}

// configureOp is op configure (its one field, in req.Person, is the netdata.conf text): the
// settings after the change with the lines ignored ("ignored"), or a failed body.
func (s *Store) configureOp(req *Request, body []byte) (Result, []byte) {
	notes, err := s.Configure(req.Person)
	if err != nil {
		status := 400
		if !errors.Is(err, ErrBadConfig) {
			status = 500
		}
		return s.reg.fail(body, "configure", status, err)
	}
	body = s.settings.appendJSON(body)
	return Result{Status: 200}, append(appendNotesJSON(body[:len(body)-1], notes), '}')
}
