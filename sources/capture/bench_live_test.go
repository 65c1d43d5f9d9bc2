package capture

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"netriage/internal/lab"
	"netriage/triage/flows"
)

// BenchmarkLiveFlood floods small UDP packets (iperf3, a separate process)
// across a veth for 3 s while netriage's live capture and iftop watch the
// same interface. It reports netriage's completeness (captured IP bytes +
// 14 per frame against the interface's tx counter), kernel drops, and the
// CPU seconds per million packets of both tools: over each process's
// whole life ("-cpu-s/Mpkt": start-up, idle ticks and exit included) and
// over the flood alone ("-flood-cpu-s/Mpkt": on-CPU time of all the
// process's threads from /proc, read just before and after the flood). It needs root and
// NETRIAGE_INTEGRATION=1 (make bench sets it); b.N is ignored: one flood.
func BenchmarkLiveFlood(b *testing.B) {
	l := lab.New(b)
	a, r := l.Netns(), l.Netns()
	la, lb := l.Veth(a, r)
	la.OffloadsOff()
	lb.OffloadsOff()
	r.Iperf3Server(lb.IPv4.Addr(), 5201)

	live := startLiveIn(b, a, LiveOptions{
		Interfaces: []string{la.Name}, Aggregation: flows.By5Tuple,
		Table: flows.TableConfig{MaxFlows: 10000, Local: flows.NewLocal(netip.PrefixFrom(la.IPv4.Addr(), 32))},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iftop := a.Command(ctx, "stdbuf", "-oL", "iftop", "-t", "-s", "5", "-n", "-N", "-P", "-i", la.Name)
	iftopOut := &lab.LimitedBuffer{Max: 1 << 20}
	iftop.Stdout, iftop.Stderr = iftopOut, iftopOut
	if err := iftop.Start(); err != nil {
		b.Skipf("iftop not available: %v", err)
	}
	// The released binary as its own process, like iftop: its CPU is the
	// product's alone (the in-process figure includes this test's harness).
	var nrBin *exec.Cmd
	if bin := os.Getenv("NETRIAGE_BIN"); bin != "" {
		nrBin = a.Command(ctx, bin, "flows", "-i", la.Name, "-n", "-N", "--count", "5", "--interval", "1s", "--output", "json", "-L", "5")
		nrBin.Stdout = &lab.LimitedBuffer{Max: 1 << 20}
		if err := nrBin.Start(); err != nil {
			b.Fatalf("start %s: %v", bin, err)
		}
	}
	time.Sleep(700 * time.Millisecond)
	c0 := la.Counters()
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	iftop0 := lab.CPUTime(iftop.Process.Pid)
	var bin0 time.Duration
	if nrBin != nil {
		bin0 = lab.CPUTime(nrBin.Process.Pid)
	}
	b.ResetTimer()
	if out, err := a.Iperf3(ctx, "-c", lb.IPv4.Addr().String(), "-u", "-b", "400M", "-l", "64", "-t", "3"); err != nil {
		b.Fatalf("iperf3: %v\n%s", err, out)
	}
	time.Sleep(300 * time.Millisecond)
	b.StopTimer()
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	iftopFlood := lab.CPUTime(iftop.Process.Pid) - iftop0
	var binFlood time.Duration
	if nrBin != nil {
		binFlood = lab.CPUTime(nrBin.Process.Pid) - bin0
	}
	c1 := la.Counters()
	s := live.Snapshot(time.Now())
	_ = iftop.Wait()
	if nrBin != nil {
		_ = nrBin.Wait()
	}

	pk := float64(c1.TxPackets - c0.TxPackets)
	ifBytes := float64(c1.TxBytes - c0.TxBytes)
	var capBytes, capPk float64
	for _, f := range s.Flows {
		if f.Key.Proto == flows.ProtoUDP && f.Key.RemotePort == 5201 {
			capBytes += float64(f.SentBytes + 14*f.SentPackets)
			capPk += float64(f.SentPackets)
		}
	}
	cpu := func(ru syscall.Rusage) float64 {
		return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	ours := (cpu(ru1) - cpu(ru0)) / (capPk / 1e6)
	var iftopCPU float64
	if st := iftop.ProcessState; st != nil {
		iftopCPU = (st.UserTime() + st.SystemTime()).Seconds()
	}
	b.ReportMetric(pk, "packets")
	b.ReportMetric(100*capBytes/ifBytes, "completeness-%")
	b.ReportMetric(float64(s.Capture.KernelDrops), "kernel-drops")
	b.ReportMetric(ours, "netriage-cpu-s/Mpkt")
	b.ReportMetric(iftopCPU/(pk/1e6), "iftop-cpu-s/Mpkt")
	b.ReportMetric(iftopFlood.Seconds()/(pk/1e6), "iftop-flood-cpu-s/Mpkt")
	if nrBin != nil && nrBin.ProcessState != nil {
		st := nrBin.ProcessState
		b.ReportMetric((st.UserTime()+st.SystemTime()).Seconds()/(pk/1e6), "netriage-bin-cpu-s/Mpkt")
		b.ReportMetric(binFlood.Seconds()/(pk/1e6), "netriage-bin-flood-cpu-s/Mpkt")
	}
	if m := regexp.MustCompile(`Cumulative \(sent/received/total\):\s+(\S+)`).FindSubmatch(iftopOut.Bytes()); m != nil {
		b.Logf("iftop cumulative sent: %s; interface tx %0.f bytes (%0.f IP bytes)", m[1], ifBytes, ifBytes-14*pk)
	} else {
		out := iftopOut.Bytes()
		b.Logf("iftop (%v) printed no cumulative line; its output ends:\n%s", iftop.ProcessState, out[max(0, len(out)-800):])
	}
}
