package conformance

import "encoding/binary"

// Stream is the random source every host gets in a conformance run, so that new person GUIDs
// (10 random bytes each) are the same everywhere: SplitMix64 (Steele, Lea, Flood 2014) seeded
// with a 64-bit seed, each output written as 8 little-endian bytes, the byte stream read in
// order whatever the sizes of the reads. web/src/deterministic.js implements the same
// stream; stream.json holds known answers both check.
//
// # Notes
//
// SplitMix64 is chosen for being ten lines in any language (JS needs only BigInt), not for
// quality: it only has to be the same everywhere.
type Stream struct {
	state uint64
	buf   [8]byte
	n     int // unread bytes at the end of buf
}

// NewStream returns the stream of seed.
func NewStream(seed uint64) *Stream { return &Stream{state: seed} }

// Next returns the next 64-bit output.
func (s *Stream) Next() uint64 {
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Read fills p from the stream. It never fails.
func (s *Stream) Read(p []byte) (int, error) {
	for i := range p {
		if s.n == 0 {
			binary.LittleEndian.PutUint64(s.buf[:], s.Next())
			s.n = 8
		}
		p[i] = s.buf[8-s.n]
		s.n--
	}
	return len(p), nil
}

// OpenSeed is the seed of the stream for the k-th opening (0 the first) of a vector's
// registry: each open, reopen and fresh start begins a new stream, as a host restarted with
// the same seed would.
func OpenSeed(seed uint64, k int) uint64 { return seed + uint64(k) }
