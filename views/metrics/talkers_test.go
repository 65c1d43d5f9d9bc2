package metrics

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netriage/triage/attrib"
	"netriage/triage/engine"
	"netriage/triage/flows"
)

// Random traffic over a small flow table: flows come and go (evicted,
// expired, re-created), processes own some of them, others have none.
// At every step each family sums exactly to the flow bytes, no group
// passes its cap and no counter goes back.
func TestSumsHoldUnderChurn(t *testing.T) {
	caps := Caps{TopK: 3, KeepRank: 6, MinShare: 0.01, Idle: 5 * time.Second}
	rng := rand.New(rand.NewPCG(1, 2))
	ft := newFlowTable(40)
	ps := procs{}
	for pid := int32(1); pid <= 20; pid++ {
		ps[pid] = &attrib.Process{Program: fmt.Sprintf("prog%d", pid%12)} // some programs share a name
	}
	owner := map[flows.Key]int32{}
	var keys []flows.Key
	for i := 0; i < 200; i++ {
		k := keyTo(remoteN(i%70), uint16(20000+i))
		keys = append(keys, k)
		if i%4 != 0 { // a quarter of the flows have no socket
			owner[k] = int32(1 + i%20)
		}
	}
	sk := &fakeSockets{table: func() *attrib.SocketTable { return tableOf(ps, owner) }}
	r := newRig(ft, &fakeLinks{rx: 1e6, tx: 1e6, speedBps: 1e9}, sk, caps, nil)
	var prev *State
	retiredSeen := false
	for step := 0; step < 300; step++ {
		// A burst now and then gives a few talkers the top, then they fade.
		n := 5 + rng.IntN(30)
		for j := 0; j < n; j++ {
			k := keys[rng.IntN(len(keys))]
			size := uint64(rng.IntN(5000))
			if rng.IntN(10) == 0 {
				size *= 200
			}
			ft.add(k, size, uint64(rng.IntN(3000)))
		}
		if rng.IntN(5) == 0 {
			ft.expire(keys[rng.IntN(len(keys))])
		}
		st := r.step()
		checkState(t, st, prev, caps)
		if st.Capture.Remotes[1].Retired > 0 {
			retiredSeen = true
		}
		prev = st
	}
	if !retiredSeen {
		t.Error("no series was ever retired: the test does not exercise churn")
	}
	c := prev.Capture
	if c.FlowBytes[1] != ft.other.SentBytes+sumSent(ft) {
		t.Errorf("flow bytes %d, the table's total %d", c.FlowBytes[1], ft.other.SentBytes+sumSent(ft))
	}
}

func sumSent(ft *flowTable) uint64 {
	var n uint64
	for _, f := range ft.flows {
		n += f.SentBytes
	}
	return n
}

// A random-source flood of 100,000 distinct remotes (2,000 new ones a
// step for 50 steps, through a table of 2,000 flows) beside one heavy
// peer: the series count stays at or under the caps at every step, the
// heavy peer keeps its series, other absorbs the flood and the sums still
// hold. With the default MinShare no flood remote gets a series; with
// none, flood remotes take the free ranks (and churn through them), and
// the caps are what holds.
func TestSeriesBoundedUnder100kRemotes(t *testing.T) {
	noShare := DefaultCaps()
	noShare.MinShare = 0
	for _, tc := range []struct {
		name string
		caps Caps
	}{{"default caps", DefaultCaps()}, {"no min share", noShare}} {
		t.Run(tc.name, func(t *testing.T) {
			caps := tc.caps
			ft := newFlowTable(2000)
			heavy := keyTo(netip.MustParseAddr("198.18.9.9"), 5201)
			owner := map[flows.Key]int32{heavy: 7}
			ps := procs{7: {Program: "iperf3"}}
			sk := &fakeSockets{table: func() *attrib.SocketTable { return tableOf(ps, owner) }}
			r := newRig(ft, &fakeLinks{rx: 1e6, tx: 1e8, speedBps: 1e9}, sk, caps, nil)
			var prev *State
			maxSeries, maxRx, remote := 0, 0, 0
			for step := 0; step < 50; step++ {
				for j := 0; j < 2000; j++ {
					if j%500 == 0 { // the heavy flow's packets come between the flood's
						ft.add(heavy, 2_500_000, 25_000)
					}
					n := remote + 0x1000 // clear of the local address and the heavy peer
					a := netip.AddrFrom4([4]byte{198, 18 + byte(n>>16), byte(n >> 8), byte(n)})
					remote++
					ft.add(flows.Key{Proto: flows.ProtoUDP, Local: local, Remote: a, LocalPort: 53, RemotePort: uint16(1024 + remote%60000)}, 0, 64)
				}
				st := r.step()
				checkState(t, st, prev, caps)
				maxSeries = max(maxSeries, st.Capture.Series())
				maxRx = max(maxRx, len(st.Capture.Remotes[0].Series))
				prev = st
			}
			if remote != 100_000 {
				t.Fatalf("%d remotes, want 100000", remote)
			}
			limit := 4 * (caps.KeepRank + 1)
			if maxSeries > limit {
				t.Errorf("%d talker series at most, cap %d", maxSeries, limit)
			}
			c := prev.Capture
			if _, ok := series(c.Remotes[1], "198.18.9.9"); !ok {
				t.Errorf("the heavy peer has no tx series: %+v", c.Remotes[1].Series)
			}
			if _, ok := series(c.Processes[1], "iperf3"); !ok {
				t.Errorf("iperf3 has no tx series: %+v", c.Processes[1].Series)
			}
			if c.Remotes[0].Other < 100_000*64*9/10 {
				t.Errorf("rx other %d, want most of the flood's %d bytes", c.Remotes[0].Other, 100_000*64)
			}
			// The flood's rx is 64 bytes from each of 100,000 remotes,
			// far below 1% of the direction each.
			switch {
			case caps.MinShare > 0 && maxRx > 1:
				t.Errorf("%d rx remote series: the flood churned series", maxRx)
			case caps.MinShare == 0 && (maxRx < caps.TopK || maxRx > caps.KeepRank):
				t.Errorf("%d rx remote series at most, want the flood in the free ranks (%d..%d)", maxRx, caps.TopK, caps.KeepRank)
			}
			t.Logf("talker series at most %d (cap %d), rx remote series at most %d, rx other %d bytes, retired %d",
				maxSeries, limit, maxRx, c.Remotes[0].Other, c.Remotes[0].Retired)
		})
	}
}

// stepOf makes a step map of remote talkers 1..n with the given rates
// (and as many bytes).
func stepOf(rates map[int]float64) map[talkerKey]stepTalker {
	m := map[talkerKey]stepTalker{}
	for i, r := range rates {
		m[talkerKey{addr: remoteN(i)}] = stepTalker{delta: uint64(r), score: r}
	}
	return m
}

func membersOf(g *group) map[int]bool {
	out := map[int]bool{}
	for k := range g.members {
		out[int(k.addr.As4()[3])] = true
	}
	return out
}

func total(rates map[int]float64) (uint64, float64) {
	var n uint64
	var s float64
	for _, r := range rates {
		n += uint64(r)
		s += r
	}
	return n, s
}

// A talker enters at rank TopK or better, keeps its series down to rank
// KeepRank, and leaves below it, handing its bytes to other.
func TestStickiness(t *testing.T) {
	c := Caps{TopK: 2, KeepRank: 4, MinShare: 0, Idle: time.Hour}
	g := newGroup()
	at := t0
	run := func(rates map[int]float64) map[int]bool {
		n, s := total(rates)
		g.update(stepOf(rates), n, s, at, c)
		at = at.Add(time.Second)
		return membersOf(g)
	}
	steps := []struct {
		name  string
		rates map[int]float64
		want  []int
	}{
		{"top 2 enter, rank 3 does not", map[int]float64{1: 100, 2: 90, 3: 80}, []int{1, 2}},
		{"a newcomer at rank 1 enters, ranks 2 and 3 stay", map[int]float64{1: 100, 2: 90, 3: 80, 4: 200}, []int{1, 2, 4}},
		{"rank 4 stays, rank 5 leaves; newcomers enter at ranks 1 and 2", map[int]float64{5: 500, 6: 400, 4: 300, 1: 50, 2: 40}, []int{1, 4, 5, 6}},
		{"below rank 4 they leave", map[int]float64{7: 900, 8: 800, 9: 700, 10: 600, 4: 10, 1: 5}, []int{7, 8}},
	}
	var sum uint64
	for _, s := range steps {
		got := run(s.rates)
		n, _ := total(s.rates)
		sum += n
		want := map[int]bool{}
		for _, w := range s.want {
			want[w] = true
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: members %v, want %v", s.name, got, want)
		}
		var in uint64
		for _, m := range g.members {
			in += m.bytes
		}
		if in+g.other != sum {
			t.Errorf("%s: Σ series %d + other %d ≠ %d", s.name, in, g.other, sum)
		}
		if len(g.members) > c.KeepRank {
			t.Errorf("%s: %d series over the cap %d", s.name, len(g.members), c.KeepRank)
		}
	}
	if g.retired == 0 || g.retired > g.other {
		t.Errorf("retired %d, other %d", g.retired, g.other)
	}
}

// Over the cap, the KeepRank best stay: at most KeepRank series, the
// members preferred on a tie.
func TestStickyCapExact(t *testing.T) {
	c := Caps{TopK: 2, KeepRank: 4, Idle: time.Hour}
	g := newGroup()
	r1 := map[int]float64{1: 100, 2: 90}
	n, s := total(r1)
	g.update(stepOf(r1), n, s, t0, c)
	// 5 and 6 lead; 1 and 2 are ranks 4 and 5: 1 stays, 2 leaves.
	r2 := map[int]float64{5: 500, 6: 400, 3: 300, 1: 50, 2: 40}
	n, s = total(r2)
	g.update(stepOf(r2), n, s, t0.Add(time.Second), c)
	if got := fmt.Sprint(membersOf(g)); got != fmt.Sprint(map[int]bool{1: true, 5: true, 6: true}) {
		t.Errorf("members %v, want 1, 5, 6", got)
	}
	// A tie between a member and a newcomer at the last kept rank keeps
	// the member.
	r3 := map[int]float64{5: 500, 6: 400, 3: 300, 1: 50, 9: 50}
	n, s = total(r3)
	g.update(stepOf(r3), n, s, t0.Add(2*time.Second), c)
	if !membersOf(g)[1] {
		t.Errorf("the member lost its series on a tie: %v", membersOf(g))
	}
}

// A member that carries nothing for Idle leaves; before that it stays.
func TestIdleRetires(t *testing.T) {
	c := Caps{TopK: 3, KeepRank: 6, Idle: 3 * time.Second}
	g := newGroup()
	r := map[int]float64{1: 100}
	n, s := total(r)
	g.update(stepOf(r), n, s, t0, c)
	for i := 1; i <= 3; i++ {
		g.update(map[talkerKey]stepTalker{}, 0, 0, t0.Add(time.Duration(i)*time.Second), c)
		if stays := len(g.members) == 1; stays != (i < 3) {
			t.Errorf("after %d idle seconds: member %v", i, stays)
		}
	}
	if g.other != 100 || g.retired != 100 {
		t.Errorf("other %d, retired %d; want the retired series' 100 bytes in both", g.other, g.retired)
	}
}

// A talker below MinShare never gets a series, even at rank 1 of the rest.
func TestMinShare(t *testing.T) {
	c := Caps{TopK: 10, KeepRank: 20, MinShare: 0.05, Idle: time.Hour}
	g := newGroup()
	r := map[int]float64{}
	for i := 1; i <= 50; i++ {
		r[i] = 1 // 2% each
	}
	r[99] = 1000
	n, s := total(r)
	g.update(stepOf(r), n, s, t0, c)
	if got := membersOf(g); len(got) != 1 || !got[99] {
		t.Errorf("members %v, want only the talker above 5%%", got)
	}
}

// selectTop ranks like a full sort.
func TestSelectTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var cs []cand
	for i := 0; i < 500; i++ {
		cs = append(cs, cand{key: talkerKey{addr: remoteN(i)}, score: float64(rng.IntN(50)), delta: uint64(rng.IntN(3))})
	}
	top := selectTop(nil, cs, 20)
	all := selectTop(nil, cs, len(cs))
	for i := range top {
		if top[i].key != all[i].key {
			t.Fatalf("rank %d: %v, full sort %v", i+1, top[i].key, all[i].key)
		}
	}
}

// TestStepKeepsNothing: serve lets the engine write each step's
// connection rows into the storage of the last step's report
// (ReleaseAttribution), since Step reads a snapshot and keeps nothing of
// it. The States of a run with it must equal, field for field and also
// after the later steps, those of the same run without it.
func TestStepKeepsNothing(t *testing.T) {
	run := func(release bool) []*State {
		ft := newFlowTable(300)
		owner := map[flows.Key]int32{}
		ps := procs{7: {Program: "iperf3"}, 8: {Program: "nginx"}}
		var keys []flows.Key
		for i := range 40 {
			k := keyTo(netip.AddrFrom4([4]byte{198, 18, 7, byte(i)}), uint16(5000+i))
			keys = append(keys, k)
			owner[k] = int32(7 + i%2)
		}
		sk := &fakeSockets{table: func() *attrib.SocketTable { return tableOf(ps, owner) }}
		r := newRig(ft, &fakeLinks{rx: 1e6, tx: 1e8, speedBps: 1e9}, sk, DefaultCaps(), nil, func(c *engine.Config) { c.ReleaseAttribution = release })
		var out []*State
		remote := 0
		for step := range 30 {
			for j, k := range keys {
				if (j+step)%3 != 0 {
					ft.add(k, uint64(1000*(j+1)), uint64(100*(step+1)))
				}
			}
			for range 200 {
				remote++
				a := netip.AddrFrom4([4]byte{198, 19, byte(remote >> 8), byte(remote)})
				ft.add(flows.Key{Proto: flows.ProtoUDP, Local: local, Remote: a, LocalPort: 53, RemotePort: uint16(1024 + remote%60000)}, 0, 64)
			}
			out = append(out, r.step())
		}
		return out
	}
	want, got := run(false), run(true)
	for i := range want {
		if diff := cmp.Diff(want[i], got[i]); diff != "" {
			t.Fatalf("step %d differs with the reports' storage reused (-without +with):\n%s", i+1, diff)
		}
	}
}
