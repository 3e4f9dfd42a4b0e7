package registry

import (
	"encoding/binary"
	"io"
)

// GUID is a UUID in binary form. Persons and machines are keyed by it.
//
// # Notes
//
// The core does not use github.com/google/uuid: that package pulls fmt, encoding/json, net
// and database/sql/driver into the WebAssembly module (about +1 MB raw, +280 KB gzip), and all
// the registry needs is to parse and print the canonical 36-character form.
type GUID [16]byte

var hexDigits = [16]byte{'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'}

// ParseGUID parses the canonical 8-4-4-4-12 form, in either case.
// Like libuuid's uuid_parse (what netdata uses), no other form is accepted.
//
// # Notes
//
// Every access parses two GUIDs; a digit at a time (a table lookup, two bounds checks and a
// branch each) that was 18% of an in-cache access in the module. Here eight digits are one
// 64-bit word, checked and converted with a few word operations (hexWord).
func ParseGUID[S ~string | ~[]byte](s S) (g GUID, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	a, okA := hexWord(le64(s[0:8]))
	b, okB := hexWord(le32(s[9:13]) | le32(s[14:18])<<32)
	c, okC := hexWord(le32(s[19:23]) | le32(s[24:28])<<32)
	d, okD := hexWord(le64(s[28:36]))
	binary.LittleEndian.PutUint32(g[0:], a)
	binary.LittleEndian.PutUint32(g[4:], b)
	binary.LittleEndian.PutUint32(g[8:], c)
	binary.LittleEndian.PutUint32(g[12:], d)
	return g, okA && okB && okC && okD
}

// le64 and le32 read s as a little-endian word (the compiler makes each one load).
func le64[S ~string | ~[]byte](s S) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32[S ~string | ~[]byte](s S) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

const bytesOf1 = 0x0101010101010101 // one in every byte of a word

// hexWord decodes eight hex digits, x's bytes in text order, into four bytes (in a
// little-endian uint32), and reports whether all eight were hex digits.
func hexWord(x uint64) (uint32, bool) {
	digit := bytesIn(x, '0', '9')
	letter := bytesIn(x|0x20*bytesOf1, 'a', 'f') // either case
	ok := x&(0x80*bytesOf1) == 0 && digit|letter == 0x80*bytesOf1
	nib := x&(0x0f*bytesOf1) + letter>>7*9 // '0'-'9' -> 0-9, 'a'-'f' and 'A'-'F' -> 10-15
	// Each 16-bit lane holds two digits, the first in its low byte: make it one byte, then
	// gather the four bytes.
	y := (nib&0x00ff00ff00ff00ff)<<4 | nib>>8&0x00ff00ff00ff00ff
	y = (y | y>>8) & 0x0000ffff0000ffff
	y = (y | y>>16) & 0xffffffff
	return uint32(y), ok
}

// bytesIn returns 0x80 in each byte of x that lies in [lo, hi], 0 in the others. Bytes of x
// must be under 0x80 (the sums then carry into no other byte).
func bytesIn(x uint64, lo, hi byte) uint64 {
	atLeast := x + (0x80-uint64(lo))*bytesOf1
	above := x + (0x7f-uint64(hi))*bytesOf1
	return atLeast &^ above & (0x80 * bytesOf1)
}

func unhex(c byte) byte { return unhexTable[c] }

// unhexTable maps a byte to its hex value, 255 for non-hex bytes.
var unhexTable = func() (t [256]byte) {
	for i := range t {
		t[i] = 255
	}
	for i := byte(0); i < 10; i++ {
		t['0'+i] = i
	}
	for i := byte(0); i < 6; i++ {
		t['a'+i], t['A'+i] = 10+i, 10+i
	}
	return t
}()

// AppendText appends the canonical lower-case form.
//
// # Notes
//
// Every response carries its person's GUID as text. Four bytes become eight digits in one
// word (hexChars) instead of a table lookup and two bounds checks a digit, which under
// GOARCH=wasm took BenchmarkAppendText from 115 to 44 ns through wazero (natively 20 -> 13 ns).
func (g GUID) AppendText(b []byte) []byte {
	n := len(b)
	b = append(b, "00000000-0000-0000-0000-000000000000"...)
	t := b[n : n+36 : n+36]
	a := hexChars(binary.LittleEndian.Uint32(g[0:]))
	c := hexChars(binary.LittleEndian.Uint32(g[4:]))
	d := hexChars(binary.LittleEndian.Uint32(g[8:]))
	e := hexChars(binary.LittleEndian.Uint32(g[12:]))
	binary.LittleEndian.PutUint64(t[0:], a)
	binary.LittleEndian.PutUint32(t[9:], uint32(c))
	binary.LittleEndian.PutUint32(t[14:], uint32(c>>32))
	binary.LittleEndian.PutUint32(t[19:], uint32(d))
	binary.LittleEndian.PutUint32(t[24:], uint32(d>>32))
	binary.LittleEndian.PutUint64(t[28:], e)
	return b
}

// hexChars returns the eight lower-case hex digits of x's four bytes (x little-endian, its
// first byte's digits first) as the bytes of a little-endian word.
func hexChars(x uint32) uint64 {
	v := uint64(x)
	v = (v | v<<16) & 0x0000ffff0000ffff
	v = (v | v<<8) & 0x00ff00ff00ff00ff // byte k in the low byte of 16-bit lane k
	v = v>>4&0x000f000f000f000f | v&0x000f000f000f000f<<8
	letters := (v + 0x06*bytesOf1) >> 4 & bytesOf1 // 1 where the digit is 10-15
	return v + '0'*bytesOf1 + letters*('a'-'0'-10)
}

// equal reports whether g and h are the same GUID.
//
// # Notes
//
// Comparing [16]byte with == calls runtime.memequal under GOARCH=wasm, a loop a byte at a
// time: 50 ns through wazero, against 9 ns for two 64-bit loads (BenchmarkCompare under
// wasip1; word makes each one load there, and equal small enough to inline). Natively the
// two cost the same. (In test1 the comparison is where a guidIndex probe first reads the
// record, so its cache miss, which no comparison avoids, shows there.)
func (g *GUID) equal(h *GUID) bool {
	return word(g[:8]) == word(h[:8]) && word(g[8:]) == word(h[8:])
}

// String returns the canonical lower-case form.
func (g GUID) String() string { return string(g.AppendText(make([]byte, 0, 36))) }

// IsZero reports whether g is the all-zero GUID (never a person or machine).
func (g GUID) IsZero() bool { return word(g[:8])|word(g[8:]) == 0 } // as equal: no memequal

// newTimeGUID makes g a version 7 (time-ordered) UUID: 48 bits of unix milliseconds from
// when, then 74 random bits from rnd. Time-based like netdata's uuid_generate_time, but
// without a MAC address, which a sandboxed module does not have. (g is the caller's: the
// bytes rnd, an interface, reads into escape to the heap, an allocation per new person if
// they were a local.)
func newTimeGUID(g *GUID, when uint32, rnd io.Reader) error {
	if _, err := io.ReadFull(rnd, g[6:]); err != nil {
		return err
	}
	ms := uint64(when) * 1000
	for i := 5; i >= 0; i-- {
		g[i] = byte(ms)
		ms >>= 8
	}
	g[6] = g[6]&0x0f | 0x70 // version 7
	g[8] = g[8]&0x3f | 0x80 // RFC 4122 variant
	return nil
}
