package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestParseNetdataConf(t *testing.T) {
	set := DefaultSettings()
	conf := `
# netdata.conf: other sections are ignored
[global]
	hostname = elsewhere
[registry]
	enabled = no
	registry expire idle persons = 30
	max URL length = 512
	verify browser cookies support = yes
	; a comment
	log sync = every 100
`
	if _, err := ParseNetdataConf([]byte(conf), &set); err != nil {
		t.Fatal(err)
	}
	if set.Enabled || set.ExpireIdleDays != 30 || set.MaxURLLength != 512 || !set.VerifyCookies || set.LogSync != "every 100" {
		t.Fatalf("settings %+v", set)
	}
	if set.Hostname == "elsewhere" {
		t.Fatal("a key of another section was applied")
	}
}

func TestParseNetdataConfRefusals(t *testing.T) {
	for _, conf := range []string{
		"[registry]\nmax URL length = many\n",
		"[registry]\nmax URL length = 100abc\n", // netdata's strtoll would take 100
		"[registry]\nmax URL name length = -1\n",
		"[registry]\nenabled = perhaps\n", // netdata takes it for no
		"[registry]\nverify browser cookies support = \n",
		"[registry]\nmachine guid = not-a-guid\n",
		"[registry]\nregistry expire idle persons = -1\n",
		"[registry]\nregistry expire idle persons = 3 parsecs\n",
		"[registry]\nregistry expire idle persons = 2 days ago\n",
		"[registry]\nregistry expire idle persons days = 1e3\n",
		"[registry]\nregistry save db every new entries = -5\n",
		"[registry]\nregistry to announce = ftp://x\n",
		"[registry]\nregistry to announce = registry.example\n",
		"[registry]\nregistry domain = a.example; Secure\n",
		"[registry]\nregistry hostname = a\xffb\n",
		"[registry]\nlog sync = sometimes\n",
	} {
		set, def := DefaultSettings(), DefaultSettings()
		_, err := ParseNetdataConf([]byte("[registry]\n\tenabled = no\n"+conf[len("[registry]\n"):]), &set)
		if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("%q: %v, want an error naming line 3", conf, err)
		}
		if string(set.appendJSON(nil)) != string(def.appendJSON(nil)) {
			t.Errorf("%q: settings changed on error", conf)
		}
	}
}

// TestConfigureOp: the op changes the settings in force and in the config registry; a bad
// text or a setting the store refuses changes neither.
func TestConfigureOp(t *testing.T) {
	ms := &MemStorage{}
	s, err := OpenStore(ms, detConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	run := func(conf string) Response {
		out, err := s.Handle(AppendRequest(nil, &Request{Op: OpConfigure, Person: []byte(conf)}), nil)
		if err != nil {
			t.Fatal(err)
		}
		resps, err := ParseResponses(out)
		if err != nil {
			t.Fatal(err)
		}
		return resps[0]
	}
	if r := run("[registry]\nmax URL name length = 20\nlog sync = save\n"); r.Status != 200 || !strings.Contains(string(r.Body), `"max URL name length":20`) {
		t.Fatalf("configure: %d %s", r.Status, r.Body)
	}
	for _, bad := range []string{"[registry]\nmax URL name length = x\n", "[registry]\nlog sync = sometimes\n", "[registry]\nregistry expire idle persons = -1\n"} {
		if r := run(bad); r.Status != 400 || !strings.Contains(string(r.Body), `"status":"failed"`) {
			t.Fatalf("%q: %d %s", bad, r.Status, r.Body)
		}
	}
	s2, err := OpenStore(ms, detConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.Settings(); got.MaxNameLength != 20 || got.LogSync != "save" || got.ExpireIdleDays != DefaultSettings().ExpireIdleDays {
		t.Fatalf("reopened settings %+v", got)
	}
}
