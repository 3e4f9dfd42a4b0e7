package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/human"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/regwasm/regwasm/host"
)

// idleChoice is what import does with persons idle for longer than the registry keeps them.
type idleChoice int

const (
	idleRefuse idleChoice = iota // say how many and import nothing (the default)
	idleKeep                     // import them; a later save decides
	idleExpire                   // drop them at the import, as a save does
)

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", stderr)
	merge := fs.Bool("merge", false, "import into a directory that already holds persons or machines, merging with them")
	keep := fs.Bool("keep-idle", false, `import the persons idle for longer than "registry expire idle persons" too; the registry's next save drops them unless that setting is raised`)
	expire := fs.Bool("expire-idle", false, `drop the persons idle for longer than "registry expire idle persons" at the import`)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) < 2 || len(rest) > 3 {
		return usageError("import needs DIR registry.db [registry-log.db]")
	}
	job := importJob{dir: rest[0], db: rest[1], merge: *merge, out: stdout, note: stderr}
	if len(rest) == 3 {
		job.log = rest[2]
	}
	switch {
	case *keep && *expire:
		return usageError("--keep-idle and --expire-idle exclude each other")
	case *keep:
		job.idle = idleKeep
	case *expire:
		job.idle = idleExpire
	}
	return job.run(ctx)
}

// importJob is one `regwasm import`.
type importJob struct {
	dir, db, log string // the log is optional
	merge        bool
	idle         idleChoice
	out, note    io.Writer // the report; what is going on
}

// errIdle is an import refused because it would drop persons.
var errIdle = errors.New("idle persons")

func (j *importJob) run(ctx context.Context) error {
	var sizes []string
	for _, f := range j.files() {
		st, err := os.Stat(f)
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", f)
		}
		sizes = append(sizes, fmt.Sprintf("%s (%s)", filepath.Base(f), human.Bytes(st.Size())))
	}
	t, err := openImportTarget(ctx, j.dir)
	if err != nil {
		return err
	}
	defer t.abort(ctx)
	before, err := t.reg.reg.Stats(ctx)
	if err != nil {
		return err
	}
	if before.Persons+before.Machines > 0 && !j.merge {
		return fmt.Errorf("%s already holds a registry (%s, %s): importing would merge into it; "+
			"pass --merge to do that, or import into a new directory",
			j.dir, counted(before.Persons, "person", "persons"), counted(before.Machines, "machine", "machines"))
	}
	set, err := t.reg.reg.Settings(ctx)
	if err != nil {
		return err
	}
	days := set.ExpireIdleDays
	// How many of the files' persons are idle, when that must be known before the import: to
	// refuse before merging into a registry, to say how many --keep-idle kept. A new
	// registry is its own trial: it is discarded if refused.
	idle := uint64(0)
	if j.idle == idleKeep || j.idle == idleRefuse && t.existing {
		fmt.Fprintf(j.note, "checking %s for idle persons...\n", strings.Join(sizes, " and "))
		if idle, err = j.countIdle(ctx, days); err != nil {
			return err
		}
		if j.idle == idleRefuse && idle > 0 {
			return j.idleError(idle, days)
		}
	}
	fmt.Fprintf(j.note, "importing %s...\n", strings.Join(sizes, " and "))
	rep, err := j.importInto(ctx, t.reg.reg, days)
	if err != nil {
		return err
	}
	if j.idle == idleRefuse && !t.existing && rep.Expired > 0 {
		return j.idleError(rep.Expired, days)
	}
	now, err := t.reg.reg.Stats(ctx)
	if err != nil {
		return err
	}
	if err := t.commit(ctx); err != nil {
		return err
	}
	j.print(rep, before, now, idle, days)
	return nil
}

func (j *importJob) files() []string {
	if j.log == "" {
		return []string{j.db}
	}
	return []string{j.db, j.log}
}

// importInto imports the files into reg; with idleKeep its save drops no one.
func (j *importJob) importInto(ctx context.Context, reg *host.Registry, days int64) (host.ImportReport, error) {
	if j.idle == idleKeep {
		if err := setExpiry(ctx, reg, "never"); err != nil {
			return host.ImportReport{}, err
		}
		// The setting goes back whatever happens: it is the registry's policy, not the import's.
		defer setExpiry(context.WithoutCancel(ctx), reg, strconv.FormatInt(days, 10))
	}
	rep, err := reg.Import(ctx, j.db, j.log)
	if se := (*host.StatusError)(nil); errors.As(err, &se) {
		// The module's reason without the layers it went through, naming the user's files.
		what := strings.Join(j.files(), ", ")
		if len(j.files()) > 1 {
			what = "importing " + strings.Join(j.files(), " and ")
		}
		return rep, fmt.Errorf("%s: %s", what, strings.TrimPrefix(se.Message, "registry: "))
	}
	return rep, err
}

// setExpiry sets "registry expire idle persons": days, or "never" (as long as the registry
// keeps anyone).
func setExpiry(ctx context.Context, reg *host.Registry, value string) error {
	_, err := reg.Configure(ctx, "[registry]\nregistry expire idle persons = "+value+"\n")
	return err
}

// countIdle imports the files into a registry of their own, in a temporary directory, and
// returns how many of their persons the registry drops as idle for longer than days.
func (j *importJob) countIdle(ctx context.Context, days int64) (uint64, error) {
	tmp, err := os.MkdirTemp("", "regwasm-import-check-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	reg, err := openRegistry(ctx, tmp)
	if err != nil {
		return 0, err
	}
	defer reg.close(ctx)
	if err := setExpiry(ctx, reg.reg, strconv.FormatInt(days, 10)); err != nil {
		return 0, err
	}
	trial := *j
	trial.idle = idleExpire
	rep, err := trial.importInto(ctx, reg.reg, days)
	return rep.Expired, err
}

func (j *importJob) idleError(idle uint64, days int64) error {
	return fmt.Errorf("%w: %s of %s %s been idle for longer than %d days (\"registry expire idle persons\"), "+
		"and the registry drops such persons when it saves. Nothing was imported. Run again with "+
		"--keep-idle to import them anyway (then raise \"registry expire idle persons\", e.g. with "+
		"serve --config, to keep them), or with --expire-idle to drop them now",
		errIdle, counted(idle, "person", "persons"), strings.Join(j.files(), " and "), have(idle), days)
}

func have(n uint64) string {
	if n == 1 {
		return "has"
	}
	return "have"
}

// shownSkips is how many skipped lines import lists (the module reports up to 100).
const shownSkips = 10

// print reports an import whose counts add up: the lines read, the persons before, after the
// import and after the expiry, and what the registry holds now.
func (j *importJob) print(a host.ImportReport, before, now host.Stats, idle uint64, days int64) {
	w := j.out
	fmt.Fprintf(w, "read %s of %s: %s, %s, %s, %s, %s, %s\n",
		counted(uint64(a.Lines), "line", "lines"), strings.Join(j.files(), " and "),
		counted(a.Persons, "person", "persons"), counted(a.Machines, "machine", "machines"),
		counted(a.PersonURLs, "person-URL", "person-URLs"), counted(a.MachineURLs, "machine-URL", "machine-URLs"),
		counted(a.Accesses, "access", "accesses"), counted(a.Deletes, "delete", "deletes"))
	if a.Skipped > 0 {
		fmt.Fprintf(w, "skipped %s netdata skips too:\n", counted(uint64(a.Skipped), "line", "lines"))
		for i, e := range a.Errors {
			if i == shownSkips {
				fmt.Fprintf(w, "  ... (%d more)\n", a.Skipped-shownSkips)
				break
			}
			fmt.Fprintf(w, "  %s:%d: %s\n", e.File, e.Line, e.Reason)
		}
	}
	after := now.Persons + a.Expired
	fmt.Fprintf(w, "persons: %d before, %d after the import, %d dropped as idle for longer than %d days, %d now\n",
		before.Persons, after, a.Expired, days, now.Persons)
	if j.idle == idleKeep && idle > 0 {
		fmt.Fprintf(w, "kept %s idle for longer than %d days: the registry's next save drops them unless "+
			"\"registry expire idle persons\" is raised (serve --config netdata.conf)\n", counted(idle, "person", "persons"), days)
	}
	fmt.Fprintf(w, "%s now holds %s\n", j.dir, humanStats(now))
}

// importTarget is the registry an import writes: the directory's own when it holds a
// registry already, else a new one built in a temporary directory beside it and moved into
// place only when the import succeeded, so that a failed import creates nothing.
type importTarget struct {
	dir      string
	reg      *moduleRegistry
	existing bool     // the import goes into dir's registry itself
	scratch  string   // the new registry's temporary directory
	made     []string // parent directories created for it, deepest first
	done     bool
}

func openImportTarget(ctx context.Context, dir string) (*importTarget, error) {
	t := &importTarget{dir: dir}
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return nil, fmt.Errorf("%s is not a directory", dir)
	case err == nil:
		if t.existing, err = holdsRegistry(dir); err != nil {
			return nil, err
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	if t.existing {
		if t.reg, err = openRegistry(ctx, dir); err != nil {
			return nil, err
		}
		return t, nil
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if t.made, err = mkdirParents(parent); err != nil {
		return nil, err
	}
	if t.scratch, err = os.MkdirTemp(parent, "."+filepath.Base(filepath.Clean(dir))+".import-"); err != nil {
		t.abort(ctx)
		return nil, err
	}
	if t.reg, err = openRegistry(ctx, t.scratch); err != nil {
		t.abort(ctx)
		return nil, err
	}
	return t, nil
}

// commit makes the new registry dir's: the scratch directory becomes dir, or, when dir
// exists (empty, or with files that are not a registry's), its files move into dir.
func (t *importTarget) commit(ctx context.Context) error {
	if err := t.reg.close(ctx); err != nil {
		return err
	}
	t.reg = nil
	if t.existing {
		t.done = true
		return nil
	}
	if _, err := os.Stat(t.dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(t.scratch, t.dir); err != nil {
			return err
		}
	} else {
		entries, err := os.ReadDir(t.scratch)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Name() == host.LockName {
				continue
			}
			if err := os.Rename(filepath.Join(t.scratch, e.Name()), filepath.Join(t.dir, e.Name())); err != nil {
				return err
			}
		}
		os.RemoveAll(t.scratch)
	}
	t.done = true
	return nil
}

// abort closes the registry and removes what the import created, unless it committed.
func (t *importTarget) abort(ctx context.Context) {
	if t.reg != nil {
		t.reg.close(ctx)
		t.reg = nil
	}
	if t.done {
		return
	}
	if t.scratch != "" {
		os.RemoveAll(t.scratch)
	}
	for _, d := range t.made {
		os.Remove(d) // only if still empty
	}
}

// mkdirParents creates dir and its missing parents (private: 0700) and returns the ones it
// created, deepest first.
func mkdirParents(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return missing, nil
}

// holdsRegistry reports whether dir has any of a registry's files: its snapshots, settings
// or change log.
func holdsRegistry(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "registry.log") || isRotated(n, "registry.db") || isRotated(n, "registry.conf") {
			return true, nil
		}
	}
	return false, nil
}

// isRotated reports whether name is base.1, base.2 or base.3.
func isRotated(name, base string) bool {
	return len(name) == len(base)+2 && strings.HasPrefix(name, base+".") && name[len(base)+1] >= '1' && name[len(base)+1] <= '3'
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", stderr)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return usageError("export needs DIR FILE")
	}
	dir, err := dataDir(rest[0], false)
	if err != nil {
		return err
	}
	file := rest[1]
	if st, err := os.Stat(file); err == nil && st.IsDir() {
		// An existing directory gets netdata's name for the file.
		file = filepath.Join(file, "registry.db")
		if st, err := os.Stat(file); err == nil && st.IsDir() {
			return fmt.Errorf("%s is a directory", file)
		}
	}
	inside, err := sameDir(filepath.Dir(file), dir)
	if err != nil {
		return err
	}
	if inside {
		// The data directory's names are the registry's: an export there could replace one.
		return usageError("export FILE must be outside the data directory %s", dir)
	}
	// Read-only: a consistent online backup of a directory a server may be serving.
	reg, err := openReadOnly(ctx, dir)
	if err != nil {
		return err
	}
	defer reg.Close()
	info, err := reg.Export(ctx, file)
	if se := (*host.StatusError)(nil); errors.As(err, &se) {
		return errors.New(strings.TrimPrefix(se.Message, "registry: "))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %s (%s) to %s\n", counted(uint64(info.Lines), "line", "lines"), human.Bytes(int64(info.Bytes)), file)
	return nil
}

// sameDir reports whether a and b are the same directory.
func sameDir(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}
