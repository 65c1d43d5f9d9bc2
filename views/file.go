package views

import (
	"fmt"
	"time"

	"netriage/triage/egress"
	"netriage/triage/engine"
	"netriage/triage/flows"
)

// FileView turns the engine's snapshots of a capture file into the TUI's
// models: the file's own rates in the header, the flows, and the reading's
// progress in the banner. As LiveView's, its models keep the snapshot's
// flows (no engine.Config.ReleaseFlows).
type FileView struct {
	// EgressTable and EgressPrices class and price the egress rows, as
	// LiveView's do.
	EgressTable  *egress.Table
	EgressPrices egress.Prices

	name     string
	services func(p flows.Proto, port uint16) string
	hist     *History
}

// NewFileView returns the view of the file called name.
func NewFileView(name string, services func(p flows.Proto, port uint16) string) *FileView {
	return &FileView{name: name, services: services, hist: NewHistory(60)}
}

// Reading is the model shown before the first snapshot.
func (v *FileView) Reading() *Model {
	return &Model{Source: "replay " + v.name, Mode: "capture file", Verdict: Verdict{Summary: "reading " + v.name}}
}

// Model builds the model of one step; on the last step err is what stopped
// the reading early (nil at a clean end of file).
func (v *FileView) Model(s *engine.Snapshot, err error) *Model {
	fs := s.Flows
	m := &Model{Now: s.Time, Seq: s.Seq, Source: "replay " + v.name, Mode: "capture file",
		Egress: s.Egress, EgressTable: v.EgressTable, EgressPrices: v.EgressPrices, EgressFolded: s.EgressFolded}
	m.flowSrc = newFlowSource(fs, nil, v.services)
	m.Totals = m.flowSrc.totals()
	m.FlowsTime = fs.Time
	m.EvictedFlows = fs.Capture.EvictedFlows
	v.hist.Push("rx/file", m.Totals.Recv.W2s)
	v.hist.Push("tx/file", m.Totals.Sent.W2s)
	m.Header = []IfaceLine{{Name: "file", Up: true,
		RxBytesPerSec: m.Totals.Recv.W2s, TxBytesPerSec: m.Totals.Sent.W2s,
		RxHistoryBytesPerSec: v.hist.Values("rx/file"), TxHistoryBytesPerSec: v.hist.Values("tx/file")}}
	status := fmt.Sprintf("%d packets", fs.Capture.Packets)
	if !s.Last {
		status = "reading: " + status + " so far"
	} else {
		status = "end of file: " + status + ", " + fs.Time.Sub(fs.Start).Round(time.Millisecond).String()
	}
	m.Verdict = Verdict{Level: VerdictNone, Summary: status}
	m.Degraded = append(m.Degraded, "a capture file has no interface counters or processes: for the verdict run 'netriage check' live or the replay subcommand with --check")
	if err != nil {
		m.Degraded = append(m.Degraded, "read "+v.name+": "+err.Error())
	}
	return m
}
