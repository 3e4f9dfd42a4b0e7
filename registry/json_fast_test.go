package registry

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"
)

// appendJSONBytes and appendUint32 are the fast forms of appendJSONString and
// strconv.AppendUint for URL lists: they must write the same bytes.
func TestAppendJSONBytesMatches(t *testing.T) {
	check := func(s []byte) {
		t.Helper()
		got := appendJSONBytes([]byte("x"), s)
		want := appendJSONString([]byte("x"), s)
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: %q, want %q", s, got, want)
		}
	}
	// Every byte value at every position of strings up to 17 bytes long.
	for n := 0; n <= 17; n++ {
		for at := 0; at < n; at++ {
			for c := 0; c < 256; c++ {
				s := bytes.Repeat([]byte{'a'}, n)
				s[at] = byte(c)
				check(s)
			}
		}
	}
	rnd := rand.New(rand.NewPCG(1, 1))
	for range 20000 {
		s := make([]byte, rnd.IntN(64))
		for i := range s {
			s[i] = byte(rnd.IntN(256))
			if rnd.IntN(4) > 0 {
				s[i] = byte(0x20 + rnd.IntN(0x60))
			}
		}
		check(s)
	}
}

func TestAppendUint32Matches(t *testing.T) {
	vals := []uint32{0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, 1 << 31, 1<<32 - 1, 1_700_000_000}
	rnd := rand.New(rand.NewPCG(2, 2))
	for range 100000 {
		vals = append(vals, rnd.Uint32()>>rnd.IntN(32))
	}
	for _, v := range vals {
		if got, want := appendUint32(nil, v), strconv.AppendUint(nil, uint64(v), 10); !bytes.Equal(got, want) {
			t.Fatalf("%d: %s, want %s", v, got, want)
		}
		// last*1000 as appendURLEntry writes it.
		got := appendUint32(nil, v)
		if v != 0 {
			got = append(got, "000"...)
		}
		if want := strconv.AppendUint(nil, uint64(v)*1000, 10); !bytes.Equal(got, want) {
			t.Fatalf("%d*1000: %s, want %s", v, got, want)
		}
	}
}
