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
// (or unhealthy), 2 usage. Help that was asked for goes to stdout; errors go to stderr, once.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText())
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText())
		return 0
	case "help":
		if len(args) > 1 {
			// `regwasm help import` is `regwasm import --help`.
			return run(ctx, append(args[1:len(args):len(args)], "--help"), stdout, stderr)
		}
		fmt.Fprint(stdout, usageText())
		return 0
	case "version", "-version", "--version":
		fmt.Fprint(stdout, versionText())
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "regwasm: unknown command %q\n\n%s", args[0], usageText())
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	var code exitCode
	var help *helpRequest
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		printHelp(stdout, help.fs)
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.Is(err, errUsage):
		name := args[0]
		if name == "bench" && len(args) > 1 && args[1] == "report" {
			name = "bench report"
		}
		fmt.Fprintf(stderr, "regwasm %s: %v\nrun 'regwasm %s --help' for its arguments and flags\n", args[0], err, name)
		return 2
	}
	fmt.Fprintf(stderr, "regwasm %s: %v\n", args[0], err)
	return 1
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

// dataDir picks the directory of a command: the one given, else the default. With create
// (serve) it is created if missing, private (0700); the read-only commands (check, stats,
// export) never create one: a missing directory is an error.
func dataDir(given string, create bool) (string, error) {
	dir := given
	if dir == "" {
		d, err := defaultDir()
		if err != nil {
			return "", err
		}
		dir = d
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
