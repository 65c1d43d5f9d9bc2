package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/pflag"

	"netriage/configs"
	"netriage/sources/inputs"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/views/format"
	"netriage/views/output"
)

// procs, conns and remotes are one subcommand over three views of the
// attribution.
func init() {
	for _, c := range []struct {
		view    output.WhoView
		summary string
	}{
		{output.ViewProcs, "traffic per process (PID, user, program, container), TCP and UDP"},
		{output.ViewConns, "traffic per connection (5-tuple) with its owning process"},
		{output.ViewRemotes, "traffic per remote host, with names and the processes talking to it"},
	} {
		register(&command{name: string(c.view), summary: c.summary, run: func(ctx context.Context, env *cmdEnv, args []string) int {
			return runWho(ctx, env, c.view, args)
		}})
	}
}

// whoFlags are the flags of procs, conns and remotes (flows' flags plus
// --pid and --source).
type whoFlags struct {
	common commonFlags
	sort   string
	pids   []int
	source string
	replay string
}

func (f *whoFlags) register(view output.WhoView) *pflag.FlagSet {
	fs := newFlagSet(string(view))
	f.common.addInterfaces(fs, "interface(s) to capture on, comma separated, or 'any' (capture mode)")
	f.common.addCapture(fs, true)
	fs.BoolVarP(&f.common.bytes, "bytes", "B", false, "rates in bytes/s instead of bits/s")
	fs.StringVarP(&f.sort, "sort", "o", "10s", "sort by 2s, 10s, 40s, total (cumulative), pid or name")
	fs.IntSliceVar(&f.pids, "pid", nil, "only this process (repeatable, or comma separated)")
	fs.StringVar(&f.source, "source", "auto", "where bytes come from: auto, capture, or sockets (socket-counter mode)")
	fs.StringVar(&f.replay, "replay", "", "a pcap file: it holds no processes (see docs/procs.md)")
	f.common.addRun(fs, "table", "json", "csv")
	return fs
}

// runWho runs procs, conns or remotes.
func runWho(ctx context.Context, env *cmdEnv, view output.WhoView, args []string) int {
	var f whoFlags
	fs := f.register(view)
	cfg, done, err := f.common.parse(env, fs, args)
	if done || err != nil {
		return failOrHelp(env, string(view), err)
	}
	if !slices.Contains(output.WhoSorts, f.sort) {
		return fail(env, string(view), configs.Usagef("-o %q: sort by 2s, 10s, 40s, total, pid or name", f.sort))
	}
	if f.replay != "" {
		return fail(env, string(view), configs.Usagef("%s: a capture file has no processes or sockets, so %s cannot attribute its traffic; use 'netriage replay %s' for its flows and hosts", f.replay, view, f.replay))
	}
	mode, note, err := inputs.PickSource(f.source)
	if err != nil {
		return fail(env, string(view), err)
	}
	if note != "" {
		fmt.Fprintf(env.stderr, "netriage %s: %s\n", view, note)
	}
	if mode == "sockets" && (len(f.common.ifaces) > 0 || f.common.filter != "") {
		fmt.Fprintf(env.stderr, "netriage %s: -i and -f apply to capture; socket-counter mode counts every TCP socket of every namespace\n", view)
	}
	return whoLoop(ctx, env, view, &f, cfg, mode)
}

func whoLoop(ctx context.Context, env *cmdEnv, view output.WhoView, f *whoFlags, cfg configs.Config, mode string) int {
	o := f.common.options(cfg)
	o.Capture, o.Aggregation = mode == "capture", flows.By5Tuple
	o.Sockets, o.Names = true, !f.common.noDNS && view == output.ViewRemotes
	in, err := inputs.Open(ctx, o)
	if err != nil {
		return fail(env, string(view), err)
	}
	defer in.Close()
	in.Config.ReleaseAttribution = true // each record is written before the next step
	w := output.NewWhoWriter(env.stdout, view, output.WhoOptions{Format: f.common.output, Units: format.Units{Bytes: f.common.bytes}, Sort: f.sort, Mode: mode,
		ProcAccess: inputs.ProcAccess(), PIDs: f.pids})
	var lastWhy, noTable string
	var writeErr error
	in.Run(ctx, engine.Records(f.common.count, f.common.duration, func(s *engine.Snapshot) bool {
		if why := s.Why("sockets"); why != "" && why != lastWhy {
			lastWhy = why
			fmt.Fprintf(env.stderr, "netriage %s: %s\n", view, format.Sanitize(why, 300))
		}
		if s.Attribution == nil {
			// No socket table was ever read: there is nothing to attribute
			// and nothing will come (e.g. /proc cannot be listed).
			if noTable = s.Why("sockets"); noTable == "" {
				noTable = "no socket table could be read"
			}
			return false
		}
		writeErr = w.Write(*s.Attribution, s.Sockets, output.ProgramsOf(s.Attribution))
		return writeErr == nil
	}))
	if writeErr != nil {
		return fail(env, string(view), fmt.Errorf("write output: %w", writeErr))
	}
	if noTable != "" {
		return fail(env, string(view), errors.New(noTable))
	}
	return exitOK
}
