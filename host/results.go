package host

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// URL is one entry of netdata's urls list, [machine_guid, url, last_t*1000, usages, name]:
// a URL through which a person reached a machine.
type URL struct {
	Machine    uuid.UUID // the machine's GUID
	URL        string    // the URL
	LastAccess time.Time // the last access through it (whole seconds)
	Usages     uint32    // accesses through it
	Name       string    // the machine's name as the dashboard showed it
}

// UnmarshalJSON decodes netdata's five-element array.
func (u *URL) UnmarshalJSON(b []byte) error {
	var ms int64
	var machine string
	if err := json.Unmarshal(b, &[]any{&machine, &u.URL, &ms, &u.Usages, &u.Name}); err != nil {
		return err
	}
	m, err := uuid.Parse(machine)
	if err != nil {
		return fmt.Errorf("machine GUID %q: %w", machine, err)
	}
	u.Machine, u.LastAccess = m, time.UnixMilli(ms)
	return nil
}

// AccessResult is what an access answers: the person GUID to keep in the cookie (a new one
// for a new person; Person.String() is the cookie's value) and, unless the request was
// quiet, every URL the person has used.
type AccessResult struct {
	Person uuid.UUID
	URLs   []URL
}

// Hello is the registry's greeting (netdata's hello action).
type Hello struct {
	Hostname    string    `json:"hostname"`
	MachineGUID uuid.UUID `json:"machine_guid"` // the registry's own GUID
	Registry    string    `json:"registry"`     // the registry to announce
}

// Stats are the registry's counters and the state of its files.
type Stats struct {
	Persons     uint64 `json:"persons"`
	Machines    uint64 `json:"machines"`
	URLs        uint64 `json:"urls"` // unique URLs
	Accesses    uint64 `json:"accesses"`
	PersonURLs  uint64 `json:"person_urls"`
	MachineURLs uint64 `json:"machine_urls"`
	Bytes       uint64 `json:"bytes"` // memory held by the tables
	// Budget is how much the tables may hold: the share of the module's memory limit
	// (WithMemoryLimit) that lets the registry load again under it, or the "memory budget"
	// setting when that is smaller. Past it, accesses that would add a person, a machine, a
	// URL or a link are refused (ErrMemoryBudget).
	Budget  uint64      `json:"budget"`
	Storage StorageInfo `json:"storage"`
	// ModuleMemory is the instance's linear memory in bytes: the tables, the Go heap's
	// headroom and garbage, and the module's buffers. WebAssembly memory grows and never
	// shrinks, so this is the peak the instance has needed.
	ModuleMemory uint64 `json:"module_memory"`
	// Traps counts the calls that trapped since Open; each cost a new instance that reloaded
	// the files.
	Traps uint64 `json:"traps"`
}

// StorageInfo describes the registry's files.
type StorageInfo struct {
	Mode       string    // "write", "read-only" (WithReadOnly) or "salvage"
	Snapshot   string    // the snapshot the registry was loaded from or last saved to
	Generation uint64    // its save generation (1: the empty snapshot a new registry has)
	Seq        uint64    // the last change applied
	SavedSeq   uint64    // the last change the snapshot holds
	LastSave   time.Time // when that snapshot was written; zero if never
	LogRecords uint64    // changes in the log since the snapshot
	LogBytes   int64     // bytes of the log since the snapshot
	// Unsaved counts the changes to the registry the snapshot does not hold (LogRecords less
	// the records that change nothing in it: settings, a background save's end); 0 when a
	// save would write the same state again.
	Unsaved uint64
	Saving  bool // a save is in progress in the background (WithBackgroundSaves)
	// SaveError says why the last save failed, if none has succeeded since: an automatic
	// save ("registry save db every new entries") does not fail the call that triggers it.
	SaveError string
	// WriteError says why changes are refused after a failed write (a full disk, say): reads
	// go on, and the registry resumes writing by itself once a save succeeds.
	WriteError string
	// Notes says what the load found and repaired: a torn log tail cut off, an unfinished
	// save, a damaged file the redundancy made up for.
	Notes []string
	// LostFrom..LostTo are the acknowledged changes a Recover could not give back (0, 0 when
	// none); Dropped counts unsynced changes a crash lost, as the log sync setting allows.
	LostFrom, LostTo uint64
	Dropped          int
}

// UnmarshalJSON decodes the module's "storage" object.
func (s *StorageInfo) UnmarshalJSON(b []byte) error {
	var v struct {
		Mode       string   `json:"mode"`
		Snapshot   string   `json:"snapshot"`
		Generation uint64   `json:"generation"`
		Seq        uint64   `json:"seq"`
		SavedSeq   uint64   `json:"saved_seq"`
		LastSave   int64    `json:"last_save"`
		LogRecords uint64   `json:"log_records"`
		LogBytes   int64    `json:"log_bytes"`
		Unsaved    uint64   `json:"unsaved"`
		Saving     bool     `json:"saving"`
		SaveError  string   `json:"save_error"`
		WriteError string   `json:"write_error"`
		Notes      []string `json:"notes"`
		LostFrom   uint64   `json:"lost_from"`
		LostTo     uint64   `json:"lost_to"`
		Dropped    int      `json:"dropped"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = StorageInfo{Mode: v.Mode, Snapshot: v.Snapshot, Generation: v.Generation, Seq: v.Seq, SavedSeq: v.SavedSeq,
		LogRecords: v.LogRecords, LogBytes: v.LogBytes, Unsaved: v.Unsaved, Saving: v.Saving, SaveError: v.SaveError, WriteError: v.WriteError, Notes: v.Notes,
		LostFrom: v.LostFrom, LostTo: v.LostTo, Dropped: v.Dropped}
	if v.LastSave > 0 {
		s.LastSave = time.Unix(v.LastSave, 0)
	}
	return nil
}

// SaveInfo describes a committed snapshot.
type SaveInfo struct {
	File  string `json:"file"`  // e.g. "registry.db.2"
	Seq   uint64 `json:"seq"`   // the last change it holds
	Bytes int    `json:"bytes"` // its length
}

// Settings are the registry's settings: netdata's [registry] keys, kept in registry.conf.N.
type Settings struct {
	Enabled            bool   `json:"enabled"`
	RegistryDBFile     string `json:"registry db file"`
	RegistryLogFile    string `json:"registry log file"`
	SaveEvery          int64  `json:"registry save db every new entries"`
	ExpireIdleDays     int64  `json:"registry expire idle persons"`
	Domain             string `json:"registry domain"`
	RegistryToAnnounce string `json:"registry to announce"`
	Hostname           string `json:"registry hostname"`
	VerifyCookies      bool   `json:"verify browser cookies support"`
	SameSiteSecure     bool   `json:"enable cookies SameSite and Secure"`
	MaxURLLength       int64  `json:"max URL length"`
	MaxNameLength      int64  `json:"max URL name length"`
	AllowFrom          string `json:"allow from"`
	RespectDNT         bool   `json:"respect do not track policy"`
	MachineGUID        string `json:"machine guid"`
	LogSync            string `json:"log sync"` // "always", "every N" or "save"
	// MemoryBudget is "memory budget" in bytes; 0 is auto (the share of the memory limit
	// that lets the registry load again, Stats.Budget). A larger value is capped to that.
	MemoryBudget int64 `json:"memory budget"`
	// Ignored lists, in a Configure's answer only, the [registry] lines of the netdata.conf
	// text that were accepted but not applied.
	Ignored []IgnoredLine `json:"ignored,omitempty"`
}

// IgnoredLine is a line of netdata.conf's [registry] section that Configure did not apply:
// a key netdata reads that regwasm does not use, an unknown key, or a line that is not
// key = value.
type IgnoredLine struct {
	Line int    `json:"line"`
	Key  string `json:"key"` // "" for a line that is not key = value
	Why  string `json:"why"`
}

// CheckReport is the verification of every file (op check), what `regwasm check` prints.
type CheckReport struct {
	// Healthy: every file verifies and the set is whole. What a crash leaves and an open
	// clears (a torn log tail, an unfinished save) is in Notes and leaves it healthy.
	Healthy bool `json:"healthy"`
	// Loss says which acknowledged changes the files prove but cannot give back: an open
	// refuses, Recover salvages the rest. "" when nothing is lost.
	Loss     string      `json:"loss"`
	Open     string      `json:"open"` // what an open loads, in words
	Problems []string    `json:"problems"`
	Notes    []string    `json:"notes"`
	Files    []CheckFile `json:"files"`
	Snapshot FileCheck   `json:"snapshot"`
	Config   FileCheck   `json:"config"`
	Log      LogCheck    `json:"log"`
}

// CheckFile is one of the registry's files and what check found in it.
type CheckFile struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	Status string `json:"status"` // "ok", "unused (the previous generation ...)", or the problem
}

// FileCheck is the verdict on a kind of file: the file chosen and why.
type FileCheck struct {
	Chosen  string `json:"chosen"`
	Explain string `json:"explain"`
	Error   string `json:"error"`
}

// LogCheck is the change log's verdict.
type LogCheck struct {
	Records  int    `json:"records"`   // records an open replays
	Bytes    int    `json:"bytes"`     // bytes of all log segments
	TornTail int    `json:"torn_tail"` // bytes a load would cut off
	Error    string `json:"error"`
}

// ImportReport is what Import did: netdata's lines applied and skipped.
type ImportReport struct {
	Persons     uint64        `json:"persons"`      // P lines applied
	Machines    uint64        `json:"machines"`     // M lines applied
	PersonURLs  uint64        `json:"person_urls"`  // U lines applied
	MachineURLs uint64        `json:"machine_urls"` // V lines applied
	Accesses    uint64        `json:"accesses"`     // accesses added (for a log: A lines)
	Deletes     uint64        `json:"deletes"`      // D lines replayed
	Expired     uint64        `json:"expired"`      // persons the save after the import purged
	Lines       int           `json:"lines"`        // lines read
	Skipped     int           `json:"skipped"`      // lines skipped
	Errors      []ImportError `json:"errors"`       // the first skipped lines, in file order
}

// ImportError is a skipped line of an imported file.
type ImportError struct {
	File   string `json:"file"` // the path given to Import
	Line   int    `json:"line"` // 1-based
	Reason string `json:"reason"`
}

// ExportInfo describes an exported netdata registry.db.
type ExportInfo struct {
	File  string `json:"-"` // the path given to Export
	Bytes int    `json:"bytes"`
	Lines int    `json:"lines"`
}

// Err returns nil for status 200, else a *StatusError with netdata's reason.
func (r Response) Err() error {
	if r.Status == 200 {
		return nil
	}
	var v struct {
		Action string `json:"action"`
		Error  string `json:"error"`
	}
	if json.Unmarshal(r.Body, &v) != nil || v.Error == "" {
		v.Error = string(r.Body)
	}
	if v.Action == "" {
		v.Action = "action"
	}
	return &StatusError{Action: v.Action, Status: r.Status, Message: v.Error}
}

// Access decodes an access answer (or Err's error).
func (r Response) Access() (AccessResult, error) {
	res := AccessResult{Person: parseGUID(r.Person)}
	if err := r.Err(); err != nil {
		return res, err
	}
	person, err := parseAnswerGUID(r.Person)
	if err != nil {
		return res, err
	}
	res.Person = person
	urls, err := r.URLs()
	res.URLs = urls
	return res, err
}

// parseGUID is the GUID s holds, uuid.Nil when it holds none.
func parseGUID(s string) uuid.UUID {
	g, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil
	}
	return g
}

// parseAnswerGUID parses a GUID the module answered: one that does not parse is the
// module's fault.
func parseAnswerGUID(s string) (uuid.UUID, error) {
	g, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, &moduleError{ErrInternal, fmt.Sprintf("answered person GUID %.60q: %v", s, err)}
	}
	return g, nil
}

// URLs decodes the urls list of an access or search answer; nil for a quiet one.
func (r Response) URLs() ([]URL, error) {
	if len(r.Body) == 0 {
		return nil, nil
	}
	var v struct {
		URLs []URL `json:"urls"`
	}
	err := decodeJSON(r.Body, &v)
	return v.URLs, err
}

func decodeJSON(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return &moduleError{ErrInternal, fmt.Sprintf("undecodable answer %.200q: %v", b, err)}
	}
	return nil
}

func decodeStats(b []byte) (Stats, error) {
	var s Stats
	return s, decodeJSON(b, &s)
}
