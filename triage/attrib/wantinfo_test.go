package attrib

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"netriage/triage/flows"
)

// wantSim runs the Attributor as the engine does in capture mode, one
// step a second: the capture's snapshot, WantInfo, a socket table with
// tcp_info of the sockets named only (every socket's at the first step),
// Observe, then the join.
type wantSim struct {
	a     *Attributor
	max   int
	conns []*simConn
	// asked are the cookies the latest step's table had tcp_info of.
	asked []uint64
}

// simConn is one connection: its flow in the capture and its socket.
type simConn struct {
	key    flows.Key
	cookie uint64 // 0: no socket (a forwarded flow)
	// active says whether the connection carries bytes in step k.
	active func(k int) bool
	// rate is its 2 s rate while active, bytes per second.
	rate  float64
	sendQ uint32
	// info is the socket's tcp_info at step k.
	info  func(k int) TCPInfo
	bytes uint64
	last  time.Time
	// noFlowUntil leaves the flow out of the capture before that step.
	noFlowUntil int
}

func (w *wantSim) step(t *testing.T, k int) (Report, []SocketRef) {
	t.Helper()
	now := t0.Add(time.Duration(k) * time.Second)
	snap := flows.Snapshot{Time: now}
	for _, c := range w.conns {
		if k < c.noFlowUntil {
			continue
		}
		r := flows.Rates{}
		if c.active(k) {
			c.bytes += uint64(c.rate)
			c.last = now.Add(-100 * time.Millisecond)
			r.R2 = flows.Rate{SentBytesPerSec: c.rate}
		}
		snap.Flows = append(snap.Flows, flows.FlowStat{Key: c.key, Counts: flows.Counts{SentBytes: c.bytes}, Rates: r, Last: c.last, Flows: 1})
	}
	refs := w.a.WantInfo(&snap, w.max)
	named := map[uint64]bool{}
	for _, r := range refs {
		named[r.Cookie] = true
	}
	var socks []Socket
	w.asked = w.asked[:0]
	for _, c := range w.conns {
		if c.cookie == 0 {
			continue
		}
		s := sock(c.key, 1, uint32(c.cookie), pA, StateEstablished)
		s.Cookie, s.SendQ = c.cookie, c.sendQ
		if k == 0 || named[c.cookie] {
			ti := c.info(k)
			s.TCP = &ti
			w.asked = append(w.asked, c.cookie)
		}
		socks = append(socks, s)
	}
	tab := table(now, socks...)
	tab.InfoSelected = k > 0
	w.a.Observe(now, tab)
	return w.a.Update(now, StatsOf(&snap), nil), refs
}

// healthOf returns the word of the connection of key in rep.
func healthOf(rep Report, key flows.Key) *TCPHealth {
	for i := range rep.Connections {
		if rep.Connections[i].Key == key {
			return rep.Connections[i].TCP
		}
	}
	return nil
}

func cookies(refs []SocketRef) []uint64 {
	var out []uint64
	for _, r := range refs {
		out = append(out, r.Cookie)
	}
	return out
}

// newWantSim has four connections of one process and a forwarded flow:
//
//   - c1 sends all the time, busy 10% of it (application);
//   - c2 is idle until step 3, then sends as c1 does, faster;
//   - c3 is idle throughout;
//   - c4 has data queued and nothing captured (a retransmission timer
//     backing off): every second one more segment retransmitted;
//   - a forwarded flow, the busiest, has no socket.
func newWantSim(room int) (*wantSim, []*simConn) {
	// sender sends from step from on (until step until).
	sender := func(from, until int) func(int) TCPInfo {
		return func(k int) TCPInfo {
			ti := base()
			n := uint64(max(0, min(k, until)-from))
			ti.BytesAcked, ti.BytesSent, ti.BusyTime = n*1e6, n*1e6, n*1e5
			return ti
		}
	}
	idle := func(int) TCPInfo { return base() }
	stalled := func(k int) TCPInfo {
		ti := base()
		ti.Unacked, ti.TotalRetrans = 2, uint32(k)
		ti.BytesRetrans, ti.BytesSent, ti.BusyTime = uint64(k)*1448, uint64(k)*1448, uint64(k)*1e6
		return ti
	}
	always := func(int) bool { return true }
	never := func(int) bool { return false }
	conns := []*simConn{
		{key: tcp(hostA, 40001, remB, 443), cookie: 1, active: always, rate: 1e6, info: sender(0, 1<<30)},
		{key: tcp(hostA, 40002, remB, 443), cookie: 2, active: func(k int) bool { return k >= 3 }, rate: 2e6, info: sender(2, 1<<30)},
		{key: tcp(hostA, 40003, remB, 443), cookie: 3, active: never, info: idle},
		{key: tcp(hostA, 40004, remB, 443), cookie: 4, active: never, sendQ: 2896, info: stalled},
		{key: tcp(remB, 50000, ctrC.Next(), 80), active: always, rate: 1e9},
	}
	for _, c := range conns {
		c.bytes, c.last = 5000, t0.Add(-time.Minute)
	}
	return &wantSim{a: New(Config{ClosedGrace: 10 * time.Second}), max: room, conns: conns}, conns
}

// TestWantInfoWords: with tcp_info read of the sockets WantInfo names
// only, every connection still gets its word each second: the busy ones
// and those with data queued from their samples, the idle ones from the
// capture (RuleQuiet); one that wakes up gets its word at once, its base
// having been carried on while it was quiet.
func TestWantInfoWords(t *testing.T) {
	w, c := newWantSim(MaxInfoSockets)
	if refs := w.a.WantInfo(&flows.Snapshot{}, 10); refs != nil {
		t.Fatalf("before the first table: %v", refs)
	}
	type want struct {
		refs  []uint64
		limit [4]Limit
		rule  [4]Rule
	}
	steps := []want{
		// Every socket's tcp_info: one sample each.
		{nil, [4]Limit{}, [4]Rule{RuleOneSample, RuleOneSample, RuleOneSample, RuleOneSample}},
		// The first join knew no step: all asked again.
		{[]uint64{1, 2, 3, 4}, [4]Limit{LimitApplication, LimitIdle, LimitIdle, LimitNetwork}, [4]Rule{RuleBusyLow, RuleIdle, RuleIdle, RuleRetrans}},
		// The busy one and the one with data queued; the quiet ones from
		// the capture.
		{[]uint64{1, 4}, [4]Limit{LimitApplication, LimitIdle, LimitIdle, LimitNetwork}, [4]Rule{RuleBusyLow, RuleQuiet, RuleQuiet, RuleRetrans}},
		// c2 wakes up, the busiest socket now: its word at once.
		{[]uint64{2, 1, 4}, [4]Limit{LimitApplication, LimitApplication, LimitIdle, LimitNetwork}, [4]Rule{RuleBusyLow, RuleBusyLow, RuleQuiet, RuleRetrans}},
		{[]uint64{2, 1, 4}, [4]Limit{LimitApplication, LimitApplication, LimitIdle, LimitNetwork}, [4]Rule{RuleBusyLow, RuleBusyLow, RuleQuiet, RuleRetrans}},
	}
	for k, st := range steps {
		rep, refs := w.step(t, k)
		if got := cookies(refs); !slices.Equal(got, st.refs) {
			t.Errorf("step %d: WantInfo named %v, want %v", k, got, st.refs)
		}
		for i := range 4 {
			h := healthOf(rep, c[i].key)
			if h == nil {
				t.Errorf("step %d: c%d has no word", k+1, i+1)
				continue
			}
			if h.Limit != st.limit[i] || h.Rule != st.rule[i] {
				t.Errorf("step %d: c%d %s (%s), want %s (rule %d)", k, i+1, h.Limit, h.Why(), st.limit[i], st.rule[i])
			}
			if k > 0 && h.Interval != time.Second {
				t.Errorf("step %d: c%d interval %s", k, i+1, h.Interval)
			}
			if h.Rule == RuleQuiet && (h.RTT != time.Millisecond || h.Cwnd != 10) {
				t.Errorf("step %d: c%d quiet word without its last sample's numbers: %+v", k, i+1, h)
			}
		}
	}
	if h := healthOf(w.stepN(t, 5), c[2].key); h == nil || h.Why() != "no packets captured, nothing queued" {
		t.Errorf("quiet word: %+v", h)
	}
}

func (w *wantSim) stepN(t *testing.T, k int) Report {
	rep, _ := w.step(t, k)
	return rep
}

// TestWantInfoNoFlowYet: a connection whose flow the capture did not have
// (quiet since before the start) gets one sample in its first busy second,
// nothing having said it was quiet before, and its word the next.
func TestWantInfoNoFlowYet(t *testing.T) {
	w, c := newWantSim(MaxInfoSockets)
	c[1].noFlowUntil = 3 // c2 wakes up at step 3
	for k := 0; k < 3; k++ {
		w.step(t, k)
	}
	rep, refs := w.step(t, 3)
	if !slices.Contains(cookies(refs), 2) {
		t.Fatalf("step 3 named %v, want c2 among them", cookies(refs))
	}
	if h := healthOf(rep, c[1].key); h == nil || h.Rule != RuleOneSample {
		t.Errorf("c2's first busy second: %+v, want one sample", h)
	}
	rep, _ = w.step(t, 4)
	if h := healthOf(rep, c[1].key); h == nil || h.Limit != LimitApplication || h.Interval != time.Second {
		t.Errorf("c2's second busy second: %+v, want application", h)
	}
}

// TestWantInfoCap: with room for two sockets, the busiest connections
// come first; one left out while it carries bytes has no word, and its
// next sample starts again (its base says nothing of the seconds missed).
func TestWantInfoCap(t *testing.T) {
	w, c := newWantSim(2)
	for k := 0; k < 3; k++ {
		w.step(t, k)
	}
	rep, refs := w.step(t, 3)
	if got := cookies(refs); !slices.Equal(got, []uint64{2, 1}) {
		t.Fatalf("named %v, want the two busiest, c2 then c1", got)
	}
	if h := healthOf(rep, c[3].key); h != nil {
		t.Errorf("c4, left out with data queued, has a word: %s", h.Why())
	}
	if h := healthOf(rep, c[2].key); h == nil || h.Rule != RuleQuiet {
		t.Errorf("c3, left out and quiet: %+v", h)
	}
	// c1 stops after step 3. At step 4 its last packet is within
	// wantSlack: it is sampled, and found idle.
	w.conns[0].active = func(k int) bool { return k < 4 }
	w.conns[0].info = func(k int) TCPInfo {
		ti := base()
		n := uint64(min(k, 3))
		ti.BytesAcked, ti.BytesSent, ti.BusyTime = n*1e6, n*1e6, n*1e5
		return ti
	}
	rep, refs = w.step(t, 4)
	if got := cookies(refs); !slices.Equal(got, []uint64{2, 1}) {
		t.Errorf("step 4 named %v, want c2 and c1", got)
	}
	if h := healthOf(rep, c[0].key); h == nil || h.Rule != RuleIdle {
		t.Errorf("c1 at step 4: %+v, want idle from its sample", h)
	}
	// Then c4 has room: after seconds left out, its first sample starts
	// again; the next gives its word.
	rep, refs = w.step(t, 5)
	if got := cookies(refs); !slices.Equal(got, []uint64{2, 4}) {
		t.Errorf("step 5 named %v, want c2 and c4", got)
	}
	if h := healthOf(rep, c[3].key); h == nil || h.Rule != RuleOneSample {
		t.Errorf("c4 sampled after seconds left out: %+v, want one sample", h)
	}
	if h := healthOf(rep, c[0].key); h == nil || h.Rule != RuleQuiet {
		t.Errorf("c1, quiet: %+v", h)
	}
	rep, _ = w.step(t, 6)
	if h := healthOf(rep, c[3].key); h == nil || h.Rule != RuleRetrans || h.Interval != time.Second {
		t.Errorf("c4 at step 6: %+v, want network from two samples", h)
	}
}

// BenchmarkWantInfo is the engine's choice of sockets at one step with
// 10,000 connections in the table and the capture: 500 of them carrying
// bytes (more than MaxInfoSockets) or all of them (active=10000, the
// most to rank).
func BenchmarkWantInfo(b *testing.B) {
	const n = 10000
	socks := make([]Socket, n)
	snap := flows.Snapshot{Time: t0}
	for i := range socks {
		k := tcp(hostA, uint16(10000+i), remB, 443)
		socks[i] = sock(k, 1, uint32(i+1), pA, StateEstablished)
		socks[i].Cookie = uint64(i + 1)
		snap.Flows = append(snap.Flows, flows.FlowStat{Key: k, Counts: flows.Counts{SentBytes: 1000}, Last: t0.Add(-time.Minute), Flows: 1})
	}
	for _, active := range []int{500, n} {
		b.Run("active="+strconv.Itoa(active), func(b *testing.B) {
			a := New(Config{ClosedGrace: 10 * time.Second})
			a.Observe(t0, table(t0, socks...))
			a.Update(t0, StatsOf(&snap), nil)
			s := snap
			s.Flows = append([]flows.FlowStat(nil), snap.Flows...)
			for i := 0; i < active; i++ {
				s.Flows[i*(n/active)].Last = t0
				s.Flows[i*(n/active)].Rates.R2.SentBytesPerSec = float64(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if refs := a.WantInfo(&s, MaxInfoSockets); len(refs) != MaxInfoSockets {
					b.Fatalf("%d sockets named", len(refs))
				}
			}
		})
	}
}

// TestSelectTop: the first k after selectTop are the first k in order,
// for lengths and k around the edges, ties and runs included.
func TestSelectTop(t *testing.T) {
	seed := uint64(1)
	next := func() uint64 { seed = seed*6364136223846793005 + 1442695040888963407; return seed >> 33 }
	for _, n := range []int{1, 2, 3, 10, 100, 1000} {
		for _, k := range []int{1, 2, n / 2, n - 1, n} {
			if k < 1 || k > n {
				continue
			}
			for _, kind := range []string{"random", "ties", "ascending", "descending"} {
				c := make([]wantCand, n)
				for i := range c {
					switch kind {
					case "random":
						c[i] = wantCand{i, float64(next() % 1000)}
					case "ties":
						c[i] = wantCand{i, float64(next() % 3)}
					case "ascending":
						c[i] = wantCand{i, float64(i)}
					default:
						c[i] = wantCand{i, float64(n - i)}
					}
				}
				want := append([]wantCand(nil), c...)
				slices.SortFunc(want, wantCand.cmp)
				selectTop(c, k)
				got := append([]wantCand(nil), c[:k]...)
				slices.SortFunc(got, wantCand.cmp)
				if !slices.Equal(got, want[:k]) {
					t.Fatalf("n %d k %d %s: first k %v, want %v", n, k, kind, got, want[:k])
				}
			}
		}
	}
}
