//go:build netriage_testpanic

package tui

import (
	"context"
	"os"

	"netriage/triage/fleet"
)

// This file is compiled only into the binary that the end-to-end tests
// build with -tags netriage_testpanic, never into bin/netriage. With
// NETRIAGE_TEST_PANIC=fleet in its environment the fleet screen's second
// query set panics, so a test can check that the terminal is restored and
// the panic printed after it.

func init() {
	if os.Getenv("NETRIAGE_TEST_PANIC") != "fleet" {
		return
	}
	testAsk = func(ask func(context.Context) (fleet.Report, error)) func(context.Context) (fleet.Report, error) {
		n := 0
		return func(ctx context.Context) (fleet.Report, error) {
			if n++; n == 2 {
				panic("test panic in the fleet screen's query")
			}
			return ask(ctx)
		}
	}
}
