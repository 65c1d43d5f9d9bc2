package flows

import (
	"math"
	"time"
)

// WindowSeconds is the length of the rate history: 40 one-second buckets.
const WindowSeconds = 40

// Counts are cumulative byte and packet counters of one flow (or of the
// totals) since the capture started. Bytes are IP bytes (see doc.go).
type Counts struct {
	SentBytes   uint64
	RecvBytes   uint64
	SentPackets uint64
	RecvPackets uint64
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.SentBytes += o.SentBytes
	c.RecvBytes += o.RecvBytes
	c.SentPackets += o.SentPackets
	c.RecvPackets += o.RecvPackets
}

// Bytes is SentBytes + RecvBytes.
func (c Counts) Bytes() uint64 { return c.SentBytes + c.RecvBytes }

// Packets is SentPackets + RecvPackets.
func (c Counts) Packets() uint64 { return c.SentPackets + c.RecvPackets }

// Rate is a sent/received pair of rates in bytes per second.
type Rate struct {
	SentBytesPerSec float64
	RecvBytesPerSec float64
}

// Total is SentBytesPerSec + RecvBytesPerSec.
func (r Rate) Total() float64 { return r.SentBytesPerSec + r.RecvBytesPerSec }

// Rates are the windowed rates of one flow, in bytes per second: the mean
// over the last 2, 10 and 40 complete seconds before the reference time, and
// the highest one-second rate of the last 40 complete seconds (sent and
// received peaks are taken independently, as iftop does).
type Rates struct {
	R2, R10, R40, Peak Rate
}

// bucket is one second of a window: bytes sent and received.
type bucket[T uint32 | uint64] struct{ sent, recv T }

// window is a ring of one-second byte buckets over the last WindowSeconds
// seconds, with buckets of T: uint64 for Window (totals, Other,
// aggregates), uint32 for the table's per-flow windows, which are half the
// size and hold up to 4 GiB per second and direction (34 Gbit/s; a flow
// that goes past it moves to a uint64 window, see Table).
type window[T uint32 | uint64] struct {
	b    [WindowSeconds]bucket[T]
	head int64 // newest Unix second with a bucket; valid when used
	hs   int32 // bucketOf(head)
	used bool
}

// Window is a ring of one-second byte buckets over the last WindowSeconds
// seconds. Bucket boundaries are whole Unix seconds of the packet
// timestamps. The zero value is an empty window. Window is a plain value: it
// holds no pointers, copying it copies the history.
type Window struct{ w window[uint64] }

func bucketOf(sec int64) int32 {
	i := int32(sec % WindowSeconds)
	if i < 0 {
		i += WindowSeconds
	}
	return i
}

// advance moves the head to sec, clearing the buckets in between.
func (w *window[T]) advance(sec int64) {
	if !w.used {
		w.b = [WindowSeconds]bucket[T]{}
		w.head, w.hs, w.used = sec, bucketOf(sec), true
		return
	}
	if sec <= w.head {
		return
	}
	if sec-w.head >= WindowSeconds {
		w.b = [WindowSeconds]bucket[T]{}
	} else {
		for s := w.head + 1; s <= sec; s++ {
			w.b[bucketOf(s)] = bucket[T]{}
		}
	}
	w.head, w.hs = sec, bucketOf(sec)
}

// add counts n bytes in the second sec as sent or received, as Window.Add,
// and reports false, counting nothing, when the bucket would pass T's
// range (the window may have moved forward to sec).
func (w *window[T]) add(sec int64, sent bool, n uint64) bool {
	i := w.hs // the common case: the newest second again
	if !w.used || sec != w.head {
		w.advance(sec)
		if sec <= w.head-WindowSeconds {
			return true
		}
		i = bucketOf(sec)
	}
	b, d := &w.b[i], T(n)
	if uint64(d) != n {
		return false
	}
	if sent {
		if b.sent+d < b.sent {
			return false
		}
		b.sent += d
	} else {
		if b.recv+d < b.recv {
			return false
		}
		b.recv += d
	}
	return true
}

// Add counts n bytes in the second sec (Unix seconds), as sent or received.
// Bytes older than the window are ignored (the caller keeps them in its
// cumulative Counts); bytes of a later second move the window forward.
func (w *Window) Add(sec int64, sent bool, n uint64) { w.w.add(sec, sent, n) }

// at returns the bucket of second sec, zero outside the stored range.
func (w *window[T]) at(sec int64) bucket[T] {
	if !w.used || sec > w.head || sec <= w.head-WindowSeconds {
		return bucket[T]{}
	}
	return w.b[bucketOf(sec)]
}

// merge adds o's buckets into w (aligned by second).
func merge[T uint32 | uint64](w *window[uint64], o *window[T]) {
	if !o.used {
		return
	}
	w.advance(o.head)
	for s := o.head - WindowSeconds + 1; s <= o.head; s++ {
		if s <= w.head-WindowSeconds {
			continue
		}
		ob := o.b[bucketOf(s)]
		if ob.sent == 0 && ob.recv == 0 {
			continue
		}
		b := &w.b[bucketOf(s)]
		b.sent += uint64(ob.sent)
		b.recv += uint64(ob.recv)
	}
}

// Merge adds o's buckets into w (aligned by second), as when folding a flow
// into an aggregate.
func (w *Window) Merge(o *Window) { merge(&w.w, &o.w) }

// Rates returns the windowed rates at now. Only complete seconds count: for
// now = 12:00:10.4 the 2 s rate covers [12:00:08, 12:00:10), the partial
// second 12:00:10 is left out, so a rate never swings with the sub-second
// phase of the reference time.
func (w *Window) Rates(now time.Time) Rates { return w.w.rates(now.Unix()) }

// rates is Rates at the first incomplete second end.
func (w *window[T]) rates(end int64) Rates {
	var r Rates
	if !w.used {
		return r
	}
	var s2, s10, s40 bucket[uint64]
	var peak bucket[T]
	for i := int64(1); i <= WindowSeconds; i++ {
		b := w.at(end - i)
		if i <= 2 {
			s2.sent += uint64(b.sent)
			s2.recv += uint64(b.recv)
		}
		if i <= 10 {
			s10.sent += uint64(b.sent)
			s10.recv += uint64(b.recv)
		}
		s40.sent += uint64(b.sent)
		s40.recv += uint64(b.recv)
		peak.sent = max(peak.sent, b.sent)
		peak.recv = max(peak.recv, b.recv)
	}
	r.R2 = Rate{float64(s2.sent) / 2, float64(s2.recv) / 2}
	r.R10 = Rate{float64(s10.sent) / 10, float64(s10.recv) / 10}
	r.R40 = Rate{float64(s40.sent) / 40, float64(s40.recv) / 40}
	r.Peak = Rate{float64(peak.sent), float64(peak.recv)}
	return r
}

// oneSecondRates are the rates at the first incomplete second end of a
// history of one second, sec, with the given bytes: what rates returns
// for a window holding only that second.
func oneSecondRates(end, sec int64, sent, recv uint64) Rates {
	var r Rates
	d := end - sec
	if d < 1 || d > WindowSeconds {
		return r
	}
	s, v := float64(sent), float64(recv)
	if d <= 2 {
		r.R2 = Rate{s / 2, v / 2}
	}
	if d <= 10 {
		r.R10 = Rate{s / 10, v / 10}
	}
	r.R40 = Rate{s / 40, v / 40}
	r.Peak = Rate{s, v}
	return r
}

// History returns the bytes sent and received in each of the n complete
// seconds before now, oldest first (n at most WindowSeconds). Sparklines use
// it.
func (w *Window) History(now time.Time, n int) (sent, recv []uint64) {
	n = min(max(n, 0), WindowSeconds)
	sent, recv = make([]uint64, n), make([]uint64, n)
	end := now.Unix()
	for i := 0; i < n; i++ {
		b := w.w.at(end - int64(n-i))
		sent[i], recv[i] = b.sent, b.recv
	}
	return sent, recv
}

// Second is the IP bytes of one flow (or aggregate) in one whole Unix
// second of its rate window.
type Second struct {
	Unix       int64
	Sent, Recv uint64
}

// AppendSeconds appends the window's non-empty seconds to dst, oldest
// first, and returns the extended slice.
func (w *Window) AppendSeconds(dst []Second) []Second { return w.w.appendSeconds(dst, math.MinInt64) }

// appendSeconds appends the non-empty seconds from the second from on.
func (w *window[T]) appendSeconds(dst []Second, from int64) []Second {
	if !w.used {
		return dst
	}
	i := w.hs // the oldest slot is the one after the head's
	for s := w.head - WindowSeconds + 1; s <= w.head; s++ {
		if i++; i == WindowSeconds {
			i = 0
		}
		if b := &w.b[i]; s >= from && (b.sent != 0 || b.recv != 0) {
			dst = append(dst, Second{Unix: s, Sent: uint64(b.sent), Recv: uint64(b.recv)})
		}
	}
	return dst
}

// busy returns the number of non-empty seconds AppendSeconds appends.
func (w *Window) busy() int {
	if !w.w.used {
		return 0
	}
	n := 0
	for i := range w.w.b {
		if w.w.b[i].sent != 0 || w.w.b[i].recv != 0 {
			n++
		}
	}
	return n
}

// AddSeconds adds the seconds of another window (as AppendSeconds gave
// them) into w, aligned by second, as Merge adds that window.
func (w *Window) AddSeconds(ss []Second) {
	for _, s := range ss {
		if s.Sent != 0 {
			w.Add(s.Unix, true, s.Sent)
		}
		if s.Recv != 0 {
			w.Add(s.Unix, false, s.Recv)
		}
	}
}

// Warmup divides the 2 s, 10 s and 40 s rates of s by the time the
// accounting has run when it is shorter than the window, as iftop does,
// instead of by the full window: for the first 40 s of a run the 40 s
// rate is the mean since start, not a value that climbs from zero. start
// is when the accounting began (the run's start live, the first packet's
// time for a file). It records the divisors in s.RateSeconds. s must be
// the caller's own snapshot (a fresh one from Table.Snapshot).
func Warmup(s *Snapshot, start time.Time) {
	s.RateSeconds = [3]int{2, 10, 40}
	if start.IsZero() || s.Time.Before(start) {
		return
	}
	// Rates cover the complete seconds before Time; the start's second
	// counts as one.
	el := int(s.Time.Unix() - start.Unix())
	var f [3]float64
	scale := false
	for i, w := range [3]int{2, 10, 40} {
		f[i] = 1
		if d := max(el, 1); d < w {
			s.RateSeconds[i], f[i], scale = d, float64(w)/float64(d), true
		}
	}
	if !scale {
		return
	}
	fix := func(r *Rates) {
		r.R2 = Rate{r.R2.SentBytesPerSec * f[0], r.R2.RecvBytesPerSec * f[0]}
		r.R10 = Rate{r.R10.SentBytesPerSec * f[1], r.R10.RecvBytesPerSec * f[1]}
		r.R40 = Rate{r.R40.SentBytesPerSec * f[2], r.R40.RecvBytesPerSec * f[2]}
	}
	for i := range s.Flows {
		fix(&s.Flows[i].Rates)
	}
	fix(&s.Other.Rates)
	fix(&s.Totals.Rates)
}
