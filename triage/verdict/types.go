package verdict

import (
	"fmt"
	"time"

	"netriage/triage/egress"
	"netriage/triage/flows"
)

// Verdict is the answer for one interface and direction, or the worst of
// them for a whole report.
type Verdict uint8

// Verdicts, in no particular order; use Worse to compare them.
const (
	// OK: below the warning threshold (or idle) and no queue evidence.
	OK Verdict = iota
	// Congested: queue drops, a persistent backlog or interface errors
	// without the utilisation that would make it saturated.
	Congested
	// Saturated: utilisation at or above the critical threshold, or queue
	// evidence while above the warning threshold.
	Saturated
	// Unknown: capacity unknown and no queue evidence, or not enough data.
	Unknown
	// Removed: the interface disappeared during the window (deleted, or
	// its network namespace deleted): there is no link left to judge, and
	// whoever asked about it must hear so.
	Removed
)

// String returns "ok", "congested", "saturated", "unknown" or "removed".
func (v Verdict) String() string {
	switch v {
	case OK:
		return "ok"
	case Congested:
		return "congested"
	case Saturated:
		return "saturated"
	case Unknown:
		return "unknown"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// rank orders verdicts for the top-level answer: removed > saturated >
// congested > unknown > ok.
func (v Verdict) rank() int {
	switch v {
	case OK:
		return 0
	case Unknown:
		return 1
	case Congested:
		return 2
	case Saturated:
		return 3
	case Removed:
		return 4
	}
	return 1
}

// Worse returns the more serious of v and o (removed > saturated >
// congested > unknown > ok).
func (v Verdict) Worse(o Verdict) Verdict {
	if o.rank() > v.rank() {
		return o
	}
	return v
}

// MarshalText implements encoding.TextMarshaler.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Verdict) UnmarshalText(b []byte) error {
	for _, c := range []Verdict{OK, Congested, Saturated, Unknown, Removed} {
		if c.String() == string(b) {
			*v = c
			return nil
		}
	}
	return fmt.Errorf("verdict: unknown value %q", b)
}

// Status is the monitoring-plugin state a verdict maps to; its exit code is
// what `netriage check` returns.
type Status uint8

// Plugin states.
const (
	// StatusOK exits 0.
	StatusOK Status = iota
	// StatusWarning exits 1: congested, or above the warning threshold.
	StatusWarning
	// StatusCritical exits 2: saturated, or an interface removed.
	StatusCritical
	// StatusUnknown exits 3: cannot tell, or an error.
	StatusUnknown
)

// String returns "OK", "WARNING", "CRITICAL" or "UNKNOWN".
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "OK"
	case StatusWarning:
		return "WARNING"
	case StatusCritical:
		return "CRITICAL"
	case StatusUnknown:
		return "UNKNOWN"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// ExitCode returns the monitoring-plugin exit code: 0, 1, 2 or 3.
func (s Status) ExitCode() int {
	switch s {
	case StatusOK:
		return 0
	case StatusWarning:
		return 1
	case StatusCritical:
		return 2
	case StatusUnknown:
		return 3
	}
	return 3
}

// rank orders states the usual plugin way: critical > warning > unknown > ok.
func (s Status) rank() int {
	switch s {
	case StatusOK:
		return 0
	case StatusUnknown:
		return 1
	case StatusWarning:
		return 2
	case StatusCritical:
		return 3
	}
	return 1
}

// Worse returns the more serious of s and o.
func (s Status) Worse(o Status) Status {
	if o.rank() > s.rank() {
		return o
	}
	return s
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Status) UnmarshalText(b []byte) error {
	for _, c := range []Status{StatusOK, StatusWarning, StatusCritical, StatusUnknown} {
		if c.String() == string(b) {
			*s = c
			return nil
		}
	}
	return fmt.Errorf("status: unknown value %q", b)
}

// Direction is rx (received by the interface) or tx (sent by it).
type Direction uint8

// Directions. A flow's sent bytes are the interface's tx, its received
// bytes the interface's rx.
const (
	RX Direction = iota
	TX
)

// String returns "rx" or "tx".
func (d Direction) String() string {
	if d == TX {
		return "tx"
	}
	return "rx"
}

// MarshalText implements encoding.TextMarshaler.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Direction) UnmarshalText(b []byte) error {
	switch string(b) {
	case "rx":
		*d = RX
	case "tx":
		*d = TX
	default:
		return fmt.Errorf("direction: unknown value %q (rx or tx)", b)
	}
	return nil
}

// Removal says whether, and how, an interface disappeared during a window.
type Removal uint8

// Removals.
const (
	// Present: the interface is in the window's last counter sample.
	Present Removal = iota
	// RemovedInterface: the interface was deleted (it is missing from the
	// last counter sample while its namespace still exists).
	RemovedInterface
	// RemovedNetns: the network namespace the interface was read from was
	// deleted, and the interface with it.
	RemovedNetns
)

// String returns "", "interface" or "netns".
func (r Removal) String() string {
	switch r {
	case Present:
		return ""
	case RemovedInterface:
		return "interface"
	case RemovedNetns:
		return "netns"
	}
	return fmt.Sprintf("removal(%d)", uint8(r))
}

// MarshalText implements encoding.TextMarshaler.
func (r Removal) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Removal) UnmarshalText(b []byte) error {
	for _, c := range []Removal{Present, RemovedInterface, RemovedNetns} {
		if c.String() == string(b) {
			*r = c
			return nil
		}
	}
	return fmt.Errorf("removal: unknown value %q", b)
}

// Capacity sources, as reported by the links source.
const (
	SourceUnknown = "unknown"
	SourceUser    = "user"
)

// ----- input -------------------------------------------------------------

// Window is everything observed during one window: the input of Evaluate.
// Counter fields are deltas over the window (end minus start, resets
// already handled by the caller).
type Window struct {
	// Start and End bound the window (capture time on replay).
	Start, End time.Time
	// Samples is the number of counter samples taken in the window; at
	// least 2 are needed for counter deltas. Ignored when !Counters.
	Samples int
	// Counters is false when no interface counters exist (replay of a
	// file): rates come from the flows and coverage is not applicable.
	Counters bool
	// Interfaces has one entry per watched interface.
	Interfaces []Interface
	// Flows are the flows seen in the window, with their bytes in it.
	Flows []Flow
	// Capture describes the packet capture's health over the window.
	Capture Capture
	// TCPRetransmits is the number of TCP segments the host retransmitted
	// in the window (sock_diag total_retrans deltas); nil when unknown.
	TCPRetransmits *uint64
	// Stack is the namespace's stack counters over the window (softirq
	// backlog, protocol counters, conntrack, the NICs' statistics and
	// BQL); nil when they were not read.
	Stack *Stack `json:",omitempty"`
	// EgressBudgets are the egress budgets judged at the window's end
	// (egress.EvaluateBudgets); each at or above its warning is a finding.
	EgressBudgets []egress.BudgetResult `json:",omitempty"`
	// Replay names the file when the window comes from a replay.
	Replay string
}

// Duration returns End - Start.
func (w Window) Duration() time.Duration { return w.End.Sub(w.Start) }

// Interface is one interface's counters over the window.
type Interface struct {
	// Name is the interface name.
	Name string
	// LinkHeaderBytes is the link-layer header added per packet for
	// coverage: 14 (Ethernet), 18 (VLAN); 0 means 14.
	LinkHeaderBytes uint64
	// CounterDuration is the time the counter deltas cover; less than the
	// window when a counter reset made a sample pair unusable. 0 means the
	// whole window, or none at all when CounterReset is set.
	CounterDuration time.Duration
	// CounterReset reports that a counter went backwards (reset, interface
	// re-created) during the window.
	CounterReset bool
	// Captured reports that the capture listened on this interface (or on
	// "any"); when false coverage is meaningless.
	Captured bool
	// Loopback reports a loopback interface: every packet on it is both
	// sent and received, and its counters count IP bytes (the kernel takes
	// the Ethernet header off before counting), so coverage compares each
	// direction with all flow bytes and adds no link header.
	Loopback bool
	// Removed says whether the interface disappeared during the window
	// (see FromLinks); its counters then cover the time before it did.
	Removed Removal
	// FlowsPerInterface reports that Flow.Interface is filled in; when false
	// flows are attributed to every captured interface (one interface, or
	// "any").
	FlowsPerInterface bool
	// RX and TX are the two directions' counter deltas.
	RX, TX DirCounters
	// Bursts is the burst sampler's view over the window; nil when no
	// sampler ran.
	Bursts *Bursts `json:",omitempty"`
}

// DirCounters are one direction's interface counter deltas.
type DirCounters struct {
	// CapacityBps is the direction's capacity in bits per second; 0 is
	// unknown. A shaper's rate applies to tx only.
	CapacityBps uint64
	// CapacitySource says where CapacityBps came from ("ethtool",
	// "shaper", "user"...); SourceUnknown or "" when unknown.
	CapacitySource string
	// Bytes and Packets are the interface byte and packet counter deltas.
	Bytes, Packets uint64
	// Errors and Dropped are the interface error and drop counter deltas.
	Errors, Dropped uint64
	// Queue is the egress queue (root qdisc); nil when there is none or for
	// rx.
	Queue *Queue
}

// Queue is a qdisc's counters over the window.
type Queue struct {
	// Kind is the qdisc type ("tbf", "fq_codel", "mq"...).
	Kind string
	// Drops and Overlimits are counter deltas over the window. Drops is
	// the larger of the root's own drops and the drops of its leaf classes
	// and their qdiscs (LeafDrops, htb and hfsc roots), so drops the
	// root's counter misses still count, and none twice; RootDrops holds
	// the root's own when LeafDrops was larger (else 0).
	Drops, Overlimits    uint64
	RootDrops, LeafDrops uint64 `json:",omitempty"`
	// DropsTotal is the qdisc's own drop counter at the window's last
	// sample with the qdisc: monotonic since the qdisc was created (the
	// kernel keeps it in 32 bits), for consumers that take their own
	// differences.
	DropsTotal uint64
	// BacklogBytes and BacklogPackets are the largest backlog sampled in
	// the window.
	BacklogBytes, BacklogPackets uint64
	// BacklogSamples and BacklogNonEmpty count the samples taken and those
	// with a non-empty backlog.
	BacklogSamples, BacklogNonEmpty int
}

// Flow is one flow's traffic in the window.
type Flow struct {
	// Key identifies the flow from the host's point of view.
	Key flows.Key
	// Interface is where it was seen, "" when the capture does not say.
	Interface string
	// SentBytes/SentPackets (local → remote, the interface's tx) and
	// RecvBytes/RecvPackets (its rx) are IP bytes and packets in the window.
	SentBytes, RecvBytes, SentPackets, RecvPackets uint64
	// Owner is the owning process; nil when attribution did not run.
	Owner *Owner
	// RemoteName is the remote address's DNS name, "" if none.
	RemoteName string
}

// Owner is the process (or the reason there is none) a flow belongs to.
type Owner struct {
	// PID is 0 when unattributed.
	PID int `json:"pid,omitempty"`
	// Program is the process name.
	Program string `json:"program,omitempty"`
	// Container is the container or systemd unit, "" if none.
	Container string `json:"container,omitempty"`
	// Unattributed gives the reason when there is no process ("forwarded",
	// "closed", "other protocol", "unknown").
	Unattributed string `json:"unattributed,omitempty"`
	// Limit is what limits the connection's speed ("network", "receiver",
	// "sender", "application"; attrib.Limit), "" when its socket's
	// tcp_info cannot say. It is not part of OwnerLabel.
	Limit string `json:"limit,omitempty"`
}

// LimitText is how a verdict's text says o.Limit: "limited by the
// receiver", or "" when there is none.
func LimitText(o *Owner) string {
	if o == nil {
		return ""
	}
	switch o.Limit {
	case "network", "receiver", "sender", "application":
		return "limited by the " + o.Limit
	}
	return ""
}

// Capture is the packet capture's health over the window.
type Capture struct {
	// Active is false when no packet capture ran (then there is nothing to
	// explain with).
	Active bool
	// Interfaces are the captured interfaces ("any" for all).
	Interfaces []string
	// Filter is the active tcpdump-syntax filter, "" if none.
	Filter string
	// LocalNet is the -F boundary, "" if the host's addresses are used.
	LocalNet string
	// Packets, KernelDrops, EvictedFlows, NonIP and Truncated are counts
	// over the window.
	Packets, KernelDrops, EvictedFlows, NonIP, Truncated uint64
	// Warnings are what the capture could not do as asked (such as
	// promiscuous mode); each becomes a note of the report.
	Warnings []string `json:",omitempty"`
}

// ----- output ------------------------------------------------------------

// Report is the answer for one window.
type Report struct {
	// Verdict is the worst direction's verdict.
	Verdict Verdict `json:"verdict"`
	// Status is the worst direction's plugin state; ExitCode its code.
	Status   Status `json:"status"`
	ExitCode int    `json:"exit_code"`
	// Summary is one line for a pager or a chat message.
	Summary string `json:"summary"`
	// Start, End and DurationSec describe the window.
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	DurationSec float64   `json:"duration_s"`
	// Replay names the file for a replay, "" for a live check.
	Replay string `json:"replay,omitempty"`
	// Thresholds are the rules' parameters.
	Thresholds Thresholds `json:"thresholds"`
	// Interfaces has one entry per interface, in input order.
	Interfaces []IfaceReport `json:"interfaces"`
	// Capture is the capture's health over the window.
	Capture CaptureReport `json:"capture"`
	// TCPRetransmits is host-wide TCP retransmissions in the window
	// (sock_diag), null when unknown.
	TCPRetransmits *uint64 `json:"tcp_retransmits"`
	// Findings are where packets were lost besides a full link, in the
	// order to look (bursty, nic-drops, softirq-drops, conntrack-full,
	// endpoint-drops); they count in Status like the directions.
	Findings []Finding `json:"findings"`
	// Stack is the stack evidence behind them, null when it was not read.
	Stack *StackReport `json:"stack"`
	// Notes are window-wide remarks (too short, no capture...).
	Notes []string `json:"notes"`
}

// CaptureReport is the capture's health as reported.
type CaptureReport struct {
	Active       bool     `json:"active"`
	Interfaces   []string `json:"interfaces"`
	Filter       string   `json:"filter"`
	LocalNet     string   `json:"local_net"`
	Packets      uint64   `json:"packets"`
	KernelDrops  uint64   `json:"drops"`
	EvictedFlows uint64   `json:"evicted_flows"`
	NonIP        uint64   `json:"non_ip"`
	Truncated    uint64   `json:"truncated"`
}

// IfaceReport is one interface's answer.
type IfaceReport struct {
	Name string    `json:"name"`
	RX   DirReport `json:"rx"`
	TX   DirReport `json:"tx"`
}

// Dir returns the report of direction d.
func (r *IfaceReport) Dir(d Direction) *DirReport {
	if d == TX {
		return &r.TX
	}
	return &r.RX
}

// DirReport is the answer for one interface and direction.
type DirReport struct {
	Direction Direction `json:"direction"`
	Verdict   Verdict   `json:"verdict"`
	Status    Status    `json:"status"`
	// Reasons say which rule decided the verdict, in words.
	Reasons []string `json:"reasons"`
	// Advice says what to do to get a better answer (e.g. --link-speed).
	Advice []string `json:"advice"`
	// RateBps is the direction's rate in bits per second (interface
	// counters; flows when there are none).
	RateBps float64 `json:"rate_bps"`
	// Bytes and Packets are the interface counter deltas (flow IP bytes on
	// replay).
	Bytes   uint64 `json:"bytes"`
	Packets uint64 `json:"packets"`
	// CapacityBps is null when unknown.
	CapacityBps    *uint64 `json:"capacity_bps"`
	CapacitySource string  `json:"capacity_source"`
	// Utilization is RateBps / CapacityBps (0..1, may exceed 1), null when
	// the capacity is unknown.
	Utilization *float64 `json:"utilization"`
	// Evidence are the counters behind the verdict.
	Evidence Evidence `json:"evidence"`
	// Bursts is the sub-second view (peak interval, time above the
	// thresholds); null when no burst sampler ran.
	Bursts *BurstReport `json:"bursts"`
	// Coverage compares the flows with the interface counters.
	Coverage Coverage `json:"coverage"`
	// ExplainedBy is the smallest set of flows covering ExplainShare of the
	// direction's captured bytes, largest first.
	ExplainedBy []ExplainedFlow `json:"explained_by"`
	// ExplainedShare is the share of the direction's captured bytes the
	// ExplainedBy flows hold together (0..1).
	ExplainedShare float64 `json:"explained_share"`
	// FlowCount is the number of flows with bytes in this direction.
	FlowCount int `json:"flow_count"`
	// ByProcess and ByRemote apply the same rule to flows grouped by owner
	// and by remote host.
	ByProcess []Group `json:"by_process"`
	ByRemote  []Group `json:"by_remote"`
}

// Evidence are the counters the verdict rests on.
type Evidence struct {
	// QueueKind is the root qdisc's type, "" if none was seen.
	QueueKind string `json:"qdisc"`
	// QueueDrops and QueueDropsPerSec: qdisc drops in the window (null
	// without a qdisc).
	QueueDrops       *uint64  `json:"qdisc_drops"`
	QueueDropsPerSec *float64 `json:"qdisc_drops_per_s"`
	// QueueDropsTotal is the qdisc's own drop counter at the window's end
	// (Queue.DropsTotal), null without a qdisc: what a monitoring system
	// keeps as a continuous counter.
	QueueDropsTotal *uint64 `json:"qdisc_drops_total"`
	// BacklogBytes and BacklogPackets are the largest backlog sampled.
	BacklogBytes   uint64 `json:"backlog_bytes"`
	BacklogPackets uint64 `json:"backlog_packets"`
	// BacklogPersistent: the backlog was non-empty in at least half the
	// samples (and at least two).
	BacklogPersistent bool `json:"backlog_persistent"`
	// Overlimits and OverlimitsPerSec: the shaper held packets back.
	Overlimits       uint64  `json:"overlimits"`
	OverlimitsPerSec float64 `json:"overlimits_per_s"`
	// Errors and Dropped are the interface's own counters in the window.
	Errors        uint64  `json:"errors"`
	ErrorsPerSec  float64 `json:"errors_per_s"`
	Dropped       uint64  `json:"dropped"`
	DroppedPerSec float64 `json:"dropped_per_s"`
	// CounterReset: an interface counter went backwards in the window.
	CounterReset bool `json:"counter_reset"`
}

// Coverage compares captured flow bytes with the interface counter.
type Coverage struct {
	// Ratio is FlowLinkBytes / InterfaceBytes, null when not applicable
	// (no counters, no capture, no traffic).
	Ratio *float64 `json:"ratio"`
	// FlowIPBytes and FlowPackets are the captured flows' IP bytes and
	// packets in this direction.
	FlowIPBytes uint64 `json:"flow_ip_bytes"`
	FlowPackets uint64 `json:"flow_packets"`
	// LinkHeaderBytes is the per-packet header added (14 or 18).
	LinkHeaderBytes uint64 `json:"link_header_bytes"`
	// FlowLinkBytes = FlowIPBytes + LinkHeaderBytes × FlowPackets.
	FlowLinkBytes uint64 `json:"flow_link_bytes"`
	// InterfaceBytes and InterfacePackets are the interface counters.
	InterfaceBytes   uint64 `json:"interface_bytes"`
	InterfacePackets uint64 `json:"interface_packets"`
	// Summary reads e.g. "flows explain 99.7% of eth0 tx".
	Summary string `json:"summary"`
	// Reasons say why coverage is low (or n/a).
	Reasons []string `json:"reasons"`
}

// ExplainedFlow is one flow of the explaining set.
type ExplainedFlow struct {
	Proto       string  `json:"proto"`
	LocalAddr   string  `json:"local_addr"`
	LocalPort   *uint16 `json:"local_port"`
	RemoteAddr  string  `json:"remote_addr"`
	RemotePort  *uint16 `json:"remote_port"`
	SentBytes   uint64  `json:"sent_bytes"`
	RecvBytes   uint64  `json:"recv_bytes"`
	SentPackets uint64  `json:"sent_packets"`
	RecvPackets uint64  `json:"recv_packets"`
	// Bytes is the flow's bytes in this direction; RateBps the same as a
	// rate over the window.
	Bytes   uint64  `json:"bytes"`
	RateBps float64 `json:"rate_bps"`
	// Share is Bytes over the direction's captured bytes (0..1).
	Share float64 `json:"share"`
	// Owner is null when attribution did not run (e.g. replay).
	Owner      *Owner `json:"owner"`
	RemoteName string `json:"remote_name"`
}

// Group is flows grouped by process or remote host.
type Group struct {
	// Name is the group's label: "nginx (pid 123)", "unattributed:
	// forwarded", a host name or an address.
	Name    string  `json:"name"`
	Bytes   uint64  `json:"bytes"`
	RateBps float64 `json:"rate_bps"`
	Share   float64 `json:"share"`
	Flows   int     `json:"flows"`
}
