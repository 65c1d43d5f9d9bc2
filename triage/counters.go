package triage

import (
	"math"
	"time"
)

// maxPlausibleDelta bounds a counter step that is read as a 64-bit wrap
// rather than a reset: 2^56 bytes (72 PB) in one interval is impossible.
const maxPlausibleDelta = 1 << 56

// CounterStep is the difference between two readings of a monotonic counter.
type CounterStep struct {
	// Delta is the increase; never "negative".
	Delta uint64
	// Reset is true when the counter went backwards and was read as a reset
	// to zero (Delta is then the current value: counted from 0).
	Reset bool
	// Wrapped is true when the counter passed 2^64 and started again.
	Wrapped bool
}

// Step returns the increase of a monotonic counter from prev to cur. When cur
// < prev it is a 64-bit wrap if the wrapped difference is plausible (less
// than 2^56), otherwise a reset: the counter restarted from zero, so the
// increase is cur.
func Step(prev, cur uint64) CounterStep {
	if cur >= prev {
		return CounterStep{Delta: cur - prev}
	}
	if d := cur - prev; d < maxPlausibleDelta { // unsigned arithmetic wraps
		return CounterStep{Delta: d, Wrapped: true}
	}
	return CounterStep{Delta: cur, Reset: true}
}

// Step32 is Step for counters the kernel keeps in 32 bits (qdisc drops,
// overlimits, requeues and packets): when cur < prev and the 32-bit wrapped
// difference is below 2^31 it is a wrap, otherwise a reset.
func Step32(prev, cur uint64) CounterStep {
	if cur >= prev {
		return CounterStep{Delta: cur - prev}
	}
	if prev <= math.MaxUint32 {
		if d := uint64(uint32(cur) - uint32(prev)); d < 1<<31 {
			return CounterStep{Delta: d, Wrapped: true}
		}
	}
	return Step(prev, cur)
}

// PerSec returns delta per second over dt; 0 when dt is not positive.
func PerSec(delta uint64, dt time.Duration) float64 {
	if dt <= 0 {
		return 0
	}
	return float64(delta) / dt.Seconds()
}

// Notes explaining why IfaceRates are not valid, or how they were computed.
const (
	// NoteFirst: the first sample has nothing to compare with.
	NoteFirst = "first sample"
	// NoteNew: the interface appeared since the previous sample.
	NoteNew = "new"
	// NoteRecreated: same name, new ifindex: the counters belong to a new
	// interface, no rate this interval.
	NoteRecreated = "re-created"
	// NoteGone: the interface disappeared.
	NoteGone = "gone"
	// NoteBadInterval: the samples are not in time order.
	NoteBadInterval = "bad interval"
	// NoteReset: a counter went backwards; it was counted from zero.
	NoteReset = "reset"
)

// IfaceRates are an interface's rates between two samples.
type IfaceRates struct {
	// Valid is false when no rate can be given (see Note); the rate fields
	// are then zero and must be shown as unknown.
	Valid bool
	// Note says why rates are not valid, or "reset" when a counter went
	// backwards and was counted from zero; empty otherwise.
	Note string
	// Interval is the time between the two samples.
	Interval time.Duration
	// Delta are the counter increases over Interval.
	Delta IfaceCounters
	// RxBps and TxBps are link-layer bits per second.
	RxBps, TxBps float64
	// Packet, error and drop rates, per second.
	RxPacketsPerSec, TxPacketsPerSec float64
	RxErrorsPerSec, TxErrorsPerSec   float64
	RxDroppedPerSec, TxDroppedPerSec float64
	// Qdisc are the root qdisc rates; nil when either sample has no qdisc
	// or the root qdisc kind changed.
	Qdisc *QdiscRates
}

// QdiscRates are root qdisc rates between two samples.
type QdiscRates struct {
	// Delta counters over the interval.
	DropsDelta, OverlimitsDelta, RequeuesDelta, BytesDelta, PacketsDelta uint64
	// DropsPerSec, OverlimitsPerSec and RequeuesPerSec are per second.
	DropsPerSec, OverlimitsPerSec, RequeuesPerSec float64
	// SentBps is what the qdisc sent, in bits per second.
	SentBps float64
	// LeafDropsDelta is the increase of QdiscStats.LeafDrops (0 when the
	// sum went down: a class was deleted); HasLeaves that both samples
	// had leaves to sum.
	LeafDropsDelta uint64
	HasLeaves      bool
	// Reset is true when a qdisc counter went backwards (the qdisc was
	// replaced) and was counted from zero.
	Reset bool
}

// Rates computes rates from prev to cur, taken dt apart. A changed ifindex
// (interface re-created) or a non-positive dt gives no rates; a counter
// that went backwards is counted from zero and noted, so rates are never
// negative.
func Rates(prev, cur IfaceSample, dt time.Duration) IfaceRates {
	switch {
	case dt <= 0:
		return IfaceRates{Note: NoteBadInterval}
	case prev.Index != cur.Index:
		return IfaceRates{Note: NoteRecreated, Interval: dt}
	}
	r := IfaceRates{Valid: true, Interval: dt}
	reset := false
	step := func(p, c uint64) uint64 {
		s := Step(p, c)
		reset = reset || s.Reset
		return s.Delta
	}
	pc, cc := prev.Counters, cur.Counters
	r.Delta = IfaceCounters{
		RxBytes: step(pc.RxBytes, cc.RxBytes), TxBytes: step(pc.TxBytes, cc.TxBytes),
		RxPackets: step(pc.RxPackets, cc.RxPackets), TxPackets: step(pc.TxPackets, cc.TxPackets),
		RxErrors: step(pc.RxErrors, cc.RxErrors), TxErrors: step(pc.TxErrors, cc.TxErrors),
		RxDropped: step(pc.RxDropped, cc.RxDropped), TxDropped: step(pc.TxDropped, cc.TxDropped),
	}
	if reset {
		r.Note = NoteReset
	}
	d := r.Delta
	r.RxBps, r.TxBps = PerSec(d.RxBytes, dt)*8, PerSec(d.TxBytes, dt)*8
	r.RxPacketsPerSec, r.TxPacketsPerSec = PerSec(d.RxPackets, dt), PerSec(d.TxPackets, dt)
	r.RxErrorsPerSec, r.TxErrorsPerSec = PerSec(d.RxErrors, dt), PerSec(d.TxErrors, dt)
	r.RxDroppedPerSec, r.TxDroppedPerSec = PerSec(d.RxDropped, dt), PerSec(d.TxDropped, dt)
	if prev.Qdisc != nil && cur.Qdisc != nil && prev.Qdisc.Kind == cur.Qdisc.Kind {
		r.Qdisc = qdiscRates(*prev.Qdisc, *cur.Qdisc, dt)
	}
	return r
}

func qdiscRates(p, c QdiscStats, dt time.Duration) *QdiscRates {
	q := &QdiscRates{}
	step := func(f func(a, b uint64) CounterStep, a, b uint64) uint64 {
		s := f(a, b)
		q.Reset = q.Reset || s.Reset
		return s.Delta
	}
	q.DropsDelta = step(Step32, p.Drops, c.Drops)
	q.OverlimitsDelta = step(Step32, p.Overlimits, c.Overlimits)
	q.RequeuesDelta = step(Step32, p.Requeues, c.Requeues)
	q.BytesDelta = step(Step, p.Bytes, c.Bytes)
	q.PacketsDelta = step(Step32, p.Packets, c.Packets)
	q.DropsPerSec = PerSec(q.DropsDelta, dt)
	q.OverlimitsPerSec = PerSec(q.OverlimitsDelta, dt)
	q.RequeuesPerSec = PerSec(q.RequeuesDelta, dt)
	q.SentBps = PerSec(q.BytesDelta, dt) * 8
	if p.HasLeaves && c.HasLeaves {
		q.HasLeaves = true
		if c.LeafDrops >= p.LeafDrops {
			q.LeafDropsDelta = c.LeafDrops - p.LeafDrops
		}
	}
	return q
}

// Utilization returns bps / capacity, or nil when the capacity is unknown.
func Utilization(bps float64, c Capacity) *float64 {
	if !c.Known || c.Bps == 0 {
		return nil
	}
	u := bps / float64(c.Bps)
	return &u
}

// ResolveRxCapacity is ResolveCapacity for the receive direction: a root
// shaper limits egress only, so it is skipped.
func ResolveRxCapacity(userBps uint64, s IfaceSample) Capacity {
	s.Qdisc = nil
	return ResolveCapacity(userBps, s)
}

// CapacitySource says where a capacity figure came from.
type CapacitySource string

// Capacity sources, in the order ResolveCapacity prefers them.
const (
	// CapacityUser: --link-speed or links.speeds in the config file.
	CapacityUser CapacitySource = "user"
	// CapacityShaperTBF: the rate of a tbf root qdisc.
	CapacityShaperTBF CapacitySource = "shaper:tbf"
	// CapacityShaperHTB: the summed ceil of an htb root's top-level classes.
	CapacityShaperHTB CapacitySource = "shaper:htb"
	// CapacityEthtool: the SIOCETHTOOL link speed.
	CapacityEthtool CapacitySource = "ethtool"
	// CapacitySysfs: /sys/class/net/NAME/speed.
	CapacitySysfs CapacitySource = "sysfs"
	// CapacityUnknown: none of the above.
	CapacityUnknown CapacitySource = "unknown"
)

// Capacity is an interface's capacity in bits per second, per direction.
type Capacity struct {
	// Bps is the capacity in bits per second; meaningful only when Known.
	Bps uint64
	// Known is false when no source gave a figure.
	Known bool
	// Source says where Bps came from.
	Source CapacitySource
}

// ResolveCapacity picks the capacity of s: a user override (userBps > 0)
// wins, then a tbf/htb root shaper's rate (the real bottleneck), then the
// ethtool speed, then sysfs, else unknown.
func ResolveCapacity(userBps uint64, s IfaceSample) Capacity {
	switch {
	case userBps > 0:
		return Capacity{Bps: userBps, Known: true, Source: CapacityUser}
	case s.Qdisc != nil && s.Qdisc.ShaperRateBps > 0 && s.Qdisc.Kind == "tbf":
		return Capacity{Bps: s.Qdisc.ShaperRateBps, Known: true, Source: CapacityShaperTBF}
	case s.Qdisc != nil && s.Qdisc.ShaperRateBps > 0 && s.Qdisc.Kind == "htb":
		return Capacity{Bps: s.Qdisc.ShaperRateBps, Known: true, Source: CapacityShaperHTB}
	case s.EthtoolSpeedBps > 0:
		return Capacity{Bps: s.EthtoolSpeedBps, Known: true, Source: CapacityEthtool}
	case s.SysfsSpeedBps > 0:
		return Capacity{Bps: s.SysfsSpeedBps, Known: true, Source: CapacitySysfs}
	}
	return Capacity{Source: CapacityUnknown}
}
