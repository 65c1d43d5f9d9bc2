package views

import (
	"io"
	"testing"
)

// BenchmarkRedraw measures one full redraw as the host does it: build the
// frame (aggregate, filter, sort 10,000 flows), then render every pane with
// styles. The model has 10,000 flows and 1,000 processes, and 10,001
// egress rows (one per flow and an unknown one) that the Egress view
// aggregates at every redraw.
func BenchmarkRedraw(b *testing.B) {
	m := DemoSized(t0, 7, 10_000, 1_000)
	for _, bc := range []struct {
		name  string
		setup func(*UIState)
	}{
		{"flows_hostpairs", func(*UIState) {}},
		{"flows_ports", func(s *UIState) { s.Ports = true }},
		{"flows_filter", func(s *UIState) { s.Filter = "rsync" }},
		{"procs", func(s *UIState) { s.View = ViewProcs }},
		{"conns_sort_name", func(s *UIState) { s.View = ViewConns; s.SetSort(SortDest) }},
		// The overview builds the tables of its four panes.
		{"overview", func(s *UIState) { s.Overview = true }},
		{"overview_filter", func(s *UIState) { s.Overview = true; s.Filter = "rsync" }},
		// The Egress view's levels: all rows by class, the private
		// class's 9,000-odd names, one name's processes.
		{"egress_classes", func(s *UIState) { s.View = ViewEgress }},
		{"egress_names", func(s *UIState) { s.View = ViewEgress; s.Egress = EgressPath{Level: EgressNames, Class: "private"} }},
		{"egress_names_filter", func(s *UIState) {
			s.View, s.Filter = ViewEgress, "198.18.3"
			s.Egress = EgressPath{Level: EgressNames, Class: "private"}
		}},
		{"egress_processes", func(s *UIState) {
			s.View = ViewEgress
			s.Egress = EgressPath{Level: EgressProcesses, Class: "private", Name: "198.18.3.7"}
		}},
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
