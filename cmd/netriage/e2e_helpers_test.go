package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// e2eBin returns the binary under test ($NETRIAGE_BIN, which make e2e and
// make integration set) or skips.
func e2eBin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("NETRIAGE_BIN")
	if bin == "" {
		t.Skip("NETRIAGE_BIN not set (make e2e builds the binary and sets it)")
	}
	return bin
}

// runBin runs the binary with args and returns stdout, stderr and the exit
// code. It fails the test when the binary does not exit within 30 s or
// prints a Go stack trace.
func runBin(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not exit within 30s; stderr: %s", args, e.String())
	}
	if strings.Contains(e.String(), "goroutine ") {
		t.Errorf("stack trace on stderr: %s", e.String())
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// runBinQuiet is runBin for other goroutines than the test's: it reports
// a failure to start or a hang as exit code -1 with the reason on stderr
// instead of calling t.Fatal.
func runBinQuiet(bin string, args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		return "", "start: " + err.Error(), -1
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return o.String(), e.String() + "\n(killed after 30s)", -1
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}
