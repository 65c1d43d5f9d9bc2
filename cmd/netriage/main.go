// Command netriage is a one-screen network triage tool for Linux hosts: link
// saturation, flows, processes and remote hosts, and interface counters
// reconciled with what the capture saw.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"

	"netriage/configs"
	"netriage/views/format"
	"netriage/views/tui"
)

// Exit codes shared by every subcommand. check uses the monitoring-plugin
// convention (0 ok, 1 warning, 2 critical, 3 unknown); the other subcommands
// use 0 for success, 2 for bad usage or input, 1 for runtime failures. A
// run stopped by a signal exits 128+n (see signalExit).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// command is one subcommand. Each lives in its own file and registers itself
// from an init function, so subcommands never edit each other's files.
type command struct {
	name    string
	summary string
	// run executes the subcommand with the arguments after its name and
	// returns the process exit code. It writes results to stdout and
	// diagnostics to stderr; ctx is cancelled on the stop signals.
	run    func(ctx context.Context, env *cmdEnv, args []string) int
	hidden bool
}

// cmdEnv carries the process edges a subcommand may touch, so tests can run
// subcommands in-process with buffers.
type cmdEnv struct {
	stdout io.Writer
	stderr io.Writer
	// stderrIsTerminal reports whether progress lines may be drawn on stderr.
	stderrIsTerminal bool
	// catch, when set, makes more signals stop the run like stopSignals.
	catch func(more ...os.Signal)
}

// progress is where progress lines go: stderr when it is a terminal,
// else nowhere (nil).
func (e *cmdEnv) progress() io.Writer {
	if e.stderrIsTerminal {
		return e.stderr
	}
	return nil
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("netriage: duplicate subcommand " + c.name)
	}
	commands[c.name] = c
}

// defaultCommand is what runs when no subcommand is named.
var defaultCommand = "help"

// stopSignals end any subcommand cleanly: the context is cancelled, so
// captures close their sockets, writers flush and the terminal UI restores
// the terminal (leaves the alternate screen, shows the cursor, restores the
// tty mode) before the process exits. They are the catchable signals whose
// default action ends the process, less those the Go runtime or termbox
// use (SIGPROF, SIGURG, SIGIO) and the crash signals, which keep their
// stack dump. SIGPIPE is caught only while the terminal UI runs (see
// cmdEnv.catch): elsewhere Go's default ends the process quietly when
// stdout is a closed pipe ('netriage flows | head').
var stopSignals = []os.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGVTALRM,
	syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGPWR, syscall.SIGSTKFLT,
}

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, stopSignals...)
	var caught atomic.Value // the first stop signal
	go func() {
		s := <-sigs
		caught.Store(s)
		cancel()
		// A second signal does not wait for the clean stop.
		os.Exit(signalExit(<-sigs))
	}()
	env := &cmdEnv{stdout: os.Stdout, stderr: os.Stderr, stderrIsTerminal: tui.IsTerminal(os.Stderr),
		catch: func(more ...os.Signal) { signal.Notify(sigs, more...) }}
	code := dispatch(ctx, env, os.Args[1:])
	signal.Stop(sigs)
	if s, ok := caught.Load().(os.Signal); ok {
		code = signalExit(s)
	}
	os.Exit(code)
}

// signalExit is the exit code of a run stopped by signal s: 128+n, as a
// shell reports a process killed by it (SIGHUP 129, SIGINT 130, SIGQUIT
// 131, SIGTERM 143), whatever the subcommand would have returned.
func signalExit(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return exitFailure
}

func dispatch(ctx context.Context, env *cmdEnv, args []string) int {
	name := defaultCommand
	rest := args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, rest = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		name, rest = "help", nil
	} else if len(args) > 0 && (args[0] == "--version" || args[0] == "-V") {
		name, rest = "version", nil
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(env.stderr, "netriage: unknown subcommand %q\nRun 'netriage help' for the list of subcommands.\n", name)
		return exitUsage
	}
	return c.run(ctx, env, rest)
}

func init() {
	register(&command{name: "help", summary: "show this help, or a subcommand's help", run: runHelp})
}

func runHelp(_ context.Context, env *cmdEnv, args []string) int {
	if len(args) > 0 {
		c, ok := commands[args[0]]
		if !ok || c.name == "help" {
			fmt.Fprintf(env.stderr, "netriage: no help for unknown subcommand %q\n", args[0])
			return exitUsage
		}
		return c.run(context.Background(), env, []string{"--help"})
	}
	fmt.Fprint(env.stdout, usageText())
	return exitOK
}

func usageText() string {
	var b strings.Builder
	b.WriteString("netriage: is this link saturated, and who is using it?\n\n")
	b.WriteString("Usage: netriage [subcommand] [flags]\n\nWith no subcommand, netriage starts the terminal UI (top).\n\nSubcommands:\n")
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-9s %s\n", n, commands[n].summary)
	}
	b.WriteString("\nRun 'netriage SUBCOMMAND --help' for its flags. Documentation: docs/guide.md\n")
	return b.String()
}

// fail prints err on stderr prefixed with the subcommand and returns the
// matching exit code.
func fail(env *cmdEnv, sub string, err error) int {
	msg := configs.UsageMessage(err)
	// Errors can quote untrusted text (names from the kernel, files,
	// flags): strip control characters line by line.
	fmt.Fprintf(env.stderr, "netriage %s: %s\n", sub, format.SanitizeLines(msg))
	if errors.Is(err, configs.ErrUsage) {
		return exitUsage
	}
	return exitFailure
}
