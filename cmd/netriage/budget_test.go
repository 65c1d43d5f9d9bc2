package main

import (
	"bytes"
	"fmt"
	"go/build"
	"os"
	"strings"
	"testing"
)

// cmdLineBudget is the most lines of non-test code cmd/netriage may hold
// (docs/dev/codebase-guide.md): flags and an emit function per
// subcommand, no parsers, writers, /proc readers or input wiring.
const cmdLineBudget = 1500

// TestLineBudget fails when the files go build compiles into the binary
// (so not the tests, nor top_testpanic.go, which only the tests' build
// tag compiles) hold more than cmdLineBudget lines. The way back under it
// is to move a responsibility to the package it belongs to, not to
// squeeze statements or drop comments.
func TestLineBudget(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	var per []string
	for _, name := range append(pkg.GoFiles, pkg.CgoFiles...) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		n := bytes.Count(b, []byte("\n"))
		total += n
		per = append(per, fmt.Sprintf("%5d %s", n, name))
	}
	if total > cmdLineBudget {
		t.Errorf("cmd/netriage holds %d lines of non-test code, more than its budget of %d (docs/dev/codebase-guide.md: move logic to the package it belongs to):\n%s",
			total, cmdLineBudget, strings.Join(per, "\n"))
	}
	t.Logf("%d of %d lines", total, cmdLineBudget)
}
