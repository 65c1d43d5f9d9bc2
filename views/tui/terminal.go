package tui

import (
	"context"
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

// terminalError is a terminal the UI cannot use. It matches ErrTerminal
// (errors.Is) without that error's text: its own says what to do.
type terminalError struct{ msg string }

func (e *terminalError) Error() string        { return e.msg }
func (e *terminalError) Is(target error) bool { return target == ErrTerminal }

// CheckTerminal checks, before the terminal is taken over, that there is
// an interactive terminal the UI can drive: stdin and stdout are
// terminals and TERM names a terminal with cursor addressing. Its errors
// match ErrTerminal.
func CheckTerminal(term string, stdinTTY, stdoutTTY bool) error {
	switch {
	case !stdinTTY || !stdoutTTY:
		return &terminalError{"needs an interactive terminal on stdin and stdout; for scripts use 'netriage flows', 'procs', 'links' or 'check' with --output json, which work anywhere"}
	case term == "" || term == "dumb":
		return &terminalError{TermAdvice(term)}
	}
	return nil
}

// RunOnTerminal runs the UI with engine (see RunEngine) on this process's
// terminal, once CheckTerminal accepts its TERM, stdin and stdout; taken,
// when set, is called just before the terminal is taken over. Every error
// about the terminal, whether refused before it is touched or because the
// terminal library could not start, matches ErrTerminal and says what to
// do; a panic is a *PanicError, returned once the terminal was restored.
func (h *Host) RunOnTerminal(ctx context.Context, engine func(context.Context), taken func()) error {
	term := os.Getenv("TERM")
	if err := CheckTerminal(term, IsTerminal(os.Stdin), IsTerminal(os.Stdout)); err != nil {
		return err
	}
	if taken != nil {
		taken()
	}
	err := h.RunEngine(ctx, engine)
	if errors.Is(err, ErrTerminal) {
		return fmt.Errorf("%w\n%s", err, TermAdvice(term))
	}
	return err
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
