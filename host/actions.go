package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Access records that person reached machine through url, the dashboard showing the machine
// as name (netdata's access action, now). person is the cookie's: uuid.Nil (no cookie, or one
// that did not parse) or one the registry does not know makes a new person, whose GUID the
// result carries. A refused access is a *StatusError.
func (r *Registry) Access(ctx context.Context, person, machine uuid.UUID, url, name string) (AccessResult, error) {
	resp, err := r.one(ctx, Request{Op: OpAccess, Person: personField(person), Machine: machine.String(), URL: url, Arg: name})
	if err != nil {
		return AccessResult{Person: parseGUID(resp.Person)}, err
	}
	return resp.Access()
}

// Delete removes deleteURL from person's URLs; machine and url are where the request was
// made, and url must be one of the person's too (netdata's delete action).
func (r *Registry) Delete(ctx context.Context, person, machine uuid.UUID, url, deleteURL string) error {
	_, err := r.one(ctx, Request{Op: OpDelete, Person: personField(person), Machine: machine.String(), URL: url, Arg: deleteURL})
	return err
}

// Search returns the URLs of machine forMachine, if person has accessed it (netdata's search
// action).
func (r *Registry) Search(ctx context.Context, person, machine uuid.UUID, url string, forMachine uuid.UUID) ([]URL, error) {
	resp, err := r.one(ctx, Request{Op: OpSearch, Person: personField(person), Machine: machine.String(), URL: url, Arg: forMachine.String()})
	if err != nil {
		return nil, err
	}
	return resp.URLs()
}

// Switch checks that person may adopt the identity to (both known and both have accessed
// machine) and returns the GUID to put in the cookie (netdata's switch action; nothing in the
// registry changes).
func (r *Registry) Switch(ctx context.Context, person, machine uuid.UUID, url string, to uuid.UUID) (uuid.UUID, error) {
	resp, err := r.one(ctx, Request{Op: OpSwitch, Person: personField(person), Machine: machine.String(), URL: url, Arg: to.String()})
	if err != nil {
		return uuid.Nil, err
	}
	return parseAnswerGUID(resp.Person)
}

// personField is the request's person: "" for uuid.Nil, which the module reads as no cookie.
func personField(person uuid.UUID) string {
	if person == uuid.Nil {
		return ""
	}
	return person.String()
}

// Hello returns the registry's greeting (netdata's hello action).
func (r *Registry) Hello(ctx context.Context) (Hello, error) {
	var h Hello
	resp, err := r.one(ctx, Request{Op: OpHello})
	if err != nil {
		return h, err
	}
	return h, decodeJSON(resp.Body, &h)
}

// Stats returns the registry's counters, the state of its files and the size of the module's
// memory.
func (r *Registry) Stats(ctx context.Context) (Stats, error) {
	if err := r.acquire(ctx); err != nil {
		return Stats{}, err
	}
	defer func() { <-r.sem }()
	resp, err := r.oneLocked(ctx, Request{Op: OpStats})
	if err != nil {
		return Stats{}, err
	}
	st, err := decodeStats(resp.Body)
	if r.inst != nil {
		st.ModuleMemory = uint64(r.inst.mem.Size())
		if st.Storage.WriteError != "" {
			// The module saw the nearest WASI error ("I/O error"); the host saw the real one.
			st.Storage.WriteError, _ = r.inst.dir.Explain(st.Storage.WriteError)
		}
	}
	st.Traps = uint64(r.traps)
	return st, err
}

// Settings returns the registry's settings (op config).
func (r *Registry) Settings(ctx context.Context) (Settings, error) {
	var s Settings
	resp, err := r.one(ctx, Request{Op: OpConfig})
	if err != nil {
		return s, err
	}
	return s, decodeJSON(resp.Body, &s)
}

// Configure changes settings from netdata.conf text: the keys of its [registry] section, in
// netdata's syntax (`key = value`, yes/no, durations). It returns the settings now in force,
// with the lines it ignored in Ignored (keys netdata reads that regwasm does not use, unknown
// keys); they are stored in the directory's config registry and last across restarts. A value
// of a key regwasm uses that does not parse is refused (a *StatusError matching ErrRefused,
// its message naming the line) and changes nothing.
func (r *Registry) Configure(ctx context.Context, netdataConf string) (Settings, error) {
	var s Settings
	resp, err := r.one(ctx, Request{Op: OpConfigure, Arg: netdataConf})
	if err != nil {
		return s, err
	}
	return s, decodeJSON(resp.Body, &s)
}

// Check verifies every file without changing any (op check).
func (r *Registry) Check(ctx context.Context) (CheckReport, error) {
	var rep CheckReport
	resp, err := r.one(ctx, Request{Op: OpCheck})
	if err != nil {
		return rep, err
	}
	return rep, decodeJSON(resp.Body, &rep)
}

// Expire purges the persons idle for longer than the configured days as of now, and returns
// how many went.
func (r *Registry) Expire(ctx context.Context, now time.Time) (int, error) {
	resp, err := r.one(ctx, Request{Op: OpExpire, When: now})
	if err != nil {
		return 0, err
	}
	var v struct {
		Expired int `json:"expired"`
	}
	return v.Expired, decodeJSON(resp.Body, &v)
}

// Names of the copies Import makes in the directory: outside the registry's own files,
// inside the module's alphabet.
const (
	importDBName  = "netdata-import-registry.db"
	importLogName = "netdata-import-registry-log.db"
)

// Import merges netdata's own files into the registry: netdataDB, a registry.db text file,
// and netdataLog, a registry-log.db (either may be ""). They are paths anywhere: the host
// copies them into the directory for the module, which reads only its directory, and removes
// the copies. The module saves a snapshot after the import, so it is durable when Import
// returns.
func (r *Registry) Import(ctx context.Context, netdataDB, netdataLog string) (ImportReport, error) {
	var rep ImportReport
	if err := r.acquire(ctx); err != nil {
		return rep, err
	}
	defer func() { <-r.sem }()
	if r.closed {
		return rep, ErrClosed
	}
	req := Request{Op: OpImport}
	for _, f := range []struct{ src, name string }{{netdataDB, importDBName}, {netdataLog, importLogName}} {
		if f.src == "" {
			continue
		}
		dst := filepath.Join(r.dir, f.name)
		if abs, _ := filepath.Abs(f.src); abs == dst {
			return rep, fmt.Errorf("host: import: %s is the name of the host's own copy; rename it", f.src)
		}
		defer os.Remove(dst)
		if err := copyFile(f.src, dst); err != nil {
			return rep, fmt.Errorf("host: import: %w", err)
		}
		if f.name == importDBName {
			req.Arg = f.name
		} else {
			req.Arg2 = f.name
		}
	}
	resp, err := r.oneLocked(ctx, req)
	if err != nil {
		return rep, err
	}
	if err := decodeJSON(resp.Body, &rep); err != nil {
		return rep, err
	}
	for i := range rep.Errors { // name the caller's files, not the copies
		switch rep.Errors[i].File {
		case importDBName:
			rep.Errors[i].File = netdataDB
		case importLogName:
			rep.Errors[i].File = netdataLog
		}
	}
	return rep, nil
}

// Export writes the registry as netdata's registry.db text to file, a path anywhere. The
// module answers the text and the host writes it, so it works on a registry opened
// WithReadOnly too: an online backup of a directory another process serves. An existing
// file is replaced only once the new one is complete and synced; a directory is refused.
func (r *Registry) Export(ctx context.Context, file string) (ExportInfo, error) {
	var info ExportInfo
	if err := r.acquire(ctx); err != nil {
		return info, err
	}
	defer func() { <-r.sem }()
	if r.closed {
		return info, ErrClosed
	}
	if abs, _ := filepath.Abs(file); filepath.Dir(abs) == r.dir {
		if name := filepath.Base(abs); name == LockName || strings.HasPrefix(name, "registry.") {
			return info, fmt.Errorf("host: export: %s would overwrite the registry's own files", file)
		}
	}
	if st, err := os.Stat(file); err == nil && st.IsDir() {
		return info, fmt.Errorf("host: export: %s is a directory", file)
	}
	resp, err := r.oneLocked(ctx, Request{Op: OpExport}) // no file name: the text is the answer
	if err != nil {
		return info, err
	}
	if err := writeFileAtomic(file, resp.Body); err != nil {
		return info, fmt.Errorf("host: export: %w", err)
	}
	return ExportInfo{File: file, Bytes: len(resp.Body), Lines: bytes.Count(resp.Body, []byte{'\n'})}, nil
}

// writeFileAtomic writes data to a temporary file in path's directory, syncs it and renames
// it over path: path is either what it was or all of data.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// one runs a single request and turns a refusal into a *StatusError.
func (r *Registry) one(ctx context.Context, req Request) (Response, error) {
	if err := r.acquire(ctx); err != nil {
		return Response{}, err
	}
	defer func() { <-r.sem }()
	return r.oneLocked(ctx, req)
}

// oneLocked is one for a caller that holds the instance.
func (r *Registry) oneLocked(ctx context.Context, req Request) (Response, error) {
	batch, err := AppendRequest(nil, &req)
	if err != nil {
		return Response{}, err
	}
	out, err := r.execLocked(ctx, func(in *instance) (int32, error) { return in.request(ctx, batch) })
	if err != nil {
		return Response{}, err
	}
	resps, err := ParseResponses(out)
	if err == nil && len(resps) != 1 {
		err = &moduleError{ErrInternal, fmt.Sprintf("%d responses to 1 request", len(resps))}
	}
	if err != nil {
		return Response{}, err
	}
	return resps[0], resps[0].Err()
}

func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	return out.Sync()
}
