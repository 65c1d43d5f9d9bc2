package metrics

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netriage/triage/attrib"
	"netriage/triage/egress"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/triage/verdict"
)

// tableSource is a FlowSource over a real flow table, whose snapshots
// carry each flow's bytes since the last one (Since); noSince hides them,
// so the consumers count by the counters they keep.
type tableSource struct {
	tb      *flows.Table
	noSince bool
}

func (s *tableSource) Snapshot(now time.Time) flows.Snapshot {
	snap := s.tb.Snapshot(now, flows.By5Tuple)
	if s.noSince {
		snap.Since = false
		for i := range snap.Flows {
			snap.Flows[i].Since = flows.Since{}
		}
	}
	return snap
}

// TestSinceCountsAsTheCounters runs two engines, each over a flow table
// fed the same packets (flows evicted at the cap and expired, processes
// owning some of them), one whose snapshots carry Since and one without,
// with the attribution, the egress rows and serve's Builder: the join's
// per-process bytes and connection rows, the egress rows and every State
// must be the same at every step. (Keys never come back after they left:
// a key re-created within a step is where counting by kept counters can
// take the new flow's bytes for the old one's growth, and Since cannot.)
func TestSinceCountsAsTheCounters(t *testing.T) {
	type side struct {
		src *tableSource
		e   *engine.Engine
		b   *Builder
	}
	et, err := egress.NewTable(egress.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	owner := map[flows.Key]int32{}
	ps := procs{7: {Program: "iperf3"}, 8: {Program: "nginx"}}
	mk := func(noSince bool) *side {
		src := &tableSource{tb: flows.NewTable(flows.TableConfig{MaxFlows: 150, IdleTimeout: 4 * time.Second, Local: flows.NewLocal(netip.PrefixFrom(local, 32))}), noSince: noSince}
		sk := &fakeSockets{table: func() *attrib.SocketTable { return tableOf(ps, owner) }}
		cfg := engine.Config{Judge: true, Hold: true, Watched: []string{"eth0"}, Window: 3 * time.Second, Thresholds: verdict.DefaultThresholds(),
			CaptureInterfaces: []string{"eth0"}, Attribution: attrib.Config{ClosedGrace: 10 * time.Second}, Egress: et}
		e := engine.New(engine.Inputs{Flows: src, Links: &fakeLinks{rx: 1e6, tx: 1e8, speedBps: 1e9}, Sockets: sk}, cfg)
		return &side{src: src, e: e, b: NewBuilder(Options{Watched: []string{"eth0"}, Caps: DefaultCaps(), Egress: et})}
	}
	with, without := mk(false), mk(true)
	r := rand.New(rand.NewPCG(9, 9))
	var live []flows.Key
	next := 0
	at := t0
	for step := range 40 {
		var pkts []flows.Packet
		add := func(k flows.Key) {
			p := flows.Packet{Time: at.Add(time.Duration(r.IntN(999)) * time.Millisecond), Proto: k.Proto, Src: k.Local, SrcPort: k.LocalPort, Dst: k.Remote, DstPort: k.RemotePort, Length: uint32(60 + r.IntN(1400))}
			if r.IntN(2) == 0 {
				p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
			}
			pkts = append(pkts, p)
		}
		// Every live key at every step, so the table's LRU evicts only
		// keys retired from live (the cap, 150, is above the live keys and
		// a step's new ones); retired keys also expire.
		for _, k := range live {
			add(k)
		}
		for range r.IntN(40) {
			next++
			k := flows.Key{Proto: flows.ProtoUDP, Local: local, Remote: netip.AddrFrom4([4]byte{198, 19, byte(next >> 8), byte(next)}), LocalPort: 53, RemotePort: uint16(1000 + next%7)}
			if next%5 == 0 {
				k.Proto, k.RemotePort = flows.ProtoTCP, 443
				owner[k] = int32(7 + next%2)
			}
			live = append(live, k)
			add(k)
		}
		for range r.IntN(200) {
			add(live[r.IntN(len(live))])
		}
		if len(live) > 100 {
			live = live[len(live)-60:] // the rest never comes back
		}
		at = at.Add(time.Second)
		var states [2]*State
		var snaps [2]*engine.Snapshot
		for i, sd := range []*side{with, without} {
			for j := range pkts {
				sd.src.tb.Update(&pkts[j])
			}
			sd.src.tb.Expire(at)
			snaps[i] = sd.e.Step(engine.Tick{Time: at})
			states[i] = sd.b.Step(snaps[i])
		}
		a, b := snaps[0], snaps[1]
		if !a.Flows.Since || b.Flows.Since {
			t.Fatalf("step %d: fixture: since %v and %v", step, a.Flows.Since, b.Flows.Since)
		}
		if diff := cmp.Diff(b.Attribution.Processes, a.Attribution.Processes); diff != "" {
			t.Fatalf("step %d: per-process rows differ (-without +with since):\n%s", step, diff)
		}
		if !reflect.DeepEqual(a.Attribution.Unattributed, b.Attribution.Unattributed) {
			t.Fatalf("step %d: unattributed rows differ:\nwith since %+v\nwithout    %+v", step, a.Attribution.Unattributed, b.Attribution.Unattributed)
		}
		if !reflect.DeepEqual(a.Egress, b.Egress) {
			t.Fatalf("step %d: egress rows differ:\nwith since %+v\nwithout    %+v", step, a.Egress, b.Egress)
		}
		if diff := cmp.Diff(states[1], states[0]); diff != "" {
			t.Fatalf("step %d: states differ (-without +with since):\n%s", step, diff)
		}
	}
	if tb := with.src.tb; tb.Evicted() == 0 || tb.Expired() == 0 {
		t.Errorf("fixture: %d flows evicted, %d expired; want both", tb.Evicted(), tb.Expired())
	}
	if n := len(with.b.prevFlows) + len(with.b.curFlows); n != 0 {
		t.Errorf("with Since the builder kept %d flows' counters", n)
	}
}
