package registry

// Op names an action. Its byte is the op code of the binary request format (wasm/ABI.md).
type Op byte

// The actions.
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
	// OpConfigure changes settings from netdata.conf text (its [registry] section).
	OpConfigure Op = 'u'
	// opPurge is how the change log records an expiry: persons idle since before When go.
	// It exists only in log records, so replay does not depend on the idle limit of the day.
	opPurge Op = 'X'
	// opNote is a change-log record that changes nothing in the registry: a settings change
	// (its one field holds the config's new text) or an import that committed. It puts the
	// change in the log, so that the files prove it happened: a lost config, or a lost
	// snapshot holding an import, is then detected.
	opNote Op = 'N'
	// OpTop answers the machines with the most accesses (top.go).
	OpTop Op = 'm'
)

// Request flags.
const (
	// FlagQuiet leaves the urls list (and for access the whole body) out of the response.
	FlagQuiet = 1 << 0
	// FlagMachineOnly makes an access record the machine and its URL without any person.
	FlagMachineOnly = 1 << 1
	// flagReplay marks a change-log record: an unknown person is created with the logged
	// GUID instead of a new one. Requests from outside may not set it.
	flagReplay = 1 << 7
	// flagApplied marks a record holding values as they were applied (change log format 2):
	// URLs and names are not cleaned again, so the settings of the day of the replay do not
	// matter. Requests from outside may not set it.
	flagApplied = 1 << 6
)

// Request is one action. Person, Machine and URL are netdata's cookie and parameters; Arg is
// the action's own parameter: the name (access), delete_url (delete), for (search) or to
// (switch). When is unix seconds; 0 means now.
type Request struct {
	Op      Op
	Flags   uint8
	When    uint32
	Person  []byte
	Machine []byte
	URL     []byte
	Arg     []byte
}

// Result is what an action did besides its JSON body.
type Result struct {
	Status  int   // netdata's HTTP status
	Person  GUID  // the person the action resolved to; zero when none
	Changed bool  // the action changed the registry (and must be logged)
	Err     error // why Status is not 200

	machine GUID // access: the machine, parsed, for the change log
}

// Do runs one action and appends its netdata JSON body to body.
func (r *Registry) Do(req *Request, body []byte) (Result, []byte) {
	var res Result
	body = r.do(req, body, &res)
	return res, body
}

// do is Do writing every field of *res. Access, the request that matters for speed, fills it
// in place.
//
// # Notes
//
// Go's wasm backend turns a copy of more than 16 bytes into memory.copy and the zeroing of
// more than 32 into memory.fill. wazero runs memory.copy as a call to Go's memmove and
// memory.fill as a doubling chain of such calls (six for a 64-byte Result). Returning a
// Result by value from access through Do to run made about 37 of those calls per request
// (counted in the compiled code), and memmove called from those functions was about 8% of
// test1's time through wazero (perf with wazero's perfmap build tag). So on the
// access path Results and table entries are filled field by field where they live
// (BenchmarkHandle through wazero, side by side: access-same 1631-1649 -> 1423-1472 ns,
// access-urls 2433-2446 -> 2216-2250).
func (r *Registry) do(req *Request, body []byte, res *Result) []byte {
	if r.refuse != nil && r.refuses(req.Op) {
		*res = Result{Status: 503, Err: r.refuse}
		return r.failed(body, opName(req.Op), r.refuse)
	}
	if req.Op == OpAccess {
		return r.access(req, body, res)
	}
	*res, body = r.act(req, body)
	return body
}

// refuses reports whether op is refused while r.refuse is set: the actions that change the
// registry or its files, or all but check, hello and config when only checks are allowed.
func (r *Registry) refuses(op Op) bool {
	switch op {
	case OpAccess, OpDelete, OpExpire, OpImport, OpConfigure:
		return true
	case OpCheck, OpHello, OpConfig:
		return false
	}
	return r.onlyChecks
}

// opName is op's action name in netdata's bodies.
func opName(op Op) string {
	switch op {
	case OpHello:
		return "hello"
	case OpAccess:
		return "access"
	case OpDelete:
		return "delete"
	case OpSearch:
		return "search"
	case OpSwitch:
		return "switch"
	case OpStats:
		return "stats"
	case OpExpire:
		return "expire"
	case OpConfig:
		return "config"
	case OpCheck:
		return "check"
	case OpImport:
		return "import"
	case OpExport:
		return "export"
	case OpConfigure:
		return "configure"
	}
	return "unknown"
}

// act runs the actions other than access.
func (r *Registry) act(req *Request, body []byte) (Result, []byte) {
	switch req.Op {
	case OpHello:
		body = r.appendHeader(body, "hello", "ok")
		body = append(body, `,"registry":`...)
		body = appendJSONString(body, r.cfg.RegistryToAnnounce)
		return Result{Status: 200}, append(body, '}')
	case OpDelete:
		return r.delete(req, body)
	case OpSearch:
		return r.search(req, body)
	case OpSwitch:
		return r.switchPerson(req, body)
	case OpStats:
		body = r.Stats().AppendJSON(body)
		if r.describe != nil {
			body = append(r.describe(OpStats, body[:len(body)-1]), '}')
		}
		return Result{Status: 200}, body
	case OpConfig:
		if r.describe == nil {
			return Result{Status: 200}, append(body, "{}"...)
		}
		return Result{Status: 200}, r.describe(OpConfig, body)
	case OpTop:
		return r.topMachines(req, body)
	case OpCheck, OpImport, OpExport, OpConfigure:
		if r.fileOp == nil {
			return r.fail(body, "file", 400, ErrNoStorage)
		}
		return r.fileOp(req, body)
	case OpExpire:
		cutoff, ok := r.expiryCutoff(req.When)
		n := 0
		if ok {
			n = r.expireBefore(cutoff)
			// Logged as applied: the cutoff, not the idle limit of the day.
			req.Op, req.When = opPurge, cutoff
		}
		body = r.appendHeader(body, "expire", "ok")
		body = appendUintField(body, "expired", uint64(n))
		return Result{Status: 200, Changed: n > 0}, append(body, '}')
	case opPurge:
		return Result{Status: 200, Changed: r.expireBefore(req.When) > 0}, body
	case opNote:
		return Result{Status: 200}, body
	}
	return Result{Status: 400, Err: ErrBadRequest}, r.failed(body, "unknown", ErrBadRequest)
}

// failed appends a netdata "failed" body with the reason.
func (r *Registry) failed(body []byte, action string, err error) []byte {
	body = r.appendHeader(body, action, "failed")
	body = append(body, `,"error":`...)
	body = appendJSONString(body, err.Error())
	return append(body, '}')
}

func (r *Registry) fail(body []byte, action string, status int, err error) (Result, []byte) {
	return Result{Status: status, Err: err}, r.failed(body, action, err)
}

// failTo is fail for actions that write their Result in place.
func (r *Registry) failTo(res *Result, body []byte, action string, status int, err error) []byte {
	*res = Result{Status: status, Err: err}
	return r.failed(body, action, err)
}

// cleanURL applies netdata's URL rules: the URL as sent must start with 'h' or '*' (netdata
// checks before trimming: " http://..." is refused), then it is cleaned (cleanText).
func (r *Registry) cleanURL(s []byte) ([]byte, error) {
	if len(s) == 0 {
		return nil, ErrMissing
	}
	if s[0] != 'h' && s[0] != '*' {
		return nil, ErrBadURL
	}
	return cleanText(s, r.cfg.MaxURLLength, &r.urlBuf), nil
}

// cleanReplayedURL is cleanURL for a replayed record that holds the URL as it was sent (a
// first-format change log, netdata's registry-log.db): the check comes after the cleaning,
// as it did when those records were applied.
func (r *Registry) cleanReplayedURL(s []byte) ([]byte, error) {
	u := cleanText(s, r.cfg.MaxURLLength, &r.urlBuf)
	if len(u) == 0 {
		return nil, ErrMissing
	}
	if u[0] != 'h' && u[0] != '*' {
		return nil, ErrBadURL
	}
	return u, nil
}

// requestURL cleans and checks req's URL as its kind of request calls for.
func (r *Registry) requestURL(req *Request) ([]byte, error) {
	if req.Flags&flagReplay != 0 {
		return r.cleanReplayedURL(req.URL)
	}
	return r.cleanURL(req.URL)
}

// lookupPerson finds a known person by its GUID text.
func (r *Registry) lookupPerson(s []byte) (uint32, bool) {
	g, ok := ParseGUID(s)
	if !ok {
		return 0, false
	}
	return r.findPerson(&g)
}

func (r *Registry) lookupMachine(s []byte) (uint32, bool) {
	g, ok := ParseGUID(s)
	if !ok {
		return 0, false
	}
	return r.findMachine(&g)
}

// hasAccessed reports whether the person has a URL linked to the machine.
func (r *Registry) hasAccessed(p *person, m uint32) bool {
	for _, pu := range r.personBlock(p) {
		if pu.machine == m {
			return true
		}
	}
	return false
}
