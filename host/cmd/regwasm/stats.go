package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/human"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/regwasm/regwasm/host"
)

// statsResult is `regwasm stats --json`: the module's counters and the files on disk.
type statsResult struct {
	Dir   string           `json:"dir"`
	Stats json.RawMessage  `json:"stats"` // the module's stats answer, as is
	Files map[string]int64 `json:"files"`
	// DiskBytes is the size of the registry's files together.
	DiskBytes int64 `json:"disk_bytes"`
}

func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("stats", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return usageError("stats takes at most one DIR")
	}
	given := ""
	if len(rest) == 1 {
		given = rest[0]
	}
	dir, err := dataDir(given, false)
	if err != nil {
		return err
	}
	// Read-only: no lock, nothing written, so it reads a directory a server is serving.
	reg, err := openReadOnly(ctx, dir)
	if err != nil {
		return err
	}
	defer reg.Close()
	resps, err := reg.Do(ctx, []host.Request{{Op: host.OpStats}})
	if err != nil {
		return err
	}
	resp := resps[0]
	res := statsResult{Dir: dir, Stats: json.RawMessage(resp.Body), Files: map[string]int64{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && e.Type().IsRegular() && e.Name() != host.LockName {
			res.Files[e.Name()] = info.Size()
			res.DiskBytes += info.Size()
		}
	}
	if *asJSON {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	}
	var st host.Stats
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		return fmt.Errorf("reading the stats answer: %w", err)
	}
	fmt.Fprintf(stdout, "%s\n%s\n", dir, humanStats(st))
	fmt.Fprintf(stdout, "memory %s (%s per person-URL)\n", human.Bytes(int64(st.Bytes)), perLink(st.Bytes, st.PersonURLs))
	snap := st.Storage.Snapshot
	if snap == "" {
		snap = "none yet"
	}
	fmt.Fprintf(stdout, "snapshot %s, change %d, %s in the log since the snapshot", snap, st.Storage.Seq,
		plural(int(st.Storage.LogRecords), "change", "changes"))
	if !st.Storage.LastSave.IsZero() {
		fmt.Fprintf(stdout, ", saved %s", st.Storage.LastSave.Format(time.RFC3339))
	}
	fmt.Fprintln(stdout)
	var files []string
	for _, name := range sortedKeys(res.Files) {
		files = append(files, name+" "+human.Bytes(res.Files[name]))
	}
	if len(files) == 0 {
		fmt.Fprintln(stdout, "files: none, no registry here yet")
	} else {
		fmt.Fprintf(stdout, "files %s: %s\n", human.Bytes(res.DiskBytes), strings.Join(files, ", "))
	}
	return nil
}

// humanStats is the counters in one line: "1.2M persons, 400K machines, 1 URL, ...".
func humanStats(st host.Stats) string {
	parts := []string{
		counted(st.Persons, "person", "persons"),
		counted(st.Machines, "machine", "machines"),
		counted(st.URLs, "URL", "URLs"),
		counted(st.Accesses, "access", "accesses"),
		counted(st.PersonURLs, "person-URL", "person-URLs"),
		counted(st.MachineURLs, "machine-URL", "machine-URLs"),
	}
	return strings.Join(parts, ", ")
}

func perLink(bytes, links uint64) string {
	if links == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f B", float64(bytes)/float64(links))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
