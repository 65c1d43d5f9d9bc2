package flows

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// TestSnapshotSince steps a small table through random traffic (flows
// evicted at the cap and expired, keys that come back as new flows) and
// random snapshots (whole, top-n, aggregated) and holds every flow's Since
// to its definition: the bytes its members counted since the previous
// snapshot, whatever that one showed, all of them for a flow new since.
func TestSnapshotSince(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	type inst struct {
		k     Key
		first time.Time
	}
	for round := range 20 {
		tb := NewTable(TableConfig{MaxFlows: 40, IdleTimeout: 3 * time.Second, Local: NewLocal(netip.MustParsePrefix("198.18.0.0/24"))})
		// last: each 5-tuple flow instance's bytes at the previous snapshot.
		last := map[inst]Since{}
		now := t0
		for step := range 30 {
			for range r.IntN(120) {
				p := Packet{Time: now.Add(time.Duration(r.IntN(1000)) * time.Millisecond), Proto: ProtoUDP, Length: uint32(60 + r.IntN(1400)),
					Src: netip.MustParseAddr("198.18.0.1"), SrcPort: 53, Dst: netip.AddrFrom4([4]byte{198, 19, byte(r.IntN(3)), byte(r.IntN(30))}), DstPort: uint16(r.IntN(3))}
				if r.IntN(2) == 0 {
					p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
				}
				tb.Update(&p)
			}
			now = now.Add(time.Second)
			tb.Expire(now)
			// The instances now in the table, with their bytes.
			full := map[inst]Counts{}
			tb.live(func(_ int32, e *entry) { full[inst{e.key.key(), tb.time(e.first)}] = e.cum })
			want := func(f *FlowStat, match func(Key) bool) Since {
				var s Since
				for in, c := range full {
					if match(in.k) {
						p := last[in]
						s.SentBytes += c.SentBytes - p.SentBytes
						s.RecvBytes += c.RecvBytes - p.RecvBytes
					}
				}
				return s
			}
			agg := []Aggregation{By5Tuple, By5Tuple, ByHostPair, ByHostPort}[r.IntN(4)]
			var s Snapshot
			if r.IntN(3) == 0 {
				s = tb.SnapshotTop(now, agg, Sort2s, 1+r.IntN(20))
			} else {
				s = tb.Snapshot(now, agg)
			}
			if !s.Since {
				t.Fatal("a table's snapshot without Since")
			}
			for i := range s.Flows {
				f := &s.Flows[i]
				var w Since
				if agg == By5Tuple {
					w = want(f, func(k Key) bool { return k == f.Key })
				} else {
					w = want(f, func(k Key) bool { return agg.Aggregate(k) == f.Key })
				}
				if f.Since != w {
					t.Fatalf("round %d step %d (%v): %v since %+v, want %+v", round, step, agg, f.Key, f.Since, w)
				}
			}
			clear(last)
			for in, c := range full {
				last[in] = Since{c.SentBytes, c.RecvBytes}
			}
		}
	}
}
