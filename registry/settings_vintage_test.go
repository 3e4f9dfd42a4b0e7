package registry

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// netdataConf writes a netdata.conf as an operator has it: the sections netdata generates,
// and in [registry] every key that netdata version reads, uncommented, at netdata's
// documented defaults (src/registry/registry_init.c, CONFIGURATION.md) unless changed.
func netdataConf(registry [][2]string) string {
	var b strings.Builder
	b.WriteString("# netdata configuration\n#\n# You can download the latest version of this file, using:\n#\n#  wget -O /etc/netdata/netdata.conf http://localhost:19999/netdata.conf\n#\n\n")
	b.WriteString("[global]\n\thostname = myhost\n\t# update every = 1\n\n[directories]\n\tregistry = /var/lib/netdata/registry\n\n")
	b.WriteString("[web]\n\trespect do not track policy = yes\n\tallow connections from = localhost *\n\n[registry]\n")
	for _, kv := range registry {
		b.WriteString("\t" + kv[0] + " = " + kv[1] + "\n")
	}
	b.WriteString("\n[plugins]\n\tenabled = no\n")
	return b.String()
}

// netdata 1.x (v1.30-v1.47): the keys of its registry_init.c and web server, in its order.
var netdata1x = [][2]string{
	{"enabled", "yes"},
	{"registry db directory", "/var/lib/netdata/registry"},
	{"netdata unique id file", "/var/lib/netdata/registry/netdata.public.unique.id"},
	{"registry db file", "/var/lib/netdata/registry/registry.db"},
	{"registry log file", "/var/lib/netdata/registry/registry-log.db"},
	{"registry save db every new entries", "1000000"},
	{"registry expire idle persons days", "365"},
	{"registry domain", ""},
	{"registry to announce", "https://registry.my-netdata.io"},
	{"registry hostname", "myhost"},
	{"verify browser cookies support", "yes"},
	{"enable cookies SameSite and Secure", "yes"},
	{"max URL length", "1024"},
	{"max URL name length", "50"},
	{"use mmap", "no"},
	{"netdata management api key file", "/var/lib/netdata/netdata.api.key"},
	{"allow from", "*"},
	{"allow by dns", "heuristic"},
}

// netdata 2.x: "registry db directory" moved to [directories], days became a duration.
var netdata2x = [][2]string{
	{"enabled", "yes"},
	{"registry db file", "/var/lib/netdata/registry/registry.db"},
	{"registry log file", "/var/lib/netdata/registry/registry-log.db"},
	{"registry save db every new entries", "1000000"},
	{"registry expire idle persons", "1y"},
	{"registry domain", ""},
	{"registry to announce", "http://registry.example:19999"},
	{"registry hostname", "Group1 - Master DB"},
	{"verify browser cookies support", "yes"},
	{"enable cookies SameSite and Secure", "no"},
	{"max URL length", "1024"},
	{"max URL name length", "50"},
	{"use mmap", "no"},
	{"netdata management api key file", "/var/lib/netdata/netdata.api.key"},
	{"allow from", "10.* !10.1.2.3"},
	{"allow by dns", "heuristic"},
}

// configured is op configure's answer: the settings and the lines ignored.
type configured struct {
	Enabled        bool   `json:"enabled"`
	ExpireDays     int    `json:"registry expire idle persons"`
	Announce       string `json:"registry to announce"`
	Hostname       string `json:"registry hostname"`
	SameSiteSecure bool   `json:"enable cookies SameSite and Secure"`
	AllowFrom      string `json:"allow from"`
	MaxURL         int    `json:"max URL length"`
	RespectDNT     bool   `json:"respect do not track policy"`
	Ignored        []struct {
		Line int    `json:"line"`
		Key  string `json:"key"`
		Why  string `json:"why"`
	} `json:"ignored"`
}

func configureStore(t *testing.T, s *Store, conf string) (int, configured, string) {
	t.Helper()
	out, err := s.Handle(AppendRequest(nil, &Request{Op: OpConfigure, Person: []byte(conf)}), nil)
	if err != nil {
		t.Fatal(err)
	}
	resps, _ := ParseResponses(out)
	var c configured
	if resps[0].Status == 200 {
		if err := json.Unmarshal(resps[0].Body, &c); err != nil {
			t.Fatalf("configure answer: %v: %s", err, resps[0].Body)
		}
	}
	return resps[0].Status, c, string(resps[0].Body)
}

// lineOf is the 1-based line of conf holding "\tkey = ".
func lineOf(conf, key string) int {
	for i, l := range strings.Split(conf, "\n") {
		if strings.HasPrefix(l, "\t"+key+" = ") {
			return i + 1
		}
	}
	return 0
}

// TestNetdataConfVintages: the [registry] sections of real netdata.conf files, 1.x and 2.x,
// apply: the keys regwasm uses are applied, the others listed as not used, each once.
func TestNetdataConfVintages(t *testing.T) {
	for _, c := range []struct {
		name    string
		keys    [][2]string
		notUsed []string
		check   func(configured) bool
	}{
		{"netdata 1.x", netdata1x,
			[]string{"registry db directory", "netdata unique id file", "registry db file", "registry log file", "use mmap", "netdata management api key file", "allow by dns"},
			func(g configured) bool {
				return g.Enabled && g.ExpireDays == 365 && g.Announce == "https://registry.my-netdata.io" && g.Hostname == "myhost" &&
					g.SameSiteSecure && g.AllowFrom == "*" && g.MaxURL == 1024
			}},
		{"netdata 2.x", netdata2x,
			[]string{"registry db file", "registry log file", "use mmap", "netdata management api key file", "allow by dns"},
			func(g configured) bool {
				return g.Enabled && g.ExpireDays == 365 && g.Announce == "http://registry.example:19999" && g.Hostname == "Group1 - Master DB" &&
					!g.SameSiteSecure && g.AllowFrom == "10.* !10.1.2.3" && g.MaxURL == 1024
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := OpenStore(&MemStorage{}, detConfig(1))
			if err != nil {
				t.Fatal(err)
			}
			conf := netdataConf(c.keys)
			status, got, raw := configureStore(t, s, conf)
			if status != 200 || !c.check(got) {
				t.Fatalf("configure: %d %s", status, raw)
			}
			if got.RespectDNT {
				t.Fatal("[web]'s key was applied: other sections are ignored")
			}
			var keys []string
			for _, n := range got.Ignored {
				if n.Why != NoteNotUsed || n.Line != lineOf(conf, n.Key) {
					t.Fatalf("ignored %+v (line %d)", n, lineOf(conf, n.Key))
				}
				keys = append(keys, n.Key)
			}
			if !slices.Equal(keys, c.notUsed) {
				t.Fatalf("listed as not used %q, want %q", keys, c.notUsed)
			}
		})
	}
}

// TestNetdataConfLeniency: unknown keys and lines that are not key = value are ignored and
// listed, as netdata ignores them; the older name of the expiry yields to the newer one.
func TestNetdataConfLeniency(t *testing.T) {
	s, err := OpenStore(&MemStorage{}, detConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	conf := "[registry]\n\tregistry expire idle persons = 30d\n\tsome future key = 1\n\tjust words\n" +
		"\tregistry expire idle persons days = 7\n[registry\n\tmax URL length = 512\n"
	status, got, raw := configureStore(t, s, conf)
	if status != 200 || got.ExpireDays != 30 || got.MaxURL != 512 || len(got.Ignored) != 4 {
		t.Fatalf("configure: %d %s", status, raw)
	}
	for i, want := range []struct {
		line int
		why  string
	}{{3, NoteUnknown}, {4, NoteNoValue}, {5, NoteOldName}, {6, NoteNoValue}} {
		if n := got.Ignored[i]; n.Line != want.line || n.Why != want.why {
			t.Fatalf("note %d: %+v, want line %d %q", i, n, want.line, want.why)
		}
	}
	// The older name alone still applies (netdata 1.x files).
	if status, got, raw := configureStore(t, s, "[registry]\nregistry expire idle persons days = 90\n"); status != 200 || got.ExpireDays != 90 {
		t.Fatalf("older name: %d %s", status, raw)
	}
}

func TestNetdataDurations(t *testing.T) {
	for in, want := range map[string]int{
		"365": 365, "1y": 365, "365d": 365, "1Y": 365, "52w": 364, "12mo": 360, "1y 2d": 367, "1y2d": 367,
		"36h": 2, "1.5d": 2, "24h": 1, "1": 1, "1 days": 1, "2 weeks": 14, "0": MaxExpireIdleDays,
		"never": MaxExpireIdleDays, "off": MaxExpireIdleDays, "200y": MaxExpireIdleDays,
		"106752": MaxExpireIdleDays, "1s": 1,
	} {
		if got, ok := parseNetdataDays(in); !ok || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "1 parsec", "d", "1d ago", "1e3", "1..2d", "1d x"} {
		if got, ok := parseNetdataDays(in); ok {
			t.Errorf("%q: %d accepted", in, got)
		}
	}
}
