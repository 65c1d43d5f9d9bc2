package main

import (
	"strings"
	"syscall"
	"testing"
)

func TestSignalExit(t *testing.T) {
	for sig, want := range map[syscall.Signal]int{syscall.SIGHUP: 129, syscall.SIGINT: 130, syscall.SIGQUIT: 131, syscall.SIGTERM: 143} {
		if got := signalExit(sig); got != want {
			t.Errorf("%v: exit %d, want %d", sig, got, want)
		}
	}
}

// TestNoTestOnlyFlags: flags that only tests used (a starting tick for the
// demo, a /proc root of the user's choice, which a binary with file
// capabilities must not offer) are not in the shipped binary. The
// trailing bad --interval stops the run either way.
func TestNoTestOnlyFlags(t *testing.T) {
	for _, args := range [][]string{
		{"top", "--demo-start", "3", "--interval", "1ns"},
		{"procs", "--proc", "/tmp", "--interval", "1ns"},
		{"conns", "--proc", "/tmp", "--interval", "1ns"},
		{"remotes", "--proc", "/tmp", "--interval", "1ns"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			_, errOut, code := runCmd(t, args...)
			if code != exitUsage || !strings.Contains(errOut, "unknown flag: "+args[1]) {
				t.Errorf("exit %d, stderr %q; want the flag refused as unknown", code, errOut)
			}
		})
	}
}
