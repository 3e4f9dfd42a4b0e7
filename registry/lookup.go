package registry

// delete removes one of the person's URLs (netdata's delete action). The person and the
// machine must be known, and both the URL in use and delete_url must be the person's.
func (r *Registry) delete(req *Request, body []byte) (Result, []byte) {
	const action = "delete"
	if len(req.Machine) == 0 || len(req.URL) == 0 || len(req.Arg) == 0 {
		return r.fail(body, action, 400, ErrMissing)
	}
	pidx, ok := r.lookupPerson(req.Person)
	if !ok {
		return r.fail(body, action, 400, ErrNoPerson)
	}
	if _, ok := r.lookupMachine(req.Machine); !ok {
		return r.fail(body, action, 400, ErrNoMachine)
	}
	p := &r.persons[pidx]
	cur, del := req.URL, req.Arg
	var err error
	if req.Flags&flagApplied == 0 {
		if cur, err = r.requestURL(req); err != nil {
			return r.fail(body, action, 400, err)
		}
	}
	if r.findPersonURLID(p, r.urls.find(cur)) < 0 {
		return r.fail(body, action, 400, ErrNoURL)
	}
	if req.Flags&flagApplied == 0 {
		// cur lives in urlBuf, which cleaning del reuses: the log keeps a copy.
		req.URL = append(r.delBuf[:0], cur...)
		r.delBuf = req.URL
		// netdata cleans delete_url without validating it: one that cannot be the person's is
		// simply not found.
		del = cleanText(req.Arg, r.cfg.MaxURLLength, &r.urlBuf)
		req.Arg = del
	}
	i := r.findPersonURLID(p, r.urls.find(del))
	if i < 0 {
		return r.fail(body, action, 400, ErrNoURL)
	}
	r.removePersonURL(p, i)
	body = r.appendHeader(body, action, "ok")
	return Result{Status: 200, Person: p.guid, Changed: true}, append(body, '}')
}

// search answers the URLs of machine `for`, but only to a person who has accessed it
// (netdata's search action).
func (r *Registry) search(req *Request, body []byte) (Result, []byte) {
	const action = "search"
	if len(req.Person) == 0 {
		return r.fail(body, action, 400, ErrNoPerson)
	}
	if len(req.Arg) == 0 {
		return r.fail(body, action, 400, ErrMissing)
	}
	pidx, ok := r.lookupPerson(req.Person)
	if !ok {
		return r.fail(body, action, 404, ErrNoPerson)
	}
	midx, ok := r.lookupMachine(req.Arg)
	if !ok {
		return r.fail(body, action, 404, ErrNoMachine)
	}
	p := &r.persons[pidx]
	// The name shown is that of the person's newest link to the machine (netdata walks the
	// person's list from its head).
	var name []byte
	found := false
	pblk := r.personBlock(p)
	for i := len(pblk) - 1; i >= 0; i-- {
		if pblk[i].machine == midx {
			name, found = r.names.bytes(pblk[i].name), true
			break
		}
	}
	if !found {
		return r.fail(body, action, 404, ErrNotAccessed)
	}
	m := &r.machines[midx]
	body = r.appendHeader(body, action, "ok")
	if req.Flags&FlagQuiet == 0 {
		body = append(body, `,"urls":[`...)
		first := true
		blk := r.machineBlock(m) // oldest first: listed backwards, newest first as netdata's
		for i := len(blk) - 1; i >= 0; i-- {
			mu := &blk[i]
			u := r.urls.bytes(mu.url)
			if string(u) == hiddenURL {
				continue
			}
			if !first {
				body = append(body, ',')
			}
			first = false
			body = appendURLEntry(body, m.guid, u, mu.last, mu.usage, name, mu.usage&flagExpired != 0)
		}
		body = append(body, ']')
	}
	return Result{Status: 200, Person: p.guid}, append(body, '}')
}

// switchPerson checks netdata's switch rules: the browser may adopt person `to` only when both
// persons and the machine are known and both persons have accessed that machine. Like netdata,
// it changes nothing in the registry: the new identity is the cookie the host sets.
// As in netdata's registry_request_switch_json, a request without a person or whose URL does
// not start with 'h' or '*' is a bad request (400) before the 430-434 checks.
func (r *Registry) switchPerson(req *Request, body []byte) (Result, []byte) {
	const action = "switch"
	if len(req.Machine) == 0 || len(req.URL) == 0 || len(req.Arg) == 0 {
		return r.fail(body, action, 400, ErrMissing)
	}
	if len(req.Person) == 0 {
		return r.fail(body, action, 400, ErrNoPerson)
	}
	if _, err := r.requestURL(req); err != nil {
		return r.fail(body, action, 400, err)
	}
	old, ok := r.lookupPerson(req.Person)
	if !ok {
		return r.fail(body, action, 430, ErrNoPerson)
	}
	to, ok := r.lookupPerson(req.Arg)
	if !ok {
		return r.fail(body, action, 431, ErrNoPerson)
	}
	midx, ok := r.lookupMachine(req.Machine)
	if !ok {
		return r.fail(body, action, 432, ErrNoMachine)
	}
	if !r.hasAccessed(&r.persons[old], midx) {
		return r.fail(body, action, 433, ErrNotAccessed)
	}
	if !r.hasAccessed(&r.persons[to], midx) {
		return r.fail(body, action, 434, ErrNotAccessed)
	}
	g := r.persons[to].guid
	body = r.appendHeader(body, action, "ok")
	body = append(body, `,"person_guid":`...)
	body = appendGUIDString(body, g)
	return Result{Status: 200, Person: g}, append(body, '}')
}

// Expire purges persons idle for longer than Config.ExpireIdleDays as of now (unix seconds),
// with all their URL links, and returns how many went. netdata only puts the idle limit in the
// cookie's expiry; here the data really goes.
func (r *Registry) Expire(now uint32) int {
	cutoff, ok := r.expiryCutoff(now)
	if !ok {
		return 0
	}
	return r.expireBefore(cutoff)
}

// expiryCutoff is the last access time below which persons expire as of now.
func (r *Registry) expiryCutoff(now uint32) (uint32, bool) {
	limit := uint64(r.cfg.ExpireIdleDays) * 86400
	if uint64(now) <= limit {
		return 0, false
	}
	return now - uint32(limit), true
}

// expireBefore purges the persons last seen before cutoff and returns how many went.
func (r *Registry) expireBefore(cutoff uint32) int {
	n := 0
	for i := range r.persons {
		p := &r.persons[i]
		if p.guid.IsZero() || p.last >= cutoff {
			continue
		}
		for _, pu := range r.personBlock(p) {
			r.urls.unref(pu.url)
			r.names.unref(pu.name)
		}
		r.personLinks -= uint64(p.n)
		if p.cap > 0 {
			r.personURLs.release(p.off, p.cap)
		}
		r.personIndex.remove(&p.guid, r.personGUID)
		*p = person{}
		r.freePersons = append(r.freePersons, uint32(i))
		n++
	}
	if n > 0 {
		r.maybeCompactPersons()
	}
	return n
}
