package inputs_test

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"netriage/internal/lab"
	"netriage/triage/verdict"
)

// The burst scenarios (lab scenario 1 of the saturation issue) run the
// real binary's check inside the router namespace of an a — r — b lab,
// judging r's egress to b, which holds a 10 Mbit/s tbf with a 200 kB
// queue (160 ms at its rate).

const (
	burstRateBps  = 10_000_000
	burstTBFLimit = 200_000
	burstWindow   = "4s"
)

// checkIn runs `netriage check --output json` in ns and returns the
// report and the exit code.
func checkIn(t *testing.T, ns *lab.NS, args ...string) (verdict.Report, int) {
	t.Helper()
	out, errOut, code := ns.Output(t, 15*time.Second, lab.Binary(t), append([]string{"check", "--output", "json", "-n", "--duration", burstWindow}, args...)...)
	var r verdict.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("check output is not a report: %v\n%s\nstderr: %s", err, out, errOut)
	}
	t.Logf("netriage check %s → exit %d: %s\nstderr: %s", strings.Join(args, " "), code, r.Summary, errOut)
	return r, code
}

// burstLab builds the lab with the shaper and a UDP sink in b.
func burstLab(t *testing.T) (*lab.Router, *lab.Sink) {
	l := lab.New(t)
	r := l.Router()
	r.RtoB.TBF(burstRateBps, 16_000, burstTBFLimit)
	return r, r.B.UDPSink(r.BtoR.IPv4.Addr())
}

// sendBursts sends 1200-byte datagrams from a as fast as the socket takes
// them for 50 ms every 500 ms (at most 2 MB a burst) until ctx ends.
func sendBursts(ctx context.Context, t *testing.T, a *lab.NS, dst netip.AddrPort) {
	var conn *net.UDPConn
	if err := a.Do(func() (err error) {
		conn, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		return err
	}); err != nil {
		t.Error(err)
		return
	}
	defer conn.Close()
	buf := make([]byte, 1200)
	next := time.Now()
	for ctx.Err() == nil {
		end := next.Add(50 * time.Millisecond)
		for sent := 0; sent < 2_000_000 && time.Now().Before(end); sent += len(buf) {
			_, _ = conn.Write(buf) // ENOBUFS and refusals do not stop a burst
		}
		next = next.Add(500 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(next)):
		}
	}
}

// TestIntegrationCheckBursty: 50 ms bursts at line rate every 500 ms into
// the tbf keep the average below 50% while the queue overflows in every
// burst: check reports bursty (critical, exit 2) with a 100 ms peak at or
// above 95% and the queue's drops.
func TestIntegrationCheckBursty(t *testing.T) {
	r, sink := burstLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sendBursts(ctx, t, r.A, sink.Addr()) }()
	defer wg.Wait()
	time.Sleep(600 * time.Millisecond)
	rep, code := checkIn(t, r.R, "-i", r.RtoB.Name, "-F", r.AtoR.IPv4.Masked().String())
	cancel()
	tx := txOf(t, rep, r.RtoB.Name)
	b := tx.Bursts
	if b == nil || b.PeakUtilization == nil {
		t.Fatalf("no burst view with a peak utilisation: %+v", b)
	}
	t.Logf("average %.1f%%, 100 ms peak %.1f%% (%.0f ms interval), %.1f s at or above crit, qdisc drops %v in the window, %v seen by the sampler, backlog up to %d bytes",
		*tx.Utilization*100, *b.PeakUtilization*100, b.PeakIntervalMs, b.AboveCritSec, deref(tx.Evidence.QueueDrops), deref(b.QueueDrops), b.MaxBacklogBytes)
	if code != 2 || !hasRule(rep, verdict.RuleBursty) {
		t.Errorf("exit %d, findings %+v: want 2 with bursty", code, rep.Findings)
	}
	if *b.PeakUtilization < 0.95 {
		t.Errorf("peak 100 ms utilisation %.3f, want at least 0.95", *b.PeakUtilization)
	}
	if tx.Utilization == nil || *tx.Utilization >= 0.5 {
		t.Errorf("average utilisation %v, want below 50%%", tx.Utilization)
	}
	if tx.Evidence.QueueDrops == nil || *tx.Evidence.QueueDrops == 0 || b.QueueDrops == nil || *b.QueueDrops == 0 {
		t.Errorf("queue drops: window %v, sampler %v: want both above 0", tx.Evidence.QueueDrops, b.QueueDrops)
	}
}

// TestIntegrationCheckSteadyNotBursty: the same average sent steadily
// fills no queue: not bursty, exit 0.
func TestIntegrationCheckSteadyNotBursty(t *testing.T) {
	r, sink := burstLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = r.A.SendUDP(ctx, sink.Addr(), lab.Send{Size: 1200, Count: 1 << 30, RateBps: 4_000_000, Timeout: 8 * time.Second})
	}()
	defer wg.Wait()
	time.Sleep(600 * time.Millisecond)
	rep, code := checkIn(t, r.R, "-i", r.RtoB.Name, "-F", r.AtoR.IPv4.Masked().String())
	cancel()
	tx := txOf(t, rep, r.RtoB.Name)
	if b := tx.Bursts; b != nil && b.PeakUtilization != nil {
		t.Logf("average %.1f%%, 100 ms peak %.1f%%, qdisc drops %v", *tx.Utilization*100, *b.PeakUtilization*100, deref(tx.Evidence.QueueDrops))
	} else {
		t.Errorf("no burst view with a peak utilisation: %+v", b)
	}
	if code != 0 || hasRule(rep, verdict.RuleBursty) {
		t.Errorf("exit %d, findings %+v: want 0, not bursty", code, rep.Findings)
	}
}

func txOf(t *testing.T, r verdict.Report, name string) verdict.DirReport {
	t.Helper()
	for _, i := range r.Interfaces {
		if i.Name == name {
			return i.TX
		}
	}
	t.Fatalf("no interface %s in the report", name)
	return verdict.DirReport{}
}

func hasRule(r verdict.Report, rule string) bool {
	for _, f := range r.Findings {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

func deref(p *uint64) any {
	if p == nil {
		return "null"
	}
	return *p
}
