//go:build netriage_testpanic

package main

import (
	"os"
	"time"

	"netriage/views"
)

// This file is compiled only into the binary that the end-to-end tests
// build with -tags netriage_testpanic, never into bin/netriage. With
// NETRIAGE_TEST_PANIC=engine in its environment the demo engine panics at
// its third tick, so a test can check that the terminal is restored and
// the panic printed after it.

func init() {
	if os.Getenv("NETRIAGE_TEST_PANIC") != "engine" {
		return
	}
	next := demoModel
	demoModel = func(now time.Time, tick int) *views.Model {
		if tick == 2 {
			panic("test panic in the demo engine")
		}
		return next(now, tick)
	}
}
