// Package triage holds netriage's pure logic over snapshots: counter-pair
// rates, capacity resolution and the links model that views and the
// saturation verdict consume. It does no I/O and reads no clock; callers
// pass timestamps in.
//
// # Units
//
// Byte counters are link-layer bytes as the kernel counts them. Rates of
// bytes are bits per second (suffix Bps); other rates are per second
// (suffix PerSec). Capacities are bits per second. Utilisation is a ratio
// (1.0 = the capacity).
package triage

import (
	"net/netip"
	"sort"
	"strconv"
	"time"
)

// IfaceCounters are an interface's 64-bit kernel counters (netlink
// IFLA_STATS64). They are monotonic while the interface exists.
type IfaceCounters struct {
	RxBytes, TxBytes     uint64
	RxPackets, TxPackets uint64
	RxErrors, TxErrors   uint64
	RxDropped, TxDropped uint64
}

// QdiscStats summarises an interface's root qdisc. For an mq (or mqprio)
// root the counters are the sums over its per-queue children, so nothing is
// counted twice; for any other root they are the root's own counters, which
// already include its children.
type QdiscStats struct {
	// Kind is the root qdisc kind: "fq_codel", "tbf", "htb", "mq", "noqueue"...
	Kind string
	// Children is the number of mq children summed (0 for other roots).
	Children int
	// Bytes and Packets are what the qdisc sent (monotonic).
	Bytes, Packets uint64
	// Drops, Overlimits and Requeues are monotonic counters. The kernel
	// keeps them (and Packets) in 32 bits: they wrap at 2^32.
	Drops, Overlimits, Requeues uint64
	// BacklogBytes and BacklogPackets are gauges: what is queued now.
	BacklogBytes, BacklogPackets uint64
	// ShaperRateBps is the configured rate of a tbf root or the summed ceil
	// of an htb root's top-level classes, in bits per second; 0 when the
	// root is not a shaper.
	ShaperRateBps uint64
	// Classes are the classes of an htb or hfsc root, by handle; nil for
	// other roots.
	Classes []QdiscClass
	// LeafDrops is, for an htb or hfsc root, the sum over its leaf classes
	// of the larger of the class's drops and those of the qdisc attached
	// to it (a packet dropped below the root counted once); HasLeaves
	// reports that there were leaves to sum.
	LeafDrops uint64
	HasLeaves bool
	// AQM are the extended statistics of the interface's fq_codel, codel
	// and fq qdiscs (the root or below it), by handle.
	AQM []AQMStats
}

// QdiscClass is one class of a classful root qdisc (HTB, HFSC), with its
// counters as the kernel keeps them (monotonic while the class exists;
// packets, drops and overlimits in 32 bits).
type QdiscClass struct {
	// Kind is "htb" or "hfsc"; Handle and Parent are tc handles
	// (major<<16 | minor).
	Kind           string
	Handle, Parent uint32
	// Leaf reports a class without child classes (it holds a qdisc).
	Leaf                         bool
	Bytes, Packets               uint64
	Drops, Overlimits            uint64
	BacklogBytes, BacklogPackets uint64
	// RateBps and CeilBps are the configured rates in bits per second:
	// htb's rate and ceil, hfsc's link-sharing and upper-limit slopes; 0
	// when not set.
	RateBps, CeilBps uint64
	// EstBps is the kernel's rate estimator, 0 without one.
	EstBps uint64
}

// AQMStats are the extended statistics (TCA_STATS_APP) of an fq_codel,
// codel or fq qdisc.
type AQMStats struct {
	Kind           string
	Handle, Parent uint32
	// Drops is the qdisc's own drop counter; DropOverlimit the drops at its
	// packet limit (fq: at a flow's limit), DropOvermemory fq_codel's at
	// its memory limit.
	Drops, DropOverlimit, DropOvermemory uint64
	// ECNMarks are packets marked instead of dropped (codel's ECN), CEMarks
	// those marked above the ce_threshold.
	ECNMarks, CEMarks uint64
	// NewFlows is fq_codel's new-flow count, Flows fq's flow count; nil
	// where the kind has none.
	NewFlows, Flows              *uint64
	BacklogBytes, BacklogPackets uint64
}

// FormatHandle writes a tc handle as tc does: "1:10", "8001:", "root".
func FormatHandle(h uint32) string {
	switch h {
	case 0xFFFFFFFF:
		return "root"
	case 0:
		return "0:"
	}
	maj, min := h>>16, h&0xffff
	if min == 0 {
		return strconv.FormatUint(uint64(maj), 16) + ":"
	}
	return strconv.FormatUint(uint64(maj), 16) + ":" + strconv.FormatUint(uint64(min), 16)
}

// IfaceSample is one interface at one instant. It is an immutable value:
// the slices it holds are never modified after the sample is built.
type IfaceSample struct {
	// Name is the interface name (untrusted text: sanitize before display).
	Name string
	// Index is the kernel ifindex; a new index under the same name means the
	// interface was deleted and re-created.
	Index int
	// Kind is the link type ("device", "veth", "bridge", "vlan"...).
	Kind string
	// OperState is the RFC 2863 operational state: "up", "down",
	// "lower-layer-down", "dormant", "not-present", "testing" or "unknown".
	OperState string
	// AdminUp reports IFF_UP (administratively up).
	AdminUp bool
	// Loopback reports IFF_LOOPBACK.
	Loopback bool
	// MTU is the interface MTU in bytes.
	MTU int
	// Counters are the interface counters.
	Counters IfaceCounters
	// Qdisc is the root qdisc summary; nil when the kernel reported none.
	Qdisc *QdiscStats
	// EthtoolSpeedBps is the link speed from the SIOCETHTOOL ioctl in bits
	// per second; 0 when unknown or unsupported.
	EthtoolSpeedBps uint64
	// SysfsSpeedBps is /sys/class/net/NAME/speed in bits per second; 0 when
	// unknown or not read (sysfs only describes the namespace it was mounted
	// in).
	SysfsSpeedBps uint64
	// Addrs are the interface's IP addresses with prefix lengths.
	Addrs []netip.Prefix
}

// IsUp reports whether the interface counts as up for default selection:
// administratively up and operationally up or unknown (lo, tun devices).
func (s IfaceSample) IsUp() bool {
	return s.AdminUp && (s.OperState == "up" || s.OperState == "unknown")
}

// LinksSample is every interface of one network namespace at one instant.
type LinksSample struct {
	// Seq numbers samples from 1 in the order the sampler took them.
	Seq uint64
	// Time is when the sample was taken.
	Time time.Time
	// Ifaces are sorted by Index.
	Ifaces []IfaceSample
	// Warnings are problems that did not stop the sample (a qdisc dump
	// that failed, an interrupted dump); empty when all went well.
	Warnings []string
	// NetnsGone says how the network namespace being read disappeared
	// (deleted with `ip netns del`, its name now naming another one, the
	// process given by PID exited); "" while it exists. Ifaces is then
	// empty: every interface of the namespace counts as removed.
	NetnsGone string
	// Stack is the namespace's stack counters read at the same step, with
	// their rates against the step before; nil when they were not read.
	Stack *StackStep
	// Bursts is what the burst sampler saw since the step before, taken
	// with this sample; nil when no sampler runs.
	Bursts *BurstSample
}

// Iface returns the interface named name.
func (s *LinksSample) Iface(name string) (IfaceSample, bool) {
	for _, i := range s.Ifaces {
		if i.Name == name {
			return i, true
		}
	}
	return IfaceSample{}, false
}

// LinkRow is what views and writers show for one interface: the current
// sample, its capacity, rates against the previous sample and utilisation.
type LinkRow struct {
	// Sample is the current sample (the last one seen when Gone).
	Sample IfaceSample
	// Capacity is the resolved capacity of the transmit direction.
	Capacity Capacity
	// RxCapacity is the capacity of the receive direction: the same as
	// Capacity except that a root shaper (tbf, htb) limits egress only, so
	// it does not apply to rx.
	RxCapacity Capacity
	// Rates are rates over the interval since the previous sample.
	Rates IfaceRates
	// RxUtilization and TxUtilization are RxBps and TxBps divided by the
	// direction's capacity; nil when the capacity or the rate is unknown.
	// Values above 1 mean the capacity is understated.
	RxUtilization, TxUtilization *float64
	// Gone is true when the interface was in the previous sample and is not
	// in the current one.
	Gone bool
}

// CompareLinks builds one row per interface of cur, plus a Gone row for each
// interface of prev missing from cur, sorted by name. prev may be nil (first
// sample: rates are not valid). userBps holds capacity overrides by name.
func CompareLinks(prev, cur *LinksSample, userBps map[string]uint64) []LinkRow {
	rows := make([]LinkRow, 0, len(cur.Ifaces))
	var dt time.Duration
	if prev != nil {
		dt = cur.Time.Sub(prev.Time)
	}
	for _, s := range cur.Ifaces {
		row := LinkRow{Sample: s, Capacity: ResolveCapacity(userBps[s.Name], s), RxCapacity: ResolveRxCapacity(userBps[s.Name], s)}
		if prev == nil {
			row.Rates = IfaceRates{Note: NoteFirst}
		} else if p, ok := prev.Iface(s.Name); ok {
			row.Rates = Rates(p, s, dt)
		} else {
			row.Rates = IfaceRates{Note: NoteNew}
		}
		if row.Rates.Valid {
			row.RxUtilization = Utilization(row.Rates.RxBps, row.RxCapacity)
			row.TxUtilization = Utilization(row.Rates.TxBps, row.Capacity)
		}
		rows = append(rows, row)
	}
	if prev != nil {
		for _, p := range prev.Ifaces {
			if _, ok := cur.Iface(p.Name); !ok {
				rows = append(rows, LinkRow{Sample: p, Capacity: ResolveCapacity(userBps[p.Name], p), RxCapacity: ResolveRxCapacity(userBps[p.Name], p),
					Rates: IfaceRates{Note: NoteGone}, Gone: true})
			}
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Sample.Name < rows[j].Sample.Name })
	return rows
}
