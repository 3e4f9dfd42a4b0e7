// Command gen writes the conformance suite's expected values by running the vectors on the
// native registry (tests/conformance/FORMAT.md).
//
//	go run ./tests/conformance/gen -update            # rewrite every vector's expectations
//	go run ./tests/conformance/gen -random 1 -actions 3000 -out tests/out/conformance
//
// -update also rewrites stream.json (the random stream's known answers) and the generated
// vector crossload.json (every committed snapshot loaded into a fresh registry), and removes
// snapshot and content files no vector names any more. Review the diff before committing:
// the expectations are what the native registry does, which is not necessarily right.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/regwasm/regwasm/tests/conformance"
)

func main() {
	dir := flag.String("dir", "tests/conformance", "the suite's directory")
	update := flag.Bool("update", false, "regenerate the expectations of the committed vectors")
	random := flag.Uint64("random", 0, "write the random vector of this seed (0: none)")
	actions := flag.Int("actions", 3000, "actions in the random vector")
	out := flag.String("out", "tests/out/conformance", "where the random vector goes")
	flag.Parse()
	if !*update && *random == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *update {
		if err := conformance.UpdateAll(*dir); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
	if *random != 0 {
		path := filepath.Join(*out, fmt.Sprintf("random-%d.json", *random))
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		v, err := conformance.Random(path, *random, *actions)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		fmt.Printf("wrote %s: %d steps\n", path, len(v.Steps))
	}
}
