package registry

import (
	"math/rand/v2"
	"testing"
)

// guidHexPos are the offsets of the 16 hex pairs in the canonical form.
var guidHexPos = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// appendTextRef is the plain digit-at-a-time printer AppendText must agree with.
func appendTextRef(g GUID) string {
	t := []byte("00000000-0000-0000-0000-000000000000")
	for j, i := range guidHexPos {
		t[i], t[i+1] = hexDigits[g[j]>>4], hexDigits[g[j]&15]
	}
	return string(t)
}

// AppendText prints every byte value at every position as the plain printer does, after
// whatever the buffer held.
func TestAppendText(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for pos := range 16 {
		for v := range 256 {
			var g GUID
			for i := range g {
				g[i] = byte(rng.Uint32())
			}
			g[pos] = byte(v)
			if got, want := string(g.AppendText([]byte("x"))), "x"+appendTextRef(g); got != want {
				t.Fatalf("AppendText(%x) = %q, want %q", g[:], got, want)
			}
		}
	}
}

func BenchmarkAppendText(b *testing.B) {
	g := GUID{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe}
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = g.AppendText(buf[:0])
	}
}

// parseGUIDRef is the plain digit-at-a-time parser ParseGUID must agree with.
func parseGUIDRef(s string) (g GUID, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	for j, i := range guidHexPos {
		hi, lo := unhex(s[i]), unhex(s[i+1])
		if hi > 15 || lo > 15 {
			return GUID{}, false
		}
		g[j] = hi<<4 | lo
	}
	return g, true
}

func checkParseGUID(t *testing.T, s string) {
	t.Helper()
	want, wantOK := parseGUIDRef(s)
	g1, ok1 := ParseGUID(s)
	g2, ok2 := ParseGUID([]byte(s))
	if ok1 != wantOK || ok2 != wantOK || wantOK && (g1 != want || g2 != want) {
		t.Fatalf("ParseGUID(%q) = %v %v / %v %v, want %v %v", s, g1, ok1, g2, ok2, want, wantOK)
	}
	if wantOK && g1.String() != lower(s) {
		t.Fatalf("ParseGUID(%q).String() = %q", s, g1.String())
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'F' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Every byte value at every position of valid GUIDs, in both cases.
func TestParseGUIDEveryByte(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	for k := 0; k < 8; k++ {
		var g GUID
		for i := range g {
			g[i] = byte(rnd.Uint32())
		}
		base := g.String()
		if k%2 == 1 {
			base = upper(base)
		}
		checkParseGUID(t, base)
		for i := 0; i < 36; i++ {
			for c := 0; c < 256; c++ {
				b := []byte(base)
				b[i] = byte(c)
				checkParseGUID(t, string(b))
			}
		}
	}
	for _, s := range []string{"", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
		"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "0123456789abcdef0123456789abcdef0123", "{0000000-0000-0000-0000-000000000000"} {
		checkParseGUID(t, s)
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func FuzzParseGUID(f *testing.F) {
	f.Add("01234567-89ab-cdef-0123-456789ABCDEF")
	f.Add("0123456g-89ab-cdef-0123-456789abcdef")
	f.Fuzz(func(t *testing.T, s string) { checkParseGUID(t, s) })
}

// BenchmarkParseGUID: every access parses two (person and machine).
func BenchmarkParseGUID(b *testing.B) {
	s := []byte("01234567-89ab-cdef-1032-547698BADCFE")
	var g GUID
	for b.Loop() {
		var ok bool
		if g, ok = ParseGUID(s); !ok {
			b.Fatal("not parsed")
		}
	}
	if g.IsZero() {
		b.Fatal("zero")
	}
}
