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
	"syscall"

	"netriage/views/format"
)

// Exit codes shared by every subcommand. check uses the monitoring-plugin
// convention (0 ok, 1 warning, 2 critical, 3 unknown); the other subcommands
// use 0 for success, 2 for bad usage or input, 1 for runtime failures.
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
	// diagnostics to stderr; ctx is cancelled on SIGINT/SIGTERM.
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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, &cmdEnv{stdout: os.Stdout, stderr: os.Stderr, stderrIsTerminal: isTerminal(os.Stderr)}, os.Args[1:])
	stop()
	os.Exit(code)
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

// errUsage marks errors caused by the user's input (flags, config, names);
// they exit with exitUsage rather than exitFailure.
var errUsage = errors.New("usage error")

// usageErrorf returns an error that wraps errUsage.
func usageErrorf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
}

// fail prints err on stderr prefixed with the subcommand and returns the
// matching exit code.
func fail(env *cmdEnv, sub string, err error) int {
	msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
	// Errors can quote untrusted text (names from the kernel, files,
	// flags): strip control characters line by line.
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		lines[i] = format.Sanitize(l, 0)
	}
	fmt.Fprintf(env.stderr, "netriage %s: %s\n", sub, strings.Join(lines, "\n"))
	if errors.Is(err, errUsage) {
		return exitUsage
	}
	return exitFailure
}
