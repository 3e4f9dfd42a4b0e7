package registry

import (
	"errors"
	"strconv"
)

// OpTop's limits: how many machines it answers by default and at most.
const (
	defaultTopMachines = 10
	maxTopMachines     = 100
)

// ErrBadLimit is OpTop's answer to a count that is not 1 to 100.
var ErrBadLimit = errors.New("registry: limit must be a whole number from 1 to 100")

// topMachines answers OpTop: the machines with the most accesses, most first, for an
// operator's view of a registry (which agents its users reach most). req.Person holds the
// count as decimal text, empty for 10. It changes nothing.
//
// # Notes
//
// One pass over the machines keeps the best n in a sorted slice: n is at most 100, so an
// insertion moves at most 100 indexes, and most machines compare below the last kept one
// and cost one comparison. Ties go to the machine used last, then to the smaller GUID, so
// that every host answers the same list.
func (r *Registry) topMachines(req *Request, body []byte) (Result, []byte) {
	const action = "top"
	n := defaultTopMachines
	if len(req.Person) > 0 {
		v, err := strconv.Atoi(string(req.Person))
		if err != nil || v < 1 || v > maxTopMachines {
			return r.fail(body, action, 400, ErrBadLimit)
		}
		n = v
	}
	top := make([]uint32, 0, n)
	for i := range r.machines {
		idx := uint32(i)
		if len(top) == n && !r.usedMore(idx, top[n-1]) {
			continue
		}
		at := len(top)
		for at > 0 && r.usedMore(idx, top[at-1]) {
			at--
		}
		if len(top) < n {
			top = append(top, 0)
		}
		copy(top[at+1:], top[at:len(top)-1])
		top[at] = idx
	}
	body = r.appendHeader(body, action, "ok")
	body = append(body, `,"machines":[`...)
	for i, idx := range top {
		if i > 0 {
			body = append(body, ',')
		}
		m := &r.machines[idx]
		body = append(body, `{"machine_guid":`...)
		body = appendGUIDString(body, m.guid)
		body = appendUintField(body, "usages", uint64(m.usage&usageMask))
		body = appendUintField(body, "first", uint64(m.first))
		body = appendUintField(body, "last", uint64(m.last))
		body = appendUintField(body, "urls", uint64(m.n))
		body = append(body, `,"url":`...)
		body = appendJSONString(body, r.latestURL(m))
		body = append(body, '}')
	}
	return Result{Status: 200}, append(body, "]}"...)
}

// usedMore orders machines for topMachines: more usages first, then the one used last, then
// the smaller GUID.
func (r *Registry) usedMore(a, b uint32) bool {
	ma, mb := &r.machines[a], &r.machines[b]
	ua, ub := ma.usage&usageMask, mb.usage&usageMask
	if ua != ub {
		return ua > ub
	}
	if ma.last != mb.last {
		return ma.last > mb.last
	}
	return string(ma.guid[:]) < string(mb.guid[:])
}

// latestURL is the machine's URL used last, preferring one that still reaches it (not
// EXPIRED); nil when it has none.
func (r *Registry) latestURL(m *machine) []byte {
	best, bestLive := -1, false
	blk := r.machineBlock(m)
	for i := range blk {
		live := blk[i].usage&flagExpired == 0
		if best < 0 || (live && !bestLive) || (live == bestLive && blk[i].last > blk[best].last) {
			best, bestLive = i, live
		}
	}
	if best < 0 {
		return nil
	}
	return r.urls.bytes(blk[best].url)
}
