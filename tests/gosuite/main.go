// Command gosuite reads `go test -json` on stdin and turns it into what ./build.sh test
// shows: the tests' verbose output for the log (stdout), a line per package as it finishes
// for the person waiting (-progress-fd, a descriptor it inherits), the skipped tests with their
// reasons, and the totals as `# pass N`, `# fail N`, `# skip N` lines, counting tests and
// subtests, not packages. It exits 1 when a test or a package failed.
//
//	go test -json ./... | go run ./tests/gosuite -progress-fd 3 3>&2
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (go doc test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output, build-fail
	Test       string
	Elapsed    float64
	Output     string
}

// pkgCounts are one package's test results.
type pkgCounts struct{ pass, fail, skip int }

// suite accumulates a run.
type suite struct {
	log, progress io.Writer
	total         pkgCounts
	pkgs          map[string]*pkgCounts
	failedPkgs    []string
	skips         []string            // "pkg Test: reason"
	lastOutput    map[string][]string // by package + test: its last lines, for a skip's reason
}

func newSuite(log, progress io.Writer) *suite {
	return &suite{log: log, progress: progress, pkgs: map[string]*pkgCounts{}, lastOutput: map[string][]string{}}
}

func (s *suite) pkg(name string) *pkgCounts {
	c := s.pkgs[name]
	if c == nil {
		c = &pkgCounts{}
		s.pkgs[name] = c
	}
	return c
}

// line handles one line of input: an event, or text go printed outside the JSON (a build
// error, "go: downloading ...").
func (s *suite) line(b []byte) {
	var e event
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &e) != nil || e.Action == "" {
		fmt.Fprintf(s.log, "%s\n", b)
		return
	}
	key := e.Package + " " + e.Test
	switch e.Action {
	case "output", "build-output":
		io.WriteString(s.log, e.Output)
		if e.Test != "" {
			out := append(s.lastOutput[key], e.Output)
			s.lastOutput[key] = out[max(0, len(out)-4):]
		}
	case "build-fail":
		s.failedPkgs = append(s.failedPkgs, e.ImportPath+" (build failed)")
	case "pass", "fail", "skip":
		if e.Test == "" {
			s.pkgDone(e)
			return
		}
		c := s.pkg(e.Package)
		switch e.Action {
		case "pass":
			c.pass++
			s.total.pass++
		case "fail":
			c.fail++
			s.total.fail++
		case "skip":
			c.skip++
			s.total.skip++
			s.skips = append(s.skips, fmt.Sprintf("%s %s: %s", e.Package, e.Test, skipReason(s.lastOutput[key])))
		}
		delete(s.lastOutput, key)
	}
}

// pkgDone prints a package's progress line; a package without test files prints none.
func (s *suite) pkgDone(e event) {
	c := s.pkg(e.Package)
	if e.Action == "skip" && c.pass+c.fail+c.skip == 0 {
		return
	}
	word := "ok  "
	if e.Action == "fail" {
		word = "FAIL"
		s.failedPkgs = append(s.failedPkgs, e.Package)
	}
	line := fmt.Sprintf("%s %-50s %6.1fs  %d passed", word, e.Package, e.Elapsed, c.pass)
	if c.fail > 0 {
		line += fmt.Sprintf(", %d failed", c.fail)
	}
	if c.skip > 0 {
		line += fmt.Sprintf(", %d skipped", c.skip)
	}
	fmt.Fprintln(s.progress, line)
}

// skipReason picks the t.Skip message out of a skipped test's last output lines.
func skipReason(lines []string) string {
	for _, l := range slices.Backward(lines) {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		return l
	}
	return "(no reason given)"
}

// finish writes the skipped tests and the totals, and reports whether everything passed.
func (s *suite) finish() bool {
	if len(s.skips) > 0 {
		fmt.Fprintf(s.log, "\nskipped tests:\n")
		for _, sk := range s.skips {
			fmt.Fprintf(s.log, "  %s\n", sk)
		}
	}
	for _, p := range s.failedPkgs {
		fmt.Fprintf(s.log, "FAILED package %s\n", p)
	}
	fmt.Fprintf(s.log, "# pass %d\n# fail %d\n# skip %d\n", s.total.pass, s.total.fail, s.total.skip)
	return s.total.fail == 0 && len(s.failedPkgs) == 0
}

func main() {
	// A descriptor, not a path such as /dev/fd/3: reopening that would start a new offset
	// in a file the caller also writes (a CI log), and the lines would overwrite each other.
	progressFD := flag.Int("progress-fd", 2, "write a line per finished package to this inherited file descriptor")
	flag.Parse()
	progress := os.NewFile(uintptr(*progressFD), "progress")
	if progress == nil {
		fmt.Fprintln(os.Stderr, "gosuite: no file descriptor", *progressFD)
		os.Exit(2)
	}
	s := newSuite(os.Stdout, progress)
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	start := time.Now()
	for sc.Scan() {
		s.line(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stdout, "gosuite: reading go test's output:", err)
		s.failedPkgs = append(s.failedPkgs, "(input)")
	}
	ok := s.finish()
	fmt.Fprintf(progress, "     %d passed, %d failed, %d skipped in %v\n", s.total.pass, s.total.fail, s.total.skip, time.Since(start).Round(time.Second))
	if !ok {
		os.Exit(1)
	}
}
