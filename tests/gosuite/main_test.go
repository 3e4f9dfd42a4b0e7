package main

import (
	"bytes"
	"strings"
	"testing"
)

// A run of two packages as `go test -json -v` prints it: tests, a subtest, a skip with its
// reason, a failure, and a package without test files.
const sample = `{"Action":"start","Package":"example.com/a"}
{"Action":"run","Package":"example.com/a","Test":"TestOne"}
{"Action":"output","Package":"example.com/a","Test":"TestOne","Output":"=== RUN   TestOne\n"}
{"Action":"run","Package":"example.com/a","Test":"TestOne/sub"}
{"Action":"output","Package":"example.com/a","Test":"TestOne/sub","Output":"    --- PASS: TestOne/sub (0.00s)\n"}
{"Action":"pass","Package":"example.com/a","Test":"TestOne/sub","Elapsed":0}
{"Action":"output","Package":"example.com/a","Test":"TestOne","Output":"--- PASS: TestOne (0.00s)\n"}
{"Action":"pass","Package":"example.com/a","Test":"TestOne","Elapsed":0}
{"Action":"run","Package":"example.com/a","Test":"TestSkipped"}
{"Action":"output","Package":"example.com/a","Test":"TestSkipped","Output":"=== RUN   TestSkipped\n"}
{"Action":"output","Package":"example.com/a","Test":"TestSkipped","Output":"    a_test.go:9: needs chromium\n"}
{"Action":"output","Package":"example.com/a","Test":"TestSkipped","Output":"--- SKIP: TestSkipped (0.00s)\n"}
{"Action":"skip","Package":"example.com/a","Test":"TestSkipped","Elapsed":0}
{"Action":"output","Package":"example.com/a","Output":"ok  \texample.com/a\t0.5s\n"}
{"Action":"pass","Package":"example.com/a","Elapsed":0.5}
{"Action":"run","Package":"example.com/b","Test":"TestBad"}
{"Action":"output","Package":"example.com/b","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"example.com/b","Test":"TestBad","Elapsed":0}
{"Action":"fail","Package":"example.com/b","Elapsed":1.2}
{"Action":"skip","Package":"example.com/c","Elapsed":0}
go: a line that is not JSON
`

func runSample(t *testing.T, input string) (log, progress string, ok bool) {
	t.Helper()
	var l, p bytes.Buffer
	s := newSuite(&l, &p)
	for _, line := range strings.Split(strings.TrimSuffix(input, "\n"), "\n") {
		s.line([]byte(line))
	}
	ok = s.finish()
	return l.String(), p.String(), ok
}

func TestCountsTestsNotPackages(t *testing.T) {
	log, progress, ok := runSample(t, sample)
	if ok {
		t.Fatal("a failed test passed the run")
	}
	for _, want := range []string{"# pass 2\n", "# fail 1\n", "# skip 1\n", "=== RUN   TestOne\n", "go: a line that is not JSON\n",
		"example.com/a TestSkipped: a_test.go:9: needs chromium", "FAILED package example.com/b"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	lines := strings.Split(strings.TrimSpace(progress), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ok   example.com/a") || !strings.Contains(lines[0], "2 passed, 1 skipped") ||
		!strings.HasPrefix(lines[1], "FAIL example.com/b") || !strings.Contains(lines[1], "1 failed") {
		t.Fatalf("progress:\n%s", progress)
	}
}

func TestBuildFailureFails(t *testing.T) {
	in := `{"ImportPath":"example.com/x","Action":"build-output","Output":"x.go:1: syntax error\n"}
{"ImportPath":"example.com/x","Action":"build-fail"}
{"Action":"fail","Package":"example.com/x","Elapsed":0}
`
	log, _, ok := runSample(t, in)
	if ok || !strings.Contains(log, "x.go:1: syntax error") || !strings.Contains(log, "build failed") {
		t.Fatalf("ok %v, log:\n%s", ok, log)
	}
	if _, _, ok := runSample(t, `{"Action":"pass","Package":"example.com/y","Test":"TestY"}`+"\n"); !ok {
		t.Fatal("a passing run failed")
	}
}
