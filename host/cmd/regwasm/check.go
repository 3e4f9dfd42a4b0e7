package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/regwasm/regwasm/host"
)

// checkResult is what `regwasm check` found; --json prints it.
type checkResult struct {
	Dir     string            `json:"dir"`
	Healthy bool              `json:"healthy"`
	Files   []checkedFile     `json:"files"`
	Report  *host.CheckReport `json:"report"`
	// Holder names the live registry that holds the directory (the check still reads it:
	// snapshots are immutable and the log only grows), "" if none.
	Holder   string          `json:"holder,omitempty"`
	Settings json.RawMessage `json:"settings,omitempty"`
}

type checkedFile struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	CRC32  string `json:"crc32"` // IEEE, hex: tells copies apart when comparing directories
	Status string `json:"status"`
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError("check needs exactly one DIR")
	}
	res, err := checkDir(ctx, rest[0])
	if err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		printCheck(stdout, res)
	}
	if !res.Healthy {
		return exitCode(1)
	}
	return nil
}

// checkDir verifies a data directory without changing a byte of it and without its lock: the
// module, opened only to check (host.CheckDir), reads every file, verifies it and says what
// an open would load and whether anything acknowledged is lost. It works on a directory a
// running server holds (a snapshot a save is still writing is an unfinished save, not
// damage), and on one too damaged to open.
func checkDir(ctx context.Context, dir string) (*checkResult, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	rep, err := host.CheckDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	res := &checkResult{Dir: dir}
	if err := host.CheckLock(dir); errors.Is(err, host.ErrLocked) {
		res.Holder = err.Error()
	}
	res.Report, res.Healthy = &rep, rep.Healthy
	for _, f := range rep.Files {
		cf := checkedFile{Name: f.Name, Bytes: f.Bytes, Status: f.Status}
		if sum, err := fileCRC(filepath.Join(dir, f.Name)); err == nil {
			cf.CRC32 = sum
		}
		res.Files = append(res.Files, cf)
	}
	// Without a settings file there is nothing to show: an open would make one, with a new
	// machine GUID, which a read-only check must not report as the directory's.
	if rep.Config.Chosen != "" {
		if conf, err := readSettings(ctx, dir); err == nil {
			res.Settings = conf
		}
	}
	return res, nil
}

// readSettings reads the settings of dir read-only, "" when the registry cannot be opened.
func readSettings(ctx context.Context, dir string) (json.RawMessage, error) {
	r, err := host.Open(ctx, dir, host.WithReadOnly())
	if err != nil {
		return nil, err
	}
	defer r.Close()
	resp, err := r.Do(ctx, []host.Request{{Op: host.OpConfig}})
	if err != nil {
		return nil, err
	}
	return resp[0].Body, nil
}

func fileCRC(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return fmt.Sprintf("%08x", h.Sum32()), nil
}

func printCheck(w io.Writer, r *checkResult) {
	fmt.Fprintf(w, "directory %s\n", r.Dir)
	if r.Holder != "" {
		fmt.Fprintf(w, "  in use: %s (checked read-only)\n", r.Holder)
	}
	if len(r.Files) == 0 {
		fmt.Fprintln(w, "  no files: no registry here yet")
	}
	for _, f := range r.Files {
		fmt.Fprintf(w, "  %-18s %12d bytes  crc32 %s  %s\n", f.Name, f.Bytes, f.CRC32, f.Status)
	}
	rep := r.Report
	fmt.Fprintf(w, "open:     %s\n", rep.Open)
	printFileCheck(w, "snapshot", rep.Snapshot)
	printFileCheck(w, "config", rep.Config)
	fmt.Fprintf(w, "log:      %s to replay, %s", plural(rep.Log.Records, "record", "records"), plural(rep.Log.Bytes, "byte", "bytes"))
	if rep.Log.TornTail > 0 {
		fmt.Fprintf(w, ", an unfinished append of %s (an open cuts it)", plural(rep.Log.TornTail, "byte", "bytes"))
	}
	if rep.Log.Error != "" {
		fmt.Fprintf(w, ", ERROR: %s", rep.Log.Error)
	}
	fmt.Fprintln(w)
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "problem:  %s\n", p)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note:     %s\n", n)
	}
	if rep.Loss != "" {
		fmt.Fprintf(w, "LOSS:     %s\n          an open refuses this directory; regwasm recover DIR OUTDIR salvages what verifies\n", rep.Loss)
	}
	if len(r.Settings) == 0 && rep.Config.Chosen == "" {
		fmt.Fprintln(w, "settings: none stored (netdata's defaults apply until a server stores them)")
	}
	if len(r.Settings) > 0 {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(r.Settings))
		dec.UseNumber() // 1000000, not 1e+06
		if dec.Decode(&m) == nil {
			fmt.Fprintln(w, "settings:")
			for _, k := range sortedKeys(m) {
				fmt.Fprintf(w, "  %s = %v\n", k, m[k])
			}
		}
	}
	switch {
	case r.Healthy:
		fmt.Fprintln(w, "healthy")
	case rep.Loss == "":
		fmt.Fprintln(w, "NOT healthy (nothing acknowledged is lost: an open recovers exactly)")
	default:
		fmt.Fprintln(w, "NOT healthy")
	}
}

func printFileCheck(w io.Writer, label string, c host.FileCheck) {
	line := fmt.Sprintf("%-9s %s", label+":", c.Explain)
	if c.Chosen == "" && c.Explain == "" {
		line = fmt.Sprintf("%-9s none", label+":")
	}
	if c.Error != "" {
		line += ", ERROR: " + c.Error
	}
	fmt.Fprintln(w, strings.TrimSpace(line))
}
