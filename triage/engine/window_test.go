package engine

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"netriage/triage/flows"
)

// instance is one life of a flow in a model flow table: a key and the
// first packet's time; a key evicted and seen again is a new instance.
type instance struct {
	key   flows.Key
	first time.Time
}

// TestBaselinesMatchModel steps random flow tables (flows that stay,
// flows that leave, keys that come back as new flows, a flood's worth of
// one-step flows) through the baselines and windowFlows, and holds each
// window's per-flow counts to the definition: what the same flow
// instance (key and first packet) counted since the baseline's step, all
// of it when the instance began after that step. The pruned baselines must
// give the same counts as keeping every flow of every baseline.
func TestBaselinesMatchModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 40 {
		window := 10 * time.Second
		maxFlows := []int{5, 50, 1000}[round%3]
		var bases baselines
		var hist []map[instance]flows.Counts // every step's instances
		var times []time.Time
		live := map[flows.Key]*flows.FlowStat{}
		at := t0
		for step := range 30 {
			at = at.Add(time.Second)
			// Evict some flows; re-create some of the keys later.
			for k := range live {
				if r.IntN(4) == 0 {
					delete(live, k)
				}
			}
			for range r.IntN(60) {
				k := flows.Key{Proto: flows.ProtoUDP, Local: local, Remote: netip.AddrFrom4([4]byte{198, 19, 0, byte(r.IntN(80))}), LocalPort: 53, RemotePort: uint16(1000 + r.IntN(3))}
				if _, ok := live[k]; !ok {
					first := at.Add(-time.Duration(1+r.IntN(900)) * time.Millisecond)
					live[k] = &flows.FlowStat{Key: k, First: first, Last: first}
				}
			}
			snap := &flows.Snapshot{Time: at}
			inst := map[instance]flows.Counts{}
			for _, f := range live {
				if r.IntN(3) > 0 {
					f.SentBytes += uint64(r.IntN(1500))
					f.RecvBytes += uint64(1 + r.IntN(1500))
					f.SentPackets++
					f.RecvPackets++
				}
				snap.Flows = append(snap.Flows, *f)
				inst[instance{f.Key, f.First}] = f.Counts
			}
			r.Shuffle(len(snap.Flows), func(i, j int) { snap.Flows[i], snap.Flows[j] = snap.Flows[j], snap.Flows[i] })
			hist = append(hist, inst)
			times = append(times, at)

			start := at.Add(-window + time.Duration(r.IntN(3000))*time.Millisecond)
			base := bases.at(snap, start, window, maxFlows)
			got, _ := windowFlows(snap, base, nil, nil)
			// The model: the baseline's step, found by its time.
			var before map[instance]flows.Counts
			if base != nil {
				for i, ti := range times {
					if ti.Equal(base.at) {
						before = hist[i]
					}
				}
				if before == nil {
					t.Fatalf("round %d step %d: baseline at %v is no step", round, step, base.at)
				}
			}
			want := map[flows.Key]flows.Counts{}
			for _, f := range snap.Flows {
				p := before[instance{f.Key, f.First}]
				c := flows.Counts{SentBytes: sub(f.SentBytes, p.SentBytes), RecvBytes: sub(f.RecvBytes, p.RecvBytes),
					SentPackets: sub(f.SentPackets, p.SentPackets), RecvPackets: sub(f.RecvPackets, p.RecvPackets)}
				if c.SentBytes+c.RecvBytes > 0 {
					want[f.Key] = c
				}
			}
			if len(got) != len(want) {
				t.Fatalf("round %d step %d: %d window flows, want %d", round, step, len(got), len(want))
			}
			for _, g := range got {
				w, ok := want[g.Key]
				if !ok || g.SentBytes != w.SentBytes || g.RecvBytes != w.RecvBytes || g.SentPackets != w.SentPackets || g.RecvPackets != w.RecvPackets {
					t.Fatalf("round %d step %d: %v counted %d/%d bytes %d/%d packets, want %+v", round, step, g.Key, g.SentBytes, g.RecvBytes, g.SentPackets, g.RecvPackets, w)
				}
			}
		}
	}
}

// TestBaselinesPruneAFlood: under a flood (more flows than maxFlows, every
// flow new at every step) a new baseline empties the older ones, so the
// baselines hold about one snapshot's flows, not one per quarter window.
func TestBaselinesPruneAFlood(t *testing.T) {
	var bases baselines
	at := t0
	stay := flows.FlowStat{Key: flows.Key{Proto: flows.ProtoTCP, Local: local, Remote: netip.MustParseAddr("198.19.9.9"), LocalPort: 22, RemotePort: 40000}, First: t0}
	for step := range 40 {
		at = at.Add(time.Second)
		snap := &flows.Snapshot{Time: at}
		stay.SentBytes += 100
		snap.Flows = append(snap.Flows, stay)
		for i := range 1000 {
			k := flows.Key{Proto: flows.ProtoUDP, Local: local, Remote: netip.AddrFrom4([4]byte{198, 18, byte(step), byte(i >> 8)}), LocalPort: 53, RemotePort: uint16(i)}
			snap.Flows = append(snap.Flows, flows.FlowStat{Key: k, First: at.Add(-500 * time.Millisecond), Counts: flows.Counts{RecvBytes: 92, RecvPackets: 1}})
		}
		base := bases.at(snap, at.Add(-10*time.Second), 10*time.Second, 100)
		held := 0
		for _, b := range bases {
			held += len(b.counts)
		}
		if step >= 5 && held > len(snap.Flows)+len(bases) {
			t.Fatalf("step %d: %d baselines hold %d flows, want at most one snapshot's %d (+ the staying flow in each)", step, len(bases), held, len(snap.Flows))
		}
		if base != nil {
			if c := base.countsOf(&snap.Flows[0]); step > 12 && c.SentBytes == 0 {
				t.Fatalf("step %d: the staying flow lost its baseline", step)
			}
		}
	}
}
