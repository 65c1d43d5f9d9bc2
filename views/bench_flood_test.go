package views

import (
	"io"
	"testing"

	"netriage/triage/flows"
)

// BenchmarkModelFlood is the TUI's display side of one step under a
// random-source flood at the default flow cap: an attribution report of
// 200,000 connections (200 processes) and a snapshot of the same 200,000
// flows adapted to the views' rows, then one redraw of the flows view at
// 120×40.
func BenchmarkModelFlood(b *testing.B) {
	rep := liveSized(200000, 200)
	snap := &flows.Snapshot{Time: tl0, Aggregation: flows.By5Tuple}
	rep.FlowRows = make([]int32, len(rep.Connections)) // the join's, as the engine's report has them
	for i := range rep.Connections {
		c := &rep.Connections[i]
		rep.FlowRows[i] = int32(i)
		snap.Flows = append(snap.Flows, flows.FlowStat{Key: c.Key, Counts: flows.Counts{SentBytes: c.SentBytes, SentPackets: 1},
			Rates: flows.Rates{R10: flows.Rate{SentBytesPerSec: c.Rate10s.SentBps / 8}}, Flows: 1})
	}
	st := NewUIState(ViewFlows)
	b.ReportAllocs()
	for b.Loop() {
		m := &Model{Now: tl0, Source: "live eth0", Mode: "capture"}
		m.Procs, m.Conns, m.Remotes = AdaptAttrib(rep, 0)
		m.Flows, m.Totals = AdaptFlows(snap, rep, nil)
		f := BuildFrame(m, st, 120, 40)
		for name := range f.Rects {
			_ = WriteANSI(io.Discard, f.Pane(name))
		}
	}
}
