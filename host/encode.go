package host

import (
	"encoding/binary"
	"strconv"
	"time"
)

// Op is an action's op code in a request batch (wasm/ABI.md).
type Op byte

// The ops of wasm/ABI.md.
const (
	OpHello  Op = 'h'
	OpAccess Op = 'a'
	OpDelete Op = 'd'
	OpSearch Op = 's'
	OpSwitch Op = 'w'
	OpStats  Op = 't'
	OpExpire Op = 'x'
	OpConfig Op = 'c'
	OpCheck  Op = 'k'
	OpImport Op = 'i'
	OpExport Op = 'e'
	// OpConfigure changes settings: Arg is netdata.conf text, its [registry] section applies.
	OpConfigure Op = 'u'
	// OpTop answers the machines with the most accesses: Arg is the count (decimal, "" for 10).
	OpTop Op = 'm'
)

// MaxBatchLength is the longest request batch the module accepts (its alloc refuses more).
const MaxBatchLength = 64 << 20

// MaxFieldLength is the longest field the module accepts.
const MaxFieldLength = 64 << 10

// Request flags (wasm/ABI.md).
const (
	flagQuiet       = 1 << 0
	flagMachineOnly = 1 << 1
)

// Request is one action of a batch.
//
// The fields are the op's, in the order of wasm/ABI.md:
//   - access, delete, search, switch: Person (the cookie, may be empty), Machine and URL (the
//     agent and URL the request was made on), Arg: the name (access), delete_url (delete),
//     for (search) or to (switch);
//   - import: Arg and Arg2, the netdata registry.db and registry-log.db file names inside
//     the directory (either may be empty);
//   - export: Arg, the file name inside the directory;
//   - configure: Arg, netdata.conf text (its [registry] section);
//   - hello, stats, expire, config, check: none.
//
// Fields an op does not carry are not sent.
type Request struct {
	Op    Op
	Quiet bool // leave the urls list (for access, the whole body) out of the answer
	// MachineOnly makes an access netdata's cookie-check access: the machine is created and
	// the URL counted on it; no person is looked up, created or linked.
	MachineOnly bool
	When        time.Time // the action's time, whole seconds; the zero Time means now
	Person      string
	Machine     string
	URL         string
	Arg         string
	Arg2        string
}

// fields returns how many string fields op carries.
func fields(op Op) (int, bool) {
	switch op {
	case OpHello, OpStats, OpExpire, OpConfig, OpCheck:
		return 0, true
	case OpExport, OpConfigure, OpTop:
		return 1, true
	case OpImport:
		return 2, true
	case OpAccess, OpDelete, OpSearch, OpSwitch:
		return 4, true
	}
	return 0, false
}

// AppendRequest appends req to a request batch. It fails, matching ErrBadRequest, on an
// unknown op, a time outside 1970-2106 or a field longer than MaxFieldLength.
func AppendRequest(b []byte, req *Request) ([]byte, error) {
	n, ok := fields(req.Op)
	if !ok {
		return b, badRequest("unknown op " + strconv.QuoteRune(rune(req.Op)))
	}
	var when int64
	if !req.When.IsZero() {
		when = req.When.Unix()
		if when < 1 || when > 1<<32-1 {
			return b, badRequest("time " + req.When.String() + " is not 1970-2106")
		}
	}
	flags := byte(0)
	if req.Quiet {
		flags |= flagQuiet
	}
	if req.MachineOnly {
		flags |= flagMachineOnly
	}
	b = append(b, byte(req.Op), flags)
	b = binary.AppendUvarint(b, uint64(when))
	var f [4]string
	switch req.Op {
	case OpImport:
		f[0], f[1] = req.Arg, req.Arg2
	case OpExport, OpConfigure, OpTop:
		f[0] = req.Arg
	default:
		f = [4]string{req.Person, req.Machine, req.URL, req.Arg}
	}
	for _, s := range f[:n] {
		if len(s) > MaxFieldLength {
			return b, badRequest("field of " + strconv.Itoa(len(s)) + " bytes")
		}
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b, nil
}

func badRequest(msg string) error { return &moduleError{ErrBadRequest, msg} }

// Response is one record of a response batch: netdata's HTTP status, the person GUID the
// action resolved to ("" when none) and netdata's JSON body (empty for a quiet access).
type Response struct {
	Status int
	Person string
	Body   []byte
}

// ParseResponses decodes a response batch. The bodies alias data.
func ParseResponses(data []byte) ([]Response, error) {
	return appendResponses(nil, data)
}

func appendResponses(out []Response, data []byte) ([]Response, error) {
	for off := 0; off < len(data); {
		st, k := binary.Uvarint(data[off:])
		if k <= 0 || st > 999 {
			return out, errAt(off)
		}
		off += k
		var f [2][]byte
		for i := range f {
			l, k := binary.Uvarint(data[off:])
			if k <= 0 || l > uint64(len(data)-off-k) {
				return out, errAt(off)
			}
			off += k
			f[i] = data[off : off+int(l) : off+int(l)]
			off += int(l)
		}
		out = append(out, Response{Status: int(st), Person: string(f[0]), Body: f[1]})
	}
	return out, nil
}

func errAt(off int) error {
	return &moduleError{ErrInternal, "malformed response batch at offset " + strconv.Itoa(off)}
}
