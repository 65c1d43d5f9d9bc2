package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"netriage/internal/lab"
)

// serveFloodSeconds is the length of BenchmarkServeFloodRandom's flood.
const serveFloodSeconds = 10

// BenchmarkServeFloodRandom runs serve and flows (a record every second)
// side by side on one veth, first idle for 10 s, then under a
// random-source UDP flood (trafgen, one core: every packet a new source
// address and port, at most 8 million packets and serveFloodSeconds), and
// reports each process's CPU time idle and per flooded packet, the ratio
// serve/flows, and at the end of the flood serve's talker series (they
// must stay within the cap, 4 × (keep_rank + 1) = 84 with the defaults)
// with each family's sum against the flow bytes. Needs root,
// NETRIAGE_INTEGRATION=1, NETRIAGE_BIN and trafgen (Debian netsniff-ng);
// b.N is ignored: one run.
func BenchmarkServeFloodRandom(b *testing.B) {
	bin := os.Getenv("NETRIAGE_BIN")
	if bin == "" {
		b.Skip("NETRIAGE_BIN is not set (make bench sets it)")
	}
	f := newRandomFlood(b)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := func(args ...string) *exec.Cmd {
		c := f.a.Command(ctx, bin, args...)
		c.Stdout, c.Stderr = io.Discard, io.Discard
		if err := c.Start(); err != nil {
			b.Fatal(err)
		}
		go func() { _ = c.Wait() }()
		return c
	}
	la, a := f.la, f.a
	serve := start("serve", "-i", la.Name, "-n", "--web.listen-address", "127.0.0.1:10099")
	flows := start("flows", "-i", la.Name, "-n", "-N", "--interval", "1s", "--output", "json", "-L", "5")
	procs := []*exec.Cmd{serve, flows}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := a.Do(func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}}
	defer hc.CloseIdleConnections()
	time.Sleep(time.Second)
	cpu := func() []time.Duration {
		out := make([]time.Duration, len(procs))
		for i, p := range procs {
			out[i] = lab.CPUTime(p.Process.Pid)
		}
		return out
	}
	idle0 := cpu()
	time.Sleep(10 * time.Second)
	idle1 := cpu()

	b.ResetTimer()
	c0 := la.Counters()
	flood0 := cpu()
	f.run(ctx, serveFloodSeconds*time.Second)
	time.Sleep(1500 * time.Millisecond) // a step after the flood
	flood1 := cpu()
	b.StopTimer()
	pk := float64(la.Counters().TxPackets - c0.TxPackets)

	resp, err := hc.Get("http://127.0.0.1:10099/metrics")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	series := map[string]int{}
	sums := map[string]float64{}
	flowBytes := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		name, rest, ok := strings.Cut(line, "{")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		labels, val, _ := strings.Cut(rest, "} ")
		var v float64
		_, _ = fmt.Sscan(val, &v)
		dir := "rx"
		if strings.Contains(labels, `direction="tx"`) {
			dir = "tx"
		}
		switch name {
		case "netriage_process_bytes_total", "netriage_remote_bytes_total":
			series[name]++
			sums[name+" "+dir] += v
		case "netriage_flow_bytes_total":
			flowBytes[dir] = v
		}
	}
	total := series["netriage_process_bytes_total"] + series["netriage_remote_bytes_total"]
	b.ReportMetric(pk, "packets")
	b.ReportMetric(pk/serveFloodSeconds, "pps")
	for i, name := range []string{"serve", "flows"} {
		b.ReportMetric(float64(lab.StatusKB(procs[i].Process.Pid, "VmHWM"))/1024, name+"-maxRSS-MB")
		b.ReportMetric(float64((idle1[i]-idle0[i]).Milliseconds())/10, name+"-idle-ms/s")
		b.ReportMetric(float64((flood1[i]-flood0[i]).Nanoseconds())/pk, name+"-flood-ns/pkt")
	}
	if d := flood1[1] - flood0[1]; d > 0 {
		b.ReportMetric(float64(flood1[0]-flood0[0])/float64(d), "serve/flows")
	}
	if d := idle1[1] - idle0[1]; d > 0 {
		b.ReportMetric(float64(idle1[0]-idle0[0])/float64(d), "idle-serve/flows")
	}
	b.ReportMetric(float64(total), "talker-series")
	if total > 84 {
		b.Errorf("%d talker series after the flood, cap 84", total)
	}
	for _, dir := range []string{"rx", "tx"} {
		for _, fam := range []string{"netriage_process_bytes_total", "netriage_remote_bytes_total"} {
			b.Logf("%s %s: Σ %.0f, flow bytes %.0f", fam, dir, sums[fam+" "+dir], flowBytes[dir])
			if sums[fam+" "+dir] != flowBytes[dir] {
				b.Errorf("%s %s sums to %v, flow bytes %v", fam, dir, sums[fam+" "+dir], flowBytes[dir])
			}
		}
	}
	b.Logf("series: %v", series)
}

// randomFlood is the random-source flood benchmarks' lab: a veth between
// two namespaces, offloads off, the captures in a and trafgen sending
// from a to the peer.
type randomFlood struct {
	b    *testing.B
	a    *lab.NS
	la   *lab.Link
	conf string
}

func newRandomFlood(b *testing.B) *randomFlood {
	if _, err := exec.LookPath("trafgen"); err != nil {
		b.Skipf("trafgen not available: %v", err)
	}
	l := lab.New(b)
	a, r := l.Netns(), l.Netns()
	la, lb := l.Veth(a, r)
	la.OffloadsOff()
	h, err := lb.NS.Handle()
	if err != nil {
		b.Fatal(err)
	}
	peer, err := h.LinkByName(lb.Name)
	if err != nil {
		b.Fatal(err)
	}
	// Every packet a new source address (198.18.0.0/15) and port: a new
	// flow each.
	conf := fmt.Sprintf("{ eth(da=%s, type=0x0800), "+
		"ipv4(sa=198.18.0.0, sa[1]=drnd(18,19), sa[2]=drnd(), sa[3]=drnd(), da=%s, ttl=64), "+
		"udp(sp=drnd(), dp=5201), fill(0x00, 64) }", peer.Attrs().HardwareAddr, lb.IPv4.Addr())
	return &randomFlood{b: b, a: a, la: la, conf: conf}
}

// run floods for d (one trafgen process on one core, at most 8 million
// packets) and returns when trafgen has exited.
func (f *randomFlood) run(ctx context.Context, d time.Duration) {
	f.b.Helper()
	fctx, fcancel := context.WithTimeout(ctx, d)
	defer fcancel()
	tg := f.a.Command(fctx, "trafgen", "-o", f.la.Name, "-q", "-P", "1", "-n", "8000000", f.conf)
	tg.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	tg.Cancel = func() error { return syscall.Kill(-tg.Process.Pid, syscall.SIGINT) }
	tg.WaitDelay = 5 * time.Second
	out, err := tg.CombinedOutput()
	if err != nil && fctx.Err() == nil {
		f.b.Fatalf("trafgen: %v\n%s", err, out)
	}
}
