package tui

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"netriage/views"
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
			if !errors.Is(err, ErrTerminal) {
				t.Errorf("error %v does not match ErrTerminal", err)
			}
			if !strings.Contains(err.Error(), "work anywhere") && !strings.Contains(err.Error(), "need no terminal") {
				t.Errorf("error does not point to the non-interactive subcommands: %v", err)
			}
		})
	}
}

// TestRunOnTerminalRefuses: without a terminal (as under go test) the UI
// is refused before anything starts: no engine, no takeover, and an
// error that matches ErrTerminal and says what to do.
func TestRunOnTerminalRefuses(t *testing.T) {
	if IsTerminal(os.Stdin) && IsTerminal(os.Stdout) {
		t.Skip("stdin and stdout are a terminal: the UI would take it over")
	}
	started, taken := false, false
	h := New(views.NewUIState(views.ViewOverview))
	err := h.RunOnTerminal(context.Background(), func(context.Context) { started = true }, func() { taken = true })
	if !errors.Is(err, ErrTerminal) || !strings.Contains(err.Error(), "needs an interactive terminal") {
		t.Errorf("error %v, want one matching ErrTerminal that says a terminal is needed", err)
	}
	if strings.Contains(err.Error(), ErrTerminal.Error()) {
		t.Errorf("error %q repeats ErrTerminal's text", err)
	}
	if started || taken {
		t.Errorf("engine started %v, terminal taken %v: want neither", started, taken)
	}
}
