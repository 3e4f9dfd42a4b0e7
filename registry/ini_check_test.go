package registry

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestINICheckTrailer(t *testing.T) {
	body := "a=1\n[s]\nk=v\n"
	stored := iniParse(t, body).Bytes()
	if want := body + "[.check]\nlength=12\ncrc32="; !strings.HasPrefix(string(stored), want) || len(stored) != len(want)+9 {
		t.Fatalf("stored form %q", stored)
	}
	stOK(t, VerifyINI(stored))
	for n := 0; n < len(stored); n++ { // every torn length
		if err := VerifyINI(stored[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("torn at %d: VerifyINI = %v", n, err)
		}
	}
	for i := range stored { // every byte changed
		for _, x := range []byte{0x01, 0x20, 0x80} {
			bad := bytes.Clone(stored)
			bad[i] ^= x
			if err := VerifyINI(bad); err == nil {
				t.Fatalf("byte %d ^ %#x accepted", i, x)
			}
		}
	}
	for _, c := range []struct{ data, want string }{
		{string(stored) + "x=1\n", "malformed"},
		{strings.Replace(string(stored), "k=v", "k=w", 1), "crc32 mismatch"},
		{strings.Replace(string(stored), "length=12", "length=13", 1), "length=13"},
		{body, "no [.check]"},
		{body + "[.check]\nlength=12\n", "malformed"},
	} {
		if err := VerifyINI([]byte(c.data)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: VerifyINI = %v, want %s", c.data, err, c.want)
		}
	}
}

func TestINIImport(t *testing.T) {
	if _, err := ParseINI([]byte(iniRabbit)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ParseINI of a plain file: %v, want ErrCorrupt", err)
	}
	if f := iniParse(t, iniRabbit); iniText(f) != iniRabbit {
		t.Fatal("ImportINI of a plain file")
	}
	stored := iniParse(t, iniRabbit).Bytes()
	if _, err := ImportINI(stored[:len(stored)-2]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ImportINI of a torn stored file: %v", err)
	}
	// A [.check] section that is not last is an ordinary section.
	plain := "[.check]\nmine=1\n[s]\nk=v\n"
	if f := iniParse(t, plain); iniText(f) != plain {
		t.Fatal("ImportINI dropped a [.check] section that is not last")
	}
	f := iniParse(t, plain)
	if g, err := ParseINI(f.Bytes()); err != nil || iniText(g) != plain {
		t.Fatalf("stored file with a [.check] section inside: %v", err)
	}
}

// FuzzINI checks the parser against arbitrary text: a file that imports formats back to
// itself, its stored form verifies and parses to the same file, and any change of one byte
// of the stored form is caught.
func FuzzINI(f *testing.F) {
	f.Add([]byte(iniRabbit), uint(3))
	f.Add([]byte("a=b\n[s]\nc=d=e\n"), uint(0))
	f.Add([]byte("[.check]\nlength=0\ncrc32=00000000\n"), uint(7))
	f.Add([]byte("[x]\n[.check]\nlength=4\ncrc32=00000000\n"), uint(1))
	f.Add([]byte("no newline"), uint(2))
	f.Add([]byte("[x]\n[.check]"), uint(2))
	f.Add([]byte("[]\n=\n\n"), uint(5))
	f.Fuzz(func(t *testing.T, data []byte, at uint) {
		ini, err := ImportINI(data)
		if err != nil {
			if !errors.Is(err, ErrBadConfig) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("ImportINI error %v is neither ErrBadConfig nor ErrCorrupt", err)
			}
			return
		}
		text := iniText(ini)
		if len(data) > 0 && data[len(data)-1] == '\n' && text != string(data) && string(data) != text+string(iniTrailer([]byte(text))) {
			t.Fatalf("round trip changed more than the trailer:\n%q\n%q", data, text)
		}
		again, err := ImportINI([]byte(text))
		if err != nil || iniText(again) != text {
			t.Fatalf("formatted text does not import to itself: %v", err)
		}
		stored := ini.Bytes()
		parsed, err := ParseINI(stored)
		if err != nil || iniText(parsed) != text {
			t.Fatalf("stored form does not parse back: %v", err)
		}
		var sections, keys int
		ini.Enumerate(func(string) bool { sections++; return false }, func(string, string, string) { keys++ })
		if sections+keys > len(ini.lines) {
			t.Fatalf("enumerated %d+%d items from %d lines", sections, keys, len(ini.lines))
		}
		bad := bytes.Clone(stored)
		bad[at%uint(len(bad))] ^= 0x40
		if VerifyINI(bad) == nil {
			t.Fatalf("flipped byte %d accepted", at%uint(len(bad)))
		}
	})
}
