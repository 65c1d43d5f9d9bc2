package triage

import "time"

// LinkTracker follows the interfaces a links run shows from sample to
// sample: it compares each sample with the one before, keeps the shown
// interfaces in their order, and remembers which ones were removed and
// since when, so a removed interface stays as a gone row in every later
// sample. Its zero value is not usable; use NewLinkTracker.
type LinkTracker struct {
	names     []string
	userBps   map[string]uint64
	prev      LinksSample
	last      map[string]IfaceSample
	goneSince map[string]time.Time
	netnsGone bool
}

// LinkStep is what one sample gives.
type LinkStep struct {
	// Rows are the rows to show: one per tracked name, in order; a name
	// missing from the sample is a Gone row with its last known sample.
	Rows []LinkRow
	// Removed are the names that went missing in this sample (each is
	// reported once; an interface that comes back and goes again is
	// reported again).
	Removed []string
	// NetnsGone is true in the sample where the namespace was first seen
	// gone.
	NetnsGone bool
	// Left is false when nothing is left to sample: the namespace is gone
	// or every tracked interface is.
	Left bool
}

// NewLinkTracker tracks names (in that order); userBps holds capacity
// overrides by name.
func NewLinkTracker(names []string, userBps map[string]uint64) *LinkTracker {
	return &LinkTracker{names: names, userBps: userBps, last: map[string]IfaceSample{}, goneSince: map[string]time.Time{}}
}

// Baseline records s as the sample the next one is compared with (the
// first sample: rates need two).
func (t *LinkTracker) Baseline(s LinksSample) {
	t.prev = s
	for _, i := range s.Ifaces {
		t.last[i.Name] = i
	}
}

// Next compares cur with the previous sample and records it as the new
// previous one.
func (t *LinkTracker) Next(cur LinksSample) LinkStep {
	var st LinkStep
	st.Rows = PickLinks(CompareLinks(&t.prev, &cur, t.userBps), t.names, t.last)
	if cur.NetnsGone != "" && !t.netnsGone {
		t.netnsGone, st.NetnsGone = true, true
	}
	left := 0
	for _, r := range st.Rows {
		n := r.Sample.Name
		if !r.Gone {
			delete(t.goneSince, n) // back (re-created): a new removal is reported again
			left++
			continue
		}
		if _, seen := t.goneSince[n]; !seen {
			t.goneSince[n] = cur.Time
			st.Removed = append(st.Removed, n)
		}
	}
	t.Baseline(cur)
	st.Left = !t.netnsGone && left > 0
	return st
}

// GoneSince maps each removed interface to the time of the first sample
// it was missing from. The map belongs to the tracker: read it before the
// next call to Next.
func (t *LinkTracker) GoneSince() map[string]time.Time { return t.goneSince }

// PickLinks keeps the rows of names, in that order; a name without a row
// is reported as gone with its last known sample.
func PickLinks(rows []LinkRow, names []string, last map[string]IfaceSample) []LinkRow {
	by := make(map[string]LinkRow, len(rows))
	for _, r := range rows {
		if !r.Gone {
			by[r.Sample.Name] = r
		}
	}
	out := make([]LinkRow, 0, len(names))
	for _, n := range names {
		if r, ok := by[n]; ok {
			out = append(out, r)
			continue
		}
		s, ok := last[n]
		if !ok {
			s = IfaceSample{Name: n}
		}
		out = append(out, LinkRow{Sample: s, Capacity: Capacity{Source: CapacityUnknown},
			Rates: IfaceRates{Note: NoteGone}, Gone: true})
	}
	return out
}
