package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"netriage/configs"
)

func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = dispatch(context.Background(), &cmdEnv{stdout: &o, stderr: &e}, args)
	return o.String(), e.String(), code
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantErrOut string
	}{
		{"help", []string{"help"}, exitOK, "Subcommands:", ""},
		{"--help", []string{"--help"}, exitOK, "Subcommands:", ""},
		{"version", []string{"version"}, exitOK, "netriage ", ""},
		{"--version", []string{"--version"}, exitOK, "netriage ", ""},
		{"unknown", []string{"bogus"}, exitUsage, "", "unknown subcommand \"bogus\""},
		{"help unknown", []string{"help", "bogus"}, exitUsage, "", "unknown subcommand"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("stdout %q does not contain %q", out, tc.wantOut)
			}
			if !strings.Contains(errOut, tc.wantErrOut) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.wantErrOut)
			}
		})
	}
}

// TestEverySubcommandHasHelp checks that --help works everywhere and exits 0.
func TestEverySubcommandHasHelp(t *testing.T) {
	for name := range commands {
		if name == "help" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			out, errOut, code := runCmd(t, name, "--help")
			if code != exitOK || out == "" {
				t.Errorf("%s --help: code %d, stdout %q, stderr %q", name, code, out, errOut)
			}
		})
	}
}

// TestFailSanitizes: error text reaches the terminal without control
// characters, line breaks kept, and usage errors exit 2.
func TestFailSanitizes(t *testing.T) {
	var e bytes.Buffer
	code := fail(&cmdEnv{stdout: &bytes.Buffer{}, stderr: &e}, "x", configs.Usagef("unknown interface \x1b[2Jevil\nsecond line"))
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if got, want := e.String(), "netriage x: unknown interface ?[2Jevil\nsecond line\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

// TestForeignFlags: iftop's -t -s 5 and bandwhich's --raw fail as usage
// errors that name the equivalent command.
func TestForeignFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-t", "-s", "5"}, "netriage flows --interval 5s --count 1"},
		{[]string{"top", "--raw"}, "--output json"},
		{[]string{"procs", "-d", "2"}, "--interval"},
	} {
		_, errOut, code := runCmd(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q: want %d and %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
}
