package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestAccess(t *testing.T) {
	ctx := context.Background()
	r := open(t, t.TempDir())
	before := time.Now().Truncate(time.Second)
	a := access(t, r, uuid.Nil, m1, u1, "one")
	if a.Person.Version() != 7 {
		t.Fatalf("new person GUID %s, want a version 7 UUID", a.Person)
	}
	if len(a.URLs) != 1 || a.URLs[0].Machine != m1 || a.URLs[0].URL != u1 || a.URLs[0].Usages != 1 ||
		a.URLs[0].Name != "one" || a.URLs[0].LastAccess.Before(before) {
		t.Fatalf("urls %+v", a.URLs)
	}
	b := access(t, r, a.Person, m1, u1, "one")
	if b.Person != a.Person || len(b.URLs) != 1 || b.URLs[0].Usages != 2 {
		t.Fatalf("second access %+v", b)
	}
	// An unknown cookie is a new person, never the GUID the client sent.
	unknown := uuid.MustParse("0a0a0a0a-0000-4000-8000-00000000000a")
	c := access(t, r, unknown, m2, u2, "two")
	if c.Person == a.Person || c.Person == unknown {
		t.Fatalf("unknown cookie kept: %+v", c)
	}
	for _, tc := range []struct {
		machine uuid.UUID
		url     string
		status  int
	}{{uuid.Nil, u1, 400}, {m1, "ftp://one/", 400}, {m1, "", 400}} {
		_, err := r.Access(ctx, a.Person, tc.machine, tc.url, "x")
		var se *StatusError
		if !errors.As(err, &se) || se.Status != tc.status || se.Action != "access" || !errors.Is(err, ErrRefused) {
			t.Fatalf("access %s %q: %v, want status %d", tc.machine, tc.url, err, tc.status)
		}
	}
	// Raw requests carry what a cookie held, parsed or not: an invalid one is a new person.
	resps, err := r.Do(ctx, []Request{{Op: OpAccess, Person: "not-a-guid", Machine: "zzz", URL: u1, Arg: "x"},
		{Op: OpAccess, Person: "not-a-guid", Machine: s1, URL: u1, Arg: "x"}})
	if err != nil || resps[0].Status != 400 || resps[1].Status != 200 || resps[1].Person == "not-a-guid" {
		t.Fatalf("raw accesses: %+v %v", resps, err)
	}
	if s := stats(t, r); s.Persons != 3 || s.Machines != 2 || s.Accesses != 4 || s.URLs != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDoQuietAndWhen(t *testing.T) {
	ctx := context.Background()
	r := open(t, t.TempDir())
	resps, err := r.Do(ctx, []Request{
		{Op: OpAccess, Quiet: true, When: at, Machine: s1, URL: u1, Arg: "one"},
		{Op: OpHello},
		{Op: OpSearch, Person: "nobody", Machine: s1, URL: u1, Arg: s1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resps) != 3 || resps[0].Status != 200 || len(resps[0].Body) != 0 || len(resps[0].Person) != 36 {
		t.Fatalf("quiet access %+v", resps)
	}
	if resps[1].Status != 200 || resps[2].Status != 404 || resps[2].Err() == nil || resps[1].Err() != nil {
		t.Fatalf("hello, search: %+v %+v", resps[1], resps[2])
	}
	p := resps[0].Person
	later := at.Add(time.Hour)
	resps, err = r.Do(ctx, []Request{{Op: OpAccess, When: later, Person: p, Machine: s1, URL: u1, Arg: "one"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := resps[0].Access()
	if err != nil || res.Person.String() != p || len(res.URLs) != 1 || !res.URLs[0].LastAccess.Equal(later) || res.URLs[0].Usages != 2 {
		t.Fatalf("access at %v: %+v %v", later, res, err)
	}
}

func TestSearchSwitchDelete(t *testing.T) {
	ctx := context.Background()
	r := open(t, t.TempDir())
	p1 := access(t, r, uuid.Nil, m1, u1, "one").Person
	p2 := access(t, r, uuid.Nil, m1, u1, "one").Person
	access(t, r, p2, m2, u2, "two")

	urls, err := r.Search(ctx, p1, m1, u1, m1)
	if err != nil || len(urls) != 1 || urls[0].URL != u1 || urls[0].Usages != 2 {
		t.Fatalf("search: %+v %v", urls, err)
	}
	wantStatus := func(err error, status int) {
		t.Helper()
		var se *StatusError
		if !errors.As(err, &se) || se.Status != status {
			t.Fatalf("%v, want status %d", err, status)
		}
	}
	_, err = r.Search(ctx, p1, m1, u1, m2)
	wantStatus(err, 404)

	if to, err := r.Switch(ctx, p1, m1, u1, p2); err != nil || to != p2 {
		t.Fatalf("switch: %q %v", to, err)
	}
	_, err = r.Switch(ctx, machine(99), m1, u1, p2)
	wantStatus(err, 430)
	_, err = r.Switch(ctx, p1, m2, u2, p2)
	wantStatus(err, 433)

	if err := r.Delete(ctx, p2, m2, u2, u1); err != nil {
		t.Fatal(err)
	}
	wantStatus(r.Delete(ctx, p2, m2, u2, u1), 400)
	if res := access(t, r, p2, m2, u2, "two"); len(res.URLs) != 1 || res.URLs[0].URL != u2 {
		t.Fatalf("after delete: %+v", res.URLs)
	}
}

func TestHelloSettingsCheck(t *testing.T) {
	ctx := context.Background()
	r := open(t, t.TempDir())
	set, err := r.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !set.Enabled || set.LogSync != "always" || set.MaxURLLength != 1024 || len(set.MachineGUID) != 36 {
		t.Fatalf("settings %+v", set)
	}
	// Every key the module answers has a field: decode strictly.
	resp, err := r.one(ctx, Request{Op: OpConfig})
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&Settings{}); err != nil {
		t.Fatalf("settings has no field for a key: %v in %s", err, resp.Body)
	}
	h, err := r.Hello(ctx)
	if err != nil || h.MachineGUID.String() != set.MachineGUID || h.Registry != set.RegistryToAnnounce || h.Hostname == "" {
		t.Fatalf("hello %+v %v, settings %+v", h, err, set)
	}
	rep, err := r.Check(ctx)
	if err != nil || !rep.Healthy || rep.Snapshot.Chosen != "registry.db.1" || rep.Config.Chosen != "registry.conf.1" {
		t.Fatalf("check %+v %v", rep, err)
	}
	access(t, r, uuid.Nil, m1, u1, "one")
	if _, err := r.Save(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err = r.Check(ctx)
	if err != nil || !rep.Healthy || rep.Snapshot.Chosen != "registry.db.2" || rep.Log.Records != 0 || len(rep.Files) != 5 {
		t.Fatalf("check after save %+v %v", rep, err)
	}
}

func TestPersistence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := open(t, dir)
	p := access(t, r, uuid.Nil, m1, u1, "one").Person
	access(t, r, p, m2, u2, "two")
	info, err := r.Save(ctx)
	if err != nil || info.File != "registry.db.2" || info.Seq != 2 || info.Bytes == 0 {
		t.Fatalf("save %+v %v", info, err)
	}
	access(t, r, p, m1, u1, "one") // in the log only
	before := stats(t, r)
	if before.Storage.Snapshot != "registry.db.2" || before.Storage.SavedSeq != 2 || before.Storage.LogRecords != 1 ||
		before.Storage.LastSave.IsZero() {
		t.Fatalf("storage %+v", before.Storage)
	}
	for _, name := range []string{"registry.db.1", "registry.db.2", "registry.log.1", "registry.log.2", "registry.conf.1", LockName} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	r = open(t, dir)
	after := stats(t, r)
	same := func(a, b Stats) bool {
		return a.Persons == b.Persons && a.Machines == b.Machines && a.URLs == b.URLs && a.Accesses == b.Accesses &&
			a.PersonURLs == b.PersonURLs && a.MachineURLs == b.MachineURLs && a.Storage.Seq == b.Storage.Seq &&
			a.Storage.Snapshot == b.Storage.Snapshot
	}
	if !same(before, after) || after.Accesses != 3 {
		t.Fatalf("reopened %+v, was %+v", after, before)
	}
	loaded, err := r.Load(ctx)
	if err != nil || !same(loaded, after) {
		t.Fatalf("load %+v %v", loaded, err)
	}
	if res := access(t, r, p, m1, u1, "one"); res.Person != p || len(res.URLs) != 2 {
		t.Fatalf("person after reopen %+v", res)
	}
}

func TestExpire(t *testing.T) {
	ctx := context.Background()
	r := open(t, t.TempDir())
	old := time.Now().AddDate(-2, 0, 0)
	if _, err := r.Do(ctx, []Request{{Op: OpAccess, When: old, Machine: s1, URL: u1, Arg: "one"}}); err != nil {
		t.Fatal(err)
	}
	access(t, r, uuid.Nil, m2, u2, "two")
	n, err := r.Expire(ctx, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("expired %d %v, want 1", n, err)
	}
	if s := stats(t, r); s.Persons != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBatchRejectedWhole(t *testing.T) {
	ctx := context.Background()
	r := open(t, t.TempDir())
	batch, err := AppendRequest(nil, &Request{Op: OpAccess, Machine: s1, URL: u1, Arg: "one"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{{'?', 0, 0}, {'a', 0, 0, 200}, {'t'}} {
		_, err := r.Call(ctx, append(batch[:len(batch):len(batch)], bad...))
		if !errors.Is(err, ErrBadRequest) {
			t.Fatalf("batch + %q: %v, want ErrBadRequest", bad, err)
		}
	}
	if _, err := r.Call(ctx, make([]byte, MaxBatchLength+1)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("oversized batch: %v", err)
	}
	if s := stats(t, r); s.Accesses != 0 || s.Persons != 0 {
		t.Fatalf("a rejected batch changed the registry: %+v", s)
	}
	// The error message is the module's, not leftovers of earlier results or messages.
	_, err = r.Call(ctx, append(bytes.Repeat(batch, 100), '?', 0, 0))
	if !errors.Is(err, ErrBadRequest) || !strings.HasSuffix(err.Error(), "unknown op at offset "+strconv.Itoa(100*len(batch))) {
		t.Fatalf("long message %q", err)
	}
	_, err = r.Call(ctx, []byte{'?', 0, 0})
	if want := "host: malformed request: registry: malformed request: unknown op at offset 0"; err == nil || err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
	out, err := r.Call(ctx, nil)
	if err != nil || len(out) != 0 {
		t.Fatalf("empty batch: %q %v", out, err)
	}
}

func TestImportExport(t *testing.T) {
	ctx := context.Background()
	src := open(t, t.TempDir())
	p := access(t, src, uuid.Nil, m1, u1, "one").Person
	access(t, src, p, m2, u2, "two")
	access(t, src, uuid.Nil, m2, u2, "two")
	file := filepath.Join(t.TempDir(), "registry.db")
	info, err := src.Export(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(file); err != nil || len(data) != info.Bytes || info.File != file || info.Lines == 0 {
		t.Fatalf("export %+v: %d bytes, %v", info, len(data), err)
	}
	dst := open(t, t.TempDir())
	rep, err := dst.Import(ctx, file, "")
	if err != nil || rep.Persons != 2 || rep.Machines != 2 || rep.Skipped != 0 {
		t.Fatalf("import %+v %v", rep, err)
	}
	a, b := stats(t, src), stats(t, dst)
	if a.Persons != b.Persons || a.Machines != b.Machines || a.PersonURLs != b.PersonURLs || a.URLs != b.URLs {
		t.Fatalf("imported %+v, exported %+v", b, a)
	}
	for _, r := range []*Registry{src, dst} {
		for _, name := range []string{importDBName, importLogName} {
			if _, err := os.Stat(filepath.Join(r.Dir(), name)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s left in %s: %v", name, r.Dir(), err)
			}
		}
	}
	if _, err := src.Export(ctx, filepath.Join(src.Dir(), "registry.log")); err == nil {
		t.Fatal("export over the registry's log succeeded")
	}
	if _, err := src.Export(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("export onto a directory: %v", err)
	}
	if _, err := dst.Import(ctx, filepath.Join(t.TempDir(), "missing"), ""); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("import of a missing file: %v", err)
	}
	// A bad line is reported against the caller's file; a file with no good line is refused.
	data, _ := os.ReadFile(file)
	bad := filepath.Join(t.TempDir(), "bad.db")
	if err := os.WriteFile(bad, append(data, "Q nonsense\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = open(t, t.TempDir()).Import(ctx, bad, "")
	if err != nil || rep.Skipped != 1 || len(rep.Errors) != 1 || rep.Errors[0].File != bad || rep.Errors[0].Line != info.Lines+1 {
		t.Fatalf("import of a bad line: %+v %v", rep, err)
	}
	if err := os.WriteFile(bad, []byte("Q nonsense\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err = dst.Import(ctx, bad, ""); !errors.Is(err, ErrRefused) {
		t.Fatalf("import of nonsense: %v", err)
	}
}

func TestCompilationCache(t *testing.T) {
	ctx := context.Background()
	cache := testCache
	if err := Initialize(ctx, WithCompilationCache(cache)); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(cache)
	if err != nil || len(entries) == 0 {
		t.Fatalf("nothing cached in %s: %v", cache, err)
	}
	// Opens with the same cache share the compiled module.
	t0 := time.Now()
	r := open(t, t.TempDir(), WithCompilationCache(cache))
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("open took %v", d)
	}
	access(t, r, uuid.Nil, m1, u1, "one")
	// A cache that cannot be made or used: TestCompilationCacheUnavailable.
}

func TestOpenNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), file); err == nil {
		t.Fatal("opened a regular file as a directory")
	}
}

func TestConfigure(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := open(t, dir)
	set, err := r.Configure(ctx, "[global]\n\thostname = x\n[registry]\n\tmax URL name length = 12\n\tlog sync = every 10\n\tuse mmap = no\n")
	if err != nil || set.MaxNameLength != 12 || set.LogSync != "every 10" {
		t.Fatalf("configure: %+v %v", set, err)
	}
	if want := []IgnoredLine{{Line: 6, Key: "use mmap", Why: "not used by regwasm"}}; !slices.Equal(set.Ignored, want) {
		t.Fatalf("ignored %+v, want %+v", set.Ignored, want)
	}
	got := access(t, r, uuid.Nil, m1, u1, "a name longer than twelve")
	if len(got.URLs) != 1 || got.URLs[0].Name != "a name longe" {
		t.Fatalf("the new name limit is not in force: %+v", got.URLs)
	}
	_, err = r.Configure(ctx, "[registry]\n\tmax URL name length = twelve\n")
	var se *StatusError
	if !errors.Is(err, ErrRefused) || !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Message, "line 2") {
		t.Fatalf("a bad value: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = open(t, dir)
	if set, err := r.Settings(ctx); err != nil || set.MaxNameLength != 12 || set.LogSync != "every 10" {
		t.Fatalf("after reopen: %+v %v", set, err)
	}
}
