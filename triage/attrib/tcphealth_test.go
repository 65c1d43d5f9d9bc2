package attrib

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"netriage/triage/flows"
)

// base is a busy bulk sender on a kernel with the whole struct: 1 ms RTT,
// cwnd 10, nothing retransmitted.
func base() TCPInfo {
	return TCPInfo{Size: 280, State: StateEstablished, SndMSS: 1448, RcvMSS: 536, RTT: 1000, RTTVar: 200, SndCwnd: 10,
		MinRTT: 900, PacingRate: 5e6, DeliveryRate: 4e6, RcvWnd: 65536}
}

// after returns a second sample dt later with f applied to base.
func after(p TCPInfo, f func(*TCPInfo)) TCPInfo {
	c := p
	f(&c)
	return c
}

func TestClassifyTCP(t *testing.T) {
	sec := time.Second
	p := base()
	tests := []struct {
		name  string
		prev  *TCPInfo
		cur   TCPInfo
		dt    time.Duration
		recvQ uint32
		want  Limit
		why   string
	}{
		{name: "one sample", cur: p, dt: sec, want: LimitUnknown, why: "one sample"},
		{name: "idle", prev: &p, cur: p, dt: sec, want: LimitIdle},
		{name: "loss", prev: &p, dt: sec, want: LimitNetwork, why: "retransmitted 2.0%", cur: after(p, func(c *TCPInfo) {
			c.BytesAcked, c.BytesSent, c.BytesRetrans, c.TotalRetrans, c.BusyTime = 1e6, 1e6, 2e4, 14, 9e5
		})},
		{name: "loss below threshold", prev: &p, dt: sec, want: LimitUnknown, why: "busy, no limit seen", cur: after(p, func(c *TCPInfo) {
			c.BytesAcked, c.BytesSent, c.BytesRetrans, c.TotalRetrans, c.BusyTime = 1e6, 1e6, 5e3, 4, 9e5
		})},
		{name: "receiver window", prev: &p, dt: sec, want: LimitReceiver, why: "receive window limited 80%", cur: after(p, func(c *TCPInfo) {
			c.BytesAcked, c.BytesSent, c.BusyTime, c.RwndLimited = 1e6, 1e6, 1e6, 8e5
		})},
		{name: "send buffer", prev: &p, dt: sec, want: LimitSender, why: "send buffer limited 60%", cur: after(p, func(c *TCPInfo) {
			c.BytesAcked, c.BytesSent, c.BusyTime, c.SndbufLimited = 1e6, 1e6, 1e6, 6e5
		})},
		{name: "application", prev: &p, dt: sec, want: LimitApplication, why: "data to send 10%", cur: after(p, func(c *TCPInfo) {
			c.BytesAcked, c.BytesSent, c.BusyTime = 1e6, 1e6, 1e5
		})},
		{name: "queue on the path", prev: &p, dt: sec, want: LimitNetwork, why: "RTT 30ms is 33.3× its minimum", cur: after(p, func(c *TCPInfo) {
			c.BytesAcked, c.BytesSent, c.BusyTime, c.RTT = 1e6, 1e6, 1e6, 30000
		})},
		{name: "RTT doubled but under 5 ms above its minimum", prev: &p, dt: sec, want: LimitUnknown, cur: after(p, func(c *TCPInfo) {
			c.BytesAcked, c.BytesSent, c.BusyTime, c.RTT = 1e6, 1e6, 1e6, 3000
		})},
		{name: "cwnd full", prev: &p, dt: sec, want: LimitNetwork, why: "congestion window full", cur: after(p, func(c *TCPInfo) {
			c.BytesAcked, c.BytesSent, c.BusyTime, c.Unacked = 1e6, 1e6, 1e6, 10
		})},
		{name: "loss outranks the receive window", prev: &p, dt: sec, want: LimitNetwork, cur: after(p, func(c *TCPInfo) {
			c.BytesAcked, c.BytesSent, c.BytesRetrans, c.TotalRetrans, c.BusyTime, c.RwndLimited = 1e6, 1e6, 5e4, 30, 1e6, 9e5
		})},
		{name: "receiving end, window open", prev: &p, dt: sec, want: LimitUnknown, why: "receiving", cur: after(p, func(c *TCPInfo) {
			c.BytesReceived = 1e6
		})},
		{name: "receiving end, application not reading", prev: &p, dt: sec, recvQ: 60000, want: LimitReceiver, why: "receive window 0 B", cur: after(p, func(c *TCPInfo) {
			c.BytesReceived, c.RcvWnd = 1e6, 0
		})},
		{name: "kernel 4.9: loss from segments", dt: sec, want: LimitNetwork, why: "retransmitted",
			prev: &TCPInfo{Size: 168, SndMSS: 1000, SndCwnd: 10},
			cur:  TCPInfo{Size: 168, SndMSS: 1000, SndCwnd: 10, BytesAcked: 1e6, TotalRetrans: 20}},
		{name: "kernel 4.9: app-limited flag", dt: sec, want: LimitApplication, why: "app-limited",
			prev: &TCPInfo{Size: 168, SndCwnd: 10},
			cur:  TCPInfo{Size: 168, SndCwnd: 10, BytesAcked: 1e5, AppLimited: true}},
		{name: "kernel 4.9: no busy times", dt: sec, want: LimitUnknown, why: "kernel without busy times",
			prev: &TCPInfo{Size: 168, SndCwnd: 10},
			cur:  TCPInfo{Size: 168, SndCwnd: 10, BytesAcked: 1e5}},
		{name: "kernel 3.x: no byte counters", dt: sec, want: LimitUnknown, why: "kernel without byte counters",
			prev: &TCPInfo{Size: 104}, cur: TCPInfo{Size: 104, TotalRetrans: 9}},
		{name: "counters went back", prev: &TCPInfo{Size: 280, BytesAcked: 1e9, TotalRetrans: 50, BusyTime: 1e9}, cur: p, dt: sec, want: LimitIdle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ClassifyTCP(tc.prev, &tc.cur, tc.dt, tc.recvQ)
			if got.Limit != tc.want || !strings.Contains(got.Why(), tc.why) {
				t.Errorf("got %s (%q), want %s (%q)", got.Limit, got.Why(), tc.want, tc.why)
			}
		})
	}
}

func TestHealthOfUnknowns(t *testing.T) {
	h := HealthOf(&TCPInfo{Size: 104, RTT: 1500, PacingRate: 7, DeliveryRate: 9, MinRTT: 3})
	if h.RTT != 1500*time.Microsecond || h.PacingBps != 0 || h.DeliveryBps != 0 || h.MinRTT != 0 || h.BusyShare != -1 {
		t.Errorf("%+v", h)
	}
	full := base()
	full.PacingRate = ^uint64(0) // unpaced
	if h := HealthOf(&full); h.PacingBps != 0 || h.DeliveryBps != 4e6 || h.MinRTT != 900*time.Microsecond {
		t.Errorf("%+v", h)
	}
}

// TestConnRowHealth runs the Attributor on two tables a second apart: the
// connection row carries its socket's word, from either side of the flow.
func TestConnRowHealth(t *testing.T) {
	l, r := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	t0 := time.Unix(1_700_000_000, 0)
	owner := ProcKey{PID: 10, StartTicks: 1}
	p := base()
	c := after(p, func(c *TCPInfo) { c.BytesAcked, c.BytesSent, c.BusyTime, c.RwndLimited = 1e6, 1e6, 1e6, 9e5 })
	tab := func(at time.Time, ti *TCPInfo) *SocketTable {
		return &SocketTable{Time: at, HostNetns: 1, LocalAddrs: map[netip.Addr]uint64{l: 1},
			Processes: map[ProcKey]*Process{owner: {Key: owner, Program: "send"}},
			Sockets: []Socket{{Proto: flows.ProtoTCP, Netns: 1, Local: l, Remote: r, LocalPort: 40000, RemotePort: 80,
				State: StateEstablished, Inode: 5, Owner: owner, Cookie: 3, TCP: ti}}}
	}
	a := New(Config{ClosedGrace: 10 * time.Second})
	key := flows.Key{Proto: flows.ProtoTCP, Local: l, Remote: r, LocalPort: 40000, RemotePort: 80}
	rep := a.Update(t0, []FlowStat{{Key: key}}, tab(t0, &p))
	if h := rep.Connections[0].TCP; h == nil || h.Limit != LimitUnknown {
		t.Fatalf("first table: %+v", h)
	}
	// A table 0.5 s later is not sampled: the word of one sample stays.
	rep = a.Update(t0.Add(time.Second/2), []FlowStat{{Key: key}}, tab(t0.Add(time.Second/2), &c))
	if h := rep.Connections[0].TCP; h == nil || h.Limit != LimitUnknown {
		t.Fatalf("0.5 s: %+v", h)
	}
	t1 := t0.Add(time.Second)
	rep = a.Update(t1, []FlowStat{{Key: key}}, tab(t1, &c))
	if h := rep.Connections[0].TCP; h == nil || h.Limit != LimitReceiver || h.RwndShare != 0.9 || h.Interval != time.Second {
		t.Fatalf("1 s: %+v", h)
	}
	// A table whose tcp_info was not read again (the source asks once a
	// second) is not sampled even a second later: the word stays.
	st := tab(t1.Add(time.Second), &p)
	st.InfoStale = true
	rep = a.Update(t1.Add(time.Second), []FlowStat{{Key: key}}, st)
	if h := rep.Connections[0].TCP; h == nil || h.Limit != LimitReceiver || h.Interval != time.Second {
		t.Fatalf("stale table: %+v", h)
	}
	// The flow seen from the far side (swapped) finds the same socket.
	rk := flows.Key{Proto: flows.ProtoTCP, Local: r, Remote: l, LocalPort: 80, RemotePort: 40000}
	rep = a.Update(t1, []FlowStat{{Key: rk}}, nil)
	if h := rep.Connections[0].TCP; h == nil || h.Limit != LimitReceiver {
		t.Fatalf("swapped: %+v", rep.Connections[0])
	}
	// A new socket on the same 5-tuple starts again.
	nt := tab(t1.Add(time.Second), &c)
	nt.Sockets[0].Cookie = 4
	rep = a.Update(t1.Add(time.Second), []FlowStat{{Key: key}}, nt)
	if h := rep.Connections[0].TCP; h == nil || h.Limit != LimitUnknown {
		t.Fatalf("new socket: %+v", h)
	}
}

// BenchmarkClassifyTCP is one word from two samples.
func BenchmarkClassifyTCP(b *testing.B) {
	p := base()
	c := after(p, func(c *TCPInfo) { c.BytesAcked, c.BytesSent, c.BusyTime, c.RwndLimited = 1e6, 1e6, 1e6, 9e5 })
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = ClassifyTCP(&p, &c, time.Second, 0)
	}
}

// BenchmarkHealthObserve is the tracker's work per second with 10,000
// established sockets refreshed four times a second: one sampling pass
// (a word per socket) and three tables it skips.
func BenchmarkHealthObserve(b *testing.B) {
	const n = 10000
	infos := make([]TCPInfo, n)
	socks := make([]Socket, n)
	l, r := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.5.5")
	for i := range socks {
		infos[i] = base()
		socks[i] = Socket{Proto: flows.ProtoTCP, Netns: 1, Local: l, Remote: r, LocalPort: uint16(10000 + i), RemotePort: 443, State: StateEstablished, Cookie: uint64(i), TCP: &infos[i]}
	}
	var h tcpHealth
	t := time.Unix(1_700_000_000, 0)
	h.observe(&SocketTable{Time: t, Sockets: socks})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for q := 0; q < 4; q++ {
			t = t.Add(250 * time.Millisecond)
			for j := range infos {
				infos[j].BytesAcked += 1000
				infos[j].BusyTime += 250000
			}
			h.observe(&SocketTable{Time: t, Sockets: socks})
		}
	}
}

// BenchmarkHealthRows is the tracker's work per second with 10,000
// established sockets refreshed four times a second, and the join's word
// lookup for each of their connections once a second (tcpHealth.row):
// every socket sampled (all, socket-counter mode or before WantInfo), or
// the 256 busiest only (selected=256, capture mode), the others quiet.
func BenchmarkHealthRows(b *testing.B) {
	const n = 10000
	l, r := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.5.5")
	for _, sel := range []int{0, MaxInfoSockets} {
		name := "all"
		if sel > 0 {
			name = "selected=256"
		}
		b.Run(name, func(b *testing.B) {
			infos := make([]TCPInfo, n)
			socks := make([]Socket, n)
			for i := range socks {
				infos[i] = base()
				socks[i] = Socket{Proto: flows.ProtoTCP, Netns: 1, Local: l, Remote: r, LocalPort: uint16(10000 + i), RemotePort: 443, State: StateEstablished, Cookie: uint64(i), TCP: &infos[i]}
			}
			fresh := append([]Socket(nil), socks...)
			if sel > 0 {
				for i := sel; i < n; i++ {
					fresh[i].TCP = nil
				}
			}
			var h tcpHealth
			t := time.Unix(1_700_000_000, 0)
			h.observe(&SocketTable{Time: t, Sockets: socks})
			prev := t
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for q := 0; q < 4; q++ {
					t = t.Add(250 * time.Millisecond)
					for j := range infos[:max(sel, 1)] {
						infos[j].BytesAcked += 1000
						infos[j].BusyTime += 250000
					}
					h.observe(&SocketTable{Time: t, Sockets: fresh, InfoStale: q != 3, InfoSelected: sel > 0})
				}
				for j := range fresh {
					e := entryOf(&fresh[j], 0)
					h.row(&e, j >= sel, prev, t)
				}
				prev = t
			}
		})
	}
}
