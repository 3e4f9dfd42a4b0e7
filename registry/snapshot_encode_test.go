package registry

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
)

// referenceOrder orders and numbers what a snapshot holds as the encoder was first written:
// one walk in GUID order that numbers the strings by first use.
func referenceOrder(r *Registry) (machines, persons []uint32, urls, names [][]byte, urlNo, nameNo, machineNo map[uint32]uint64) {
	for i := range r.machines {
		machines = append(machines, uint32(i))
	}
	for i := range r.persons {
		if !r.persons[i].guid.IsZero() {
			persons = append(persons, uint32(i))
		}
	}
	slices.SortFunc(machines, func(x, y uint32) int { return bytes.Compare(r.machines[x].guid[:], r.machines[y].guid[:]) })
	slices.SortFunc(persons, func(x, y uint32) int { return bytes.Compare(r.persons[x].guid[:], r.persons[y].guid[:]) })
	urlNo, nameNo, machineNo = map[uint32]uint64{}, map[uint32]uint64{0: 0}, map[uint32]uint64{}
	use := func(no map[uint32]uint64, list *[][]byte, t *internTable, id uint32) {
		if _, ok := no[id]; !ok {
			*list = append(*list, t.bytes(id))
			no[id] = uint64(len(*list))
		}
	}
	for k, mi := range machines {
		machineNo[mi] = uint64(k)
		for _, mu := range r.machineBlock(&r.machines[mi]) {
			use(urlNo, &urls, &r.urls, mu.url)
		}
	}
	for _, pi := range persons {
		for _, pu := range r.personBlock(&r.persons[pi]) {
			use(urlNo, &urls, &r.urls, pu.url)
			use(nameNo, &names, &r.names, pu.name)
		}
	}
	return
}

// referenceSnapshotV2 writes version 2, as saves did before version 3: every version 2
// snapshot in a registry directory is such bytes, and must still load.
func referenceSnapshotV2(r *Registry, seq uint64) []byte {
	machines, persons, urls, names, urlNo, nameNo, machineNo := referenceOrder(r)
	b := appendSnapshotHeader(nil, &SnapshotHeader{Version: 2, Seq: seq})
	b = binary.AppendUvarint(b, r.accesses)
	for _, list := range [][][]byte{urls, names} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, s := range list {
			b = append(binary.AppendUvarint(b, uint64(len(s))), s...)
		}
	}
	uv := func(vs ...uint64) {
		for _, v := range vs {
			b = binary.AppendUvarint(b, v)
		}
	}
	uv(uint64(len(machines)))
	for _, mi := range machines {
		m := &r.machines[mi]
		b = append(b, m.guid[:]...)
		uv(uint64(m.first), uint64(m.last), uint64(m.usage), uint64(m.n))
		for _, mu := range r.machineBlock(m) {
			uv(urlNo[mu.url]-1, uint64(mu.first), uint64(mu.last), uint64(mu.usage))
		}
	}
	uv(uint64(len(persons)))
	for _, pi := range persons {
		p := &r.persons[pi]
		b = append(b, p.guid[:]...)
		uv(uint64(p.first), uint64(p.last), uint64(p.usage), uint64(p.n))
		for _, pu := range r.personBlock(p) {
			uv(urlNo[pu.url]-1, machineNo[pu.machine], nameNo[pu.name],
				zigzag(int64(pu.first)-int64(p.first)), zigzag(int64(pu.last)-int64(pu.first)), uint64(pu.usage))
		}
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(len(b)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return append(b, snapEnd...)
}

// busyRegistry makes a registry with many persons, URLs (some long, so their numbers and
// lengths take several bytes), names and machines, whose arena has been churned by deletes,
// expiry and compaction.
func busyRegistry(t testing.TB, seed uint64, persons int) *Registry {
	rnd := rand.New(rand.NewPCG(seed, 3))
	r := New(Config{ExpireIdleDays: 1, Rand: seeded{rand.NewChaCha8([32]byte{byte(seed)})}})
	url := func() []byte {
		n := rnd.IntN(20000)
		if rnd.IntN(2) == 0 {
			n = rnd.IntN(40)
		}
		if n%97 == 0 {
			return []byte("http://" + strconv.Itoa(n) + "/" + string(bytes.Repeat([]byte{'x'}, 200)))
		}
		return []byte("http://" + strconv.Itoa(n) + ".example/")
	}
	machine := func() []byte {
		var g GUID
		g[0], g[15] = byte(rnd.IntN(256)), byte(rnd.IntN(3))
		return []byte(g.String())
	}
	var guids [][]byte
	when := uint32(1_000_000)
	for i := 0; i < persons*12; i++ {
		when += uint32(rnd.IntN(3))
		req := Request{Op: OpAccess, When: when, Machine: machine(), URL: url(), Arg: []byte("n" + strconv.Itoa(rnd.IntN(300)))}
		if len(guids) > 0 && (len(guids) >= persons || rnd.IntN(4) > 0) {
			req.Person = guids[len(guids)-1-rnd.IntN(min(len(guids), persons))] // recent ones live
		}
		if rnd.IntN(4) == 0 && req.Person != nil {
			req.Op, req.Arg = OpDelete, []byte("http://"+strconv.Itoa(rnd.IntN(40))+".example/")
		}
		if rnd.IntN(persons*3) == 0 {
			// An expiry purges the persons idle for about the last persons*3/2 requests.
			when += 86400 - uint32(persons)*3/2
			req = Request{Op: OpExpire, When: when}
		}
		res, _ := r.Do(&req, nil)
		if req.Op == OpAccess && req.Person == nil && res.Status == 200 {
			guids = append(guids, []byte(res.Person.String()))
		}
	}
	if err := r.checkInvariants(); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSnapshotMatchesReference(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	for seed := uint64(0); seed < 6; seed++ {
		r := busyRegistry(t, seed, []int{20, 300, 1000, 2000, 3000, 8000}[seed])
		want := referenceSnapshotV3(r, seed)
		got := r.AppendSnapshot([]byte("prefix"), seed)
		if string(got[:6]) != "prefix" || !bytes.Equal(got[6:], want) {
			t.Fatalf("seed %d: AppendSnapshot differs from the reference", seed)
		}
		// As a save writes it: sequential and in one chunk, then shared between 3 workers
		// in small chunks.
		for _, small := range []bool{false, true} {
			plan := func() *snapEncoding { return r.snapPlan(1) }
			if small {
				plan = func() *snapEncoding {
					e := r.snapPlan(3)
					e.chunk, e.personsChunk = 100, 7
					return e
				}
			}
			var streamed []byte
			puts := 0
			n, err := plan().write(&SnapshotHeader{Seq: seed}, func(b []byte) error {
				streamed = append(streamed, b...)
				puts++
				return nil
			})
			if err != nil || n != len(want) || !bytes.Equal(streamed, want) {
				t.Fatalf("seed %d, small %v: the written snapshot differs from the reference (%d bytes, %v)", seed, small, n, err)
			}
			if !small && len(want) < snapChunk && puts != 1 {
				t.Fatalf("seed %d: a %d-byte snapshot in %d puts", seed, len(want), puts)
			}
			// A failing put stops the writing with its error.
			for stop := 1; stop < puts; stop += 1 + puts/3 {
				k := 0
				fail := errors.New("disk full")
				if _, err := plan().write(&SnapshotHeader{Seq: seed}, func([]byte) error {
					if k++; k == stop {
						return fail
					}
					return nil
				}); err != fail || k != stop {
					t.Fatalf("seed %d: put failing at call %d: %v after %d calls", seed, stop, err, k)
				}
			}
		}
	}
}

// TestSortByGUID sorts GUIDs of several shapes: random, sharing a long prefix (time-based),
// differing only in the low word or in the last bits, and only a few.
func TestSortByGUID(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	shapes := map[string]func(i int) GUID{
		"random": func(int) GUID {
			var g GUID
			binary.BigEndian.PutUint64(g[:], rnd.Uint64())
			binary.BigEndian.PutUint64(g[8:], rnd.Uint64())
			return g
		},
		"prefix": func(int) GUID {
			g := GUID{1, 2, 3, 4, 5, 6}
			binary.BigEndian.PutUint64(g[8:], rnd.Uint64())
			g[7] = byte(rnd.IntN(3))
			return g
		},
		"low":    func(i int) GUID { g := GUID{9}; binary.BigEndian.PutUint32(g[12:], uint32(i*7919%100003)); return g },
		"last":   func(i int) GUID { g := GUID{9, 15: byte(i)}; return g },
		"skewed": func(i int) GUID { g := GUID{byte(i % 2), 15: byte(i / 2)}; return g },
	}
	for name, mk := range shapes {
		for _, n := range []int{0, 1, 2, 63, 64, 65, 255, 1000, 5000} {
			if name == "last" && n > 256 || name == "skewed" && n > 512 {
				continue
			}
			guids := make([]GUID, n)
			seen := map[GUID]bool{}
			for i := range guids {
				if guids[i] = mk(i); seen[guids[i]] {
					t.Fatalf("%s: repeated GUID", name)
				}
				seen[guids[i]] = true
			}
			got := sortByGUID(n, func(i uint32) *GUID { return &guids[i] }, func(i int) bool { return i%5 != 3 },
				make([]sortKey, n), make([]sortKey, n), nil)
			var want []uint32
			for i := range guids {
				if i%5 != 3 {
					want = append(want, uint32(i))
				}
			}
			slices.SortFunc(want, func(x, y uint32) int { return bytes.Compare(guids[x][:], guids[y][:]) })
			if !slices.Equal(got, want) {
				t.Fatalf("%s, %d GUIDs: sorted wrong", name, n)
			}
		}
	}
}
