package lab_test

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"netriage/internal/lab"
)

func TestIntegrationVethTCPExactBytes(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	la.OffloadsOff()
	sink := b.TCPSink(lb.IPv4.Addr())
	before := la.Counters()
	const n = 1 << 20
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sent, err := a.SendTCP(ctx, sink.Addr(), lab.Send{Bytes: n})
	if err != nil {
		t.Fatal(err)
	}
	if sent != n || sink.Bytes() != n {
		t.Fatalf("sent %d, sink got %d, want %d", sent, sink.Bytes(), n)
	}
	after := la.Counters()
	// Each data segment carries at most MSS (1448 with timestamps) payload
	// plus 14+20+32 bytes of headers; the link counters must cover at
	// least the payload and not much more than payload + headers.
	d := after.TxBytes - before.TxBytes
	if d < n || d > n+n/10 {
		t.Fatalf("a tx delta %d bytes for %d payload bytes", d, n)
	}
	if rx := lb.Counters().RxBytes; rx < d {
		t.Fatalf("b rx %d < a tx delta %d", rx, d)
	}
}

func TestIntegrationIPv6AndUDP(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	_, lb := l.Veth(a, b)
	sink := b.UDPSink(lb.IPv6.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Size: 500, Count: 200, RateBps: 20e6})
	if err != nil || n != 200 {
		t.Fatalf("sent %d: %v", n, err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Second)
	defer wcancel()
	if err := sink.WaitBytes(wctx, 200*500); err != nil {
		t.Fatal(err)
	}
	if sink.Datagrams() != 200 {
		t.Fatalf("datagrams %d", sink.Datagrams())
	}
}

// TestIntegrationUDPToClosedPort sends to a port nobody listens on: the
// peer answers with ICMP port unreachable, the sender's next write fails
// with ECONNREFUSED instead of sending, and SendUDP must count only the
// datagrams that left, as the peer's NoPorts counter (its namespace's own,
// from zero) sees them.
func TestIntegrationUDPToClosedPort(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	_, lb := l.Veth(a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dst := netip.AddrPortFrom(lb.IPv4.Addr(), 9)
	const count = 200
	n, err := a.SendUDP(ctx, dst, lab.Send{Size: 100, Count: count, RateBps: 2e6})
	if err != nil || n != count {
		t.Fatalf("sent %d of %d: %v", n, count, err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := udpNoPorts(t, b)
		if got == count {
			return
		}
		if got > count || time.Now().After(deadline) {
			t.Fatalf("peer counted %d datagrams to a closed port, SendUDP reported %d sent", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// udpNoPorts reads the Udp NoPorts counter of ns's /proc/net/snmp.
func udpNoPorts(t *testing.T, ns *lab.NS) int {
	t.Helper()
	out, _, code := ns.Output(t, 5*time.Second, "cat", "/proc/net/snmp")
	if code != 0 {
		t.Fatalf("cat /proc/net/snmp in %s: exit %d", ns.Name, code)
	}
	var head []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		for i := range head {
			if head[i] == "NoPorts" && i < len(f) {
				v, err := strconv.Atoi(f[i])
				if err != nil {
					t.Fatalf("Udp NoPorts %q: %v", f[i], err)
				}
				return v
			}
		}
	}
	t.Fatalf("no Udp NoPorts in %s's /proc/net/snmp", ns.Name)
	return 0
}

func TestIntegrationRouterTBFDrops(t *testing.T) {
	l := lab.New(t)
	r := l.Router()
	r.RtoB.TBF(20_000_000, 32_000, 64_000)
	sink := r.B.UDPSink(r.BtoR.IPv4.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// 60 Mbit/s of UDP through a 20 Mbit/s bottleneck for ~1 s.
	if _, err := r.A.SendUDP(ctx, sink.Addr(), lab.Send{Size: 1200, Count: 6000, RateBps: 60e6}); err != nil {
		t.Fatal(err)
	}
	q, err := r.RtoB.ReadQdisc()
	if err != nil {
		t.Fatal(err)
	}
	if q.Kind != "tbf" || q.Drops == 0 || q.Overlimits == 0 {
		t.Fatalf("qdisc %+v: want tbf with drops and overlimits", q)
	}
	if sink.Datagrams() == 0 || sink.Datagrams() >= 6000 {
		t.Fatalf("sink got %d datagrams", sink.Datagrams())
	}
}

func TestIntegrationCleanup(t *testing.T) {
	var names []string
	t.Run("inner", func(t *testing.T) {
		l := lab.New(t)
		a, b := l.Netns(), l.Netns()
		l.Veth(a, b)
		names = []string{a.Name, b.Name}
		c := a.Command(context.Background(), "sleep", "30")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	})
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(string(out), n) {
			t.Errorf("namespace %s left behind", n)
		}
	}
}

func TestIntegrationDoStaysInNamespace(t *testing.T) {
	l := lab.New(t)
	a := l.Netns()
	var ifaces []string
	err := a.Do(func() error {
		out, err := exec.Command("ip", "-br", "link").Output()
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			ifaces = append(ifaces, strings.Fields(line)[0])
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Fatalf("inside a new namespace: %v, want [lo]", ifaces)
	}
}

func TestCPUTime(t *testing.T) {
	t0 := lab.CPUTime(os.Getpid())
	deadline := time.Now().Add(30 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	if d := lab.CPUTime(os.Getpid()) - t0; d < 10*time.Millisecond {
		t.Errorf("30 ms of spinning counted as %v", d)
	}
	if lab.CPUTime(-1) != 0 {
		t.Error("a missing process has CPU time")
	}
}

// smapsFixture is a trimmed /proc/PID/smaps of the netriage binary
// capturing on one interface (fields other than Rss and Anonymous cut).
const smapsFixture = `00400000-00403000 r--p 00000000 fe:00 9980434                            /work/bin/netriage
Size:                 12 kB
Rss:                  12 kB
Anonymous:             0 kB
VmFlags: rd mr mw me
00403000-00c1e000 r-xp 00003000 fe:00 9980434                            /work/bin/netriage
Rss:                7524 kB
Anonymous:             0 kB
00c1e000-0152c000 r--p 0081e000 fe:00 9980434                            /work/bin/netriage
Rss:                9272 kB
Anonymous:             0 kB
0152d000-0159c000 rw-p 0112c000 fe:00 9980434                            /work/bin/netriage
Rss:                 340 kB
Anonymous:           120 kB
0159c000-03d10000 rw-p 00000000 00:00 0 
Rss:                6412 kB
Anonymous:          6412 kB
3e4003800000-3e4004400000 rw-p 00000000 00:00 0 
Rss:                2092 kB
Anonymous:          2092 kB
7fc076000000-7fc078000000 rw-s 00000000 00:09 202016                     socket:[202016]
Rss:               32768 kB
Anonymous:             0 kB
7fc08c362000-7fc08c562000 rw-s 00000000 00:09 202018                     socket:[202018]
Rss:                2048 kB
Anonymous:             0 kB
7fc0d6678000-7fc0d67ce000 r-xp 00026000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                 992 kB
Anonymous:             0 kB
7ffd1c1a4000-7ffd1c1c5000 rw-p 00000000 00:00 0                          [stack]
Rss:                  16 kB
Anonymous:            16 kB
7ffd1c1f0000-7ffd1c1f2000 r-xp 00000000 00:00 0                          [vdso]
Rss:                   4 kB
Anonymous:             0 kB
`

func TestParseSmaps(t *testing.T) {
	got, err := lab.ParseSmaps(strings.NewReader(smapsFixture), "/work/bin/netriage")
	if err != nil {
		t.Fatal(err)
	}
	want := lab.MemBreakdown{
		Rings: 34816, RingMaps: 2, Text: 7524, Rodata: 9284, Data: 340, BSS: 6412,
		Anon: 2108, Libs: 992, Other: 4, Total: 61480, AnonTotal: 8640,
	}
	if got != want {
		t.Errorf("ParseSmaps:\n got %+v\nwant %+v", got, want)
	}
	if _, err := lab.ParseSmaps(strings.NewReader("not smaps at all\n"), "x"); err == nil {
		t.Error("a line that is neither a mapping nor a field: no error")
	}
}

func TestDiffThreads(t *testing.T) {
	before := []lab.Thread{{TID: 1, CPU: 10, Runs: 5}, {TID: 2, CPU: 4, Runs: 1}}
	after := []lab.Thread{{TID: 1, CPU: 30, Runs: 7, Voluntary: 2}, {TID: 2, CPU: 4, Runs: 1}, {TID: 3, CPU: 8, Runs: 9}}
	got := lab.DiffThreads(before, after)
	want := []lab.ThreadDelta{{TID: 3, CPU: 8, Runs: 9}, {TID: 1, CPU: 20, Runs: 2, Voluntary: 2}, {TID: 2}}
	if len(got) != len(want) {
		t.Fatalf("DiffThreads: %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("DiffThreads[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if th := lab.Threads(os.Getpid()); len(th) == 0 || th[0].Runs == 0 {
		t.Errorf("Threads of this process: %+v", th)
	}
}
