package views

import (
	"net/netip"

	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// This file adapts a flow-table snapshot (triage/flows, capture mode) to
// the Flows view, with owners and remote names from the attribution.

// flowRates converts one direction of flows.Rates (bytes per second) to
// BytesPerSec.
func flowRates(r flows.Rates, sent bool) BytesPerSec {
	if sent {
		return BytesPerSec{W2s: r.R2.SentBytesPerSec, W10s: r.R10.SentBytesPerSec, W40s: r.R40.SentBytesPerSec, Peak: r.Peak.SentBytesPerSec}
	}
	return BytesPerSec{W2s: r.R2.RecvBytesPerSec, W10s: r.R10.RecvBytesPerSec, W40s: r.R40.RecvBytesPerSec, Peak: r.Peak.RecvBytesPerSec}
}

// flowSource is a capture snapshot's flows as Flows rows, each made when
// it is read. A live model keeps this instead of a row per flow: under a
// flood at the table's cap the rows of every flow were about 290 bytes
// each, built at every step and held twice (the model on screen and the
// one being built). It keeps nothing of the attribution report (the
// engine may reuse the report's storage for the next step): the owners
// are copied, one entry per distinct owner, with an index per flow.
type flowSource struct {
	snap *flows.Snapshot
	// owner is each flow's index in owners, -1 for none; nil when no
	// flow has one.
	owner  []int32
	owners []flowOwner
	// names are the remotes' reverse-DNS names (nil: none).
	names    map[netip.Addr]string
	services func(p flows.Proto, port uint16) string
}

// flowOwner is what a Flows row shows of its owning process.
type flowOwner struct {
	pid                int
	process, container string
}

// newFlowSource joins a snapshot (taken with flows.By5Tuple) with the
// attribution rep (nil: no owners, no names) and the port names
// (services, nil: numbers).
func newFlowSource(snap *flows.Snapshot, rep *attrib.Report, services func(p flows.Proto, port uint16) string) *flowSource {
	s := &flowSource{snap: snap, services: services}
	if rep == nil {
		return s
	}
	procs := make(map[attrib.ProcKey]*attrib.Process, len(rep.Processes))
	for i := range rep.Processes {
		procs[rep.Processes[i].Process.Key] = &rep.Processes[i].Process
	}
	for i := range rep.Remotes {
		if r := &rep.Remotes[i]; r.Name != "" {
			if s.names == nil {
				s.names = make(map[netip.Addr]string)
			}
			s.names[r.Addr] = r.Name
		}
	}
	rows := rep.Rows() // the engine's report joined snap: by position
	seen := make(map[flowOwner]int32)
	for i := range snap.Flows {
		c := rows.Of(i, snap.Flows[i].Key)
		if c == nil || c.Owner.Proc.IsZero() {
			if s.owner != nil {
				s.owner[i] = -1
			}
			continue
		}
		o := flowOwner{pid: int(c.Owner.Proc.PID), process: c.Program}
		if p := procs[c.Owner.Proc]; p != nil {
			if o.process == "" {
				o.process = p.Program
			}
			o.container = containerLabel(p)
		}
		j, ok := seen[o]
		if !ok {
			j = int32(len(s.owners))
			seen[o] = j
			s.owners = append(s.owners, o)
		}
		if s.owner == nil {
			s.owner = make([]int32, len(snap.Flows))
			for k := range i {
				s.owner[k] = -1
			}
		}
		s.owner[i] = j
	}
	return s
}

// len is the number of flows.
func (s *flowSource) len() int { return len(s.snap.Flows) }

// fill makes flow i's row in row.
func (s *flowSource) fill(i int, row *FlowRow) {
	f := &s.snap.Flows[i]
	k := f.Key
	*row = FlowRow{
		Proto: k.Proto.String(), Local: k.Local, Remote: k.Remote, LocalPort: k.LocalPort, RemotePort: k.RemotePort,
		Sent: flowRates(f.Rates, true), Recv: flowRates(f.Rates, false),
		SentBytes: f.SentBytes, RecvBytes: f.RecvBytes, Seconds: f.Seconds,
	}
	if s.services != nil && k.Proto.HasPorts() {
		row.LocalService, row.RemoteService = s.services(k.Proto, k.LocalPort), s.services(k.Proto, k.RemotePort)
	}
	if s.owner != nil {
		if j := s.owner[i]; j >= 0 {
			o := &s.owners[j]
			row.PID, row.Process, row.Container = o.pid, o.process, o.container
		}
	}
	if s.names != nil && k.Remote.IsValid() {
		row.RemoteName = s.names[k.Remote]
	}
}

// totals are the snapshot's totals: every flow, the evicted and expired
// ones included.
func (s *flowSource) totals() Totals {
	t := s.snap.Totals
	return Totals{Sent: flowRates(t.Rates, true), Recv: flowRates(t.Rates, false), SentBytes: t.SentBytes, RecvBytes: t.RecvBytes, RateSeconds: s.snap.RateSeconds}
}

// AdaptFlows converts a snapshot (taken with flows.By5Tuple: the views
// aggregate on display, with flows.Group over the rows' Seconds; set
// Model.FlowsTime to snap.Time) to Flows rows and the totals, which
// include the flows evicted or expired from the table. rep, when not nil, gives each
// flow its owning process, container and remote name; services, when not
// nil, names ports ("https"; "" for none). Text stays raw: the renderers
// sanitise it. A live model makes its rows when they are read instead
// (Model.NumFlows, Model.FlowRows).
func AdaptFlows(snap *flows.Snapshot, rep *attrib.Report, services func(p flows.Proto, port uint16) string) ([]FlowRow, Totals) {
	if snap == nil {
		return nil, Totals{}
	}
	s := newFlowSource(snap, rep, services)
	out := make([]FlowRow, s.len())
	for i := range out {
		s.fill(i, &out[i])
	}
	return out, s.totals()
}

// FlowStatsOf converts a snapshot's flows to the attribution's input
// (rates in bits per second).
func FlowStatsOf(snap *flows.Snapshot) []attrib.FlowStat { return attrib.StatsOf(snap) }
