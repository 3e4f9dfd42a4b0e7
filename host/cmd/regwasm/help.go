package main

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/human"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/regwasm/regwasm/host"
)

// cmdHelp is what `regwasm CMD --help` prints above the command's flags.
type cmdHelp struct {
	synopsis string // the usage line after "regwasm "
	about    string // what the command does and what its arguments are
}

// helpOrder is the order of the commands in the general usage.
var helpOrder = []string{"serve", "check", "recover", "stats", "import", "export", "bench", "bench report"}

var helps = map[string]cmdHelp{
	"serve": {
		synopsis: "serve [--dir DIR] [--addr 127.0.0.1:19999] [--config netdata.conf] [--web DIR]\n" +
			"              [--tls-cert FILE --tls-key FILE] [--save-every 10m] [--new-persons-per-minute 60] [-v]",
		about: `Serves the registry of DIR: netdata's /api/v1/registry, the dashboard at /, and for
operators /metrics (Prometheus text format) and /healthz (200 "ok" while the registry
answers, 503 otherwise). With --tls-cert and --tls-key it serves HTTPS, which netdata's
cross-site cookie (SameSite=None; Secure) needs. Each client address (IPv6: its /64;
loopback, a proxy on this host, is not limited) makes at most --new-persons-per-minute new
persons a minute: past it an access that would make one is answered 429. SIGINT or SIGTERM
stops it: requests in flight finish, a snapshot is saved.`,
	},
	"check": {
		synopsis: "check [--json] DIR",
		about: `Verifies every file of the registry in DIR (snapshots, change log, settings) without
changing or creating any and without the directory's lock, so it works on a directory a
server is serving: a health probe. The exit status is 0 when healthy, 1 when not.

  DIR   the data directory to check`,
	},
	"recover": {
		synopsis: "recover [--json] DIR OUTDIR",
		about: `Salvages the registry in DIR into OUTDIR (which must not exist or be empty), when DIR's
damage costs acknowledged changes and every open refuses it. DIR is only read. OUTDIR gets
a copy of its files, opened in salvage mode: the newest snapshot and log that verify are
loaded, a missing or damaged config is rebuilt (keeping the registry's identity, which every
snapshot holds), and fresh snapshots are written. It prints exactly what was lost.`,
	},
	"stats": {
		synopsis: "stats [--json] [DIR]",
		about: `Prints the registry's counters, its memory, its snapshot and change log, and its files.
It reads the directory without its lock and writes nothing, so it works on a directory a
server is serving, and creates nothing where there is no registry.

  DIR   the data directory (default: see below)`,
	},
	"import": {
		synopsis: "import [--merge] [--keep-idle | --expire-idle] DIR registry.db [registry-log.db]",
		about: `Imports netdata's own registry files into the registry in DIR, the way netdata loads
them: registry.db, then registry-log.db replayed on top. Lines netdata would skip are
skipped and listed. Persons idle for longer than "registry expire idle persons" (365 days
unless DIR's settings say otherwise) would be dropped by the registry's next save: import
says how many before importing anything and stops unless --keep-idle or --expire-idle
says what to do with them. A failed import changes nothing and creates nothing.

  DIR              the data directory; created if missing. One that already holds
                   persons or machines is refused unless --merge.
  registry.db      netdata's registry database (on an agent:
                   /var/lib/netdata/registry/registry.db)
  registry-log.db  optional: netdata's log of the changes since registry.db was saved
                   (/var/lib/netdata/registry/registry-log.db)`,
	},
	"export": {
		synopsis: "export DIR FILE",
		about: `Writes the registry of DIR as netdata's registry.db text, which netdata (or
regwasm import) loads. It reads the directory without its lock and writes nothing there
(the newest snapshot that verifies plus the change log's verified records), so on a
directory a server is serving it is a consistent online backup.

  DIR    the data directory
  FILE   the file to write, outside DIR; an existing directory gets FILE/registry.db.
         An existing file is replaced only once the new one is complete.`,
	},
	"bench": {
		synopsis: "bench [--host native|wazero|both] [--persons N] [--machines M] [--batch B] [--full]\n" +
			"              [--rounds R] [--seed S] [--log-sync always|every N|save] [--http]\n" +
			"              [--svg FILE] [--json FILE]",
		about: `Runs netdata's registry test1 on the registry natively and through the module,
side by side, and prints the figures.`,
	},
	"bench report": {
		synopsis: "bench report --go FILE [--js FILE] [--md FILE] [--svg FILE]",
		about:    `Writes BENCHMARKS.md and its chart from the JSON of bench --json (and tests/web/bench.mjs).`,
	},
}

const dirNote = `DIR defaults to $REGWASM_DIR, else $XDG_DATA_HOME/regwasm, else ~/.local/share/regwasm.`

// usageText is the general usage: every command's synopsis.
func usageText() string {
	var b strings.Builder
	b.WriteString("regwasm: a netdata registry in WebAssembly\n\nusage:\n")
	for _, name := range helpOrder {
		fmt.Fprintf(&b, "  regwasm %s\n", helps[name].synopsis)
	}
	b.WriteString("  regwasm --version\n\n")
	b.WriteString("Run 'regwasm COMMAND --help' for a command's arguments and flags.\n")
	b.WriteString(dirNote + "\n")
	return b.String()
}

// printHelp writes a command's help: usage line, what it does, its flags.
func printHelp(w io.Writer, fs *flag.FlagSet) {
	name := strings.TrimPrefix(fs.Name(), "regwasm ")
	h, ok := helps[name]
	if !ok {
		h.synopsis = name + " [flags]"
	}
	fmt.Fprintf(w, "usage: regwasm %s\n", h.synopsis)
	if h.about != "" {
		fmt.Fprintf(w, "\n%s\n", h.about)
	}
	var flags strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		line := "  -" + f.Name
		if len(f.Name) > 1 {
			line = "  --" + f.Name
		}
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintf(&flags, "%s\n        %s", line, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(&flags, " (default %s)", f.DefValue)
		}
		flags.WriteByte('\n')
	})
	if flags.Len() > 0 {
		fmt.Fprintf(w, "\nflags:\n%s", flags.String())
	}
	if strings.Contains(h.synopsis, "[DIR]") || strings.Contains(h.synopsis, "--dir DIR") {
		fmt.Fprintf(w, "\n%s\n", dirNote)
	}
}

// helpRequest is a command's -h or --help: run prints the command's help to stdout.
type helpRequest struct{ fs *flag.FlagSet }

func (h *helpRequest) Error() string        { return "help requested" }
func (h *helpRequest) Is(target error) bool { return target == flag.ErrHelp }

// usageErr is a command line the command cannot run: exit status 2.
type usageErr struct{ msg string }

func (e *usageErr) Error() string        { return e.msg }
func (e *usageErr) Is(target error) bool { return target == errUsage }

var errUsage = errors.New("usage")

func usageError(format string, a ...any) error {
	return &usageErr{fmt.Sprintf(format, a...)}
}

// newFlagSet returns a flag set that reports errors instead of printing them or exiting:
// run prints a flag error once, and help to stdout. The writer is not used; the signature
// is the callers'.
func newFlagSet(name string, _ io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("regwasm "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments too ("check DIR --json"),
// which the flag package alone does not.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{fs}
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

// versionText is what --version prints: the build, the Go release and the embedded module's
// digest, which tells apart builds that run different cores.
func versionText() string {
	version, vcs := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			vcs = " commit " + rev[:min(12, len(rev))]
			if modified == "true" {
				vcs += " (modified)"
			}
		}
	}
	sum := sha256.Sum256(host.Binary())
	return fmt.Sprintf("regwasm %s%s, %s %s/%s, registry.wasm sha256:%x (%s)\n", version, vcs,
		runtime.Version(), runtime.GOOS, runtime.GOARCH, sum[:8], human.Bytes(int64(len(host.Binary()))))
}
