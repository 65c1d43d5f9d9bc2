package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// softnetAt is /proc/net/softnet_stat read by the test at a time.
type softnetAt struct {
	at   time.Time
	rows []lab.SoftnetCPU
}

// droppedBetween is the dropped column's increase from reading a to b, in
// all and per CPU (32-bit counters: the difference is taken modulo 2^32).
func droppedBetween(a, b softnetAt) (total uint64, byCPU map[int]uint64) {
	byCPU = map[int]uint64{}
	prev := map[int]uint32{}
	for _, r := range a.rows {
		prev[r.CPU] = r.Dropped
	}
	for _, r := range b.rows {
		if p, ok := prev[r.CPU]; ok {
			d := uint64(r.Dropped - p)
			byCPU[r.CPU] = d
			total += d
		}
	}
	return total, byCPU
}

// sampleSoftnet reads softnet_stat every period until stop is called,
// which returns the readings in order.
func sampleSoftnet(t *testing.T, period time.Duration) (stop func() []softnetAt) {
	t.Helper()
	var out []softnetAt
	read := func() {
		rows, err := lab.ReadSoftnet()
		if err != nil {
			t.Error(err)
			return
		}
		out = append(out, softnetAt{time.Now(), rows})
	}
	read()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(period)
		defer tk.Stop()
		for {
			select {
			case <-quit:
				read()
				return
			case <-tk.C:
				read()
			}
		}
	}()
	var once sync.Once
	stop = func() []softnetAt {
		once.Do(func() { close(quit); <-done })
		return out
	}
	t.Cleanup(func() { stop() })
	return stop
}

// readDelay bounds how long after its tick's time check reads the stack
// counters (the tick's time is when its timer fired; the link counters are
// read first, and both CPUs are busy in the softirq scenario).
const readDelay = 100 * time.Millisecond

// Softirq backlog drops made inside the lab, with the host's
// net.core.netdev_max_backlog (global) left alone: b's veth steers every
// packet it receives to CPU 1's backlog (RPS, a setting of the device),
// 400 nftables rules that never match make each packet costly there, and a
// flood from a thread pinned to CPU 0 enqueues packets faster than CPU 1
// takes them off: the backlog overflows at its 1000 packets. check in b
// must find softirq-drops with the count the test reads from softnet_stat
// over the same window, all of it on CPU 1. "The same window" is a bracket
// of the test's readings, every 20 ms, around check's reads, which come at
// most readDelay after its ticks: about 5% of the count either side at the
// 50,000 drops a second of this flood.
func TestIntegrationCheckSoftirqBacklogDrops(t *testing.T) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || !set.IsSet(0) || !set.IsSet(1) {
		t.Skipf("needs CPUs 0 and 1 (the sender on one, the backlog on the other); this process may run on %d CPUs (%v)", set.Count(), err)
	}
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	_, lb := l.Veth(a, b)
	lb.SetRPS(1)
	rules := []string{"add table inet nrsoft", "add chain inet nrsoft pre { type filter hook prerouting priority 0; }"}
	for i := range 400 {
		rules = append(rules, fmt.Sprintf("add rule inet nrsoft pre ip saddr 198.19.%d.%d counter drop", i/250, i%250+1))
	}
	b.Run("nft", strings.Join(rules, "; "))

	ctx, cancel := context.WithCancel(trafficCtx(t))
	type result struct {
		r   lab.FloodResult
		err error
	}
	floodDone := make(chan result, 1)
	background(t, ctx, func(ctx context.Context) {
		r, err := a.FloodUDP(ctx, netip.AddrPortFrom(lb.IPv4.Addr(), 9), lab.Flood{Count: 3_000_000, CPU: 0, Duration: 7 * time.Second,
			Burst: 4000, Pause: 20 * time.Millisecond})
		floodDone <- result{r, err}
	})
	time.Sleep(500 * time.Millisecond)
	stop := sampleSoftnet(t, 20*time.Millisecond)
	rep, code, _ := runCheckIn(t, b, "-i", lb.Name)
	samples := stop()
	cancel()
	fr := <-floodDone
	flood, floodErr := fr.r, fr.err
	if floodErr != nil {
		t.Fatalf("the flood failed: %v", floodErr)
	}

	f := finding(rep, verdict.RuleSoftirqDrops)
	if f == nil || f.Status != verdict.StatusCritical || code != 2 {
		t.Fatalf("exit %d, findings %+v: want softirq-drops, critical, exit 2", code, rep.Findings)
	}
	sn := rep.Stack.Softnet
	if sn == nil || sn.Dropped.Count == 0 {
		t.Fatalf("softnet evidence %+v: want drops", sn)
	}
	// The CPU named is CPU 1, the only one that dropped.
	for _, c := range sn.CPUs {
		if c.Dropped > 0 && c.CPU != 1 {
			t.Errorf("CPU %d dropped %d: want drops on CPU 1 only (%+v)", c.CPU, c.Dropped, sn.CPUs)
		}
	}
	if !strings.Contains(f.Summary, "; CPU 1: ") {
		t.Errorf("summary %q does not name CPU 1", f.Summary)
	}

	// The test's own readings bracket check's: check read the counters at
	// r0 in [Start, Start+readDelay] and r1 in [End, End+readDelay] (and
	// before it exited), so its count is at least the drops between the
	// first reading after Start+readDelay and the last before End, and at
	// most the drops between the last reading before Start and the first
	// after End+readDelay (or after the check returned).
	var inner0, inner1, outer0, outer1 = -1, -1, -1, len(samples) - 1
	for i, s := range samples {
		if !s.at.After(rep.Start) {
			outer0 = i
		}
		if inner0 < 0 && !s.at.Before(rep.Start.Add(readDelay)) {
			inner0 = i
		}
		if !s.at.After(rep.End) {
			inner1 = i
		}
		if outer1 == len(samples)-1 && !s.at.Before(rep.End.Add(readDelay)) {
			outer1 = i
		}
	}
	if outer0 < 0 || inner0 < 0 || inner1 <= inner0 {
		t.Fatalf("the test's %d readings (%v to %v) do not cover the window %v to %v", len(samples), samples[0].at, samples[len(samples)-1].at, rep.Start, rep.End)
	}
	t.Logf("readings: window %v to %v; outer %v to %v, inner %v to %v, %d readings", rep.Start.Format("15:04:05.000"), rep.End.Format("15:04:05.000"),
		samples[outer0].at.Format("15:04:05.000"), samples[outer1].at.Format("15:04:05.000"), samples[inner0].at.Format("15:04:05.000"), samples[inner1].at.Format("15:04:05.000"), len(samples))
	lo, _ := droppedBetween(samples[inner0], samples[inner1])
	hi, hiCPU := droppedBetween(samples[outer0], samples[outer1])
	dur := rep.Stack.DurationSec
	t.Logf("flood: %d datagrams in %v (%.0f/s); check: %d dropped over %.3f s (%.1f/s); the test's readings: %d to %d (%.1f/s to %.1f/s), by CPU %v",
		flood.Sent, flood.End.Sub(flood.Start).Round(time.Millisecond), float64(flood.Sent)/flood.End.Sub(flood.Start).Seconds(),
		sn.Dropped.Count, dur, sn.Dropped.PerSec, lo, hi, float64(lo)/dur, float64(hi)/dur, hiCPU)
	if sn.Dropped.Count < lo || sn.Dropped.Count > hi {
		t.Errorf("check counted %d drops, outside the test's %d to %d over the same window", sn.Dropped.Count, lo, hi)
	}
	// The report gives the duration to the millisecond (round(sec, 3)) and
	// the rate over the unrounded one: their product may be off by up to
	// half a millisecond's worth of the rate (33 drops at 65,000/s).
	slack := 1 + sn.Dropped.PerSec*0.0005
	if r := sn.Dropped.PerSec * dur; r < float64(lo)-slack || r > float64(hi)+slack {
		t.Errorf("check's rate %.1f/s × %.3f s is outside the test's %d to %d (± %.0f for the rounded duration)", sn.Dropped.PerSec, dur, lo, hi, slack)
	}
	for cpu, d := range hiCPU {
		if cpu != 1 && d > 0 {
			t.Errorf("softnet_stat: CPU %d dropped %d too: the scenario wants CPU 1 only", cpu, d)
		}
	}
}

// hostConntrackCount is the conntrack count of the namespace the test
// runs in.
func hostConntrackCount(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/netfilter/nf_conntrack_count")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Conntrack really full, with the host's nf_conntrack_max: the count is
// the namespace's own but its limit is the global maximum, so a forwarding
// namespace that tracks a flood of new flows (random source addresses in
// 198.19.0.0/16 and ports, trafgen) fills its own table to the maximum
// without touching the host's count; past it, each new flow evicts an
// unreplied entry (early drop) or is dropped. check in the router, with the
// default threshold, must find conntrack-full with the fill and the
// failure counters. The table costs the kernel about 256 bytes an entry
// (64 MiB at 262,144), freed when the namespace goes.
func TestIntegrationCheckConntrackTableFull(t *testing.T) {
	if _, err := exec.LookPath("trafgen"); err != nil {
		t.Skipf("trafgen not available (Debian netsniff-ng): %v", err)
	}
	start := time.Now()
	slab0, objSize, slabErr := lab.SlabObjects("nf_conntrack")
	var teardown time.Time
	var maxEntries uint64
	flooded := false
	// Registered before the lab, so it runs after the lab's cleanup: how
	// long the kernel takes to free the namespace's entries.
	t.Cleanup(func() {
		if slabErr != nil || teardown.IsZero() || !flooded {
			return
		}
		var n uint64
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if n, _, _ = lab.SlabObjects("nf_conntrack"); n < slab0+maxEntries/100 {
				break
			}
		}
		t.Logf("teardown: namespaces deleted and %d entries of %d freed after %v (nf_conntrack slab %d objects, %d before); test %v",
			maxEntries, maxEntries, time.Since(teardown).Round(time.Millisecond), n, slab0, time.Since(start).Round(time.Millisecond))
	})
	l := lab.New(t)
	l.OnCleanup(func() { teardown = time.Now() })
	r := l.Router()
	r.R.Run("nft", "add table inet nrct; add chain inet nrct nrfwd { type filter hook forward priority 0; }; add rule inet nrct nrfwd ct state new counter")
	// The maximum once the ct rule has loaded conntrack.
	c0, err := r.R.ReadConntrack()
	if err != nil {
		t.Fatal(err)
	}
	if maxEntries = c0.Max; maxEntries == 0 || maxEntries > 1<<20 {
		t.Skipf("nf_conntrack_max %d: filling more than 1,048,576 entries (or an unlimited table) costs too much memory and time for a test", maxEntries)
	}
	// The flood's sources are reached through a: the reverse path holds,
	// and b's ICMP errors go back the way the packets came.
	r.R.Run("ip", "route", "add", "198.19.0.0/16", "via", r.AtoR.IPv4.Addr().String())

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conf := fmt.Sprintf("{ eth(da=%s, type=0x0800), ipv4(sa=198.19.0.0, sa[2]=drnd(), sa[3]=drnd(), da=%s, ttl=64), udp(sp=drnd(), dp=5201), fill(0x00, 18) }",
		r.RtoA.MAC(), r.BtoR.IPv4.Addr())
	// At most 4 × the maximum (60-byte frames), stopped when check is
	// done; -q sends through the qdisc path, as the flood benchmarks do.
	tg := r.A.Command(ctx, "trafgen", "-o", r.AtoR.Name, "-q", "-P", "1", "-n", strconv.FormatUint(4*maxEntries, 10), conf)
	tg.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	tg.Cancel = func() error { return syscall.Kill(-tg.Process.Pid, syscall.SIGINT) }
	tg.WaitDelay = 3 * time.Second
	tgOut := &lab.LimitedBuffer{Max: 64 << 10}
	tg.Stdout, tg.Stderr = tgOut, tgOut
	if err := tg.Start(); err != nil {
		t.Fatalf("trafgen: %v", err)
	}
	flooded = true
	var tgErr error
	tgDone := make(chan struct{})
	go func() { tgErr = tg.Wait(); close(tgDone) }()
	t.Cleanup(func() { cancel(); <-tgDone })

	// Until the table is full (a few seconds at most at trafgen's rate).
	var full lab.Conntrack
	for deadline := time.Now().Add(8 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c, err := r.R.ReadConntrack()
		if err != nil {
			t.Fatal(err)
		}
		if full = c; c.Count >= maxEntries*95/100 {
			break
		}
		select {
		case <-tgDone:
			t.Fatalf("trafgen ended (%v) with the table at %d of %d entries:\n%s", tgErr, c.Count, c.Max, tgOut.Bytes())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the table holds %d of %d entries after 8 s of flood", c.Count, c.Max)
		}
	}
	filled := time.Since(start)
	rep, code, _ := runCheckIn(t, r.R, "-i", r.RtoB.Name, "-F", r.AtoR.IPv4.Masked().String())
	checked := time.Since(start)
	t.Logf("check's window %v to %v after the start", rep.Start.Sub(start).Round(time.Millisecond), rep.End.Sub(start).Round(time.Millisecond))
	after, err := r.R.ReadConntrack()
	if err != nil {
		t.Fatal(err)
	}
	host := hostConntrackCount(t)
	cancel()
	<-tgDone
	t.Logf("table full (%d of %d) %v after the start, check done at %v, trafgen stopped at %v; by the end of check %d entries, early drops %d, drops %d, insert failures %d; the host's own table %d entries",
		full.Count, full.Max, filled.Round(time.Millisecond), checked.Round(time.Millisecond), time.Since(start).Round(time.Millisecond),
		after.Count, after.EarlyDrop, after.Drop, after.InsertFailed, host)
	if host >= maxEntries/10 {
		t.Errorf("the host's conntrack table holds %d entries: the flood should fill the router namespace's only", host)
	}
	if slabErr == nil {
		if n, _, err := lab.SlabObjects("nf_conntrack"); err == nil {
			t.Logf("kernel memory: nf_conntrack slab %d objects of %d bytes (%d before): %.1f MiB for the table", n, objSize, slab0, float64((n-min(n, slab0))*objSize)/(1<<20))
		}
	}

	f := finding(rep, verdict.RuleConntrackFull)
	if f == nil || f.Status != verdict.StatusCritical || code != 2 {
		t.Fatalf("exit %d, findings %+v: want conntrack-full, critical, exit 2", code, rep.Findings)
	}
	if rep.Thresholds.ConntrackFullRatio != verdict.DefaultThresholds().ConntrackFullRatio {
		t.Errorf("threshold %v, want the default %v (no config)", rep.Thresholds.ConntrackFullRatio, verdict.DefaultThresholds().ConntrackFullRatio)
	}
	ct := rep.Stack.Conntrack
	// The kernel counts a new entry before it checks the limit and early
	// drops an old one (__nf_conntrack_alloc), so at the moment of a read
	// a full table may hold one more entry for each CPU making one.
	if ct == nil || ct.Max != maxEntries || ct.PeakFill < 0.90 || ct.Count > maxEntries+uint64(runtime.NumCPU()) {
		t.Fatalf("conntrack evidence %+v: want the namespace's table at 90%% or more of %d", ct, maxEntries)
	}
	if ct.InsertFailed == nil || ct.Drop == nil || ct.EarlyDrop == nil {
		t.Fatalf("conntrack evidence %+v: no failure counters", ct)
	}
	failures := ct.InsertFailed.Count + ct.Drop.Count + ct.EarlyDrop.Count
	if failures == 0 {
		t.Errorf("conntrack evidence %+v: want early drops, drops or insert failures in the window", ct)
	}
	// check's counts are of the window, within the test's readings.
	if got, most := failures, (after.EarlyDrop+after.Drop+after.InsertFailed)-(full.EarlyDrop+full.Drop+full.InsertFailed); got > most {
		t.Errorf("check counted %d failures, more than the %d the test read from before to after it", got, most)
	}
	if !strings.Contains(f.Summary, fmt.Sprintf("of %d entries", maxEntries)) {
		t.Errorf("summary %q does not name the maximum", f.Summary)
	}
	if len(f.Reasons) < 2 {
		t.Errorf("reasons %q: want the fill and the failures", f.Reasons)
	}
}
