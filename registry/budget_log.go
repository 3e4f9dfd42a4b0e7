package registry

// logLoadBytes is the bytes of change log a load of the files reads: every log segment,
// the previous generation's (which a save keeps until the next one) as well as the chain's,
// and the first format's registry.log if it is still there. The memory budget counts them
// (see budget.go).
//
// # Notes
//
// The chain's segments are known without I/O. The others change only when a save or a load
// changes the chain, so their sizes are asked of the storage then, not on every call.
func (s *Store) logLoadBytes() uint64 {
	if len(s.chain) == 0 {
		return 0
	}
	n := s.chainBytes()
	key := logKey{gen: s.gen, first: s.chain[0].ext, n: len(s.chain)}
	if m := &s.reg.mem; m.otherKey != key {
		m.otherKey, m.otherBytes = key, s.otherLogBytes()
	}
	return n + s.reg.mem.otherBytes
}

// chainBytes is the bytes of the segments holding the changes since the snapshot.
func (s *Store) chainBytes() uint64 {
	var n int64
	for _, g := range s.chain {
		n += g.size
	}
	return uint64(n)
}

// budgetWantsSave reports whether the memory budget wants a save to compact the change log
// (Registry.wantsSave), after a batch was logged.
func (s *Store) budgetWantsSave() bool {
	s.reg.mem.logBytes = s.logLoadBytes()
	return s.reg.wantsSave(s.chainBytes())
}

// logKey identifies a chain of segments, for logLoadBytes's cache.
type logKey struct {
	gen      uint64
	first, n int
}

// otherLogBytes is the size of the log files a load reads besides the chain's segments.
func (s *Store) otherLogBytes() uint64 {
	inChain := func(ext int) bool {
		for _, g := range s.chain {
			if g.ext == ext {
				return true
			}
		}
		return false
	}
	var n int64
	for ext := 1; ext <= 3; ext++ {
		if inChain(ext) {
			continue
		}
		if size, err := s.st.Size(segmentName(ext)); err == nil {
			n += size
		}
	}
	if size, err := s.st.Size(logBase); err == nil {
		n += size
	}
	return uint64(n)
}
