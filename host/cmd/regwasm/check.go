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
	Report  *host.CheckReport `json:"report,omitempty"` // the module's op check, nil if it could not load
	// LoadError is why the module could not open the files, "" if it could.
	LoadError string `json:"load_error,omitempty"`
	// LoadRepairs are the changes opening the files made to the copy (a torn log tail cut,
	// a torn first save dropped): what the next start of a server will do to the real files.
	LoadRepairs []string        `json:"load_repairs,omitempty"`
	Settings    json.RawMessage `json:"settings,omitempty"`
}

type checkedFile struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
	CRC32 string `json:"crc32"` // IEEE, hex: tells copies apart when comparing directories
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

// checkDir verifies a data directory without changing it. The module's load repairs files
// (it cuts a torn log tail, drops a torn first save) and the module cannot check what it
// could not load, so the check runs on a private copy: the real files are only read, under
// the directory's lock so that no server writes them meanwhile. A directory a running server
// holds is reported as locked, not copied half-written.
func checkDir(ctx context.Context, dir string) (*checkResult, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	unlock, err := lockForReading(dir)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "regwasm-check-")
	if err != nil {
		unlock()
		return nil, err
	}
	defer os.RemoveAll(tmp)
	res := &checkResult{Dir: dir}
	res.Files, err = copyRegistryFiles(dir, tmp)
	unlock()
	if err != nil {
		return nil, err
	}
	reg, err := openRegistry(ctx, tmp)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		res.LoadError = err.Error()
		return res, nil
	}
	defer reg.close(ctx)
	res.LoadRepairs = compareCopy(res.Files, tmp)
	rep, err := reg.reg.Check(ctx)
	if err != nil {
		return nil, fmt.Errorf("op check: %w", err)
	}
	res.Report = &rep
	if conf, err := reg.settings(ctx); err == nil {
		res.Settings = conf
	}
	res.Healthy = rep.Healthy && len(res.LoadRepairs) == 0
	return res, nil
}

// copyRegistryFiles copies every regular file of dir but the lock into tmp and returns their
// names, sizes and checksums.
func copyRegistryFiles(dir, tmp string) ([]checkedFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []checkedFile
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == host.LockName {
			continue
		}
		f, err := copyWithCRC(filepath.Join(dir, e.Name()), filepath.Join(tmp, e.Name()))
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

func copyWithCRC(src, dst string) (checkedFile, error) {
	in, err := os.Open(src)
	if err != nil {
		return checkedFile{}, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return checkedFile{}, err
	}
	h := crc32.NewIEEE()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return checkedFile{Name: filepath.Base(src), Bytes: n, CRC32: fmt.Sprintf("%08x", h.Sum32())}, err
}

// compareCopy lists what opening changed in the copy.
func compareCopy(before []checkedFile, tmp string) []string {
	var repairs []string
	for _, f := range before {
		st, err := os.Stat(filepath.Join(tmp, f.Name))
		switch {
		case errors.Is(err, os.ErrNotExist):
			repairs = append(repairs, fmt.Sprintf("removes %s (%s)", f.Name, counted(uint64(f.Bytes), "byte", "bytes")))
		case err == nil && st.Size() < f.Bytes:
			repairs = append(repairs, fmt.Sprintf("cuts %s off %s", counted(uint64(f.Bytes-st.Size()), "torn byte", "torn bytes"), f.Name))
		}
	}
	return repairs
}

func printCheck(w io.Writer, r *checkResult) {
	fmt.Fprintf(w, "directory %s\n", r.Dir)
	if len(r.Files) == 0 {
		fmt.Fprintln(w, "  no files: an empty registry")
	}
	for _, f := range r.Files {
		fmt.Fprintf(w, "  %-28s %12d bytes  crc32 %s\n", f.Name, f.Bytes, f.CRC32)
	}
	if r.LoadError != "" {
		fmt.Fprintf(w, "load:     FAILED: %s\n", r.LoadError)
	}
	if rep := r.Report; rep != nil {
		printFileCheck(w, "snapshot", rep.Snapshot)
		printFileCheck(w, "config", rep.Config)
		fmt.Fprintf(w, "log:      %s, %s", plural(rep.Log.Records, "record", "records"), plural(rep.Log.Bytes, "byte", "bytes"))
		if rep.Log.TornTail > 0 {
			fmt.Fprintf(w, ", torn tail of %s", plural(rep.Log.TornTail, "byte", "bytes"))
		}
		if rep.Log.Error != "" {
			fmt.Fprintf(w, ", ERROR: %s", rep.Log.Error)
		}
		fmt.Fprintln(w)
	}
	for _, s := range r.LoadRepairs {
		fmt.Fprintf(w, "repair:   loading %s\n", s)
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
	if r.Healthy {
		fmt.Fprintln(w, "healthy")
	} else {
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
