package registry

import (
	"errors"
	"slices"
	"testing"
)

func TestINIStore(t *testing.T) {
	s := &MemStorage{}
	conf, err := NewINIStore(s, ConfigBase)
	stOK(t, err)
	limit, name := int64(1024), "regwasm"
	stOK(t, conf.Get("registry", []Entry{LongEntry("max URL length", &limit), StringEntry("hostname", &name, 0)}))
	if limit != 1024 || name != "regwasm" {
		t.Fatal("Get on a new store changed the defaults")
	}
	limit = 2048
	stOK(t, conf.Update("registry", []Entry{LongEntry("max URL length", &limit)}))
	name = "box"
	stOK(t, conf.Update("registry", []Entry{StringEntry("hostname", &name, 0)}))
	if names, _ := s.List(); !slices.Equal(names, []string{"registry.conf.2"}) {
		t.Fatalf("files %v", names)
	}
	limit, name = 0, ""
	stOK(t, conf.Get("registry", []Entry{LongEntry("max URL length", &limit), StringEntry("hostname", &name, 0)}))
	if limit != 2048 || name != "box" {
		t.Fatalf("Get = %d, %q", limit, name)
	}
	data, _ := s.ReadFile("registry.conf.2")
	if f, err := ImportINI(data); err != nil || iniText(f) != "[registry]\nmax URL length=2048\nhostname=box\n" {
		t.Fatalf("stored:\n%s", data)
	}

	bad := "a\nb"
	ops := s.Ops()
	if err := conf.Update("registry", []Entry{StringEntry("hostname", &bad, 0)}); !errors.Is(err, ErrBadConfig) || s.Ops() != ops {
		t.Fatalf("invalid Update: %v, %d ops", err, s.Ops()-ops)
	}

	// A rotten current file: Read falls back to nothing valid and Update refuses.
	stOK(t, s.WriteFile("registry.conf.2", data[:len(data)-3]))
	if err := conf.Get("registry", nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a torn file: %v", err)
	}
	if err := conf.Update("registry", []Entry{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Update over a torn file: %v", err)
	}
	if _, err := NewINIStore(s, "Bad/Name"); !errors.Is(err, ErrBadName) {
		t.Fatalf("NewINIStore with a bad name: %v", err)
	}
}

// An Update interrupted at any op leaves the old values readable after a restart.
func TestINIStoreCrashAtEveryOp(t *testing.T) {
	base := &MemStorage{}
	conf, _ := NewINIStore(base, ConfigBase)
	v := int64(1)
	stOK(t, conf.Update("s", []Entry{LongEntry("v", &v)}))
	for n := 1; ; n++ {
		s := base.Clone()
		conf, _ := NewINIStore(s, ConfigBase)
		s.FailAfter(n)
		v := int64(2)
		err := conf.Update("s", []Entry{LongEntry("v", &v)})
		want := int64(1)
		if !s.Crashed() {
			stOK(t, err)
			want = 2
		}
		got := int64(0)
		after, _ := NewINIStore(s.Crash(), ConfigBase)
		stOK(t, after.Get("s", []Entry{LongEntry("v", &got)}))
		if got != want {
			t.Fatalf("crash at op %d: v = %d, want %d", n, got, want)
		}
		if want == 2 {
			return
		}
	}
}
