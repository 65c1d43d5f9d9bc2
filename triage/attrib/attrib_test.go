package attrib

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netriage/triage/flows"
)

var (
	t0    = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	hostA = netip.MustParseAddr("198.18.0.1")
	remB  = netip.MustParseAddr("198.18.5.5")
	ctrC  = netip.MustParseAddr("198.18.1.2") // a container's address
	host6 = netip.MustParseAddr("fd00:198:18::1")
	pA    = ProcKey{PID: 100, StartTicks: 1}
	pB    = ProcKey{PID: 200, StartTicks: 2}
	pC    = ProcKey{PID: 300, StartTicks: 3}
)

func table(now time.Time, socks ...Socket) *SocketTable {
	tab := &SocketTable{Time: now, HostNetns: 1, Sockets: socks, Processes: map[ProcKey]*Process{},
		LocalAddrs: map[netip.Addr]uint64{hostA: 1, host6: 1, ctrC: 2}}
	for _, s := range socks {
		if !s.Owner.IsZero() {
			tab.Processes[s.Owner] = &Process{Key: s.Owner, Program: "p" + string(rune('0'+s.Owner.PID/100)), Netns: s.Netns}
		}
	}
	return tab
}

func tcp(l netip.Addr, lp uint16, r netip.Addr, rp uint16) flows.Key {
	return flows.Key{Proto: flows.ProtoTCP, Local: l, LocalPort: lp, Remote: r, RemotePort: rp}
}

func udp(l netip.Addr, lp uint16, r netip.Addr, rp uint16) flows.Key {
	return flows.Key{Proto: flows.ProtoUDP, Local: l, LocalPort: lp, Remote: r, RemotePort: rp}
}

func sock(k flows.Key, ns uint64, ino uint32, owner ProcKey, state uint8) Socket {
	return Socket{Proto: k.Proto, Netns: ns, Local: k.Local, LocalPort: k.LocalPort, Remote: k.Remote, RemotePort: k.RemotePort, State: state, Inode: ino, Owner: owner}
}

func TestResolve(t *testing.T) {
	k1 := tcp(hostA, 40000, remB, 443)
	ku := udp(hostA, 5353, remB, 9999)
	kc := tcp(remB, 443, ctrC, 50000) // host-side capture: container side is "remote"
	fwd := tcp(netip.MustParseAddr("198.18.9.1"), 1, netip.MustParseAddr("198.18.9.2"), 2)
	icmp := flows.Key{Proto: flows.ProtoICMP, Local: hostA, Remote: remB}
	tw := tcp(hostA, 40001, remB, 8443)
	lst := tcp(hostA, 8080, remB, 51000)
	unk := tcp(hostA, 40002, remB, 80)
	udp6 := udp(host6, 53, netip.MustParseAddr("fd00:198:18::9"), 3333)

	tab := table(t0,
		sock(k1, 1, 10, pA, StateEstablished),
		sock(udp(netip.IPv6Unspecified(), 5353, netip.IPv6Unspecified(), 0), 1, 11, pB, StateClose),
		sock(tcp(ctrC, 50000, remB, 443), 2, 12, pC, StateEstablished),
		sock(tw, 1, 0, ProcKey{}, StateTimeWait),
		sock(tcp(netip.IPv4Unspecified(), 8080, netip.IPv4Unspecified(), 0), 1, 13, pA, StateListen),
		sock(udp(host6, 53, netip.IPv6Unspecified(), 0), 1, 14, pB, StateClose),
	)
	a := New(Config{ClosedGrace: 10 * time.Second})
	tests := []struct {
		name string
		key  flows.Key
		want Owner
	}{
		{"tcp exact", k1, Owner{Proc: pA, Netns: 1, Match: MatchExact}},
		{"udp unconnected on :: wildcard", ku, Owner{Proc: pB, Netns: 1, Match: MatchBound}},
		{"container seen from host side", kc, Owner{Proc: pC, Netns: 2, Swapped: true, Match: MatchExact}},
		{"forwarded", fwd, Owner{Reason: ReasonForwarded}},
		{"icmp", icmp, Owner{Reason: ReasonOtherProto}},
		{"time-wait only", tw, Owner{Reason: ReasonClosed}},
		{"accepted by listener", lst, Owner{Proc: pA, Netns: 1, Match: MatchBound}},
		{"unknown", unk, Owner{Reason: ReasonUnknown}},
		{"udp6 bound to address", udp6, Owner{Proc: pB, Netns: 1, Match: MatchBound}},
	}
	a.index(t0, tab)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := a.resolve(&FlowStat{Key: tc.key})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("resolve mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGraceAndPeer(t *testing.T) {
	a := New(Config{ClosedGrace: 5 * time.Second})
	k1 := tcp(hostA, 40000, remB, 443)
	a.Update(t0, nil, table(t0, sock(k1, 1, 10, pA, StateEstablished)))
	// Socket closed before its flow was first reported: the grace memory
	// still knows the owner.
	rep := a.Update(t0.Add(time.Second), []FlowStat{{Key: k1, SentBytes: 100}}, table(t0.Add(time.Second)))
	if len(rep.Processes) != 1 || rep.Processes[0].Process.Key != pA || rep.Connections[0].Owner.Match != MatchGrace {
		t.Fatalf("grace: %+v", rep.Connections)
	}
	// Another short connection from a new ephemeral port to the same remote
	// endpoint, never seen in a dump: attributed by peer.
	k2 := tcp(hostA, 40010, remB, 443)
	rep = a.Update(t0.Add(2*time.Second), []FlowStat{{Key: k1, SentBytes: 100}, {Key: k2, SentBytes: 50}}, nil)
	if rep.Connections[1].Owner.Proc != pA || rep.Connections[1].Owner.Match != MatchPeer {
		t.Fatalf("peer: %+v", rep.Connections)
	}
	// After the grace period a fresh unknown connection is not attributed.
	k3 := tcp(hostA, 40020, remB, 443)
	rep = a.Update(t0.Add(20*time.Second), []FlowStat{{Key: k3, SentBytes: 1}}, table(t0.Add(20*time.Second)))
	if rep.Connections[0].Owner.Reason != ReasonUnknown {
		t.Fatalf("after grace: %+v", rep.Connections[0].Owner)
	}
}

func TestCumulativeAndExit(t *testing.T) {
	a := New(Config{ClosedGrace: 3 * time.Second})
	k1 := tcp(hostA, 40000, remB, 443)
	kc := tcp(remB, 443, ctrC, 50000)
	socks := []Socket{sock(k1, 1, 10, pA, StateEstablished), sock(tcp(ctrC, 50000, remB, 443), 2, 12, pC, StateEstablished)}
	r := Rates{SentBps: 800, RecvBps: 80}
	a.Update(t0, []FlowStat{{Key: k1, SentBytes: 1000, RecvBytes: 10, Rate10s: r}, {Key: kc, SentBytes: 7, RecvBytes: 70, Rate10s: r}}, table(t0, socks...))
	rep := a.Update(t0.Add(time.Second), []FlowStat{{Key: k1, SentBytes: 1500, RecvBytes: 20, Rate10s: r}, {Key: kc, SentBytes: 7, RecvBytes: 90, Rate10s: r}}, table(t0.Add(time.Second), socks...))
	want := map[ProcKey][2]uint64{pA: {1500, 20}, pC: {90, 7}}
	for _, p := range rep.Processes {
		if w := want[p.Process.Key]; w != [2]uint64{p.SentBytes, p.RecvBytes} {
			t.Errorf("%v: sent/recv %d/%d, want %v", p.Process.Key, p.SentBytes, p.RecvBytes, w)
		}
		if p.Process.Key == pC && (p.Rate10s != Rates{SentBps: 80, RecvBps: 800} || p.Netns != 2) {
			t.Errorf("container row swapped rates %+v netns %d", p.Rate10s, p.Netns)
		}
	}
	// The flow table expired and re-created flow k1: counter went down.
	rep = a.Update(t0.Add(2*time.Second), []FlowStat{{Key: k1, SentBytes: 5}}, table(t0.Add(2*time.Second), socks[0]))
	for _, p := range rep.Processes {
		if p.Process.Key == pA && p.SentBytes != 1505 {
			t.Errorf("after re-created flow: %d", p.SentBytes)
		}
		if p.Process.Key == pC && !p.Exited {
			t.Errorf("pC should be marked exited")
		}
	}
	// pC exited: gone after the grace period, its bytes kept in the totals.
	rep = a.Update(t0.Add(10*time.Second), nil, table(t0.Add(10*time.Second), socks[0]))
	for _, p := range rep.Processes {
		if p.Process.Key == pC {
			t.Errorf("exited process still listed: %+v", p)
		}
	}
	if rep.ExitedSentBytes != 90 || rep.ExitedRecvBytes != 7 {
		t.Errorf("exited totals %d/%d", rep.ExitedSentBytes, rep.ExitedRecvBytes)
	}
}

// An exited process whose flow is still in the flow table keeps its row,
// name and bytes, past the grace period: dropped earlier, the next join of
// that flow brought it back with no name and no bytes. It goes (bytes into
// the exited totals) once the flow left the table and the grace period
// passed.
func TestExitedOwnerOfLiveFlow(t *testing.T) {
	a := New(Config{ClosedGrace: 3 * time.Second})
	k1 := tcp(hostA, 40000, remB, 443)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	a.Update(at(0), []FlowStat{{Key: k1, SentBytes: 1000, RecvBytes: 10}}, table(at(0), sock(k1, 1, 10, pA, StateEstablished)))
	// pA exits at once; its flow idles in the table for 10 s.
	for s := 1; s <= 10; s++ {
		rep := a.Update(at(s), []FlowStat{{Key: k1, SentBytes: 1000, RecvBytes: 10}}, table(at(s)))
		if len(rep.Processes) != 1 {
			t.Fatalf("t+%ds: %d process rows, want pA's", s, len(rep.Processes))
		}
		p := rep.Processes[0]
		if p.Process.Key != pA || p.Process.Program != "p1" || !p.Exited || p.SentBytes != 1000 || p.RecvBytes != 10 || p.Connections != 1 {
			t.Fatalf("t+%ds: row %+v, want p1 exited with 1000/10 bytes and its connection", s, p)
		}
		if rep.Connections[0].Program != "p1" || rep.ExitedSentBytes != 0 {
			t.Fatalf("t+%ds: connection program %q, exited totals %d", s, rep.Connections[0].Program, rep.ExitedSentBytes)
		}
	}
	// The flow left the table at t+11: the row stays for the grace period
	// after t+10, the last report with the flow.
	for s := 11; s <= 13; s++ {
		rep := a.Update(at(s), nil, table(at(s)))
		if len(rep.Processes) != 1 || rep.Processes[0].Process.Program != "p1" || rep.Processes[0].SentBytes != 1000 {
			t.Fatalf("t+%ds: %+v, want p1 listed in the grace period", s, rep.Processes)
		}
	}
	rep := a.Update(at(14), nil, table(at(14)))
	if len(rep.Processes) != 0 || rep.ExitedSentBytes != 1000 || rep.ExitedRecvBytes != 10 {
		t.Errorf("after the grace period: %+v, exited totals %d/%d; want none, 1000/10", rep.Processes, rep.ExitedSentBytes, rep.ExitedRecvBytes)
	}
}

func TestUnattributedRows(t *testing.T) {
	a := New(Config{ClosedGrace: time.Second})
	fwd := tcp(netip.MustParseAddr("198.18.9.1"), 1, netip.MustParseAddr("198.18.9.2"), 2)
	icmp := flows.Key{Proto: flows.ProtoICMP, Local: hostA, Remote: remB}
	rep := a.Update(t0, []FlowStat{{Key: fwd, SentBytes: 10, RecvBytes: 20}, {Key: icmp, SentBytes: 3}}, table(t0))
	want := []UnattributedRow{
		{Reason: ReasonForwarded, SentBytes: 10, RecvBytes: 20, Flows: 1},
		{Reason: ReasonOtherProto, SentBytes: 3, Flows: 1},
	}
	if diff := cmp.Diff(want, rep.Unattributed); diff != "" {
		t.Errorf("unattributed (-want +got):\n%s", diff)
	}
	if len(rep.Remotes) != 2 {
		t.Errorf("remotes %+v", rep.Remotes)
	}
}

func TestMemoryBounded(t *testing.T) {
	// UDP to many ports: state stays bounded by the flows in the snapshot
	// and by MaxGraceEntries.
	a := New(Config{ClosedGrace: time.Hour, MaxGraceEntries: 1000})
	for round := 0; round < 20; round++ {
		now := t0.Add(time.Duration(round) * time.Second)
		var socks []Socket
		var fl []FlowStat
		for i := 0; i < 500; i++ {
			k := udp(hostA, uint16(10000+round*500+i), remB, 53)
			socks = append(socks, sock(k, 1, uint32(round*500+i+1), pA, StateEstablished))
			fl = append(fl, FlowStat{Key: k, SentBytes: 1})
		}
		a.Update(now, fl, table(now, socks...))
	}
	if len(a.flows) > 500 || len(a.grace) > 1000 || len(a.peers) > 1000 {
		t.Errorf("state grew: flows %d grace %d peers %d", len(a.flows), len(a.grace), len(a.peers))
	}
}

func TestCounters(t *testing.T) {
	c := NewCounters()
	k := tcp(hostA, 40000, remB, 443)
	s := sock(k, 1, 10, pA, StateEstablished)
	s.HasCounters = true
	s.BytesAcked, s.BytesReceived = 1_000_000, 500
	fl := c.Update(table(t0, s))
	if len(fl) != 1 || fl[0].SentBytes != 0 {
		t.Fatalf("first: %+v", fl)
	}
	// 125,000 bytes/s sent for 12 s = 1 Mbit/s.
	for i := 1; i <= 12; i++ {
		s.BytesAcked += 125_000
		fl = c.Update(table(t0.Add(time.Duration(i)*time.Second), s))
	}
	got := fl[0]
	if got.SentBytes != 12*125_000 || math.Abs(got.Rate10s.SentBps-1e6) > 1 || math.Abs(got.Rate2s.SentBps-1e6) > 1 || got.Rate10s.RecvBps != 0 {
		t.Fatalf("got %+v", got)
	}
	// A connection that appears later counts its whole life.
	k2 := tcp(hostA, 40001, remB, 443)
	s2 := sock(k2, 1, 11, pA, StateEstablished)
	s2.HasCounters, s2.BytesAcked = true, 5000
	fl = c.Update(table(t0.Add(13*time.Second), s, s2))
	if len(fl) != 2 || fl[1].SentBytes != 5000 || fl[1].Rate2s.SentBps != 5000*8 {
		t.Fatalf("new conn %+v", fl)
	}
	// Closed connections are forgotten.
	c.Update(table(t0.Add(14 * time.Second)))
	if len(c.conns) != 0 {
		t.Errorf("conns kept: %d", len(c.conns))
	}
	// End to end with the Attributor: owner by inode.
	a := New(Config{})
	tab := table(t0.Add(15*time.Second), s)
	rep := a.Update(tab.Time, c.Update(tab), tab)
	if len(rep.Processes) != 1 || rep.Connections[0].Owner.Match != MatchSocket {
		t.Errorf("report %+v", rep)
	}
}

// Every view and writer spells a process's place the same way.
func TestLabel(t *testing.T) {
	id := "0123456789abcdef0123"
	tests := []struct {
		name string
		c    *Container
		unit string
		want string
	}{
		{"container", &Container{Runtime: "docker", ID: id}, "docker-0123.scope", "docker:0123456789ab"},
		{"short id", &Container{Runtime: "podman", ID: "abc"}, "", "podman:abc"},
		{"pod", &Container{Runtime: "kubernetes", PodUID: "5f1c"}, "", "kubernetes:pod/5f1c"},
		{"unit", nil, "nginx.service", "systemd:nginx.service"},
		{"none", nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Label(tc.c, tc.unit); got != tc.want {
				t.Errorf("Label = %q, want %q", got, tc.want)
			}
			p := Process{Container: tc.c, Unit: tc.unit}
			if got := p.Label(); got != tc.want {
				t.Errorf("Process.Label = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHostLocalBothEnds: a transfer between two processes of this host
// (loopback, or to the host's own address) shows both processes, the
// bytes mirrored, as nethogs -a does; a process talking to itself counts
// once. In socket-counter mode the connection counts once, not once per
// end.
func TestHostLocalBothEnds(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	for _, tc := range []struct {
		name string
		addr netip.Addr
	}{{"loopback", lo}, {"host address", hostA}} {
		t.Run(tc.name, func(t *testing.T) {
			cli := tcp(tc.addr, 40000, tc.addr, 5201) // the client's view
			srv := tcp(tc.addr, 5201, tc.addr, 40000)
			tab := table(t0, sock(cli, 1, 10, pA, StateEstablished), sock(srv, 1, 11, pB, StateEstablished))
			a := New(Config{})
			fl := []FlowStat{{Key: cli, SentBytes: 0, RecvBytes: 0}}
			a.Update(t0, fl, tab)
			fl[0].SentBytes, fl[0].RecvBytes = 1_000_000, 2_000
			fl[0].Rate10s = Rates{SentBps: 800_000, RecvBps: 1_600}
			rep := a.Update(t0.Add(time.Second), fl, tab)
			got := map[ProcKey]ProcRow{}
			for _, p := range rep.Processes {
				got[p.Process.Key] = p
			}
			c, s := got[pA], got[pB]
			if c.SentBytes != 1_000_000 || c.RecvBytes != 2_000 || s.SentBytes != 2_000 || s.RecvBytes != 1_000_000 {
				t.Errorf("client %d/%d, server %d/%d: want 1000000/2000 and 2000/1000000", c.SentBytes, c.RecvBytes, s.SentBytes, s.RecvBytes)
			}
			if s.Rate10s.RecvBps != 800_000 || s.Connections != 1 {
				t.Errorf("server rate %+v conns %d", s.Rate10s, s.Connections)
			}
			if len(rep.Connections) != 1 || rep.Connections[0].Owner.Peer != pB {
				t.Errorf("connections %+v, want one with peer %v", rep.Connections, pB)
			}
		})
	}
	t.Run("self", func(t *testing.T) {
		cli, srv := tcp(lo, 40000, lo, 5201), tcp(lo, 5201, lo, 40000)
		tab := table(t0, sock(cli, 1, 10, pA, StateEstablished), sock(srv, 1, 11, pA, StateEstablished))
		a := New(Config{})
		a.Update(t0, []FlowStat{{Key: cli}}, tab)
		rep := a.Update(t0.Add(time.Second), []FlowStat{{Key: cli, SentBytes: 100, RecvBytes: 10}}, tab)
		if len(rep.Processes) != 1 || rep.Processes[0].SentBytes != 100 || rep.Processes[0].RecvBytes != 10 {
			t.Errorf("processes %+v, want one with 100/10", rep.Processes)
		}
	})
	t.Run("other host not a peer", func(t *testing.T) {
		k := tcp(hostA, 40000, remB, 443)
		tab := table(t0, sock(k, 1, 10, pA, StateEstablished), sock(tcp(remB, 443, hostA, 40000), 1, 11, pB, StateEstablished))
		a := New(Config{})
		rep := a.Update(t0, []FlowStat{{Key: k}}, tab)
		if rep.Connections[0].Owner.Peer != (ProcKey{}) {
			t.Errorf("a remote address got a peer: %+v", rep.Connections[0].Owner)
		}
	})
	t.Run("socket counters count the connection once", func(t *testing.T) {
		cli, srv := tcp(lo, 40000, lo, 5201), tcp(lo, 5201, lo, 40000)
		sc, ss := sock(cli, 1, 10, pA, StateEstablished), sock(srv, 1, 11, pB, StateEstablished)
		sc.HasCounters, ss.HasCounters = true, true
		c := NewCounters()
		c.Update(table(t0, sc, ss))
		sc.BytesAcked, ss.BytesReceived = 5_000, 5_000
		tab := table(t0.Add(time.Second), sc, ss)
		fl := c.Update(tab)
		if len(fl) != 1 {
			t.Fatalf("%d flow stats for one loopback connection, want 1: %+v", len(fl), fl)
		}
		a := New(Config{})
		a.Update(t0, nil, table(t0, sc, ss))
		rep := a.Update(tab.Time, fl, tab)
		var sent, recv uint64
		for _, p := range rep.Processes {
			sent += p.SentBytes
			recv += p.RecvBytes
		}
		if len(rep.Processes) != 2 || sent != 5_000 || recv != 5_000 {
			t.Errorf("processes %+v: want both ends, 5000 sent by one and received by the other", rep.Processes)
		}
	})
}
