package registry

import (
	"errors"
	"io/fs"
	"strings"
)

// Store is a Registry kept crash-safe in a Storage: rotated snapshots (registry.db.1|2|3,
// Rabbit's scheme with checksums deciding), a change log (registry.log) and the settings in a
// rotated INI config registry (registry.conf.1|2|3).
//
// A call is acknowledged when Handle returns without error: by then its changes are in the
// log (synced, with the default "log sync = always"). Recovery after a crash at any point
// yields exactly the acknowledged state: the newest valid snapshot plus the log records after
// its sequence number; a torn last record (an unacknowledged call) is dropped.
type Store struct {
	st       Storage
	reg      *Registry
	settings Settings
	snaps    *Rotation
	conf     *Rotation
	snap     Choice // the snapshot file the registry was loaded from or last saved to

	seq      uint64 // last change record applied (one per call that changed something)
	savedSeq uint64 // change record held by the current snapshot
	// unsaved counts the changes (logged requests, netdata's log entries) since the snapshot:
	// "registry save db every new entries" compares against it, not against records, whose
	// size depends on how hosts batch.
	unsaved   uint64
	saveErr   string // why the last save failed; "" once one succeeds
	syncEvery int
	unsynced  int
	lastSave  uint32
	pending   []byte // this call's log batch
	record    []byte
	rand      Config // Rand and Now overrides for the registry
}

// StoreInfo describes the store's files, for stats and the dashboard.
type StoreInfo struct {
	Snapshot   string // current snapshot file name, "" when none yet
	Seq        uint64 // last change applied
	SavedSeq   uint64 // last change in the snapshot
	LastSave   uint32 // unix seconds of the last save by this store
	LogRecords uint64 // changes since the snapshot
	SaveError  string // why the last save failed, if it did and none has succeeded since
}

// OpenStore opens (creating if needed) the registry kept in st and loads it. overrides, when
// not nil, replaces the Rand and Now of the config (tests and deterministic hosts).
func OpenStore(st Storage, overrides *Config) (*Store, error) {
	s := &Store{st: st}
	if overrides != nil {
		s.rand = Config{Rand: overrides.Rand, Now: overrides.Now}
	}
	var err error
	if s.snaps, err = NewRotation(st, snapshotBase, VerifySnapshot); err != nil {
		return nil, err
	}
	if s.conf, err = NewRotation(st, configBase, VerifyINI); err != nil {
		return nil, err
	}
	if err := s.loadSettings(); err != nil {
		return nil, err
	}
	if err := s.Load(); err != nil {
		return nil, err
	}
	return s, nil
}

// loadSettings reads the config registry, writing netdata's defaults (and a new machine GUID
// for this registry) on first use.
func (s *Store) loadSettings() error {
	set := DefaultSettings()
	data, choice, err := s.conf.Read()
	if errors.Is(err, ErrCorrupt) && s.fresh() {
		// Only a torn first config write can leave an unverifiable config beside no data at
		// all: nothing was ever acknowledged, so start from the defaults.
		if _, derr := s.conf.Discard(choice); derr != nil {
			return derr
		}
		data, err = nil, nil
	}
	if err != nil {
		return err
	}
	if data != nil {
		f, err := ParseINI(data)
		if err != nil {
			return err
		}
		if err := f.Read(configSection, set.entries()); err != nil {
			return err
		}
	}
	if _, ok := ParseGUID(set.MachineGUID); !ok || data == nil {
		if !ok {
			cfg := Config{Rand: s.rand.Rand, Now: s.rand.Now}.withDefaults()
			var g GUID
			if err := newTimeGUID(&g, cfg.Now(), cfg.Rand); err != nil {
				return err
			}
			set.MachineGUID = g.String()
		}
		if err := s.writeSettings(&set); err != nil {
			return err
		}
	}
	return s.apply(set)
}

// fresh reports whether the storage holds no registry data (no snapshot, no log).
func (s *Store) fresh() bool {
	names, err := s.st.List()
	if err != nil {
		return false
	}
	for _, n := range names {
		if n == logName || strings.HasPrefix(n, snapshotBase+".") {
			return false
		}
	}
	return true
}

func (s *Store) apply(set Settings) error {
	every, err := set.logSyncEvery()
	if err != nil {
		return err
	}
	if set.SaveEvery < 0 || set.ExpireIdleDays < 0 {
		return &settingError{"negative save or expire setting"}
	}
	set.Config.Rand, set.Config.Now = s.rand.Rand, s.rand.Now
	set.Config = set.Config.withDefaults()
	s.settings, s.syncEvery = set, every
	if s.reg != nil {
		s.reg.cfg = set.Config
	}
	return nil
}

func (s *Store) writeSettings(set *Settings) error {
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
		return f.Bytes(), nil
	})
	return err
}

// UpdateSettings changes settings with fn and stores them crash-safely (Rabbit's
// registry_update). Invalid settings are refused and nothing changes.
func (s *Store) UpdateSettings(fn func(*Settings)) error {
	set := s.settings
	fn(&set)
	probe := Store{rand: s.rand}
	if err := probe.apply(set); err != nil {
		return err
	}
	if err := s.writeSettings(&set); err != nil {
		return err
	}
	return s.apply(set)
}

// Settings returns the current settings.
func (s *Store) Settings() Settings { return s.settings }

// Registry returns the in-memory registry. Changing it directly bypasses the log.
func (s *Store) Registry() *Registry { return s.reg }

// Info describes the store's files.
func (s *Store) Info() StoreInfo {
	return StoreInfo{Snapshot: s.snap.Name(), Seq: s.seq, SavedSeq: s.savedSeq,
		LastSave: s.lastSave, LogRecords: s.seq - s.savedSeq, SaveError: s.saveErr}
}

// Load replaces the registry with what the files hold: the newest valid snapshot and the log
// records after it. A torn last log record is cut off the file. On error the store keeps
// nothing half-loaded: the registry is empty and the error says which file and where.
func (s *Store) Load() error {
	reg := New(s.settings.Config)
	logData, err := s.st.ReadFile(logName)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	recs, valid, err := scanLog(logData)
	if err != nil {
		return &FileError{Name: logName, Err: err}
	}
	data, choice, err := s.snaps.Read()
	if errors.Is(err, ErrCorrupt) && len(recs) > 0 && recs[0].seq == 1 && len(recs[0].batch) > 0 {
		// No snapshot verifies, but the log holds every change from the first (a change
		// record, not the checkpoint a save leaves behind): the files are a torn first
		// save, redundant. Drop them so the next save can rotate.
		for _, ext := range choice.Found {
			if rerr := s.st.Remove(s.snaps.Name(ext)); rerr != nil {
				return rerr
			}
		}
		data, choice, err = nil, Choice{Base: snapshotBase}, nil
	}
	if err != nil {
		return err
	}
	var seq uint64
	if data != nil {
		if seq, err = reg.loadSnapshot(data, false); err != nil { // Read verified it
			return &FileError{Name: choice.Name(), Err: err}
		}
	}
	saved := seq
	var unsaved uint64
	if seq, unsaved, err = reg.replay(recs, seq); err != nil {
		return &FileError{Name: logName, Err: err}
	}
	if valid < len(logData) {
		// Drop the torn tail so new records follow valid ones.
		if err := s.st.WriteFile(logName, logData[:valid]); err != nil {
			return err
		}
		if err := s.st.Sync(logName); err != nil {
			return err
		}
	}
	s.reg, s.snap, s.seq, s.savedSeq, s.unsaved, s.unsynced = reg, choice, seq, saved, unsaved, 0
	reg.describe, reg.fileOp = s.describe, s.fileOp
	return nil
}

// Handle runs a request batch (see Registry.Handle) and logs its changes as one record. If
// the log cannot be written the call fails and the registry is reloaded from the files, so
// memory never holds an unacknowledged change.
func (s *Store) Handle(batch, out []byte) ([]byte, error) {
	s.pending = s.pending[:0]
	changes := uint64(0)
	out, err := s.reg.Handle(batch, out, func(req *Request, res *Result) error {
		s.pending = appendLogRequest(s.pending, req, res)
		changes++
		return nil
	})
	if err != nil || len(s.pending) == 0 {
		return out, err
	}
	if err := s.appendLog(s.pending); err != nil {
		return out, s.fail(err)
	}
	s.unsaved += changes
	if s.settings.SaveEvery > 0 && s.unsaved >= uint64(s.settings.SaveEvery) {
		// The call is acknowledged: its changes are in the log. A failed save (a full disk)
		// leaves the files as they were; it is reported in the storage info and tried again
		// after as many changes more, not on every call.
		if _, err := s.Save(); err != nil {
			s.unsaved = 0
		}
	}
	return out, nil
}

// fail reloads after a storage failure and returns err (joined with a reload failure).
func (s *Store) fail(err error) error {
	if lerr := s.Load(); lerr != nil {
		return errors.Join(err, lerr)
	}
	return err
}

func (s *Store) appendLog(batch []byte) error {
	s.record = appendLogRecord(s.record[:0], s.seq+1, batch)
	if err := s.st.AppendFile(logName, s.record); err != nil {
		return err
	}
	s.seq++
	s.unsynced++
	if s.syncEvery > 0 && s.unsynced >= s.syncEvery {
		if err := s.st.Sync(logName); err != nil {
			return err
		}
		s.unsynced = 0
	}
	return nil
}

// SaveInfo describes a committed snapshot.
type SaveInfo struct {
	File  string
	Seq   uint64
	Bytes int
}

// Save purges expired persons (a logged change), writes a snapshot to the next rotation file,
// and once it is committed empties the log. A failed save leaves the previous snapshot and the
// log as they were, and is reported in Info until a save succeeds.
func (s *Store) Save() (SaveInfo, error) {
	info, err := s.save()
	s.saveErr = ""
	if err != nil {
		s.saveErr = err.Error()
	}
	return info, err
}

func (s *Store) save() (SaveInfo, error) {
	now := s.settings.Now()
	if n := s.reg.Expire(now); n > 0 {
		s.pending = appendLogRequest(s.pending[:0], &Request{Op: OpExpire, When: now}, &Result{})
		if err := s.appendLog(s.pending); err != nil {
			return SaveInfo{}, s.fail(err)
		}
	}
	var size int
	choice, err := s.snaps.WriteFunc(s.snap, func(put func([]byte) error) error {
		var err error
		size, err = s.reg.WriteSnapshot(s.seq, put)
		return err
	})
	if err != nil {
		// The files may have changed under a failed commit: learn which one Read now picks.
		if _, c, rerr := s.snaps.Read(); rerr == nil {
			s.snap = c
		}
		return SaveInfo{}, err
	}
	s.snap, s.savedSeq, s.unsaved, s.lastSave = choice, s.seq, 0, now
	// The snapshot holds every logged change now. Compacting the log to one checkpoint
	// record (seq, no changes) is housekeeping: if it fails, or a crash comes first, replay
	// skips the records the snapshot holds. The checkpoint tells a later Load that changes
	// before it live only in snapshots (so a lost snapshot is an error, not a fresh start).
	if s.st.WriteFile(logName, appendLogRecord(s.record[:0], s.seq, nil)) == nil && s.st.Sync(logName) == nil {
		s.unsynced = 0
	}
	return SaveInfo{File: choice.Name(), Seq: s.seq, Bytes: size}, nil
}

// describe answers the store's part of stats and config requests.
func (s *Store) describe(op Op, b []byte) []byte {
	if op == OpConfig {
		return s.settings.appendJSON(b)
	}
	b = append(b, `,"storage":`...)
	return s.Info().appendJSON(b)
}

// AppendJSON writes the save's outcome as the JSON object the module's save export answers.
func (i SaveInfo) AppendJSON(b []byte) []byte {
	b = append(b, `{"file":`...)
	b = appendJSONString(b, i.File)
	b = appendUintField(b, "seq", i.Seq)
	b = appendUintField(b, "bytes", uint64(i.Bytes))
	return append(b, '}')
}

// AppendStatsJSON writes the registry's counters and the store's file information.
func (s *Store) AppendStatsJSON(b []byte) []byte {
	b = s.reg.Stats().AppendJSON(b)
	return append(s.describe(OpStats, b[:len(b)-1]), '}')
}

// appendStoreInfo writes StoreInfo as a JSON object.
func (i StoreInfo) appendJSON(b []byte) []byte {
	b = append(b, `{"snapshot":`...)
	b = appendJSONString(b, i.Snapshot)
	b = appendUintField(b, "seq", i.Seq)
	b = appendUintField(b, "saved_seq", i.SavedSeq)
	b = appendUintField(b, "last_save", uint64(i.LastSave))
	b = appendUintField(b, "log_records", i.LogRecords)
	if i.SaveError != "" { // omitted when healthy, so the usual answer stays as it was
		b = append(b, `,"save_error":`...)
		b = appendJSONString(b, i.SaveError)
	}
	return append(b, '}')
}
