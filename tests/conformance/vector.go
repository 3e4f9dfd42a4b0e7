// Package conformance is the cross-host conformance suite: vectors (JSON data files in
// vectors/) of actions and file operations with the responses and snapshot bytes every host
// must produce, a native runner that generates the expected values (gen/, `go run
// ./tests/conformance/gen -update`), and the Go runners (native over memory and a
// directory, and the wazero host) in its tests. tests/web/conformance.test.mjs runs the same
// files on the JS hosts. FORMAT.md describes the files.
package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Vector is one vector file: a registry opened fresh with Seed and Now, then Steps in order.
type Vector struct {
	Name  string `json:"name"`
	About string `json:"about"`
	Seed  uint64 `json:"seed"` // the random stream of the k-th open is OpenSeed(Seed, k)
	Now   uint32 `json:"now"`  // the realtime clock (unix seconds) until a step sets another
	Steps []Step `json:"steps"`

	path string // the file it was read from; paths in steps are relative to its directory
}

// Step is one step: an action (Do is its name: hello, access, ...), a batch of actions, or a
// storage operation (save, load, reopen, fresh, put, get). Only the fields of its kind are
// set; the expect*, answer, snapshot and contents fields are what the generator records.
type Step struct {
	Do   string `json:"do,omitempty"`
	Note string `json:"note,omitempty"` // why the step is there, for reviewers

	// An action's request record (wasm/ABI.md). Fields an op does not carry are not sent.
	When      *uint64 `json:"when,omitempty"`  // required for access, delete, search, switch, expire
	Quiet     bool    `json:"quiet,omitempty"` // flags bit 0
	Flags     *int    `json:"flags,omitempty"` // the raw flags byte, instead of quiet
	Person    *Text   `json:"person,omitempty"`
	Machine   *Text   `json:"machine,omitempty"`
	URL       *Text   `json:"url,omitempty"`
	Name      *Text   `json:"name,omitempty"`       // access
	DeleteURL *Text   `json:"delete_url,omitempty"` // delete
	For       *Text   `json:"for,omitempty"`        // search
	To        *Text   `json:"to,omitempty"`         // switch
	DB        *Text   `json:"db,omitempty"`         // import: netdata registry.db file name
	Log       *Text   `json:"log,omitempty"`        // import: netdata registry-log.db file name
	Conf      *Text   `json:"conf,omitempty"`       // configure: netdata.conf text
	File      string  `json:"file,omitempty"`       // export's file; put's and get's file
	Bind      string  `json:"bind,omitempty"`       // later fields "$bind" are this response's person

	Actions []Step `json:"actions,omitempty"` // batch: its records, in order
	RawHex  string `json:"raw_hex,omitempty"` // a batch element of raw bytes (malformed records)

	At   *uint32 `json:"now,omitempty"`  // reopen, fresh: the clock from now on
	From string  `json:"from,omitempty"` // put: the file's contents (a .hex file is a hex dump)

	Expect      *Response  `json:"expect,omitempty"`       // an action's response
	ExpectAll   []Response `json:"expect_all,omitempty"`   // a batch's responses
	ExpectError *Failure   `json:"expect_error,omitempty"` // the call failed (a malformed batch)
	Answer      string     `json:"answer,omitempty"`       // save, load, reopen, fresh: the JSON answer
	Snapshot    string     `json:"snapshot,omitempty"`     // save: the expected snapshot (hex dump)
	Contents    string     `json:"contents,omitempty"`     // get: the expected contents
	Absent      bool       `json:"absent,omitempty"`       // get: the file must not exist
}

// Response is one record of a response batch. Body is the JSON text; BodyHex replaces it when
// the body is not valid UTF-8 (JSON files cannot hold such bytes).
type Response struct {
	Status  int    `json:"status"`
	Person  string `json:"person,omitempty"`
	Body    string `json:"body,omitempty"`
	BodyHex string `json:"body_hex,omitempty"`
}

// Failure is a call the module failed as a whole: its error code (the JS hosts' names:
// malformed, storage, corrupt, internal) and its message.
type Failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (f *Failure) Error() string { return f.Code + ": " + f.Message }

// The step kinds that are not actions.
const (
	DoBatch  = "batch"
	DoSave   = "save"
	DoLoad   = "load"
	DoReopen = "reopen"
	DoFresh  = "fresh"
	DoPut    = "put"
	DoGet    = "get"
)

// Load reads a vector file.
func Load(path string) (*Vector, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a misspelt field would silently test nothing
	v := &Vector{path: path}
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := v.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// LoadDir reads every *.json vector of dir, in name order.
func LoadDir(dir string) ([]*Vector, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []*Vector
	for _, p := range paths {
		v, err := Load(p)
		if err != nil {
			return nil, err
		}
		if err := checkName(v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no vectors in %s", dir)
	}
	return out, nil
}

// NewVector returns an empty vector to be written at path (the random generator's).
func NewVector(path, name, about string, seed uint64, now uint32) *Vector {
	return &Vector{Name: name, About: about, Seed: seed, Now: now, path: path}
}

// Path returns the vector's file.
func (v *Vector) Path() string { return v.path }

// Rel resolves a path written in the vector (relative to its directory).
func (v *Vector) Rel(p string) string {
	return filepath.Join(filepath.Dir(v.path), filepath.FromSlash(p))
}

// Write writes the vector back to its file: two-space indented JSON, HTML characters left
// alone, so that the committed files read and diff well.
func (v *Vector) Write() error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return os.WriteFile(v.path, buf.Bytes(), 0o644)
}

func (v *Vector) validate() error {
	if v.Name == "" || strings.ContainsAny(v.Name, "/\\ ") {
		return fmt.Errorf("vector name %q: want a plain word", v.Name)
	}
	if v.Now == 0 {
		return errors.New("the vector's now is missing")
	}
	if v.Seed >= 1<<53 {
		return errors.New("the seed must be below 2^53: the JS runners read it as a JSON number")
	}
	for i := range v.Steps {
		if err := v.Steps[i].validate(false); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, v.Steps[i].Do, err)
		}
	}
	return nil
}

func (s *Step) validate(inBatch bool) error {
	if s.RawHex != "" {
		if !inBatch || s.Do != "" {
			return errors.New("raw_hex is a batch element of its own")
		}
		_, err := parseHex(s.RawHex)
		return err
	}
	if _, ok := ops[s.Do]; ok {
		if needsWhen[s.Do] && s.When == nil {
			return errors.New("an explicit when is required (0 for the clock)")
		}
		return nil
	}
	if inBatch {
		return fmt.Errorf("%q is not an action", s.Do)
	}
	switch s.Do {
	case DoBatch:
		if len(s.Actions) == 0 {
			return errors.New("a batch needs actions")
		}
		for i := range s.Actions {
			if err := s.Actions[i].validate(true); err != nil {
				return fmt.Errorf("action %d: %w", i+1, err)
			}
		}
	case DoPut:
		if s.File == "" || s.From == "" {
			return errors.New("put needs file and from")
		}
	case DoGet:
		if s.File == "" {
			return errors.New("get needs file")
		}
	case DoSave, DoLoad, DoReopen, DoFresh:
	default:
		return fmt.Errorf("unknown step %q", s.Do)
	}
	return nil
}
