package links

import (
	"context"
	"testing"
	"time"

	"netriage/internal/lab"
	"netriage/triage"
)

func mustRead(t *testing.T, r *Reader) triage.LinksSample {
	t.Helper()
	s, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIntegrationNetnsSeesItsInterfaces(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, _ := l.Veth(a, b)
	for _, target := range []string{a.Name} {
		r, err := Open(Options{Netns: target})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		s := mustRead(t, r)
		if len(s.Ifaces) != 2 {
			t.Fatalf("ifaces in %s: %+v, want lo and %s", target, s.Ifaces, la.Name)
		}
		got, ok := s.Iface(la.Name)
		if !ok {
			t.Fatalf("%s not seen in %s", la.Name, target)
		}
		if got.Kind != "veth" || got.OperState != "up" || !got.AdminUp || got.MTU != 1500 {
			t.Errorf("veth sample: %+v", got)
		}
		if got.EthtoolSpeedBps != 10e9 {
			t.Errorf("ethtool speed of veth in netns = %d, want 10 Gbit/s", got.EthtoolSpeedBps)
		}
		if got.SysfsSpeedBps != 0 {
			t.Errorf("sysfs must not be read for another namespace, got %d", got.SysfsSpeedBps)
		}
		if len(got.Addrs) < 2 {
			t.Errorf("addresses: %v", got.Addrs)
		}
		lo, _ := s.Iface("lo")
		if !lo.Loopback || lo.EthtoolSpeedBps != 0 {
			t.Errorf("lo: %+v", lo)
		}
	}
}

func TestIntegrationUnknownNetns(t *testing.T) {
	lab.New(t)
	for _, target := range []string{"nr-no-such-ns", "999999999", "../etc"} {
		if _, err := Open(Options{Netns: target}); err == nil {
			t.Errorf("Open(%q) succeeded", target)
		}
	}
}

func TestIntegrationTBFCapacityAndDrops(t *testing.T) {
	l := lab.New(t)
	rt := l.Router()
	rt.RtoB.TBF(20_000_000, 32_000, 64_000)
	r, err := Open(Options{Netns: rt.R.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sink := rt.B.UDPSink(rt.BtoR.IPv4.Addr())
	t0 := time.Now()
	prev := mustRead(t, r)
	prev.Time = t0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := rt.A.SendUDP(ctx, sink.Addr(), lab.Send{Size: 1200, Count: 8000, RateBps: 60e6})
		done <- err
	}()
	time.Sleep(500 * time.Millisecond)
	cur := mustRead(t, r)
	cur.Time = time.Now()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rows := triage.CompareLinks(&prev, &cur, nil)
	var row *triage.LinkRow
	for i := range rows {
		if rows[i].Sample.Name == rt.RtoB.Name {
			row = &rows[i]
		}
	}
	if row == nil {
		t.Fatalf("no row for %s", rt.RtoB.Name)
	}
	if row.Capacity.Source != triage.CapacityShaperTBF || row.Capacity.Bps != 20_000_000 {
		t.Errorf("capacity %+v, want 20 Mbit/s from shaper:tbf", row.Capacity)
	}
	q := row.Rates.Qdisc
	if q == nil || q.DropsPerSec <= 0 || q.OverlimitsPerSec <= 0 {
		t.Fatalf("qdisc rates %+v: want drops and overlimits", q)
	}
	if row.Sample.Qdisc.BacklogBytes == 0 {
		t.Errorf("backlog 0 while the sender is 3x over the shaper")
	}
	if u := row.TxUtilization; u == nil || *u < 0.7 || *u > 1.3 {
		t.Errorf("tx utilisation %v, want about 1", u)
	}
	t.Logf("tbf: drops/s %.0f overlimits/s %.0f backlog %d B, tx %.1f Mbit/s", q.DropsPerSec, q.OverlimitsPerSec, row.Sample.Qdisc.BacklogBytes, row.Rates.TxBps/1e6)
}

func TestIntegrationHTBCapacity(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, _ := l.Veth(a, b)
	la.HTB(50_000_000)
	r, err := Open(Options{Netns: a.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := mustRead(t, r)
	got, _ := s.Iface(la.Name)
	c := triage.ResolveCapacity(0, got)
	if c.Source != triage.CapacityShaperHTB || c.Bps != 50_000_000 {
		t.Errorf("capacity %+v (qdisc %+v), want 50 Mbit/s from shaper:htb", c, got.Qdisc)
	}
}
