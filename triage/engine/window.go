package engine

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"netriage/triage/attrib"
	"netriage/triage/flows"
	"netriage/triage/verdict"
)

// baseline is the cumulative per-flow counts and capture health at one
// step, so a later snapshot can be turned into what happened since.
type baseline struct {
	at     time.Time
	counts map[flows.Key]flows.Counts
	health flows.Health
	// newest is the latest First of its flows: a flow whose first packet
	// is later began after the baseline and is not in counts.
	newest time.Time
}

func baselineOf(s *flows.Snapshot) baseline {
	b := baseline{at: s.Time, counts: make(map[flows.Key]flows.Counts, len(s.Flows)), health: s.Capture}
	for i := range s.Flows {
		f := &s.Flows[i]
		b.counts[f.Key] = f.Counts
		if f.First.After(b.newest) {
			b.newest = f.First
		}
	}
	return b
}

// countsOf returns f's counts at the baseline, zero when f began after it
// (a flow re-created since under the same key included).
func (b *baseline) countsOf(f *flows.FlowStat) flows.Counts {
	if f.First.After(b.newest) {
		return flows.Counts{}
	}
	return b.counts[f.Key]
}

// prune keeps, of b's flows, only those still in s: a flow that left the
// flow table (expired, evicted) never comes back with the same first
// packet, so its counts can never be read again. It rebuilds the map only
// when that frees at least half of it (a flood replaces every flow between
// two baselines; a steady table keeps its flows), and looks up only the
// flows of s that began before b.
func (b *baseline) prune(s *flows.Snapshot) {
	n := 0
	for i := range s.Flows {
		if !s.Flows[i].First.After(b.newest) {
			n++
		}
	}
	if 2*n >= len(b.counts) {
		return
	}
	kept := make(map[flows.Key]flows.Counts, n)
	for i := range s.Flows {
		f := &s.Flows[i]
		if f.First.After(b.newest) {
			continue
		}
		if c, ok := b.counts[f.Key]; ok {
			kept[f.Key] = c
		}
	}
	b.counts = kept
}

// baselines are snapshots' per-flow counts at past steps, oldest first.
type baselines []baseline

// at records s and returns the baseline the window starting at start
// counts from: the newest one not after start (nil for a zero start: the
// window is everything since the capture began). With more than maxFlows
// flows a baseline is kept only every quarter window, so the window's flows
// may then be up to a quarter window longer than the counters' window;
// each new one prunes the older ones of the flows that left.
func (b *baselines) at(s *flows.Snapshot, start time.Time, window time.Duration, maxFlows int) *baseline {
	if start.IsZero() {
		return nil
	}
	if n := len(*b); n == 0 || len(s.Flows) <= maxFlows || s.Time.Sub((*b)[n-1].at) >= window/4 {
		for i := range *b {
			(*b)[i].prune(s)
		}
		*b = append(*b, baselineOf(s))
	}
	for len(*b) > 1 && !(*b)[1].at.After(start) {
		(*b)[0] = baseline{} // the slice's array keeps it otherwise
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
func windowFlows(s *flows.Snapshot, base *baseline, ifaces []string, owner func(int, flows.Key) *verdict.Owner) ([]verdict.Flow, verdict.Capture) {
	out := make([]verdict.Flow, 0, len(s.Flows))
	for i := range s.Flows {
		f := &s.Flows[i]
		c := f.Counts
		if base != nil {
			p := base.countsOf(f)
			c = flows.Counts{SentBytes: sub(c.SentBytes, p.SentBytes), RecvBytes: sub(c.RecvBytes, p.RecvBytes),
				SentPackets: sub(c.SentPackets, p.SentPackets), RecvPackets: sub(c.RecvPackets, p.RecvPackets)}
		}
		if c.SentBytes+c.RecvBytes == 0 {
			continue
		}
		vf := verdict.Flow{Key: f.Key, SentBytes: c.SentBytes, RecvBytes: c.RecvBytes, SentPackets: c.SentPackets, RecvPackets: c.RecvPackets}
		if owner != nil {
			vf.Owner = owner(i, f.Key)
		}
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

// sockID names one socket while it lives.
type sockID struct{ netns, cookie uint64 }

// udpDrop is one UDP socket at one step: its drop count since it was
// created and whether its receive queue held at least half its buffer.
type udpDrop struct {
	drops uint32
	full  bool
	local netip.AddrPort
	pid   int32
	prog  string
}

// listenQueue is one TCP listener at one step: its accept queue and
// backlog (the diag message's queues).
type listenQueue struct {
	id             sockID
	local          netip.AddrPort
	queue, backlog uint32
	pid            int32
	prog           string
}

// endpointSample is one step's sockets of the stack's namespace that the
// endpoint-drops rule can name: the UDP sockets that have dropped (a drop
// count above zero; a socket absent from a sample had none then, or did
// not exist) and every TCP listener.
type endpointSample struct {
	at        time.Time
	udp       map[sockID]udpDrop
	listeners []listenQueue
}

// endpointSampleOf takes the sockets of tab's own namespace (HostNetns,
// where the stack counters are read; every namespace when unknown).
func endpointSampleOf(at time.Time, tab *attrib.SocketTable) endpointSample {
	es := endpointSample{at: at, udp: map[sockID]udpDrop{}}
	if tab == nil {
		return es
	}
	owner := func(k attrib.ProcKey) (int32, string) {
		if p := tab.Processes[k]; p != nil {
			return k.PID, p.Program
		}
		return k.PID, ""
	}
	for i := range tab.Sockets {
		s := &tab.Sockets[i]
		if tab.HostNetns != 0 && s.Netns != tab.HostNetns {
			continue
		}
		switch {
		case s.Proto == flows.ProtoUDP && s.Mem.Known && s.Mem.Drops > 0:
			pid, prog := owner(s.Owner)
			es.udp[sockID{s.Netns, s.Cookie}] = udpDrop{drops: s.Mem.Drops, full: s.Mem.RcvBuf > 0 && 2*uint64(s.Mem.RmemAlloc) >= uint64(s.Mem.RcvBuf),
				local: netip.AddrPortFrom(s.Local, s.LocalPort), pid: pid, prog: prog}
		case s.Proto == flows.ProtoTCP && s.State == attrib.StateListen:
			pid, prog := owner(s.Owner)
			es.listeners = append(es.listeners, listenQueue{id: sockID{s.Netns, s.Cookie}, local: netip.AddrPortFrom(s.Local, s.LocalPort),
				queue: s.RecvQ, backlog: s.SendQ, pid: pid, prog: prog})
		}
	}
	return es
}

// endpointSockets are the window's sockets to name: each UDP socket's
// drops from the first sample to the last (most first), then each
// listener whose accept queue was over its backlog (the kernel's "full")
// at a sample (most often first).
func endpointSockets(win []endpointSample) []verdict.EndpointSocket {
	if len(win) == 0 {
		return nil
	}
	first, last := &win[0], &win[len(win)-1]
	var out []verdict.EndpointSocket
	for id, cur := range last.udp {
		prev := first.udp[id]
		if cur.drops <= prev.drops || len(win) < 2 {
			continue
		}
		e := verdict.EndpointSocket{Proto: flows.ProtoUDP, Local: cur.local, PID: cur.pid, Program: cur.prog, Drops: uint64(cur.drops - prev.drops)}
		for i := range win {
			if u, ok := win[i].udp[id]; ok && u.full {
				e.BufferFull = true
				break
			}
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b verdict.EndpointSocket) int {
		return cmp.Or(cmp.Compare(b.Drops, a.Drops), a.Local.Compare(b.Local))
	})
	at := map[sockID]int{}
	var lis []verdict.EndpointSocket
	for i := range win {
		for _, l := range win[i].listeners {
			k, ok := at[l.id]
			if !ok {
				k = len(lis)
				at[l.id] = k
				lis = append(lis, verdict.EndpointSocket{Proto: flows.ProtoTCP, Local: l.local, Listener: true})
			}
			e := &lis[k]
			e.Samples++
			e.PID, e.Program, e.Backlog = l.pid, l.prog, l.backlog
			e.MaxQueue = max(e.MaxQueue, l.queue)
			if l.queue > l.backlog {
				e.FullSamples++
			}
		}
	}
	lis = slices.DeleteFunc(lis, func(e verdict.EndpointSocket) bool { return e.FullSamples == 0 })
	slices.SortFunc(lis, func(a, b verdict.EndpointSocket) int {
		return cmp.Or(cmp.Compare(b.FullSamples, a.FullSamples), a.Local.Compare(b.Local))
	})
	return append(out, lis...)
}
