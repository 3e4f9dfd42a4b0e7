package dirfs_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/dirfs"
)

func open(t *testing.T) (*dirfs.Dir, string) {
	t.Helper()
	dir := t.TempDir()
	d, err := dirfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d, dir
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	d, dir := open(t)
	if _, err := d.ReadFile("a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile of missing: %v", err)
	}
	if _, err := d.Size("a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Size of missing: %v", err)
	}
	if err := d.Sync("a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Sync of missing: %v", err)
	}
	ok(t, d.Remove("a"))
	ok(t, d.WriteFile("registry.db.1", []byte("a longer first content")))
	ok(t, d.WriteFile("registry.db.1", []byte("snapshot"))) // truncates
	ok(t, d.AppendFile("registry.log", []byte("rec1;")))
	ok(t, d.AppendFile("registry.log", []byte("rec2;")))
	ok(t, d.WriteFile("empty", nil))
	for _, name := range []string{"registry.db.1", "registry.log", "empty"} {
		ok(t, d.Sync(name))
	}
	for name, want := range map[string]string{"registry.db.1": "snapshot", "registry.log": "rec1;rec2;", "empty": ""} {
		got, err := d.ReadFile(name)
		if err != nil || string(got) != want {
			t.Errorf("ReadFile(%s) = %q, %v; want %q", name, got, err, want)
		}
		if n, err := d.Size(name); err != nil || n != int64(len(want)) {
			t.Errorf("Size(%s) = %d, %v", name, n, err)
		}
		if onDisk, _ := os.ReadFile(filepath.Join(dir, name)); string(onDisk) != want {
			t.Errorf("%s on disk: %q", name, onDisk)
		}
	}
	// Entries that are not the registry's are not listed.
	ok(t, os.Mkdir(filepath.Join(dir, "subdir"), 0o755))
	ok(t, os.WriteFile(filepath.Join(dir, "UPPER.txt"), nil, 0o644))
	names, err := d.List()
	if err != nil || !slices.Equal(names, []string{"empty", "registry.db.1", "registry.log"}) {
		t.Fatalf("List = %q, %v", names, err)
	}
	ok(t, d.Remove("registry.db.1"))
	ok(t, d.Remove("registry.db.1"))
	if _, err := os.Stat(filepath.Join(dir, "registry.db.1")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("removed file still there: %v", err)
	}
	if d.Path() != dir {
		t.Fatalf("Path = %q", d.Path())
	}
}

func TestNames(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "reg")
	ok(t, os.Mkdir(dir, 0o755))
	d, err := dirfs.Open(dir)
	ok(t, err)
	for _, name := range []string{"../x", "a/b", "", strings.Repeat("a", registry.MaxNameLen+1), "/etc/passwd", ".", "..", "a\\b", "A"} {
		errs := []error{d.WriteFile(name, []byte("x")), d.AppendFile(name, []byte("x")), d.Sync(name), d.Remove(name)}
		_, err := d.ReadFile(name)
		errs = append(errs, err)
		_, err = d.Size(name)
		errs = append(errs, err)
		for i, err := range errs {
			if !errors.Is(err, registry.ErrBadName) {
				t.Errorf("%q: call %d: %v, want ErrBadName", name, i, err)
			}
		}
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 1 {
		t.Errorf("files escaped the directory: %v", ents)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("rejected names created %v", ents)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	if _, err := dirfs.Open(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing dir: %v", err)
	}
	file := filepath.Join(dir, "file")
	ok(t, os.WriteFile(file, nil, 0o644))
	if _, err := dirfs.Open(file); err == nil || !strings.HasPrefix(err.Error(), "registry: ") {
		t.Errorf("Open of a file: %v", err)
	}
}

// The config registry over a real directory: rotation, verification, fallback.
func TestINIStoreOnDisk(t *testing.T) {
	d, dir := open(t)
	conf, err := registry.NewINIStore(d, registry.ConfigBase)
	ok(t, err)
	for i := range 4 {
		v := int64(i)
		ok(t, conf.Update("s", []registry.Entry{registry.LongEntry("v", &v)}))
	}
	names, _ := d.List()
	if !slices.Equal(names, []string{"registry.conf.1"}) { // 1, 2, 3, 1
		t.Fatalf("files %v", names)
	}
	// An interrupted write left a torn registry.conf.2: the current file still wins.
	ok(t, os.WriteFile(filepath.Join(dir, "registry.conf.2"), []byte("[s]\nv=9"), 0o644))
	var v int64
	ok(t, conf.Get("s", []registry.Entry{registry.LongEntry("v", &v)}))
	if v != 3 {
		t.Fatalf("v = %d, want 3", v)
	}
	// The current file rots: the other one does not verify either.
	ok(t, os.WriteFile(filepath.Join(dir, "registry.conf.1"), []byte("[s]\nv=3\n"), 0o644))
	_, c, err := conf.Read()
	if !errors.Is(err, registry.ErrCorrupt) || !strings.Contains(err.Error(), "registry.conf.2") || len(c.Rejected) != 2 {
		t.Fatalf("Read = %v (%v)", err, c)
	}
}

// dirfs runs inside the module: it must build for wasip1.
func TestBuildsForWasip1(t *testing.T) {
	if runtime.GOOS == "wasip1" {
		t.Skip("running under wasip1 already")
	}
	cmd := exec.Command("go", "vet", ".") // go test puts its go first in PATH
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=wasip1 GOARCH=wasm go vet: %v\n%s", err, out)
	}
}
