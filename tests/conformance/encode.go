package conformance

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Text is a request field as a vector writes it: a JSON string, where "$name" is the person
// a step bound with "bind"; or an array of parts concatenated literally: strings, [string,
// count] (the string repeated count times: long URLs stay short in the file) and {"hex":
// "..."} (bytes JSON cannot hold, such as invalid UTF-8).
type Text struct {
	raw json.RawMessage
}

// UnmarshalJSON keeps the field as written.
func (t *Text) UnmarshalJSON(b []byte) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	t.raw = buf.Bytes()
	_, err := t.Bytes(nil)
	var unbound *unboundError
	if errors.As(err, &unbound) {
		return nil // bound at run time
	}
	return err
}

// MarshalJSON writes the field back as written.
func (t Text) MarshalJSON() ([]byte, error) { return t.raw, nil }

// Str makes a Text of a plain string (the random generator's fields).
func Str(s string) *Text {
	if strings.HasPrefix(s, "$") {
		return Parts(s) // a literal dollar: a part is never a variable
	}
	raw, _ := json.Marshal(s)
	return &Text{raw: raw}
}

// Parts makes a Text of literal parts: strings, or []any{string, count}.
func Parts(parts ...any) *Text {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(parts)
	return &Text{raw: bytes.TrimSpace(buf.Bytes())}
}

type unboundError struct{ name string }

func (e *unboundError) Error() string { return "no person is bound to " + e.name }

// Bytes returns the field's bytes, with vars for "$name" strings.
func (t *Text) Bytes(vars map[string]string) ([]byte, error) {
	if t == nil {
		return nil, nil
	}
	var s string
	if json.Unmarshal(t.raw, &s) == nil {
		if strings.HasPrefix(s, "$") {
			v, ok := vars[s[1:]]
			if !ok {
				return nil, &unboundError{s}
			}
			return []byte(v), nil
		}
		return []byte(s), nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(t.raw, &parts); err != nil {
		return nil, fmt.Errorf("field %s: want a string or an array of parts", t.raw)
	}
	var out []byte
	for _, p := range parts {
		var lit string
		var rep []json.RawMessage
		var hx struct {
			Hex *string `json:"hex"`
		}
		switch {
		case json.Unmarshal(p, &lit) == nil:
			out = append(out, lit...)
		case json.Unmarshal(p, &rep) == nil && len(rep) == 2:
			var n int
			if json.Unmarshal(rep[0], &lit) != nil || json.Unmarshal(rep[1], &n) != nil || n < 0 || n > 1<<20 {
				return nil, fmt.Errorf("part %s: want [string, count]", p)
			}
			out = append(out, strings.Repeat(lit, n)...)
		case json.Unmarshal(p, &hx) == nil && hx.Hex != nil:
			b, err := hex.DecodeString(*hx.Hex)
			if err != nil {
				return nil, fmt.Errorf("part %s: %w", p, err)
			}
			out = append(out, b...)
		default:
			return nil, fmt.Errorf("part %s: want a string, [string, count] or {\"hex\": ...}", p)
		}
	}
	return out, nil
}

// ops are the actions: op byte and the step fields it carries, in ABI order.
var ops = map[string]struct {
	code   byte
	fields func(s *Step) []*Text
}{
	"hello":     {'h', nil},
	"stats":     {'t', nil},
	"expire":    {'x', nil},
	"config":    {'c', nil},
	"check":     {'k', nil},
	"access":    {'a', func(s *Step) []*Text { return []*Text{s.Person, s.Machine, s.URL, s.Name} }},
	"delete":    {'d', func(s *Step) []*Text { return []*Text{s.Person, s.Machine, s.URL, s.DeleteURL} }},
	"search":    {'s', func(s *Step) []*Text { return []*Text{s.Person, s.Machine, s.URL, s.For} }},
	"switch":    {'w', func(s *Step) []*Text { return []*Text{s.Person, s.Machine, s.URL, s.To} }},
	"import":    {'i', func(s *Step) []*Text { return []*Text{s.DB, s.Log} }},
	"export":    {'e', func(s *Step) []*Text { return []*Text{Str(s.File)} }},
	"configure": {'u', func(s *Step) []*Text { return []*Text{s.Conf} }},
}

// needsWhen are the actions whose time matters: a vector must give it.
var needsWhen = map[string]bool{"access": true, "delete": true, "search": true, "switch": true, "expire": true}

// IsAction reports whether the step is one action.
func (s *Step) IsAction() bool { _, ok := ops[s.Do]; return ok }

// Encode returns the step's request batch: one record for an action, the records (and raw
// bytes) of a batch.
func (s *Step) Encode(vars map[string]string) ([]byte, error) {
	if s.Do == DoBatch {
		var b []byte
		for i := range s.Actions {
			a := &s.Actions[i]
			if a.RawHex != "" {
				raw, err := parseHex(a.RawHex)
				if err != nil {
					return nil, err
				}
				b = append(b, raw...)
				continue
			}
			var err error
			if b, err = a.appendRecord(b, vars); err != nil {
				return nil, fmt.Errorf("action %d: %w", i+1, err)
			}
		}
		return b, nil
	}
	return s.appendRecord(nil, vars)
}

func (s *Step) appendRecord(b []byte, vars map[string]string) ([]byte, error) {
	op, ok := ops[s.Do]
	if !ok {
		return nil, fmt.Errorf("%q is not an action", s.Do)
	}
	flags := 0
	if s.Quiet {
		flags = 1
	}
	if s.Flags != nil {
		flags = *s.Flags
	}
	var when uint64
	if s.When != nil {
		when = *s.When
	}
	b = append(b, op.code, byte(flags))
	b = binary.AppendUvarint(b, when)
	if op.fields != nil {
		for _, f := range op.fields(s) {
			v, err := f.Bytes(vars)
			if err != nil {
				return nil, err
			}
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return b, nil
}

// parseHex decodes hex digits, ignoring spaces (so raw records can be grouped for reading).
func parseHex(s string) ([]byte, error) {
	return hex.DecodeString(strings.Join(strings.Fields(s), ""))
}

// DecodeResponses splits a response batch into records (wasm/ABI.md).
func DecodeResponses(data []byte) ([]Response, error) {
	var out []Response
	for off := 0; off < len(data); {
		st, k := binary.Uvarint(data[off:])
		if k <= 0 {
			return out, fmt.Errorf("bad status at offset %d", off)
		}
		off += k
		var f [2][]byte
		for i := range f {
			l, k := binary.Uvarint(data[off:])
			if k <= 0 || l > uint64(len(data)-off-k) {
				return out, fmt.Errorf("bad field at offset %d", off)
			}
			off += k
			f[i] = data[off : off+int(l)]
			off += int(l)
		}
		out = append(out, MakeResponse(int(st), string(f[0]), f[1]))
	}
	return out, nil
}

// MakeResponse is a Response with the body as text, or as hex when it is not UTF-8.
func MakeResponse(status int, person string, body []byte) Response {
	r := Response{Status: status, Person: person}
	if isText(body) {
		r.Body = string(body)
	} else {
		r.BodyHex = hex.EncodeToString(body)
	}
	return r
}
