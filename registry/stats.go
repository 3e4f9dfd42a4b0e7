package registry

// Stats are the registry's counters (netdata's, plus memory).
type Stats struct {
	Persons     uint64 `json:"persons"`
	Machines    uint64 `json:"machines"`
	URLs        uint64 `json:"urls"`         // unique URLs
	Accesses    uint64 `json:"accesses"`     // access actions recorded (netdata's usages)
	PersonURLs  uint64 `json:"person_urls"`  // person-URL links
	MachineURLs uint64 `json:"machine_urls"` // machine-URL links
	Bytes       uint64 `json:"bytes"`        // memory held by the tables
	// Budget is the memory budget of the tables (see ErrMemoryBudget), 0 when none is in
	// force (no memory limit known, no "memory budget" set); the answer leaves it out then.
	Budget uint64 `json:"budget,omitempty"`
}

// Stats returns the counters.
func (r *Registry) Stats() Stats {
	var budget uint64
	if b := r.budget(); b.on {
		budget = b.tables
	}
	return Stats{
		Persons:     uint64(r.personIndex.count),
		Machines:    uint64(r.machineIndex.count),
		URLs:        uint64(r.urls.live),
		Accesses:    r.accesses,
		PersonURLs:  r.personLinks,
		MachineURLs: r.machLinks,
		Bytes:       r.tableBytes(),
		Budget:      budget,
	}
}

// AppendJSON appends the counters as a JSON object.
func (s Stats) AppendJSON(b []byte) []byte {
	b = append(b, `{"persons":`...)
	b = appendUint(b, s.Persons)
	b = appendUintField(b, "machines", s.Machines)
	b = appendUintField(b, "urls", s.URLs)
	b = appendUintField(b, "accesses", s.Accesses)
	b = appendUintField(b, "person_urls", s.PersonURLs)
	b = appendUintField(b, "machine_urls", s.MachineURLs)
	b = appendUintField(b, "bytes", s.Bytes)
	if s.Budget > 0 {
		b = appendUintField(b, "budget", s.Budget)
	}
	return append(b, '}')
}
