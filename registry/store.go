package registry

import (
	"errors"
	"strconv"
)

// Store is a Registry kept crash-safe in a Storage: snapshots (registry.db.1|2|3), a change
// log in segments (registry.log.1|2|3) and the settings in a rotated INI config registry
// (registry.conf.1|2|3).
//
// A call is acknowledged when Handle returns without error: by then its changes are in the
// log (synced, with the default "log sync = always"). Recovery after a crash at any point
// yields exactly the acknowledged state (or that plus the one call in flight): a snapshot plus
// the log records after it; a torn last record (an unacknowledged call) is cut off.
//
// # Notes
//
// Nothing acknowledged is ever rewritten: snapshots go to a free slot and are never
// overwritten, log segments are only appended to, and recovery only cuts a torn tail
// (Storage.Truncate) and removes files a newer generation made redundant. A save keeps the
// previous snapshot and the log since it until the next save, so one damaged file costs
// nothing (see loadPlan).
//
// A failed write stops writes (fail-stop): the registry is reloaded from the files up to the
// last acknowledged change, reads go on, changes are answered 503 with the storage's reason,
// and after a pause the store tries again by cutting what the failed write left and saving a
// new generation. Nothing unverified is ever loaded, and no space is needed to keep what was
// acknowledged.
type Store struct {
	st       Storage
	mode     OpenMode
	reg      *Registry
	settings Settings
	conf     *Rotation
	host     Config // what the host gives, not the settings: Rand, Now, MemoryLimit, Yield

	base  *snapFile  // the snapshot the current chain starts from; nil: none (change 0)
	chain []segState // segments holding the changes after base, in order; the last is appended to
	gen   uint64     // the newest save generation in the files

	seq      uint64 // last change applied (one per call that changed something)
	acked    uint64 // last change acknowledged: seq between calls
	savedSeq uint64 // change held by base
	durable  uint64 // last change known synced
	// unsaved counts the changes (logged requests, netdata's log entries) since the snapshot:
	// "registry save db every new entries" compares against it, not against records, whose
	// size depends on how hosts batch.
	unsaved   uint64
	saveErr   string // why the last save failed; "" once one succeeds
	syncEvery int
	unsynced  int
	lastSave  uint32 // unix seconds of base's save

	writeErr error  // fail-stop: why changes are refused; nil when writes work
	broken   error  // a reload failed: nothing is answered until one works
	reloadTo uint64 // how far the reload that failed was to go (the acknowledged change, or all)
	needCut  bool   // a torn tail was left (a load that could not write): cut it before appending
	retryAt  uint32 // when a stopped store tries writing again (unix seconds)
	backoff  uint32 // seconds to the next try after that one fails
	notes    []string
	// lost: acknowledged changes the files proved but could not give back (a salvage);
	// dropped: unsynced changes a crash lost, as "log sync" allows. Reported by Info.
	lostFrom, lostTo uint64
	dropped          int

	pending []byte // this call's log batch
	record  []byte

	job        *saveJob // a save begun by BeginSave, not yet committed or aborted
	deferSaves bool     // the host saves when SaveDue (see DeferSaves)
}

// segState is a log segment the store appends to or keeps.
type segState struct {
	ext   int
	base  uint64
	gen   uint64
	size  int64  // bytes of verified records (where the next one goes)
	first uint64 // first record's seq (base+1 when empty)
	last  uint64 // last record's seq (base when empty)
	// rotten: its header does not verify (its records do): a save never reuses it.
	rotten bool
}

func (g *segState) name() string { return segmentName(g.ext) }

// OpenMode says what opening a store may do to its files.
type OpenMode int

const (
	// OpenWrite loads, repairs what a crash left (cuts a torn log tail, finishes a new
	// registry's creation) and accepts changes. A loss is refused.
	OpenWrite OpenMode = iota
	// OpenReadOnly loads what verifies and never writes a byte: for check, stats and export
	// on a live directory another process is writing. Changes are refused (ErrReadOnly).
	OpenReadOnly
	// OpenSalvage loads the best chain that verifies even when acknowledged changes are lost
	// (Notes says what), then writes a fresh generation and a config: regwasm recover runs it
	// on a copy of a damaged directory.
	OpenSalvage
	// OpenCheck loads nothing and writes nothing: only the check action works. It opens any
	// directory, however damaged, for regwasm check.
	OpenCheck
)

func (m OpenMode) String() string {
	switch m {
	case OpenReadOnly:
		return "read-only"
	case OpenSalvage:
		return "salvage"
	case OpenCheck:
		return "check"
	}
	return "write"
}

// StoreInfo describes the store's files, for stats and the dashboard.
type StoreInfo struct {
	Mode       string // write, read-only or salvage
	Snapshot   string // the snapshot the registry was loaded from or last saved to; "" if none
	Generation uint64 // its save generation
	Seq        uint64 // last change applied
	SavedSeq   uint64 // last change in the snapshot
	LastSave   uint32 // unix seconds the snapshot was written
	LogRecords uint64 // changes since the snapshot
	LogBytes   int64  // bytes of log segments since the snapshot
	// Unsaved counts the changes to the registry since the snapshot (the log's records less
	// those that change nothing in it: settings, a save's end): what "registry save db every
	// new entries" counts, and 0 when a save would write the same state again.
	Unsaved    uint64
	Saving     bool   // a save is in progress (BeginSave)
	SaveError  string // why the last save failed, if it did and none has succeeded since
	WriteError string // why changes are refused (a failed write), "" when writes work
	Notes      []string
	// LostFrom..LostTo are the acknowledged changes a salvage could not give back (0, 0:
	// none); Dropped counts unsynced changes a crash lost, as the log sync setting allows.
	LostFrom, LostTo uint64
	Dropped          int
}

// OpenStore opens (creating if needed) the registry kept in st and loads it. overrides, when
// not nil, replaces the Rand and Now of the config (tests and deterministic hosts) and gives
// the host's MemoryLimit.
func OpenStore(st Storage, overrides *Config) (*Store, error) {
	return OpenStoreMode(st, overrides, OpenWrite)
}

// OpenStoreMode is OpenStore with a mode (see OpenMode).
func OpenStoreMode(st Storage, overrides *Config, mode OpenMode) (*Store, error) {
	s := &Store{st: st, mode: mode}
	if overrides != nil {
		s.host = Config{Rand: overrides.Rand, Now: overrides.Now, MemoryLimit: overrides.MemoryLimit, Yield: overrides.Yield}
	}
	var err error
	if s.conf, err = NewRotation(st, configBase, VerifyINI); err != nil {
		return nil, err
	}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

// Mode returns the mode the store was opened in.
func (s *Store) Mode() OpenMode { return s.mode }

// Notes returns what the last load found and repaired or, in salvage, what was lost.
func (s *Store) Notes() []string { return s.notes }

func (s *Store) apply(set Settings) error {
	every, err := set.logSyncEvery()
	if err != nil {
		return err
	}
	if set.SaveEvery < 0 || set.ExpireIdleDays < 0 {
		return &settingError{"negative save or expire setting"}
	}
	set.Config.Rand, set.Config.Now, set.Config.MemoryLimit, set.Config.Yield = s.host.Rand, s.host.Now, s.host.MemoryLimit, s.host.Yield
	set.Config = set.Config.withDefaults()
	s.settings, s.syncEvery = set, every
	if s.reg != nil {
		s.reg.cfg = set.Config
	}
	return nil
}

// UpdateSettings changes settings with fn and stores them crash-safely (Rabbit's
// registry_update), then logs the change, so that a lost config is detected even in a
// registry that holds nothing else. Invalid settings are refused and nothing changes; the
// registry's machine GUID (its identity, also in every snapshot) cannot change.
func (s *Store) UpdateSettings(fn func(*Settings)) error {
	if err := s.writable(); err != nil {
		return err
	}
	set := s.settings
	fn(&set)
	if set.MachineGUID != s.settings.MachineGUID {
		return &settingError{"machine guid is the registry's identity and cannot change"}
	}
	probe := Store{host: s.host}
	if err := probe.apply(set); err != nil {
		return err
	}
	text, err := s.writeSettings(&set)
	if err != nil {
		return err
	}
	if err := s.apply(set); err != nil {
		return err
	}
	acked := s.seq
	s.pending = appendLogRequest(s.pending[:0], &Request{Op: opNote, When: s.settings.Now(), Person: text}, &Result{})
	if err := s.appendLog(s.pending); err != nil {
		return s.fail(err, acked)
	}
	s.acked = s.seq
	return nil
}

// writeSettings stores set in the config rotation and returns the file's text.
func (s *Store) writeSettings(set *Settings) ([]byte, error) {
	var text []byte
	_, err := s.conf.Update(func(old []byte) ([]byte, error) {
		f, err := ImportINI(nil)
		if old != nil {
			f, err = ParseINI(old)
		}
		if err != nil {
			return nil, err
		}
		if err := f.Write(configSection, set.entries()); err != nil {
			return nil, err
		}
		text = f.Bytes()
		return text, nil
	})
	return text, err
}

// Settings returns the current settings.
func (s *Store) Settings() Settings { return s.settings }

// Registry returns the in-memory registry. Changing it directly bypasses the log. It is empty
// while a store whose reload failed after a storage error is unusable.
func (s *Store) Registry() *Registry { return s.reg }

// Info describes the store's files.
func (s *Store) Info() StoreInfo {
	i := StoreInfo{Mode: s.mode.String(), Seq: s.seq, SavedSeq: s.savedSeq, LastSave: s.lastSave,
		LogRecords: s.seq - s.savedSeq, Unsaved: s.unsaved, Saving: s.job != nil, SaveError: s.saveErr, Notes: s.notes,
		LostFrom: s.lostFrom, LostTo: s.lostTo, Dropped: s.dropped}
	if s.base != nil {
		i.Snapshot, i.Generation = s.base.name(), s.base.header.Gen
	}
	for _, g := range s.chain {
		i.LogBytes += g.size
	}
	if s.writeErr != nil {
		i.WriteError = s.writeErr.Error()
	}
	return i
}

// writable reports why the store refuses changes, nil when it accepts them.
func (s *Store) writable() error {
	if s.mode == OpenReadOnly || s.mode == OpenCheck {
		return ErrReadOnly
	}
	return s.writeErr
}

// openForCheck sets up a store that only checks: an empty registry with the config's
// settings when it verifies (for op config), nothing else read.
func (s *Store) openForCheck() error {
	set := DefaultSettings()
	if data, _, err := s.conf.Read(); err == nil && data != nil {
		if f, err := ParseINI(data); err == nil {
			next := set
			if f.Read(configSection, next.entries()) == nil {
				set = next
			}
		}
	}
	if err := s.useEmpty(set, nil); err != nil {
		return err
	}
	s.reg.onlyChecks = true
	return nil
}

// Handle runs a request batch (see Registry.Handle) and logs its changes as one record. If
// the log cannot be written the call fails with the storage's error and the store stops
// writes (see Store).
func (s *Store) Handle(batch, out []byte) ([]byte, error) {
	if err := s.ready(); err != nil {
		return out, err
	}
	s.retry()
	s.reg.refuse = s.writable()
	s.reg.mem.log = s.logLoad() // the memory budget's (budget_log.go)
	stopped := s.writeErr
	s.acked = s.seq
	s.pending = s.pending[:0]
	changes := uint64(0)
	out, err := s.reg.Handle(batch, out, func(req *Request, res *Result) error {
		s.pending = appendLogRequest(s.pending, req, res)
		changes++
		return nil
	})
	if s.writeErr != nil && stopped == nil {
		// An action's own write (configure, import) failed: the registry was reloaded as
		// acknowledged, so the batch's other changes are gone too.
		return out, s.writeErr
	}
	if err != nil || len(s.pending) == 0 {
		return out, err
	}
	if err := s.appendLog(s.pending); err != nil {
		return out, s.fail(err, s.acked)
	}
	s.acked = s.seq
	s.unsaved += changes
	if (s.settings.SaveEvery > 0 && s.unsaved >= uint64(s.settings.SaveEvery) || s.budgetWantsSave()) && !s.deferSaves && s.job == nil {
		// The call is acknowledged: its changes are in the log. A failed save (a full disk)
		// leaves the files as they were; it is reported in the storage info and tried again
		// after as many changes more, not on every call.
		if _, err := s.Save(); err != nil {
			s.unsaved = 0
		}
	}
	return out, nil
}

// appendLog appends batch as the next record of the current segment.
func (s *Store) appendLog(batch []byte) error {
	cur := &s.chain[len(s.chain)-1]
	if s.needCut {
		if err := s.cutTo(cur.name(), cur.size); err != nil {
			return err
		}
		s.needCut = false
	}
	lag := min(s.seq-s.durable, 1<<32-1)
	s.record = appendLogRecord(s.record[:0], s.seq+1, uint32(lag), batch)
	if err := s.st.AppendFile(cur.name(), s.record); err != nil {
		return err
	}
	s.seq++
	cur.size += int64(len(s.record))
	cur.last = s.seq
	s.unsynced++
	if s.syncEvery > 0 && s.unsynced >= s.syncEvery {
		if err := s.syncLog(); err != nil {
			return err
		}
	}
	return nil
}

// syncLog makes the current segment durable.
func (s *Store) syncLog() error {
	if err := s.st.Sync(s.chain[len(s.chain)-1].name()); err != nil {
		return err
	}
	s.durable, s.unsynced = s.seq, 0
	return nil
}

// fail stops writes after a failed storage operation and reloads the registry from the
// files as far as change acked, so that memory holds exactly what was acknowledged. It
// returns err (joined with a reload failure, after which the store is unusable until a
// reload works).
func (s *Store) fail(err error, acked uint64) error {
	s.writeErr = withDetail(ErrWritesStopped, trimErr(err), err)
	s.backoff = min(max(2*s.backoff, 1), 64)
	s.retryAt = s.settings.Now() + s.backoff
	if rerr := s.reload(acked); rerr != nil {
		// The call's error is the write's; the reload's is said, not wrapped (it is the
		// next call's to report).
		return errors.Join(err, errors.New("registry: and reloading after it failed: "+trimErr(rerr)))
	}
	return err
}

// retry tries writing again when a stopped store's pause is over.
func (s *Store) retry() {
	if s.writeErr != nil && s.mode != OpenReadOnly && s.settings.Now() >= s.retryAt && s.job == nil {
		_ = s.resume()
	}
}

// resume cuts what a failed write left after the acknowledged records and saves a new
// generation from memory (which holds exactly what was acknowledged): the files are then
// whole again, whatever a failed sync may have dropped. On failure writes stay stopped.
func (s *Store) resume() error {
	if s.job != nil {
		return ErrSaving // the files are the running save's until it ends
	}
	stopped := s.writeErr
	s.writeErr = nil
	cur := s.chain[len(s.chain)-1]
	err := s.cutTo(cur.name(), cur.size)
	if err == nil {
		_, err = s.save()
	}
	if err != nil {
		if s.writeErr == nil { // save's own failure, not a log write's (which stopped again)
			s.writeErr = withDetail(ErrWritesStopped, trimErr(err), err)
			s.backoff = min(max(2*s.backoff, 1), 64)
			s.retryAt = s.settings.Now() + s.backoff
		}
		return errors.Join(stopped, err)
	}
	s.backoff = 0
	return nil
}

// cutTo truncates name to size (and syncs) when it is longer.
func (s *Store) cutTo(name string, size int64) error {
	n, err := s.st.Size(name)
	if err != nil || n <= size {
		return err
	}
	if err := s.st.Truncate(name, size); err != nil {
		return err
	}
	return s.st.Sync(name)
}

// ready makes sure the registry holds the acknowledged state: after a reload failed it tries
// again.
func (s *Store) ready() error {
	if s.broken == nil {
		return nil
	}
	return s.loadAgain(s.reloadTo, false)
}

// describe answers the store's part of stats and config requests.
func (s *Store) describe(op Op, b []byte) []byte {
	if op == OpConfig {
		return s.settings.appendJSON(b)
	}
	b = append(b, `,"storage":`...)
	return s.Info().appendJSON(b)
}

// AppendStatsJSON writes the registry's counters and the store's file information.
func (s *Store) AppendStatsJSON(b []byte) []byte {
	b = s.reg.Stats().AppendJSON(b)
	return append(s.describe(OpStats, b[:len(b)-1]), '}')
}

// appendJSON writes StoreInfo as a JSON object.
func (i StoreInfo) appendJSON(b []byte) []byte {
	b = append(b, `{"mode":`...)
	b = appendJSONString(b, i.Mode)
	b = append(b, `,"snapshot":`...)
	b = appendJSONString(b, i.Snapshot)
	b = appendUintField(b, "generation", i.Generation)
	b = appendUintField(b, "seq", i.Seq)
	b = appendUintField(b, "saved_seq", i.SavedSeq)
	b = appendUintField(b, "last_save", uint64(i.LastSave))
	b = appendUintField(b, "log_records", i.LogRecords)
	b = appendUintField(b, "log_bytes", uint64(i.LogBytes))
	b = appendUintField(b, "unsaved", i.Unsaved)
	if i.Saving {
		b = append(b, `,"saving":true`...)
	}
	if i.SaveError != "" { // omitted when healthy, so the usual answer stays short
		b = append(b, `,"save_error":`...)
		b = appendJSONString(b, i.SaveError)
	}
	if i.WriteError != "" {
		b = append(b, `,"write_error":`...)
		b = appendJSONString(b, i.WriteError)
	}
	if i.LostTo > 0 {
		b = appendUintField(b, "lost_from", i.LostFrom)
		b = appendUintField(b, "lost_to", i.LostTo)
	}
	if i.Dropped > 0 {
		b = appendUintField(b, "dropped", uint64(i.Dropped))
	}
	if len(i.Notes) > 0 {
		b = append(b, `,"notes":[`...)
		for k, n := range i.Notes {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, n)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func uitoa(v uint64) string { return strconv.FormatUint(v, 10) }
