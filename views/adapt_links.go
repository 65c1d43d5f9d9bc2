package views

import (
	"strings"

	"netriage/triage"
)

// This file adapts the links model (triage.LinkRow, from
// triage.CompareLinks) to the display model: the header lines of the
// watched interfaces and the rows of the Links view. Units change here:
// triage rates are bits per second, the display model's rates are bytes
// per second; capacities stay in bits per second.

// History keeps the most recent values of named series (per-interface rx
// and tx rates for the header sparklines, the totals for their peak) in
// fixed-size rings. The caller pushes one value per series per tick. It is
// pure (no clock), not safe for concurrent use, and its memory is bounded
// by the number of series times the ring length; Retain drops series that
// are no longer wanted.
type History struct {
	n      int
	series map[string]*ring
}

type ring struct {
	vals []float64
	head int // next write position
	full bool
	seen bool // pushed since the last Retain
}

// NewHistory returns a History keeping the last n values of each series
// (n < 1 is taken as 1).
func NewHistory(n int) *History {
	return &History{n: max(n, 1), series: map[string]*ring{}}
}

// Len returns how many values each series keeps.
func (h *History) Len() int { return h.n }

// Push appends v to the series key.
func (h *History) Push(key string, v float64) {
	r := h.series[key]
	if r == nil {
		r = &ring{vals: make([]float64, h.n)}
		h.series[key] = r
	}
	r.vals[r.head] = v
	r.head++
	if r.head == h.n {
		r.head, r.full = 0, true
	}
	r.seen = true
}

// Values returns the series key, oldest first, in a new slice (nil when
// the series is unknown).
func (h *History) Values(key string) []float64 {
	r := h.series[key]
	if r == nil {
		return nil
	}
	if !r.full {
		return append([]float64(nil), r.vals[:r.head]...)
	}
	out := make([]float64, 0, h.n)
	out = append(out, r.vals[r.head:]...)
	return append(out, r.vals[:r.head]...)
}

// Max returns the largest value of the series key, 0 when empty.
func (h *History) Max(key string) float64 {
	r := h.series[key]
	if r == nil {
		return 0
	}
	n := r.head
	if r.full {
		n = h.n
	}
	m := 0.0
	for _, v := range r.vals[:n] {
		m = max(m, v)
	}
	return m
}

// Retain forgets every series that received no Push since the previous
// Retain, so series of interfaces that disappeared do not pile up.
func (h *History) Retain() {
	for k, r := range h.series {
		if !r.seen {
			delete(h.series, k)
			continue
		}
		r.seen = false
	}
}

// History keys of an interface's rx and tx series.
func rxKey(name string) string { return "rx/" + name }
func txKey(name string) string { return "tx/" + name }

// PushLinks appends each interface's current rx and tx rates (bytes per
// second) to h. Rows without a valid rate (first sample, new, re-created,
// gone) push nothing, so the sparkline shows a gap at the start rather than
// a false zero.
func (h *History) PushLinks(rows []triage.LinkRow) {
	for i := range rows {
		r := &rows[i]
		if r.Gone || !r.Rates.Valid {
			continue
		}
		h.Push(rxKey(r.Sample.Name), r.Rates.RxBps/8)
		h.Push(txKey(r.Sample.Name), r.Rates.TxBps/8)
	}
}

// AdaptLinks builds the header lines of the watched interfaces (in the
// order of watched; an interface missing from rows is shown as gone) and
// one Links-view row per interface of rows. hist may be nil (no
// sparklines). Interface names are kept raw: the renderers sanitise them.
func AdaptLinks(rows []triage.LinkRow, watched []string, hist *History) (header []IfaceLine, links []LinkRow) {
	links = make([]LinkRow, 0, len(rows))
	byName := make(map[string]*triage.LinkRow, len(rows))
	for i := range rows {
		r := &rows[i]
		if prev, ok := byName[r.Sample.Name]; !ok || prev.Gone {
			byName[r.Sample.Name] = r
		}
		links = append(links, linkRow(r))
	}
	header = make([]IfaceLine, 0, len(watched))
	for _, name := range watched {
		r, ok := byName[name]
		if !ok {
			header = append(header, IfaceLine{Name: name, Gone: true})
			continue
		}
		header = append(header, ifaceLine(r, hist))
	}
	return header, links
}

// capacitySource shortens triage's capacity source for display ("tbf"
// rather than "shaper:tbf"); empty when the capacity is unknown.
func capacitySource(c triage.Capacity) string {
	if !c.Known || c.Bps == 0 {
		return ""
	}
	return strings.TrimPrefix(string(c.Source), "shaper:")
}

func capacityBps(c triage.Capacity) uint64 {
	if !c.Known {
		return 0
	}
	return c.Bps
}

// rxCapacity returns the receive capacity when it differs from the
// transmit one (a root shaper limits egress only).
func rxCapacity(r *triage.LinkRow) (bps uint64, unknown bool) {
	if r.RxCapacity == r.Capacity {
		return 0, false
	}
	if !r.RxCapacity.Known {
		return 0, r.Capacity.Known
	}
	return r.RxCapacity.Bps, false
}

func ifaceLine(r *triage.LinkRow, hist *History) IfaceLine {
	s := &r.Sample
	l := IfaceLine{
		Name:           s.Name,
		Up:             s.IsUp(),
		Gone:           r.Gone,
		CapacityBps:    capacityBps(r.Capacity),
		CapacitySource: capacitySource(r.Capacity),
	}
	l.RxCapacityBps, l.RxCapacityUnknown = rxCapacity(r)
	if r.Rates.Valid {
		l.RxBytesPerSec, l.TxBytesPerSec = r.Rates.RxBps/8, r.Rates.TxBps/8
		if q := r.Rates.Qdisc; q != nil {
			l.QdiscDropsPerSec = q.DropsPerSec
		}
	}
	if hist != nil {
		l.RxHistoryBytesPerSec = hist.Values(rxKey(s.Name))
		l.TxHistoryBytesPerSec = hist.Values(txKey(s.Name))
	}
	return l
}

func linkRow(r *triage.LinkRow) LinkRow {
	s := &r.Sample
	c := s.Counters
	l := LinkRow{
		Name: s.Name, OperState: s.OperState, MTU: s.MTU,
		CapacityBps: capacityBps(r.Capacity), CapacitySource: capacitySource(r.Capacity),
		RxBytes: c.RxBytes, TxBytes: c.TxBytes, RxPackets: c.RxPackets, TxPackets: c.TxPackets,
		RxErrors: c.RxErrors, TxErrors: c.TxErrors, RxDropped: c.RxDropped, TxDropped: c.TxDropped,
	}
	l.RxCapacityBps, l.RxCapacityUnknown = rxCapacity(r)
	if r.Gone {
		l.OperState = "gone"
		return l
	}
	if r.Rates.Valid {
		l.RxBytesPerSec, l.TxBytesPerSec = r.Rates.RxBps/8, r.Rates.TxBps/8
	}
	if q := s.Qdisc; q != nil {
		l.Qdisc = q.Kind
		l.QdiscDrops, l.QdiscOverlimits, l.QdiscRequeues = q.Drops, q.Overlimits, q.Requeues
		l.QdiscBacklogBytes, l.QdiscBacklogPackets = q.BacklogBytes, q.BacklogPackets
		if qr := r.Rates.Qdisc; r.Rates.Valid && qr != nil {
			l.QdiscDropsPerSec = qr.DropsPerSec
		}
	}
	return l
}
