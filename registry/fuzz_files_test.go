package registry

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// sealSnapshot gives body (what follows the header) a valid header (change 7) and trailer, so
// the fuzzer reaches the decoder instead of stopping at the checksum.
func sealSnapshot(body []byte) []byte { return sealSnapshotVersion(body, snapVersion) }

// sealSnapshotVersion is sealSnapshot with a header of the given version.
func sealSnapshotVersion(body []byte, version int) []byte {
	b := append(appendSnapshotHeader(nil, &SnapshotHeader{Version: version, Seq: 7}), body...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(b)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return append(b, snapEnd...)
}

// FuzzSnapshotDecode: any sealed body either fails with ErrCorrupt, leaving an empty registry,
// or loads into a registry whose counters equal its contents and whose snapshot is the same
// bytes again (the format has one encoding per state).
func FuzzSnapshotDecode(f *testing.F) {
	r := New(Config{Rand: seeded{rand.NewChaCha8([32]byte{9})}})
	randomActions(f, r, rand.New(rand.NewPCG(9, 9)), 200)
	snap := r.AppendSnapshot(nil, 7)
	body := snap[snapHeaderLen : len(snap)-snapTrailer]
	f.Add(body)
	f.Add([]byte{0})
	for _, cut := range []int{9, len(body) / 3, len(body) - 1} {
		f.Add(bytes.Clone(body[:cut]))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data := sealSnapshot(body)
		got := New(Config{Rand: seeded{rand.NewChaCha8([32]byte{1})}})
		seq, err := got.LoadSnapshot(data)
		if err != nil {
			if got.Stats().Persons != 0 || got.Stats().Machines != 0 {
				t.Fatalf("a failed load left data: %+v", got.Stats())
			}
			return
		}
		if err := got.checkInvariants(); err != nil {
			t.Fatalf("loaded a registry that breaks its invariants: %v", err)
		}
		if again := got.AppendSnapshot(nil, seq); !bytes.Equal(again, data) {
			t.Fatalf("a loaded snapshot does not re-encode to its bytes (%d vs %d bytes)", len(again), len(data))
		}
	})
}

// FuzzLogReplay: a segment of a sealed record with any batch, followed by any bytes (a torn or
// damaged tail), either shows damage, or replays into a registry whose counters equal its
// contents, or fails with ErrCorrupt.
func FuzzLogReplay(f *testing.F) {
	var batch []byte
	for _, req := range []Request{
		{Op: OpAccess, When: 100, Person: []byte(m1), Machine: []byte(m2), URL: []byte("http://a/"), Arg: []byte("a")},
		{Op: OpAccess, When: 150, Person: []byte(m3), Machine: []byte(m2), URL: []byte("http://b/"), Arg: []byte("b")},
		{Op: OpDelete, When: 200, Person: []byte(m1), Machine: []byte(m2), URL: []byte("http://a/"), Arg: []byte("http://a/")},
		{Op: OpExpire, When: 300},
	} {
		batch = appendLogRequest(batch, &req, &Result{Person: GUID{1}})
	}
	second := appendLogRecord(nil, 2, 0, batch[:len(batch)/2])
	f.Add(batch, second)
	f.Add(batch, second[:len(second)-3])
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, batch, tail []byte) {
		data := appendSegmentHeader(nil, 0, 1)
		data = append(appendLogRecord(data, 1, 0, batch), tail...)
		scan := scanSegment(data)
		if scan.valid > len(data) || len(scan.recs) == 0 || !scan.headerOK {
			t.Fatalf("valid prefix %d of %d bytes, %d records", scan.valid, len(data), len(scan.recs))
		}
		r := New(Config{Rand: seeded{rand.NewChaCha8([32]byte{2})}})
		if _, _, err := r.replay(scan.recs, 0); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("replay: %v is not ErrCorrupt", err)
			}
			return
		}
		if err := r.checkInvariants(); err != nil {
			t.Fatalf("replay broke the invariants: %v", err)
		}
	})
}

// FuzzNetdataConf: any text either applies or is refused with ErrBadConfig, leaving the
// settings as they were.
func FuzzNetdataConf(f *testing.F) {
	f.Add([]byte("[registry]\n\tenabled = yes\n\tmax URL length = 200\n"))
	f.Add([]byte("[global]\nx = y\n[registry]\nlog sync = every 3\n"))
	f.Add([]byte("[registry\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		set := DefaultSettings()
		before := string(set.appendJSON(nil))
		if _, err := ParseNetdataConf(text, &set); err != nil {
			if string(set.appendJSON(nil)) != before {
				t.Fatal("a refused text changed the settings")
			}
		}
	})
}
