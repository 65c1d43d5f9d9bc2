package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"netriage/sources/clock"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/triage/verdict"
	"netriage/views/format"
	"netriage/views/output"
)

const replayUsage = `Usage: netriage replay [flags] FILE

The accounting of 'netriage flows' over a pcap or pcapng file (Ethernet,
Linux cooked SLL/SLL2, raw IP, loopback/NULL), using the packets' own
timestamps: the same numbers a live capture would have shown. It runs as
fast as it can (--realtime paces it) and ends with one record of the
cumulative per-flow totals of the whole file.

The local side: with -F NET/LEN, addresses in that network. Without -F,
private and special-use addresses (10/8, 172.16/12, 192.168/16, 100.64/10,
198.18/15, 169.254/16, 127/8, fc00::/7, fe80::/10, ::1) are local; when both
or neither end of a packet is local, the source of a conversation's first
packet is taken as local.

With --check the file gets a saturation verdict against --link-speed and the
flows that explain it (no interface counters: coverage is n/a).

Examples:
  netriage replay capture.pcap -P -L 20
  netriage replay capture.pcapng --output json | jq .totals
  netriage replay capture.pcap --check --link-speed 100M --output markdown`

func init() {
	register(&command{name: "replay", summary: "flows (and --check) over a pcap or pcapng file", run: runReplay})
}

func runReplay(ctx context.Context, env *cmdEnv, args []string) int {
	var f flowFlags
	var realtime, check bool
	fs := newFlagSet("replay")
	f.registerDisplay(fs)
	fs.BoolVar(&realtime, "realtime", false, "pace the replay at the capture's own speed")
	fs.BoolVar(&check, "check", false, "give the saturation verdict for the file (needs --link-speed)")
	fs.DurationVar(&f.common.interval, "interval", 0, "also write a record every this much capture time (default: only the final record)")
	f.common.addLinkSpeed(fs)
	fs.StringVarP(&f.common.output, "output", "O", "table", "output format: table, json, csv; with --check: text, json, markdown")
	f.common.addConfig(fs)
	if done, err := parseFlags(env, fs, replayUsage, args); done || err != nil {
		if err != nil {
			code := fail(env, "replay", err)
			if check {
				return exitUnknown
			}
			return code
		}
		return exitOK
	}
	failR := func(err error) int {
		code := fail(env, "replay", err)
		if check {
			return exitUnknown
		}
		return code
	}
	if fs.NArg() != 1 {
		return failR(usageErrorf("want exactly one capture file (see 'netriage replay --help')"))
	}
	path := fs.Arg(0)
	interval := f.common.interval
	f.common.interval = 0
	if check {
		if f.common.output == "table" {
			f.common.output = "text"
		}
	} else {
		f.common.outputs = []string{"table", "json", "csv"}
	}
	linkSpeeds := f.common.linkSpeeds
	f.common.linkSpeeds = nil
	cfg, err := f.common.resolve()
	if err != nil {
		return failR(err)
	}
	if !check && len(linkSpeeds) > 0 {
		return failR(usageErrorf("--link-speed only applies with --check"))
	}
	if interval < 0 {
		return failR(usageErrorf("--interval %s: must be positive", interval))
	}
	agg, key, err := f.resolveDisplay()
	if err != nil {
		return failR(err)
	}
	if check {
		agg = flows.By5Tuple
	}
	prog := output.NewProgress(env.progress())
	var clk clock.Clock
	var start time.Time
	in, err := openInputs(ctx, inputOptions{cfg: cfg, interval: interval, capture: true, replay: path, realtime: realtime,
		filter: f.filter, localNet: f.localNet, agg: agg, names: !f.noDNS && !check,
		onProgress: func(read, size int64, packets uint64) { prog.Reading(read, size, packets, clk.Now().Sub(start)) }})
	if err != nil {
		return failR(err)
	}
	defer in.Close()
	clk, start = in.clk, in.clk.Now()
	var names func(netip.Addr) string
	if in.names != nil {
		names = in.names.Name
	}
	fw := f.writer(env, names)
	var writeErr error
	var snap flows.Snapshot
	engine.New(in.Inputs, in.cfg).Run(ctx, func(s *engine.Snapshot) bool {
		snap = s.Flows.Clone()
		if s.Last {
			return false
		}
		if !check && interval > 0 && writeErr == nil {
			snap.FromFile(path)
			flows.Sort(snap.Flows, key)
			writeErr = fw.Write(snap, false, nil)
		}
		return true
	})
	prog.Clear()
	snap.FromFile(path)
	rerr := in.file.Err()
	if rerr != nil && ctx.Err() != nil && errors.Is(rerr, ctx.Err()) {
		rerr = fmt.Errorf("%s: interrupted after %d packets", path, in.file.Packets())
	}
	if check {
		if rerr != nil && snap.Capture.Packets == 0 {
			return failR(rerr)
		}
		code := runReplayCheck(env, replayCheckInput{
			File: path, Start: snap.Start, End: snap.Time, Flows: verdict.FileFlows(&snap),
			Capture:    verdict.Capture{Packets: snap.Capture.Packets, NonIP: snap.Capture.NonIP, Truncated: snap.Capture.Truncated, Filter: f.filter, LocalNet: f.localNet},
			LinkSpeeds: linkSpeeds, Output: f.common.output, Check: cfg.Check,
		})
		if rerr != nil {
			fmt.Fprintf(env.stderr, "netriage replay: %s (the verdict covers the packets before it)\n", format.Sanitize(rerr.Error(), 0))
		}
		return code
	}
	flows.Sort(snap.Flows, key)
	var notes []string
	if rerr != nil {
		notes = append(notes, "incomplete: "+rerr.Error()) // the writer sanitises notes
	}
	if writeErr == nil {
		writeErr = fw.Write(snap, true, notes)
	}
	if writeErr != nil {
		fmt.Fprintf(env.stderr, "netriage replay: write: %s\n", format.Sanitize(writeErr.Error(), 0))
		return exitFailure
	}
	if rerr != nil {
		fmt.Fprintf(env.stderr, "netriage replay: %s\nThe record above covers the %d packets read before it.\n", format.Sanitize(rerr.Error(), 0), snap.Capture.Packets)
		return exitFailure
	}
	return exitOK
}
