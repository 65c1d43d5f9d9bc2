package tui

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"netriage/views/format"
)

// goodTerms are TERM values the UI is known to drive (termbox reads their
// terminfo entries or has them built in).
const goodTerms = "xterm-256color or xterm (most terminal emulators), screen-256color or tmux-256color (inside screen or tmux), linux (the console)"

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// CheckTerminal checks, before the terminal is taken over, that there is
// an interactive terminal the UI can drive: stdin and stdout are
// terminals and TERM names a terminal with cursor addressing.
func CheckTerminal(term string, stdinTTY, stdoutTTY bool) error {
	switch {
	case !stdinTTY || !stdoutTTY:
		return errors.New("needs an interactive terminal on stdin and stdout; for scripts use 'netriage flows', 'procs', 'links' or 'check' with --output json, which work anywhere")
	case term == "" || term == "dumb":
		return errors.New(TermAdvice(term))
	}
	return nil
}

// TermAdvice says which TERM the UI needs.
func TermAdvice(term string) string {
	what := "TERM is not set"
	if term != "" {
		what = fmt.Sprintf("TERM=%s is not a terminal the UI can drive", format.Sanitize(term, 40))
	}
	return what + ": set TERM to the terminal's type, e.g. " + goodTerms +
		"; the other subcommands ('netriage flows', 'procs', 'links', 'check') need no terminal and work anywhere"
}
