package triage

import (
	"time"
)

// The burst sampler reads BurstReadsPerInterval times per burst interval
// (check.burst_interval) and judges windows of at least about one interval
// made of consecutive reads. Reading at the interval itself would let a
// busy stretch straddle two reads: a link full for 170 ms, sampled every
// 100 ms on a grid that happens to start 20 ms into it, reads 80% and 90%
// in the two intervals it touches and never 100%, and a sender whose
// period is a multiple of the interval keeps that phase for the whole run.
// Read twice per interval, every stretch at line rate of at least an
// interval and a half (plus the scheduling jitter) holds a whole window,
// whatever its phase.
const BurstReadsPerInterval = 2

// BurstStep is the time between two reads of a sampler whose burst
// interval is interval.
func BurstStep(interval time.Duration) time.Duration { return interval / BurstReadsPerInterval }

// burstWindowReads is the most reads a window spans (windows longer than
// about twice the interval are never busier than one of their halves).
const burstWindowReads = 4 * BurstReadsPerInterval

// burstMinWindow is the shortest real length of a window: the interval
// less half a step, so a read late or early by up to a quarter of a step
// still closes a window of (about) one interval, and a window is never
// much shorter than the interval it stands for.
func burstMinWindow(interval time.Duration) time.Duration {
	return interval - BurstStep(interval)/2
}

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

// BurstInterval is the time between two reads of the burst sampler (a
// step, half a burst interval): the byte and drop deltas between the two
// reads, the time that really passed between them (not the nominal step),
// and the root qdisc's backlog at its end.
type BurstInterval struct {
	Elapsed                      time.Duration
	RxBytes, TxBytes             uint64
	Drops                        uint64
	BacklogBytes, BacklogPackets uint64
}

// BurstPeak is the busiest window of one direction: its bytes and its
// real length. A window is any run of consecutive reads (at most
// burstWindowReads) whose real length is at least the interval less half
// a step (burstMinWindow).
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
	// Intervals are the times between the sampler's reads, in time order.
	// When more came than the sampler keeps between two steps, the newest
	// ones are folded into the last kept one (Merged counts them): bytes
	// and time stay exact, their resolution does not.
	Intervals []BurstInterval
	Merged    int
	// Span is the time the intervals cover.
	Span time.Duration
	// RX and TX are the busiest windows of each direction ending in the
	// span (exact, also over merged intervals: the accumulator keeps its
	// own window of the last reads).
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
	// PeakBps is the busiest window's rate; PeakElapsed its real length.
	PeakBps     float64
	PeakElapsed time.Duration
	// PeakUtilization is PeakBps over the capacity; nil when it is
	// unknown.
	PeakUtilization *float64
	// AboveWarn and AboveCrit are the time covered by windows whose
	// utilisation was at or above the warning and critical thresholds
	// (zero when the capacity is unknown).
	AboveWarn, AboveCrit time.Duration
}

// BurstSummary is an interface's sub-second view: both directions, the
// queue's drops and largest backlog, over the time sampled.
type BurstSummary struct {
	Interval time.Duration
	// Sampled is the time the intervals cover; Intervals their number
	// (reads, BurstReadsPerInterval per interval).
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
	s.RX = burstDir(b.Intervals, b.RX, interval, rxCapBps, warn, crit, func(i BurstInterval) uint64 { return i.RxBytes })
	s.TX = burstDir(b.Intervals, b.TX, interval, txCapBps, warn, crit, func(i BurstInterval) uint64 { return i.TxBytes })
	return s
}

func burstDir(ivs []BurstInterval, peak BurstPeak, interval time.Duration, capBps uint64, warn, crit float64, bytes func(BurstInterval) uint64) BurstDir {
	d := BurstDir{PeakBps: peak.Bps(), PeakElapsed: peak.Elapsed}
	if capBps == 0 {
		return d
	}
	u := d.PeakBps / float64(capBps)
	d.PeakUtilization = &u
	d.AboveWarn = timeAbove(ivs, interval, warn*float64(capBps), bytes)
	d.AboveCrit = timeAbove(ivs, interval, crit*float64(capBps), bytes)
	return d
}

// timeAbove is the time covered by the windows of ivs whose rate is at
// least bps: the union of their intervals. The windows ending at an
// interval that reach bps cover it and the intervals back to the first of
// the longest of them.
func timeAbove(ivs []BurstInterval, interval time.Duration, bps float64, bytes func(BurstInterval) uint64) time.Duration {
	minWin := burstMinWindow(interval)
	var total time.Duration
	next := 0 // the first interval not yet counted
	for j := range ivs {
		from := -1
		var el time.Duration
		var b uint64
		for i := j; i >= 0 && j-i < burstWindowReads; i-- {
			el += ivs[i].Elapsed
			b += bytes(ivs[i])
			if el >= minWin && el > 0 && float64(b)*8 >= bps*el.Seconds() {
				from = i
			}
		}
		if from < 0 {
			continue
		}
		for k := max(from, next); k <= j; k++ {
			total += ivs[k].Elapsed
		}
		next = j + 1
	}
	return total
}

// BurstAccumulator keeps the burst sampler's intervals between two engine
// steps: per interface the last read, a fixed ring of intervals, the last
// reads' running totals for the windows, the peaks and the queue's drops
// and backlog. Add allocates nothing; Take copies the state out and starts
// a new span. It is pure (the sampler passes the read times) and not safe
// for concurrent use: the sampler holds a lock.
type BurstAccumulator struct {
	interval time.Duration
	ifaces   []burstAcc
}

type burstAcc struct {
	out    IfaceBursts // Intervals is the ring, of fixed capacity
	last   BurstCounters
	lastAt time.Time
	seen   bool
	// recent are the last reads (a ring of burstWindowReads+1, newest at
	// head) with the bytes counted since the first good read, for the
	// windows that end at each new read.
	recent [burstWindowReads + 1]burstMark
	n      int // reads in recent
	head   int
	rxTot  uint64
	txTot  uint64
}

// burstMark is one read in a burstAcc's recent reads.
type burstMark struct {
	at           time.Time
	rxTot, txTot uint64
}

// NewBurstAccumulator returns an accumulator for the interfaces names,
// whose burst interval is interval (read every BurstStep of it), keeping
// at most ring intervals per interface between two Takes (at least 2).
func NewBurstAccumulator(names []string, interval time.Duration, ring int) *BurstAccumulator {
	ring = max(ring, 2)
	a := &BurstAccumulator{interval: interval, ifaces: make([]burstAcc, len(names))}
	for i, n := range names {
		a.ifaces[i].out = IfaceBursts{Name: n, Intervals: make([]BurstInterval, 0, ring)}
	}
	return a
}

// Add records interface i's counters read at at. A read less than half a
// step after the previous one does not close an interval (its bytes count
// in the next one), so a late tick followed by an early one gives no
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
		s.n, s.head = 0, 0
		s.mark(at)
		return
	}
	el := at.Sub(s.lastAt)
	if el < BurstStep(a.interval)/2 || el <= 0 {
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
	s.rxTot += iv.RxBytes
	s.txTot += iv.TxBytes
	s.mark(at)
	s.peaks(burstMinWindow(a.interval))
	o.Span += el
	o.Drops += iv.Drops
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

// mark appends a read at at to the recent reads.
func (s *burstAcc) mark(at time.Time) {
	if s.n > 0 {
		s.head = (s.head + 1) % len(s.recent)
	}
	s.recent[s.head] = burstMark{at: at, rxTot: s.rxTot, txTot: s.txTot}
	s.n = min(s.n+1, len(s.recent))
}

// peaks raises the span's peaks to the busiest window ending at the newest
// read: every run of the recent reads at least minWin long.
func (s *burstAcc) peaks(minWin time.Duration) {
	end := s.recent[s.head]
	for k := 1; k < s.n; k++ {
		m := s.recent[(s.head-k+len(s.recent))%len(s.recent)]
		el := end.at.Sub(m.at)
		if el < minWin {
			continue
		}
		if p := (BurstPeak{Bytes: end.rxTot - m.rxTot, Elapsed: el}); p.above(s.out.RX) {
			s.out.RX = p
		}
		if p := (BurstPeak{Bytes: end.txTot - m.txTot, Elapsed: el}); p.above(s.out.TX) {
			s.out.TX = p
		}
	}
}

// Fail records a failed read of interface i: the next good read starts a
// new interval (and new windows) from scratch.
func (a *BurstAccumulator) Fail(i int, err string) {
	s := &a.ifaces[i]
	s.out.Err, s.out.Errors = err, s.out.Errors+1
	s.seen = false
}

// Take returns what was accumulated since the previous Take, stamped now,
// and starts a new span (the last reads are kept, so no interval is lost
// and a window may end in the new span and start in the old).
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
