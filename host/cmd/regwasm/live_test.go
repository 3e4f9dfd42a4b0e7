package main

import (
	"encoding/json"
	"fmt"
	"github.com/regwasm/regwasm/host"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLiveDirectory: stats, check and export read a directory a server is serving, under
// load and through its periodic saves, without its lock and without writing: stats never
// goes back, every export holds every person acknowledged before it started, check stays
// healthy, and the server answers every request meanwhile.
func TestLiveDirectory(t *testing.T) {
	addr, dir := freeAddr(t), t.TempDir()
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := "http://" + addr
	out, stop := startServe(t, c, base, "--dir", dir, "--addr", addr, "--save-every", "300ms")

	// The load: new persons, each acknowledged once its access answered 200. A reader may see
	// up to one more person per client than were acknowledged: those whose answer is on its way.
	const clients = 3
	var acked, failed atomic.Int64
	var firstErr atomic.Value
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				u := base + registryURL("access", "machine", fmt.Sprintf("0a1b2c3d-0000-4000-8000-%012x", w*100+i%50),
					"url", fmt.Sprintf("http://agent-%d-%d/", w, i%50), "name", "live")
				req, _ := http.NewRequest("GET", u, nil)
				req.Header.Set("Cookie", cookieName+"="+dummyPerson) // a new person each time
				resp, err := c.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprint(err, resp))
					continue
				}
				acked.Add(1)
			}
		})
	}
	stopLoad := sync.OnceFunc(func() { close(done); wg.Wait() })
	defer stopLoad()

	export := filepath.Join(t.TempDir(), "backup.db")
	var lastPersons uint64
	rounds := 0
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline) || rounds < 3; rounds++ {
		if rounds == 20 {
			break
		}
		// stats: read-only, monotonic under a load that only adds persons.
		before := uint64(acked.Load())
		rc, js := runCmd(t, "stats", "--json", dir)
		if rc != 0 {
			t.Fatalf("stats on a live directory: exit %d\n%s", rc, js)
		}
		var st struct {
			Stats struct {
				Persons uint64 `json:"persons"`
				Storage struct {
					Mode string `json:"mode"`
				} `json:"storage"`
			} `json:"stats"`
		}
		if err := json.Unmarshal([]byte(js), &st); err != nil {
			t.Fatal(err)
		}
		after := uint64(acked.Load())
		if p := st.Stats.Persons; p < before || p > after+clients || p < lastPersons || st.Stats.Storage.Mode != "read-only" {
			t.Fatalf("stats: %d persons (%s), acknowledged %d..%d, previously %d", p, st.Stats.Storage.Mode, before, after, lastPersons)
		}
		lastPersons = st.Stats.Persons

		// export: a consistent backup holding at least what was acknowledged before it.
		before = uint64(acked.Load())
		rc, text := runCmd(t, "export", dir, export)
		if rc != 0 {
			t.Fatalf("export of a live directory: exit %d\n%s", rc, text)
		}
		data, err := os.ReadFile(export)
		if err != nil {
			t.Fatal(err)
		}
		after = uint64(acked.Load())
		if p := uint64(strings.Count("\n"+string(data), "\nP\t")); p < before || p > after+clients {
			t.Fatalf("export holds %d persons, acknowledged %d..%d", p, before, after)
		}

		// check: healthy, and it says who holds the directory.
		rc, text = runCmd(t, "check", "--json", dir)
		var res checkResult
		if err := json.Unmarshal([]byte(text), &res); err != nil || rc != 0 || !res.Healthy || res.Holder == "" {
			t.Fatalf("check of a live directory (round %d): exit %d, %v\n%s", rounds, rc, err, text)
		}
	}
	stopLoad()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d requests failed while the directory was read, first: %v", n, firstErr.Load())
	}
	if rc := stop(); rc != 0 {
		t.Fatalf("serve: exit %d\n%s", rc, out.String())
	}
	t.Logf("%d rounds of stats, export and check under load; %d persons acknowledged", rounds, acked.Load())
	// Nothing but the registry's own files: the readers wrote nothing there.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := e.Name(); !strings.HasPrefix(n, "registry.db.") && !strings.HasPrefix(n, "registry.log.") &&
			!strings.HasPrefix(n, "registry.conf.") && n != ".lock" {
			t.Errorf("%s appeared in the data directory", n)
		}
	}
	// The last backup restores: the same persons.
	restored := filepath.Join(t.TempDir(), "restored")
	if rc, text := runCmd(t, "import", restored, export); rc != 0 {
		t.Fatalf("import of the backup: exit %d\n%s", rc, text)
	}
	data, _ := os.ReadFile(export)
	if got, want := statsOf(t, restored), fmt.Sprintf("persons %d ", strings.Count("\n"+string(data), "\nP\t")); !strings.HasPrefix(got, want) {
		t.Fatalf("restored %s, the backup has %s", got, want)
	}
}

// TestReadOnlyCommandsCreateNothing: stats, check and export of an empty directory write
// nothing there; check reports no settings rather than defaults with a new machine GUID.
func TestReadOnlyCommandsCreateNothing(t *testing.T) {
	dir := t.TempDir()
	rc, out := runCmd(t, "check", dir)
	if rc != 0 || !strings.Contains(out, "config:   registry.conf: no file") || !strings.Contains(out, "settings: none stored") ||
		strings.Contains(out, "machine guid") || strings.Contains(out, "registry.conf.1") {
		t.Fatalf("check of an empty directory: exit %d\n%s", rc, out)
	}
	if rc, out := runCmd(t, "stats", dir); rc != 0 || !strings.Contains(out, "no registry here yet") {
		t.Fatalf("stats of an empty directory: exit %d\n%s", rc, out)
	}
	if rc, out := runCmd(t, "export", dir, filepath.Join(t.TempDir(), "x.db")); rc != 0 {
		t.Fatalf("export of an empty directory: exit %d\n%s", rc, out)
	}
	expectEmpty(t, dir)
	missing := filepath.Join(t.TempDir(), "missing")
	for _, cmd := range []string{"check", "stats"} {
		if rc, out := runCmd(t, cmd, missing); rc != 1 {
			t.Fatalf("%s of a missing directory: exit %d\n%s", cmd, rc, out)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("a read-only command created %s", missing)
	}
}

// TestStatsLastSave: stats reports the snapshot's save time, also after the registry is
// opened again (it is in the snapshot, not in the process that saved).
func TestStatsLastSave(t *testing.T) {
	dir := makeDataDir(t)
	rc, js := runCmd(t, "stats", "--json", dir)
	var st struct {
		Stats struct {
			Storage struct {
				LastSave int64 `json:"last_save"`
			} `json:"storage"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(js), &st); rc != 0 || err != nil {
		t.Fatalf("exit %d, %v\n%s", rc, err, js)
	}
	if age := time.Since(time.Unix(st.Stats.Storage.LastSave, 0)); age < 0 || age > time.Hour {
		t.Fatalf("last_save %d (%v ago)", st.Stats.Storage.LastSave, age)
	}
	if rc, out := runCmd(t, "stats", dir); rc != 0 || !strings.Contains(out, ", saved "+time.Unix(st.Stats.Storage.LastSave, 0).Format(time.RFC3339)) {
		t.Fatalf("exit %d\n%s", rc, out)
	}
}

// TestCheckDuringSave: a held directory whose next snapshot a save is still writing (empty,
// then half written) is healthy: an unfinished save is a note, not damage.
func TestCheckDuringSave(t *testing.T) {
	dir := makeDataDir(t)
	// What the holder's next save writes: its segment first, then the snapshot. Made on a
	// copy of the directory, so the live one can be shown each stage of it.
	next := t.TempDir()
	for name, content := range readAll(t, dir) {
		if name != host.LockName {
			writeFile(t, filepath.Join(next, name), content)
		}
	}
	r, err := host.Open(t.Context(), next)
	if err != nil {
		t.Fatal(err)
	}
	info, err := r.Save(t.Context())
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	saved := readAll(t, next)
	openTestRegistry(t, dir) // the holder
	old := readAll(t, dir)
	for name, content := range saved {
		if _, had := old[name]; !had && name != info.File && name != host.LockName {
			writeFile(t, filepath.Join(dir, name), content) // the new segment
		}
	}
	snap := saved[info.File]
	for _, n := range []int{0, 20, len(snap) / 2, len(snap) - 1} {
		writeFile(t, filepath.Join(dir, info.File), snap[:n]) // the snapshot being written
		rc, out := runCmd(t, "check", dir)
		if rc != 0 || !strings.HasSuffix(out, "healthy\n") || !strings.Contains(out, "a save that did not finish") {
			t.Fatalf("%d of %d bytes written: exit %d\n%s", n, len(snap), rc, out)
		}
	}
}
