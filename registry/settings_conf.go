package registry

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// ParseNetdataConf applies the [registry] section of netdata.conf text to set: netdata's
// syntax (`key = value`, `#` and `;` comments, yes/no booleans) and its key names. Other
// sections are ignored, so a whole netdata.conf may be given. An unknown key in [registry]
// or a value that does not parse is an error naming its line, and set is left untouched.
//
// # Notes
//
// This is not the config registry's own format (Rabbit's INI with a checksum trailer, see
// ini.go): it is what people already have on disk, read once and stored through
// Store.Configure into registry.conf.N.
func ParseNetdataConf(text []byte, set *Settings) error {
	next := *set
	entries := next.entries()
	section := ""
	for n, line := range bytes.Split(text, []byte("\n")) {
		s := strings.TrimSpace(string(line))
		if s == "" || s[0] == '#' || s[0] == ';' {
			continue
		}
		bad := func(msg string) error {
			return &settingError{"netdata.conf line " + strconv.Itoa(n+1) + ": " + msg}
		}
		if s[0] == '[' {
			if s[len(s)-1] != ']' {
				return bad("unterminated section " + strconv.Quote(s))
			}
			section = strings.TrimSpace(s[1 : len(s)-1])
			continue
		}
		if section != configSection {
			continue
		}
		key, value, ok := strings.Cut(s, "=")
		if !ok {
			return bad("want key = value, got " + strconv.Quote(s))
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		i := iniEntryIndex(entries, key)
		if i < 0 {
			return bad("unknown [registry] key " + strconv.Quote(key))
		}
		if _, isBool := entries[i].ptr.(*bool); isBool {
			value = netdataBool(value)
		}
		if err := entries[i].decode(configSection, value); err != nil {
			return bad(strings.TrimPrefix(err.Error(), ErrBadConfig.Error()+": "))
		}
	}
	if next.MachineGUID != set.MachineGUID {
		if g, ok := ParseGUID(next.MachineGUID); !ok || g.IsZero() {
			return &settingError{"machine guid " + strconv.Quote(next.MachineGUID) + " is not a GUID"}
		}
	}
	*set = next
	return nil
}

// netdataBool maps netdata's boolean words onto strconv's.
func netdataBool(v string) string {
	switch strings.ToLower(v) {
	case "yes", "on", "auto":
		return "true"
	case "no", "off":
		return "false"
	}
	return v
}

// Configure applies netdata.conf text (ParseNetdataConf) and stores the settings crash-safely.
// Invalid text or settings change nothing.
func (s *Store) Configure(netdataConf []byte) error {
	set := s.settings
	if err := ParseNetdataConf(netdataConf, &set); err != nil {
		return err
	}
	return s.UpdateSettings(func(p *Settings) { *p = set })
}

// configureOp is op configure (its one field, in req.Person, is the netdata.conf text): the
// settings after the change, or a failed body.
func (s *Store) configureOp(req *Request, body []byte) (Result, []byte) {
	if err := s.Configure(req.Person); err != nil {
		status := 400
		if !errors.Is(err, ErrBadConfig) {
			status = 500
		}
		return s.reg.fail(body, "configure", status, err)
	}
	return Result{Status: 200}, s.settings.appendJSON(body)
}
