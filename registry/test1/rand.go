package test1

import "math/bits"

// Rand is the workload's random source: xoshiro128** (Blackman and Vigna), seeded by four
// outputs of splitmix32 over the seed. It is specified exactly, in 32-bit arithmetic only, so
// that tests/web/bench-workload.mjs reproduces it without BigInt and every host runs the same
// request stream (the fixture tests/bench/test1-fixture.json holds its first outputs).
type Rand struct{ s [4]uint32 }

// NewRand seeds the generator. splitmix32 is a Weyl sequence (step 0x9e3779b9) through
// MurmurHash3's 32-bit finalizer.
func NewRand(seed uint32) *Rand {
	var r Rand
	for i := range r.s {
		seed += 0x9e3779b9
		z := seed
		z = (z ^ z>>16) * 0x85ebca6b
		z = (z ^ z>>13) * 0xc2b2ae35
		r.s[i] = z ^ z>>16
	}
	if r.s == [4]uint32{} {
		r.s[0] = 1 // the one state xoshiro cannot leave; no 32-bit seed reaches it, but be safe
	}
	return &r
}

// Uint32 returns the next output.
func (r *Rand) Uint32() uint32 {
	s := &r.s
	out := bits.RotateLeft32(s[1]*5, 7) * 9
	t := s[1] << 9
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft32(s[3], 11)
	return out
}

// IntN returns a uniform integer in [0, n), 0 < n < 2^32: Lemire's multiply-shift with
// rejection (the high 32 bits of x*n; outputs whose low 32 bits fall under 2^32 mod n are
// drawn again, so there is no bias).
func (r *Rand) IntN(n int) int {
	if n <= 0 || uint64(n) > 1<<32-1 {
		panic("test1: IntN out of range")
	}
	un := uint32(n)
	m := uint64(r.Uint32()) * uint64(un)
	if uint32(m) < un {
		threshold := -un % un // (2^32 - n) mod n
		for uint32(m) < threshold {
			m = uint64(r.Uint32()) * uint64(un)
		}
	}
	return int(m >> 32)
}
