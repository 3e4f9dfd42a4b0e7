package main

import (
	"errors"
	"io/fs"
	"net/http"

	"github.com/regwasm/regwasm/host"
)

// registryFailure is the answer to an action the registry could not run: 503 with the
// reason for a storage failure (the disk is full, read-only, not permitted: the request may
// succeed once the operator has seen to it), 500 "registry failure" for anything else.
//
// # Notes
//
// Clients get the OS error's text ("no space left on device"), never the server's paths;
// the server's log has the whole error, with the file.
func registryFailure(err error) (status int, reason string) {
	if !errors.Is(err, host.ErrStorage) {
		return http.StatusInternalServerError, "registry failure"
	}
	reason = "registry storage failure"
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		reason += ": " + pe.Err.Error()
	}
	return http.StatusServiceUnavailable, reason
}
