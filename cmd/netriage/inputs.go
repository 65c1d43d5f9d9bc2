package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"netriage/configs"
	"netriage/sources/capture"
	"netriage/sources/clock"
	"netriage/sources/dns"
	"netriage/sources/links"
	"netriage/sources/privs"
	"netriage/sources/sockets"
	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/views/format"
)

// This file is the one place that turns a subcommand's options into the
// engine's real inputs: netlink counters, a live capture or a capture
// file, the socket table, reverse DNS, and the clock.

// inputOptions say which inputs a subcommand wants.
type inputOptions struct {
	cfg configs.Config
	// interval is the step period (cfg.Interval when 0); for a file it is
	// the capture time between records, 0 for the final record only.
	interval time.Duration
	// links asks for interface counters of netns; ifaces are the named
	// interfaces (-i), validated against them; anyReason, when set,
	// refuses -i any with that reason.
	links     bool
	netns     string
	ifaces    []string
	anyReason string
	// requireUp refuses to run when no interface is up and none is named.
	requireUp bool
	// capture asks for packets: live on ifaces, or the file replay.
	capture bool
	// captureOptional records a capture that cannot start as an absent
	// input instead of failing.
	captureOptional bool
	replay          string
	realtime        bool
	filter          string
	localNet        string
	promisc         bool
	agg             flows.Aggregation
	// sockets asks for process attribution; names for reverse DNS.
	sockets bool
	names   bool
	// onProgress follows a file's reading.
	onProgress func(read, size int64, packets uint64)
	// clk is the clock of live runs (tests pass a fake; nil: the real one).
	clk clock.Clock
	// finalOnStop asks for one last step when ctx ends (a Last tick).
	finalOnStop bool
	// checkFirst, when set, checks the first link sample before anything
	// else is opened (e.g. --link-speed names); its warnings show in every
	// snapshot's Health.
	checkFirst func(*triage.LinksSample) (warnings []string, err error)
}

// inputs are the opened inputs with the engine's configuration.
type inputs struct {
	engine.Inputs
	cfg engine.Config
	// watched are the judged interfaces; first is the sample that
	// validated them.
	watched []string
	first   *triage.LinksSample
	live    *capture.Live
	file    *capture.FileFlows
	names   *dns.Resolver
	// clk is the wall clock (also of a file's progress lines).
	clk clock.Clock
	// mode is "capture", "capture file" or "socket counters (TCP only)".
	mode string
	// localDesc describes the local side rule for the capture's health.
	localDesc string
	closers   []func()
}

// localRule is the one local-side rule: -F NET/LEN when given; else the
// host's own addresses for a live capture and private and special-use
// ranges for a file.
func localRule(localNet string, file bool) (flows.Local, string, error) {
	switch {
	case localNet != "":
		l, desc, err := flows.ParseLocalNet(localNet)
		if err != nil {
			return flows.Local{}, "", usageErrorf("-F %q: want NET/LEN such as 198.18.0.0/15 or fd00::/8 (%v)", localNet, err)
		}
		return l, desc, nil
	case file:
		return flows.SpecialUseLocal(), flows.SpecialUseDesc, nil
	}
	l, err := capture.HostLocal()
	return l, "", err
}

// socketSubSteps is the one socket-refresh policy: four refreshes per
// step, so connections shorter than an interval are seen, unless that
// would refresh more often than every 50 ms.
func socketSubSteps(interval time.Duration) int {
	if interval/4 < 50*time.Millisecond {
		return 1
	}
	return 4
}

// openInputs opens what o asks for. The caller must Close the result.
func openInputs(ctx context.Context, o inputOptions) (in *inputs, err error) {
	in = &inputs{}
	defer func() {
		if err != nil {
			in.Close()
			in = nil
		}
	}()
	if o.interval <= 0 && o.replay == "" {
		o.interval = o.cfg.Interval.D()
	}
	if o.clk == nil {
		o.clk = clock.Real{}
	}
	in.clk = o.clk
	in.cfg = engine.Config{
		UserBps:     o.cfg.Links.SpeedsBps(),
		Window:      o.cfg.Check.Window.D(),
		Thresholds:  o.cfg.Check.Thresholds(),
		SubSteps:    1,
		Attribution: attribConfig(o.cfg),
	}
	if o.links {
		lr, err := linksOpen(links.Options{Netns: o.netns})
		if err != nil {
			if errors.Is(err, links.ErrNetnsNotFound) {
				return in, usageErrorf("%v", err)
			}
			return in, fmt.Errorf("open interface counters: %w", err)
		}
		in.closers = append(in.closers, func() { lr.Close() })
		first, err := lr.Read()
		if err != nil {
			return in, fmt.Errorf("read interface counters: %w", err)
		}
		in.first = &first
		if in.watched, err = triage.WatchedInterfaces(&first, o.ifaces, o.anyReason, o.requireUp); err != nil {
			return in, watchError(err)
		}
		if o.checkFirst != nil {
			warnings, err := o.checkFirst(&first)
			if err != nil {
				return in, err
			}
			for _, w := range warnings {
				in.Absent = append(in.Absent, engine.Health{Input: "config", State: engine.StateDegraded, Why: w})
			}
		}
		in.Links = lr
		if !o.capture {
			// Nothing else starts: the first step can take this sample
			// instead of reading again. With a capture it would be older
			// than the capture's first counts, and the window's counters
			// would cover more than its flows.
			in.FirstLinks = &first
		}
		in.cfg.Watched = in.watched
	}
	if o.capture {
		if err := in.openCapture(ctx, o); err != nil {
			return in, err
		}
	}
	if o.sockets {
		src := sockets.New(sockets.Config{FullScanInterval: o.cfg.Attribution.FullScanInterval.D()})
		in.closers = append(in.closers, src.Close)
		in.Sockets = src
		in.cfg.SubSteps = socketSubSteps(o.interval)
		if in.live == nil && in.mode == "" {
			in.mode = "socket counters (TCP only)"
		}
	}
	if o.names {
		in.names = dns.New(ctx, dns.Options{})
		in.closers = append(in.closers, in.names.Close)
		in.Names = in.names.Name
	}
	if in.file != nil {
		in.Timeline = in.file
	} else {
		tl := clock.NewTimeline(o.clk, o.interval/time.Duration(in.cfg.SubSteps))
		tl.FinalOnStop = o.finalOnStop
		if in.live != nil {
			// The first step's flow counts must trail the wire as much as
			// every later one's, or a window from it misses what the
			// capture still held at its end.
			tl.Delay = 2 * in.live.Lag()
		}
		in.closers = append(in.closers, tl.Stop)
		in.Timeline = tl
	}
	return in, nil
}

func (in *inputs) openCapture(ctx context.Context, o inputOptions) error {
	local, desc, err := localRule(o.localNet, o.replay != "")
	if err != nil {
		return err
	}
	in.localDesc = desc
	table := flows.TableConfig{MaxFlows: o.cfg.Capture.MaxFlows, Local: local}
	if o.replay != "" {
		f, err := capture.OpenFile(o.replay)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) || errors.Is(err, capture.ErrUnsupportedLinkType) {
				return usageErrorf("%v", err)
			}
			return err
		}
		in.closers = append(in.closers, func() { f.Close() })
		ff, err := capture.NewFileFlows(f, capture.ReplayOptions{Table: table, Aggregation: o.agg, Interval: o.interval,
			Filter: o.filter, LocalNet: desc, Realtime: o.realtime, Clock: o.clk, OnProgress: o.onProgress})
		if err != nil {
			var fe *capture.FilterError
			if errors.As(err, &fe) {
				return usageErrorf("%v", err)
			}
			return err
		}
		in.file, in.Flows, in.mode = ff, ff, "capture file"
		in.cfg.File = o.replay
		in.cfg.CaptureInterfaces = []string{o.replay}
		return nil
	}
	why := ""
	switch have, err := privs.Have(); {
	case err == nil && !have.Has(privs.CapNetRaw):
		exe, _ := os.Executable()
		if exe == "" {
			exe = "$(command -v netriage)"
		}
		why = "no capture (CAP_NET_RAW missing): run with sudo, or: sudo setcap cap_net_raw,cap_net_admin+ep " + exe
	case o.netns != "":
		why = "no packet capture inside another namespace (--netns): run under 'ip netns exec NAME' for flows"
	}
	if why == "" {
		// The interfaces are known only now for a capture of every
		// interface that is up: the rings' memory is checked for them.
		if err := o.cfg.Capture.ValidateRingMemory(len(in.captureInterfaces(o))); err != nil {
			return usageErrorf("%v", err)
		}
		table.IdleTimeout = o.cfg.Capture.IdleTimeout.D()
		l, err := capture.StartLive(ctx, capture.LiveOptions{
			Interfaces: in.captureInterfaces(o), Filter: o.filter, Promisc: o.promisc,
			Table: table, Aggregation: o.agg, LocalNet: desc,
			RingMiB: o.cfg.Capture.RingMiB, Fanout: o.cfg.Capture.Fanout,
		})
		if err == nil {
			in.closers = append(in.closers, func() { l.Close() })
			in.live, in.Flows, in.mode = l, l, "capture"
			in.cfg.CaptureInterfaces = in.captureInterfaces(o)
			return nil
		}
		var fe *capture.FilterError
		if !o.captureOptional || errors.As(err, &fe) || errors.Is(err, capture.ErrNoInterface) {
			if errors.As(err, &fe) || errors.Is(err, capture.ErrNoInterface) {
				return usageErrorf("%v", err)
			}
			return err
		}
		why = "packet capture failed: " + err.Error()
	}
	if !o.captureOptional {
		return errors.New(why)
	}
	in.Absent = append(in.Absent, engine.Health{Input: "capture", State: engine.StateAbsent, Why: why})
	return nil
}

// captureInterfaces are the interfaces to capture on: the watched ones
// when counters are read, else the named ones (none: any).
func (in *inputs) captureInterfaces(o inputOptions) []string {
	if o.links {
		return in.watched
	}
	return o.ifaces
}

// Close releases every input, newest first.
func (in *inputs) Close() {
	for i := len(in.closers) - 1; i >= 0; i-- {
		in.closers[i]()
	}
	in.closers = nil
}

// watchError makes a *triage.WatchError a usage error, its names cleaned
// for the terminal.
func watchError(err error) error {
	var we *triage.WatchError
	if errors.As(err, &we) {
		return usageErrorf("%s", we.Message(format.Sanitize))
	}
	return err
}

// attribConfig is the attribution's part of the config.
func attribConfig(cfg configs.Config) attrib.Config {
	return attrib.Config{ClosedGrace: cfg.Attribution.ClosedGrace.D()}
}

// linksReader is an opened interface-counter reader: a *links.Reader in
// the binary.
type linksReader interface {
	Read() (triage.LinksSample, error)
	Close() error
}

// linksOpen opens the counter reader; tests replace it with a fake.
var linksOpen = func(o links.Options) (linksReader, error) {
	r, err := links.Open(o)
	if err != nil {
		return nil, err
	}
	return r, nil
}
