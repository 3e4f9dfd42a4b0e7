package registry

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// iniRabbit is a plain Rabbit file with the format's corners: an anonymous section, spaces,
// '=' in a value, a blank line, a line without '=', a `[]` header and an empty value.
const iniRabbit = "top=1\n" +
	"[net]\n" +
	"ip=10.0.0.1\n" +
	" spaced key = spaced value \n" +
	"url=http://x/?a=b\n" +
	"\n" +
	"[empty]\n" +
	"no equals sign here\n" +
	"[]\n" +
	"anon2=2\n" +
	"[last]\n" +
	"k=\n"

func iniParse(t *testing.T, text string) *INI {
	t.Helper()
	f, err := ImportINI([]byte(text))
	stOK(t, err)
	return f
}

func iniText(f *INI) string {
	b, _ := f.AppendText(nil)
	return string(b)
}

func TestINIRoundTrip(t *testing.T) {
	f := iniParse(t, iniRabbit)
	if got := iniText(f); got != iniRabbit {
		t.Fatalf("plain round trip:\n%s\nwant\n%s", got, iniRabbit)
	}
	stored := f.Bytes()
	stOK(t, VerifyINI(stored))
	g, err := ParseINI(stored)
	stOK(t, err)
	if got := iniText(g); got != iniRabbit {
		t.Fatalf("stored round trip:\n%s", got)
	}
	if h := iniParse(t, string(stored)); iniText(h) != iniRabbit {
		t.Fatal("ImportINI of a stored file kept its trailer")
	}
	if got := iniText(iniParse(t, "a=1\n[s]\nb=2")); got != "a=1\n[s]\nb=2\n" {
		t.Fatalf("unterminated last line: %q", got)
	}
	var zero INI
	if iniText(&zero) != "" || VerifyINI(zero.Bytes()) != nil {
		t.Fatal("zero INI")
	}
}

func TestINILookupAndSections(t *testing.T) {
	f := iniParse(t, iniRabbit)
	for _, c := range []struct{ section, key, want string }{
		{"", "top", "1"}, {"", "anon2", "2"}, {"net", " spaced key ", " spaced value "},
		{"net", "url", "http://x/?a=b"}, {"last", "k", ""},
	} {
		if got, ok := f.Lookup(c.section, c.key); !ok || got != c.want {
			t.Errorf("Lookup(%q, %q) = %q, %v; want %q", c.section, c.key, got, ok, c.want)
		}
	}
	if _, ok := f.Lookup("net", "spaced key"); ok {
		t.Error("spaces are significant, yet a trimmed key matched")
	}
	if _, ok := f.Lookup("empty", "no equals sign here"); ok {
		t.Error("a line without '=' is a key")
	}
}

func TestINIEntryKinds(t *testing.T) {
	var (
		s   int16 = -12
		l   int64 = 1234567890123
		i   int   = 42
		i32 int32 = -7
		b         = true
		fl        = 0.1
		bin       = []byte{0x00, 0xff, 0xa5}
		str       = "hello = world "
	)
	entries := []Entry{ShortEntry("s", &s), LongEntry("l", &l), LongEntry("i", &i), LongEntry("i32", &i32),
		BoolEntry("b", &b), FloatEntry("f", &fl), BinEntry("bin", bin), StringEntry("str", &str, 20), NopEntry()}
	var f INI
	stOK(t, f.Write("kinds", entries))
	want := "[kinds]\ns=-12\nl=1234567890123\ni=42\ni32=-7\nb=1\nf=0.1\nbin=00FFA5\nstr=hello = world \n"
	if got := iniText(&f); got != want {
		t.Fatalf("formatted:\n%s\nwant\n%s", got, want)
	}
	var (
		s2   int16
		l2   int64
		i2   int
		i322 int32
		b2   bool
		fl2  float64
		bin2 = make([]byte, 3)
		str2 string
	)
	stOK(t, f.Read("kinds", []Entry{ShortEntry("s", &s2), LongEntry("l", &l2), LongEntry("i", &i2),
		LongEntry("i32", &i322), BoolEntry("b", &b2), FloatEntry("f", &fl2), BinEntry("bin", bin2),
		StringEntry("str", &str2, 0), DeleteEntry("gone"), NopEntry()}))
	if s2 != s || l2 != l || i2 != i || i322 != i32 || b2 != b || fl2 != fl || string(bin2) != string(bin) || str2 != str {
		t.Fatalf("read back %v %v %v %v %v %v %x %q", s2, l2, i2, i322, b2, fl2, bin2, str2)
	}
	for _, k := range []EntryKind{EntryNop, EntryShort, EntryLong, EntryBool, EntryFloat, EntryBin, EntryString, EntryDelete, 99} {
		if k.String() == "" || k < 99 && strings.HasPrefix(k.String(), "EntryKind(") {
			t.Errorf("EntryKind(%d).String() = %q", k, k.String())
		}
	}
}

func TestINIReadParsing(t *testing.T) {
	f := iniParse(t, "[x]\nb1=true\nb2=0\nb3=-5\nbin=0aFf\nfl=1e3\nneg=-1.5\n")
	var b1, b2, b3 bool = false, true, false
	bin := make([]byte, 2)
	var fl, neg float64
	stOK(t, f.Read("x", []Entry{BoolEntry("b1", &b1), BoolEntry("b2", &b2), BoolEntry("b3", &b3),
		BinEntry("bin", bin), FloatEntry("fl", &fl), FloatEntry("neg", &neg)}))
	if !b1 || b2 || !b3 || bin[0] != 0x0a || bin[1] != 0xff || fl != 1000 || neg != -1.5 {
		t.Fatalf("parsed %v %v %v %x %v %v", b1, b2, b3, bin, fl, neg)
	}
	var g INI
	pi := math.Pi
	stOK(t, g.Write("", []Entry{FloatEntry("pi", &pi)}))
	if v, _ := g.Lookup("", "pi"); v != "3.141592653589793" {
		t.Errorf("pi formatted as %q", v)
	}
}

func TestINIReadDefaultsUntouched(t *testing.T) {
	f := iniParse(t, "[reg]\nlimit=abc\nshort=70000\nbin=XYZ0\nlong=toolong\nname=ok\ndup=1\ndup=2\n")
	limit, short, dup, missing := int64(1024), int16(5), int64(0), int64(77)
	bin := []byte{1, 2}
	name, long := "default", "default"
	err := f.Read("reg", []Entry{LongEntry("limit", &limit), ShortEntry("short", &short), BinEntry("bin", bin),
		StringEntry("long", &long, 3), StringEntry("name", &name, 0), LongEntry("dup", &dup), LongEntry("missing", &missing)})
	if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), `"limit"`) {
		t.Fatalf("Read = %v, want ErrBadConfig naming the first bad key", err)
	}
	if limit != 1024 || short != 5 || bin[0] != 1 || long != "default" || missing != 77 {
		t.Fatalf("bad or missing values changed defaults: %v %v %v %q %v", limit, short, bin, long, missing)
	}
	if name != "ok" || dup != 2 {
		t.Fatalf("good values not read: %q, dup %d (last wins)", name, dup)
	}
	if err := f.Read("nosuch", []Entry{LongEntry("limit", &limit)}); err != nil || limit != 1024 {
		t.Fatalf("missing section: %v, %d", err, limit)
	}
}

func TestINIWrite(t *testing.T) {
	f := iniParse(t, "a=1\n\n[s]\nx=1\ny=2\nx=3\n\n[t]\nz=1\n")
	one, two, nine := int64(1), int64(2), int64(9)
	stOK(t, f.Write("s", []Entry{LongEntry("x", &nine), LongEntry("new", &one), DeleteEntry("y"), DeleteEntry("absent")}))
	stOK(t, f.Write("", []Entry{LongEntry("b", &two)}))
	stOK(t, f.Write("u", []Entry{LongEntry("w", &one)}))
	stOK(t, f.Write("v", []Entry{}))
	want := "a=1\nb=2\n\n[s]\nx=9\nx=9\nnew=1\n\n[t]\nz=1\n[u]\nw=1\n[v]\n"
	if got := iniText(f); got != want {
		t.Fatalf("after writes:\n%s\nwant\n%s", got, want)
	}
	stOK(t, f.Write("s", nil))
	stOK(t, f.Write("", nil))
	if got := iniText(f); got != "[t]\nz=1\n[u]\nw=1\n[v]\n" {
		t.Fatalf("after deleting sections:\n%s", got)
	}
	stOK(t, f.Write("", []Entry{LongEntry("first", &one)}))
	if got := iniText(f); !strings.HasPrefix(got, "first=1\n[t]\n") {
		t.Fatalf("anonymous key not at the top:\n%s", got)
	}
	g := iniParse(t, "[]\nk=1\n[s]\n")
	stOK(t, g.Write("", []Entry{LongEntry("j", &two)}))
	if got := iniText(g); got != "[]\nk=1\nj=2\n[s]\n" {
		t.Fatalf("[] is the anonymous section:\n%s", got)
	}
}

func TestINIFormatRules(t *testing.T) {
	one := int64(1)
	str := func(v string) *string { return &v }
	cases := []struct {
		name    string
		section string
		entries []Entry
	}{
		{"key starts with [", "s", []Entry{LongEntry("[k", &one)}},
		{"key with =", "s", []Entry{LongEntry("a=b", &one)}},
		{"key with newline", "s", []Entry{LongEntry("a\nb", &one)}},
		{"key with NUL", "s", []Entry{LongEntry("a\x00", &one)}},
		{"empty key", "s", []Entry{DeleteEntry("")}},
		{"value with newline", "s", []Entry{StringEntry("k", str("a\nb"), 0)}},
		{"value with NUL", "s", []Entry{StringEntry("k", str("a\x00"), 0)}},
		{"value too long", "s", []Entry{StringEntry("k", str("abcd"), 3)}},
		{"key twice", "s", []Entry{LongEntry("k", &one), DeleteEntry("k")}},
		{"unbound entry", "s", []Entry{{Key: "k", Kind: EntryLong}}},
		{"mismatched entry", "s", []Entry{{Key: "k", Kind: EntryBool, ptr: &one}}},
		{"unknown kind", "s", []Entry{{Key: "k", Kind: 42}}},
		{"section with ]", "a]b", []Entry{}},
		{"section with newline", "a\nb", []Entry{}},
		{"section with NUL", "a\x00", nil},
		{"reserved section", ".check", []Entry{}},
	}
	for _, c := range cases {
		f := iniParse(t, iniRabbit)
		err := f.Write(c.section, append([]Entry{LongEntry("ok", &one)}, c.entries...))
		if !errors.Is(err, ErrBadConfig) || !strings.HasPrefix(err.Error(), "registry: ") {
			t.Errorf("%s: Write = %v, want ErrBadConfig", c.name, err)
		}
		if got := iniText(f); got != iniRabbit {
			t.Errorf("%s: a rejected Write changed the file", c.name)
		}
	}
	for _, bad := range []string{"a=1\n[s\n", "[\n", "a=\x00\n"} {
		if _, err := ImportINI([]byte(bad)); !errors.Is(err, ErrBadConfig) {
			t.Errorf("ImportINI(%q) = %v, want ErrBadConfig", bad, err)
		}
	}
}

func TestINIEnumerate(t *testing.T) {
	f := iniParse(t, iniRabbit)
	var seen []string
	f.Enumerate(func(name string) bool { seen = append(seen, "["+name+"]"); return false },
		func(section, key, value string) { seen = append(seen, section+":"+key+"="+value) })
	want := []string{":top=1", "[net]", "net:ip=10.0.0.1", "net: spaced key = spaced value ", "net:url=http://x/?a=b",
		"[empty]", "[]", ":anon2=2", "[last]", "last:k="}
	if !slices.Equal(seen, want) {
		t.Fatalf("Enumerate saw\n%q\nwant\n%q", seen, want)
	}
	seen = nil
	f.Enumerate(func(name string) bool { seen = append(seen, name); return name == "empty" }, nil)
	if !slices.Equal(seen, []string{"net", "empty"}) {
		t.Fatalf("stop at [empty]: saw %q", seen)
	}
	seen = nil
	f.Enumerate(nil, func(section, key, _ string) { seen = append(seen, key) })
	if len(seen) != 6 {
		t.Fatalf("keys only: %q", seen)
	}
}

// FuzzINIWrite checks that a write either is rejected and changes nothing, or can be read
// back, from memory and from the stored form, without disturbing the other lines.
func FuzzINIWrite(f *testing.F) {
	f.Add("net", "ip", "10.0.0.1")
	f.Add("", "top", "2")
	f.Add("[x", " k", "v=w")
	f.Add("s]", "k", "v")
	f.Add("s", "[k", "v")
	f.Add("s", "k", "a\nb")
	f.Fuzz(func(t *testing.T, section, key, value string) {
		ini := iniParse(t, iniRabbit)
		v := value
		err := ini.Write(section, []Entry{StringEntry(key, &v, 0)})
		if err != nil {
			if !errors.Is(err, ErrBadConfig) || iniText(ini) != iniRabbit {
				t.Fatalf("rejected write: %v, file changed %v", err, iniText(ini) != iniRabbit)
			}
			return
		}
		stored, err := ParseINI(ini.Bytes())
		if err != nil {
			t.Fatalf("stored form: %v", err)
		}
		for _, g := range []*INI{ini, stored} {
			got := "\x00unset"
			if err := g.Read(section, []Entry{StringEntry(key, &got, 0)}); err != nil || got != value {
				t.Fatalf("read back %q, %v; want %q", got, err, value)
			}
		}
		if section != "net" || key != "ip" {
			if got, _ := stored.Lookup("net", "ip"); got != "10.0.0.1" {
				t.Fatalf("write disturbed [net] ip: %q", got)
			}
		}
	})
}
