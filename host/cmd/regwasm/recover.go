package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/regwasm/regwasm/host"
)

func runRecover(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("recover", stderr)
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
		fmt.Fprintf(w, "LOST: changes %d to %d (%s): the files prove them, but no snapshot or log that verifies holds them\n",
			st.Storage.LostFrom, st.Storage.LostTo, plural(int(n), "change", "changes"))
	} else {
		fmt.Fprintln(w, "lost: nothing acknowledged")
	}
	if st.Storage.Dropped > 0 {
		fmt.Fprintf(w, "dropped: %s a crash lost (the log sync setting allowed it)\n",
			plural(st.Storage.Dropped, "unsynced change", "unsynced changes"))
	}
	for _, n := range st.Storage.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "now holds %s, %s, %s, up to change %d (snapshot %s)\n",
		plural(int(st.Persons), "person", "persons"), plural(int(st.Machines), "machine", "machines"),
		plural(int(st.URLs), "URL", "URLs"), st.Storage.Seq, st.Storage.Snapshot)
}
