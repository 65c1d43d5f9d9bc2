package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"netriage/internal/lab"
)

const (
	// quietSeconds is the length of BenchmarkLiveQuiet's traffic.
	quietSeconds = 20
	// quietUDPRate is iperf3's UDP payload rate: 64-byte datagrams at
	// 11.5 Mbit/s are 22,460 a second.
	quietUDPRate = "11.5M"
	// quietTCPBps paces the TCP flow beside it: 2 Mbit/s of payload,
	// about 170 segments a second and their acknowledgements.
	quietTCPBps = 2_000_000
	// quietSteadyFrom is where the steady span of BenchmarkLiveQuiet
	// starts, after the traffic began: by then a ring that opened small
	// has grown to the stage the link needs and handed the old ring over
	// (the growth takes under a second), so the span from here to the end
	// is the capture's cost without that one-time step.
	quietSteadyFrom = 3 * time.Second
)

// BenchmarkLiveQuiet is the quiet link beside the floods: for
// quietSeconds, iperf3 sends 64-byte UDP datagrams at a fixed rate (about
// 22,500 a second) and a Go sender a TCP flow paced at 2 Mbit/s across a
// veth (offloads off), about 23,000 packets a second in both directions,
// while three processes capture the same interface: iftop (-t -s, one
// report at the end), `netriage flows --interval 1s --output json` (a
// record every second, the goal's case) and the binary writing one record
// at the end. For each it reports the CPU time per packet over the traffic
// (on-CPU time of all its threads from /proc, read just before and after,
// divided by the packets the interface sent and received) and its
// wake-ups per second, the ratios to iftop's in the same run (goal: a
// record every second at most 1.0 × iftop), the packet rate, the kernel
// drops of both netriage processes and the one-record process's
// completeness (captured IP bytes plus link headers against the
// interface's tx + rx bytes over its whole run). The same ratios are
// reported over the steady span too (-steady: from quietSteadyFrom into
// the traffic to its end), which leaves out a ring's one-time growth when
// the traffic starts. Needs root,
// NETRIAGE_INTEGRATION=1, NETRIAGE_BIN, iperf3 and iftop; b.N is ignored:
// one run.
func BenchmarkLiveQuiet(b *testing.B) {
	bin := os.Getenv("NETRIAGE_BIN")
	if bin == "" {
		b.Skip("NETRIAGE_BIN is not set (make bench sets it)")
	}
	for _, tool := range []string{"iftop", "iperf3"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s not available: %v", tool, err)
		}
	}
	l := lab.New(b)
	a, r := l.Netns(), l.Netns()
	la, lb := l.Veth(a, r)
	la.OffloadsOff()
	lb.OffloadsOff()
	r.Iperf3Server(lb.IPv4.Addr(), 5201)
	sink := r.TCPSink(lb.IPv4.Addr())
	defer sink.Close()
	la.WaitQuiet(300*time.Millisecond, 5*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	span := (quietSeconds + 3) * time.Second
	start := func(name string, args ...string) (*exec.Cmd, *lab.LimitedBuffer) {
		c := a.Command(ctx, name, args...)
		out := &lab.LimitedBuffer{Max: 4 << 20}
		c.Stdout, c.Stderr = out, out
		if err := c.Start(); err != nil {
			b.Fatalf("start %s: %v", name, err)
		}
		return c, out
	}
	whole0 := la.Counters()
	iftop, iftopOut := start("stdbuf", "-oL", "iftop", "-t", "-s", strconv.Itoa(int(span/time.Second)), "-n", "-N", "-P", "-i", la.Name)
	perSec, perSecOut := start(bin, "flows", "-i", la.Name, "-P", "-n", "-N", "--duration", span.String(), "--interval", "1s", "--output", "json", "-L", "5")
	once, onceOut := start(bin, "flows", "-i", la.Name, "-P", "-n", "-N", "--count", "1", "--interval", span.String(), "--output", "json", "-L", "5")
	time.Sleep(700 * time.Millisecond)

	procs := []*exec.Cmd{iftop, perSec, once}
	c0 := la.Counters()
	th0 := make([][]lab.Thread, len(procs))
	for i, p := range procs {
		th0[i] = lab.Threads(p.Process.Pid)
	}
	t0 := time.Now()
	b.ResetTimer()
	type mark struct {
		th [][]lab.Thread
		c  lab.Counters
	}
	midc := make(chan mark, 1)
	go func() {
		select {
		case <-time.After(quietSteadyFrom):
		case <-ctx.Done():
			midc <- mark{}
			return
		}
		m := mark{c: la.Counters()}
		for _, p := range procs {
			m.th = append(m.th, lab.Threads(p.Process.Pid))
		}
		midc <- m
	}()
	tcpDone := make(chan error, 1)
	go func() {
		_, err := a.SendTCP(ctx, sink.Addr(), lab.Send{Bytes: quietTCPBps / 8 * quietSeconds, RateBps: quietTCPBps, Timeout: (quietSeconds + 10) * time.Second})
		tcpDone <- err
	}()
	out, err := a.Iperf3(ctx, "-c", lb.IPv4.Addr().String(), "-u", "-b", quietUDPRate, "-l", "64", "-t", strconv.Itoa(quietSeconds))
	if err != nil {
		b.Fatalf("iperf3: %v\n%s", err, out)
	}
	if err := <-tcpDone; err != nil {
		b.Fatalf("TCP sender: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	b.StopTimer()
	wall := time.Since(t0).Seconds()
	th1 := make([][]lab.Thread, len(procs))
	for i, p := range procs {
		th1[i] = lab.Threads(p.Process.Pid)
		if len(th1[i]) == 0 {
			b.Fatalf("a capturing process (%v) ended before the traffic did", p.Args)
		}
	}
	c1 := la.Counters()
	mid := <-midc
	_ = perSec.Wait()
	_ = once.Wait()
	whole1 := la.Counters()
	// iftop checks its -s time-out only when packets come (see
	// BenchmarkLiveFlood): a few more let it print its report.
	usink := r.UDPSink(lb.IPv4.Addr())
	defer usink.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !bytes.Contains(iftopOut.Bytes(), []byte("Cumulative")); {
		_, _ = a.SendUDP(ctx, usink.Addr(), lab.Send{Count: 5, Size: 100})
		time.Sleep(200 * time.Millisecond)
	}
	_ = iftop.Process.Kill()
	_ = iftop.Wait()

	pk := float64(c1.TxPackets - c0.TxPackets + c1.RxPackets - c0.RxPackets)
	cpu, runs := threadsCPU(th0, th1)
	perSecRecs := flowRecords(b, "a record every second", perSecOut.Bytes())
	var whole struct {
		Capture struct {
			Packets         uint64 `json:"packets"`
			Bytes           uint64 `json:"bytes"`
			LinkHeaderBytes uint64 `json:"link_header_bytes"`
			Drops           uint64 `json:"drops"`
			Interfaces      []struct {
				RingBytes uint64 `json:"ring_bytes"`
			} `json:"interfaces"`
		} `json:"capture"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(onceOut.Bytes()), &whole); err != nil {
		b.Fatalf("netriage's record (one record): %v\n%s", err, onceOut.Bytes())
	}
	ifBytes := float64(whole1.TxBytes - whole0.TxBytes + whole1.RxBytes - whole0.RxBytes)
	nsPerPkt := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / pk }
	b.ReportMetric(pk, "packets")
	b.ReportMetric(pk/wall, "pps")
	b.ReportMetric(nsPerPkt(cpu[0]), "iftop-ns/pkt")
	b.ReportMetric(nsPerPkt(cpu[1]), "netriage-1s-ns/pkt")
	b.ReportMetric(nsPerPkt(cpu[2]), "netriage-once-ns/pkt")
	if cpu[0] > 0 {
		b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "1s/iftop")
		b.ReportMetric(float64(cpu[2])/float64(cpu[0]), "once/iftop")
	}
	if len(mid.th) == len(procs) {
		spk := float64(c1.TxPackets - mid.c.TxPackets + c1.RxPackets - mid.c.RxPackets)
		steady, _ := threadsCPU(mid.th, th1)
		if spk > 0 && steady[0] > 0 {
			b.ReportMetric(float64(steady[0].Nanoseconds())/spk, "iftop-steady-ns/pkt")
			b.ReportMetric(float64(steady[1].Nanoseconds())/spk, "netriage-1s-steady-ns/pkt")
			b.ReportMetric(float64(steady[2].Nanoseconds())/spk, "netriage-once-steady-ns/pkt")
			b.ReportMetric(float64(steady[1])/float64(steady[0]), "1s/iftop-steady")
			b.ReportMetric(float64(steady[2])/float64(steady[0]), "once/iftop-steady")
		}
	}
	b.ReportMetric(float64(runs[0])/wall, "iftop-wakeups/s")
	b.ReportMetric(float64(runs[1])/wall, "netriage-1s-wakeups/s")
	b.ReportMetric(float64(runs[2])/wall, "netriage-once-wakeups/s")
	b.ReportMetric(float64(perSecRecs[len(perSecRecs)-1].Capture.Drops), "1s-kernel-drops")
	b.ReportMetric(float64(whole.Capture.Drops), "once-kernel-drops")
	if ifBytes > 0 {
		b.ReportMetric(100*float64(whole.Capture.Bytes+whole.Capture.LinkHeaderBytes)/ifBytes, "completeness-%")
	}
	// The rings' sizes at the end: a ring that starts small should have
	// grown no further than the quiet link needs.
	b.ReportMetric(perSecRecs[len(perSecRecs)-1].ringMiB(), "1s-ring-MiB")
	if len(whole.Capture.Interfaces) > 0 {
		b.ReportMetric(float64(whole.Capture.Interfaces[0].RingBytes)/(1<<20), "once-ring-MiB")
	}
	b.Logf("packets: %.0f in %.1f s (tx %d, rx %d); one record captured %d of %d frames over its run",
		pk, wall, c1.TxPackets-c0.TxPackets, c1.RxPackets-c0.RxPackets,
		whole.Capture.Packets, whole1.TxPackets-whole0.TxPackets+whole1.RxPackets-whole0.RxPackets)
}

// threadsCPU returns each process's CPU time and wake-ups between two
// reads of its threads.
func threadsCPU(before, after [][]lab.Thread) ([]time.Duration, []uint64) {
	cpu, runs := make([]time.Duration, len(before)), make([]uint64, len(before))
	for i := range before {
		for _, t := range lab.DiffThreads(before[i], after[i]) {
			cpu[i] += t.CPU
			runs[i] += t.Runs
		}
	}
	return cpu, runs
}
