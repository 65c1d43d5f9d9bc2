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
//
// A second source beside it reads tcp_info as in capture mode: once a
// second, of the sockets attrib.WantInfo names only (exact requests in
// each namespace), the flows of its join standing in for a capture's
// (the first source's counters, each flow's last packet at the step when
// its bytes grew). Each flow must get its word there too.
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
	sel := New(Config{InfoInterval: attrib.MinHealthInterval})
	defer sel.Close()
	counters := attrib.NewCounters()
	at := attrib.New(attrib.Config{ClosedGrace: time.Second})
	atSel := attrib.New(attrib.Config{ClosedGrace: time.Second})
	clk := clock.Real{}
	start := clk.Now()
	type tally struct {
		words map[uint16]map[attrib.Limit]int
		last  map[uint16]*attrib.TCPHealth
	}
	newTally := func() tally {
		tl := tally{words: map[uint16]map[attrib.Limit]int{}, last: map[uint16]*attrib.TCPHealth{}}
		for p := range want {
			tl.words[p] = map[attrib.Limit]int{}
		}
		return tl
	}
	counted, selected := newTally(), newTally()
	count := func(tl tally, mode string, rep *attrib.Report) {
		for i := range rep.Connections {
			c := &rep.Connections[i]
			if c.Key.Proto != flows.ProtoTCP || c.TCP == nil || c.TCP.Interval == 0 {
				continue
			}
			if _, ok := want[c.Key.LocalPort]; ok && c.TCP != tl.last[c.Key.LocalPort] {
				tl.last[c.Key.LocalPort] = c.TCP
				tl.words[c.Key.LocalPort][c.TCP.Limit]++
				t.Logf("%-8s %-20s %-11s %s (RTT %s, min %s, cwnd %d, retrans %d, delivery %d B/s, busy %.2f rwnd %.2f sndbuf %.2f)",
					mode, names[c.Key.LocalPort], c.TCP.Limit, c.TCP.Why(), c.TCP.RTT, c.TCP.MinRTT, c.TCP.Cwnd, c.TCP.Retrans, c.TCP.DeliveryBps, c.TCP.BusyShare, c.TCP.RwndShare, c.TCP.SndbufShare)
			}
		}
	}
	// The selected source's stand-in capture: the counters' flows, each
	// with the time its bytes last grew.
	type seen struct {
		bytes uint64
		last  time.Time
	}
	flowSeen := map[flows.Key]seen{}
	var prevStep time.Time
	for n := 0; trafficCtx.Err() == nil; n++ {
		time.Sleep(250 * time.Millisecond)
		now := clk.Now()
		tab, err := src.Refresh(now)
		if err != nil {
			t.Fatal(err)
		}
		fl := counters.Update(tab)
		rep := at.Update(now, fl, tab)
		if n%4 == 0 {
			snap := flows.Snapshot{Time: now}
			for _, f := range fl {
				fs := flowSeen[f.Key]
				b := f.SentBytes + f.RecvBytes
				r := 0.0
				if b != fs.bytes {
					if !prevStep.IsZero() && b > fs.bytes {
						r = float64(b-fs.bytes) / now.Sub(prevStep).Seconds()
					}
					fs = seen{b, now}
					flowSeen[f.Key] = fs
				}
				snap.Flows = append(snap.Flows, flows.FlowStat{Key: f.Key, Counts: flows.Counts{SentBytes: f.SentBytes, RecvBytes: f.RecvBytes},
					Rates: flows.Rates{R2: flows.Rate{SentBytesPerSec: r}}, Last: fs.last, Flows: 1})
			}
			prevStep = now
			refs := atSel.WantInfo(&snap, attrib.MaxInfoSockets)
			if refs != nil {
				sel.WantInfo(refs)
			}
			stab, err := sel.Refresh(now)
			if err != nil {
				t.Fatal(err)
			}
			atSel.Observe(now, stab)
			srep := atSel.Update(now, attrib.StatsOf(&snap), nil)
			if now.Sub(start) >= 2*time.Second {
				if stab.InfoStale || (n > 0 && !stab.InfoSelected) {
					t.Errorf("step at %s: stale %v selected %v, want a selected table", now.Sub(start), stab.InfoStale, stab.InfoSelected)
				}
				count(selected, "selected", &srep)
			}
		} else if stab, err := sel.Refresh(now); err == nil {
			atSel.Observe(now, stab)
		}
		if now.Sub(start) < 2*time.Second {
			continue
		}
		count(counted, "counters", &rep)
	}
	for _, tl := range []struct {
		mode string
		tally
	}{{"counters", counted}, {"selected", selected}} {
		for p, w := range want {
			n, total := tl.words[p][w], 0
			for _, k := range tl.words[p] {
				total += k
			}
			if total < 3 || 2*n <= total {
				t.Errorf("%s, %s: %s in %d of %d samples (%v), want most", tl.mode, names[p], w, n, total, tl.words[p])
			}
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
