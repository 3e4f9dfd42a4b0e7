package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// registryFile matches the names of the module's files (wasm/ABI.md rule 2): what Recover
// copies. The host never reads them; the module does.
var registryFile = regexp.MustCompile(`^registry\.(db\.[123]|log|log\.[123]|conf\.[123])$`)

// CheckDir verifies every file of the registry in dir without loading it, writing anything or
// taking the lock, so it works on any directory, however damaged, and on one another process
// serves. The report says what an open would load and whether acknowledged changes are lost.
func CheckDir(ctx context.Context, dir string, opts ...Option) (CheckReport, error) {
	var rep CheckReport
	r, err := Open(ctx, dir, append(opts, func(o *options) { o.openMode = "check" })...)
	if err != nil {
		return rep, err
	}
	defer r.Close()
	return r.Check(ctx)
}

// RecoverReport is what Recover salvaged.
type RecoverReport struct {
	Stats Stats // the salvaged registry (Storage.LostFrom..LostTo: changes that could not be)
	// Copied are the files taken from the damaged directory, verbatim.
	Copied []string
}

// Lost reports whether acknowledged changes could not be salvaged.
func (r RecoverReport) Lost() bool { return r.Stats.Storage.LostTo > 0 }

// Recover salvages the registry in dir into outDir, which must not exist or be empty: it
// copies the registry's files there verbatim (dir is only read), then opens the copy in
// salvage mode: the newest snapshot and log chain that verifies is loaded even when
// acknowledged changes are lost, a config is rebuilt if it is missing or damaged (keeping the
// registry's identity, which every snapshot holds), and two fresh generations are written.
// The report says exactly what was lost (Stats.Storage.LostFrom..LostTo, Notes) and the
// salvaged registry's counts. Open refuses a directory that loses data; Recover is for that.
func Recover(ctx context.Context, dir, outDir string, opts ...Option) (RecoverReport, error) {
	var rep RecoverReport
	if err := isDir(dir); err != nil {
		return rep, err
	}
	if ents, err := os.ReadDir(outDir); err == nil && len(ents) > 0 {
		return rep, fmt.Errorf("host: recover: %s is not empty", outDir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return rep, fmt.Errorf("host: recover: %w", err)
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return rep, fmt.Errorf("host: recover: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return rep, fmt.Errorf("host: recover: %w", err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || !registryFile.MatchString(e.Name()) {
			continue
		}
		if err := copyFile(filepath.Join(dir, e.Name()), filepath.Join(outDir, e.Name())); err != nil {
			return rep, fmt.Errorf("host: recover: %w", err)
		}
		rep.Copied = append(rep.Copied, e.Name())
	}
	r, err := Open(ctx, outDir, append(opts, func(o *options) { o.openMode = "salvage" })...)
	if err != nil {
		return rep, err
	}
	defer r.Close()
	rep.Stats, err = r.Stats(ctx)
	return rep, err
}
