package lab_test

import (
	"context"
	"os"
	"os/exec"
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
