package host

import (
	"errors"
	"strconv"
	"strings"
)

// Errors returned by the registry. Match them with errors.Is: the returned errors carry the
// details (the module's message, the status, the file) and wrap one of these.
var (
	// ErrBadRequest: the request batch is malformed (framing, unknown op, field too long,
	// time out of range). The whole batch was rejected and nothing changed.
	ErrBadRequest = errors.New("host: malformed request")
	// ErrRefused: the registry answered an action with a status other than 200 (netdata's
	// 400, 404, 412, 430-434, 500, ...). See StatusError.
	ErrRefused = errors.New("host: action refused")
	// ErrStorage: a file could not be read or written. The call's changes are not
	// acknowledged; the registry holds exactly the acknowledged state and stops writes
	// (Stats().Storage.WriteError says why): reads go on, changes are refused (StatusError
	// 503) until a save succeeds, which the registry tries by itself after a pause (and on
	// Save). When the host saw the OS error behind it,
	// the message says it and the error wraps an *fs.PathError with the operation, the
	// file's path and that error: match it with errors.Is(err, syscall.ENOSPC) (no space
	// left on device), fs.ErrPermission, syscall.EROFS, ...
	ErrStorage = errors.New("host: storage failure")
	// ErrCorrupt: the files hold data that does not verify (the message names file and offset).
	ErrCorrupt = errors.New("host: corrupt data")
	// ErrInternal: the module reported an internal error.
	ErrInternal = errors.New("host: internal error in the module")
	// ErrTrapped: the module trapped (a Go panic inside it). The host discarded the instance
	// and started a new one that reloaded the files; the call's changes, if any were made
	// before the trap and not logged, are gone.
	ErrTrapped = errors.New("host: module trapped")
	// ErrMemoryBudget: an access that would add a person, a machine, a URL or a link was
	// refused because the tables reached their memory budget (a *StatusError with status
	// 507 and the figures; see Stats.Budget). Known persons, machines and URLs keep working.
	ErrMemoryBudget = errors.New("host: memory budget reached")
	// ErrClosed: the Registry was closed.
	ErrClosed = errors.New("host: registry is closed")
	// ErrLocked: another Registry (in this process or another) holds the directory.
	ErrLocked = errors.New("host: directory is in use by another registry")
)

// Error codes of the module's request, save and load exports (wasm/ABI.md); -4 (internal)
// and any other code are ErrInternal.
const (
	codeBadRequest = -1
	codeStorage    = -2
	codeCorrupt    = -3
)

// moduleError is a negative return of an export: its kind and the module's message.
type moduleError struct {
	kind error
	msg  string
}

func (e *moduleError) Error() string { return e.kind.Error() + ": " + e.msg }
func (e *moduleError) Unwrap() error { return e.kind }

func codeError(code int32, msg string) error {
	kind := ErrInternal
	switch code {
	case codeBadRequest:
		kind = ErrBadRequest
	case codeStorage:
		kind = ErrStorage
	case codeCorrupt:
		kind = ErrCorrupt
	}
	if msg == "" {
		msg = "error code " + strconv.Itoa(int(code))
	}
	return &moduleError{kind, msg}
}

// storageError is the module's storage failure told with the OS error behind it, when the
// host saw it (see wasidir.Dir.Explain).
type storageError struct {
	msg   string
	cause error // an *fs.PathError; nil when unknown
}

func (e *storageError) Error() string { return ErrStorage.Error() + ": " + e.msg }

func (e *storageError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrStorage}
	}
	return []error{ErrStorage, e.cause}
}

// StatusError is an action the registry refused: netdata's status and reason. It matches
// ErrRefused.
type StatusError struct {
	Action  string // netdata's action name ("access", "switch", ...), from the body
	Status  int    // netdata's HTTP status
	Message string // the body's "error", or the body itself when it has none
}

func (e *StatusError) Error() string {
	return "host: " + e.Action + " refused with status " + strconv.Itoa(e.Status) + ": " + e.Message
}

// Is reports whether target is ErrRefused, or ErrMemoryBudget for status 507.
func (e *StatusError) Is(target error) bool {
	return target == ErrRefused || target == ErrMemoryBudget && e.Status == StatusMemoryBudget
}

// StatusMemoryBudget is the status of an access refused by the memory budget (HTTP's 507
// Insufficient Storage).
const StatusMemoryBudget = 507

// trapError is a call that trapped (or that the context interrupted), and what the restart
// did.
type trapError struct {
	cause   error  // wazero's error
	stderr  string // what the module printed (Go's panic message)
	during  string // "load" when a new instance trapped while loading (no restart follows)
	restart error  // nil when a new instance reloaded the files
}

func (e *trapError) Error() string {
	var b strings.Builder
	switch {
	case e.during != "":
		b.WriteString(ErrTrapped.Error() + " during " + e.during + ": " + firstLine(e.cause.Error()))
	default:
		b.WriteString(ErrTrapped.Error() + ": " + firstLine(e.cause.Error()))
	}
	if s := panicLine(e.stderr); s != "" {
		b.WriteString(" (" + s + ")")
	}
	switch {
	case e.during != "":
	case e.restart != nil:
		b.WriteString("; restarting failed: " + e.restart.Error())
	default:
		b.WriteString("; a new instance reloaded the files")
	}
	return b.String()
}

func (e *trapError) Unwrap() []error {
	errs := []error{ErrTrapped, e.cause}
	if e.restart != nil {
		errs = append(errs, e.restart)
	}
	return errs
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// panicLine picks Go's "panic: ..." line out of the module's stderr, else its first line.
func panicLine(stderr string) string {
	for line := range strings.Lines(stderr) {
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			return strings.TrimSpace(line)
		}
	}
	return strings.TrimSpace(firstLine(stderr))
}
