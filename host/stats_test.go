package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestStatsCountsTraps: Stats reports the traps since Open, for a server's metrics.
func TestStatsCountsTraps(t *testing.T) {
	r := open(t, t.TempDir())
	if st := stats(t, r); st.Traps != 0 || st.ModuleMemory == 0 {
		t.Fatalf("fresh: %+v", st)
	}
	if err := r.trap(context.Background()); err == nil {
		t.Fatal("no trap")
	}
	if st := stats(t, r); st.Traps != 1 {
		t.Fatalf("after a trap: %d traps", st.Traps)
	}
}

// TestExportReadOnly: a registry opened WithReadOnly on a directory another one holds
// exports it (an online backup) and leaves the directory as it was.
func TestExportReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := open(t, dir)
	p := access(t, w, uuid.Nil, m1, u1, "one").Person
	before := dirNames(t, dir)
	ro := open(t, dir, WithReadOnly())
	file := filepath.Join(t.TempDir(), "registry.db")
	info, err := ro.Export(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil || len(data) != info.Bytes || info.Lines != strings.Count(string(data), "\n") || !strings.Contains(string(data), p.String()) {
		t.Fatalf("export %+v: %q %v", info, data, err)
	}
	if after := dirNames(t, dir); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Fatalf("files before %v, after %v", before, after)
	}
	// The live registry goes on; a new read-only open sees its changes.
	access(t, w, uuid.Nil, m2, u2, "two")
	if st := stats(t, open(t, dir, WithReadOnly())); st.Persons != 2 {
		t.Fatalf("read-only after a change: %+v", st)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
