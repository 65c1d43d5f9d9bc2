package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"netriage/internal/lab"
)

// BenchmarkTopFloodRandom runs the TUI (top in a 200×50 tmux window, the
// overview at start) and flows (a record every second) side by side on one
// veth, idle for 5 s, then under BenchmarkServeFloodRandom's random-source
// flood (every packet a new flow, the table at its cap and evicting). It
// reports each process's CPU per flooded packet, top/flows, the peak
// resident memory (VmHWM) and, each second, the resident memory (logged),
// and how long top takes to quit when q is pressed right after the flood.
// Needs root, NETRIAGE_INTEGRATION=1, NETRIAGE_BIN, trafgen and tmux; b.N
// is ignored: one run.
func BenchmarkTopFloodRandom(b *testing.B) {
	bin := topBin(b)
	f := newRandomFlood(b)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	la := f.la
	flows := f.a.Command(ctx, bin, "flows", "-i", la.Name, "-n", "-N", "--interval", "1s", "--output", "json", "-L", "5")
	flows.Stdout, flows.Stderr = io.Discard, io.Discard
	if err := flows.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { _ = flows.Wait() }()
	s := startTUICmd(b, 200, 50, "ip netns exec "+f.a.Name+" "+bin+" -i "+la.Name+" -n -N --interval 1s")
	top := s.binPID()
	s.waitUntil("the first frame", 10*time.Second, func(scr string) bool { return strings.Contains(scr, "Flows (iftop)") })
	pids := []int{top, flows.Process.Pid}
	cpu := func() []time.Duration {
		return []time.Duration{lab.CPUTime(pids[0]), lab.CPUTime(pids[1])}
	}
	time.Sleep(5 * time.Second)

	b.ResetTimer()
	c0 := la.Counters()
	flood0 := cpu()
	done := make(chan struct{})
	sampled := make(chan []string, 1)
	go func() {
		var lines []string
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 1; ; i++ {
			select {
			case <-done:
				sampled <- lines
				return
			case <-tick.C:
				lines = append(lines, fmt.Sprintf("%2d s", i)+": top "+mb(lab.StatusKB(pids[0], "VmRSS"))+
					", flows "+mb(lab.StatusKB(pids[1], "VmRSS")))
			}
		}
	}()
	f.run(ctx, serveFloodSeconds*time.Second)
	time.Sleep(1500 * time.Millisecond) // a step after the flood
	flood1 := cpu()
	b.StopTimer()
	close(done)
	for _, l := range <-sampled {
		b.Log("RSS " + l)
	}
	pk := float64(la.Counters().TxPackets - c0.TxPackets)
	b.ReportMetric(pk/serveFloodSeconds, "pps")
	for i, name := range []string{"top", "flows"} {
		b.ReportMetric(float64(lab.StatusKB(pids[i], "VmHWM"))/1024, name+"-maxRSS-MB")
		b.ReportMetric(float64((flood1[i]-flood0[i]).Nanoseconds())/pk, name+"-flood-ns/pkt")
	}
	if d := flood1[1] - flood0[1]; d > 0 {
		b.ReportMetric(float64(flood1[0]-flood0[0])/float64(d), "top/flows")
	}

	// The flow table is still at its cap: q must still end the TUI soon.
	q := time.Now()
	s.keys("q")
	s.waitUntil("the exit status", 30*time.Second, func(scr string) bool { return strings.Contains(scr, "EXIT=") })
	b.ReportMetric(time.Since(q).Seconds(), "quit-s")
	if scr := s.screen(); !strings.Contains(scr, "EXIT=0") {
		b.Errorf("top did not exit 0 after the flood:\n%s", scr)
	}
}

// mb formats KiB as MB.
func mb(kb uint64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
