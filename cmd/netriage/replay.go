package main

import (
	"context"
	"fmt"
	"time"

	"netriage/configs"
	"netriage/sources/inputs"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/triage/verdict"
	"netriage/views/format"
	"netriage/views/output"
	"netriage/views/report"
)

func init() {
	register(&command{name: "replay", summary: "flows (and --check) over a pcap or pcapng file", run: runReplay})
}

func runReplay(ctx context.Context, env *cmdEnv, args []string) int {
	var f flowFlags
	var realtime, check bool
	var interval time.Duration
	var linkSpeeds []string
	fs := newFlagSet("replay")
	f.registerDisplay(fs, false)
	fs.BoolVar(&realtime, "realtime", false, "pace the replay at the capture's own speed")
	fs.BoolVar(&check, "check", false, "give the saturation verdict for the file (needs --link-speed)")
	fs.DurationVar(&interval, "interval", 0, "also write a record every this much capture time (default: only the final record)")
	fs.StringArrayVar(&linkSpeeds, "link-speed", nil, "with --check: the file's link capacity, RATE or IF=RATE, e.g. 100M")
	fs.StringVarP(&f.common.output, "output", "O", "table", "output format: table, json, csv; with --check: text, json, markdown")
	f.common.addConfig(fs)
	failR := func(err error) int {
		code := fail(env, "replay", err)
		if check {
			return exitUnknown
		}
		return code
	}
	if done, err := parseFlags(env, fs, args); done {
		return exitOK
	} else if err != nil {
		return failR(err)
	}
	if fs.NArg() != 1 {
		return failR(configs.Usagef("want exactly one capture file (see 'netriage replay --help')"))
	}
	path := fs.Arg(0)
	f.common.outputs = []string{"table", "json", "csv"}
	if check {
		if f.common.output == "table" {
			f.common.output = "text"
		}
		f.common.outputs = report.Formats
	}
	cfg, err := f.common.resolve()
	if err != nil {
		return failR(err)
	}
	// What --check needs is checked before the file is read.
	linkName, linkBps, err := configs.ReplayFlags(check, interval, linkSpeeds)
	if err != nil {
		return failR(err)
	}
	agg, key, err := configs.FlowsDisplay(f.aggregate, f.ports, f.sort, f.limit)
	if err != nil {
		return failR(err)
	}
	if check {
		agg = flows.By5Tuple
	}
	prog := output.NewProgress(env.progress())
	o := inputs.Options{Config: cfg, Interval: interval, Capture: true, Replay: path, Realtime: realtime,
		Filter: f.common.filter, LocalNet: f.common.localNet, Aggregation: agg, Names: !f.common.noDNS && !check,
		OnProgress: prog.Reading}
	if check { // the verdict judges the busiest check.window of a longer file
		var ok bool
		if o.From, o.To, ok, err = inputs.BusiestWindow(ctx, o, cfg.Check.Window.D()); err != nil {
			return failR(err)
		} else if ok {
			fmt.Fprintf(env.stderr, "netriage replay: judging the busiest %s of the file, %s to %s UTC\n", cfg.Check.Window.D(), o.From.UTC().Format(time.TimeOnly), o.To.UTC().Format(time.TimeOnly))
		}
	}
	in, err := inputs.Open(ctx, o)
	if err != nil {
		return failR(err)
	}
	defer in.Close()
	fw := f.writer(env, in.Name())
	var writeErr error
	snap, rerr := inputs.ReadFile(ctx, in, path, func(s *engine.Snapshot) {
		if !check && interval > 0 && writeErr == nil {
			rec := *s.Flows
			rec.FromFile(path)
			writeErr = fw.WriteTop(rec, key, false, nil)
		}
	})
	prog.Clear()
	if check {
		if rerr != nil && snap.Capture.Packets == 0 {
			return failR(rerr)
		}
		fc := verdict.FileCheck{File: path, Snap: &snap, From: o.From, To: o.To, Filter: f.common.filter, LocalNet: f.common.localNet, Link: linkName, Bps: linkBps}
		code := writeCheck(env, verdict.Evaluate(fc.Window(), cfg.Check.Thresholds()), report.Format(f.common.output))
		if rerr != nil {
			fmt.Fprintf(env.stderr, "netriage replay: %s (the verdict covers the packets before it)\n", format.Sanitize(rerr.Error(), 0))
		}
		return code
	}
	var notes []string
	if rerr != nil {
		notes = append(notes, "incomplete: "+rerr.Error()) // the writer sanitises notes
	}
	if writeErr == nil {
		writeErr = fw.WriteTop(snap, key, true, notes)
	}
	if writeErr != nil {
		return fail(env, "replay", fmt.Errorf("write: %w", writeErr))
	}
	if rerr != nil {
		fmt.Fprintf(env.stderr, "netriage replay: %s\nThe record above covers the %d packets read before it.\n", format.Sanitize(rerr.Error(), 0), snap.Capture.Packets)
		return exitFailure
	}
	return exitOK
}
