package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"netriage/internal/lab"
)

// TestE2EBadInputExitCodes runs every subcommand with the same bad inputs:
// each must say what is wrong and exit 2 (check: 3, the monitoring
// plugins' "unknown"). As root the binary runs inside an empty lab
// namespace, so nothing is captured on the host even if a case regressed.
func TestE2EBadInputExitCodes(t *testing.T) {
	bin := e2eBin(t)
	var prefix []string
	root := os.Geteuid() == 0
	if root {
		ns := lab.New(t).Netns()
		prefix = []string{"ip", "netns", "exec", ns.Name}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("interval: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Flags that end a run that unexpectedly starts (a case's own flags
	// come after them and win), and -i lo where the subcommand needs an
	// interface that is up (the lab namespace has only lo; -i adds up).
	bound := map[string][]string{
		"flows": {"--count", "1", "--interval", "100ms"}, "procs": {"--count", "1", "--interval", "100ms"},
		"conns": {"--count", "1", "--interval", "100ms"}, "remotes": {"--count", "1", "--interval", "100ms"},
		"links": {"-i", "lo", "--count", "1", "--interval", "100ms"}, "check": {"-i", "lo", "--duration", "1s"}, "top": nil, "doctor": nil,
		"egress": {"--count", "1", "--interval", "100ms"},
	}
	all := []string{"flows", "procs", "conns", "remotes", "links", "check", "top", "doctor", "egress"}
	live := []string{"flows", "procs", "conns", "remotes", "links", "check", "top", "egress"}
	capture := []string{"flows", "procs", "conns", "remotes", "check", "top", "egress"}
	speeds := []string{"links", "check", "top", "doctor"}
	tests := []struct {
		name     string
		args     []string
		subs     []string
		want     []string // on stderr
		needRoot bool     // the input is only checked by the capture
	}{
		{"unknown flag", []string{"--bogus"}, all, []string{"unknown flag: --bogus"}, false},
		{"interval out of range", []string{"--interval", "1ns"}, live, []string{"--interval 1ns"}, false},
		{"broken config", []string{"--config", bad}, all, []string{"bad.yaml"}, false},
		{"missing config", []string{"--config", "/nonexistent/netriage.yaml"}, all, []string{"/nonexistent/netriage.yaml"}, false},
		{"unexpected argument", []string{"extra"}, all, []string{"extra"}, false},
		{"unknown interface", []string{"-i", "nosuch0"}, live, []string{"nosuch0", "interfaces"}, false},
		{"bad filter", []string{"-f", "tcp port nonsense (("}, capture, []string{"filter", "nonsense"}, true},
		{"link speed of an unknown interface", []string{"--link-speed", "nosuch0=1G"}, speeds, []string{"--link-speed nosuch0: no such interface (interfaces: lo"}, false},
		{"bad link speed", []string{"--link-speed", "lo=fast"}, speeds, []string{"lo=fast"}, false},
	}
	for _, tc := range tests {
		for _, sub := range tc.subs {
			t.Run(tc.name+"/"+sub, func(t *testing.T) {
				if tc.needRoot && !root {
					t.Skip("the capture checks this input; without root the subcommand runs without capture")
				}
				args := append(append(append(append([]string{}, prefix...), bin, sub), bound[sub]...), tc.args...)
				_, errOut, code := runBin(t, args[0], args[1:]...)
				want := exitUsage
				if sub == "check" {
					want = 3
				}
				if code != want {
					t.Errorf("exit %d, want %d; stderr: %s", code, want, errOut)
				}
				for _, w := range tc.want {
					if !strings.Contains(errOut, w) {
						t.Errorf("stderr lacks %q: %s", w, errOut)
					}
				}
			})
		}
	}
}

// TestE2ESignalsStopSubcommands: SIGHUP, SIGQUIT and SIGTERM stop the
// non-interactive subcommands through the clean path (the context ends,
// captures close, output is flushed), with exit code 128+n and no
// goroutine dump. flows captures on lo inside a lab namespace.
func TestE2ESignalsStopSubcommands(t *testing.T) {
	bin := e2eBin(t)
	runs := []struct {
		name string
		argv []string
	}{{"links", []string{bin, "links", "-i", "lo", "--interval", "100ms", "--output", "json"}}}
	if os.Geteuid() == 0 && os.Getenv(lab.EnvGate) == "1" {
		ns := lab.New(t).Netns()
		runs = append(runs, struct {
			name string
			argv []string
		}{"flows", []string{"ip", "netns", "exec", ns.Name, bin, "flows", "-i", "lo", "--interval", "100ms", "--output", "json", "-n"}})
	}
	for _, r := range runs {
		for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGTERM} {
			t.Run(r.name+"/"+sig.String(), func(t *testing.T) {
				cmd := exec.Command(r.argv[0], r.argv[1:]...)
				var errOut bytes.Buffer
				cmd.Stderr = &errOut
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				first := make(chan string, 1)
				go func() {
					sc := bufio.NewScanner(out)
					sc.Buffer(make([]byte, 1<<20), 1<<20)
					if sc.Scan() {
						first <- sc.Text()
					}
					for sc.Scan() {
					}
					done <- cmd.Wait()
				}()
				t.Cleanup(func() { _ = cmd.Process.Kill() })
				select {
				case <-first:
				case <-time.After(10 * time.Second):
					t.Fatalf("no output within 10s; stderr: %s", errOut.String())
				}
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatalf("still running 10s after %v", sig)
				}
				if got, want := cmd.ProcessState.ExitCode(), 128+int(sig); got != want {
					t.Errorf("exit %d (%v), want %d", got, cmd.ProcessState, want)
				}
				if strings.Contains(errOut.String(), "goroutine ") {
					t.Errorf("goroutine dump on stderr: %s", errOut.String())
				}
			})
		}
	}
}
