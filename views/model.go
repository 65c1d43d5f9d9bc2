package views

import (
	"net/netip"
	"time"

	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/egress"
	"netriage/triage/flows"
)

// Model is everything one frame of the terminal UI shows. The engine builds
// a new Model per tick and never mutates one it has published; renderers
// only read it.
type Model struct {
	// Now is the time the model describes (capture time on replay).
	Now time.Time
	// Seq increases with every published model.
	Seq uint64
	// Source describes where the data comes from, e.g. "live eth0",
	// "replay lab.pcap", "demo".
	Source string
	// Mode describes the accounting mode, e.g. "capture" or
	// "socket counters (TCP only)".
	Mode string
	// Header has one line per watched interface.
	Header []IfaceLine
	// Verdict is the saturation verdict shown in the banner.
	Verdict Verdict
	// CoverageRatio is flow bytes / interface bytes (0..1+); shown only when
	// CoverageKnown.
	CoverageRatio float64
	// CoverageKnown reports whether CoverageRatio is meaningful.
	CoverageKnown bool
	// CaptureDrops counts packets the kernel dropped before capture since
	// start; shown whenever non-zero.
	CaptureDrops uint64
	// EvictedFlows counts flows evicted from the bounded flow table.
	EvictedFlows uint64
	// Degraded lists what is missing (privileges, capture) and how to fix
	// it; shown in the header when non-empty.
	Degraded []string
	// Self is what netriage itself costs (its share of a CPU since the
	// last step, its resident memory), shown on the status line; nil when
	// unknown (demo, replay).
	Self *triage.SelfStep
	// Totals sums every flow.
	Totals Totals
	// Flows has one row per 5-tuple (the views aggregate them to host pairs
	// or one side on display). A live capture model leaves it nil and
	// makes each row when it is read: read them with NumFlows and
	// FlowRows, which see both.
	Flows []FlowRow
	// flowSrc, when set, holds the flows in place of Flows.
	flowSrc *flowSource
	// FlowsTime is the reference time of the Flows' rates (the capture
	// snapshot's Time) when the rows carry their Seconds: a row of several
	// flows is then their flows.Group at this time, as the flows
	// subcommand aggregates. Zero when they carry none (socket counters,
	// the demo).
	FlowsTime time.Time
	// Procs has one row per process, plus unattributed-traffic rows.
	Procs []ProcRow
	// Conns has one row per connection.
	Conns []ConnRow
	// Remotes has one row per remote host.
	Remotes []RemoteRow
	// Links has one row per interface with its counters.
	Links []LinkRow
	// Egress are the engine's egress rows (one per remote and process for
	// the whole run, their sums the flows' totals; shared with the
	// snapshot: read-only), nil when the run has none. The Egress view
	// aggregates them when it draws, classing with EgressTable (nil: every
	// valid address is internet) and pricing with EgressPrices.
	Egress       []egress.Row
	EgressTable  *egress.Table
	EgressPrices egress.Prices
	// EgressFolded counts the flows folded into their class's (other) row.
	EgressFolded uint64
}

// NumFlows returns the number of flow rows.
func (m *Model) NumFlows() int {
	if m.flowSrc != nil {
		return m.flowSrc.len()
	}
	return len(m.Flows)
}

// FlowRows returns every flow row: Flows, or a copy made from the live
// source.
func (m *Model) FlowRows() []FlowRow {
	if m.flowSrc == nil {
		return m.Flows
	}
	out := make([]FlowRow, m.flowSrc.len())
	for i := range out {
		m.flowSrc.fill(i, &out[i])
	}
	return out
}

// flowAt returns flow row i: in Flows, or made in buf from the live
// source (so valid until buf is used again).
func (m *Model) flowAt(i int, buf *FlowRow) *FlowRow {
	if m.flowSrc == nil {
		return &m.Flows[i]
	}
	m.flowSrc.fill(i, buf)
	return buf
}

// flowNumbers returns flow i's rates and bytes without making its row.
func (m *Model) flowNumbers(i int) rowData {
	if s := m.flowSrc; s != nil {
		f := &s.snap.Flows[i]
		return rowData{flowRates(f.Rates, true), flowRates(f.Rates, false), f.SentBytes, f.RecvBytes}
	}
	f := &m.Flows[i]
	return rowData{f.Sent, f.Recv, f.SentBytes, f.RecvBytes}
}

// BytesPerSec holds rates over iftop's three windows and the peak over the
// longest one, all in bytes per second.
type BytesPerSec struct {
	// W2s, W10s and W40s are the average rates over the last 2, 10 and 40
	// seconds.
	W2s, W10s, W40s float64
	// Peak is the highest rate seen over the last 40 seconds.
	Peak float64
}

// Add returns the element-wise sum. Peaks add too, an upper bound of the
// sum's peak: fine for a sent+received line, not for aggregating rows
// (see Table's flows.Group).
func (r BytesPerSec) Add(o BytesPerSec) BytesPerSec {
	return BytesPerSec{r.W2s + o.W2s, r.W10s + o.W10s, r.W40s + o.W40s, r.Peak + o.Peak}
}

// Window returns the rate of window w.
func (r BytesPerSec) Window(w Window) float64 {
	switch w {
	case Win2s:
		return r.W2s
	case Win40s:
		return r.W40s
	}
	return r.W10s
}

// Totals is the sum over every flow.
type Totals struct {
	// Sent and Recv are the rates of all flows together.
	Sent, Recv BytesPerSec
	// SentBytes and RecvBytes are cumulative since start.
	SentBytes, RecvBytes uint64
	// RateSeconds are the seconds the 2 s, 10 s and 40 s rates average
	// over: shorter than the window while the run is younger than it
	// (zero: unknown, the full windows).
	RateSeconds [3]int
}

// IfaceLine is one header line: an interface's current rates against its
// capacity.
type IfaceLine struct {
	// Name is the interface name.
	Name string
	// Up reports the operational state.
	Up bool
	// Gone is set when the interface disappeared while running.
	Gone bool
	// RxBytesPerSec and TxBytesPerSec are the current interface rates.
	RxBytesPerSec, TxBytesPerSec float64
	// CapacityBps is the link capacity in bits per second, 0 when unknown.
	// It is the transmit capacity when RxCapacityBps says otherwise.
	CapacityBps uint64
	// RxCapacityBps is the receive capacity when it differs from
	// CapacityBps (a root shaper limits egress only); 0 means "same as
	// CapacityBps".
	RxCapacityBps uint64
	// RxCapacityUnknown is true when the receive capacity is unknown while
	// CapacityBps (a shaper's rate) is known.
	RxCapacityUnknown bool
	// CapacitySource says where the capacity came from (ethtool, tbf,
	// user, ...).
	CapacitySource string
	// RxHistoryBytesPerSec and TxHistoryBytesPerSec are recent per-sample
	// rates, oldest first, for the sparkline.
	RxHistoryBytesPerSec, TxHistoryBytesPerSec []float64
	// QdiscDropsPerSec is the root qdisc's drop rate in packets per second.
	QdiscDropsPerSec float64
}

// VerdictLevel is the saturation verdict.
type VerdictLevel int

// Verdict levels, ordered by severity after VerdictNone.
const (
	// VerdictNone means no verdict is computed (yet).
	VerdictNone VerdictLevel = iota
	// VerdictUnknown means capacity is unknown and there is no queue
	// evidence.
	VerdictUnknown
	// VerdictOK means no saturation.
	VerdictOK
	// VerdictCongested means queue drops or backlog below the utilisation
	// threshold.
	VerdictCongested
	// VerdictSaturated means utilisation at or above the threshold, or a
	// dropping queue near capacity.
	VerdictSaturated
	// VerdictRemoved means a watched interface (or its network namespace)
	// disappeared while running: there is no link left to judge.
	VerdictRemoved
	// VerdictDrops means packets are lost at a NIC, in the softirq backlog
	// or in conntrack (a critical stack finding) while no link is
	// saturated or removed.
	VerdictDrops
	// VerdictEndpointDrops means an endpoint loses packets (listen queue,
	// socket buffers: a warning) and nothing worse was found.
	VerdictEndpointDrops
)

// Word returns the banner word, upper case so it reads without colour.
func (v VerdictLevel) Word() string {
	switch v {
	case VerdictUnknown:
		return "UNKNOWN"
	case VerdictOK:
		return "OK"
	case VerdictCongested:
		return "CONGESTED"
	case VerdictSaturated:
		return "SATURATED"
	case VerdictRemoved:
		return "REMOVED"
	case VerdictDrops:
		return "DROPS"
	case VerdictEndpointDrops:
		return "ENDPOINT DROPS"
	}
	return "NO VERDICT"
}

// Verdict is the banner content.
type Verdict struct {
	// Level is the overall verdict.
	Level VerdictLevel
	// Summary is a short explanation, e.g. "eth0 tx 97% of 1Gb/s".
	Summary string
}

// FlowRow is one flow at 5-tuple granularity, seen from the host: Local is
// inside the local boundary.
type FlowRow struct {
	// Proto is the protocol name ("tcp", "udp", "icmp", or a number).
	Proto string
	// Local and Remote are the two addresses.
	Local, Remote netip.Addr
	// LocalPort and RemotePort are zero for protocols without ports.
	LocalPort, RemotePort uint16
	// LocalName and RemoteName are reverse-DNS names, empty when unknown
	// (untrusted).
	LocalName, RemoteName string
	// LocalService and RemoteService are port names ("https"), empty when
	// unknown.
	LocalService, RemoteService string
	// Sent and Recv are the rates from and to the local side.
	Sent, Recv BytesPerSec
	// SentBytes and RecvBytes are cumulative since start.
	SentBytes, RecvBytes uint64
	// PID is the owning process, 0 when unknown.
	PID int
	// Process is the owning program name (untrusted).
	Process string
	// Container is the container or unit, empty when none (untrusted).
	Container string
	// HistoryBytesPerSec is the recent total rate, oldest first.
	HistoryBytesPerSec []float64
	// Seconds are the flow's bytes per second over its rate window
	// (flows.FlowStat.Seconds, shared with the snapshot: read-only); nil
	// without capture.
	Seconds []flows.Second
}

// ProcRow is one process (nethogs), or one unattributed-traffic row when
// Unattributed is set.
type ProcRow struct {
	// PID is the process ID, 0 for unattributed rows.
	PID int
	// User, Program, Cmdline, Container and Netns describe the process
	// (untrusted).
	User, Program, Cmdline, Container, Netns string
	// Unattributed is the reason traffic has no owner ("forwarded",
	// "closed", "other protocols", "unknown"), or "older exited processes"
	// for the bytes of those no longer listed by name; empty for processes.
	Unattributed string
	// Exited is set for a process that is gone (its Program then ends in
	// " (exited)"); its row keeps its cumulative bytes.
	Exited bool
	// Sent and Recv are the process's rates.
	Sent, Recv BytesPerSec
	// SentBytes and RecvBytes are cumulative.
	SentBytes, RecvBytes uint64
	// Conns is the number of connections.
	Conns int
}

// ConnRow is one connection (bandwhich's connection table).
type ConnRow struct {
	// Proto is the protocol name.
	Proto string
	// Local and Remote are the addresses and ports.
	Local, Remote         netip.Addr
	LocalPort, RemotePort uint16
	// RemoteName is the remote's DNS name, empty when unknown (untrusted).
	RemoteName string
	// State is the socket state ("ESTAB", ...), empty when unknown.
	State string
	// PID and Process are the owner, 0/"" when unknown.
	PID     int
	Process string
	// Sent and Recv are the connection's rates.
	Sent, Recv BytesPerSec
	// SentBytes and RecvBytes are cumulative.
	SentBytes, RecvBytes uint64
	// TCP is an established TCP connection's health from tcp_info: what
	// limits it and the numbers behind the word; nil when unknown. Shared
	// with the attribution report: do not modify.
	TCP *attrib.TCPHealth
}

// RemoteRow is one remote host (bandwhich's remote addresses table).
type RemoteRow struct {
	// Addr is the remote address.
	Addr netip.Addr
	// Name is its reverse-DNS name, empty when unknown (untrusted).
	Name string
	// Sent and Recv are the rates to and from it.
	Sent, Recv BytesPerSec
	// SentBytes and RecvBytes are cumulative.
	SentBytes, RecvBytes uint64
	// Conns is the number of connections to it.
	Conns int
	// Processes names the local programs talking to it (untrusted).
	Processes []string
}

// LinkRow is one interface's counters (ip -s link + tc -s qdisc).
type LinkRow struct {
	// Name and OperState identify the interface.
	Name, OperState string
	// MTU is the interface MTU.
	MTU int
	// CapacityBps is the capacity in bits per second, 0 when unknown (the
	// transmit capacity; see RxCapacityBps).
	CapacityBps uint64
	// RxCapacityBps and RxCapacityUnknown are as in IfaceLine.
	RxCapacityBps     uint64
	RxCapacityUnknown bool
	// CapacitySource names where CapacityBps came from.
	CapacitySource string
	// RxBytesPerSec and TxBytesPerSec are the interface rates.
	RxBytesPerSec, TxBytesPerSec float64
	// Cumulative interface counters.
	RxBytes, TxBytes, RxPackets, TxPackets, RxErrors, TxErrors, RxDropped, TxDropped uint64
	// Qdisc is the root qdisc kind, empty when unknown.
	Qdisc string
	// Qdisc counters (cumulative) and the drop rate in packets per second.
	QdiscDrops, QdiscBacklogBytes, QdiscBacklogPackets, QdiscOverlimits, QdiscRequeues uint64
	QdiscDropsPerSec                                                                   float64
	// Explain lists the flows that explain this interface's traffic, largest
	// first (from the saturation verdict); may be empty.
	Explain []ExplainRow
	// RxBursts and TxBursts are the burst sampler's view over the
	// verdict's window; nil without a sampler.
	RxBursts, TxBursts *BurstView
}

// BurstView is one direction's sub-second peaks over the verdict's window.
type BurstView struct {
	// IntervalMs is the burst interval; PeakBytesPerSec the busiest
	// window's rate and PeakUtil its utilisation (nil when the capacity
	// is unknown).
	IntervalMs      float64
	PeakBytesPerSec float64
	PeakUtil        *float64
	// AboveWarnSec and AboveCritSec are the time at or above the
	// thresholds Warn and Crit (ratios) of SampledSec.
	AboveWarnSec, AboveCritSec, SampledSec float64
	Warn, Crit                             float64
}

// ExplainRow is one explaining flow of an interface.
type ExplainRow struct {
	// Label describes the flow ("198.18.0.2:443 ⇄ 198.18.1.9:51200 tcp").
	Label string
	// Owner is the process or container, empty when unknown (untrusted).
	Owner string
	// Share is the flow's share of the direction's bytes (0..1).
	Share float64
	// BytesPerSec is the flow's rate in that direction.
	BytesPerSec float64
}

// RxCap returns the receive capacity in bits per second, 0 when unknown.
func (l *LinkRow) RxCap() uint64 { return rxCap(l.CapacityBps, l.RxCapacityBps, l.RxCapacityUnknown) }

// RxCap returns the receive capacity in bits per second, 0 when unknown.
func (l *IfaceLine) RxCap() uint64 { return rxCap(l.CapacityBps, l.RxCapacityBps, l.RxCapacityUnknown) }

func rxCap(tx, rx uint64, unknown bool) uint64 {
	switch {
	case unknown:
		return 0
	case rx > 0:
		return rx
	}
	return tx
}
