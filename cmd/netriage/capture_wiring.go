package main

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"netriage/configs"
	"netriage/sources/capture"
	"netriage/sources/clock"
	"netriage/triage/attrib"
	"netriage/triage/flows"
	"netriage/triage/verdict"
	"netriage/views"
)

// This file connects the live capture engine (sources/capture.Live) to the
// subcommands that use it besides flows: check, procs/conns/remotes and the
// TUI. Each gets the shape it asks for through its hook variable.

func init() {
	startCheckCapture = startCheckLive
	whoCaptureFlows = startWhoLive
	topStartCapture = startTopLive
}

// liveLocal returns the local boundary: the -F network when given, else the
// host's own addresses.
func liveLocal(localNet string) (flows.Local, string, error) {
	if localNet != "" {
		p, err := netip.ParsePrefix(strings.TrimSpace(localNet))
		if err != nil {
			return flows.Local{}, "", usageErrorf("-F %q: want NET/LEN such as 198.18.0.0/15 or fd00::/8 (%v)", localNet, err)
		}
		p = p.Masked()
		return flows.NewLocal(p), p.String(), nil
	}
	l, err := capture.HostLocal()
	if err != nil {
		return flows.Local{}, "", err
	}
	return l, "", nil
}

func startLive(ctx context.Context, ifaces []string, filter, localNet string, promisc bool, cfg configs.Config) (*capture.Live, string, error) {
	// The interfaces are known only now for a check of every interface
	// that is up: the rings' memory is checked again for them.
	if err := cfg.Capture.ValidateRingMemory(len(ifaces)); err != nil {
		return nil, "", usageErrorf("%v", err)
	}
	local, desc, err := liveLocal(localNet)
	if err != nil {
		return nil, "", err
	}
	l, err := capture.StartLive(ctx, capture.LiveOptions{
		Interfaces:  ifaces,
		Filter:      filter,
		Promisc:     promisc,
		Table:       flows.TableConfig{MaxFlows: cfg.Capture.MaxFlows, IdleTimeout: cfg.Capture.IdleTimeout.D(), Local: local},
		Aggregation: flows.By5Tuple,
		LocalNet:    desc,
		RingMiB:     cfg.Capture.RingMiB,
		Fanout:      cfg.Capture.Fanout,
	})
	return l, desc, err
}

// flowBaseline is the cumulative per-flow counts and capture health at one
// moment, so a later snapshot can be turned into what happened since.
type flowBaseline struct {
	at     time.Time
	counts map[flows.Key]flows.Counts
	health flows.Health
}

func baselineOf(s *flows.Snapshot) flowBaseline {
	b := flowBaseline{at: s.Time, counts: make(map[flows.Key]flows.Counts, len(s.Flows)), health: s.Capture}
	for i := range s.Flows {
		b.counts[s.Flows[i].Key] = s.Flows[i].Counts
	}
	return b
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// windowFlows returns the flows of s minus the baseline, as the verdict
// wants them, and the capture's health over the same time.
func windowFlows(s *flows.Snapshot, base *flowBaseline, ifaces []string) ([]verdict.Flow, verdict.Capture) {
	out := make([]verdict.Flow, 0, len(s.Flows))
	for i := range s.Flows {
		f := &s.Flows[i]
		c := f.Counts
		if base != nil {
			p := base.counts[f.Key]
			c = flows.Counts{SentBytes: sub(c.SentBytes, p.SentBytes), RecvBytes: sub(c.RecvBytes, p.RecvBytes),
				SentPackets: sub(c.SentPackets, p.SentPackets), RecvPackets: sub(c.RecvPackets, p.RecvPackets)}
		}
		if c.SentBytes+c.RecvBytes == 0 {
			continue
		}
		vf := verdict.Flow{Key: f.Key, SentBytes: c.SentBytes, RecvBytes: c.RecvBytes, SentPackets: c.SentPackets, RecvPackets: c.RecvPackets}
		if len(ifaces) == 1 {
			// One capture handle: every flow was seen on that interface.
			vf.Interface = ifaces[0]
		}
		out = append(out, vf)
	}
	h := s.Capture
	var h0 flows.Health
	if base != nil {
		h0 = base.health
	}
	capIfaces := ifaces
	if len(capIfaces) == 0 {
		capIfaces = []string{"any"}
	}
	return out, verdict.Capture{
		Active:       true,
		Interfaces:   capIfaces,
		Filter:       h.Filter,
		LocalNet:     h.LocalNet,
		Packets:      sub(h.Packets, h0.Packets),
		KernelDrops:  sub(h.KernelDrops, h0.KernelDrops),
		EvictedFlows: sub(h.EvictedFlows, h0.EvictedFlows),
		NonIP:        sub(h.NonIP, h0.NonIP),
		Truncated:    sub(h.Truncated, h0.Truncated),
		Warnings:     h.Warnings,
	}
}

// ----- check -------------------------------------------------------------

type checkLive struct {
	mu     sync.Mutex
	l      *capture.Live
	clk    clock.Clock
	ifaces []string
	base   *flowBaseline
	final  *flows.Snapshot
}

func startCheckLive(ctx context.Context, ifaces []string, f *checkFlags, s checkSettings) (checkCapture, error) {
	l, _, err := startLive(ctx, ifaces, f.filter, f.localNet, f.promisc, s.cfg)
	if err != nil {
		return nil, err
	}
	return &checkLive{l: l, clk: clock.Real{}, ifaces: ifaces}, nil
}

// Mark starts the window: later Flows calls count from here.
func (c *checkLive) Mark() {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.l.Snapshot(c.clk.Now())
	b := baselineOf(&s)
	c.base = &b
}

func (c *checkLive) Flows() ([]verdict.Flow, verdict.Capture, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s flows.Snapshot
	if c.final != nil {
		s = *c.final
	} else {
		s = c.l.Snapshot(c.clk.Now())
	}
	fl, h := windowFlows(&s, c.base, c.ifaces)
	return fl, h, len(c.ifaces) == 1
}

func (c *checkLive) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final != nil {
		return
	}
	s := c.l.Snapshot(c.clk.Now())
	c.final = &s
	c.l.Close()
}

// ----- procs, conns, remotes -----------------------------------------------

func startWhoLive(ctx context.Context, f *whoFlags, cfg configs.Config) (func() []attrib.FlowStat, func(), error) {
	l, _, err := startLive(ctx, f.common.ifaces, f.filter, "", false, cfg)
	if err != nil {
		return nil, nil, err
	}
	clk := clock.Real{}
	next := func() []attrib.FlowStat {
		s := l.Snapshot(clk.Now())
		return views.FlowStatsOf(&s)
	}
	return next, func() { l.Close() }, nil
}

// ----- TUI -----------------------------------------------------------------

type topLiveCapture struct {
	l      *capture.Live
	ifaces []string
	window time.Duration
	// bases are snapshots' per-flow counts at past ticks, oldest first;
	// the verdict's window starts at the newest one not after winStart.
	bases    []flowBaseline
	winStart time.Time
}

// topBaselineEvery bounds the baselines' memory: with more flows than this
// a baseline is kept only every quarter window (the window's flows are then
// up to a quarter window longer than the counters' window).
const topBaselineEvery = 20000

func startTopLive(ctx context.Context, ifaces []string, tf *topFlags, cfg configs.Config) (topCapture, error) {
	l, _, err := startLive(ctx, ifaces, tf.filter, tf.localNet, tf.promisc, cfg)
	if err != nil {
		return nil, err
	}
	return &topLiveCapture{l: l, ifaces: ifaces, window: cfg.Check.Window.D()}, nil
}

// SetWindowStart aligns the flows' window with the link counters' window
// (the time of its first sample).
func (t *topLiveCapture) SetWindowStart(at time.Time) { t.winStart = at }

func (t *topLiveCapture) Snapshot(now time.Time) (*flows.Snapshot, []attrib.FlowStat, []verdict.Flow, verdict.Capture, bool) {
	s := t.l.Snapshot(now)
	if n := len(t.bases); n == 0 || len(s.Flows) <= topBaselineEvery || now.Sub(t.bases[n-1].at) >= t.window/4 {
		t.bases = append(t.bases, baselineOf(&s))
	}
	start := t.winStart
	if start.IsZero() {
		start = now.Add(-t.window)
	}
	// Drop baselines older than the newest one at or before the start.
	for len(t.bases) > 1 && !t.bases[1].at.After(start) {
		t.bases = t.bases[1:]
	}
	win, h := windowFlows(&s, &t.bases[0], t.ifaces)
	return &s, views.FlowStatsOf(&s), win, h, len(t.ifaces) == 1
}

func (t *topLiveCapture) Stop() { t.l.Close() }
