package main

import (
	"context"
	"net/netip"
	"os"
	"time"

	"netriage/sources/clock"
	"netriage/views"
	"netriage/views/tui"
)

func init() {
	defaultCommand = "top"
	register(&command{name: "top", summary: "the terminal UI: verdict, flows, processes, remotes and links in one screen (default)", run: runTop})
}

const topUsage = `Usage: netriage [top] [flags]

The terminal UI: a header with each interface's rates against capacity, the
saturation verdict and coverage, and a main pane with the Flows (iftop),
Processes (nethogs), Connections, Remotes (bandwhich) or Links view. Keys
work like iftop's; press h for help, q to quit. See docs/tui.md.`

// topFlags are top's own flags; capture flags keep iftop's letters.
type topFlags struct {
	common    commonFlags
	filter    string
	localNet  string
	ports     bool
	noDNS     bool
	noPorts   bool
	bytes     bool
	promisc   bool
	replay    string
	demo      bool
	view      string
	startTick int
}

func runTop(ctx context.Context, env *cmdEnv, args []string) int {
	var tf topFlags
	fs := newFlagSet("top", topUsage, env.stderr)
	tf.common.addInterfaces(fs, "interfaces to watch, comma separated (default: every interface that is up)")
	fs.StringVarP(&tf.filter, "filter", "f", "", "capture filter in tcpdump syntax")
	fs.StringVarP(&tf.localNet, "net-filter", "F", "", "the local network, net/len (IPv4 or IPv6): decides sent and received")
	fs.BoolVarP(&tf.ports, "port-display", "P", false, "start with ports shown (host:port rows), like iftop -P")
	fs.BoolVarP(&tf.noDNS, "no-dns", "n", false, "do not resolve host names")
	fs.BoolVarP(&tf.noPorts, "no-port-names", "N", false, "show port numbers, not service names")
	fs.BoolVarP(&tf.bytes, "bytes", "B", false, "rates in bytes/s instead of bits/s")
	fs.BoolVarP(&tf.promisc, "promiscuous", "p", false, "capture in promiscuous mode")
	fs.StringVar(&tf.replay, "replay", "", "browse a pcap or pcapng file instead of live traffic")
	fs.BoolVar(&tf.demo, "demo", false, "show built-in demonstration data (no privileges needed)")
	fs.StringVar(&tf.view, "view", "", "view at start: flows, procs, conns, remotes, links (default from config: flows)")
	fs.IntVar(&tf.startTick, "demo-start", 0, "first tick of the demo data (tests)")
	_ = fs.MarkHidden("demo-start")
	tf.common.addTiming(fs)
	tf.common.addLinkSpeed(fs)
	tf.common.addNetns(fs)
	tf.common.addFanout(fs)
	tf.common.addConfig(fs)
	if done, err := parseFlags(env, fs, topUsage, args); done {
		return exitOK
	} else if err != nil {
		return fail(env, "top", err)
	}
	if fs.NArg() > 0 {
		return fail(env, "top", usageErrorf("unexpected argument %q (see 'netriage top --help')", fs.Arg(0)))
	}
	cfg, err := tf.common.resolve()
	if err != nil {
		return fail(env, "top", err)
	}
	if tf.localNet != "" {
		if _, err := netip.ParsePrefix(tf.localNet); err != nil {
			return fail(env, "top", usageErrorf("-F %q: want net/len, e.g. 198.18.0.0/15 or fd00:198:18::/64", tf.localNet))
		}
	}
	viewName := cfg.UI.View
	if tf.view != "" {
		viewName = tf.view
	}
	view, ok := views.ParseView(viewName)
	if !ok {
		return fail(env, "top", usageErrorf("--view %q: use flows, procs, conns, remotes or links", viewName))
	}
	if !isTerminal(os.Stdin) || !isTerminal(os.Stdout) {
		return fail(env, "top", usageErrorf("needs a terminal; for scripts use 'netriage flows', 'links' or 'check' with --output json"))
	}

	st := views.NewUIState(view)
	st.Bytes = cfg.UI.Bytes || tf.bytes
	st.DNS = !tf.noDNS
	st.PortNames = !tf.noPorts
	st.Ports = tf.ports

	if tf.common.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, tf.common.duration)
		defer cancel()
	}
	host := tui.New(st)
	clk := clock.Real{}
	interval := cfg.Interval.D()
	switch {
	case tf.demo:
		go runDemoSource(ctx, clk, interval, tf.startTick, host)
	case tf.replay != "":
		rp, err := topReplaySetup(ctx, &tf, cfg, host)
		if err != nil {
			return fail(env, "top", err)
		}
		defer rp.Close()
		engineCtx, stopEngine := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); rp.Run(engineCtx) }()
		defer func() { stopEngine(); <-done }()
	default:
		live, err := topLiveSetup(ctx, &tf, cfg, clk, host)
		if err != nil {
			return fail(env, "top", err)
		}
		defer live.Close()
		engineCtx, stopEngine := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); live.Run(engineCtx) }()
		defer func() { stopEngine(); <-done }()
	}
	if err := host.Run(ctx); err != nil {
		return fail(env, "top", err)
	}
	return exitOK
}

// runDemoSource publishes the demo model once per interval until ctx ends.
func runDemoSource(ctx context.Context, clk clock.Clock, interval time.Duration, tick int, host *tui.Host) {
	host.Publish(views.Demo(clk.Now(), tick))
	t := clk.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C():
			tick++
			host.Publish(views.Demo(now, tick))
		}
	}
}
