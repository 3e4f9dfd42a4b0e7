package registry

import (
	"errors"
	"io/fs"
	"slices"
	"testing"
)

// memGet returns the content of name, or "<none>" if it does not exist.
func memGet(t *testing.T, s Storage, name string) string {
	t.Helper()
	data, err := s.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "<none>"
	}
	if err != nil {
		t.Fatalf("ReadFile(%s): %v", name, err)
	}
	return string(data)
}

func stOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMemStorageBasics(t *testing.T) {
	var s MemStorage
	if _, err := s.ReadFile("a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile of missing: %v", err)
	}
	if _, err := s.Size("a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Size of missing: %v", err)
	}
	if err := s.Sync("a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Sync of missing: %v", err)
	}
	stOK(t, s.Remove("a"))
	buf := []byte("hello")
	stOK(t, s.WriteFile("b", buf))
	buf[0] = 'j' // the store keeps its own copy
	stOK(t, s.AppendFile("a", []byte("x")))
	stOK(t, s.AppendFile("a", []byte("yz")))
	stOK(t, s.WriteFile("c", nil))
	got, _ := s.ReadFile("b")
	got[1] = 'u' // and hands out copies
	if memGet(t, &s, "a") != "xyz" || memGet(t, &s, "b") != "hello" || memGet(t, &s, "c") != "" {
		t.Fatalf("contents: %q %q %q", memGet(t, &s, "a"), memGet(t, &s, "b"), memGet(t, &s, "c"))
	}
	if n, err := s.Size("a"); n != 3 || err != nil {
		t.Fatalf("Size = %d, %v", n, err)
	}
	names, err := s.List()
	if err != nil || !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("List = %q, %v", names, err)
	}
	stOK(t, s.Remove("b"))
	if names, _ := s.List(); !slices.Equal(names, []string{"a", "c"}) {
		t.Fatalf("List after Remove = %q", names)
	}
	if s.Ops() != 7 { // sync and remove of a missing file count too
		t.Fatalf("Ops = %d, want 7", s.Ops())
	}
}

func TestMemStorageBadNames(t *testing.T) {
	var s MemStorage
	for _, name := range []string{"", "../x", "a/b", "X"} {
		errs := []error{s.WriteFile(name, nil), s.AppendFile(name, nil), s.Sync(name), s.Remove(name)}
		_, err := s.ReadFile(name)
		errs = append(errs, err)
		_, err = s.Size(name)
		errs = append(errs, err)
		for i, err := range errs {
			if !errors.Is(err, ErrBadName) {
				t.Errorf("%q: call %d: %v, want ErrBadName", name, i, err)
			}
		}
	}
	if s.Ops() != 0 {
		t.Errorf("rejected names counted as ops: %d", s.Ops())
	}
}

func TestMemStorageCrashModel(t *testing.T) {
	var s MemStorage
	stOK(t, s.WriteFile("new", []byte("never synced")))
	stOK(t, s.WriteFile("kept", []byte("v1")))
	stOK(t, s.Sync("kept"))
	stOK(t, s.WriteFile("reverted", []byte("v1")))
	stOK(t, s.Sync("reverted"))
	stOK(t, s.WriteFile("reverted", []byte("v2 unsynced")))
	stOK(t, s.AppendFile("log", []byte("ab")))
	stOK(t, s.Sync("log"))
	stOK(t, s.AppendFile("log", []byte("cd")))
	stOK(t, s.WriteFile("gone", []byte("x")))
	stOK(t, s.Sync("gone"))
	stOK(t, s.Remove("gone"))

	c := s.Crash()
	want := map[string]string{"new": "<none>", "kept": "v1", "reverted": "v1", "log": "ab", "gone": "<none>"}
	for name, w := range want {
		if got := memGet(t, c, name); got != w {
			t.Errorf("after crash %s = %q, want %q", name, got, w)
		}
	}
	if memGet(t, &s, "reverted") != "v2 unsynced" || memGet(t, &s, "log") != "abcd" {
		t.Error("Crash changed the store it was called on")
	}
	if c.Ops() != 0 {
		t.Errorf("restarted store has Ops %d", c.Ops())
	}
}

func TestMemStorageFailAfter(t *testing.T) {
	var s MemStorage
	stOK(t, s.WriteFile("a", []byte("1")))
	s.FailAfter(2)
	stOK(t, s.Sync("a"))
	if err := s.WriteFile("a", []byte("2")); !errors.Is(err, ErrCrashed) {
		t.Fatalf("2nd op: %v, want ErrCrashed", err)
	}
	if !s.Crashed() {
		t.Fatal("not Crashed")
	}
	for i, err := range []error{s.Remove("a"), s.Sync("a"), s.AppendFile("b", nil)} {
		if !errors.Is(err, ErrCrashed) {
			t.Errorf("op %d after the crash: %v", i, err)
		}
	}
	if _, err := s.ReadFile("a"); !errors.Is(err, ErrCrashed) {
		t.Errorf("read after the crash: %v", err)
	}
	if _, err := s.List(); !errors.Is(err, ErrCrashed) {
		t.Errorf("list after the crash: %v", err)
	}
	if got := memGet(t, s.Crash(), "a"); got != "1" {
		t.Errorf("after crash a = %q, want the synced 1", got)
	}
}

func TestMemStorageTear(t *testing.T) {
	var s MemStorage
	stOK(t, s.AppendFile("log", []byte("ab")))
	stOK(t, s.Sync("log"))
	stOK(t, s.AppendFile("log", []byte("cd")))
	stOK(t, s.WriteFile("snap", []byte("old")))
	stOK(t, s.Sync("snap"))

	a := s.Clone()
	a.TearAfter(1, 1)
	if err := a.AppendFile("log", []byte("ef")); !errors.Is(err, ErrCrashed) || !a.Crashed() {
		t.Fatalf("torn append: %v", err)
	}
	if got := memGet(t, a.Crash(), "log"); got != "abcde" {
		t.Errorf("torn append left %q, want abcde", got)
	}

	w := s.Clone()
	w.TearAfter(1, 2)
	if err := w.WriteFile("snap", []byte("new content")); !errors.Is(err, ErrCrashed) {
		t.Fatalf("torn write: %v", err)
	}
	if got := memGet(t, w.Crash(), "snap"); got != "ne" {
		t.Errorf("torn write left %q, want ne", got)
	}

	k := s.Clone()
	k.TearAfter(1, 99) // k past the end: the whole op, then the crash
	_ = k.WriteFile("fresh", []byte("abc"))
	if got := memGet(t, k.Crash(), "fresh"); got != "abc" {
		t.Errorf("tear past the end left %q", got)
	}

	y := s.Clone()
	y.TearAfter(1, 1) // not a write: a plain crash
	if err := y.Sync("log"); !errors.Is(err, ErrCrashed) {
		t.Fatalf("torn sync: %v", err)
	}
	if got := memGet(t, y.Crash(), "log"); got != "ab" {
		t.Errorf("crash at sync left %q, want ab", got)
	}
}

func TestMemStorageFailOnce(t *testing.T) {
	var s MemStorage
	eio := errors.New("registry: test I/O error")
	s.FailOnce(2, eio)
	stOK(t, s.WriteFile("a", []byte("1")))
	if err := s.Sync("a"); !errors.Is(err, eio) {
		t.Fatalf("2nd op: %v", err)
	}
	if s.Crashed() {
		t.Fatal("FailOnce crashed the store")
	}
	if got := memGet(t, s.Crash(), "a"); got != "<none>" {
		t.Fatalf("failed sync made a durable: %q", got)
	}
	stOK(t, s.Sync("a"))
	if got := memGet(t, s.Crash(), "a"); got != "1" {
		t.Fatalf("after retried sync: %q", got)
	}
}

func TestMemStorageQuota(t *testing.T) {
	var s MemStorage
	s.SetQuota(10)
	stOK(t, s.WriteFile("a", []byte("12345678")))
	if err := s.AppendFile("a", []byte("abcde")); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("append over quota: %v", err)
	}
	if got := memGet(t, &s, "a"); got != "12345678ab" {
		t.Fatalf("partial append kept %q", got)
	}
	if err := s.WriteFile("b", []byte("x")); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("write when full: %v", err)
	}
	if got := memGet(t, &s, "b"); got != "" {
		t.Fatalf("write when full left %q, want an empty file", got)
	}
	stOK(t, s.WriteFile("a", []byte("123"))) // rewriting frees space
	stOK(t, s.WriteFile("b", []byte("1234567")))
	stOK(t, s.Remove("a"))
	stOK(t, s.AppendFile("b", []byte("abc")))
}

func TestMemStorageClone(t *testing.T) {
	var s MemStorage
	stOK(t, s.WriteFile("log", make([]byte, 0, 64))) // spare capacity invites aliasing
	stOK(t, s.AppendFile("log", []byte("ab")))
	stOK(t, s.Sync("log"))
	s.FailAfter(3)
	c := s.Clone()
	stOK(t, s.AppendFile("log", []byte("X")))
	stOK(t, c.AppendFile("log", []byte("Y")))
	if memGet(t, &s, "log") != "abX" || memGet(t, c, "log") != "abY" {
		t.Fatalf("clones share data: %q %q", memGet(t, &s, "log"), memGet(t, c, "log"))
	}
	if memGet(t, s.Crash(), "log") != "ab" || memGet(t, c.Crash(), "log") != "ab" {
		t.Fatal("durable state not cloned")
	}
	stOK(t, c.AppendFile("log", nil))
	if err := c.AppendFile("log", nil); !errors.Is(err, ErrCrashed) || s.Crashed() {
		t.Fatalf("fault plan not cloned, or shared: %v, original crashed %v", err, s.Crashed())
	}
}
