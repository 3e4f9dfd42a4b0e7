package main

import (
	"os"
	"strings"
	"testing"
)

// readmeSection returns the README's section under heading, up to the next "## ".
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	data, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README has no section %q", heading)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// TestReadmeNetdataDifferences: the netdata section has one table of the deliberate
// differences, each of those issue 15 names among its rows.
func TestReadmeNetdataDifferences(t *testing.T) {
	sec := readmeSection(t, "## As a drop-in for netdata's registry")
	if n := strings.Count(sec, "\n| regwasm | netdata | why |\n"); n != 1 || strings.Count(sec, "\n|---|") != 1 {
		t.Fatalf("want one table of differences, found %d headers", n)
	}
	var rows []string
	for _, l := range strings.Split(sec, "\n") {
		if strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| regwasm |") {
			if strings.Count(l, " | ") != 2 {
				t.Fatalf("row without three cells: %s", l)
			}
			rows = append(rows, l)
		}
	}
	for _, want := range []string{
		"canonical UUIDs", "cut at `max URL name length` (50)", "never split a UTF-8 sequence",
		"Percent-escapes are decoded after the query is split on `&`", "JSON body",
		"sixth element", "8 KiB", "`Authorization: Bearer` is not an identity",
	} {
		found := false
		for _, r := range rows {
			found = found || strings.Contains(r, want)
		}
		if !found {
			t.Errorf("no row of the differences table says %q", want)
		}
	}
}

// TestReadmePointAgents: the README tells how to point netdata agents at the registry.
func TestReadmePointAgents(t *testing.T) {
	sec := readmeSection(t, "## Point your netdata agents at it")
	for _, want := range []string{"[registry]", "enabled = no", "registry to announce = https://", "X-Forwarded-Proto", "announces itself"} {
		if !strings.Contains(sec, want) {
			t.Errorf("section lacks %q", want)
		}
	}
}
