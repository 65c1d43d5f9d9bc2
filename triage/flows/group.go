package flows

import "time"

// Group folds flows into one aggregate. It is the one aggregation of
// netriage: Table.Snapshot groups an Aggregation's flows by the same rules
// (TestGroupMatchesTable), and the TUI groups a snapshot's rows with it
// (host pairs, one side hidden).
// Counts add, and the rate windows merge second by second, so the
// aggregate's rates are those of the sum and its peak is the busiest
// second of the group, not the sum of its members' peaks (which may fall
// in different seconds). The zero value is an empty group.
type Group struct {
	counts      Counts
	win         Window
	first, last time.Time
	flows       int
}

// Add folds f in: its counts, its rate window (f.Seconds), its first and
// last packet times and its number of flows (1 when f.Flows is 0).
func (g *Group) Add(f *FlowStat) {
	g.win.AddSeconds(f.Seconds)
	g.add(f.Counts, f.First, f.Last, max(f.Flows, 1))
}

func (g *Group) add(c Counts, first, last time.Time, flows int) {
	g.counts.Add(c)
	if !first.IsZero() && (g.first.IsZero() || first.Before(g.first)) {
		g.first = first
	}
	if last.After(g.last) {
		g.last = last
	}
	g.flows += flows
}

// Flows returns the number of flows folded in.
func (g *Group) Flows() int { return g.flows }

// Rates returns the aggregate's rates at now.
func (g *Group) Rates(now time.Time) Rates { return g.win.Rates(now) }

// Stat returns the aggregate with key k, its rates at now and its own
// Seconds (freshly allocated).
func (g *Group) Stat(k Key, now time.Time) FlowStat {
	s := statOf(k, g.counts, &g.win, g.first, g.last, g.flows, now)
	s.Seconds = g.win.AppendSeconds(nil)
	return s
}

// statOf is a flow's or an aggregate's FlowStat at now, without Seconds.
func statOf(k Key, c Counts, w *Window, first, last time.Time, flows int, now time.Time) FlowStat {
	return FlowStat{Key: k, Counts: c, Rates: w.Rates(now), First: first, Last: last, Flows: flows}
}
