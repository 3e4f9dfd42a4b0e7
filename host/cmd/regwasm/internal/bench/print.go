package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/human"
)

// hostColors are the chart's colours, one per host.
var hostColors = map[string]string{"native": "#4e79a7", "wazero": "#f28e2b", "node": "#59a14f", "chromium": "#e15759"}

// Print writes the Go hosts' figures as text.
func (rep *Report) Print(w io.Writer) {
	o := rep.Options
	fmt.Fprintf(w, "\ntest1: %s persons, %s machines, %d rounds, batches of %d, seed %d, log sync = %s (%s, %d CPUs)\n\n",
		human.Count(uint64(o.Persons)), human.Count(uint64(o.Machines)), o.Rounds, o.Batch, o.Seed, o.LogSync, rep.GoVersion, rep.Machine.Cores)
	printPhases(w, rep.Hosts)
	for _, h := range rep.Hosts {
		if n := len(h.RunsPerSecond); n > 1 {
			fmt.Fprintf(w, "(%s: each phase the median of %d runs)\n", h.Host, n)
		}
	}
	fmt.Fprintln(w)
	for _, h := range rep.Hosts {
		fmt.Fprintf(w, "%-6s  %s\n", h.Host, h.Storage)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, h := range rep.Hosts {
		c := h.Counts
		fmt.Fprintf(tw, "%s\tpersons %s, machines %s, URLs %s, accesses %s, person-URLs %s, machine-URLs %s\n", h.Host,
			human.Count(c.Persons), human.Count(c.Machines), human.Count(c.URLs), human.Count(c.Accesses), human.Count(c.PersonURLs), human.Count(c.MachineURLs))
		fmt.Fprintf(tw, "\ttables %s (%.1f bytes per person-URL), RSS after the phases %s", human.Bytes(int64(c.Bytes)),
			h.BytesPerPersonURL, human.Bytes(int64(h.RSSEnd)))
		if h.WasmMemoryEnd > 0 {
			fmt.Fprintf(tw, " (wasm memory %s)", human.Bytes(int64(h.WasmMemoryEnd)))
		}
		if h.HeapInuseEnd > 0 {
			fmt.Fprintf(tw, " (Go heap in use %s, live after GC %s)", human.Bytes(int64(h.HeapInuseEnd)), human.Bytes(int64(h.HeapAllocAfterGC)))
		}
		rss := human.Bytes(int64(h.PeakRSS))
		if !h.PeakRSSIsolated {
			rss += " (process, all hosts)"
		}
		fmt.Fprintf(tw, ", peak RSS %s\n", rss)
		fmt.Fprintf(tw, "\tsave %.3f s, snapshot %s, load %.3f s", h.SaveSeconds, human.Bytes(h.SnapshotBytes), h.LoadSeconds)
		if h.EncodeSeconds > 0 {
			fmt.Fprintf(tw, " (in memory: encode %.3f s, decode %.3f s)", h.EncodeSeconds, h.DecodeSeconds)
		}
		fmt.Fprintln(tw)
		if h.ColdStartSeconds > 0 {
			fmt.Fprintf(tw, "\tcold start %.3f s (compile %.3f s), warm start %.3f s (cached compile %.3f s), open %.3f s\n",
				h.ColdStartSeconds, h.CompileColdSeconds, h.WarmStartSeconds, h.CompileWarmSeconds, h.OpenSeconds)
		}
	}
	tw.Flush()
	if p := rep.SyncProbe; p != nil {
		fmt.Fprintf(w, "\nfsync probe: appending %s and fsyncing it takes %.2f ms (median of %d, p90 %.2f ms): what log sync = always adds per batch\n",
			human.Bytes(int64(p.Bytes)), p.MedianSecond*1e3, p.Samples, p.P90Seconds*1e3)
	}
	if h := rep.HTTP; h != nil {
		fmt.Fprintf(w, "HTTP: %s\n", h.summary())
	}
	for _, h := range rep.Hosts {
		if s := h.HTTPSave; s != nil {
			fmt.Fprintf(w, "HTTP while saving %s persons (%s): restart %.2f s, save %.2f s (+%s RSS); during it %.0f req/s, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms; outside %.0f req/s, max %.2f ms\n",
				human.Count(s.Persons), h.Host, s.RestartSeconds, s.SaveSeconds, human.Bytes(int64(s.SaveMemory)), s.During.PerSecond,
				s.During.P99*1e3, s.During.P999*1e3, s.During.Max*1e3, s.Outside.PerSecond, s.Outside.Max*1e3)
		}
	}
}

// printPhases writes req/s per phase, one column per host, then each host's ratio to native.
func printPhases(w io.Writer, hosts []*HostResults) {
	if len(hosts) == 0 {
		return
	}
	native := findHost(hosts, "native")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"phase", "requests"}
	for _, h := range hosts {
		head = append(head, "req/s "+h.Host)
	}
	for _, h := range hosts {
		if h != native && native != nil {
			head = append(head, h.Host+"/native")
		}
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i, p := range hosts[0].Phases {
		cells := []string{p.Name, human.Count(uint64(p.Requests))}
		for _, h := range hosts {
			cells = append(cells, fmt.Sprintf("%.0f", phaseRate(h, i)))
		}
		for _, h := range hosts {
			if h != native && native != nil {
				cells = append(cells, formatRatio(ratioToNative(h, native, i)))
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
}

func findHost(hosts []*HostResults, name string) *HostResults {
	for _, h := range hosts {
		if h.Host == name {
			return h
		}
	}
	return nil
}

// phaseRate is host h's req/s in phase i, 0 if it has no such phase.
func phaseRate(h *HostResults, i int) float64 {
	if h == nil || i >= len(h.Phases) {
		return 0
	}
	return h.Phases[i].PerSecond
}

// ratioToNative is h's req/s over native's in phase i (i < 0: over all phases), 0 when they
// did not run the same workload.
func ratioToNative(h, native *HostResults, i int) float64 {
	if h == nil || native == nil || !sameWorkload(h.Options, native.Options) {
		return 0
	}
	if i < 0 {
		if n := overallRate(native); n > 0 {
			return overallRate(h) / n
		}
		return 0
	}
	if n := phaseRate(native, i); n > 0 {
		return phaseRate(h, i) / n
	}
	return 0
}

// overallRate is all requests over all the time in the handler.
func overallRate(h *HostResults) float64 {
	var n, s float64
	for _, p := range h.Phases {
		n += float64(p.Requests)
		s += p.Seconds
	}
	if s == 0 {
		return 0
	}
	return n / s
}

func formatRatio(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", r)
}

// writeBenchSVG charts req/s per phase, one bar per host.
func writeBenchSVG(path string, hosts []*HostResults) error {
	if len(hosts) == 0 {
		return fmt.Errorf("no hosts to chart")
	}
	var phases []string
	for _, p := range hosts[0].Phases {
		phases = append(phases, p.Name)
	}
	var series []chartSeries
	scales := map[string]bool{}
	for _, h := range hosts {
		name := h.Host
		scale := human.Count(uint64(h.Options.Persons)) + " persons, " + human.Count(uint64(h.Options.Machines)) + " machines"
		scales[scale] = true
		s := chartSeries{Name: name, Color: hostColors[h.Host], Scale: scale}
		for _, p := range h.Phases {
			s.Values = append(s.Values, p.PerSecond)
		}
		series = append(series, s)
	}
	title := "regwasm test1: requests per second per phase"
	if len(scales) == 1 {
		title += " (" + series[0].Scale + ")"
		for i := range series {
			series[i].Scale = ""
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeBarChart(f, title, phases, series); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
