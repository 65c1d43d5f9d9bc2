package attrib

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"netriage/triage/flows"
)

// TestFlowRows: every flow an Update joins finds its own connection row by
// position, over joins whose flows come and go in random orders, with the
// storage of recycled reports; a finder asked in another order, or about a
// report built by hand, falls back to the key.
func TestFlowRows(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	a := New(Config{ClosedGrace: 5 * time.Second})
	l := netip.MustParseAddr("198.18.0.1")
	var socks []Socket
	var keys []flows.Key
	for i := range 20 {
		keys = append(keys, tcp(l, uint16(1000+i), netip.MustParseAddr("198.18.0.2"), 443))
		socks = append(socks, sock(keys[i], 1, uint32(10+i), pA, StateEstablished))
	}
	at := t0
	var last *Report
	for step := range 50 {
		at = at.Add(time.Second)
		var fl []FlowStat
		for i := range r.IntN(300) {
			k := udp(l, 53, netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}), uint16(r.IntN(4)))
			if i < 20 && r.IntN(2) == 0 {
				k = keys[i]
			}
			fl = append(fl, FlowStat{Key: k, SentBytes: uint64(step * r.IntN(100)), Rate10s: Rates{SentBps: float64(r.IntN(5))}})
		}
		// Unique keys, as a snapshot has them.
		seen := map[flows.Key]bool{}
		fl = slices.DeleteFunc(fl, func(f FlowStat) bool { d := seen[f.Key]; seen[f.Key] = true; return d })
		r.Shuffle(len(fl), func(i, j int) { fl[i], fl[j] = fl[j], fl[i] })
		if last != nil && r.IntN(2) == 0 {
			a.Recycle(last)
		}
		rep := a.Update(at, fl, table(at, socks...))
		last = &rep
		if len(rep.FlowRows) != len(fl) {
			t.Fatalf("step %d: %d flow rows for %d flows", step, len(rep.FlowRows), len(fl))
		}
		rows := rep.Rows()
		for i := range fl {
			if c := rows.Of(i, fl[i].Key); c == nil || c.Key != fl[i].Key {
				t.Fatalf("step %d: flow %d (%v) found row %+v", step, i, fl[i].Key, c)
			}
		}
		if rows.byKey != nil {
			t.Fatalf("step %d: positions missed, the finder built its map", step)
		}
		// Asked in reverse: the map finds them.
		for i := range fl {
			j := len(fl) - 1 - i
			if c := rows.Of(i, fl[j].Key); c == nil || c.Key != fl[j].Key {
				t.Fatalf("step %d: flow %v by key found %+v", step, fl[j].Key, c)
			}
		}
		if c := rows.Of(0, udp(l, 9, netip.MustParseAddr("198.19.255.255"), 9)); c != nil {
			t.Fatalf("a flow the report does not have found %+v", c)
		}
	}
	hand := Report{Connections: []ConnRow{{Key: keys[0]}, {Key: keys[1]}}}
	if c := hand.Rows().Of(0, keys[1]); c == nil || c.Key != keys[1] {
		t.Fatalf("hand-made report: %+v", c)
	}
	var none *Report
	if none.Rows().Of(0, keys[0]) != nil {
		t.Fatal("a nil report found a row")
	}
}

// TestSinceKeepsNoCounters: joins of consecutive snapshots with Since add
// the flows' own bytes since and keep no counters per flow; a flow
// re-created under its key between two snapshots counts all of its new
// bytes (the counters kept would have taken them for growth); a join that
// does not follow the last one counts by the counters again.
func TestSinceKeepsNoCounters(t *testing.T) {
	k := tcp(hostA, 40000, remB, 443)
	tab := table(t0, sock(k, 1, 10, pA, StateEstablished))
	a := New(Config{ClosedGrace: 5 * time.Second})
	sent := func(rep Report) uint64 {
		for _, p := range rep.Processes {
			if p.Process.Key == pA {
				return p.SentBytes
			}
		}
		return 0
	}
	a.Since(1)
	rep := a.Update(t0, []FlowStat{{Key: k, SentBytes: 100, SinceSent: 100}}, tab)
	if got := sent(rep); got != 100 || len(a.flows) != 1 {
		t.Fatalf("first join: %d bytes, %d counters kept; want 100 bytes, the counters (no join before)", got, len(a.flows))
	}
	// Evicted and back within the step: 150 new bytes, 50 more than before.
	a.Since(2)
	rep = a.Update(t0.Add(time.Second), []FlowStat{{Key: k, SentBytes: 150, SinceSent: 150}}, nil)
	if got := sent(rep); got != 250 || len(a.flows) != 0 {
		t.Fatalf("second join: %d bytes, %d counters kept; want 250, none", got, len(a.flows))
	}
	a.Since(3)
	rep = a.Update(t0.Add(2*time.Second), []FlowStat{{Key: k, SentBytes: 170, SinceSent: 20}}, nil)
	if got := sent(rep); got != 270 || len(a.flows) != 0 {
		t.Fatalf("third join: %d bytes, %d counters kept; want 270, none", got, len(a.flows))
	}
	// Snapshot 4 was missed: counters again (none kept: all 200 count).
	a.Since(5)
	rep = a.Update(t0.Add(3*time.Second), []FlowStat{{Key: k, SentBytes: 200, SinceSent: 10}}, nil)
	if got := sent(rep); got != 470 || len(a.flows) != 1 {
		t.Fatalf("join after a missed snapshot: %d bytes, %d counters kept; want 470, the counters", got, len(a.flows))
	}
}

// TestUpdateSnapshotIsUpdate: joining a snapshot in place gives the report
// that joining its StatsOf copy does, step after step.
func TestUpdateSnapshotIsUpdate(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	a, b := New(Config{ClosedGrace: 5 * time.Second}), New(Config{ClosedGrace: 5 * time.Second})
	var keys []flows.Key
	var socks []Socket
	for i := range 30 {
		keys = append(keys, tcp(hostA, uint16(2000+i), remB, 443))
		socks = append(socks, sock(keys[i], 1, uint32(100+i), pA, StateEstablished))
	}
	at := t0
	for step := range 20 {
		at = at.Add(time.Second)
		snap := &flows.Snapshot{Seq: uint64(step + 1), Time: at, Since: true}
		for i, k := range keys {
			if r.IntN(3) == 0 {
				continue
			}
			c := uint64((step + 1) * (i + 1) * 10)
			snap.Flows = append(snap.Flows, flows.FlowStat{Key: k, Counts: flows.Counts{SentBytes: c, RecvBytes: c / 2},
				Since: flows.Since{SentBytes: c / 3}, Rates: flows.Rates{R10: flows.Rate{SentBytesPerSec: float64(i)}}})
		}
		a.Since(snap.Seq)
		b.Since(snap.Seq)
		ra := a.Update(at, StatsOf(snap), table(at, socks...))
		rb := b.UpdateSnapshot(at, snap, table(at, socks...))
		if !reflect.DeepEqual(ra, rb) {
			t.Fatalf("step %d: UpdateSnapshot's report differs from Update's", step)
		}
	}
}
