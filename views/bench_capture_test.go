package views

import (
	"io"
	"net/netip"
	"testing"
	"time"

	"netriage/triage/flows"
)

// captureModel is a capture's model: n flows between one local address
// and n/10 remote hosts (ten ports each), every one busy in each of the
// last 40 seconds, adapted from the flow table's snapshot.
func captureModel(n int) *Model {
	tb := flows.NewTable(flows.TableConfig{MaxFlows: 2 * n, Local: flows.NewLocal(netip.MustParsePrefix("198.18.0.2/32"))})
	local := netip.MustParseAddr("198.18.0.2")
	for s := range 40 {
		for i := range n {
			remote := netip.AddrFrom4([4]byte{198, 19, byte(i / 10 >> 8), byte(i / 10)})
			tb.Update(&flows.Packet{Time: t0.Add(time.Duration(s)*time.Second + 500*time.Millisecond), Proto: flows.ProtoTCP,
				Src: local, SrcPort: uint16(10000 + i%10), Dst: remote, DstPort: 443, Length: uint32(100 + (i*s)%1400)})
		}
	}
	snap := tb.Snapshot(t0.Add(40*time.Second), flows.By5Tuple)
	m := &Model{Now: snap.Time, Source: "live eth0", Mode: "capture"}
	m.Flows, m.Totals = AdaptFlows(&snap, nil, nil)
	m.FlowsTime = snap.Time
	return m
}

// BenchmarkRedrawCapture is BenchmarkRedraw on a capture's 10,000 flows
// that aggregate to 1,000 host pairs.
func BenchmarkRedrawCapture(b *testing.B) {
	m := captureModel(10_000)
	for _, bc := range []struct {
		name  string
		setup func(*UIState)
	}{
		{"flows_hostpairs", func(*UIState) {}},
		{"flows_hostpairs_detail", func(s *UIState) { s.Detail = true }},
		{"flows_ports", func(s *UIState) { s.Ports = true }},
		{"flows_remote_only", func(s *UIState) { s.HideLocal = true }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := NewUIState(ViewFlows)
			bc.setup(st)
			b.ReportAllocs()
			for b.Loop() {
				f := BuildFrame(m, st, 200, 50)
				for name := range f.Rects {
					_ = WriteANSI(io.Discard, f.Pane(name))
				}
			}
		})
	}
}
