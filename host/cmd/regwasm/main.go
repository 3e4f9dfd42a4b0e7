// Command regwasm is a drop-in netdata registry server and the registry's toolbox: it serves
// netdata's /api/v1/registry and the dashboard, benchmarks the registry natively and through
// the WebAssembly module, checks a data directory, converts netdata's registry files and
// prints counters. Everything but `bench --host native` runs the registry through the module
// (package host).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

const usage = `regwasm: a netdata registry in WebAssembly

usage:
  regwasm serve  [--dir DIR] [--addr 127.0.0.1:19999] [--config netdata.conf] [--web DIR]
                 [--save-every 10m]
  regwasm bench  [--host native|wazero|both] [--persons N] [--machines M] [--batch B] [--full]
                 [--rounds R] [--seed S] [--log-sync always|every N|save] [--http]
                 [--svg FILE] [--json FILE]
  regwasm bench report --go FILE [--js FILE] [--md FILE] [--svg FILE]
  regwasm check  DIR
  regwasm recover DIR OUTDIR
  regwasm import DIR netdata-registry.db [registry-log.db]
  regwasm export DIR FILE
  regwasm stats  [--json] [DIR]

DIR defaults to $REGWASM_DIR, else $XDG_DATA_HOME/regwasm, else ~/.local/share/regwasm.
`

// command runs one subcommand with its own arguments.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

var commands = map[string]command{
	"serve":   runServe,
	"bench":   runBench,
	"check":   runCheck,
	"recover": runRecover,
	"import":  runImport,
	"export":  runExport,
	"stats":   runStats,
}

// exitCode is an error that carries the process's exit status (check's "not healthy" is 1
// without being a failure of the command itself).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal starts a graceful stop; a second one kills at once, as usual.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and turns its outcome into an exit status: 0 ok, 1 failed
// (or unhealthy), 2 usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "regwasm: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "regwasm %s: %v\n", args[0], err)
		return 2
	}
	fmt.Fprintf(stderr, "regwasm %s: %v\n", args[0], err)
	return 1
}

var errUsage = errors.New("usage")

func usageError(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
}

// newFlagSet returns a flag set that reports errors instead of exiting, writing its help to
// stderr.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("regwasm "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, allowing flags after positional arguments too ("check DIR --json"),
// which the flag package alone does not.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// defaultDir is the data directory used when none is given: the embedded default needs no
// setup, so it is created on first use.
func defaultDir() (string, error) {
	if d := os.Getenv("REGWASM_DIR"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "regwasm"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no data directory: set REGWASM_DIR or give --dir (%w)", err)
	}
	return filepath.Join(home, ".local", "share", "regwasm"), nil
}

// dataDir picks the directory of a command: the one given, else the default. The default,
// and a given one when create is set (serve, import), is created if missing; the registry's
// files are private (0700). Inspecting commands (check, stats, export) never create one.
func dataDir(given string, create bool) (string, error) {
	dir := given
	if dir == "" {
		d, err := defaultDir()
		if err != nil {
			return "", err
		}
		dir, create = d, true
	}
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
	}
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	return dir, nil
}
