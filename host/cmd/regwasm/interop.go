package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/regwasm/regwasm/host"
)

// The names under which netdata's files are copied into the data directory for the module,
// which reads and writes only its own directory, under names of its alphabet. They differ
// from host.Import's so that the two never meet.
const (
	importDBName  = "netdata-import.db"
	importLogName = "netdata-import-log.db"
	exportName    = "netdata-export.db"
)

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", stderr)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) < 2 || len(rest) > 3 {
		return usageError("import needs DIR netdata-registry.db [registry-log.db]")
	}
	dir, err := dataDir(rest[0], true)
	if err != nil {
		return err
	}
	reg, err := openRegistry(ctx, dir)
	if err != nil {
		return err
	}
	defer reg.close(ctx)
	req := host.Request{Op: host.OpImport}
	copies := []struct {
		src, name string
		arg       *string
	}{{rest[1], importDBName, &req.Arg}}
	if len(rest) == 3 {
		copies = append(copies, struct {
			src, name string
			arg       *string
		}{rest[2], importLogName, &req.Arg2})
	}
	for _, c := range copies {
		dst := filepath.Join(dir, c.name)
		defer os.Remove(dst)
		if err := copyWithProgress(stdout, "copying "+filepath.Base(c.src), c.src, dst); err != nil {
			return err
		}
		*c.arg = c.name
	}
	fmt.Fprintln(stdout, "importing...")
	resp, err := reg.one(ctx, req)
	if err != nil {
		return err
	}
	if err := resp.Err(); err != nil {
		return fmt.Errorf("import refused: %w", err)
	}
	// The module committed the import with a snapshot of its own before answering.
	if err := printImport(stdout, resp.Body); err != nil {
		return err
	}
	return printStatsLine(ctx, stdout, reg)
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
	inside, err := sameDir(filepath.Dir(rest[1]), dir)
	if err != nil {
		return err
	}
	if inside {
		// The data directory's names are the registry's: an export there could replace one.
		return usageError("export FILE must be outside the data directory %s", dir)
	}
	reg, err := openRegistry(ctx, dir)
	if err != nil {
		return err
	}
	defer reg.close(ctx)
	src := filepath.Join(dir, exportName)
	defer os.Remove(src)
	resp, err := reg.one(ctx, host.Request{Op: host.OpExport, Arg: exportName})
	if err != nil {
		return err
	}
	if err := resp.Err(); err != nil {
		return fmt.Errorf("export refused: %w", err)
	}
	if err := copyWithProgress(stdout, "writing "+filepath.Base(rest[1]), src, rest[1]); err != nil {
		return err
	}
	return printExport(stdout, rest[1], resp.Body)
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

// copyWithProgress copies src to dst through a temporary file renamed into place, so that a
// failed copy never leaves a half-written dst, and shows the copy's progress.
func copyWithProgress(stdout io.Writer, label, src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bar := newProgress(stdout, label, st.Size(), humanBytes)
	if _, err = io.Copy(tmp, progressReader{r: in, p: bar}); err != nil {
		return err
	}
	bar.finish()
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// importAnswer is the module's answer to an import (registry.NetdataReport).
type importAnswer struct {
	Persons     uint64 `json:"persons"`
	Machines    uint64 `json:"machines"`
	PersonURLs  uint64 `json:"person_urls"`
	MachineURLs uint64 `json:"machine_urls"`
	Accesses    uint64 `json:"accesses"`
	Deletes     uint64 `json:"deletes"`
	Expired     uint64 `json:"expired"`
	Lines       uint64 `json:"lines"`
	Skipped     uint64 `json:"skipped"`
	Errors      []struct {
		File   string `json:"file"`
		Line   int    `json:"line"`
		Reason string `json:"reason"`
	} `json:"errors"`
}

// shownSkips is how many skipped lines import lists (the module reports up to 100).
const shownSkips = 10

func printImport(w io.Writer, body []byte) error {
	var a importAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("reading the import answer %.200q: %w", body, err)
	}
	fmt.Fprintf(w, "imported %s lines: %s persons, %s machines, %s person-URLs, %s machine-URLs, %s accesses, %s deletes\n",
		humanCount(a.Lines), humanCount(a.Persons), humanCount(a.Machines), humanCount(a.PersonURLs),
		humanCount(a.MachineURLs), humanCount(a.Accesses), humanCount(a.Deletes))
	if a.Expired > 0 {
		fmt.Fprintf(w, "expired %s persons idle for longer than \"registry expire idle persons\"\n", humanCount(a.Expired))
	}
	if a.Skipped > 0 {
		fmt.Fprintf(w, "skipped %s lines netdata would skip too:\n", humanCount(a.Skipped))
		for i, e := range a.Errors {
			if i == shownSkips {
				fmt.Fprintf(w, "  ...\n")
				break
			}
			fmt.Fprintf(w, "  %s:%d: %s\n", e.File, e.Line, e.Reason)
		}
	}
	return nil
}

func printExport(w io.Writer, file string, body []byte) error {
	var a struct {
		Bytes int64  `json:"bytes"`
		Lines uint64 `json:"lines"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("reading the export answer %.200q: %w", body, err)
	}
	fmt.Fprintf(w, "exported %s lines (%s) to %s\n", humanCount(a.Lines), humanBytes(a.Bytes), file)
	return nil
}
