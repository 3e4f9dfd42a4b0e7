package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Host is a registry under test: the native store or a host of the module.
type Host interface {
	// Open opens the registry with a deterministic clock and random stream: over the same
	// files as before, or over new, empty storage when fresh. It closes the open one first.
	// The answer is the module's load answer (its stats), or nil when the host does not
	// expose it.
	Open(seed uint64, now uint32, fresh bool) (Answer, error)
	// Request runs a request batch. A call the module fails as a whole returns a *Failure.
	Request(batch []byte) ([]byte, error)
	Save() (Answer, error)
	Load() (Answer, error)
	// Put writes a file into the registry's storage; Get reads one (fs.ErrNotExist if missing).
	Put(name string, data []byte) error
	Get(name string) ([]byte, error)
	Close() error
}

// Answer is the JSON a save or load answered, as a host has it.
type Answer interface {
	// Check compares it with the expected JSON text.
	Check(expected string) error
}

// RawAnswer is an answer as the module's bytes, compared byte for byte.
type RawAnswer []byte

// Check implements Answer.
func (a RawAnswer) Check(expected string) error {
	if string(a) != expected {
		return fmt.Errorf("answered\n  %s\nwant\n  %s", a, expected)
	}
	return nil
}

// Runner runs a vector's steps on a host, checking what the host answers against the
// vector's expectations, or, when Update is set, recording them (the generator).
type Runner struct {
	V      *Vector
	H      Host
	Update bool

	vars  map[string]string
	opens int
	saves int
	gets  map[string]int // gets of each file so far, to name their contents files
	now   uint32
}

// Run opens the registry fresh and runs every step; the error names the first step whose
// outcome differs.
func Run(v *Vector, h Host, update bool) error {
	r := &Runner{V: v, H: h, Update: update}
	if err := r.Start(); err != nil {
		return err
	}
	defer h.Close()
	for i := range v.Steps {
		if err := r.Step(&v.Steps[i]); err != nil {
			return fmt.Errorf("%s, step %d (%s): %w", v.Name, i+1, v.Steps[i].Do, err)
		}
	}
	return h.Close()
}

// Start opens the vector's registry fresh.
func (r *Runner) Start() error {
	r.vars, r.gets = map[string]string{}, map[string]int{}
	r.now = r.V.Now
	_, err := r.open(true)
	return err
}

func (r *Runner) open(fresh bool) (Answer, error) {
	a, err := r.H.Open(OpenSeed(r.V.Seed, r.opens), r.now, fresh)
	r.opens++
	return a, err
}

// Step runs one step.
func (r *Runner) Step(s *Step) error {
	switch s.Do {
	case DoSave:
		a, err := r.H.Save()
		if err != nil {
			return err
		}
		if err := r.answer(s, a); err != nil {
			return err
		}
		return r.snapshot(s)
	case DoLoad:
		a, err := r.H.Load()
		if err != nil {
			return err
		}
		return r.answer(s, a)
	case DoReopen, DoFresh:
		if s.At != nil {
			r.now = *s.At
		}
		a, err := r.open(s.Do == DoFresh)
		if err != nil {
			return err
		}
		return r.answer(s, a)
	case DoPut:
		data, err := r.readData(s.From)
		if err != nil {
			return err
		}
		return r.H.Put(s.File, data)
	case DoGet:
		return r.get(s)
	}
	return r.request(s)
}

func (r *Runner) request(s *Step) error {
	batch, err := s.Encode(r.vars)
	if err != nil {
		return err
	}
	out, err := r.H.Request(batch)
	var fail *Failure
	if errors.As(err, &fail) {
		if r.Update {
			s.Expect, s.ExpectAll, s.ExpectError = nil, nil, fail
			return nil
		}
		if s.ExpectError == nil || *s.ExpectError != *fail {
			return fmt.Errorf("failed with %v, want %s", fail, r.want(s))
		}
		return nil
	}
	if err != nil {
		return err
	}
	got, err := DecodeResponses(out)
	if err != nil {
		return err
	}
	binds := []string{s.Bind}
	if s.Do == DoBatch {
		binds = binds[:0]
		for _, a := range s.Actions {
			if a.RawHex == "" {
				binds = append(binds, a.Bind)
			}
		}
	}
	if len(got) != len(binds) {
		return fmt.Errorf("%d responses to %d actions", len(got), len(binds))
	}
	for i, name := range binds {
		if name != "" {
			r.vars[name] = got[i].Person
		}
	}
	if r.Update {
		s.Expect, s.ExpectAll, s.ExpectError = nil, nil, nil
		if s.Do == DoBatch {
			s.ExpectAll = got
		} else {
			s.Expect = &got[0]
		}
		return nil
	}
	want := s.ExpectAll
	if s.Do != DoBatch && s.Expect != nil {
		want = []Response{*s.Expect}
	}
	if s.ExpectError != nil || len(want) != len(got) {
		return fmt.Errorf("answered %d responses, want %s", len(got), r.want(s))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("response %d:\n  got  %+v\n  want %+v", i+1, got[i], want[i])
		}
	}
	return nil
}

func (r *Runner) want(s *Step) string {
	switch {
	case s.ExpectError != nil:
		return "the error " + s.ExpectError.Error()
	case s.Expect != nil:
		return "1 response"
	}
	return fmt.Sprintf("%d responses", len(s.ExpectAll))
}

// answer records or checks a save or load answer (hosts that do not expose one skip it).
func (r *Runner) answer(s *Step, a Answer) error {
	if r.Update {
		raw, ok := a.(RawAnswer)
		if !ok {
			return errors.New("the generator needs a host with raw answers")
		}
		s.Answer = string(raw)
		return nil
	}
	if a == nil {
		return nil
	}
	return a.Check(s.Answer)
}

// snapshot records or checks the snapshot a save wrote (named by the expected answer).
func (r *Runner) snapshot(s *Step) error {
	r.saves++
	var info struct {
		File string `json:"file"`
	}
	if err := json.Unmarshal([]byte(s.Answer), &info); err != nil || info.File == "" {
		return fmt.Errorf("save answer %q names no file", s.Answer)
	}
	got, err := r.H.Get(info.File)
	if err != nil {
		return err
	}
	if r.Update {
		if s.Snapshot == "" {
			s.Snapshot = fmt.Sprintf("snapshots/%s.%d.hex", r.V.Name, r.saves)
		}
		what := fmt.Sprintf("%s written by save %d of vector %s", info.File, r.saves, r.V.Name)
		return r.writeData(s.Snapshot, HexDump(what, got))
	}
	return r.compareData(s.Snapshot, got)
}

func (r *Runner) get(s *Step) error {
	got, err := r.H.Get(s.File)
	absent := errors.Is(err, fs.ErrNotExist)
	if err != nil && !absent {
		return err
	}
	if r.Update {
		s.Absent = absent
		if absent {
			s.Contents = ""
			return nil
		}
		// Text stays text for review; anything else (a log, invalid UTF-8) is a hex dump.
		r.gets[s.File]++
		s.Contents = "files/" + r.V.Name + "." + s.File
		if k := r.gets[s.File]; k > 1 {
			s.Contents += fmt.Sprintf(".%d", k)
		}
		if !isPlainText(got) {
			s.Contents += ".hex"
			got = HexDump(s.File+" read by vector "+r.V.Name, got)
		}
		return r.writeData(s.Contents, got)
	}
	if absent || s.Absent {
		if absent != s.Absent {
			return fmt.Errorf("%s: absent %v, want absent %v", s.File, absent, s.Absent)
		}
		return nil
	}
	return r.compareData(s.Contents, got)
}

func (r *Runner) compareData(p string, got []byte) error {
	want, err := r.readData(p)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%d bytes differ from the %d of %s (first difference at %d)", len(got), len(want), p, firstDiff(got, want))
	}
	return nil
}

// readData reads a file of the vector: a .hex file is a hex dump.
func (r *Runner) readData(p string) ([]byte, error) {
	data, err := os.ReadFile(r.V.Rel(p))
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(p, ".hex") {
		return ParseHexDump(data)
	}
	return data, nil
}

func (r *Runner) writeData(p string, data []byte) error {
	if path.IsAbs(p) || strings.Contains(p, "..") {
		return fmt.Errorf("%s: want a path inside the vectors' directory", p)
	}
	full := r.V.Rel(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return os.WriteFile(full, data, 0o644)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
