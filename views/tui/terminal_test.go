package tui

import (
	"strings"
	"testing"
)

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
			err := CheckTerminal(tc.term, tc.stdin, tc.stdout)
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
		})
	}
}
