package main

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"netriage/configs"
	"netriage/sources/capture"
	"netriage/triage/flows"
	"netriage/triage/verdict"
)

// This file connects the live capture engine (sources/capture.Live) to the
// subcommands that use it besides flows: check, procs/conns/remotes and the
// TUI. Each gets the shape it asks for through its hook variable.

func init() {
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
	}
}
