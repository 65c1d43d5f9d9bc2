package sockets

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"netriage/internal/lab"
	"netriage/sources/clock"
	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// TestIntegrationTCPHealthWords is lab scenario 5 of the saturation issue:
// three TCP flows at once from namespace A to namespace B, read through
// the socket source and the attribution's classifier as the engine does
// (a refresh every 250 ms, socket-counter mode):
//
//   - network: bulk over a veth whose egress is a 20 Mbit/s tbf with a
//     24 KiB queue (tail drops) and, where the kernel has sch_netem, a
//     netem child dropping 2% of packets;
//   - receiver: bulk over a second veth to a receiver with a 4 KiB
//     SO_RCVBUF that reads 1 KiB every 10 ms;
//   - application: 10 KB writes every 10 ms over the second veth to a
//     receiver that reads at once.
//
// Each sending socket must get its word in most of its samples after the
// first two seconds. The run is bounded to 9 s of traffic (at most ~25 MB
// on the shaped link, ~10 MB and ~8 MB on the others).
func TestIntegrationTCPHealthWords(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la1, lb1 := l.Veth(a, b)
	_, lb2 := l.Veth(a, b)
	la1.OffloadsOff()
	la1.TBF(20_000_000, 16<<10, 24<<10)
	if netemLoss(a, la1.Name) {
		t.Log("netem child: 2% loss")
	} else {
		t.Log("no netem on this kernel: the tbf's own tail drops are the loss")
	}
	// The source reads the namespaces its processes live in: one idle
	// process in each.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, ns := range []*lab.NS{a, b} {
		if err := ns.Command(ctx, "sleep", "20").Start(); err != nil {
			t.Fatal(err)
		}
	}

	fast := b.TCPSink(lb1.IPv4.Addr())
	appSink := b.TCPSink(lb2.IPv4.Addr())
	// The slow receiver: a small receive buffer, set on the listener so the
	// accepted socket has it from the handshake on.
	var slowLn net.Listener
	if err := b.Do(func() error {
		lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			if err != nil {
				return err
			}
			return serr
		}}
		var err error
		slowLn, err = lc.Listen(ctx, "tcp4", netip.AddrPortFrom(lb2.IPv4.Addr(), 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer slowLn.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	trafficCtx, stop := context.WithTimeout(ctx, 9*time.Second)
	defer stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := slowLn.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1024)
		for trafficCtx.Err() == nil {
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := c.Read(buf); err != nil && !isTimeout(err) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	dial := func(dst netip.AddrPort) net.Conn {
		var c net.Conn
		if err := a.Do(func() error {
			var err error
			c, err = net.DialTimeout("tcp4", dst.String(), 2*time.Second)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	send := func(c net.Conn, chunk int, gap time.Duration) {
		defer wg.Done()
		buf := make([]byte, chunk)
		for trafficCtx.Err() == nil {
			_ = c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
			if _, err := c.Write(buf); err != nil && !isTimeout(err) {
				return
			}
			if gap > 0 {
				time.Sleep(gap)
			}
		}
	}
	port := func(c net.Conn) uint16 { return uint16(c.LocalAddr().(*net.TCPAddr).Port) }
	cNet, cRecv, cApp := dial(fast.Addr()), dial(slowLn.Addr().(*net.TCPAddr).AddrPort()), dial(appSink.Addr())
	want := map[uint16]attrib.Limit{port(cNet): attrib.LimitNetwork, port(cRecv): attrib.LimitReceiver, port(cApp): attrib.LimitApplication}
	names := map[uint16]string{port(cNet): "tbf+netem loss", port(cRecv): "slow small receiver", port(cApp): "10 KB every 10 ms"}
	wg.Add(3)
	go send(cNet, 64<<10, 0)
	go send(cRecv, 64<<10, 0)
	go send(cApp, 10_000, 10*time.Millisecond)

	src := New(Config{})
	defer src.Close()
	counters := attrib.NewCounters()
	at := attrib.New(attrib.Config{ClosedGrace: time.Second})
	clk := clock.Real{}
	start := clk.Now()
	words := map[uint16]map[attrib.Limit]int{}
	last := map[uint16]*attrib.TCPHealth{}
	for p := range want {
		words[p] = map[attrib.Limit]int{}
	}
	for trafficCtx.Err() == nil {
		time.Sleep(250 * time.Millisecond)
		now := clk.Now()
		tab, err := src.Refresh(now)
		if err != nil {
			t.Fatal(err)
		}
		rep := at.Update(now, counters.Update(tab), tab)
		if now.Sub(start) < 2*time.Second {
			continue
		}
		for i := range rep.Connections {
			c := &rep.Connections[i]
			if c.Key.Proto != flows.ProtoTCP || c.TCP == nil || c.TCP.Interval == 0 {
				continue
			}
			if _, ok := want[c.Key.LocalPort]; ok && c.TCP != last[c.Key.LocalPort] {
				last[c.Key.LocalPort] = c.TCP
				words[c.Key.LocalPort][c.TCP.Limit]++
				t.Logf("%-20s %-11s %s (RTT %s, min %s, cwnd %d, retrans %d, delivery %d B/s, busy %.2f rwnd %.2f sndbuf %.2f)",
					names[c.Key.LocalPort], c.TCP.Limit, c.TCP.Why(), c.TCP.RTT, c.TCP.MinRTT, c.TCP.Cwnd, c.TCP.Retrans, c.TCP.DeliveryBps, c.TCP.BusyShare, c.TCP.RwndShare, c.TCP.SndbufShare)
			}
		}
	}
	for p, w := range want {
		n, total := words[p][w], 0
		for _, k := range words[p] {
			total += k
		}
		if total < 3 || 2*n <= total {
			t.Errorf("%s: %s in %d of %d samples (%v), want most", names[p], w, n, total, words[p])
		}
	}
}

// netemLoss adds a netem child dropping 2% under the tbf of dev, and
// reports whether the kernel has netem.
func netemLoss(ns *lab.NS, dev string) bool {
	return exec.Command("ip", "netns", "exec", ns.Name, "tc", "qdisc", "add", "dev", dev, "parent", "1:1", "handle", "10:", "netem", "loss", "2%").Run() == nil
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
