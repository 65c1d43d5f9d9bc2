package engine

import (
	"time"

	"netriage/triage/flows"
	"netriage/triage/verdict"
)

// baseline is the cumulative per-flow counts and capture health at one
// step, so a later snapshot can be turned into what happened since.
type baseline struct {
	at     time.Time
	counts map[flows.Key]flows.Counts
	health flows.Health
}

func baselineOf(s *flows.Snapshot) baseline {
	b := baseline{at: s.Time, counts: make(map[flows.Key]flows.Counts, len(s.Flows)), health: s.Capture}
	for i := range s.Flows {
		b.counts[s.Flows[i].Key] = s.Flows[i].Counts
	}
	return b
}

// baselines are snapshots' per-flow counts at past steps, oldest first.
type baselines []baseline

// at records s and returns the baseline the window starting at start
// counts from: the newest one not after start (nil for a zero start: the
// window is everything since the capture began). With more than maxFlows
// flows a baseline is kept only every quarter window, so the window's flows
// may then be up to a quarter window longer than the counters' window.
func (b *baselines) at(s *flows.Snapshot, start time.Time, window time.Duration, maxFlows int) *baseline {
	if start.IsZero() {
		return nil
	}
	if n := len(*b); n == 0 || len(s.Flows) <= maxFlows || s.Time.Sub((*b)[n-1].at) >= window/4 {
		*b = append(*b, baselineOf(s))
	}
	for len(*b) > 1 && !(*b)[1].at.After(start) {
		*b = (*b)[1:]
	}
	return &(*b)[0]
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// windowFlows returns the flows of s minus the baseline (all of s without
// one), as the verdict wants them, and the capture's health over the same
// time.
func windowFlows(s *flows.Snapshot, base *baseline, ifaces []string) ([]verdict.Flow, verdict.Capture) {
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
