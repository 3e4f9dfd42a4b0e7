//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

// lockForReading has no portable lock to take where flock is missing: host's lock there only
// keeps a second Open in the same process out, which a check never races with.
func lockForReading(dir string) (func(), error) { return func() {}, nil }
