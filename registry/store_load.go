package registry

import (
	"errors"
	"strings"
)

// open reads the config and the files and loads the registry as the mode allows. A read-only
// open of a live directory retries when a save changed the files while they were read.
func (s *Store) open() error {
	if s.mode == OpenCheck {
		return s.openForCheck()
	}
	for attempt := 0; ; attempt++ {
		err := s.load(^uint64(0), s.mode != OpenReadOnly)
		if errors.Is(err, ErrStale) && attempt < 8 {
			continue
		}
		return err
	}
}

// Load replaces the registry with what the files hold: the newest snapshot that verifies and
// the log records after it. Writable stores also cut a torn log tail. On error the store keeps
// nothing half-loaded, answers nothing until a load works, and the error names the files.
func (s *Store) Load() error {
	if s.mode == OpenCheck {
		return nil
	}
	return s.loadAgain(^uint64(0), s.mode != OpenReadOnly)
}

// reload loads the files again, as far as change upTo and without writing anything: after a
// failed write, memory must hold exactly what was acknowledged.
func (s *Store) reload(upTo uint64) error {
	s.reloadTo = upTo
	return s.loadAgain(upTo, false)
}

// loadAgain replaces a loaded registry with what the files hold. The old contents go first,
// so that the load's peak is one registry, not two (linear memory never shrinks).
func (s *Store) loadAgain(upTo uint64, repair bool) error {
	s.reg.reset(s.settings.Config)
	if err := s.load(upTo, repair); err != nil {
		s.broken, s.reloadTo = err, upTo
		s.reg.reset(s.settings.Config)
		return err
	}
	s.broken = nil
	return nil
}

// load reads the files and loads the registry up to change upTo. repair allows the writes a
// crash calls for (cutting a torn tail, finishing a new registry) and, in salvage, writing a
// fresh generation.
func (s *Store) load(upTo uint64, repair bool) error {
	d, err := readFiles(s.st)
	if err != nil {
		return err
	}
	confData, confChoice, confErr := s.conf.Read()
	if confErr != nil && !errors.Is(confErr, ErrCorrupt) {
		return confErr
	}
	if !d.hasData() {
		return s.loadFresh(confData, confChoice, confErr, repair)
	}
	plan, data := planLoad(d, func(f *snapFile) ([]byte, error) { return readSnapshot(s.st, f) })
	if d.legacy || hasV1Snapshot(d) {
		if plan.start == nil && !segmentsHoldRecords(d) {
			return s.loadLegacy(d, confData, confErr, repair)
		}
		plan.notes = append(plan.notes, "files of the first format (registry.log, version 1 snapshots) are left over from its conversion; the next save removes them")
	}
	tornCreation := plan.evidence == 0 && !segmentsHoldRecords(d)
	set, settingsNote, err := s.settingsFor(confData, confChoice, confErr, plan, d, tornCreation)
	if err != nil {
		return err
	}
	if tornCreation && (confData == nil || settingsNote != "") {
		// A new registry's creation did not finish (its config is written last): nothing was
		// ever acknowledged. Start it again, keeping the identity its snapshot holds.
		if !repair {
			return s.useEmpty(set, []string{"a registry was being created here and its creation did not finish"})
		}
		return s.recreate(d, set)
	}
	var notes []string
	if settingsNote != "" {
		notes = append(notes, settingsNote)
	}
	if plan.lost() {
		if s.mode != OpenSalvage {
			return withDetail(ErrCorrupt, plan.lossMessage()+"; run regwasm recover to salvage what verifies")
		}
		notes = append(notes, "lost: "+plan.lossMessage())
	}
	if err := s.apply(set); err != nil {
		return err
	}
	return s.execute(plan, data, upTo, repair, append(notes, append(plan.notes, plan.problems...)...))
}

// execute loads plan into a fresh registry and makes it the store's state.
func (s *Store) execute(plan *loadPlan, data []byte, upTo uint64, repair bool, notes []string) error {
	reg := s.fresh()
	var start SnapshotHeader
	if plan.start != nil {
		h, err := reg.loadSnapshot(data, false) // verified as it was read
		if err != nil {
			return &FileError{Name: plan.start.name(), Err: err}
		}
		start = h
	}
	seq, unsaved := start.Seq, uint64(0)
	var chain []segState
	for _, part := range plan.parts {
		recs := part.recs
		for k := range recs {
			if recs[k].seq > upTo {
				recs = recs[:k]
				break
			}
		}
		if len(recs) == 0 {
			break
		}
		last, n, err := reg.replay(recs, seq)
		if err != nil {
			return &FileError{Name: part.seg.name(), Err: err}
		}
		seq, unsaved = last, unsaved+n
		chain = append(chain, stateOf(part.seg, recs[len(recs)-1].end))
	}
	if upTo != ^uint64(0) && seq < upTo {
		return withDetail(ErrCorrupt, "the files reach change "+uitoa(seq)+", not the acknowledged "+uitoa(upTo))
	}
	if cur := plan.current; cur != nil && (len(chain) == 0 || chain[len(chain)-1].ext != cur.ext) {
		g := stateOf(cur, cur.scan.valid)
		if !cur.scan.headerOK && len(cur.scan.recs) == 0 {
			g.base, g.first, g.last = seq, seq+1, seq
		}
		chain = append(chain, g)
	}
	if len(chain) == 0 && s.mode == OpenWrite {
		return withDetail(ErrCorrupt, "no log segment continues the registry at change "+uitoa(seq))
	}
	s.needCut = false
	if plan.cut && s.mode != OpenReadOnly {
		cur := chain[len(chain)-1]
		if !repair {
			s.needCut = true // a load that may not write: the first append cuts it
		} else if err := s.cutTo(cur.name(), cur.size); err != nil {
			return err
		}
	}
	s.base, s.chain, s.gen = plan.start, chain, maxGen(plan)
	s.seq, s.acked, s.savedSeq, s.durable, s.unsaved, s.unsynced = seq, seq, start.Seq, seq, unsaved, 0
	s.lastSave, s.notes = start.Saved, notes
	s.lostFrom, s.lostTo, s.dropped = 0, 0, plan.dropped
	if plan.lost() {
		s.lostFrom, s.lostTo = plan.end+1, max(plan.evidence, plan.end+1)
	}
	s.install(reg)
	if s.mode == OpenSalvage && repair {
		return s.salvage()
	}
	return nil
}

// stateOf describes a segment as the store keeps it, size bytes of it verified.
func stateOf(f *segFile, size int) segState {
	g := segState{ext: f.ext, base: f.scan.base, gen: f.scan.gen, size: int64(size), first: f.scan.first(), last: f.scan.base}
	for _, r := range f.scan.recs {
		if r.end <= size {
			g.last = r.seq
		}
	}
	if !f.scan.headerOK {
		// Its header rotted: the records say where it starts (or, empty, it starts where the
		// chain ends, set by the caller).
		g.base, g.last, g.first, g.rotten = 0, 0, 0, true
		if len(f.scan.recs) > 0 {
			g.base, g.first = f.scan.recs[0].seq-1, f.scan.recs[0].seq
			for _, r := range f.scan.recs {
				if r.end <= size {
					g.last = r.seq
				}
			}
		}
	}
	return g
}

func maxGen(p *loadPlan) uint64 {
	g := uint64(0)
	if p.start != nil {
		g = p.start.header.Gen
	}
	for _, part := range p.parts {
		g = max(g, part.seg.scan.gen)
	}
	if p.current != nil {
		g = max(g, p.current.scan.gen)
	}
	return g
}

// fresh returns an empty registry with the store's settings and hooks.
func (s *Store) fresh() *Registry {
	reg := New(s.settings.Config)
	reg.describe, reg.fileOp = s.describe, s.fileOp
	return reg
}

// install makes reg the store's registry. The store's Registry object stays the same one (an
// action running in a batch holds it), its contents replaced.
func (s *Store) install(reg *Registry) {
	reg.describe, reg.fileOp = s.describe, s.fileOp // a loaded snapshot replaced them
	if s.reg == nil {
		s.reg = reg
		return
	}
	*s.reg = *reg
}

// reset empties the registry (a failed reload keeps nothing it cannot vouch for).
func (r *Registry) reset(cfg Config) {
	d, f := r.describe, r.fileOp
	*r = *New(cfg)
	r.describe, r.fileOp = d, f
}

// settingsFor reads the settings from the config and checks it against the data: a missing or
// damaged config, or one of another registry, is refused (a salvage and an unfinished
// creation go on, with a note saying what was rebuilt).
func (s *Store) settingsFor(confData []byte, c Choice, confErr error, plan *loadPlan, d *dirFiles, tornCreation bool) (Settings, string, error) {
	set := DefaultSettings()
	id := dataIdentity(plan, d)
	if confData != nil {
		f, err := ParseINI(confData)
		if err == nil {
			err = f.Read(configSection, set.entries())
		}
		if err != nil {
			return set, "", &FileError{Name: c.Name(), Err: err}
		}
		g, ok := ParseGUID(set.MachineGUID)
		switch {
		case !ok:
			return set, "", &FileError{Name: c.Name(), Err: withDetail(ErrCorrupt, "machine guid "+set.MachineGUID+" is not a GUID")}
		case !id.IsZero() && g != id && s.mode != OpenSalvage:
			return set, "", withDetail(ErrCorrupt, c.Name()+" is the config of registry "+set.MachineGUID+
				" but the snapshots are registry "+id.String()+"'s")
		case !id.IsZero() && g != id:
			set.MachineGUID = id.String()
			return set, c.Name() + " belonged to another registry: its settings were kept, the machine guid set to the snapshots' " + id.String(), nil
		}
		return set, "", nil
	}
	what := "missing"
	if confErr != nil {
		what = "damaged (" + trimErr(confErr) + ")"
	}
	if !tornCreation && s.mode != OpenSalvage {
		return set, "", withDetail(ErrCorrupt, configBase+".1|2|3 is "+what+" but the directory holds the registry's data (up to change "+
			uitoa(plan.evidence)+"): restore the config, or run regwasm recover (it keeps the registry's identity)")
	}
	if id.IsZero() {
		g, err := s.newIdentity()
		if err != nil {
			return set, "", err
		}
		id = g
	}
	set.MachineGUID = id.String()
	return set, "the config was " + what + ": it was rebuilt with default settings and the machine guid " + set.MachineGUID + " the data holds", nil
}

// dataIdentity is the registry GUID the newest verified snapshot header holds (zero if none).
func dataIdentity(plan *loadPlan, d *dirFiles) GUID {
	if plan.start != nil && !plan.start.header.Registry.IsZero() {
		return plan.start.header.Registry
	}
	var best *snapFile
	for _, f := range d.snaps {
		if f.headerErr == nil && !f.header.Registry.IsZero() && (best == nil || f.header.Gen > best.header.Gen) {
			best = f
		}
	}
	if best == nil {
		return GUID{}
	}
	return best.header.Registry
}

func (s *Store) newIdentity() (GUID, error) {
	cfg := Config{Rand: s.host.Rand, Now: s.host.Now}.withDefaults()
	var g GUID
	err := newTimeGUID(&g, cfg.Now(), cfg.Rand)
	return g, err
}

func segmentsHoldRecords(d *dirFiles) bool {
	for _, sf := range d.segs {
		if len(sf.scan.recs) > 0 || sf.scan.damage != nil {
			return true
		}
	}
	return false
}

func hasV1Snapshot(d *dirFiles) bool {
	for _, f := range d.snaps {
		if f.headerErr == nil && f.header.Version == 1 {
			return true
		}
	}
	return false
}

// loadFresh handles storage without data files: a new registry (created unless read-only), or
// a config whose data is gone.
func (s *Store) loadFresh(confData []byte, c Choice, confErr error, repair bool) error {
	set := DefaultSettings()
	switch {
	case confData != nil && s.mode != OpenSalvage:
		return withDetail(ErrCorrupt, "the registry's data files (registry.db.N, registry.log.N) are missing but "+c.Name()+
			" says a registry was created here: restore them, or remove the config to start a new registry")
	case confData != nil:
		f, err := ParseINI(confData)
		if err == nil {
			err = f.Read(configSection, set.entries())
		}
		if err != nil {
			return &FileError{Name: c.Name(), Err: err}
		}
	case !repair:
		note := "no registry here yet"
		if confErr != nil {
			note = "no registry here: " + configBase + " is damaged and nothing else is here"
		}
		return s.useEmpty(set, []string{note})
	}
	if _, ok := ParseGUID(set.MachineGUID); !ok {
		g, err := s.newIdentity()
		if err != nil {
			return err
		}
		set.MachineGUID = g.String()
	}
	if confErr != nil {
		// Only a torn first config write leaves an unverifiable config beside no data at all:
		// nothing was ever acknowledged, so start from the defaults.
		if _, err := s.conf.Discard(c); err != nil {
			return err
		}
	}
	if err := s.apply(set); err != nil {
		return err
	}
	return s.create(set)
}

// useEmpty makes the store an empty registry with set, writing nothing (read-only).
func (s *Store) useEmpty(set Settings, notes []string) error {
	if err := s.apply(set); err != nil {
		return err
	}
	s.base, s.chain, s.gen = nil, nil, 0
	s.seq, s.acked, s.savedSeq, s.durable, s.unsaved, s.lastSave = 0, 0, 0, 0, 0, 0
	s.notes = notes
	s.install(s.fresh())
	return nil
}

// recreate removes what an unfinished creation left and creates the registry again.
func (s *Store) recreate(d *dirFiles, set Settings) error {
	names, err := s.st.List()
	if err != nil {
		return err
	}
	for _, n := range names {
		if isStoreFile(n) || strings.HasPrefix(n, configBase+".") {
			if err := s.st.Remove(n); err != nil {
				return err
			}
		}
	}
	if err := s.apply(set); err != nil {
		return err
	}
	return s.create(set)
}

// create writes a new registry: its first log segment, then its empty snapshot (generation
// 1, holding the registry's identity), then its config, the sign that creation finished.
func (s *Store) create(set Settings) error {
	id, ok := ParseGUID(set.MachineGUID)
	if !ok {
		return withDetail(ErrBadConfig, "machine guid "+set.MachineGUID+" is not a GUID")
	}
	seg := segState{ext: 1, base: 0, gen: 1, size: segHeaderLen, first: 1}
	if err := s.st.WriteFile(seg.name(), appendSegmentHeader(nil, 0, 1)); err != nil {
		return err
	}
	if err := s.st.Sync(seg.name()); err != nil {
		return err
	}
	reg := s.fresh()
	h := SnapshotHeader{Version: snapVersion, Gen: 1, Saved: s.settings.Now(), Registry: id}
	snap := &snapFile{ext: 1, header: h}
	data := reg.snapPlan(1).appendTo(nil, &h)
	if err := s.st.WriteFile(snap.name(), data); err != nil {
		return err
	}
	if err := s.st.Sync(snap.name()); err != nil {
		return err
	}
	snap.size = int64(len(data))
	if _, err := s.writeSettings(&set); err != nil {
		return err
	}
	s.base, s.chain, s.gen = snap, []segState{seg}, 1
	s.seq, s.acked, s.savedSeq, s.durable, s.unsaved, s.unsynced, s.lastSave = 0, 0, 0, 0, 0, 0, h.Saved
	s.notes = nil
	s.install(reg)
	return nil
}

// isStoreFile reports whether name is one of the store's data files (not the config).
func isStoreFile(name string) bool {
	if name == logBase {
		return true
	}
	_, snap := extOf(name, snapshotBase)
	_, seg := extOf(name, logBase)
	return snap || seg
}

// ownsFile reports whether name is one of the files the store keeps its state in.
func (s *Store) ownsFile(name string) bool {
	_, conf := extOf(name, configBase)
	return isStoreFile(name) || conf
}
