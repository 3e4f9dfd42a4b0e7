package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/regwasm/regwasm/host"
)

const recoverUsage = `usage: regwasm recover [--json] DIR OUTDIR

Salvages the registry in DIR into OUTDIR (which must not exist or be empty), when DIR's
damage costs acknowledged changes and every open refuses it. DIR is only read. OUTDIR gets
a copy of its files, opened in salvage mode: the newest snapshot and log that verify are
loaded, a missing or damaged config is rebuilt (keeping the registry's identity, which every
snapshot holds), and fresh snapshots are written. It prints exactly what was lost.
`

func runRecover(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("recover", stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), recoverUsage) }
	asJSON := fs.Bool("json", false, "print the result as JSON")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return usageError("recover needs DIR and OUTDIR")
	}
	rep, err := host.Recover(ctx, rest[0], rest[1])
	if err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		printRecover(stdout, rest[0], rest[1], rep)
	}
	return nil
}

func printRecover(w io.Writer, dir, out string, rep host.RecoverReport) {
	st := rep.Stats
	fmt.Fprintf(w, "recovered %s into %s (copied %s)\n", dir, out, strings.Join(rep.Copied, ", "))
	if rep.Lost() {
		n := st.Storage.LostTo - st.Storage.LostFrom + 1
		fmt.Fprintf(w, "LOST: changes %d to %d (%d %s): the files prove them, but no snapshot or log that verifies holds them\n",
			st.Storage.LostFrom, st.Storage.LostTo, n, plural(int(n), "change", "changes"))
	} else {
		fmt.Fprintln(w, "lost: nothing acknowledged")
	}
	if st.Storage.Dropped > 0 {
		fmt.Fprintf(w, "dropped: %d unsynced %s a crash lost (the log sync setting allowed it)\n",
			st.Storage.Dropped, plural(st.Storage.Dropped, "change", "changes"))
	}
	for _, n := range st.Storage.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "now holds %d %s, %d %s, %d %s, up to change %d (snapshot %s)\n",
		st.Persons, plural(int(st.Persons), "person", "persons"), st.Machines, plural(int(st.Machines), "machine", "machines"),
		st.URLs, plural(int(st.URLs), "URL", "URLs"), st.Storage.Seq, st.Storage.Snapshot)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
