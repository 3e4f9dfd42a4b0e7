package registry

import "errors"

// Errors returned by actions. Match them with errors.Is.
var (
	ErrBadMachine  = errors.New("registry: machine GUID is not a valid UUID")
	ErrBadURL      = errors.New("registry: invalid URL given in the request: it must start with 'h' or '*'")
	ErrMissing     = errors.New("registry: required parameter is missing")
	ErrNoPerson    = errors.New("registry: person is not known")
	ErrNoMachine   = errors.New("registry: machine is not known")
	ErrNoURL       = errors.New("registry: URL is not linked to this person")
	ErrNotAccessed = errors.New("registry: person never accessed that machine")
	ErrBadRequest  = errors.New("registry: malformed request")
	ErrBadConfig   = errors.New("registry: invalid configuration")
	ErrNoStorage   = errors.New("registry: this action needs a Store")
	ErrNewPerson   = errors.New("registry: too many new persons from this client lately: this access may not make one now")
)
