package registry

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"slices"
	"strconv"
)

// Snapshot format, version 1. Integers are uvarints unless noted.
//
//	header   "RWSNAP" 0x00 0x01 (magic, version) | seq u64le | accesses
//	strings  URL count, then length+bytes each | name count, then length+bytes each
//	machines count, then each: guid[16] first last usage murls, each: url first last usage
//	persons  count, then each: guid[16] first last usage purls, each:
//	         url machine name first-delta last-delta usage
//	trailer  body length u64le | crc32c of everything before u32le | "RWEND!" 0x00 0x00
//
// Machines and persons are written in GUID order, strings in the order the walk first meets
// them, and each entity's URLs in their live order: the bytes depend only on the registry's
// contents, never on its history, so every host writes the same bytes for the same state.
// A person-URL's first time is stored relative to its person's first time and its last time
// relative to its own first (small numbers, one or two bytes each).
const (
	snapMagic    = "RWSNAP\x00\x01"
	snapEnd      = "RWEND!\x00\x00"
	snapTrailer  = 8 + 4 + 8
	snapMinBytes = len(snapMagic) + 8 + snapTrailer
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendSnapshot appends the registry's snapshot, recording seq as the last change it holds.
func (r *Registry) AppendSnapshot(b []byte, seq uint64) []byte {
	start := len(b)
	b = append(b, snapMagic...)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = binary.AppendUvarint(b, r.accesses)

	machines := make([]uint32, len(r.machines))
	for i := range machines {
		machines[i] = uint32(i)
	}
	slices.SortFunc(machines, func(x, y uint32) int { return bytes.Compare(r.machines[x].guid[:], r.machines[y].guid[:]) })
	persons := make([]uint32, 0, r.personIndex.count)
	for i := range r.persons {
		if !r.persons[i].guid.IsZero() {
			persons = append(persons, uint32(i))
		}
	}
	slices.SortFunc(persons, func(x, y uint32) int { return bytes.Compare(r.persons[x].guid[:], r.persons[y].guid[:]) })

	// Number strings in the order of first use.
	urlNo := make([]uint32, len(r.urls.ents)) // intern id -> 1 + snapshot index
	nameNo := make([]uint32, len(r.names.ents))
	var urlOrder, nameOrder []uint32
	useURL := func(id uint32) {
		if urlNo[id] == 0 {
			urlOrder = append(urlOrder, id)
			urlNo[id] = uint32(len(urlOrder))
		}
	}
	for _, mi := range machines {
		for _, mu := range r.machineBlock(&r.machines[mi]) {
			useURL(mu.url)
		}
	}
	for _, pi := range persons {
		for _, pu := range r.personBlock(&r.persons[pi]) {
			useURL(pu.url)
			if pu.name != 0 && nameNo[pu.name] == 0 {
				nameOrder = append(nameOrder, pu.name)
				nameNo[pu.name] = uint32(len(nameOrder))
			}
		}
	}
	b = appendStrings(b, &r.urls, urlOrder)
	b = appendStrings(b, &r.names, nameOrder)

	machineNo := make([]uint32, len(r.machines))
	b = binary.AppendUvarint(b, uint64(len(machines)))
	for k, mi := range machines {
		machineNo[mi] = uint32(k)
		m := &r.machines[mi]
		b = append(b, m.guid[:]...)
		b = appendUvarints(b, m.first, m.last, m.usage, m.n)
		for _, mu := range r.machineBlock(m) {
			b = appendUvarints(b, urlNo[mu.url]-1, mu.first, mu.last, mu.usage)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(persons)))
	for _, pi := range persons {
		p := &r.persons[pi]
		b = append(b, p.guid[:]...)
		b = appendUvarints(b, p.first, p.last, p.usage, p.n)
		for _, pu := range r.personBlock(p) {
			b = appendUvarints(b, urlNo[pu.url]-1, machineNo[pu.machine], nameNo[pu.name])
			b = binary.AppendUvarint(b, zigzag(int64(pu.first)-int64(p.first)))
			b = binary.AppendUvarint(b, zigzag(int64(pu.last)-int64(pu.first)))
			b = binary.AppendUvarint(b, uint64(pu.usage))
		}
	}
	n := uint64(len(b) - start)
	b = binary.LittleEndian.AppendUint64(b, n)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
	return append(b, snapEnd...)
}

func appendStrings(b []byte, t *internTable, order []uint32) []byte {
	b = binary.AppendUvarint(b, uint64(len(order)))
	for _, id := range order {
		b = appendField(b, t.bytes(id))
	}
	return b
}

func appendUvarints(b []byte, vs ...uint32) []byte {
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// VerifySnapshot checks a snapshot's trailer: length, checksum and end marker. It is the
// rotation's acceptance test: a torn or rotted file fails it.
func VerifySnapshot(data []byte) error {
	_, err := snapshotBody(data)
	return err
}

// snapshotBody verifies data and returns the part between magic and trailer.
func snapshotBody(data []byte) ([]byte, error) {
	if len(data) < snapMinBytes {
		return nil, corruptAt("snapshot shorter than its header and trailer", 0)
	}
	t := len(data) - snapTrailer
	if string(data[len(data)-8:]) != snapEnd {
		return nil, corruptAt("snapshot end marker missing (torn write?)", t)
	}
	if n := binary.LittleEndian.Uint64(data[t:]); n != uint64(t) {
		return nil, corruptAt("snapshot length "+strconv.FormatUint(n, 10)+" does not match file", t)
	}
	if string(data[:6]) != snapMagic[:6] {
		return nil, corruptAt("not a regwasm snapshot", 0)
	}
	if data[7] != snapMagic[7] {
		return nil, corruptAt("unsupported snapshot version "+strconv.Itoa(int(data[7])), 7)
	}
	if crc32.Checksum(data[:t+8], castagnoli) != binary.LittleEndian.Uint32(data[t+8:]) {
		return nil, corruptAt("snapshot checksum mismatch", t+8)
	}
	return data[len(snapMagic):t], nil
}

// SnapshotSeq returns the sequence number a verified snapshot holds.
func SnapshotSeq(data []byte) (uint64, error) {
	body, err := snapshotBody(data)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(body), nil
}
