package sockets

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"netriage/internal/lab"
	"netriage/sources/clock"
	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// TestHelperSender is not a test: the integration tests re-execute the test
// binary with NR_SENDER set, inside a lab namespace, to get a sender process
// with its own PID. Modes:
//
//	tcp DST RATEBPS SECS     one paced TCP connection
//	udp DST RATEBPS SECS     one connected UDP socket, paced
//	uudp DST RATEBPS SECS    one unconnected UDP socket (sendto), paced
//	short DST N GAPMS        N TCP connections of 1000 bytes, 30 ms each; prints each local port
func TestHelperSender(t *testing.T) {
	spec := os.Getenv("NR_SENDER")
	if spec == "" {
		t.Skip("helper process only")
	}
	f := strings.Fields(spec)
	dst := netip.MustParseAddrPort(f[1])
	a, _ := strconv.Atoi(f[2])
	b, _ := strconv.Atoi(f[3])
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	payload := make([]byte, 64<<10)
	switch f[0] {
	case "short":
		for i := 0; i < a; i++ {
			c, err := net.DialTimeout("tcp", dst.String(), 2*time.Second)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			_, _ = c.Write(payload[:1000])
			fmt.Fprintln(out, c.LocalAddr().(*net.TCPAddr).Port)
			time.Sleep(30 * time.Millisecond) // a short request/response
			c.Close()
			time.Sleep(time.Duration(b) * time.Millisecond)
		}
		return
	}
	rate, secs := float64(a)/8, time.Duration(b)*time.Second
	var write func(p []byte) error
	switch f[0] {
	case "tcp":
		c, err := net.Dial("tcp", dst.String())
		if err != nil {
			os.Exit(1)
		}
		defer c.Close()
		write = func(p []byte) error { _, err := c.Write(p); return err }
	case "udp":
		c, err := net.Dial("udp", dst.String())
		if err != nil {
			os.Exit(1)
		}
		defer c.Close()
		write = func(p []byte) error { _, err := c.Write(p); return err }
	case "uudp":
		c, err := net.ListenUDP("udp", nil)
		if err != nil {
			os.Exit(1)
		}
		defer c.Close()
		ua := net.UDPAddrFromAddrPort(dst)
		write = func(p []byte) error { _, err := c.WriteToUDP(p, ua); return err }
	}
	start := time.Now()
	sent := 0.0
	chunk := 1000
	for time.Since(start) < secs {
		due := rate * time.Since(start).Seconds()
		for sent+float64(chunk) <= due {
			if err := write(payload[:chunk]); err != nil {
				return
			}
			sent += float64(chunk)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// startSender runs the helper inside ns and returns the command.
func startSender(t *testing.T, ns *lab.NS, spec string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns.Name, os.Args[0], "-test.run=^TestHelperSender$", "-test.v=false")
	cmd.Env = append(os.Environ(), "NR_SENDER="+spec)
	cmd.Stderr = os.Stderr
	return cmd
}

func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestIntegrationSocketCounterRates: a process in another namespace sends
// TCP at 8 Mbit/s; socket-counter mode must attribute it to that PID and
// namespace with a 10 s rate within 2% of the truth (payload bytes the sink
// received over the same 10 s); connected and unconnected UDP sockets of
// other senders are attributed by PID; when the sender exits its row
// disappears.
func TestIntegrationSocketCounterRates(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	_, lb := l.Veth(a, b)
	sink := b.TCPSink(lb.IPv4.Addr())
	usink := b.UDPSink(lb.IPv4.Addr())
	tcpCmd := startSender(t, a, fmt.Sprintf("tcp %s 8000000 14", sink.Addr()))
	udpCmd := startSender(t, a, fmt.Sprintf("udp %s 800000 8", usink.Addr()))
	uudpCmd := startSender(t, a, fmt.Sprintf("uudp %s 800000 8", usink.Addr()))
	for _, c := range []*exec.Cmd{tcpCmd, udpCmd, uudpCmd} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		c := c
		t.Cleanup(func() { _ = c.Process.Kill() })
	}
	// ip netns exec execs the binary: the PID is the sender's.
	tcpPID, udpPID, uudpPID := int32(tcpCmd.Process.Pid), int32(udpCmd.Process.Pid), int32(uudpCmd.Process.Pid)
	tcpDone := make(chan struct{})
	go func() { _ = tcpCmd.Wait(); close(tcpDone) }()
	nsA := nsInode(t, a.Path)

	src := New(Config{})
	defer src.Close()
	counters := attrib.NewCounters()
	at := attrib.New(attrib.Config{ClosedGrace: time.Second})
	clk := clock.Real{}
	type obs struct {
		t    time.Time
		sink uint64
		rep  attrib.Report
	}
	var hist []obs
	seenUDP := map[int32]bool{}
	deadline := time.Now().Add(25 * time.Second)
	exited := false
	var exitAt time.Time
	var checked bool
	for time.Now().Before(deadline) {
		now := clk.Now()
		sinkBytes := sink.Bytes()
		tab, err := src.Refresh(now)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tab.Sockets {
			if s.Proto == flows.ProtoUDP && s.Netns == nsA && (s.Owner.PID == udpPID || s.Owner.PID == uudpPID) {
				seenUDP[s.Owner.PID] = true
			}
		}
		rep := at.Update(now, counters.Update(tab), tab)
		hist = append(hist, obs{now, sinkBytes, rep})
		// At ~12 s, compare the 10 s rate with the truth.
		if !checked && len(hist) > 0 && now.Sub(hist[0].t) >= 12*time.Second {
			checked = true
			var old obs
			for _, o := range hist {
				if !o.t.After(now.Add(-10 * time.Second)) {
					old = o
				}
			}
			truth := float64(sinkBytes-old.sink) * 8 / now.Sub(old.t).Seconds()
			var row *attrib.ProcRow
			for i := range rep.Processes {
				if rep.Processes[i].Process.Key.PID == tcpPID {
					row = &rep.Processes[i]
				}
			}
			if row == nil {
				t.Fatalf("sender %d not in report: %+v", tcpPID, rep.Processes)
			}
			if row.Netns != nsA {
				t.Errorf("netns %d, want %d", row.Netns, nsA)
			}
			errPct := math.Abs(row.Rate10s.SentBps-truth) / truth * 100
			t.Logf("10 s rate: socket counters %.0f bit/s, truth %.0f bit/s (%.2f%%)", row.Rate10s.SentBps, truth, errPct)
			if errPct > 2 {
				t.Errorf("10 s rate off by %.2f%% (> 2%%)", errPct)
			}
		}
		if !exited {
			select {
			case <-tcpDone:
				exited, exitAt = true, now
			default:
			}
		}
		if checked && exited && now.Sub(exitAt) > 3*time.Second {
			for _, p := range rep.Processes {
				if p.Process.Key.PID == tcpPID {
					t.Errorf("exited sender still listed: %+v", p)
				}
			}
			if _, ok := tab.Processes[attrib.ProcKey{PID: tcpPID}]; ok {
				t.Errorf("exited sender in socket table")
			}
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !exited {
		t.Error("sender did not exit")
	}
	if !checked {
		t.Fatal("never reached the 12 s check")
	}
	if !seenUDP[udpPID] || !seenUDP[uudpPID] {
		t.Errorf("UDP sockets not attributed: connected %v unconnected %v", seenUDP[udpPID], seenUDP[uudpPID])
	}
}

// TestIntegrationShortConnections: a process in a lab namespace opens 150
// TCP connections of 1000 bytes lasting about 30 ms, far shorter than one
// output interval. The
// flows (as the capture reports them, keyed from the sender's side) must be
// attributed to that PID, not "unknown", for at least 99% of their bytes.
func TestIntegrationShortConnections(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	sink := b.TCPSink(lb.IPv4.Addr())
	cmd := startSender(t, a, fmt.Sprintf("short %s 150 20", sink.Addr()))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	src := New(Config{})
	defer src.Close()
	at := attrib.New(attrib.Config{ClosedGrace: 10 * time.Second})
	if _, err := src.Refresh(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	pid := int32(cmd.Process.Pid)
	ports := make(chan uint16, 1000)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, err := strconv.Atoi(sc.Text()); err == nil {
				ports <- uint16(p)
			}
		}
		close(ports)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var fl []attrib.FlowStat
	done := false
	var rep attrib.Report
	for !done {
		// Flows appear as the capture would report them.
	drain:
		for {
			select {
			case p, ok := <-ports:
				if !ok {
					done = true
					break drain
				}
				fl = append(fl, attrib.FlowStat{Key: flows.Key{Proto: flows.ProtoTCP, Local: la.IPv4.Addr(), LocalPort: p, Remote: sink.Addr().Addr(), RemotePort: sink.Addr().Port()}, SentBytes: 1000})
			default:
				break drain
			}
		}
		tab, err := src.Refresh(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		rep = at.Update(tab.Time, fl, tab)
		if ctx.Err() != nil {
			t.Fatal("sender did not finish")
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Wait()
	_ = la
	var mine, total uint64
	matches := map[attrib.Match]int{}
	for _, c := range rep.Connections {
		total += c.SentBytes
		if c.Owner.Proc.PID == pid {
			mine += c.SentBytes
		}
		matches[c.Owner.Match]++
		if c.Owner.Reason != "" {
			matches[attrib.Match("reason:"+string(c.Owner.Reason))]++
		}
	}
	t.Logf("%d short connections: %d/%d bytes attributed to pid %d; matches %v", len(fl), mine, total, pid, matches)
	if len(fl) != 150 || float64(mine) < 0.99*float64(total) {
		t.Errorf("attributed %d of %d bytes to the sender (want ≥ 99%%)", mine, total)
	}
}
