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

// AdaptFlows converts a snapshot (taken with flows.By5Tuple: the views
// aggregate on display, with flows.Group over the rows' Seconds; set
// Model.FlowsTime to snap.Time) to Flows rows and the totals, which
// include the flows evicted or expired from the table. rep, when not nil, gives each
// flow its owning process, container and remote name; services, when not
// nil, names ports ("https"; "" for none). Text stays raw: the renderers
// sanitise it.
func AdaptFlows(snap *flows.Snapshot, rep *attrib.Report, services func(p flows.Proto, port uint16) string) ([]FlowRow, Totals) {
	if snap == nil {
		return nil, Totals{}
	}
	var procs map[attrib.ProcKey]*attrib.Process
	var names map[netip.Addr]string
	rows := rep.Rows() // the engine's report joined snap: by position
	if rep != nil {
		procs = make(map[attrib.ProcKey]*attrib.Process, len(rep.Processes))
		for i := range rep.Processes {
			procs[rep.Processes[i].Process.Key] = &rep.Processes[i].Process
		}
		names = make(map[netip.Addr]string, len(rep.Remotes))
		for i := range rep.Remotes {
			if r := &rep.Remotes[i]; r.Name != "" {
				names[r.Addr] = r.Name
			}
		}
	}
	out := make([]FlowRow, 0, len(snap.Flows))
	for i := range snap.Flows {
		f := &snap.Flows[i]
		k := f.Key
		row := FlowRow{
			Proto: k.Proto.String(), Local: k.Local, Remote: k.Remote, LocalPort: k.LocalPort, RemotePort: k.RemotePort,
			Sent: flowRates(f.Rates, true), Recv: flowRates(f.Rates, false),
			SentBytes: f.SentBytes, RecvBytes: f.RecvBytes, Seconds: f.Seconds,
		}
		if services != nil && k.Proto.HasPorts() {
			row.LocalService, row.RemoteService = services(k.Proto, k.LocalPort), services(k.Proto, k.RemotePort)
		}
		if c := rows.Of(i, k); c != nil && !c.Owner.Proc.IsZero() {
			row.PID, row.Process = int(c.Owner.Proc.PID), c.Program
			if p := procs[c.Owner.Proc]; p != nil {
				if row.Process == "" {
					row.Process = p.Program
				}
				row.Container = containerLabel(p)
			}
		}
		if names != nil && k.Remote.IsValid() {
			row.RemoteName = names[k.Remote]
		}
		out = append(out, row)
	}
	t := snap.Totals
	tot := Totals{Sent: flowRates(t.Rates, true), Recv: flowRates(t.Rates, false), SentBytes: t.SentBytes, RecvBytes: t.RecvBytes, RateSeconds: snap.RateSeconds}
	return out, tot
}

// FlowStatsOf converts a snapshot's flows to the attribution's input
// (rates in bits per second).
func FlowStatsOf(snap *flows.Snapshot) []attrib.FlowStat { return attrib.StatsOf(snap) }
