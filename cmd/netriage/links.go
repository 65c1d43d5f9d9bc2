package main

import (
	"context"
	"fmt"

	"netriage/sources/inputs"
	"netriage/triage"
	"netriage/triage/engine"
	"netriage/views/format"
	"netriage/views/output"
)

func init() {
	register(&command{name: "links", summary: "interface and qdisc counters, rates, capacity and utilisation", run: runLinks})
}

func runLinks(ctx context.Context, env *cmdEnv, args []string) int {
	var cf commonFlags
	fs := newFlagSet("links")
	cf.addInterfaces(fs, "interfaces to show, comma separated (default: every interface that is up, except lo)")
	cf.addTiming(fs)
	cf.addOutput(fs, "table", "json", "csv")
	cf.addConfig(fs)
	cf.addNetns(fs)
	cf.addLinkSpeed(fs)
	cfg, done, err := cf.parse(env, fs, args)
	if done || err != nil {
		return failOrHelp(env, "links", err)
	}
	ctx, cancel := cf.deadline(ctx)
	defer cancel()
	o := cf.options(cfg)
	o.Links, o.RequireUp, o.FinalOnStop = true, true, true
	in, err := inputs.Open(ctx, o)
	if err != nil {
		return fail(env, "links", err)
	}
	defer in.Close()
	for _, h := range in.Absent {
		fmt.Fprintf(env.stderr, "netriage links: %s\n", format.Sanitize(h.Why, 300))
	}
	w := output.NewLinksWriter(env.stdout, cf.output, cf.netns)
	// A removed interface or namespace is reported in every sample (gone
	// rows, netns_gone) and once on stderr. The run stops when nothing is
	// left to show; it exits 1 when that happened or when an interface
	// named with -i was removed.
	removed, nothingLeft := false, false
	var writeErr error
	retrying := func(why string) {
		fmt.Fprintf(env.stderr, "netriage links: %s (retrying)\n", format.Sanitize(why, 300))
	}
	track := triage.NewLinkTracker(in.Watched, cfg.Links.SpeedsBps())
	in.Run(ctx, engine.LinkRecords(cf.count, track, retrying, func(r *engine.LinkRecord) bool {
		cur := &r.Sample
		at := func() string { return cur.Time.Local().Format("15:04:05.000") } // for the messages only
		if r.Short {
			fmt.Fprintf(env.stderr, "netriage links: the run ended %s after start, before the first %s interval: rates are over those %s (shorten --interval for more samples)\n", r.Elapsed, cfg.Interval.D(), r.Elapsed)
		}
		if r.NetnsGone {
			fmt.Fprintf(env.stderr, "netriage links: %s; its interfaces are gone with it (%s)\n", format.Sanitize(cur.NetnsGone, 300), at())
		}
		for _, n := range r.Removed {
			removed = removed || len(cf.ifaces) > 0
			if cur.NetnsGone == "" {
				fmt.Fprintf(env.stderr, "netriage links: interface %s was removed (missing from the sample at %s)\n", format.Sanitize(n, 64), at())
			}
		}
		nothingLeft = !r.Left
		writeErr = w.Write(cur, r.Rows, r.GoneSince)
		return writeErr == nil
	}))
	w.Flush()
	if writeErr != nil {
		return fail(env, "links", fmt.Errorf("write: %w", writeErr))
	}
	if nothingLeft {
		fmt.Fprintln(env.stderr, "netriage links: no interface left to show: stopping")
	}
	if nothingLeft || removed {
		return exitFailure
	}
	return exitOK
}
