package main

import (
	"context"
	"fmt"
	"time"

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
	interval := cfg.Interval.D()
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
	track := triage.NewLinkTracker(in.Watched, cfg.Links.SpeedsBps())
	emitted := 0
	// A removed interface or namespace is reported in every sample (gone
	// rows, netns_gone) and once on stderr. The run stops when nothing is
	// left to show; it exits 1 when that happened or when an interface
	// named with -i was removed.
	removed, nothingLeft := false, false
	var writeErr error
	// write writes the rows of cur against the previous sample; it
	// returns false when nothing is left to sample.
	write := func(cur triage.LinksSample) bool {
		st := track.Next(cur)
		at := cur.Time.Local().Format("15:04:05.000")
		if st.NetnsGone {
			fmt.Fprintf(env.stderr, "netriage links: %s; its interfaces are gone with it (%s)\n", format.Sanitize(cur.NetnsGone, 300), at)
		}
		for _, n := range st.Removed {
			removed = removed || len(cf.ifaces) > 0
			if cur.NetnsGone == "" {
				fmt.Fprintf(env.stderr, "netriage links: interface %s was removed (missing from the sample at %s)\n", format.Sanitize(n, 64), at)
			}
		}
		if writeErr = w.Write(&cur, st.Rows, track.GoneSince()); writeErr != nil {
			return false
		}
		emitted++
		nothingLeft = !st.Left
		return st.Left && (cf.count == 0 || emitted < cf.count)
	}
	var lastErr string
	in.Run(ctx, func(s *engine.Snapshot) bool {
		if why := s.Why("links"); !s.LinksRead && why != "" && why != lastErr {
			lastErr = why
			fmt.Fprintf(env.stderr, "netriage links: %s (retrying)\n", format.Sanitize(why, 300))
		}
		if !s.LinksRead {
			return !s.Last
		}
		cur := *s.Links
		cur.Seq = s.Seq
		if s.Seq == 1 {
			track.Baseline(cur) // rates need two samples
			return true
		}
		if s.Last {
			if emitted > 0 {
				return false // a sample after the run's end is not printed
			}
			// The run ended before the first interval did (e.g.
			// --duration 500ms with a 1 s interval): print the one sample
			// there is, with rates over the time elapsed.
			el := cur.Time.Sub(s.Start).Round(time.Millisecond)
			fmt.Fprintf(env.stderr, "netriage links: the run ended %s after start, before the first %s interval: rates are over those %s (shorten --interval for more samples)\n", el, interval, el)
		}
		return write(cur)
	})
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
