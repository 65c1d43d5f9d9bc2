package flows

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGroupPeakDifferentSeconds folds two flows of one host pair whose
// busiest seconds differ: the pair's peak is its busiest second (30 kB),
// not the sum of the two peaks (45 kB).
func TestGroupPeakDifferentSeconds(t *testing.T) {
	tb := NewTable(TableConfig{MaxFlows: 10, Local: NewLocal(netip.MustParsePrefix("198.18.0.1/32"))})
	for _, p := range []*Packet{
		pkt(1.2, ProtoTCP, hostA, 1000, hostB, 443, 20_000), // flow 1 peaks in second 1
		pkt(2.2, ProtoTCP, hostA, 1000, hostB, 443, 5_000),
		pkt(2.5, ProtoTCP, hostA, 1001, hostB, 443, 25_000), // flow 2 in second 2
		pkt(3.1, ProtoTCP, hostA, 1001, hostB, 443, 10_000),
		pkt(3.4, ProtoUDP, hostB, 53, hostA, 5353, 900), // received, same pair
	} {
		tb.Update(p)
	}
	now := at(4)
	per := tb.Snapshot(now, By5Tuple)
	var g Group
	var peaks float64
	for i := range per.Flows {
		g.Add(&per.Flows[i])
		peaks += per.Flows[i].Rates.Peak.SentBytesPerSec
	}
	pair := Key{Local: hostA, Remote: hostB}
	got := g.Stat(pair, now)
	if peaks != 45_000 {
		t.Fatalf("members' peaks add to %v, want 45000 (fixture)", peaks)
	}
	if got.Rates.Peak != (Rate{SentBytesPerSec: 30_000, RecvBytesPerSec: 900}) {
		t.Errorf("group peak %+v, want 30000 sent, 900 received", got.Rates.Peak)
	}
	// The table's own host-pair snapshot is the same aggregation.
	hosts := tb.Snapshot(now, ByHostPair)
	want, ok := hosts.Find(pair)
	if !ok {
		t.Fatal("no host pair in the table's snapshot")
	}
	if d := cmp.Diff(want, got, addrEq); d != "" {
		t.Errorf("Group over the 5-tuples vs the table's host pair (-table +group):\n%s", d)
	}
	if want.Flows != 3 || want.Counts != (Counts{SentBytes: 60_000, RecvBytes: 900, SentPackets: 4, RecvPackets: 1}) {
		t.Errorf("host pair %d flows, counts %+v", want.Flows, want.Counts)
	}
}

// TestGroupMatchesTable regroups random traffic's 5-tuple snapshot with
// Group for every Aggregation: the same flows, counts, rates and seconds
// as the table's snapshot of that aggregation.
func TestGroupMatchesTable(t *testing.T) {
	tb := NewTable(TableConfig{MaxFlows: 50, Local: NewLocal(netip.MustParsePrefix("198.18.0.0/24"))})
	addrs := []netip.Addr{hostA, netip.MustParseAddr("198.18.0.2"), hostB, hostC}
	for i := range 5000 {
		src, dst := addrs[i%4], addrs[(i/4+1+i%3)%4]
		tb.Update(pkt(float64(i)/60, Proto(6+11*(i%2)), src, uint16(1000+i%7), dst, uint16(80+i%3), uint32(40+(i*37)%1400)))
	}
	for _, now := range []float64{50, 83.3, 84, 100, 130} {
		per := tb.Snapshot(at(now), By5Tuple)
		for _, agg := range []Aggregation{ByHostPair, BySource, ByDestination} {
			groups := map[Key]*Group{}
			for i := range per.Flows {
				k := agg.Aggregate(per.Flows[i].Key)
				if groups[k] == nil {
					groups[k] = &Group{}
				}
				groups[k].Add(&per.Flows[i])
			}
			want := map[Key]FlowStat{}
			for _, f := range tb.Snapshot(at(now), agg).Flows {
				want[f.Key] = f
			}
			got := map[Key]FlowStat{}
			for k, g := range groups {
				got[k] = g.Stat(k, at(now))
			}
			if d := cmp.Diff(want, got, addrEq); d != "" {
				t.Errorf("now %v, %s (-table +group):\n%s", now, agg, d)
			}
		}
	}
}

// TestSecondsRoundTrip: a window rebuilt from its seconds has the same
// rates, and AddSeconds merges as Merge does.
func TestSecondsRoundTrip(t *testing.T) {
	var a, b Window
	for s := 0; s < 60; s++ {
		if s%3 != 0 {
			a.Add(at(float64(s)).Unix(), s%2 == 0, uint64(s*10))
		}
	}
	for s := 30; s < 75; s += 2 {
		b.Add(at(float64(s)).Unix(), true, 7)
	}
	var c Window
	c.AddSeconds(a.AppendSeconds(nil))
	merged, added := a, a
	merged.Merge(&b)
	added.AddSeconds(b.AppendSeconds(nil))
	for _, now := range []float64{40, 59, 60, 61, 75, 80, 120} {
		if d := cmp.Diff(a.Rates(at(now)), c.Rates(at(now))); d != "" {
			t.Errorf("now %v, rebuilt (-want +got):\n%s", now, d)
		}
		if d := cmp.Diff(merged.Rates(at(now)), added.Rates(at(now))); d != "" {
			t.Errorf("now %v, AddSeconds vs Merge (-Merge +AddSeconds):\n%s", now, d)
		}
	}
	// The window holds seconds 20..59, of which 27 are not multiples of 3.
	if n, got := a.busy(), len(a.AppendSeconds(nil)); n != got || n != 27 {
		t.Errorf("busy %d, AppendSeconds %d seconds, want 27", n, got)
	}
}
