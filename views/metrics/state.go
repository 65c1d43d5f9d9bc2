package metrics

import (
	"time"

	"netriage/triage/verdict"
)

// State is the metrics of one engine step: every series a scrape renders,
// with its label values already sanitised. It is immutable once Step
// returned it, and bounded: its size depends on the watched interfaces,
// the capture's handles and the Caps, never on the traffic.
type State struct {
	// Seq and Time are the engine step's.
	Seq  uint64
	Time time.Time
	// Inputs is each input's condition (links, capture, sockets, ...).
	Inputs []InputState
	// Links are the watched interfaces present in the step.
	Links []Link
	// Verdicts are the verdict per watched interface and direction (none
	// before the engine's first verdict). Seconds are kept for every
	// interface ever judged.
	Verdicts []Verdict
	// WindowSeconds is the length of the window the verdict judged.
	WindowSeconds float64
	// Capture is nil without a packet capture.
	Capture *Capture
	// Egress has one entry per destination class with bytes (nil without
	// the egress stage).
	Egress []EgressClass
}

// EgressClass is one destination class's egress since the start.
type EgressClass struct {
	Class string
	// Bytes are IP bytes received (rx) and sent (tx) with remotes of the
	// class.
	Bytes Dir[uint64]
	// Cost is the cost so far of the class's priced bytes in Currency;
	// nil when none of its bytes has a price.
	Cost     *float64
	Currency string
}

// InputState is one input's worst condition at the step.
type InputState struct {
	Input string
	// State is "ok", "degraded" or "absent".
	State string
}

// Dir is a direction's values: index 0 is rx, 1 is tx (verdict.RX, TX).
type Dir[T any] [2]T

// Link is one watched interface's counters. Counters are monotonic for
// the whole run: they start at the kernel's value and add its increases,
// so a re-created interface, a replaced qdisc or a 32-bit qdisc counter
// that wraps never makes them go back.
type Link struct {
	Interface string
	Up        bool
	Bytes     Dir[uint64]
	Packets   Dir[uint64]
	Errors    Dir[uint64]
	Drops     Dir[uint64]
	// CapacityBytesPerSec is 0 when unknown; CapacitySource says where a
	// known one came from ("ethtool", "shaper:tbf", "user"...).
	CapacityBytesPerSec Dir[float64]
	CapacitySource      Dir[string]
	// Utilization is over the last step; nil when unknown.
	Utilization Dir[*float64]
	// Qdisc is nil when the kernel reported no root qdisc.
	Qdisc *Qdisc
}

// Qdisc is a root qdisc's counters (mq roots: summed over their queues).
type Qdisc struct {
	Kind                                        string
	Bytes, Packets, Drops, Overlimits, Requeues uint64
	BacklogBytes, BacklogPackets                uint64
}

// Verdict is one interface and direction's verdict.
type Verdict struct {
	Interface string
	Direction verdict.Direction
	// Judged is false for an interface that is no longer in the verdict
	// (only its seconds are still exported).
	Judged bool
	State  verdict.Verdict
	// Coverage and Utilization are nil when not applicable.
	Coverage, Utilization *float64
	// SaturatedSeconds and CongestedSeconds count the steps' durations
	// while the verdict said so.
	SaturatedSeconds, CongestedSeconds float64
}

// Capture is the packet capture's health and its flows' bytes.
type Capture struct {
	// Interface is the capture's scope as a label: its one interface, or
	// its interfaces joined by commas, or "any". The flow and talker
	// families carry it.
	Interface string
	// Handles are the capture's interfaces with their packet and kernel
	// drop counters.
	Handles []Handle
	// Table-wide counters.
	EvictedFlows, ExpiredFlows, NonIPPackets, TruncatedPackets uint64
	// Flows is the number of flows in the table.
	Flows int
	// FlowBytes and FlowPackets are the IP bytes and packets of every
	// flow, per direction (tx: sent by the host).
	FlowBytes, FlowPackets Dir[uint64]
	// Unattributed are the bytes of flows without a process, per reason
	// (nil without process attribution).
	Unattributed []Unattributed
	// Processes and Remotes are the talker families, per direction.
	Processes, Remotes Dir[Talkers]
	// RemoteNames are the names of remotes with a series, where known.
	RemoteNames []RemoteName
}

// Handle is one capture interface.
type Handle struct {
	Interface            string
	Packets, KernelDrops uint64
}

// Unattributed is one reason's bytes.
type Unattributed struct {
	Reason string
	Bytes  Dir[uint64]
}

// Talkers is one group: the talkers with a series, the other bucket, and
// how much of other came from series that were retired. Σ Series.Bytes +
// Other equals the direction's FlowBytes.
type Talkers struct {
	Series  []Talker
	Other   uint64
	Retired uint64
}

// Talker is one series. Process talkers have Process and Container,
// remote talkers Remote.
type Talker struct {
	Process, Container string
	Remote             string
	Bytes              uint64
}

// RemoteName is a remote address and its name.
type RemoteName struct {
	Remote, Name string
}

// Series returns the number of series the talker families hold (other
// buckets included).
func (c *Capture) Series() int {
	n := 0
	for d := range 2 {
		n += len(c.Processes[d].Series) + len(c.Remotes[d].Series) + 2
	}
	return n
}
