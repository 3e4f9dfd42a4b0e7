package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/bench"
)

// TestBenchSmoke runs test1 at 1/500 size on both Go hosts: both must end with the counts the
// workload implies, identical between hosts, and every figure must be there.
func TestBenchSmoke(t *testing.T) {
	dir := t.TempDir()
	jsonFile, svgFile := filepath.Join(dir, "bench.json"), filepath.Join(dir, "bench.svg")
	rc, out := runCmd(t, "bench", "--persons", "2000", "--machines", "400", "--batch", "200", "--http", "--json", jsonFile, "--svg", svgFile)
	if rc != 0 {
		t.Fatalf("bench: exit %d\n%s", rc, out)
	}
	for _, want := range []string{"req/s native", "req/s wazero", "wazero/native", "new persons", "mixed 10",
		"person-URLs", "peak RSS", "snapshot", "cold start", "warm start", "log sync = save", "fsync probe", "HTTP:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	var rep bench.Report
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Hosts) != 2 || rep.Hosts[0].Host != "native" || rep.Hosts[1].Host != "wazero" {
		t.Fatalf("report hosts %d", len(rep.Hosts))
	}
	if rep.Machine.Cores <= 0 || rep.Machine.CPU == "" || rep.SyncProbe == nil || rep.SyncProbe.MedianSecond <= 0 {
		t.Fatalf("machine %+v, sync probe %+v", rep.Machine, rep.SyncProbe)
	}
	if rep.HTTP == nil || len(rep.HTTP.Runs) != 3 || rep.HTTP.Runs[0].PerSecond <= 0 || rep.HTTP.Runs[1].Requests == 0 || rep.HTTP.Runs[2].Requests == 0 {
		t.Fatalf("http %+v", rep.HTTP)
	}
	for _, h := range rep.Hosts {
		if len(h.Phases) != 15 {
			t.Fatalf("%s: %d phases", h.Host, len(h.Phases))
		}
		for _, p := range h.Phases {
			if p.PerSecond <= 0 || p.Requests < 2000 || p.Batches < 10 {
				t.Fatalf("%s phase %+v", h.Host, p)
			}
		}
		c := h.Counts
		if c.Persons != 2000 || c.Machines != 800 || c.Accesses != 2000*25 || c.PersonURLs < 4000 || c.Bytes == 0 {
			t.Fatalf("%s counts %+v", h.Host, c)
		}
		if h.SnapshotBytes <= 0 || h.SaveSeconds <= 0 || h.LoadSeconds <= 0 || h.PeakRSS == 0 || h.RSSEnd == 0 || h.BytesPerPersonURL <= 0 {
			t.Fatalf("%s figures %+v", h.Host, h)
		}
		if !strings.Contains(h.Storage, "log sync = save") || h.Options.LogSync != "save" {
			t.Fatalf("%s storage %q", h.Host, h.Storage)
		}
	}
	n, z := rep.Hosts[0], rep.Hosts[1]
	if s := z.HTTPSave; s == nil || s.RestartSeconds <= 0 || s.SaveSeconds <= 0 || s.During.Requests == 0 || s.SaveError != "" || n.RestartSeconds <= 0 {
		t.Fatalf("restart and HTTP while saving: %+v (native restart %v)", z.HTTPSave, n.RestartSeconds)
	}
	if n.HeapInuseEnd == 0 || n.HeapAllocAfterGC == 0 || n.EncodeSeconds <= 0 || n.DecodeSeconds <= 0 || z.ColdStartSeconds <= z.CompileColdSeconds || z.WarmStartSeconds <= 0 || z.OpenSeconds <= 0 ||
		z.WasmMemoryEnd < z.Counts.Bytes || n.WasmMemoryEnd != 0 {
		t.Fatalf("native heap %d/%d, wazero start %+v", n.HeapInuseEnd, n.HeapAllocAfterGC, z)
	}
	// The same requests on the same core: the module's registry is the native one, snapshot
	// bytes included (snapshots are deterministic up to the person GUIDs, which are random but
	// of one length).
	if n.Counts != z.Counts || n.SnapshotBytes != z.SnapshotBytes {
		t.Fatalf("native %+v, wazero %+v; snapshot %d/%d", n.Counts, z.Counts, n.SnapshotBytes, z.SnapshotBytes)
	}
	if b, err := os.ReadFile(svgFile); err != nil || xml.Unmarshal(b, new(struct{})) != nil {
		t.Fatalf("chart: %v", err)
	}
}

func TestBenchRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--host", "node"}, {"--persons", "0"}, {"--batch", "-1"}, {"extra"}, {"--seed", "4294967296"},
		{"report"}, {"report", "--go"}} {
		if rc, out := runCmd(t, append([]string{"bench"}, args...)...); rc != 2 {
			t.Errorf("bench %v: exit %d\n%s", args, rc, out)
		}
	}
}
