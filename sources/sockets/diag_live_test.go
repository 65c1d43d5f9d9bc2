package sockets

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// libDumper is the dump through vishvananda/netlink's SocketDiagTCPInfo and
// SocketDiagUDP, which the sources used before reading sock_diag
// themselves: the tests compare the two, and the benchmarks measure both.
type libDumper struct{ h *netlink.Handle }

func (d *libDumper) Dump() ([]attrib.Socket, error) {
	var socks []attrib.Socket
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		tcp, err := d.h.SocketDiagTCPInfo(fam)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return nil, err
		}
		for _, r := range tcp {
			s := libSocket(flows.ProtoTCP, r.InetDiagMsg)
			if ti := r.TCPInfo; ti != nil {
				s.HasCounters = true
				s.BytesAcked, s.BytesReceived = ti.Bytes_acked, ti.Bytes_received
			}
			socks = append(socks, s)
		}
		udp, err := d.h.SocketDiagUDP(fam)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return nil, err
		}
		for _, r := range udp {
			socks = append(socks, libSocket(flows.ProtoUDP, r))
		}
	}
	return socks, nil
}

func (d *libDumper) Forget(map[uint64]bool) {}
func (d *libDumper) Close()                 {}

// libNs is libDumper as the Source's Dumper, for the caller's namespace.
type libNs struct{ libDumper }

func (d *libNs) Dump(ino uint64, _ string, _ InfoQuery) ([]attrib.Socket, []netip.Addr, int, error) {
	socks, err := d.libDumper.Dump()
	for i := range socks {
		socks[i].Netns = ino
	}
	return socks, nil, 0, err
}

func libAddr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}

func libSocket(p flows.Proto, m *netlink.Socket) attrib.Socket {
	return attrib.Socket{
		Proto: p, Local: libAddr(m.ID.Source), Remote: libAddr(m.ID.Destination),
		LocalPort: m.ID.SourcePort, RemotePort: m.ID.DestinationPort,
		State: m.State, Inode: m.INode, UID: m.UID,
		Cookie: uint64(m.ID.Cookie[0]) | uint64(m.ID.Cookie[1])<<32,
	}
}

// loopbackPairs opens n connected TCP pairs on 127.0.0.1 (2n+1 sockets
// with the listener) and closes them at the end of the test, with a reset
// (SO_LINGER 0): no TIME_WAIT sockets left for the next benchmark's dumps.
func loopbackPairs(tb testing.TB, n int) {
	tb.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	acc := make(chan net.Conn, 128)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(acc)
				return
			}
			acc <- c
		}
	}()
	var conns []net.Conn
	tb.Cleanup(func() {
		for _, c := range conns {
			_ = c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	})
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			tb.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c, <-acc)
	}
}

// TestDiagMatchesLibrary dumps this namespace's sockets both ways (no
// privilege is needed in one's own namespace) and compares them.
func TestDiagMatchesLibrary(t *testing.T) {
	loopbackPairs(t, 50)
	h, err := netlink.NewHandle(unix.NETLINK_INET_DIAG)
	if err != nil {
		t.Skipf("netlink: %v", err)
	}
	defer h.Close()
	d := NewNetlinkDumper()
	defer d.Close()
	// Two tries: a socket of another program may come or go between the
	// two dumps.
	for try := 0; ; try++ {
		want, err := (&libDumper{h}).Dump()
		if err != nil {
			t.Fatal(err)
		}
		got, _, _, err := d.Dump(1, "/proc/self/ns/net", InfoQuery{All: true})
		if err != nil {
			t.Fatal(err)
		}
		key := func(s attrib.Socket) attrib.Socket {
			return attrib.Socket{Proto: s.Proto, Local: s.Local, Remote: s.Remote, LocalPort: s.LocalPort, RemotePort: s.RemotePort, State: s.State, Inode: s.Inode, UID: s.UID, Cookie: s.Cookie}
		}
		w := map[attrib.Socket]bool{}
		for _, s := range want {
			w[key(s)] = true
		}
		diff, info := 0, 0
		for _, s := range got {
			if !w[key(s)] {
				diff++
			}
			if s.TCP != nil {
				info++
				if info == 1 {
					t.Logf("tcp_info of %d bytes", s.TCP.Size)
				}
				if s.State != attrib.StateEstablished || s.TCP.State != s.State || !s.TCP.Has(attrib.TCPInfoChrono) || s.TCP.SndMSS == 0 {
					t.Errorf("tcp_info %+v of a %s socket", *s.TCP, attrib.StateName(s.State))
				}
			}
		}
		if diff == 0 && len(got) == len(want) {
			if info < 100 {
				t.Errorf("%d sockets with tcp_info, want the 100 of the pairs at least", info)
			}
			return
		}
		if try == 1 {
			t.Fatalf("%d of %d sockets differ from the library's %d", diff, len(got), len(want))
		}
	}
}

// TestDiagExactMatchesDump dumps this namespace's sockets with every TCP
// socket's tcp_info, then without it and with exact requests for half of
// the established ones: those, and only those, get their tcp_info, of
// the same socket.
func TestDiagExactMatchesDump(t *testing.T) {
	loopbackPairs(t, 100)
	d := NewNetlinkDumper().(*netlinkDumper)
	defer d.Close()
	all, _, _, err := d.Dump(1, "/proc/self/ns/net", InfoQuery{All: true})
	if err != nil {
		t.Skipf("sock_diag: %v", err)
	}
	var want CookieSet
	asked, est := 0, 0
	for _, s := range all {
		if s.TCP == nil {
			continue
		}
		if est%2 == 0 {
			want.Add(s.Cookie)
			asked++
		}
		est++
	}
	if asked < 100 {
		t.Fatalf("%d sockets asked, want the pairs' 100 at least", asked)
	}
	got, _, _, err := d.Dump(1, "/proc/self/ns/net", InfoQuery{Want: &want})
	if err != nil {
		t.Fatal(err)
	}
	byCookie := map[uint64]attrib.Socket{}
	for _, s := range all {
		byCookie[s.Cookie] = s
	}
	answered := 0
	for _, s := range got {
		if !want.Has(s.Cookie) || s.State != attrib.StateEstablished {
			if s.TCP != nil || s.HasCounters {
				t.Errorf("tcp_info of a socket not asked: %+v", s)
			}
			continue
		}
		if s.TCP == nil {
			continue // closed between the dumps
		}
		answered++
		a := byCookie[s.Cookie]
		if s.TCP.State != attrib.StateEstablished || s.TCP.SndMSS != a.TCP.SndMSS || s.TCP.Size != a.TCP.Size || !s.HasCounters || s.BytesAcked < a.BytesAcked {
			t.Errorf("tcp_info %+v, the dump's %+v", *s.TCP, *a.TCP)
		}
	}
	if answered < asked-10 || d.lost != 0 {
		t.Errorf("%d of %d sockets answered, %d lost", answered, asked, d.lost)
	}
}

// BenchmarkDumpLive dumps this namespace with 10,000 loopback sockets:
// the library's SocketDiagTCPInfo (with tcp_info, as before) and our own
// reader with and without tcp_info (TCP and UDP of both families, as a
// refresh dumps them).
func BenchmarkDumpLive(b *testing.B) {
	loopbackPairs(b, 5000)
	b.Run("library", func(b *testing.B) {
		h, err := netlink.NewHandle(unix.NETLINK_INET_DIAG)
		if err != nil {
			b.Skip(err)
		}
		defer h.Close()
		d := &libDumper{h}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := d.Dump(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, info := range []bool{false, true} {
		name := "tcp_info=off"
		if info {
			name = "tcp_info=on"
		}
		b.Run(name, func(b *testing.B) {
			d := NewNetlinkDumper().(*netlinkDumper)
			defer d.Close()
			c, err := d.conn(1, "/proc/self/ns/net")
			if err != nil {
				b.Skip(err)
			}
			ext := uint8(0)
			if info {
				ext = extTCP
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				p := diagParser{proto: flows.ProtoTCP}
				for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
					p.proto = flows.ProtoTCP
					if _, err := d.dump(c.diag.GetFd(), &p, fam, unix.IPPROTO_TCP, ext); err != nil {
						b.Fatal(err)
					}
					p.proto = flows.ProtoUDP
					if _, err := d.dump(c.diag.GetFd(), &p, fam, unix.IPPROTO_UDP, extUDP); err != nil {
						b.Fatal(err)
					}
				}
				if len(p.socks) < 10000 {
					b.Fatalf("%d sockets", len(p.socks))
				}
			}
		})
	}
}

// BenchmarkRefreshLive is a whole Source.Refresh of this host with 10,000
// more loopback sockets held by the benchmark: the library's dump (before),
// and ours without and with tcp_info. The inode cache is warm (the first
// refresh is outside the timer).
func BenchmarkRefreshLive(b *testing.B) {
	loopbackPairs(b, 5000)
	for _, name := range []string{"library", "tcp_info=off", "tcp_info=on"} {
		b.Run(name, func(b *testing.B) {
			var d Dumper
			switch name {
			case "library":
				h, err := netlink.NewHandle(unix.NETLINK_INET_DIAG)
				if err != nil {
					b.Skip(err)
				}
				defer h.Close()
				d = &libNs{libDumper{h}}
			default:
				nd := NewNetlinkDumper().(*netlinkDumper)
				nd.noInfo = name == "tcp_info=off"
				d = nd
			}
			s := New(Config{Dumper: d})
			defer s.Close()
			t := time.Unix(1_700_000_000, 0)
			tab, err := s.Refresh(t)
			if err != nil || len(tab.Sockets) < 10000 {
				b.Fatalf("cold refresh: %v, %d sockets", err, len(tab.Sockets))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t = t.Add(time.Second)
				if _, err := s.Refresh(t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRefreshLivePerSecond is one second of the engine's socket
// refreshes with 10,000 more loopback sockets: four refreshes 250 ms apart,
// asking for tcp_info at every one (every_refresh, socket-counter mode),
// at one a second (once_a_second, attrib.MinHealthInterval, the others
// keeping each socket's newest tcp_info: the engine in capture mode
// before WantInfo), or at one a second of the sockets WantInfo names
// before it (selected=N, the engine in capture mode). ns/op is the cost
// per second; cpu-ms/op and sys-ms/op the process's CPU time.
func BenchmarkRefreshLivePerSecond(b *testing.B) {
	loopbackPairs(b, 5000)
	for _, bc := range []struct {
		name  string
		every time.Duration
		want  int
	}{{"every_refresh", 0, 0}, {"once_a_second", attrib.MinHealthInterval, 0}, {"selected=256", attrib.MinHealthInterval, attrib.MaxInfoSockets}} {
		b.Run(bc.name, func(b *testing.B) {
			s := New(Config{InfoInterval: bc.every})
			defer s.Close()
			t := time.Unix(1_700_000_000, 0)
			tab, err := s.Refresh(t)
			if err != nil || len(tab.Sockets) < 10000 {
				b.Fatalf("cold refresh: %v, %d sockets", err, len(tab.Sockets))
			}
			var refs []attrib.SocketRef
			for _, sk := range tab.Sockets {
				if sk.TCP != nil && len(refs) < bc.want {
					refs = append(refs, attrib.SocketRef{Netns: sk.Netns, Cookie: sk.Cookie})
				}
			}
			cpu := phaseClock{self: true}
			b.ReportAllocs()
			b.ResetTimer()
			cpu.start()
			for i := 0; i < b.N; i++ {
				for q := 0; q < 4; q++ {
					t = t.Add(250 * time.Millisecond)
					// The step's refresh, a second after the previous one.
					step := q == 3
					if step && refs != nil {
						s.WantInfo(refs)
					}
					tab, err := s.Refresh(t)
					if err != nil {
						b.Fatal(err)
					}
					if step && refs != nil && !tab.InfoSelected {
						b.Fatal("no tcp_info read after WantInfo")
					}
				}
			}
			cpu.stop()
			b.ReportMetric(float64(cpu.cpu)/float64(b.N)/1e6, "cpu-ms/op")
			b.ReportMetric(float64(cpu.sys)/float64(b.N)/1e6, "sys-ms/op")
		})
	}
}

// phaseClock measures one phase of a benchmark's op, summed over the ops:
// wall time, the CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID,
// exact: sock_diag does its work in the thread that sends and receives;
// the benchmark must run on a locked OS thread) or, with self, of the
// process (garbage collection included), and the system part of it
// (getrusage: split by clock ticks, so only a share over many ops).
//
// With mem it also counts the phase's allocations (runtime.ReadMemStats,
// outside the timed span).
type phaseClock struct {
	self, mem      bool
	wall, cpu, sys time.Duration
	t0             time.Time
	cpu0           time.Duration
	ru0            unix.Rusage
	ms0            runtime.MemStats
	allocs, bytes  uint64
}

func (c *phaseClock) now() (cpu time.Duration, ru unix.Rusage) {
	clk, who := int32(unix.CLOCK_THREAD_CPUTIME_ID), unix.RUSAGE_THREAD
	if c.self {
		clk, who = unix.CLOCK_PROCESS_CPUTIME_ID, unix.RUSAGE_SELF
	}
	var ts unix.Timespec
	_ = unix.ClockGettime(clk, &ts)
	_ = unix.Getrusage(who, &ru)
	return time.Duration(ts.Nano()), ru
}

func (c *phaseClock) start() {
	if c.mem {
		runtime.ReadMemStats(&c.ms0)
	}
	c.cpu0, c.ru0 = c.now()
	c.t0 = time.Now()
}

func (c *phaseClock) stop() {
	c.wall += time.Since(c.t0)
	cpu, ru := c.now()
	c.cpu += cpu - c.cpu0
	c.sys += time.Duration(ru.Stime.Nano() - c.ru0.Stime.Nano())
	if c.mem {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		c.allocs += ms.Mallocs - c.ms0.Mallocs
		c.bytes += ms.TotalAlloc - c.ms0.TotalAlloc
	}
}

// report adds the phase's per-op figures in milliseconds (minus sub's,
// when given: the phase's cost over another's in the same ops): name-ms
// the wall time, name-cpu-ms the CPU time and name-sys-ms its system part.
// On a shared machine the CPU time is the cost; the wall time also counts
// the waits for a CPU.
func (c *phaseClock) report(b *testing.B, name string, sub *phaseClock) {
	w, u, s := c.wall, c.cpu, c.sys
	if sub != nil {
		w, u, s = w-sub.wall, u-sub.cpu, s-sub.sys
	}
	n := float64(b.N) * float64(time.Millisecond)
	b.ReportMetric(float64(w)/n, name+"-ms/op")
	b.ReportMetric(float64(u)/n, name+"-cpu-ms/op")
	b.ReportMetric(float64(s)/n, name+"-sys-ms/op")
	if c.mem {
		a, by := float64(c.allocs), float64(c.bytes)
		if sub != nil {
			a, by = a-float64(sub.allocs), by-float64(sub.bytes)
		}
		b.ReportMetric(a/float64(b.N), name+"-allocs/op")
		b.ReportMetric(by/float64(b.N), name+"-B/op")
	}
}

// BenchmarkTCPInfoCost is the cost of tcp_info with 10,000 established
// loopback sockets, one op being one second of the engine (one refresh a
// second asks for it): info-ms/op, info-cpu-ms/op and info-sys-ms/op are
// that part alone, wall and the thread's CPU time (dump-… the dump
// without it).
//
//   - whole_dump: as before, the dump of TCP and UDP of both families with
//     INET_DIAG_INFO against the same dump without it, both in every op:
//     the difference is the tcp_info part.
//   - exact=N: the dump without it, then exact requests for N of the
//     sockets (InfoQuery.Want): the requests are the tcp_info part.
//
// ns/op and B/op and allocs/op are the whole op's (two dumps for
// whole_dump, one dump and the requests for exact=N); info-allocs/op and
// info-B/op the tcp_info part's.
func BenchmarkTCPInfoCost(b *testing.B) {
	loopbackPairs(b, 5000)
	d := NewNetlinkDumper().(*netlinkDumper)
	defer d.Close()
	socks, _, _, err := d.Dump(1, "/proc/self/ns/net", InfoQuery{})
	if err != nil {
		b.Skip(err)
	}
	var est []uint64
	for _, s := range socks {
		if s.Proto == flows.ProtoTCP && s.State == attrib.StateEstablished {
			est = append(est, s.Cookie)
		}
	}
	if len(est) < 10000 {
		b.Fatalf("%d established TCP sockets", len(est))
	}
	b.Run("whole_dump", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		off, on := phaseClock{mem: true}, phaseClock{mem: true}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			off.start()
			s0, _, _, err := d.Dump(1, "/proc/self/ns/net", InfoQuery{})
			off.stop()
			on.start()
			s1, _, _, err1 := d.Dump(1, "/proc/self/ns/net", InfoQuery{All: true})
			on.stop()
			if err != nil || err1 != nil || len(s0) < 10000 || len(s1) < 10000 {
				b.Fatalf("%v %v, %d and %d sockets", err, err1, len(s0), len(s1))
			}
		}
		off.report(b, "dump", nil)
		on.report(b, "info", &off)
	})
	for _, n := range []int{64, 256, 512, 1024} {
		b.Run("exact="+strconv.Itoa(n), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var want CookieSet
			for _, c := range est[:n] {
				want.Add(c)
			}
			c, err := d.conn(1, "/proc/self/ns/net")
			if err != nil {
				b.Fatal(err)
			}
			fd := c.diag.GetFd()
			dump, info := phaseClock{}, phaseClock{mem: true}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				dump.start()
				p := diagParser{netns: 1, want: &want, socks: make([]attrib.Socket, 0, c.last+c.last/8+16)}
				for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
					p.proto = flows.ProtoTCP
					if _, err := d.dump(fd, &p, fam, unix.IPPROTO_TCP, 0); err != nil {
						b.Fatal(err)
					}
					p.proto = flows.ProtoUDP
					if _, err := d.dump(fd, &p, fam, unix.IPPROTO_UDP, extUDP); err != nil {
						b.Fatal(err)
					}
				}
				dump.stop()
				info.start()
				if err := d.exact(fd, &p, exactBatch); err != nil {
					b.Fatal(err)
				}
				info.stop()
				got := 0
				for _, s := range p.socks {
					if s.TCP != nil {
						got++
					}
				}
				if got != n {
					b.Fatalf("tcp_info of %d sockets, want %d (%d lost)", got, n, d.lost)
				}
			}
			dump.report(b, "dump", nil)
			info.report(b, "info", nil)
		})
	}
}
