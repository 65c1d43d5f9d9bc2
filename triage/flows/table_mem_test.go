package flows

import (
	"net/netip"
	"reflect"
	"runtime"
	"testing"
	"time"
)

// floodPacket fills p with the i-th packet of a random-source flood: every
// i gives another source address (in 198.19.0.0/16) and port, towards one
// local address, at 320,000 packets per second from t0.
func floodPacket(p *Packet, i int) {
	h := uint32(i) * 2654435761 // a bijection: distinct i (below 2³²), distinct (address, port)
	src := netip.AddrFrom4([4]byte{198, 19, byte(h >> 24), byte(h >> 16)})
	*p = Packet{Time: t0.Add(time.Duration(i) * 3125 * time.Nanosecond), Proto: ProtoUDP,
		Src: src, SrcPort: uint16(h), Dst: hostA, DstPort: 5201, Length: 92}
}

var floodLocal = NewLocal(netip.MustParsePrefix("198.18.0.1/32"))

// heapInUse returns the bytes of live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// tableBytesPerFlow builds a table of n flows (with the cap at n) from a
// random-source flood, each flow seen in the given number of seconds (1 or
// 2: one packet, or one more a second later), and returns the table's heap
// bytes per flow and the table, kept alive by the caller.
func tableBytesPerFlow(n, seconds int, cfg TableConfig) (float64, *Table) {
	before := heapInUse()
	cfg.MaxFlows = n
	tb := NewTable(cfg)
	var p Packet
	for s := 0; s < seconds; s++ {
		for i := 0; i < n; i++ {
			floodPacket(&p, i)
			p.Time = p.Time.Add(time.Duration(s) * time.Second)
			tb.Update(&p)
		}
	}
	tb.Totals() // counts the last run
	after := heapInUse()
	if tb.Len() != n || tb.Evicted() != 0 {
		panic("table does not hold every flow")
	}
	return float64(after-before) / float64(n), tb
}

// The documented bounds of the table's memory per flow (see doc.go,
// "Bounds"): entry and index cells for a flow seen in one second of the
// window, plus a full window for one seen in more; and what a snapshot and
// the table's aggregation scratch hold per flow.
const (
	maxBytesPerFlow         = 186
	maxBytesPerWindowedFlow = 186 + 340
	maxSnapshotBytesPerFlow = 276 // one FlowStat (256 bytes), its Seconds offset and slack
	maxSecondBytes          = 24  // each second in Seconds
	maxScratchBytesPerFlow  = 50
)

// TestTableMemoryAtCap builds tables of a random-source flood at their cap
// and checks the heap they hold per flow against the documented bounds,
// and what a snapshot of every flow holds. No timing.
func TestTableMemoryAtCap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 200,000-flow tables")
	}
	for _, n := range []int{20_000, 200_000} {
		for _, seconds := range []int{1, 2} {
			per, tb := tableBytesPerFlow(n, seconds, TableConfig{Local: floodLocal})
			limit := map[int]float64{1: maxBytesPerFlow, 2: maxBytesPerWindowedFlow}[seconds]
			t.Logf("%d flows seen in %d s: %.0f heap bytes per flow", n, seconds, per)
			if per > limit {
				t.Errorf("%d flows seen in %d s: %.0f bytes per flow, want ≤ %.0f", n, seconds, per, limit)
			}
			now := t0.Add(time.Duration(seconds+1) * time.Second)
			for _, agg := range []Aggregation{By5Tuple, ByHostPair} {
				before := heapInUse()
				s := tb.Snapshot(now, agg)
				after := heapInUse()
				per := float64(after-before) / float64(n)
				limit := float64(maxSnapshotBytesPerFlow + maxSecondBytes*seconds)
				if agg != By5Tuple {
					limit += maxScratchBytesPerFlow // the first aggregation makes the scratch
				}
				t.Logf("%d flows seen in %d s: a snapshot by %s holds %.0f bytes per flow", n, seconds, agg, per)
				if per > limit {
					t.Errorf("%d flows: snapshot by %s holds %.0f bytes per flow, want ≤ %.0f", n, agg, per, limit)
				}
				flows := 0
				for _, f := range s.Flows {
					flows += f.Flows
				}
				if flows != n || (agg == By5Tuple && len(s.Flows) != n) {
					t.Errorf("snapshot by %s: %d rows of %d flows, want %d flows", agg, len(s.Flows), flows, n)
				}
				runtime.KeepAlive(s)
			}
			runtime.KeepAlive(tb)
		}
	}
}

// BenchmarkTableFlood streams distinct keys into a table at its cap of
// 200,000 flows, as a random-source flood does: every packet is a new flow
// and evicts the least recently seen one. It reports the table's heap
// bytes per flow at the cap.
func BenchmarkTableFlood(b *testing.B) {
	const capFlows = 200_000
	per, tb := tableBytesPerFlow(capFlows, 1, TableConfig{Local: floodLocal})
	ps := make([]Packet, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := &ps[i&4095]
		if i&4095 == 0 {
			b.StopTimer()
			for j := range ps {
				floodPacket(&ps[j], capFlows+i+j)
			}
			b.StartTimer()
		}
		tb.Update(p)
	}
	b.StopTimer()
	if tb.Len() != capFlows || tb.Evicted() < uint64(b.N) {
		b.Fatalf("%d flows, %d evicted after %d packets", tb.Len(), tb.Evicted(), b.N)
	}
	b.ReportMetric(per, "B/flow")
}

// BenchmarkTableSnapshotAtCap takes snapshots of a table of 200,000 flood flows
// at its cap: B/op is what a snapshot allocates.
func BenchmarkTableSnapshotAtCap(b *testing.B) {
	const capFlows = 200_000
	_, tb := tableBytesPerFlow(capFlows, 1, TableConfig{Local: floodLocal})
	var p Packet
	floodPacket(&p, capFlows-1)
	now := p.Time.Add(time.Second)
	for _, agg := range []Aggregation{ByHostPair, By5Tuple} {
		b.Run(agg.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s := tb.Snapshot(now, agg)
				if len(s.Flows) == 0 {
					b.Fatal("no flows")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*capFlows), "ns/flow")
		})
	}
}

// TestUpdateAllocsAtCap streams new flows into a full table, each seen in
// two seconds (so each takes a full window, and every eviction gives one
// back): once the table is at its cap, no packet allocates.
func TestUpdateAllocsAtCap(t *testing.T) {
	const capFlows = 1000
	tb := NewTable(TableConfig{MaxFlows: capFlows, Local: floodLocal})
	var p Packet
	i := 0
	next := func() {
		floodPacket(&p, i/2)
		p.Time = p.Time.Add(time.Duration(i%2) * time.Second)
		tb.Update(&p)
		i++
	}
	for tb.Evicted() < capFlows {
		next()
	}
	allocs := testing.AllocsPerRun(10_000, next)
	if allocs != 0 {
		t.Errorf("Update at the cap allocates %v per packet, want 0", allocs)
	}
	if tb.Len() != capFlows || tb.wins.n == 0 {
		t.Errorf("%d flows, %d full windows: the test misses its case", tb.Len(), tb.wins.n)
	}
}

// TestTableRelease checks that a released snapshot's arrays are filled
// again by the next snapshot, which is then the same as a table that
// released nothing gives, in every aggregation; that only the newest
// snapshot is taken back; and that a snapshot of a flood's host pairs,
// with its predecessor released, allocates nothing.
func TestTableRelease(t *testing.T) {
	const n = 3000
	fill := func() *Table {
		tb := NewTable(TableConfig{MaxFlows: n, Local: floodLocal})
		var p Packet
		for s := 0; s < 3; s++ {
			for i := 0; i < n; i++ {
				floodPacket(&p, i%(n/(s+1)))
				p.Time = p.Time.Add(time.Duration(s) * time.Second)
				tb.Update(&p)
			}
		}
		return tb
	}
	at := t0.Add(5 * time.Second)
	for _, agg := range []Aggregation{ByHostPair, ByHostPort, By5Tuple, BySource, ByDestination} {
		plain, reused := fill(), fill()
		first := reused.Snapshot(at, agg)
		plain.Snapshot(at, agg)
		prev, got := first, Snapshot{}
		for round := 1; round <= 3; round++ { // the second and third reuse the Seconds too
			reused.Release(&prev)
			now := at.Add(time.Duration(round) * time.Second)
			got = reused.Snapshot(now, agg)
			want := plain.Snapshot(now, agg)
			if len(got.Flows) == 0 || &got.Flows[0] != &prev.Flows[:1][0] {
				t.Errorf("%v, round %d: the snapshot after a release did not fill the released flows", agg, round)
			}
			if !reflect.DeepEqual(got.Flows, want.Flows) || !reflect.DeepEqual(got.Totals, want.Totals) || !reflect.DeepEqual(got.Other, want.Other) {
				t.Errorf("%v, round %d: the snapshot after a release differs from one without", agg, round)
			}
			prev = got
		}
		// An older snapshot is not taken back: got is the newest.
		reused.Release(&first)
		third := reused.Snapshot(at.Add(4*time.Second), agg)
		if &third.Flows[0] == &got.Flows[0] || &third.Flows[0] == &first.Flows[:1][0] {
			t.Errorf("%v: a snapshot released out of turn was reused", agg)
		}
	}
	tb := fill()
	s := tb.Snapshot(at, ByHostPair)
	allocs := testing.AllocsPerRun(20, func() {
		tb.Release(&s)
		s = tb.Snapshot(at, ByHostPair)
	})
	if allocs != 0 {
		t.Errorf("a host-pair snapshot of %d flows after a release allocates %v times, want 0", len(s.Flows), allocs)
	}
}

// TestSnapshotTop checks that a top-n snapshot holds what taking the first
// n of a full snapshot gives (flows, their order and Seconds, Other, the
// totals), with the rest counted in Omitted, for every aggregation, key
// and several n; and that at the cap it allocates for n flows only.
func TestSnapshotTop(t *testing.T) {
	const n = 3000
	tb := NewTable(TableConfig{MaxFlows: n, Local: floodLocal})
	var p Packet
	for s := 0; s < 4; s++ {
		for i := 0; i < n+500; i++ { // evicting, so Other has bytes
			floodPacket(&p, (i*(s+1))%(n+700))
			p.Time = p.Time.Add(time.Duration(s) * time.Second)
			p.Length = uint32(60 + i%900)
			tb.Update(&p)
		}
	}
	now := t0.Add(6 * time.Second)
	for _, agg := range []Aggregation{ByHostPair, ByHostPort, By5Tuple, BySource, ByDestination} {
		for k := Sort2s; k <= SortBytes; k++ {
			for _, top := range []int{0, 1, 7, 50, 2999, 5000} {
				full := tb.Snapshot(now, agg)
				want := Top(full.Flows, k, top)
				got := tb.SnapshotTop(now, agg, k, top)
				// The second snapshot counts Since from the first.
				for _, fs := range [][]FlowStat{want, got.Flows} {
					for i := range fs {
						fs[i].Since = Since{}
					}
				}
				if !reflect.DeepEqual(got.Flows, want) {
					t.Fatalf("%v, key %d, n %d: the top snapshot's flows differ from Top of the full one", agg, k, top)
				}
				if !reflect.DeepEqual(got.Totals, full.Totals) || !reflect.DeepEqual(got.Other, full.Other) || !reflect.DeepEqual(got.Capture, full.Capture) {
					t.Fatalf("%v, key %d, n %d: totals, other or capture differ", agg, k, top)
				}
				if got.Omitted != len(full.Flows)-len(want) {
					t.Fatalf("%v, key %d, n %d: Omitted %d, want %d", agg, k, top, got.Omitted, len(full.Flows)-len(want))
				}
			}
		}
	}
	var before, after runtime.MemStats
	tb.SnapshotTop(now, ByHostPair, Sort10s, 50) // the scratch
	runtime.ReadMemStats(&before)
	for range 10 {
		tb.SnapshotTop(now, ByHostPair, Sort10s, 50)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 50*672 {
		t.Errorf("a top-50 snapshot of %d flows allocates %d bytes, want at most 50 flows' worth (33,600: the heap, the result, their seconds)", n, per)
	}
}
