package registry

import (
	"strconv"
	"strings"
)

// Settings are everything the config registry (registry.conf.N, Rabbit's INI format) holds:
// the core's Config and the policies of the store and of the HTTP server, under netdata's
// [registry] keys and defaults.
type Settings struct {
	Config
	Enabled         bool   // "enabled"
	SaveEvery       int64  // "registry save db every new entries": changes between snapshots
	LogSync         string // "log sync": "always" (every call), "every N" changes, or "save"
	Domain          string // "registry domain": the cookie's Domain
	VerifyCookies   bool   // "verify browser cookies support"
	SameSiteSecure  bool   // "enable cookies SameSite and Secure"
	AllowFrom       string // "allow from": simple patterns of client addresses
	RespectDNT      bool   // "respect do not track policy"
	RegistryDBFile  string // "registry db file" (netdata's name; informational here)
	RegistryLogFile string // "registry log file"
}

// DefaultSettings are netdata's defaults.
func DefaultSettings() Settings {
	return Settings{Config: Defaults(), Enabled: true, SaveEvery: 1_000_000, LogSync: "always",
		VerifyCookies: true, SameSiteSecure: true, AllowFrom: "*",
		RegistryDBFile: "registry.db", RegistryLogFile: "registry-log.db"}
}

func (s *Settings) entries() []Entry {
	return []Entry{
		BoolEntry("enabled", &s.Enabled),
		StringEntry("registry db file", &s.RegistryDBFile, 255),
		StringEntry("registry log file", &s.RegistryLogFile, 255),
		LongEntry("registry save db every new entries", &s.SaveEvery),
		LongEntry("registry expire idle persons", &s.ExpireIdleDays),
		StringEntry("registry domain", &s.Domain, 255),
		StringEntry("registry to announce", &s.RegistryToAnnounce, 1024),
		StringEntry("registry hostname", &s.Hostname, 255),
		BoolEntry("verify browser cookies support", &s.VerifyCookies),
		BoolEntry("enable cookies SameSite and Secure", &s.SameSiteSecure),
		LongEntry("max URL length", &s.MaxURLLength),
		LongEntry("max URL name length", &s.MaxNameLength),
		StringEntry("allow from", &s.AllowFrom, 1024),
		BoolEntry("respect do not track policy", &s.RespectDNT),
		StringEntry("machine guid", &s.MachineGUID, 36),
		StringEntry("log sync", &s.LogSync, 32),
		LongEntry("memory budget", &s.MemoryBudget),
	}
}

// logSyncEvery turns LogSync into a count: sync after this many unsynced changes, 1 for
// "always", 0 for "save" (never between snapshots).
func (s *Settings) logSyncEvery() (int, error) {
	switch v := strings.TrimSpace(s.LogSync); {
	case v == "" || v == "always":
		return 1, nil
	case v == "save":
		return 0, nil
	case strings.HasPrefix(v, "every "):
		n, err := strconv.Atoi(strings.TrimSpace(v[6:]))
		if err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, &settingError{"log sync must be always, save or every N: " + strconv.Quote(s.LogSync)}
}

type settingError struct{ msg string }

func (e *settingError) Error() string        { return ErrBadConfig.Error() + ": " + e.msg }
func (e *settingError) Is(target error) bool { return target == ErrBadConfig }

// appendJSON writes the settings as the JSON object a host reads (op config).
func (s *Settings) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, e := range s.entries() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, e.Key)
		b = append(b, ':')
		switch p := e.ptr.(type) {
		case *bool:
			b = strconv.AppendBool(b, *p)
		case *string:
			b = appendJSONString(b, *p)
		case *int:
			b = strconv.AppendInt(b, int64(*p), 10)
		case *int64:
			b = strconv.AppendInt(b, *p, 10)
		}
	}
	return append(b, '}')
}
