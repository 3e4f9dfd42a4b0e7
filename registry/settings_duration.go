package registry

import (
	"math"
	"strconv"
	"strings"
)

// durationUnits are the units of netdata's duration syntax (libnetdata/parsers/duration.c),
// in its order: a unit is matched without regard to case and the first match wins, so "M"
// is minutes there as here. Values are seconds.
var durationUnits = []struct {
	name    string
	seconds float64
}{
	{"ns", 1e-9}, {"nanosecond", 1e-9}, {"nanoseconds", 1e-9},
	{"us", 1e-6}, {"microsecond", 1e-6}, {"microseconds", 1e-6},
	{"ms", 1e-3}, {"millisecond", 1e-3}, {"milliseconds", 1e-3},
	{"s", 1}, {"sec", 1}, {"secs", 1}, {"second", 1}, {"seconds", 1},
	{"m", 60}, {"min", 60}, {"minute", 60}, {"minutes", 60},
	{"h", 3600}, {"hr", 3600}, {"hrs", 3600}, {"hour", 3600}, {"hours", 3600},
	{"d", 86400}, {"day", 86400}, {"days", 86400},
	{"w", 7 * 86400}, {"wk", 7 * 86400}, {"week", 7 * 86400}, {"weeks", 7 * 86400},
	{"mo", 30 * 86400}, {"M", 30 * 86400}, {"month", 30 * 86400}, {"months", 30 * 86400},
	{"q", 90 * 86400}, {"quarter", 90 * 86400}, {"quarters", 90 * 86400},
	{"y", 365 * 86400}, {"Y", 365 * 86400}, {"a", 365 * 86400}, {"year", 365 * 86400}, {"years", 365 * 86400},
}

// parseNetdataDays reads a netdata duration whose bare numbers are days ("registry expire idle
// persons": 365, 365d, 1y, 52w, 1y 2d, 36h) and returns whole days, rounded up: a person is
// never purged before the time given. "never", "off" and 0 (netdata: a cookie that expires at
// once) mean as long as regwasm keeps anyone, MaxExpireIdleDays, which also caps longer
// times. Negative times and netdata's "ago" are refused: they make no sense here.
func parseNetdataDays(v string) (int, bool) {
	s := strings.TrimSpace(v)
	if strings.EqualFold(s, "never") || strings.EqualFold(s, "off") {
		return MaxExpireIdleDays, true
	}
	total := 0.0
	parsed := false
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if i == 0 || err != nil {
			return 0, false
		}
		s = strings.TrimLeft(s[i:], " \t")
		j := 0
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
			j++
		}
		unit := 86400.0
		if j > 0 {
			u, ok := durationUnit(s[:j])
			if !ok {
				return 0, false
			}
			unit = u
		}
		total += n * unit
		parsed = true
		s = strings.TrimLeft(s[j:], " \t")
	}
	if !parsed || math.IsInf(total, 0) || math.IsNaN(total) {
		return 0, false
	}
	if total == 0 {
		return MaxExpireIdleDays, true
	}
	return int(min(math.Ceil(total/86400), MaxExpireIdleDays)), true
}

func durationUnit(name string) (float64, bool) {
	for _, u := range durationUnits {
		if strings.EqualFold(u.name, name) {
			return u.seconds, true
		}
	}
	return 0, false
}
