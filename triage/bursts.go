package triage

import (
	"time"
)

// BurstCounters are one interface's counters at one read of the burst
// sampler: the interface's byte counters and its root qdisc's drops and
// backlog (QdiscOK false when it has no qdisc of its own).
type BurstCounters struct {
	RxBytes, TxBytes uint64
	QdiscOK          bool
	// Drops is the root qdisc's drop counter (32 bits in the kernel).
	Drops                        uint64
	BacklogBytes, BacklogPackets uint64
}

// BurstInterval is one interval of the burst sampler: the byte and drop
// deltas between two reads, the time that really passed between them (not
// the nominal interval), and the root qdisc's backlog at its end.
type BurstInterval struct {
	Elapsed                      time.Duration
	RxBytes, TxBytes             uint64
	Drops                        uint64
	BacklogBytes, BacklogPackets uint64
}

// BurstPeak is the busiest interval of one direction: its bytes and its
// length.
type BurstPeak struct {
	Bytes   uint64
	Elapsed time.Duration
}

// Bps is the peak's rate in bits per second (0 without an interval).
func (p BurstPeak) Bps() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Bytes) * 8 / p.Elapsed.Seconds()
}

func (p BurstPeak) above(o BurstPeak) bool {
	// Compare rates without division: b1/e1 > b2/e2.
	if o.Elapsed <= 0 {
		return p.Elapsed > 0
	}
	return float64(p.Bytes)*float64(o.Elapsed) > float64(o.Bytes)*float64(p.Elapsed)
}

// IfaceBursts is what the burst sampler saw on one interface over a span
// (since the previous engine step, or over a verdict's window when
// merged). It is an immutable value.
type IfaceBursts struct {
	// Name is the interface name (untrusted text).
	Name string
	// Intervals are the sampler's intervals in time order. When more
	// came than the sampler keeps between two steps, the newest ones are
	// folded into the last kept one (Merged counts them): bytes and time
	// stay exact, their resolution does not.
	Intervals []BurstInterval
	Merged    int
	// Span is the time the intervals cover.
	Span time.Duration
	// RX and TX are the busiest intervals of each direction (exact, also
	// over merged intervals).
	RX, TX BurstPeak
	// Drops is the root qdisc's drops over the span; Qdisc reports that
	// the interface has a root qdisc of its own (noqueue has none).
	Drops uint64
	Qdisc bool
	// MaxBacklogBytes and MaxBacklogPackets are the largest backlog read.
	MaxBacklogBytes, MaxBacklogPackets uint64
	// Reset reports a counter that went backwards (counted from zero).
	Reset bool
	// Err is the newest read error of the span ("" when every read
	// worked); Errors counts the failed reads.
	Err    string
	Errors int
}

// BurstSample is the burst sampler's summary at one engine step.
type BurstSample struct {
	// Time is the step's time (the engine stamps it).
	Time time.Time
	// Interval is the sampler's nominal interval (check.burst_interval).
	Interval time.Duration
	// Ifaces are the sampled interfaces, in the sampler's order.
	Ifaces []IfaceBursts
}

// Iface returns the interface named name.
func (s *BurstSample) Iface(name string) (IfaceBursts, bool) {
	if s == nil {
		return IfaceBursts{}, false
	}
	for _, b := range s.Ifaces {
		if b.Name == name {
			return b, true
		}
	}
	return IfaceBursts{}, false
}

// MergeBursts appends b (a later span of the same interface) to a. It
// does not modify either.
func MergeBursts(a, b IfaceBursts) IfaceBursts {
	out := a
	out.Intervals = append(append(make([]BurstInterval, 0, len(a.Intervals)+len(b.Intervals)), a.Intervals...), b.Intervals...)
	out.Merged += b.Merged
	out.Span += b.Span
	if b.RX.above(out.RX) {
		out.RX = b.RX
	}
	if b.TX.above(out.TX) {
		out.TX = b.TX
	}
	out.Drops += b.Drops
	out.Qdisc = a.Qdisc || b.Qdisc
	out.MaxBacklogBytes = max(a.MaxBacklogBytes, b.MaxBacklogBytes)
	out.MaxBacklogPackets = max(a.MaxBacklogPackets, b.MaxBacklogPackets)
	out.Reset = a.Reset || b.Reset
	out.Errors += b.Errors
	if b.Err != "" {
		out.Err = b.Err
	}
	return out
}

// BurstDir is one direction's sub-second summary against its capacity.
type BurstDir struct {
	// PeakBps is the busiest interval's rate; PeakElapsed its length.
	PeakBps     float64
	PeakElapsed time.Duration
	// PeakUtilization is PeakBps over the capacity; nil when it is
	// unknown.
	PeakUtilization *float64
	// AboveWarn and AboveCrit are the time of the intervals whose
	// utilisation was at or above the warning and critical thresholds
	// (zero when the capacity is unknown).
	AboveWarn, AboveCrit time.Duration
}

// BurstSummary is an interface's sub-second view: both directions, the
// queue's drops and largest backlog, over the time sampled.
type BurstSummary struct {
	Interval time.Duration
	// Sampled is the time the intervals cover; Intervals their number.
	Sampled   time.Duration
	Intervals int
	RX, TX    BurstDir
	Qdisc     bool
	Drops     uint64
	// MaxBacklogBytes and MaxBacklogPackets are the largest backlog read.
	MaxBacklogBytes, MaxBacklogPackets uint64
	// Merged, Errors and Err are the IfaceBursts' own.
	Merged, Errors int
	Err            string
}

// SummarizeBursts judges b's intervals against the directions'
// capacities (bits per second, 0 unknown) and the thresholds (ratios of
// capacity). It is pure.
func SummarizeBursts(b IfaceBursts, interval time.Duration, rxCapBps, txCapBps uint64, warn, crit float64) BurstSummary {
	s := BurstSummary{Interval: interval, Sampled: b.Span, Intervals: len(b.Intervals), Qdisc: b.Qdisc, Drops: b.Drops,
		MaxBacklogBytes: b.MaxBacklogBytes, MaxBacklogPackets: b.MaxBacklogPackets, Merged: b.Merged, Errors: b.Errors, Err: b.Err}
	s.RX = burstDir(b.Intervals, b.RX, rxCapBps, warn, crit, func(i BurstInterval) uint64 { return i.RxBytes })
	s.TX = burstDir(b.Intervals, b.TX, txCapBps, warn, crit, func(i BurstInterval) uint64 { return i.TxBytes })
	return s
}

func burstDir(ivs []BurstInterval, peak BurstPeak, capBps uint64, warn, crit float64, bytes func(BurstInterval) uint64) BurstDir {
	d := BurstDir{PeakBps: peak.Bps(), PeakElapsed: peak.Elapsed}
	if capBps == 0 {
		return d
	}
	u := d.PeakBps / float64(capBps)
	d.PeakUtilization = &u
	for _, iv := range ivs {
		if iv.Elapsed <= 0 {
			continue
		}
		util := float64(bytes(iv)) * 8 / iv.Elapsed.Seconds() / float64(capBps)
		if util >= warn {
			d.AboveWarn += iv.Elapsed
		}
		if util >= crit {
			d.AboveCrit += iv.Elapsed
		}
	}
	return d
}

// BurstAccumulator keeps the burst sampler's intervals between two engine
// steps: per interface the last read, a fixed ring of intervals, the peaks
// and the queue's drops and backlog. Add allocates nothing; Take copies
// the state out and starts a new span. It is pure (the sampler passes the
// read times) and not safe for concurrent use: the sampler holds a lock.
type BurstAccumulator struct {
	interval time.Duration
	ifaces   []burstAcc
}

type burstAcc struct {
	out    IfaceBursts // Intervals is the ring, of fixed capacity
	last   BurstCounters
	lastAt time.Time
	seen   bool
}

// NewBurstAccumulator returns an accumulator for the interfaces names,
// read every interval, keeping at most ring intervals per interface
// between two Takes (at least 2).
func NewBurstAccumulator(names []string, interval time.Duration, ring int) *BurstAccumulator {
	ring = max(ring, 2)
	a := &BurstAccumulator{interval: interval, ifaces: make([]burstAcc, len(names))}
	for i, n := range names {
		a.ifaces[i].out = IfaceBursts{Name: n, Intervals: make([]BurstInterval, 0, ring)}
	}
	return a
}

// Add records interface i's counters read at at. A read less than half an
// interval after the previous one does not close an interval (its bytes
// count in the next one), so a late tick followed by an early one gives no
// spuriously short interval.
func (a *BurstAccumulator) Add(i int, at time.Time, c BurstCounters) {
	s := &a.ifaces[i]
	o := &s.out
	if c.QdiscOK {
		o.Qdisc = true
		o.MaxBacklogBytes = max(o.MaxBacklogBytes, c.BacklogBytes)
		o.MaxBacklogPackets = max(o.MaxBacklogPackets, c.BacklogPackets)
	}
	if !s.seen {
		s.last, s.lastAt, s.seen = c, at, true
		return
	}
	el := at.Sub(s.lastAt)
	if el < a.interval/2 || el <= 0 {
		return
	}
	rx, tx := Step(s.last.RxBytes, c.RxBytes), Step(s.last.TxBytes, c.TxBytes)
	iv := BurstInterval{Elapsed: el, RxBytes: rx.Delta, TxBytes: tx.Delta, BacklogBytes: c.BacklogBytes, BacklogPackets: c.BacklogPackets}
	o.Reset = o.Reset || rx.Reset || tx.Reset
	if c.QdiscOK && s.last.QdiscOK {
		d := Step32(s.last.Drops, c.Drops)
		iv.Drops = d.Delta
		o.Reset = o.Reset || d.Reset
	}
	s.last, s.lastAt = c, at
	o.Span += el
	o.Drops += iv.Drops
	if p := (BurstPeak{Bytes: iv.RxBytes, Elapsed: el}); p.above(o.RX) {
		o.RX = p
	}
	if p := (BurstPeak{Bytes: iv.TxBytes, Elapsed: el}); p.above(o.TX) {
		o.TX = p
	}
	if len(o.Intervals) < cap(o.Intervals) {
		o.Intervals = append(o.Intervals, iv)
		return
	}
	l := &o.Intervals[len(o.Intervals)-1]
	l.Elapsed += iv.Elapsed
	l.RxBytes += iv.RxBytes
	l.TxBytes += iv.TxBytes
	l.Drops += iv.Drops
	l.BacklogBytes, l.BacklogPackets = iv.BacklogBytes, iv.BacklogPackets
	o.Merged++
}

// Fail records a failed read of interface i: the next good read starts a
// new interval from scratch.
func (a *BurstAccumulator) Fail(i int, err string) {
	s := &a.ifaces[i]
	s.out.Err, s.out.Errors = err, s.out.Errors+1
	s.seen = false
}

// Take returns what was accumulated since the previous Take, stamped now,
// and starts a new span (the last reads are kept, so no interval is lost).
func (a *BurstAccumulator) Take(now time.Time) BurstSample {
	out := BurstSample{Time: now, Interval: a.interval, Ifaces: make([]IfaceBursts, len(a.ifaces))}
	for i := range a.ifaces {
		o := &a.ifaces[i].out
		b := *o
		b.Intervals = append([]BurstInterval(nil), o.Intervals...)
		out.Ifaces[i] = b
		*o = IfaceBursts{Name: o.Name, Intervals: o.Intervals[:0]}
	}
	return out
}
