package registry

// access records that a person reached a machine through a URL (netdata's access action).
//
// Everything is validated before anything changes. Unknown, empty or invalid person GUIDs get
// a new person with a fresh time-based GUID, never the one sent (except when replaying the
// change log, which re-creates the logged person). With FlagMachineOnly it is netdata's
// cookie-check access: the machine is created and the URL counted on it, and no person is
// looked up, created or linked. With FlagNoNewPerson an access that would make a person is
// refused (429). Under a memory budget, one that would add anything past it is refused (507).
func (r *Registry) access(req *Request, body []byte, res *Result) []byte {
	const action = "access"
	mg, ok := requestGUID(req, req.Machine)
	if !ok || mg.IsZero() {
		return r.failTo(res, body, action, 400, ErrBadMachine)
	}
	url, name := req.URL, req.Arg
	if req.Flags&flagApplied == 0 {
		var err error
		if url, err = r.requestURL(req); err != nil {
			return r.failTo(res, body, action, 400, err)
		}
		name = cleanText(req.Arg, r.cfg.MaxNameLength, &r.nameBuf)
		// The change log records what was applied: replay must not clean again.
		req.URL, req.Arg = url, name
	}
	when := req.When
	withPerson := req.Flags&FlagMachineOnly == 0

	pg, pok := requestGUID(req, req.Person)
	pok = pok && !pg.IsZero() && withPerson
	// Both lookups begin before either finishes, so that their cache misses overlap (probe).
	var pp probe
	if pok {
		pp = r.personIndex.begin(&pg)
	}
	mp := r.machineIndex.begin(&mg)
	var pidx uint32
	pknown := false
	if pok {
		pidx, pknown = r.personIndex.finish(pp, &pg, r.personGUID)
	}
	midx, mknown := r.machineIndex.finish(mp, &mg, r.machineGUID)
	// Most accesses reuse one of the machine's few URLs: compare those before hashing.
	if r.urlSpansGen != r.urls.gen {
		r.refreshURLSpans()
	}
	uid := uint32(0)
	if mknown {
		blk := r.machineBlock(&r.machines[midx])
		for j := range blk {
			if mu := &blk[j]; int(mu.n) == len(url) && r.sameURL(mu, url) {
				uid = mu.url
				break
			}
		}
	}
	inMachine := uid != 0
	if uid == 0 {
		uid = r.urls.find(url)
	}
	newPerson := !pknown && withPerson
	link := -1 // the person's link to the URL, if it has one
	if pknown {
		link = r.findPersonURLID(&r.persons[pidx], uid)
	}
	if req.Flags&flagReplay == 0 {
		// Everything is looked up: nothing changes until both checks pass. Replay is never
		// refused: what the log holds was acknowledged.
		if newPerson && req.Flags&FlagNoNewPerson != 0 {
			return r.failTo(res, body, action, 429, ErrNewPerson)
		}
		adds := newPerson || !mknown || !inMachine || withPerson && (link < 0 ||
			!sameBytes(r.names.bytes(r.personBlock(&r.persons[pidx])[link].name), name))
		if adds && r.cfg.budgeted() && !r.roomy() {
			if err := r.admitAccess(newPerson, !mknown, pidx, midx, uid, link, inMachine, withPerson, url, name); err != nil {
				return r.failTo(res, body, action, 507, err)
			}
		}
	}
	if newPerson {
		if req.Flags&flagReplay != 0 && pok {
			pidx = r.newPerson(pg, when)
		} else {
			g, err := r.freshPersonGUID(when)
			if err != nil {
				return r.failTo(res, body, action, 500, err)
			}
			pidx = r.newPerson(g, when)
		}
	}
	if !mknown {
		midx = r.newMachine(mg, when)
	}

	// Person -> URL (netdata's registry_person_link_to_url). The block is oldest link first:
	// a new link goes at the end, and answers list the block backwards (newest first).
	var p *person
	if withPerson {
		p = &r.persons[pidx]
		if i := link; i < 0 {
			if uid != 0 {
				r.urls.addRef(uid)
			} else {
				uid = r.urls.ref(url)
			}
			pu := r.appendPersonURL(p, uid)
			pu.machine, pu.name, pu.first, pu.last, pu.usage = midx, r.names.ref(name), when, when, 1
			p = &r.persons[pidx]
		} else {
			pu := &r.personBlock(p)[i]
			pu.usage = bump(pu.usage)
			pu.last = when
			if pu.machine != midx {
				// The URL now reaches another machine: the old machine's entry for it expires.
				om := &r.machines[pu.machine]
				if j := r.findMachineURL(om, uid); j >= 0 {
					r.machineBlock(om)[j].usage |= flagExpired
				}
				pu.machine = midx
			}
			if !sameBytes(r.names.bytes(pu.name), name) {
				old := pu.name
				pu.name = r.names.ref(name)
				r.names.unref(old)
				r.moveToNewest(p, i)
			}
		}
		p.usage = bump(p.usage)
		p.last = when
	}

	// Machine -> URL.
	m := &r.machines[midx]
	if j := r.findMachineURLID(m, uid); j < 0 {
		if uid != 0 {
			r.urls.addRef(uid)
		} else {
			uid = r.urls.ref(url)
		}
		mu := r.appendMachineURL(m, uid)
		mu.first, mu.last, mu.usage = when, when, 1
		m = &r.machines[midx]
	} else {
		mu := &r.machineBlock(m)[j]
		mu.usage = bump(mu.usage)
		mu.last = when
	}
	m.usage = bump(m.usage)
	m.last = when
	r.accesses++

	// Field by field, not a Result literal: see do.
	res.Status, res.Changed, res.Err, res.machine = 200, true, nil, mg
	if !withPerson {
		// netdata's cookie-check access: its answer is the host's redirect.
		res.Person = GUID{}
		if req.Flags&FlagQuiet != 0 {
			return body
		}
		return append(r.appendHeader(body, action, "ok"), '}')
	}
	res.Person = p.guid
	if req.Flags&FlagQuiet != 0 {
		return body
	}
	body = r.appendHeader(body, action, "ok")
	body = append(body, `,"person_guid":`...)
	body = appendGUIDString(body, p.guid)
	body = r.appendPersonURLs(body, p)
	return append(body, '}')
}

// moveToNewest moves entry i of p's block to the newest end, keeping the others' order:
// netdata re-allocates a person-URL whose name changed, which puts it first in its list.
func (r *Registry) moveToNewest(p *person, i int) {
	blk := r.personBlock(p)
	last := len(blk) - 1
	if i == last {
		return
	}
	e := blk[i]
	copy(blk[i:], blk[i+1:])
	blk[last] = e
}

// findPersonURLID is findPersonURL for an id that may be 0 (URL not interned yet).
func (r *Registry) findPersonURLID(p *person, uid uint32) int {
	if uid == 0 {
		return -1
	}
	return r.findPersonURL(p, uid)
}

// findMachineURLID is findMachineURL for an id that may be 0 (URL not interned yet).
func (r *Registry) findMachineURLID(m *machine, uid uint32) int {
	if uid == 0 {
		return -1
	}
	return r.findMachineURL(m, uid)
}

// freshPersonGUID makes a new person GUID that no person has.
func (r *Registry) freshPersonGUID(when uint32) (GUID, error) {
	g := &r.newGUID
	for {
		if err := newTimeGUID(g, when, r.cfg.Rand); err != nil {
			return *g, err
		}
		if _, taken := r.findPerson(g); !taken {
			return *g, nil
		}
	}
}

// appendPersonURLs appends `,"urls":[...]` with the person's URLs, newest link first as
// netdata lists them, hidden ones left out.
func (r *Registry) appendPersonURLs(body []byte, p *person) []byte {
	body = append(body, `,"urls":[`...)
	first := true
	blk := r.personBlock(p)
	for i := len(blk) - 1; i >= 0; i-- {
		pu := blk[i]
		u := r.urls.bytes(pu.url)
		if string(u) == hiddenURL {
			continue
		}
		if !first {
			body = append(body, ',')
		}
		first = false
		body = appendURLEntry(body, r.machines[pu.machine].guid, u, pu.last, pu.usage, r.names.bytes(pu.name), r.urlExpired(pu))
	}
	return append(body, ']')
}

// urlExpired reports whether the machine a person-URL points to has since lost that URL to
// another machine (netdata's EXPIRED flag on the machine's URL).
func (r *Registry) urlExpired(pu personURL) bool {
	m := &r.machines[pu.machine]
	if i := r.findMachineURL(m, pu.url); i >= 0 {
		return r.machineBlock(m)[i].usage&flagExpired != 0
	}
	return false
}
