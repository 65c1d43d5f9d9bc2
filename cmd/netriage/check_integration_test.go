package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"netriage/internal/lab"
	"netriage/triage/verdict"
)

// The check scenarios run the built binary inside lab namespaces with `ip
// netns exec` and parse its JSON. Each observes for a few seconds so the
// whole suite stays short.

const checkWindow = "3s"

// runCheckIn runs `netriage check --output json ARGS` in ns and returns
// the parsed report, the exit code and stderr.
func runCheckIn(t *testing.T, ns *lab.NS, args ...string) (verdict.Report, int, string) {
	t.Helper()
	bin := lab.Binary(t)
	out, errOut, code := ns.Output(t, 30*time.Second, bin, append([]string{"check", "--output", "json", "--duration", checkWindow, "-n"}, args...)...)
	var r verdict.Report
	if len(out) > 0 {
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("check output is not a report: %v\n%s\nstderr: %s", err, out, errOut)
		}
	}
	t.Logf("netriage check %s → exit %d\n%s\nstderr: %s", strings.Join(args, " "), code, r.Summary, errOut)
	if os.Getenv("NETRIAGE_CHECK_TEXT") == "1" {
		// For docs/check.md: the same check again, as text.
		txt, _, _ := ns.Output(t, 30*time.Second, bin, append([]string{"check", "--duration", checkWindow, "-n"}, args...)...)
		t.Logf("text output:\n%s", txt)
	}
	return r, code, string(errOut)
}

// iface returns the report of the named interface.
func iface(t *testing.T, r verdict.Report, name string) verdict.IfaceReport {
	t.Helper()
	for _, i := range r.Interfaces {
		if i.Name == name {
			return i
		}
	}
	t.Fatalf("no interface %s in the report", name)
	return verdict.IfaceReport{}
}

// background runs fn in a goroutine until ctx ends; at cleanup it cancels
// fn and waits for it.
func background(t *testing.T, ctx context.Context, fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		fn(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// trafficCtx bounds a scenario's generators: the check window plus ramp-up
// and slack.
func trafficCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func coverageOf(d verdict.DirReport) float64 {
	if d.Coverage.Ratio == nil {
		return -1
	}
	return *d.Coverage.Ratio
}

// Scenario 1: one bulk TCP flow through a 50 Mbit/s tbf on a router.
func TestIntegrationCheckSaturatedShaper(t *testing.T) {
	l := lab.New(t)
	r := l.Router()
	for _, k := range []*lab.Link{r.AtoR, r.RtoB} {
		k.OffloadsOff()
	}
	r.RtoB.TBF(50_000_000, 64_000, 200_000)
	sink := r.B.TCPSink(r.BtoR.IPv4.Addr())
	ctx := trafficCtx(t)
	background(t, ctx, func(ctx context.Context) {
		_, _ = r.A.SendTCP(ctx, sink.Addr(), lab.Send{Bytes: 1 << 30, Timeout: 8 * time.Second})
	})
	time.Sleep(time.Second)
	rep, code, _ := runCheckIn(t, r.R, "-i", r.RtoB.Name, "-F", r.AtoR.IPv4.Masked().String())
	tx := iface(t, rep, r.RtoB.Name).TX
	if code != 2 || rep.Verdict != verdict.Saturated || tx.Verdict != verdict.Saturated {
		t.Errorf("exit %d, verdict %v, tx %v: want 2, saturated", code, rep.Verdict, tx.Verdict)
	}
	if tx.CapacitySource != "shaper:tbf" || tx.CapacityBps == nil || *tx.CapacityBps != 50_000_000 {
		t.Errorf("capacity %v from %q, want 50 Mbit/s from the tbf", tx.CapacityBps, tx.CapacitySource)
	}
	if len(tx.ExplainedBy) == 0 || tx.ExplainedBy[0].Share < 0.8 || tx.ExplainedBy[0].RemotePort == nil || *tx.ExplainedBy[0].RemotePort != sink.Addr().Port() {
		t.Errorf("explained by %+v: want the bulk flow with share ≥ 0.8", tx.ExplainedBy)
	}
	if c := coverageOf(tx); c < 0.99 || c > 1.01 {
		t.Errorf("tx coverage %v, want ≥ 0.99 (%s %q)", c, tx.Coverage.Summary, tx.Coverage.Reasons)
	}
}

// Scenario 2: twenty paced flows of different sizes through the shaper:
// the explaining set is the top-k flows by bytes.
func TestIntegrationCheckTwentyFlows(t *testing.T) {
	l := lab.New(t)
	r := l.Router()
	for _, k := range []*lab.Link{r.AtoR, r.RtoB} {
		k.OffloadsOff()
	}
	r.RtoB.TBF(50_000_000, 64_000, 200_000)
	// Flow i is paced to (i+1) units; the 20 flows together carry 46
	// Mbit/s of payload, about 48.5 Mbit/s on the wire: 97% of the link.
	const total = 46_000_000
	unit := uint64(total / 210)
	ctx := trafficCtx(t)
	rank := map[uint16]int{} // remote port → pace units
	for i := range 20 {
		sink := r.B.TCPSink(r.BtoR.IPv4.Addr())
		rank[sink.Addr().Port()] = i + 1
		background(t, ctx, func(ctx context.Context) {
			_, _ = r.A.SendTCP(ctx, sink.Addr(), lab.Send{Bytes: 1 << 30, RateBps: unit * uint64(i+1), Timeout: 8 * time.Second})
		})
	}
	time.Sleep(time.Second)
	rep, code, _ := runCheckIn(t, r.R, "-i", r.RtoB.Name, "-F", r.AtoR.IPv4.Masked().String(), "--crit", "0.9")
	tx := iface(t, rep, r.RtoB.Name).TX
	if code != 2 || tx.Verdict != verdict.Saturated {
		t.Errorf("exit %d, tx %v: want 2, saturated", code, tx.Verdict)
	}
	var got []int
	for _, e := range tx.ExplainedBy {
		if e.RemotePort != nil {
			got = append(got, rank[*e.RemotePort])
		}
	}
	// The right top-k: the k flows paced fastest, for the k reported.
	want := []int{}
	for u := 20; u > 20-len(got); u-- {
		want = append(want, u)
	}
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	slices.Reverse(sorted)
	if len(got) < 10 || len(got) > 14 || !slices.Equal(sorted, want) {
		t.Errorf("explained by pace units %v, want the top-k %v (k about 12)", got, want)
	}
	if tx.ExplainedShare < 0.8 {
		t.Errorf("explained share %v < 0.8", tx.ExplainedShare)
	}
}

// Scenario 3: 60% of a known capacity without queue drops is ok.
func TestIntegrationCheckOK60(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	la.OffloadsOff()
	sink := b.TCPSink(lb.IPv4.Addr())
	ctx := trafficCtx(t)
	background(t, ctx, func(ctx context.Context) {
		_, _ = a.SendTCP(ctx, sink.Addr(), lab.Send{Bytes: 1 << 30, RateBps: 28_500_000, Timeout: 8 * time.Second})
	})
	time.Sleep(time.Second)
	rep, code, _ := runCheckIn(t, a, "-i", la.Name, "--link-speed", la.Name+"=50M")
	tx := iface(t, rep, la.Name).TX
	if code != 0 || rep.Verdict != verdict.OK {
		t.Errorf("exit %d, verdict %v: want 0, ok", code, rep.Verdict)
	}
	if tx.Utilization == nil || *tx.Utilization < 0.5 || *tx.Utilization > 0.7 {
		t.Errorf("tx utilisation %v, want about 0.6", tx.Utilization)
	}
}

// TestIntegrationCheckLoopback checks lo, named, with TCP across it: every
// packet is both sent and received on lo and its counters hold IP bytes,
// so both directions are fully covered by the flows, with no link header.
func TestIntegrationCheckLoopback(t *testing.T) {
	l := lab.New(t)
	a := l.Netns()
	lo := a.Loopback()
	sink := a.TCPSink(lo.IPv4.Addr())
	ctx := trafficCtx(t)
	background(t, ctx, func(ctx context.Context) {
		_, _ = a.SendTCP(ctx, sink.Addr(), lab.Send{Bytes: 1 << 30, RateBps: 20_000_000, Timeout: 8 * time.Second})
	})
	time.Sleep(time.Second)
	rep, _, _ := runCheckIn(t, a, "-i", "lo", "--link-speed", "lo=1G")
	for _, d := range []verdict.DirReport{iface(t, rep, "lo").RX, iface(t, rep, "lo").TX} {
		t.Logf("lo %v: coverage %.5f", d.Direction, coverageOf(d))
		if c := coverageOf(d); c < 0.99 || c > 1.01 || d.Coverage.LinkHeaderBytes != 0 {
			t.Errorf("lo %v: coverage %v with %d header bytes per packet, want 100%% with 0 (%s)", d.Direction, c, d.Coverage.LinkHeaderBytes, d.Coverage.Summary)
		}
	}
}

// Scenario 4: a veth with a user-given capacity it exceeds.
func TestIntegrationCheckUserCapacity(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	sink := b.TCPSink(lb.IPv4.Addr())
	ctx := trafficCtx(t)
	background(t, ctx, func(ctx context.Context) {
		_, _ = a.SendTCP(ctx, sink.Addr(), lab.Send{Bytes: 1 << 30, RateBps: 40_000_000, Timeout: 8 * time.Second})
	})
	time.Sleep(time.Second)
	rep, code, _ := runCheckIn(t, a, "-i", la.Name, "--link-speed", la.Name+"=20M")
	tx := iface(t, rep, la.Name).TX
	if code != 2 || tx.Verdict != verdict.Saturated || tx.CapacitySource != "user" {
		t.Errorf("exit %d, tx %v from %q: want 2, saturated, user", code, tx.Verdict, tx.CapacitySource)
	}
}

// Scenario 5: capacity unknown (a VXLAN device without a lower "dev" has
// no link speed) and no queue: unknown, exit 3, with advice.
func TestIntegrationCheckUnknownCapacity(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	dev := "nr" + l.Tag() + "x0"
	for _, side := range []struct {
		ns          *lab.NS
		local, peer *lab.Link
		addr        string
	}{{a, la, lb, "198.18.240.1/24"}, {b, lb, la, "198.18.240.2/24"}} {
		side.ns.Run("ip", "link", "add", dev, "type", "vxlan", "id", "42", "dstport", "4789",
			"local", side.local.IPv4.Addr().String(), "remote", side.peer.IPv4.Addr().String())
		side.ns.Run("ip", "addr", "add", side.addr, "dev", dev)
		side.ns.Run("ip", "link", "set", dev, "up")
	}
	sink := b.UDPSink(netip.MustParseAddr("198.18.240.2"))
	ctx := trafficCtx(t)
	background(t, ctx, func(ctx context.Context) {
		_, _ = a.SendUDP(ctx, sink.Addr(), lab.Send{Size: 1000, Count: 1 << 20, RateBps: 5_000_000, Timeout: 8 * time.Second})
	})
	time.Sleep(500 * time.Millisecond)
	rep, code, _ := runCheckIn(t, a, "-i", dev)
	tx := iface(t, rep, dev).TX
	if code != 3 || tx.Verdict != verdict.Unknown || tx.CapacitySource != "unknown" {
		t.Errorf("exit %d, tx %v from %q: want 3, unknown", code, tx.Verdict, tx.CapacitySource)
	}
	if len(tx.Advice) == 0 || !strings.Contains(tx.Advice[0], "--link-speed "+dev+"=RATE") {
		t.Errorf("advice %q does not say how to give --link-speed", tx.Advice)
	}
	if tx.RateBps < 1_000_000 {
		t.Errorf("tx rate %v: the traffic did not flow", tx.RateBps)
	}
}

// Scenario 6: a capture filter that hides half of the traffic.
func TestIntegrationCheckFilterCoverage(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	la.OffloadsOff()
	s1, s2 := b.TCPSink(lb.IPv4.Addr()), b.TCPSink(lb.IPv4.Addr())
	ctx := trafficCtx(t)
	for _, s := range []*lab.Sink{s1, s2} {
		background(t, ctx, func(ctx context.Context) {
			_, _ = a.SendTCP(ctx, s.Addr(), lab.Send{Bytes: 1 << 30, RateBps: 10_000_000, Timeout: 8 * time.Second})
		})
	}
	time.Sleep(time.Second)
	filter := fmt.Sprintf("tcp port %d", s1.Addr().Port())
	rep, _, _ := runCheckIn(t, a, "-i", la.Name, "--link-speed", la.Name+"=1G", "-f", filter)
	tx := iface(t, rep, la.Name).TX
	if c := coverageOf(tx); c < 0.45 || c > 0.55 {
		t.Errorf("tx coverage %v, want about 0.5 (%s)", c, tx.Coverage.Summary)
	}
	if !strings.Contains(strings.Join(tx.Coverage.Reasons, "\n"), filter) {
		t.Errorf("coverage reasons %q do not name the filter %q", tx.Coverage.Reasons, filter)
	}
}

// Scenario 7: bursts through a shaper with a small queue drop at a low
// average rate: congested.
func TestIntegrationCheckBurstsCongested(t *testing.T) {
	l := lab.New(t)
	r := l.Router()
	r.RtoB.TBF(50_000_000, 16_000, 16_000)
	sink := r.B.UDPSink(r.BtoR.IPv4.Addr())
	ctx := trafficCtx(t)
	// 100 datagrams of 1200 bytes back to back every 250 ms: 3.8 Mbit/s
	// on average, bursts far beyond the 16 kB queue.
	background(t, ctx, func(ctx context.Context) {
		for ctx.Err() == nil {
			_, _ = r.A.SendUDP(ctx, sink.Addr(), lab.Send{Size: 1200, Count: 100, Timeout: time.Second})
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
	time.Sleep(500 * time.Millisecond)
	rep, code, _ := runCheckIn(t, r.R, "-i", r.RtoB.Name, "-F", r.AtoR.IPv4.Masked().String())
	tx := iface(t, rep, r.RtoB.Name).TX
	if code != 1 || tx.Verdict != verdict.Congested {
		t.Errorf("exit %d, tx %v: want 1, congested (reasons %q)", code, tx.Verdict, tx.Reasons)
	}
	if tx.Evidence.QueueDrops == nil || *tx.Evidence.QueueDrops == 0 {
		t.Errorf("no qdisc drops in the evidence: %+v", tx.Evidence)
	}
	if tx.Utilization == nil || *tx.Utilization > 0.3 {
		t.Errorf("utilisation %v, want low", tx.Utilization)
	}
}

// checkDuring runs `netriage check --output json ARGS` (in ns with `ip
// netns exec` when ns is not nil, else in the test's namespace), calls
// during after delay while it observes, and returns the report, the exit
// code and stderr.
func checkDuring(t *testing.T, ns *lab.NS, delay time.Duration, during func(), args ...string) (verdict.Report, int, string) {
	t.Helper()
	bin := lab.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args = append([]string{"check", "--output", "json", "-n"}, args...)
	var cmd *exec.Cmd
	if ns != nil {
		cmd = ns.Command(ctx, bin, args...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	during()
	err := cmd.Wait()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run check: %v", err)
	}
	var r verdict.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("check output is not a report: %v\n%s\nstderr: %s", err, out.String(), errOut.String())
	}
	return r, code, errOut.String()
}

// TestIntegrationCheckInterfaceRemovedRepeated deletes one of the two
// checked interfaces mid-window, 20 times (packet capture on both): every
// report must say removed (CRITICAL, exit 2) for it, with no coverage,
// and judge the other one as usual.
func TestIntegrationCheckInterfaceRemovedRepeated(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	keep, _ := l.Veth(a, b)
	start := time.Now()
	const runs = 20
	for i := range runs {
		la, _ := l.Veth(a, b)
		r, code, errOut := checkDuring(t, a, time.Duration(300+10*i)*time.Millisecond, la.Delete,
			"-i", la.Name+","+keep.Name, "--duration", "1s", "--interval", "100ms", "--link-speed", keep.Name+"=1G")
		gone, kept := iface(t, r, la.Name), iface(t, r, keep.Name)
		if code != 2 || r.Verdict != verdict.Removed || !strings.Contains(r.Summary, la.Name+" removed") {
			t.Fatalf("run %d: exit %d verdict %v summary %q; stderr %s", i, code, r.Verdict, r.Summary, errOut)
		}
		for _, d := range []verdict.DirReport{gone.RX, gone.TX} {
			if d.Verdict != verdict.Removed || d.Status != verdict.StatusCritical || d.Coverage.Ratio != nil ||
				len(d.Reasons) == 0 || !strings.Contains(d.Reasons[0], "was removed during the window") {
				t.Errorf("run %d: %s %s: %v %v coverage %v reasons %q", i, la.Name, d.Direction, d.Verdict, d.Status, d.Coverage.Ratio, d.Reasons)
			}
		}
		if kept.TX.Verdict != verdict.OK || kept.RX.Verdict != verdict.OK {
			t.Errorf("run %d: %s judged %v/%v, want ok", i, keep.Name, kept.RX.Verdict, kept.TX.Verdict)
		}
	}
	t.Logf("%d runs in %v", runs, time.Since(start).Round(time.Millisecond))
}

// TestIntegrationCheckNetnsRemovedRepeated deletes the --netns namespace
// mid-window, 20 times: every report must say removed for its interface,
// naming the namespace, and exit 2. The namespace must not outlive the
// deletion while check still runs: the reader lets go of it, so the veth
// peer in the other namespace disappears before the window ends.
func TestIntegrationCheckNetnsRemovedRepeated(t *testing.T) {
	l := lab.New(t)
	b := l.Netns()
	hb, err := b.Handle()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	const runs = 20
	for i := range runs {
		a := l.Netns()
		la, lb := l.Veth(a, b)
		peerGone := false
		r, code, errOut := checkDuring(t, nil, time.Duration(300+10*i)*time.Millisecond, func() {
			l.DeleteNetns(a)
			for deadline := time.Now().Add(600 * time.Millisecond); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if _, err := hb.LinkByName(lb.Name); err != nil {
					peerGone = true
					break
				}
			}
		}, "--netns", a.Name, "-i", la.Name, "--duration", "1500ms", "--interval", "100ms")
		ir := iface(t, r, la.Name)
		if code != 2 || r.Verdict != verdict.Removed || ir.TX.Verdict != verdict.Removed ||
			len(ir.TX.Reasons) == 0 || !strings.Contains(ir.TX.Reasons[0], "network namespace of "+la.Name+" was deleted") {
			t.Fatalf("run %d: exit %d verdict %v %v reasons %q; stderr %s", i, code, r.Verdict, ir.TX.Verdict, ir.TX.Reasons, errOut)
		}
		if !strings.Contains(errOut, a.Name+`" was deleted`) {
			t.Errorf("run %d: stderr does not name the namespace: %s", i, errOut)
		}
		if !peerGone {
			t.Errorf("run %d: the deleted namespace (veth peer %s) stayed alive while check ran", i, lb.Name)
		}
	}
	t.Logf("%d runs in %v", runs, time.Since(start).Round(time.Millisecond))
}
