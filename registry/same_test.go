package registry

import "testing"

// sameBytes agrees with == for every length up to a few words and a difference at every
// position. (Natively sameBytes is ==; run this under wasip1 to test the word loop:
// GOOS=wasip1 GOARCH=wasm go test -exec $(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec.)
func TestSameBytes(t *testing.T) {
	for n := 0; n <= 40; n++ {
		a := make([]byte, n)
		for i := range a {
			a[i] = byte('a' + i)
		}
		if !sameBytes(a, append([]byte(nil), a...)) {
			t.Fatalf("length %d: equal bytes reported different", n)
		}
		if n > 0 && sameBytes(a, a[:n-1]) {
			t.Fatalf("length %d: a prefix reported equal", n)
		}
		for i := 0; i < n; i++ {
			b := append([]byte(nil), a...)
			b[i] ^= 0x80
			if sameBytes(a, b) {
				t.Fatalf("length %d: difference at %d missed", n, i)
			}
		}
	}
}

var sameSink bool

// BenchmarkCompare times the comparisons access makes: a URL (27 bytes) and a GUID, with ==
// and with the word-at-a-time versions. Natively they cost the same; under wasip1 (see
// TestSameBytes for the command) == is runtime.memequal's byte loop.
func BenchmarkCompare(b *testing.B) {
	x, y := []byte("http://12345.netdata.rocks/"), []byte("http://12345.netdata.rocks/")
	g, h := GUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, GUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	b.Run("url-==", func(b *testing.B) {
		for b.Loop() {
			sameSink = string(x) == string(y)
		}
	})
	b.Run("url-sameBytes", func(b *testing.B) {
		for b.Loop() {
			sameSink = sameBytes(x, y)
		}
	})
	b.Run("guid-==", func(b *testing.B) {
		p, q := &g, &h
		for b.Loop() {
			sameSink = *p == *q
		}
	})
	b.Run("guid-equal", func(b *testing.B) {
		p, q := &g, &h
		for b.Loop() {
			sameSink = p.equal(q)
		}
	})
}
