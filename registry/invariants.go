package registry

import (
	"errors"
	"strconv"
)

// checkInvariants recomputes every counter and reference count from the tables and reports
// the first disagreement. Tests and fuzz targets call it after every action; loading a
// snapshot calls it once, so a decoder bug cannot leave a registry that lies.
func (r *Registry) checkInvariants() error {
	urlRefs := map[uint32]uint32{}
	nameRefs := map[uint32]uint32{}
	persons, links := 0, uint64(0)
	for i := range r.persons {
		p := &r.persons[i]
		if p.guid.IsZero() {
			if p.n != 0 {
				return errors.New("registry: free person slot holds URLs")
			}
			continue
		}
		persons++
		if idx, ok := r.findPerson(&p.guid); !ok || idx != uint32(i) {
			return errors.New("registry: person index disagrees at " + strconv.Itoa(i))
		}
		if p.n > p.cap {
			return errors.New("registry: person block overflows")
		}
		if p.urlBits != blockURLBits(r.personBlock(p)) {
			return errors.New("registry: person URL filter disagrees with its URLs at " + strconv.Itoa(i))
		}
		seen := map[uint32]bool{}
		for _, pu := range r.personBlock(p) {
			if pu.url == 0 || seen[pu.url] {
				return errors.New("registry: person has an empty or repeated URL")
			}
			seen[pu.url] = true
			if int(pu.machine) >= len(r.machines) {
				return errors.New("registry: person URL names no machine")
			}
			urlRefs[pu.url]++
			if pu.name != 0 {
				nameRefs[pu.name]++
			}
			links++
		}
	}
	if persons != r.personIndex.count || links != r.personLinks {
		return errors.New("registry: person counters disagree with the tables")
	}
	mlinks := uint64(0)
	for i := range r.machines {
		m := &r.machines[i]
		if idx, ok := r.findMachine(&m.guid); !ok || idx != uint32(i) {
			return errors.New("registry: machine index disagrees at " + strconv.Itoa(i))
		}
		for _, mu := range r.machineBlock(m) {
			urlRefs[mu.url]++
			mlinks++
			if r.urlSpansGen == r.urls.gen { // else access refreshes them first
				want := mu
				r.setSpan(&want)
				if want != mu {
					return errors.New("registry: machine URL span stale at " + strconv.Itoa(i))
				}
			}
		}
	}
	if len(r.machines) != r.machineIndex.count || mlinks != r.machLinks {
		return errors.New("registry: machine counters disagree with the tables")
	}
	if err := checkRefs(&r.urls, urlRefs, "URL"); err != nil {
		return err
	}
	return checkRefs(&r.names, nameRefs, "name")
}

func checkRefs(t *internTable, refs map[uint32]uint32, what string) error {
	if len(refs) != t.live {
		return errors.New("registry: " + what + " count " + strconv.Itoa(t.live) + " but " + strconv.Itoa(len(refs)) + " referenced")
	}
	for id, n := range refs {
		if t.ents[id].refs != n {
			return errors.New("registry: " + what + " reference count wrong for " + strconv.Quote(t.str(id)))
		}
		if t.find(t.bytes(id)) != id {
			return errors.New("registry: " + what + " index misses " + strconv.Quote(t.str(id)))
		}
	}
	return nil
}
