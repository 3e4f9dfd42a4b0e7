package host

import "testing"

func TestMemoryAllocator(t *testing.T) {
	const limit = 64 << 20
	for name, m := range map[string]interface {
		Reallocate(uint64) []byte
		Free()
	}{
		"allocator": memoryAllocator{limit}.Allocate(pageSize, DefaultMemoryLimit),
		"slice":     &sliceMemory{limit: limit},
	} {
		t.Run(name, func(t *testing.T) {
			defer m.Free()
			b := m.Reallocate(2 * pageSize)
			if len(b) != 2*pageSize {
				t.Fatalf("len %d", len(b))
			}
			b[0], b[len(b)-1] = 1, 2
			for _, size := range []uint64{3 * pageSize, 1 << 20, 16 << 20, limit} {
				b = m.Reallocate(size)
				if uint64(len(b)) != size || b[0] != 1 || b[2*pageSize-1] != 2 || b[size-1] != 0 {
					t.Fatalf("grow to %d: len %d, contents lost", size, len(b))
				}
				b[size-1] = 3
			}
			if m.Reallocate(limit+pageSize) != nil {
				t.Fatal("grew past the limit")
			}
		})
	}
}

func TestWithMemoryLimit(t *testing.T) {
	for in, want := range map[uint64]uint64{0: pageSize, 1: pageSize, 3 << 20: 3 << 20, 1<<40 + 1: DefaultMemoryLimit} {
		if o := newOptions([]Option{WithMemoryLimit(in)}); o.memoryLimit != want {
			t.Errorf("WithMemoryLimit(%d) = %d, want %d", in, o.memoryLimit, want)
		}
	}
	if o := newOptions(nil); o.memoryLimit != DefaultMemoryLimit {
		t.Errorf("default %d", o.memoryLimit)
	}
}
