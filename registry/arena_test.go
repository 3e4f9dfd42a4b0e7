package registry

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// A churned arena keeps every block's contents through grows, releases and compactions, and
// compaction leaves no free space behind. (Before the spanning case was tested, compaction
// moved the blocks carved after a block spanning chunks up, over blocks not moved yet.)
func TestBlockArenaCompactKeepsBlocks(t *testing.T) {
	for _, spanning := range []bool{false, true} {
		t.Run(map[bool]string{false: "small", true: "spanning"}[spanning], func(t *testing.T) { testArenaCompact(t, spanning) })
	}
}

func testArenaCompact(t *testing.T, spanning bool) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var a blockArena[uint64]
	type owner struct{ off, n, cap uint32 }
	owners := make([]owner, 3000)
	check := func(when string) {
		t.Helper()
		for i, o := range owners {
			for k, v := range a.block(o.off, o.n) {
				if v != uint64(i)<<32|uint64(k) {
					t.Fatalf("%s: owner %d element %d is %#x", when, i, k, v)
				}
			}
		}
	}
	for round := 0; round < 4; round++ {
		for step := 0; step < 60_000; step++ {
			i := rnd.IntN(len(owners))
			o := &owners[i]
			if o.n > 0 && rnd.IntN(8) == 0 {
				a.release(o.off, o.cap)
				*o = owner{}
				continue
			}
			if o.n == o.cap {
				want := o.n + 1
				if spanning && rnd.IntN(500) == 0 {
					want = chunkLen + uint32(rnd.IntN(chunkLen)) // a block spanning chunks
				}
				o.off, o.cap = a.grow(o.off, o.n, o.cap, want)
			}
			a.block(o.off, o.cap)[o.n] = uint64(i)<<32 | uint64(o.n)
			o.n++
		}
		check("before compaction")
		var refs []blockRef
		for i, o := range owners {
			if o.cap > 0 {
				refs = append(refs, blockRef{owner: uint32(i), off: o.off, capacity: o.cap})
			}
		}
		rnd.Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
		a.compact(refs, func(i, off uint32) { owners[i].off = off })
		check("after compaction")
		// Blocks spanning chunks never move, so the space before them stays free.
		if !spanning && a.freeElems > chunkLen {
			t.Fatalf("round %d: %d free elements after compaction", round, a.freeElems)
		}
	}
}

func TestSortByOffset(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 100, 70_000} {
		refs := make([]blockRef, n)
		for i := range refs {
			refs[i] = blockRef{owner: uint32(i), off: rnd.Uint32() >> uint(rnd.IntN(32))}
		}
		want := slices.Clone(refs)
		slices.SortStableFunc(want, func(x, y blockRef) int { return int(int64(x.off) - int64(y.off)) })
		if got := sortByOffset(refs); !slices.Equal(got, want) {
			t.Fatalf("n=%d: not sorted by offset, or not stable", n)
		}
	}
}

// BenchmarkCompact compacts an arena of a million person-URL blocks (test1's persons at the
// end, 20 URLs each) after every other block was freed: the pause a compaction costs.
func BenchmarkCompact(b *testing.B) {
	const owners = 1_000_000
	for b.Loop() {
		b.StopTimer()
		var a blockArena[personURL]
		refs := make([]blockRef, 0, owners)
		for i := range owners {
			off, c := a.alloc(20)
			if i%2 == 0 {
				refs = append(refs, blockRef{owner: uint32(i), off: off, capacity: c})
			} else {
				a.release(off, c)
			}
		}
		b.StartTimer()
		a.compact(refs, func(uint32, uint32) {})
	}
}
