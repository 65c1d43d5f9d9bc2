package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netriage/internal/lab"
	"netriage/triage/verdict"
)

// The stack scenarios: packets lost outside the link, each found by check
// with its rule, its exit code and the counters behind it.

// finding returns the report's finding of rule, nil when there is none.
func finding(r verdict.Report, rule string) *verdict.Finding {
	for i := range r.Findings {
		if r.Findings[i].Rule == rule {
			return &r.Findings[i]
		}
	}
	return nil
}

// An endpoint that does not keep up: a UDP receiver with the smallest
// receive buffer that never reads, sent 1,000 datagrams a second. The link
// is nearly idle; check finds endpoint-drops (a warning) with the UDP
// receive buffer errors it counted.
func TestIntegrationCheckEndpointUDPReceiveBuffer(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	_, lb := l.Veth(a, b)
	var pc *net.UDPConn
	if err := b.Do(func() error {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lb.IPv4.Addr(), 0)))
		pc = c
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	raw, err := pc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 1) })
	ctx := trafficCtx(t)
	background(t, ctx, func(ctx context.Context) {
		_, _ = a.SendUDP(ctx, pc.LocalAddr().(*net.UDPAddr).AddrPort(), lab.Send{Count: 8000, Size: 1000, RateBps: 8_000_000, Timeout: 8 * time.Second})
	})
	time.Sleep(time.Second)
	rep, code, _ := runCheckIn(t, b, "-i", lb.Name)
	f := finding(rep, verdict.RuleEndpointDrops)
	if f == nil || f.Status != verdict.StatusWarning || code != 1 {
		t.Fatalf("exit %d, findings %+v: want endpoint-drops, a warning, exit 1", code, rep.Findings)
	}
	if !strings.Contains(f.Summary, "UDP receive buffer errors") {
		t.Errorf("summary %q does not name the UDP receive buffer errors", f.Summary)
	}
	// The socket table names the receiver: this test's process holds it.
	port := pc.LocalAddr().(*net.UDPAddr).Port
	self := fmt.Sprintf("udp %s:%d (", lb.IPv4.Addr(), port)
	if len(f.Sockets) == 0 || f.Sockets[0].PID != int32(os.Getpid()) || f.Sockets[0].Proto != "udp" || f.Sockets[0].Local != fmt.Sprintf("%s:%d", lb.IPv4.Addr(), port) ||
		f.Sockets[0].Drops < 1500 || !f.Sockets[0].BufferFull {
		t.Errorf("named sockets %+v: want this process's receiver (pid %d, port %d) first, with its drops and a full buffer", f.Sockets, os.Getpid(), port)
	}
	if !strings.Contains(f.Summary, self) || !strings.Contains(f.Summary, fmt.Sprintf("[%d]) dropped ", os.Getpid())) || !strings.Contains(f.Summary, "(buffer full)") {
		t.Errorf("summary %q does not name the receiving socket and process", f.Summary)
	}
	st := rep.Stack
	if st == nil || st.UDP == nil || st.UDP.RcvbufErrors.Count < 1500 {
		t.Fatalf("stack evidence %+v: want most of 3 s × 1,000 datagrams as receive buffer errors", st)
	}
	if st.EndpointDrops == nil || st.EndpointDrops.Count < st.UDP.RcvbufErrors.Count {
		t.Errorf("endpoint drops %+v below the receive buffer errors %+v", st.EndpointDrops, st.UDP.RcvbufErrors)
	}
	if len(st.NICs) != 1 || st.NICs[0].Driver != "veth" || len(st.BQL) != 1 || st.BQL[0].Note == "" {
		t.Errorf("NIC %+v, BQL %+v: want veth's statistics and no BQL", st.NICs, st.BQL)
	}
	for _, other := range []string{verdict.RuleNICDrops, verdict.RuleSoftirqDrops, verdict.RuleConntrackFull} {
		if finding(rep, other) != nil {
			t.Errorf("%s found too: %+v", other, rep.Findings)
		}
	}
}

// A listener with a backlog of 1 that never accepts, under a burst of
// connects: the SYNs and handshakes it cannot queue are listen overflows.
func TestIntegrationCheckEndpointListenOverflow(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	_, lb := l.Veth(a, b)
	var lfd int
	port := 0
	if err := b.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		lfd = fd
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: lb.IPv4.Addr().As4()}); err != nil {
			return err
		}
		if err := unix.Listen(fd, 1); err != nil {
			return err
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return err
		}
		port = sa.(*unix.SockaddrInet4).Port
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(lfd) })
	dst := netip.AddrPortFrom(lb.IPv4.Addr(), uint16(port))
	ctx := trafficCtx(t)
	// 32 clients connect again and again, each attempt given up after
	// 300 ms; the connections that do complete are kept open, so the
	// accept queue stays full.
	var mu sync.Mutex
	var kept []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range kept {
			c.Close()
		}
	})
	for range 32 {
		background(t, ctx, func(ctx context.Context) {
			for ctx.Err() == nil {
				var c net.Conn
				_ = a.Do(func() error {
					var err error
					d := net.Dialer{Timeout: 300 * time.Millisecond}
					c, err = d.DialContext(ctx, "tcp4", dst.String())
					return err
				})
				if c != nil {
					mu.Lock()
					kept = append(kept, c)
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(time.Second)
	rep, code, _ := runCheckIn(t, b, "-i", lb.Name)
	f := finding(rep, verdict.RuleEndpointDrops)
	if f == nil || code != 1 {
		t.Fatalf("exit %d, findings %+v: want endpoint-drops, exit 1", code, rep.Findings)
	}
	if st := rep.Stack; st == nil || st.TCP == nil || st.TCP.ListenOverflows.Count < 3 || st.TCP.ListenDrops.Count < st.TCP.ListenOverflows.Count {
		t.Errorf("TCP evidence %+v: want listen overflows counted (and in the listen drops)", rep.Stack.TCP)
	}
	if !strings.Contains(f.Summary, "TCP listen drops") {
		t.Errorf("summary %q does not name the listen drops", f.Summary)
	}
	// The listener is named with its full accept queue and its owner.
	var named *verdict.EndpointSocketReport
	for i := range f.Sockets {
		if f.Sockets[i].Listener && f.Sockets[i].Local == dst.String() {
			named = &f.Sockets[i]
		}
	}
	if named == nil || named.PID != int32(os.Getpid()) || named.AcceptQueueFull < 1 || named.Backlog != 1 {
		t.Errorf("named sockets %+v: want the listener %s of pid %d with a full accept queue, backlog 1", f.Sockets, dst, os.Getpid())
	}
}

// Conntrack in a forwarding namespace: 3,000 new UDP flows through r,
// which tracks them. nf_conntrack_max is global on this kernel (read-only
// in a child namespace), so the table cannot be made small enough to fill
// without changing the host's; the fill ratio is lowered instead, through
// the config file, to 0.5% of the global maximum, and check must find
// conntrack-full with the namespace's own count.
func TestIntegrationCheckConntrackFull(t *testing.T) {
	l := lab.New(t)
	r := l.Router()
	r.R.Run("nft", "add table inet nrct; add chain inet nrct nrfwd { type filter hook forward priority 0; }; add rule inet nrct nrfwd ct state new counter")
	var maxEntries uint64
	if b, err := os.ReadFile("/proc/sys/net/netfilter/nf_conntrack_max"); err == nil {
		maxEntries, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	}
	if maxEntries == 0 || maxEntries > 500_000 {
		t.Skipf("nf_conntrack_max %d: 3,000 flows cannot reach a fill the test can ask for", maxEntries)
	}
	cfg := filepath.Join(t.TempDir(), "netriage.yaml")
	if err := os.WriteFile(cfg, []byte("check:\n  conntrack_full_ratio: 0.005\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := trafficCtx(t)
	dst := r.BtoR.IPv4.Addr()
	background(t, ctx, func(ctx context.Context) {
		var c *net.UDPConn
		if err := r.A.Do(func() error {
			var err error
			c, err = net.ListenUDP("udp4", nil)
			return err
		}); err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64)
		// One datagram to each of 3,000 ports: 3,000 unreplied entries
		// (30 s each), in about 1.5 s.
		for p := 0; p < 3000 && ctx.Err() == nil; p++ {
			_, _ = c.WriteToUDPAddrPort(buf, netip.AddrPortFrom(dst, uint16(20000+p)))
			if p%100 == 99 {
				time.Sleep(50 * time.Millisecond)
			}
		}
	})
	time.Sleep(500 * time.Millisecond)
	rep, code, _ := runCheckIn(t, r.R, "-i", r.RtoB.Name, "-F", r.AtoR.IPv4.Masked().String(), "--config", cfg)
	f := finding(rep, verdict.RuleConntrackFull)
	if f == nil || f.Status != verdict.StatusCritical || code != 2 {
		t.Fatalf("exit %d, findings %+v: want conntrack-full, critical, exit 2", code, rep.Findings)
	}
	ct := rep.Stack.Conntrack
	if ct == nil || ct.Count < 2500 || ct.Max != maxEntries || ct.InsertFailed == nil {
		t.Errorf("conntrack evidence %+v: want the namespace's ~3,000 entries of %d, with its failure counters", ct, maxEntries)
	}
	if rep.Thresholds.ConntrackFullRatio != 0.005 {
		t.Errorf("threshold %v, want the config's 0.005", rep.Thresholds.ConntrackFullRatio)
	}
}
