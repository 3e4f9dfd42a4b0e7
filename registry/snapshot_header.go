package registry

import (
	"encoding/binary"
	"hash/crc32"
	"strconv"
	"strings"
)

// Snapshot header, versions 2 and 3 (56 bytes, integers little-endian):
//
//	"RWSNAP" 0x00 version | seq u64 | gen u64 | next u64 | saved u32 | registry [16] | hcrc u32
//
// hcrc is the CRC-32C of the 52 bytes before it, so a load can trust a header it read alone
// (ReadAt) before reading and verifying the whole file. The version says how the body is laid
// out (3: snapshot_v3.go; 2: uvarints, snapshot.go's first comment). Version 1 (the first
// format) had only "RWSNAP" 0x00 0x01 and seq; it is still read.
const (
	snapMagicV1   = "RWSNAP\x00\x01"
	snapMagic     = "RWSNAP\x00\x02"
	snapHeaderLen = 56
	snapHeaderV1  = 16
)

// SnapshotHeader is what a snapshot says about itself.
type SnapshotHeader struct {
	Version int
	Seq     uint64 // the last change it holds
	Gen     uint64 // the save generation that wrote it (1: a new registry's empty snapshot)
	// Next is the base of the log segment that the changes after this snapshot went to: a
	// save creates that segment before it writes the snapshot, so its absence is a loss.
	Next     uint64
	Saved    uint32 // unix seconds of the save
	Registry GUID   // the registry's own machine GUID (zero in version 1)
}

// appendSnapshotHeader writes h's header, of version h.Version (0: the one saves write).
func appendSnapshotHeader(b []byte, h *SnapshotHeader) []byte {
	start := len(b)
	v := h.Version
	if v == 0 {
		v = snapVersion
	}
	b = append(b, snapMagic[:7]...)
	b = append(b, byte(v))
	b = binary.LittleEndian.AppendUint64(b, h.Seq)
	b = binary.LittleEndian.AppendUint64(b, h.Gen)
	b = binary.LittleEndian.AppendUint64(b, h.Next)
	b = binary.LittleEndian.AppendUint32(b, h.Saved)
	b = append(b, h.Registry[:]...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// ParseSnapshotHeader reads the header at the start of a snapshot (the whole file or only
// its first bytes) and returns it with its length. Its own checksum is verified (version 2);
// the rest of the file is not.
func ParseSnapshotHeader(data []byte) (SnapshotHeader, int, error) {
	var h SnapshotHeader
	if len(data) < len(snapMagic) && strings.HasPrefix(snapMagic, string(data)) {
		return h, 0, corruptAt("snapshot header cut short", len(data)) // a save still writing it, or torn
	}
	if len(data) < len(snapMagic) || string(data[:6]) != snapMagic[:6] {
		return h, 0, corruptAt("not a regwasm snapshot", 0)
	}
	switch data[7] {
	case 1:
		if len(data) < snapHeaderV1 {
			return h, 0, corruptAt("snapshot header cut short", 0)
		}
		h.Version, h.Seq = 1, binary.LittleEndian.Uint64(data[8:])
		return h, snapHeaderV1, nil
	case 2, snapVersion:
		if len(data) < snapHeaderLen {
			return h, 0, corruptAt("snapshot header cut short", 0)
		}
		if crc32.Checksum(data[:snapHeaderLen-4], castagnoli) != binary.LittleEndian.Uint32(data[snapHeaderLen-4:]) {
			return h, 0, corruptAt("snapshot header checksum mismatch", snapHeaderLen-4)
		}
		h.Version = int(data[7])
		h.Seq = binary.LittleEndian.Uint64(data[8:])
		h.Gen = binary.LittleEndian.Uint64(data[16:])
		h.Next = binary.LittleEndian.Uint64(data[24:])
		h.Saved = binary.LittleEndian.Uint32(data[32:])
		copy(h.Registry[:], data[36:52])
		return h, snapHeaderLen, nil
	}
	return h, 0, corruptAt("unsupported snapshot version "+strconv.Itoa(int(data[7])), 7)
}
