package main

import (
	"strings"
	"syscall"
	"testing"

	"netriage/triage"
)

// TestCheckLinkSpeeds: a --link-speed interface must exist in the watched
// namespace (usage error listing the interfaces); one that only the config
// file names may appear later and is a warning.
func TestCheckLinkSpeeds(t *testing.T) {
	sample := &triage.LinksSample{Ifaces: []triage.IfaceSample{{Name: "lo"}, {Name: "eth0"}}}
	tests := []struct {
		name     string
		flags    []string
		file     map[string]string
		wantErr  string
		wantWarn []string
	}{
		{"existing", []string{"eth0=1G", "lo=10G"}, nil, "", nil},
		{"unknown flag name", []string{"eth0=1G", "nosuch=1G"}, nil, "--link-speed nosuch: no such interface (interfaces: eth0, lo)", nil},
		{"unknown names sorted", []string{"zz=1G", "aa=1G"}, nil, "--link-speed aa, zz: no such interface", nil},
		{"control characters stripped", []string{"x\x1b[2J=1G"}, nil, "--link-speed x?[2J: no such", nil},
		{"file name may appear later", nil, map[string]string{"wg0": "100M", "eth0": "1G"}, "", []string{"config links.speeds: no interface wg0 here yet; its capacity applies if it appears"}},
		{"flag wins over file for the same name", []string{"wg0=1G"}, map[string]string{"wg0": "100M"}, "--link-speed wg0: no such interface", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := commonFlags{linkSpeeds: tc.flags}
			cfg, err := c.resolve()
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.file {
				if _, dup := cfg.Links.Speeds[k]; !dup {
					if cfg.Links.Speeds == nil {
						cfg.Links.Speeds = map[string]string{}
					}
					cfg.Links.Speeds[k] = v
				}
			}
			warn, err := c.checkLinkSpeeds(cfg, sample)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			case tc.wantErr != "" && fail(&cmdEnv{stdout: &strings.Builder{}, stderr: &strings.Builder{}}, "x", err) != exitUsage:
				t.Errorf("not a usage error: %v", err)
			}
			if strings.Join(warn, "|") != strings.Join(tc.wantWarn, "|") {
				t.Errorf("warnings %q, want %q", warn, tc.wantWarn)
			}
		})
	}
}

// TestTopTerminal: the UI refuses, before touching the terminal, to start
// without a terminal or with a TERM that cannot address the cursor, and
// says which TERM works and that the other subcommands need none.
func TestTopTerminal(t *testing.T) {
	tests := []struct {
		name          string
		term          string
		stdin, stdout bool
		want          string
	}{
		{"xterm", "xterm-256color", true, true, ""},
		{"tmux", "tmux-256color", true, true, ""},
		{"unset", "", true, true, "TERM is not set: set TERM to the terminal's type, e.g. xterm-256color"},
		{"dumb", "dumb", true, true, "TERM=dumb is not a terminal the UI can drive"},
		{"stdout not a terminal", "xterm", true, false, "needs an interactive terminal on stdin and stdout"},
		{"stdin not a terminal", "xterm", false, true, "needs an interactive terminal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := topTerminal(tc.term, tc.stdin, tc.stdout)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "work anywhere") && !strings.Contains(err.Error(), "need no terminal") {
				t.Errorf("error does not point to the non-interactive subcommands: %v", err)
			}
			if code := fail(&cmdEnv{stdout: &strings.Builder{}, stderr: &strings.Builder{}}, "top", err); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
		})
	}
}

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
