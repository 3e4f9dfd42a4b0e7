package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/regwasm/regwasm/host"
	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/bench"
	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/human"
	"github.com/regwasm/regwasm/registry/test1"
)

// runBench is `regwasm bench`: its flags, then the harness (package bench), then the
// figures printed and written where asked.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "report" {
		return runBenchReport(args[1:], stdout, stderr)
	}
	fs := newFlagSet("bench", stderr)
	hostSel := fs.String("host", "both", "native, wazero or both")
	persons := fs.Int("persons", 100_000, "persons (netdata's test1: 1,000,000)")
	machines := fs.Int("machines", 20_000, "machines (netdata's test1: 200,000; phases 5+ use twice as many)")
	batch := fs.Int("batch", 1000, "requests per call")
	rounds := fs.Int("rounds", 10, "random rounds (phases 6+)")
	full := fs.Bool("full", false, "netdata's full size: 1M persons, 200K machines")
	seed := fs.Uint("seed", 1, "random seed of the workload (32 bits; the JS hosts take the same)")
	logSync := fs.String("log-sync", "save", `the "log sync" setting of every host: always, every N or save`)
	httpBench := fs.Bool("http", false, "also measure the HTTP server (regwasm serve's handler) with concurrent clients")
	svgFile := fs.String("svg", "", "write a chart of req/s per phase to this SVG file")
	jsonFile := fs.String("json", "", "write every figure to this JSON file")
	nativeRuns := fs.Int("native-runs", 1, "runs of the native host; each phase reports its median over them")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("unexpected arguments %q", rest)
	}
	if *full {
		*persons, *machines = test1.Full().Persons, test1.Full().Machines
	}
	if *persons <= 0 || *machines <= 0 || *batch <= 0 || *rounds <= 0 || *nativeRuns <= 0 || *seed > 1<<32-1 {
		return usageError("--persons, --machines, --batch, --rounds and --native-runs must be positive, --seed 32 bits")
	}
	o := bench.Options{
		Workload:   bench.Workload{Persons: *persons, Machines: *machines, Batch: *batch, Rounds: *rounds, Seed: uint32(*seed), LogSync: *logSync},
		NativeRuns: *nativeRuns, HTTP: *httpBench, NewServer: benchServer,
		Command: strings.Join(append([]string{"regwasm bench"}, args...), " "),
		Out:     stdout, PhaseLines: !isTerminal(stdout),
		Progress: func(label string, total int64) bench.Meter {
			return meter{newProgress(stdout, label, total, func(n int64) string { return human.Count(uint64(n)) })}
		},
	}
	switch *hostSel {
	case "native", "wazero":
		o.Hosts = []string{*hostSel}
	case "both":
		o.Hosts = []string{"native", "wazero"}
	default:
		return usageError("--host must be native, wazero or both, not %q", *hostSel)
	}
	rep, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	if *svgFile != "" {
		if err := rep.WriteSVG(*svgFile); err != nil {
			return err
		}
	}
	if *jsonFile != "" {
		return rep.WriteJSON(*jsonFile)
	}
	return nil
}

// meter shows a bench run on the command's progress bar.
type meter struct{ p *progress }

func (m meter) Set(done int64) { m.p.set(done) }
func (m meter) Finish()        { m.p.finish() }

// runBenchReport is `regwasm bench report`.
func runBenchReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench report", stderr)
	var f bench.ReportFiles
	fs.StringVar(&f.Go, "go", "", "the Go hosts' JSON (regwasm bench --json)")
	fs.StringVar(&f.JS, "js", "", "the JS hosts' JSON (node tests/web/bench.mjs --json); optional")
	fs.StringVar(&f.MD, "md", "BENCHMARKS.md", "the markdown file to write")
	fs.StringVar(&f.SVG, "svg", "docs/bench.svg", "the chart to write (linked from the markdown)")
	fs.StringVar(&f.Wasm, "wasm", "host/registry.wasm", "the module whose size is reported")
	fs.StringVar(&f.Dist, "dist", "dist", "the JS bundle directory whose sizes are reported")
	fs.StringVar(&f.WasmOpt, "wasm-opt", "", "tests/bench/wasm-opt-ab.mjs's JSON (the wasm-opt A/B); optional")
	fs.StringVar(&f.Node, "node", "", "tests/web/bench-node.mjs's JSON (the Node host's calls); optional")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 || f.Go == "" {
		return usageError("bench report --go FILE [--js FILE] [--md FILE] [--svg FILE]")
	}
	return bench.WriteReport(f, strings.Join(append([]string{"regwasm bench report"}, args...), " "), stdout)
}

// benchServer is regwasm serve's handler over a new registry in dir, for bench --http.
func benchServer(ctx context.Context, dir, conf string) (bench.Server, error) {
	reg, err := openRegistry(ctx, dir, host.WithBackgroundSaves())
	if err != nil {
		return nil, err
	}
	if _, err := reg.reg.Configure(ctx, conf); err != nil {
		_ = reg.close(ctx)
		return nil, err
	}
	s, err := newServer(ctx, reg, "", slog.New(slog.DiscardHandler))
	if err != nil {
		_ = reg.close(ctx)
		return nil, fmt.Errorf("starting the server: %w", err)
	}
	return &benchServed{s: s, h: s.handler()}, nil
}

type benchServed struct {
	s *server
	h http.Handler
}

func (b *benchServed) Handler() http.Handler          { return b.h }
func (b *benchServed) Save(ctx context.Context) error { return b.s.reg.save(ctx) }
func (b *benchServed) Close() error                   { return b.s.reg.close(context.Background()) }
