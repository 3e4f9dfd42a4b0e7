package registry

import (
	"encoding/binary"
	"strconv"
)

// Limits of the binary request format. A raw field may be longer than the cleaned value
// (netdata cuts URLs and names), but not without bound.
const (
	MaxFieldLength = 64 << 10
	MaxBatchLength = 64 << 20
)

// fieldCount is how many string fields each op carries.
func fieldCount(op Op) (int, bool) {
	switch op {
	case OpHello, OpStats, OpExpire, OpConfig:
		return 0, true
	case OpAccess, OpDelete, OpSearch, OpSwitch:
		return 4, true
	case OpCheck:
		return 0, true
	case OpImport:
		return 2, true
	case OpExport, OpConfigure, OpTop:
		return 1, true
	case opPurge: // change-log records only (parseBatch refuses them from outside)
		return 0, true
	case opNote:
		return 1, true
	}
	return 0, false
}

// internalOp reports whether op exists only in change-log records.
func internalOp(op Op) bool { return op == opPurge || op == opNote }

// ParseBatch decodes a whole request batch (wasm/ABI.md), appending to reqs. Fields alias data.
// Any malformed record rejects the batch: callers apply nothing unless it all parsed.
func ParseBatch(data []byte, reqs []Request) ([]Request, error) {
	return parseBatch(data, reqs, false)
}

func parseBatch(data []byte, reqs []Request, internal bool) ([]Request, error) {
	if len(data) > MaxBatchLength {
		return reqs, badRequest("batch longer than", MaxBatchLength)
	}
	for off := 0; off < len(data); {
		start := off
		if len(data)-off < 3 {
			return reqs, badRequest("truncated record at offset", start)
		}
		req := Request{Op: Op(data[off]), Flags: data[off+1]}
		off += 2
		n, ok := fieldCount(req.Op)
		if !ok {
			return reqs, badRequest("unknown op at offset", start)
		}
		if !internal && (req.Flags&(flagReplay|flagApplied) != 0 || internalOp(req.Op)) {
			if internalOp(req.Op) {
				return reqs, badRequest("unknown op at offset", start)
			}
			return reqs, badRequest("reserved flag at offset", start)
		}
		when, k := timeUvarint(data[off:])
		if k <= 0 || when > 1<<32-1 {
			return reqs, badRequest("bad time at offset", start)
		}
		req.When = uint32(when)
		off += k
		for i := 0; i < n; i++ {
			// A field length is one byte (under 128) but for long URLs, and decoded here: under
			// GOARCH=wasm a call costs more than the decoding, and a wrapper with this test is
			// too big for the inliner (BenchmarkHandle/parse-only through wazero: 190 ns a
			// request calling one, 137 here; natively 25-27 -> 17-19).
			var l uint64
			var k int
			if off < len(data) && data[off] < 0x80 {
				l, k = uint64(data[off]), 1
			} else {
				l, k = binary.Uvarint(data[off:])
			}
			if k <= 0 || l > MaxFieldLength || l > uint64(len(data)-off-k) {
				return reqs, badRequest("bad field at offset", off)
			}
			off += k
			f := data[off : off+int(l) : off+int(l)]
			off += int(l)
			switch i {
			case 0:
				req.Person = f
			case 1:
				req.Machine = f
			case 2:
				req.URL = f
			case 3:
				req.Arg = f
			}
		}
		reqs = append(reqs, req)
	}
	return reqs, nil
}

// timeUvarint decodes a record's time, five bytes for any recent one, out of line: under
// GOARCH=wasm, binary.Uvarint's loop inlined into parseBatch made BenchmarkHandle/parse-only
// 200 ns a request through wazero instead of 137.
//
//go:noinline
func timeUvarint(b []byte) (uint64, int) { return binary.Uvarint(b) }

func badRequest(what string, n int) error {
	return &requestError{what + " " + strconv.Itoa(n)}
}

type requestError struct{ msg string }

func (e *requestError) Error() string        { return ErrBadRequest.Error() + ": " + e.msg }
func (e *requestError) Is(target error) bool { return target == ErrBadRequest }

// AppendRequest encodes req as one record of a request batch.
func AppendRequest(b []byte, req *Request) []byte { return appendRequest(b, req, req.Flags, nil, nil) }

// appendRequest is AppendRequest with flags for req.Flags and, where person or machine is not
// nil, that GUID's 16 bytes for req.Person or req.Machine, written in place: the change log
// records the GUIDs an access resolved to that way (requestGUID reads them back).
// BenchmarkAppendLogRequest under wasip1 through wazero: copying the request to swap in the
// person and looping over an array of its four fields took 331-340 ns a logged access; field
// by field, 273-289 ns (natively 42 -> 35 ns); with both GUIDs as 16 bytes through appendField,
// 151 ns (natively 16).
func appendRequest(b []byte, req *Request, flags byte, person, machine *GUID) []byte {
	b = append(b, byte(req.Op), flags)
	b = binary.AppendUvarint(b, uint64(req.When))
	n, _ := fieldCount(req.Op)
	if n == 0 {
		return b
	}
	if person != nil {
		b = appendField(b, person[:])
	} else {
		b = appendField(b, req.Person)
	}
	if n > 1 {
		if machine != nil {
			b = appendField(b, machine[:])
		} else {
			b = appendField(b, req.Machine)
		}
	}
	if n > 2 {
		b = appendField(b, req.URL)
	}
	if n > 3 {
		b = appendField(b, req.Arg)
	}
	return b
}

// requestGUID reads a GUID field of req: its text or, in a change-log record (flagReplay), the
// 16 bytes appendRequest wrote. Hosts cannot send the replay flag, so a 16-byte field from a
// client is never taken for a GUID.
func requestGUID(req *Request, f []byte) (GUID, bool) {
	if len(f) == len(GUID{}) && req.Flags&flagReplay != 0 {
		return GUID(f), true
	}
	return ParseGUID(f)
}

func appendField[S ~string | ~[]byte](b []byte, f S) []byte {
	b = binary.AppendUvarint(b, uint64(len(f)))
	return append(b, f...)
}

// Response is one decoded record of a response batch.
type Response struct {
	Status int
	Person string
	Body   []byte
}

// ParseResponses decodes a response batch. Bodies alias data.
func ParseResponses(data []byte) ([]Response, error) {
	var out []Response
	for off := 0; off < len(data); {
		st, k := binary.Uvarint(data[off:])
		if k <= 0 {
			return out, badRequest("bad response status at offset", off)
		}
		off += k
		var f [2][]byte
		for i := range f {
			l, k := binary.Uvarint(data[off:])
			if k <= 0 || l > uint64(len(data)-off-k) {
				return out, badRequest("bad response field at offset", off)
			}
			off += k
			f[i] = data[off : off+int(l)]
			off += int(l)
		}
		out = append(out, Response{Status: int(st), Person: string(f[0]), Body: f[1]})
	}
	return out, nil
}

// Handle runs a request batch and appends the response batch to out. The batch is parsed
// completely first: a malformed batch changes nothing and returns an error matching
// ErrBadRequest. Requests without a time get Config.Now. changed, when not nil, is called
// after every action that changed the registry (the persistence layer logs it there); an error
// from it stops the batch and is returned with the responses so far.
func (r *Registry) Handle(batch, out []byte, changed func(*Request, *Result) error) ([]byte, error) {
	reqs, err := ParseBatch(batch, r.reqs[:0])
	r.reqs = reqs[:0]
	if err != nil {
		return out, err
	}
	return r.run(reqs, out, changed)
}

func (r *Registry) run(reqs []Request, out []byte, changed func(*Request, *Result) error) ([]byte, error) {
	body := r.body
	defer func() { r.body = body[:0] }()
	res := &r.res
	for i := range reqs {
		req := &reqs[i]
		if req.When == 0 {
			req.When = r.cfg.Now()
		}
		body = r.do(req, body[:0], res)
		out = binary.AppendUvarint(out, uint64(res.Status))
		if res.Person.IsZero() {
			out = append(out, 0)
		} else {
			out = append(out, 36)
			out = res.Person.AppendText(out)
		}
		out = appendField(out, body)
		if res.Changed && changed != nil {
			if err := changed(req, res); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func appendUint(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }
