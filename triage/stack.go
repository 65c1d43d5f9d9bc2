package triage

import (
	"fmt"
	"strings"
	"time"
)

// StackSample is one reading of the places a namespace loses or queues
// packets outside its interface and qdisc counters: the softirq backlog per
// CPU (/proc/net/softnet_stat), the protocol counters that mean loss or
// queueing (/proc/net/snmp, netstat, snmp6), conntrack, and per watched
// interface the NIC driver's own statistics (the `ethtool -S` set) and the
// byte queue limits of its transmit queues. It is an immutable value.
//
// A part that could not be read is nil (or empty) and its Absent entry
// says why; a part that does not exist here (conntrack not loaded, a
// driver without statistics) is absent too: that is normal, not an error.
// Errors are the failures that should not happen (a file that no longer
// parses, a read that failed): they make the input degraded.
type StackSample struct {
	// Time is when the sample was taken (stamped by the engine).
	Time time.Time
	// Softnet has one row per online CPU, in the kernel's order.
	Softnet []SoftnetCPU
	// Proto are the namespace's protocol counters; nil when unreadable.
	Proto *ProtoCounters
	// Conntrack is nil when conntrack is not loaded in the namespace (see
	// Absent).
	Conntrack *ConntrackSample
	// Ifaces has one entry per interface asked for, in that order.
	Ifaces []StackIface
	// Absent says which parts do not exist here and why, one line each
	// ("conntrack: not loaded (no /proc/sys/net/netfilter/nf_conntrack_count)").
	Absent []string
	// Errors are reads that failed; each makes the input degraded.
	Errors []string
}

// Iface returns the entry of interface name.
func (s *StackSample) Iface(name string) (StackIface, bool) {
	for _, i := range s.Ifaces {
		if i.Name == name {
			return i, true
		}
	}
	return StackIface{}, false
}

// SoftnetCPU is one CPU's row of /proc/net/softnet_stat. The kernel keeps
// these counters in 32 bits: they wrap at 2^32.
type SoftnetCPU struct {
	// CPU is the CPU number: the row's own column on kernels that print it
	// (5.10 and later), else the row's position.
	CPU int
	// Processed counts packets taken off the backlog and processed.
	Processed uint64
	// Dropped counts packets dropped because the backlog queue was full
	// (net.core.netdev_max_backlog) or the flow limit applied.
	Dropped uint64
	// TimeSqueeze counts the times net_rx_action ran out of budget or
	// time with work left: the softirq could not keep up.
	TimeSqueeze uint64
	// ReceivedRPS counts inter-processor interrupts sent to steer packets
	// to this CPU (RPS).
	ReceivedRPS uint64
	// FlowLimitCount counts packets dropped by the flow limit
	// (net.core.flow_limit_cpu_bitmap); they are also in Dropped.
	FlowLimitCount uint64
	// BacklogLen is the packets queued in the backlog at the read (a
	// gauge; 0 on kernels before 5.10, which do not print it).
	BacklogLen uint64
}

// ProtoCounters are the protocol counters of one namespace that mean loss
// or queueing. They are the kernel's unsigned longs: monotonic, 64-bit on
// 64-bit machines. A counter the kernel does not print is 0 and named in
// Missing.
type ProtoCounters struct {
	// TCPRetransSegs is Tcp RetransSegs (snmp): segments retransmitted.
	TCPRetransSegs uint64
	// TCPTimeouts is TcpExt TCPTimeouts (netstat): retransmission timer
	// expiries.
	TCPTimeouts uint64
	// ListenOverflows is TcpExt ListenOverflows: connections dropped
	// because a listener's accept queue was full.
	ListenOverflows uint64
	// ListenDrops is TcpExt ListenDrops: every SYN or ACK a listener
	// dropped, overflows included.
	ListenDrops uint64
	// TCPBacklogDrop is TcpExt TCPBacklogDrop: segments dropped because a
	// socket's backlog (while the application held its lock) was full.
	TCPBacklogDrop uint64
	// UDPRcvbufErrors and UDPSndbufErrors are Udp RcvbufErrors and
	// SndbufErrors (snmp): datagrams dropped for a full receive buffer,
	// sends refused for a full send buffer. UDPInErrors is Udp InErrors
	// (receive buffer errors included, checksum errors too).
	UDPRcvbufErrors, UDPSndbufErrors, UDPInErrors uint64
	// UDP6RcvbufErrors, UDP6SndbufErrors and UDP6InErrors are the same
	// for IPv6 (snmp6).
	UDP6RcvbufErrors, UDP6SndbufErrors, UDP6InErrors uint64
	// IPInDiscards and IP6InDiscards are input datagrams discarded for
	// want of resources (snmp Ip InDiscards, snmp6 Ip6InDiscards).
	IPInDiscards, IP6InDiscards uint64
	// Missing names the counters this kernel does not print (e.g.
	// "snmp6" when IPv6 is disabled); nil when all were found.
	Missing []string
}

// EndpointDrops is the sum of the counters that mean an endpoint (a
// socket, a listener) lost packets: listen drops (which include the
// overflows), backlog drops and UDP buffer errors of both families.
func (p ProtoCounters) EndpointDrops() uint64 {
	return max(p.ListenDrops, p.ListenOverflows) + p.TCPBacklogDrop +
		p.UDPRcvbufErrors + p.UDPSndbufErrors + p.UDP6RcvbufErrors + p.UDP6SndbufErrors
}

// Add adds the counters of d to p (Missing is left alone).
func (p *ProtoCounters) Add(d ProtoCounters) {
	p.TCPRetransSegs += d.TCPRetransSegs
	p.TCPTimeouts += d.TCPTimeouts
	p.ListenOverflows += d.ListenOverflows
	p.ListenDrops += d.ListenDrops
	p.TCPBacklogDrop += d.TCPBacklogDrop
	p.UDPRcvbufErrors += d.UDPRcvbufErrors
	p.UDPSndbufErrors += d.UDPSndbufErrors
	p.UDPInErrors += d.UDPInErrors
	p.UDP6RcvbufErrors += d.UDP6RcvbufErrors
	p.UDP6SndbufErrors += d.UDP6SndbufErrors
	p.UDP6InErrors += d.UDP6InErrors
	p.IPInDiscards += d.IPInDiscards
	p.IP6InDiscards += d.IP6InDiscards
}

// ConntrackSample is the connection-tracking table of one namespace.
type ConntrackSample struct {
	// Count and Max are nf_conntrack_count and nf_conntrack_max (gauges);
	// Max is 0 when unreadable.
	Count, Max uint64
	// InsertFailed, Drop and EarlyDrop are /proc/net/stat/nf_conntrack's
	// insert_failed, drop and early_drop summed over CPUs: entries that
	// could not be inserted, packets dropped because the table was full,
	// entries evicted to make room.
	InsertFailed, Drop, EarlyDrop uint64
	// NoStats says why the per-CPU statistics are missing ("" when read).
	NoStats string
}

// Fill returns Count / Max, or 0 when Max is unknown.
func (c ConntrackSample) Fill() float64 {
	if c.Max == 0 {
		return 0
	}
	return float64(c.Count) / float64(c.Max)
}

// StackIface is one interface's NIC statistics and byte queue limits.
type StackIface struct {
	// Name is the interface name (untrusted text: sanitize before display).
	Name string
	// NIC is the driver's statistics; nil when there are none (NICNote
	// says why: "the driver exposes no statistics", an ioctl error).
	NIC     *NICStats
	NICNote string
	// BQL has one entry per transmit queue; nil when not read (BQLNote
	// says why: another namespace, a kernel without BQL).
	BQL     []BQLQueue
	BQLNote string
}

// NICStats are a driver's statistics (ETH_SS_STATS: what `ethtool -S`
// shows), by the driver's own names. Names and Classes are shared by the
// samples of one interface while the driver's set is unchanged: never
// modify them.
type NICStats struct {
	// Driver is the driver's name (ETHTOOL_GDRVINFO), "" if unknown.
	Driver string
	// Names, Classes and Values are parallel: the counter's name, what it
	// means for loss (ClassifyNICCounter) and its value.
	Names   []string
	Classes []NICClass
	Values  []uint64
}

// NICClass says what a driver counter means for packet loss.
type NICClass uint8

// NIC counter classes. Loss classes are RxMissed, QueueDrop, Drop and
// Allowance.
const (
	// NICOther is any other counter (packets, bytes, kicks, XDP actions).
	NICOther NICClass = iota
	// NICRxMissed: the NIC had no room (rx missed, no buffer, FIFO
	// overflow, out of buffer).
	NICRxMissed
	// NICQueueDrop: a drop or discard counter of one queue.
	NICQueueDrop
	// NICDrop: a drop or discard counter of the whole device.
	NICDrop
	// NICPause: pause (flow-control) frames, xon/xoff.
	NICPause
	// NICAllowance: a cloud NIC's allowance exceeded (AWS ENA's
	// bw_in_allowance_exceeded, pps_allowance_exceeded...): the platform
	// queued or dropped packets over the instance's limits.
	NICAllowance
)

// String returns "other", "rx_missed", "queue_drop", "drop", "pause" or
// "allowance".
func (c NICClass) String() string {
	switch c {
	case NICOther:
		return "other"
	case NICRxMissed:
		return "rx_missed"
	case NICQueueDrop:
		return "queue_drop"
	case NICDrop:
		return "drop"
	case NICPause:
		return "pause"
	case NICAllowance:
		return "allowance"
	}
	return "other"
}

// Loss reports whether counters of class c count lost packets.
func (c NICClass) Loss() bool {
	return c == NICRxMissed || c == NICQueueDrop || c == NICDrop || c == NICAllowance
}

// MarshalText implements encoding.TextMarshaler.
func (c NICClass) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *NICClass) UnmarshalText(b []byte) error {
	for _, k := range []NICClass{NICOther, NICRxMissed, NICQueueDrop, NICDrop, NICPause, NICAllowance} {
		if k.String() == string(b) {
			*c = k
			return nil
		}
	}
	return fmt.Errorf("nic counter class: unknown value %q", b)
}

// ClassifyNICCounter says what the driver counter name means for loss.
// XDP counters are deliberate actions of a program, never loss; a
// counter of one queue is recognised by a queue number next to rx, tx,
// queue, q, rxq, txq, ch or channel ("rx_queue_0_drops", "rx0_drops",
// "rx-0.drops", "[0]: rx_discards").
func ClassifyNICCounter(name string) NICClass {
	n := strings.ToLower(name)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(n, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("allowance_exceeded"):
		return NICAllowance
	case has("xdp"):
		return NICOther
	case has("pause", "xon", "xoff"):
		return NICPause
	case has("missed", "no_buf", "nobuf", "no_buffer", "out_of_buffer", "fifo", "no_desc", "nodesc"):
		return NICRxMissed
	case has("drop", "discard"):
		if perQueue(n) {
			return NICQueueDrop
		}
		return NICDrop
	}
	return NICOther
}

// perQueue reports whether a lower-case counter name names a queue.
func perQueue(n string) bool {
	prev := ""
	first := true
	for tok := range strings.FieldsFuncSeq(n, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		alpha := strings.TrimRight(tok, "0123456789")
		digits := len(alpha) < len(tok)
		switch {
		case digits && alpha == "" && (first || queueWord(prev)):
			return true
		case digits && alpha != "" && queueWord(alpha):
			return true
		}
		prev, first = tok, false
	}
	return false
}

func queueWord(w string) bool {
	switch w {
	case "rx", "tx", "queue", "q", "rxq", "txq", "ch", "channel":
		return true
	}
	return false
}

// BQLQueue is one transmit queue's byte queue limits
// (/sys/class/net/IF/queues/tx-N/byte_queue_limits).
type BQLQueue struct {
	// Queue is N of tx-N.
	Queue int
	// Inflight is the bytes handed to the device and not yet completed;
	// Limit the bytes BQL allows in flight now. Both are gauges; a limit
	// of 0 means the driver does not use BQL (or sent nothing yet).
	Inflight, Limit uint64
}

// ----- rates -------------------------------------------------------------

// StackStep is a stack sample with its rates against the one before it.
type StackStep struct {
	Sample StackSample
	Rates  StackRates
}

// StackRates are a StackSample's rates against the previous one.
type StackRates struct {
	// Valid is false when there is no previous sample or the interval is
	// not positive (Note says which); the rest is then empty.
	Valid bool
	Note  string
	// Interval is the time between the two samples.
	Interval time.Duration
	// Softnet are the per-CPU deltas, in the current sample's order, and
	// their sums.
	Softnet      []SoftnetDelta
	SoftnetTotal SoftnetDelta
	// Proto are the protocol counters' deltas (nil when either sample has
	// none).
	Proto *ProtoCounters
	// Conntrack are the conntrack counters' deltas with the current
	// gauges (nil when either sample has none).
	Conntrack *ConntrackSample
	// Ifaces are the NIC counters' deltas per interface, in the current
	// sample's order.
	Ifaces []NICRates
	// Reset is true when a counter went backwards and was counted from
	// zero.
	Reset bool
}

// PerSec returns delta per second over the interval.
func (r *StackRates) PerSec(delta uint64) float64 { return PerSec(delta, r.Interval) }

// SoftnetDelta is one CPU's softnet counter increases.
type SoftnetDelta struct {
	CPU                                        int
	Processed, Dropped, TimeSqueeze, FlowLimit uint64
}

// NICRates are one interface's NIC counter increases.
type NICRates struct {
	Name string
	// Valid is false when either sample has no statistics or the driver's
	// set changed (Note says which).
	Valid bool
	Note  string
	// Counters are the loss and pause counters (the classes other than
	// NICOther), in the driver's order.
	Counters []NICCounterDelta
}

// NICCounterDelta is one driver counter's value and increase.
type NICCounterDelta struct {
	Name         string
	Class        NICClass
	Value, Delta uint64
}

// Loss returns the NIC's lost packets in the interval (NICLoss of its
// counters).
func (n NICRates) Loss() uint64 {
	return NICLoss(n.Counters)
}

// NICLoss is the lost packets of a set of counter deltas: the larger of
// the per-queue sum and the device-wide sum (drivers often count the same
// packets in both).
func NICLoss(cs []NICCounterDelta) uint64 {
	var queue, dev uint64
	for _, c := range cs {
		switch {
		case c.Class == NICQueueDrop:
			queue += c.Delta
		case c.Class.Loss():
			dev += c.Delta
		}
	}
	return max(queue, dev)
}

// CompareStack returns cur's rates against prev (nil: the first sample).
// Counters that went backwards are counted from zero and noted; softnet
// counters wrap at 2^32. CPUs are matched by number, interfaces by name,
// NIC counters by position while the driver's set of names is the same.
func CompareStack(prev, cur *StackSample) StackRates {
	if prev == nil || cur == nil {
		return StackRates{Note: NoteFirst}
	}
	dt := cur.Time.Sub(prev.Time)
	if dt <= 0 {
		return StackRates{Note: NoteBadInterval}
	}
	r := StackRates{Valid: true, Interval: dt}
	step := func(f func(a, b uint64) CounterStep, a, b uint64) uint64 {
		s := f(a, b)
		r.Reset = r.Reset || s.Reset
		return s.Delta
	}
	if len(cur.Softnet) > 0 {
		byCPU := make(map[int]*SoftnetCPU, len(prev.Softnet))
		for i := range prev.Softnet {
			byCPU[prev.Softnet[i].CPU] = &prev.Softnet[i]
		}
		r.Softnet = make([]SoftnetDelta, 0, len(cur.Softnet))
		for _, c := range cur.Softnet {
			p, ok := byCPU[c.CPU]
			if !ok {
				continue // a CPU that came online: no rate this interval
			}
			d := SoftnetDelta{CPU: c.CPU,
				Processed:   step(Step32, p.Processed, c.Processed),
				Dropped:     step(Step32, p.Dropped, c.Dropped),
				TimeSqueeze: step(Step32, p.TimeSqueeze, c.TimeSqueeze),
				FlowLimit:   step(Step32, p.FlowLimitCount, c.FlowLimitCount)}
			r.Softnet = append(r.Softnet, d)
			r.SoftnetTotal.Processed += d.Processed
			r.SoftnetTotal.Dropped += d.Dropped
			r.SoftnetTotal.TimeSqueeze += d.TimeSqueeze
			r.SoftnetTotal.FlowLimit += d.FlowLimit
		}
		r.SoftnetTotal.CPU = -1
	}
	if p, c := prev.Proto, cur.Proto; p != nil && c != nil {
		s := func(a, b uint64) uint64 { return step(Step, a, b) }
		r.Proto = &ProtoCounters{
			TCPRetransSegs: s(p.TCPRetransSegs, c.TCPRetransSegs), TCPTimeouts: s(p.TCPTimeouts, c.TCPTimeouts),
			ListenOverflows: s(p.ListenOverflows, c.ListenOverflows), ListenDrops: s(p.ListenDrops, c.ListenDrops),
			TCPBacklogDrop:  s(p.TCPBacklogDrop, c.TCPBacklogDrop),
			UDPRcvbufErrors: s(p.UDPRcvbufErrors, c.UDPRcvbufErrors), UDPSndbufErrors: s(p.UDPSndbufErrors, c.UDPSndbufErrors),
			UDPInErrors:      s(p.UDPInErrors, c.UDPInErrors),
			UDP6RcvbufErrors: s(p.UDP6RcvbufErrors, c.UDP6RcvbufErrors), UDP6SndbufErrors: s(p.UDP6SndbufErrors, c.UDP6SndbufErrors),
			UDP6InErrors: s(p.UDP6InErrors, c.UDP6InErrors),
			IPInDiscards: s(p.IPInDiscards, c.IPInDiscards), IP6InDiscards: s(p.IP6InDiscards, c.IP6InDiscards),
			Missing: c.Missing,
		}
	}
	if p, c := prev.Conntrack, cur.Conntrack; p != nil && c != nil {
		r.Conntrack = &ConntrackSample{Count: c.Count, Max: c.Max, NoStats: c.NoStats}
		if p.NoStats == "" && c.NoStats == "" {
			r.Conntrack.InsertFailed = step(Step, p.InsertFailed, c.InsertFailed)
			r.Conntrack.Drop = step(Step, p.Drop, c.Drop)
			r.Conntrack.EarlyDrop = step(Step, p.EarlyDrop, c.EarlyDrop)
		}
	}
	for _, ci := range cur.Ifaces {
		nr := NICRates{Name: ci.Name}
		pi, ok := prev.Iface(ci.Name)
		switch {
		case ci.NIC == nil:
			nr.Note = ci.NICNote
		case !ok || pi.NIC == nil:
			nr.Note = NoteNew
		case !sameNames(pi.NIC.Names, ci.NIC.Names) || len(pi.NIC.Values) != len(ci.NIC.Values):
			nr.Note = "driver statistics changed"
		default:
			nr.Valid = true
			for i, cl := range ci.NIC.Classes {
				if cl == NICOther {
					continue
				}
				nr.Counters = append(nr.Counters, NICCounterDelta{Name: ci.NIC.Names[i], Class: cl,
					Value: ci.NIC.Values[i], Delta: step(Step, pi.NIC.Values[i], ci.NIC.Values[i])})
			}
		}
		r.Ifaces = append(r.Ifaces, nr)
	}
	if r.Reset {
		r.Note = NoteReset
	}
	return r
}

// sameNames reports whether two name sets are the same; the reader shares
// one slice while a driver's set is unchanged, so that is checked first.
func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
