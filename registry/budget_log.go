package registry

// logLoad is the change log a load of the files reads: every log segment, the previous
// generation's (which a save keeps until the next one) as well as the chain's, and the first
// format's registry.log if it is still there. The memory budget counts it (see budget.go).
//
// # Notes
//
// The chain's segments are known without I/O. The others change only when a save or a load
// changes the chain, so their sizes are asked of the storage then, not on every call. Their
// records are counted when a save made them the previous generation (they were the chain);
// after a load they are bounded from their bytes.
func (s *Store) logLoad() logSize {
	if len(s.chain) == 0 {
		return logSize{}
	}
	chain := s.chainLog()
	m := &s.reg.mem
	if key := (logKey{gen: s.gen, first: s.chain[0].ext, n: len(s.chain)}); m.chainKey != key {
		saved := m.chainKey.n > 0 && key.gen == m.chainKey.gen+1
		m.other = logSize{bytes: s.otherLogBytes()}
		m.other.records = m.other.bytes / minRecordBytes
		if saved {
			m.other.records = min(m.other.records, m.chain.records)
		}
		m.chainKey = key
	}
	m.chain = chain
	return chain.plus(m.other)
}

// logKey identifies a chain of segments, for logLoad's cache.
type logKey struct {
	gen      uint64
	first, n int
}

// chainLog is the log since the snapshot: the chain's segments.
func (s *Store) chainLog() logSize {
	var l logSize
	for _, g := range s.chain {
		l.bytes += uint64(g.size)
		if g.last >= g.first {
			l.records += g.last - g.first + 1
		}
	}
	return l
}

// budgetWantsSave reports whether the memory budget wants a save to compact the change log
// (Registry.wantsSave), after a batch was logged.
func (s *Store) budgetWantsSave() bool {
	s.reg.mem.log = s.logLoad()
	return s.reg.wantsSave(s.reg.mem.chain)
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
