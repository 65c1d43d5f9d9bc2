package main

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"netriage/configs"
	"netriage/sources/inputs"
	"netriage/triage/engine"
	"netriage/views"
	"netriage/views/tui"
)

func init() {
	defaultCommand = "top"
	register(&command{name: "top", summary: "the terminal UI: verdict, flows, processes, remotes and links in one screen (default)", run: runTop})
}

// topFlags are top's own flags; capture flags keep iftop's letters.
type topFlags struct {
	common commonFlags
	ports  bool
	replay string
	demo   bool
}

func runTop(ctx context.Context, env *cmdEnv, args []string) int {
	var tf topFlags
	fs := newFlagSet("top")
	tf.common.addInterfaces(fs, "interfaces to watch, comma separated (default: every interface that is up)")
	tf.common.addCapture(fs, true)
	tf.common.addDisplay(fs)
	fs.BoolVarP(&tf.ports, "port-display", "P", false, "start with ports shown (host:port rows), like iftop -P")
	fs.StringVar(&tf.replay, "replay", "", "browse a pcap or pcapng file instead of live traffic")
	fs.BoolVar(&tf.demo, "demo", false, "show built-in demonstration data (no privileges needed)")
	fs.StringVar(&tf.common.view, "view", "", "screen at start: overview, flows, procs, conns, remotes, links, egress (default from config: overview)")
	tf.common.addLinkSpeed(fs)
	tf.common.addNetns(fs)
	tf.common.addRun(fs)
	cfg, done, err := tf.common.parse(env, fs, args)
	if done || err != nil {
		return failOrHelp(env, "top", err)
	}
	view, _ := views.ParseView(cfg.UI.View) // the config checked it
	st := views.NewUIState(view)
	st.Bytes, st.DNS, st.PortNames, st.Ports = cfg.UI.Bytes || tf.common.bytes, !tf.common.noDNS, !tf.common.noPorts, tf.ports

	ctx, cancel := tf.common.deadline(ctx)
	defer cancel()
	host := tui.New(st)
	// The sources are opened (and bad interfaces, filters or files refused)
	// before the terminal is checked and taken over.
	var run func(context.Context)
	switch {
	case tf.demo:
		run = func(ctx context.Context) { runDemo(ctx, cfg, host) }
	default:
		var r *topRun
		if tf.replay != "" {
			r, err = topReplaySetup(ctx, &tf, cfg, host)
		} else {
			r, err = topLiveSetup(ctx, &tf, cfg, nil, host)
		}
		if err != nil {
			return fail(env, "top", err)
		}
		defer r.Close()
		run = r.Run
	}
	// SIGPIPE stops the run once the terminal is taken over: only a kill
	// sends it then (the UI writes to the terminal), and it must restore
	// the terminal too.
	catchPipe := func() {
		if env.catch != nil {
			env.catch(syscall.SIGPIPE)
		}
	}
	var pe *tui.PanicError
	switch err = host.RunOnTerminal(ctx, run, catchPipe); {
	case err == nil:
		return exitOK
	case errors.As(err, &pe): // the terminal is restored: print it where it can be read
		fmt.Fprint(env.stderr, "netriage top: "+pe.Report())
		return exitFailure
	case errors.Is(err, tui.ErrTerminal): // none, or one the UI cannot drive: what to do is in err
		err = configs.Usagef("%v", err)
	}
	return fail(env, "top", err)
}

// demoModel is the model of the demo at tick; a variable so that a test
// build can make the engine fail (see top_testpanic.go).
var demoModel = views.Demo

// runDemo publishes the demo model at every step of an engine with no
// input but its clock, until ctx ends.
func runDemo(ctx context.Context, cfg configs.Config, host *tui.Host) {
	in, err := inputs.Open(ctx, inputs.Options{Config: cfg})
	if err != nil {
		return
	}
	defer in.Close()
	in.Run(ctx, func(s *engine.Snapshot) bool {
		host.Publish(demoModel(s.Time, int(s.Seq-1)))
		return true
	})
}
