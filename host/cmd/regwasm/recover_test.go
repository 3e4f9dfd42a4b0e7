package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regwasm/regwasm/host"
)

func runRecoverCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	rc := run(t.Context(), append([]string{"recover"}, args...), &out, &out)
	return rc, out.String()
}

// TestRecoverDamaged: a directory whose newest log segment is damaged in the middle is
// refused by every open; recover salvages what verifies into a new directory, says exactly
// which changes were lost, and leaves the damaged one as it was.
func TestRecoverDamaged(t *testing.T) {
	dir := makeDataDir(t)
	seg := currentLog(t, dir)
	b, _ := os.ReadFile(seg)
	b[40] ^= 0x01 // the first record after the segment's header
	writeFile(t, seg, string(b))
	before := readAll(t, dir)
	if _, err := host.Open(t.Context(), dir); !errors.Is(err, host.ErrCorrupt) || !strings.Contains(err.Error(), filepath.Base(seg)) {
		t.Fatalf("open of the damaged directory: %v", err)
	}
	out := filepath.Join(t.TempDir(), "salvaged")
	rc, text := runRecoverCmd(t, dir, out)
	if rc != 0 || !strings.Contains(text, "LOST: changes 3 to 4 (2 changes)") || !strings.Contains(text, "now holds") {
		t.Fatalf("exit %d\n%s", rc, text)
	}
	after := readAll(t, dir)
	for name, content := range before {
		if after[name] != content {
			t.Fatalf("recover changed %s in the damaged directory", name)
		}
	}
	rep, err := host.CheckDir(t.Context(), out)
	if err != nil || !rep.Healthy {
		t.Fatalf("the salvaged directory: %+v %v", rep, err)
	}
	r, err := host.Open(t.Context(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if st, err := r.Stats(t.Context()); err != nil || st.Accesses != 2 || st.Storage.Seq < 2 {
		t.Fatalf("salvaged %+v %v", st, err)
	}
	// OUTDIR must be new or empty.
	if rc, text := runRecoverCmd(t, dir, out); rc != 1 || !strings.Contains(text, "not empty") {
		t.Fatalf("recover into a used directory: exit %d\n%s", rc, text)
	}
}

// TestRecoverLostConfig: without its config a registry is refused (never given a new
// identity); recover rebuilds the config with the identity the snapshots hold, losing nothing.
func TestRecoverLostConfig(t *testing.T) {
	dir := makeDataDir(t)
	rep, _ := host.CheckDir(t.Context(), dir)
	id := settingsOf(t, dir)["machine guid"]
	for _, f := range rep.Files {
		if strings.HasPrefix(f.Name, "registry.conf.") {
			os.Remove(filepath.Join(dir, f.Name))
		}
	}
	if _, err := host.Open(t.Context(), dir); !errors.Is(err, host.ErrCorrupt) || !strings.Contains(err.Error(), "registry.conf") {
		t.Fatalf("open without a config: %v", err)
	}
	out := filepath.Join(t.TempDir(), "salvaged")
	rc, text := runRecoverCmd(t, dir, out)
	if rc != 0 || !strings.Contains(text, "lost: nothing acknowledged") || !strings.Contains(text, "the config was missing") {
		t.Fatalf("exit %d\n%s", rc, text)
	}
	if got := settingsOf(t, out)["machine guid"]; got != id {
		t.Fatalf("machine guid %v after recover, was %v", got, id)
	}
}

// settingsOf reads dir's settings, read-only.
func settingsOf(t *testing.T, dir string) map[string]any {
	t.Helper()
	raw, err := readSettings(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
