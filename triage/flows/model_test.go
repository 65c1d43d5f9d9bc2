package flows

import (
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// model is the flow table written plainly: a map of flows with a full
// 64-bit Window each, a slice for the LRU order, Other as one more flow.
// It knows only the address rule of direction (every packet has exactly
// one local side).
type model struct {
	max   int
	local Local
	flows map[Key]*mflow
	lru   []Key // most recent first
	other mflow
	tot   mflow
	evict int
}

type mflow struct {
	cum         Counts
	win         Window
	first, last time.Time
}

func (f *mflow) add(p *Packet, sent bool) {
	if sent {
		f.cum.SentBytes += uint64(p.Length)
		f.cum.SentPackets++
	} else {
		f.cum.RecvBytes += uint64(p.Length)
		f.cum.RecvPackets++
	}
	f.win.Add(p.Time.Unix(), sent, uint64(p.Length))
	if f.first.IsZero() { // the first packet seen, late ones after it or not
		f.first = p.Time
	}
	if p.Time.After(f.last) {
		f.last = p.Time
	}
}

func (f *mflow) fold(o *mflow) {
	f.cum.Add(o.cum)
	f.win.Merge(&o.win)
	if f.first.IsZero() || o.first.Before(f.first) {
		f.first = o.first
	}
	if o.last.After(f.last) {
		f.last = o.last
	}
}

func (m *model) update(p *Packet) {
	k, sent := Key{Proto: p.Proto, Local: p.Src, Remote: p.Dst, LocalPort: p.SrcPort, RemotePort: p.DstPort}, true
	if m.local.Classify(p.Src, p.Dst) == SideRecv {
		k, sent = Key{Proto: p.Proto, Local: p.Dst, Remote: p.Src, LocalPort: p.DstPort, RemotePort: p.SrcPort}, false
	}
	f, ok := m.flows[k]
	if !ok {
		if len(m.flows) == m.max {
			old := m.lru[len(m.lru)-1]
			m.lru = m.lru[:len(m.lru)-1]
			m.other.fold(m.flows[old])
			delete(m.flows, old)
			m.evict++
		}
		f = &mflow{first: p.Time}
		m.flows[k] = f
	} else {
		for i, o := range m.lru {
			if o == k {
				m.lru = append(m.lru[:i], m.lru[i+1:]...)
				break
			}
		}
	}
	m.lru = append([]Key{k}, m.lru...)
	f.add(p, sent)
	m.tot.add(p, sent)
}

// snapshot returns the model's flows grouped by agg, keyed by group.
func (m *model) snapshot(now time.Time, agg Aggregation) map[Key]FlowStat {
	groups := map[Key]*mflow{}
	n := map[Key]int{}
	for k, f := range m.flows {
		g := agg.Aggregate(k)
		if groups[g] == nil {
			groups[g] = &mflow{}
		}
		groups[g].fold(f)
		n[g]++
	}
	// Seconds: those rates at now or later can read.
	seconds := func(w *Window) []Second {
		var out []Second
		for _, s := range w.AppendSeconds(nil) {
			if s.Unix >= now.Unix()-WindowSeconds {
				out = append(out, s)
			}
		}
		return out
	}
	out := map[Key]FlowStat{}
	for g, f := range groups {
		out[g] = FlowStat{Key: g, Counts: f.cum, Rates: f.win.Rates(now), First: f.first, Last: f.last, Flows: n[g], Seconds: seconds(&f.win)}
	}
	out[Key{Proto: 255}] = FlowStat{Counts: m.other.cum, Rates: m.other.win.Rates(now), First: m.other.first, Last: m.other.last, Flows: m.evict, Seconds: seconds(&m.other.win)}
	out[Key{Proto: 254}] = FlowStat{Counts: m.tot.cum, Rates: m.tot.win.Rates(now), First: m.tot.first, Last: m.tot.last, Flows: len(m.flows) + m.evict, Seconds: seconds(&m.tot.win)}
	return out
}

func byKey(s Snapshot) map[Key]FlowStat {
	out := map[Key]FlowStat{}
	for _, f := range s.Flows {
		out[f.Key] = f
	}
	out[Key{Proto: 255}] = s.Other
	out[Key{Proto: 254}] = s.Totals
	return out
}

// TestTableMatchesModel runs random packets through the table and the
// plain model and compares every aggregation's snapshot, counts, rates and
// times, at snapshots taken mid-stream: flows evicted at a small cap,
// pauses longer than the window (full windows go back to the pool), late
// packets, IPv4 and IPv6, and seconds of more than 4 GiB in one flow and
// direction (the table's 32-bit buckets move to 64-bit ones).
func TestTableMatchesModel(t *testing.T) {
	local := NewLocal(netip.MustParsePrefix("198.18.0.0/24"), netip.MustParsePrefix("fd00:198:18::1:1/128"))
	locals := []netip.Addr{hostA, netip.MustParseAddr("198.18.0.2"), host6}
	remotes4 := []netip.Addr{hostB, hostC, netip.MustParseAddr("198.19.7.7")}
	remotes6 := []netip.Addr{rem6, netip.MustParseAddr("fd00:198:18::2:2"), netip.MustParseAddr("::ffff:198.18.1.2")}
	for _, seed := range []uint64{1, 2, 3} {
		rng := rand.New(rand.NewPCG(seed, 99))
		tb := NewTable(TableConfig{MaxFlows: 100, Local: local})
		m := &model{max: 100, local: local, flows: map[Key]*mflow{}}
		now := t0
		snapAt := now
		for i := 0; i < 30000; i++ {
			paused := false
			switch r := rng.IntN(1000); {
			case r < 3:
				now = now.Add(time.Duration(20_000+rng.IntN(40_000)) * time.Millisecond) // a pause
				paused = true
			case r < 600:
				now = now.Add(time.Duration(rng.IntN(50)) * time.Millisecond)
			}
			ts := now
			if rng.IntN(50) == 0 { // a late packet
				ts = ts.Add(-time.Duration(rng.IntN(50_000)) * time.Millisecond)
			}
			l := locals[rng.IntN(len(locals))]
			rs := remotes4
			if l.Is6() {
				rs = remotes6
			}
			p := Packet{Time: ts, Proto: Proto(6 + 11*rng.IntN(2)), Src: l, Dst: rs[rng.IntN(len(rs))],
				SrcPort: uint16(1000 + rng.IntN(4)), DstPort: uint16(80 + rng.IntN(2)), Length: uint32(40 + rng.IntN(1500))}
			if rng.IntN(2) == 0 {
				p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
			}
			copies := 1
			if rng.IntN(300) == 0 { // two GSO-sized giants: over 4 GiB in a second
				p.Length, copies = 3_000_000_000+uint32(rng.IntN(1_000_000_000)), 2
			}
			for range copies {
				tb.Update(&p)
				m.update(&p)
			}
			if paused || rng.IntN(200) == 0 {
				// Snapshots at non-decreasing times, some after the newest
				// packet, some a little before it.
				at := now.Add(time.Duration(rng.IntN(3000)-1000) * time.Millisecond)
				if at.Before(snapAt) {
					at = snapAt
				}
				snapAt = at
				for _, agg := range []Aggregation{By5Tuple, ByHostPair, BySource, ByDestination} {
					got, want := byKey(tb.Snapshot(at, agg)), m.snapshot(at, agg)
					if maps.EqualFunc(want, got, sameStat) {
						continue
					}
					if d := cmp.Diff(want, got, addrEq); d != "" {
						t.Fatalf("seed %d packet %d, by %s (-model +table):\n%s", seed, i, agg, d)
					}
				}
			}
		}
		if tb.Evicted() == 0 || tb.wides.n == 0 || len(tb.wins.free) == 0 {
			t.Errorf("seed %d: %d evicted, %d wide windows, %d full windows given back: the test misses a case", seed, tb.Evicted(), tb.wides.n, len(tb.wins.free))
		}
	}
}

// sameStat reports whether two flows are the same, field by field (the
// fast check before cmp.Diff shows a difference).
func sameStat(a, b FlowStat) bool {
	return a.Key == b.Key && a.Counts == b.Counts && a.Rates == b.Rates && a.First == b.First && a.Last == b.Last &&
		a.Flows == b.Flows && slices.Equal(a.Seconds, b.Seconds)
}
