package views

import (
	"io"
	"runtime"
	"testing"
	"time"

	"netriage/triage/engine"
	"netriage/triage/flows"
)

// BenchmarkModelFlood is the TUI's display side of one step under a
// random-source flood at the default flow cap: an attribution report of
// 200,000 connections (200 processes) and a snapshot of the same 200,000
// flows made into a live model (LiveView.Model, as top does), then one
// redraw at 120×40 of the flows view or of the overview (top's start).
// model-MB is what one model holds beyond the snapshot and the report
// (the heap in use after a collection with the model, less without it):
// top holds two, the one on screen and the one being built. frame-MB is
// what the frame of a model holds (its tables), which the UI keeps until
// the next redraw.
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
	v := NewLiveView(time.Second)
	v.Source, v.Mode = "live eth0", "capture"
	step := func(seq uint64) *Model {
		return v.Model(&engine.Snapshot{Seq: seq, Time: tl0, Flows: snap, Attribution: rep})
	}
	inUse := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := inUse()
	held := step(1)
	modelMB := float64(inUse()-before) / 1e6
	for _, view := range []ViewID{ViewFlows, ViewOverview} {
		name := "flows"
		if view == ViewOverview {
			name = "overview"
		}
		b.Run(name, func(b *testing.B) {
			st := NewUIState(view)
			before := inUse()
			frame := BuildFrame(held, st, 120, 40)
			frameMB := float64(inUse()-before) / 1e6
			runtime.KeepAlive(frame)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				m := step(2)
				f := BuildFrame(m, st, 120, 40)
				for name := range f.Rects {
					_ = WriteANSI(io.Discard, f.Pane(name))
				}
			}
			b.ReportMetric(modelMB, "model-MB")
			b.ReportMetric(frameMB, "frame-MB")
		})
	}
	runtime.KeepAlive(held)
}
