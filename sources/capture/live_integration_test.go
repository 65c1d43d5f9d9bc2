package capture

import (
	"context"
	"math"
	"net/netip"
	"testing"
	"time"

	"netriage/internal/lab"
	"netriage/triage/flows"
)

// TestIntegrationLiveAccuracy captures on one end of a veth while known
// TCP, UDP and IPv6 UDP traffic crosses it, and checks the flow bytes
// against the senders' own counts and the interface counters, exactly.
func TestIntegrationLiveAccuracy(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	la.OffloadsOff()
	lb.OffloadsOff()
	la.WaitQuiet(300*time.Millisecond, 5*time.Second)

	local := flows.NewLocal(netip.PrefixFrom(la.IPv4.Addr(), 32), netip.PrefixFrom(la.IPv6.Addr(), 128))
	live := startLiveIn(t, a, LiveOptions{
		Interfaces: []string{la.Name}, Aggregation: flows.By5Tuple,
		Table: flows.TableConfig{MaxFlows: 1000, Local: local},
	})
	c0 := la.Counters()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tcpSink := b.TCPSink(lb.IPv4.Addr())
	defer tcpSink.Close()
	udpSink := b.UDPSink(lb.IPv4.Addr())
	defer udpSink.Close()
	udp6Sink := b.UDPSink(lb.IPv6.Addr())
	defer udp6Sink.Close()

	const tcpBytes = 2_000_000
	var retrans uint64
	if _, err := a.SendTCP(ctx, tcpSink.Addr(), lab.Send{Bytes: tcpBytes, RetransBytes: &retrans}); err != nil {
		t.Fatalf("SendTCP: %v", err)
	}
	const udpN, udpSize = 500, 1000
	if _, err := a.SendUDP(ctx, udpSink.Addr(), lab.Send{Count: udpN, Size: udpSize, RateBps: 8_000_000}); err != nil {
		t.Fatalf("SendUDP: %v", err)
	}
	const udp6N, udp6Size = 300, 700
	if _, err := a.SendUDP(ctx, udp6Sink.Addr(), lab.Send{Count: udp6N, Size: udp6Size}); err != nil {
		t.Fatalf("SendUDP v6: %v", err)
	}
	if err := tcpSink.WaitBytes(ctx, tcpBytes); err != nil {
		t.Fatalf("tcp sink: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // the connection's last segments
	c1, t1 := la.Counters(), time.Now()
	// A snapshot at t1 + liveHorizon counts exactly the packets stamped
	// before t1, when the counters were read.
	time.Sleep(liveHorizon + 30*time.Millisecond)
	s := live.Snapshot(t1.Add(liveHorizon))

	var udp4, udp6, tcp flows.FlowStat
	for _, f := range s.Flows {
		switch {
		case f.Key.Proto == flows.ProtoUDP && f.Key.Remote == lb.IPv4.Addr():
			udp4 = f
		case f.Key.Proto == flows.ProtoUDP && f.Key.Remote == lb.IPv6.Addr():
			udp6 = f
		case f.Key.Proto == flows.ProtoTCP && f.Key.Remote == lb.IPv4.Addr():
			tcp = f
		}
	}
	if want := uint64(udpN * (udpSize + 8 + 20)); udp4.SentBytes != want || udp4.SentPackets != udpN {
		t.Errorf("UDP/IPv4 flow: %d bytes %d packets, want %d bytes %d packets", udp4.SentBytes, udp4.SentPackets, want, udpN)
	}
	if want := uint64(udp6N * (udp6Size + 8 + 40)); udp6.SentBytes != want || udp6.SentPackets != udp6N {
		t.Errorf("UDP/IPv6 flow: %d bytes %d packets, want %d bytes %d packets", udp6.SentBytes, udp6.SentPackets, want, udp6N)
	}
	// TCP: the payload, plus the payload the socket retransmitted, plus 52
	// header bytes (IPv4 20 + TCP 32 with timestamps) per segment; the SYN
	// carries 8 more option bytes.
	if hdr := int64(tcp.SentBytes) - tcpBytes - int64(retrans); hdr < 52*int64(tcp.SentPackets) || hdr > 52*int64(tcp.SentPackets)+8 {
		t.Errorf("TCP flow: %d bytes in %d packets for %d payload bytes (+%d retransmitted): header bytes %d, want 52 per packet (+8)", tcp.SentBytes, tcp.SentPackets, tcpBytes, retrans, hdr)
	}
	// Interface counters: IP bytes + 14 per frame must equal them exactly.
	tx := s.Totals.SentBytes + s.Other.SentBytes + 14*(s.Totals.SentPackets+s.Other.SentPackets)
	rx := s.Totals.RecvBytes + s.Other.RecvBytes + 14*(s.Totals.RecvPackets+s.Other.RecvPackets)
	if d := c1.TxBytes - c0.TxBytes; tx != d {
		t.Errorf("tx: flows %d bytes (+14/frame) vs interface %d (diff %d)", tx, d, int64(tx)-int64(d))
	}
	if d := c1.RxBytes - c0.RxBytes; rx != d {
		t.Errorf("rx: flows %d bytes (+14/frame) vs interface %d (diff %d)", rx, d, int64(rx)-int64(d))
	}
	if s.Capture.KernelDrops != 0 {
		t.Errorf("kernel drops: %d", s.Capture.KernelDrops)
	}
}

// TestIntegrationLiveRate sends UDP paced at 4 Mbit/s of payload for 12 s
// and checks the 10 s rate against the truth within 1%.
func TestIntegrationLiveRate(t *testing.T) {
	u := startUDPVeth(t, LiveOptions{})
	a, live, sink := u.a, u.live, u.sink
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const size, payloadBps = 972, 4_000_000 // 1000-byte IP packets
	const seconds = 12
	n := seconds * payloadBps / 8 / size
	if _, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: n, Size: size, RateBps: payloadBps}); err != nil {
		t.Fatalf("SendUDP: %v", err)
	}
	end := time.Now()
	time.Sleep(300 * time.Millisecond) // let the readers flush their batches
	// The sender's pacing sets the truth: IP bytes per second. Rates are
	// taken at the moment the sender finished: the snapshot that counts
	// the packets up to then is liveHorizon later.
	f := u.flow(live.Snapshot(end.Add(liveHorizon)))
	truth := float64(payloadBps) / 8 * 1000 / size
	got := f.Rates.R10.SentBytesPerSec
	// The window ends at the last complete second before now; the sender
	// just finished, so the last 10 complete seconds were all paced.
	if math.Abs(got-truth)/truth > 0.01 {
		t.Errorf("10 s rate %.0f B/s, truth %.0f B/s (%.2f%% off)", got, truth, 100*(got-truth)/truth)
	}
	t.Logf("10 s rate %.1f B/s, truth %.1f B/s (%.3f%% off); %d of %d packets", got, truth, 100*(got-truth)/truth, f.SentPackets, n)
	if f.SentPackets != uint64(n) {
		t.Errorf("packets %d, want %d", f.SentPackets, n)
	}
}

// TestIntegrationLiveRatesCompleteSeconds sends a burst early in one
// second and checks that a snapshot counts that second in its rates only
// once the kernel must have handed all of it over and the snapshot's
// horizon has passed it: not 20 ms after the second ended, nor 10 ms
// before liveHorizon (the ring's block time-out and a margin), but 10 ms
// after.
func TestIntegrationLiveRatesCompleteSeconds(t *testing.T) {
	u := startUDPVeth(t, LiveOptions{})
	a, live, sink := u.a, u.live, u.sink
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Start 200 ms into a second so the burst stays inside it.
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(1200 * time.Millisecond).Sub(now))
	const n, size = 20, 972 // 1000-byte IP packets
	if _, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: n, Size: size}); err != nil {
		t.Fatalf("SendUDP: %v", err)
	}
	time.Sleep(liveHorizon + 50*time.Millisecond) // past the block time-out and the horizon
	f := u.flow(live.Snapshot(time.Now()))
	if f.SentPackets != n {
		t.Fatalf("flow: %d packets, want %d", f.SentPackets, n)
	}
	sec := f.First.Unix()
	if f.Last.Unix() != sec {
		t.Fatalf("burst spans %v..%v: not inside one second", f.First, f.Last)
	}
	end := time.Unix(sec+1, 0)
	early := live.Snapshot(end.Add(20 * time.Millisecond))
	if !early.Time.Equal(end.Add(20 * time.Millisecond)) {
		t.Errorf("snapshot time %v, want the time asked for", early.Time)
	}
	if r := u.flow(early).Rates.R2.SentBytesPerSec; r != 0 {
		t.Errorf("20 ms after the second ended: 2 s rate %.0f B/s, want 0 (the second may not be complete)", r)
	}
	if r := u.flow(live.Snapshot(end.Add(liveHorizon - 10*time.Millisecond))).Rates.R2.SentBytesPerSec; r != 0 {
		t.Errorf("%v after the second ended: 2 s rate %.0f B/s, want 0 (the horizon is before the second's end)", liveHorizon-10*time.Millisecond, r)
	}
	late := live.Snapshot(end.Add(liveHorizon + 10*time.Millisecond))
	if r, want := u.flow(late).Rates.R2.SentBytesPerSec, float64(n*1000)/2; r != want {
		t.Errorf("%v after the second ended: 2 s rate %.0f B/s, want %.0f", liveHorizon+10*time.Millisecond, r, want)
	}
}

// TestIntegrationLiveLoopbackOnce captures on lo and on any in a
// namespace whose only interface is lo: the kernel shows every loopback
// packet twice (leaving and arriving), and each must count once, so the
// captured IP bytes equal lo's receive counter (lo counts IP bytes: the
// kernel takes the Ethernet header off before counting).
func TestIntegrationLiveLoopbackOnce(t *testing.T) {
	l := lab.New(t)
	a := l.Netns()
	lo := a.Loopback()
	lo.WaitQuiet(300*time.Millisecond, 5*time.Second)
	opts := func(iface string) LiveOptions {
		return LiveOptions{
			Interfaces: []string{iface}, Aggregation: flows.By5Tuple,
			Table: flows.TableConfig{MaxFlows: 1000, Local: flows.NewLocal(lo.IPv4, lo.IPv6)},
		}
	}
	onLo, onAny := startLiveIn(t, a, opts("lo")), startLiveIn(t, a, opts("any"))
	c0 := lo.Counters()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sink4, sink6 := a.UDPSink(lo.IPv4.Addr()), a.UDPSink(lo.IPv6.Addr())
	defer sink4.Close()
	defer sink6.Close()
	const n4, n6, size = 50, 30, 500
	if _, err := a.SendUDP(ctx, sink4.Addr(), lab.Send{Count: n4, Size: size}); err != nil {
		t.Fatalf("SendUDP: %v", err)
	}
	if _, err := a.SendUDP(ctx, sink6.Addr(), lab.Send{Count: n6, Size: size}); err != nil {
		t.Fatalf("SendUDP v6: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // past the block time-out
	c1 := lo.Counters()
	want := uint64(n4*(size+8+20) + n6*(size+8+40))
	for name, live := range map[string]*Live{"lo": onLo, "any": onAny} {
		s := live.Snapshot(time.Now())
		all := s.Totals.Counts
		all.Add(s.Other.Counts)
		if got := all.Bytes(); got != want || all.Packets() != n4+n6 {
			t.Errorf("-i %s: %d IP bytes in %d packets, want %d bytes in %d packets (each loopback packet once)", name, got, all.Packets(), want, n4+n6)
		}
		if name == "lo" {
			if d := c1.RxBytes - c0.RxBytes; all.Bytes() != d {
				t.Errorf("-i lo: %d IP bytes, lo received %d", all.Bytes(), d)
			}
		}
	}
}

// TestIntegrationLiveKernelDrops stalls the reader (the test holds its
// handle's lock) while a burst overflows a 1 MiB ring, and checks that
// the kernel's drops are reported and account for every packet the ring
// did not hold.
func TestIntegrationLiveKernelDrops(t *testing.T) {
	u := startUDPVeth(t, LiveOptions{RingMiB: 1})
	a, live, sink := u.a, u.live, u.sink
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 20000 // about 4 MiB in the ring: four times its size
	resume := stallReaders(live)
	_, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: n, Size: 100})
	resume()
	if err != nil {
		t.Fatalf("SendUDP: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	s := live.Snapshot(time.Now())
	drops := s.Capture.KernelDrops
	if drops == 0 {
		t.Fatalf("no kernel drops reported after overflowing the ring (%d packets captured)", s.Capture.Packets)
	}
	if got := s.Capture.Packets + drops; got != n {
		t.Errorf("captured %d + dropped %d = %d, want the %d sent", s.Capture.Packets, drops, got, n)
	}
	if len(s.Capture.Interfaces) != 1 || s.Capture.Interfaces[0].KernelDrops != drops {
		t.Errorf("interface health %+v, want its drops = %d", s.Capture.Interfaces, drops)
	}
	// The counter is cumulative: a later snapshot keeps it.
	if again := live.Snapshot(time.Now()).Capture.KernelDrops; again != drops {
		t.Errorf("second snapshot: %d drops, want %d (cumulative)", again, drops)
	}
	t.Logf("%d sent: %d captured, %d dropped by the kernel", n, s.Capture.Packets, drops)
}

// TestIntegrationLiveTableHeld holds the accountant's lock, as a record
// copying a full flow table does, while 20,000 packets arrive at 50,000 a
// second on a 2 MiB ring (10,900 frames): the reader decodes them aside
// and gives the blocks back, so the kernel drops none, and the next
// snapshot counts every one, once.
func TestIntegrationLiveTableHeld(t *testing.T) {
	u := startUDPVeth(t, LiveOptions{RingMiB: 2})
	a, live, sink := u.a, u.live, u.sink
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n, size, pps = 20000, 100, 50_000
	release := holdTable(live.acc)
	t0 := time.Now()
	_, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: n, Size: size, RateBps: pps * size * 8})
	held := time.Since(t0)
	time.Sleep(liveHorizon + 30*time.Millisecond) // the last blocks handed over, the lock still held
	release()
	if err != nil {
		t.Fatalf("SendUDP: %v", err)
	}
	s := live.Snapshot(time.Now().Add(liveHorizon))
	f := u.flow(s)
	t.Logf("table held %v: %d of %d packets counted, %d kernel drops", held.Round(time.Millisecond), f.SentPackets, n, s.Capture.KernelDrops)
	if s.Capture.KernelDrops != 0 {
		t.Errorf("%d kernel drops while the table was held, want 0", s.Capture.KernelDrops)
	}
	if f.SentPackets != n || f.SentBytes != n*(size+28) {
		t.Errorf("counted %d packets %d bytes, want %d and %d: every packet once", f.SentPackets, f.SentBytes, n, n*(size+28))
	}
}

// TestIntegrationLiveStallOneSecond stalls the reader (the test holds its
// handle's lock) for 1.2 s while UDP arrives at 100 packets/s, with the
// default ring: at such a rate the kernel hands over a block at every
// 50 ms time-out with a few packets in it, so the stall uses up 24 blocks
// whatever their size, and the ring must have more. Nothing may be lost.
func TestIntegrationLiveStallOneSecond(t *testing.T) {
	u := startUDPVeth(t, LiveOptions{})
	a, live, sink := u.a, u.live, u.sink
	bs, nb := u.live.handles[0].ring.blockSize, u.live.handles[0].ring.blocks
	t.Logf("default ring: %d blocks of %d KiB", nb, bs>>10)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n, size, pps = 121, 100, 100 // 1.2 s from the first to the last
	resume := stallReaders(live)
	t0 := time.Now()
	_, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: n, Size: size, RateBps: pps * size * 8})
	stalled := time.Since(t0)
	resume()
	if err != nil {
		t.Fatalf("SendUDP: %v", err)
	}
	if stalled < 1100*time.Millisecond {
		t.Fatalf("the sender took %v, want about 1.2 s at %d packets/s", stalled, pps)
	}
	time.Sleep(300 * time.Millisecond) // past the block time-out
	s := live.Snapshot(time.Now())
	f := u.flow(s)
	t.Logf("reader stalled %v: %d of %d packets counted, %d kernel drops", stalled.Round(time.Millisecond), f.SentPackets, n, s.Capture.KernelDrops)
	if s.Capture.KernelDrops != 0 {
		t.Errorf("%d kernel drops during a %v stall at %d packets/s, want 0", s.Capture.KernelDrops, stalled.Round(time.Millisecond), pps)
	}
	if f.SentPackets != n || f.SentBytes != n*(size+28) {
		t.Errorf("flow: %d packets %d bytes, want %d and %d", f.SentPackets, f.SentBytes, n, n*(size+28))
	}
}

// TestIntegrationLiveFanout captures one veth with a fanout group of two
// rings while 32 UDP flows (one per destination port) cross it: every
// packet is counted once, each flow exactly, and both rings carried
// packets (all 32 flows hashing to one ring has odds of 2^-31).
func TestIntegrationLiveFanout(t *testing.T) {
	u := startUDPVeth(t, LiveOptions{Fanout: 2, RingMiB: 2})
	a, b, lb, live := u.a, u.b, u.lb, u.live
	if len(live.handles) != 2 {
		t.Fatalf("%d rings, want 2", len(live.handles))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const flowsN, perFlow, size = 32, 25, 200
	sinks := make(map[uint16]bool) // destination ports
	for range flowsN {
		sink := b.UDPSink(lb.IPv4.Addr()) // open until the test ends: distinct ports
		defer sink.Close()
		sinks[sink.Addr().Port()] = true
		if _, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: perFlow, Size: size}); err != nil {
			t.Fatalf("SendUDP: %v", err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	s := live.Snapshot(time.Now())
	n := 0
	for _, f := range s.Flows {
		if f.Key.Proto != flows.ProtoUDP || !sinks[f.Key.RemotePort] {
			continue
		}
		n++
		if f.SentPackets != perFlow || f.SentBytes != perFlow*(size+28) {
			t.Errorf("flow %v: %d packets %d bytes, want %d and %d", f.Key, f.SentPackets, f.SentBytes, perFlow, perFlow*(size+28))
		}
	}
	if n != flowsN {
		t.Errorf("%d flows, want %d", n, flowsN)
	}
	if got := s.Capture.Interfaces[0].Packets; got != flowsN*perFlow {
		t.Errorf("interface health: %d packets, want %d", got, flowsN*perFlow)
	}
	for i, h := range live.handles {
		if h.read.Load() == 0 {
			t.Errorf("ring %d read no packet: the fanout group does not spread them", i)
		}
		t.Logf("ring %d: %d packets", i, h.read.Load())
	}
}

// TestIntegrationLiveIfaceRemoved captures on two interfaces with a
// kernel filter, deletes one mid-capture and checks that its error is
// reported while the other keeps counting; Close is prompt and idempotent.
func TestIntegrationLiveIfaceRemoved(t *testing.T) {
	l := lab.New(t)
	a, b, c := l.Netns(), l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	lc, ld := l.Veth(a, c)
	la.OffloadsOff()
	lc.OffloadsOff()
	live := startLiveIn(t, a, LiveOptions{
		Interfaces: []string{la.Name, lc.Name}, Aggregation: flows.By5Tuple, Filter: "udp",
		Table: flows.TableConfig{MaxFlows: 1000, Local: flows.NewLocal(netip.MustParsePrefix("198.18.0.0/16"))},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sinkB := b.UDPSink(lb.IPv4.Addr())
	defer sinkB.Close()
	udpD := c.UDPSink(ld.IPv4.Addr())
	defer udpD.Close()
	tcpD := c.TCPSink(ld.IPv4.Addr())
	defer tcpD.Close()
	send := func(dst netip.AddrPort, n int) {
		t.Helper()
		if _, err := a.SendUDP(ctx, dst, lab.Send{Count: n, Size: 100}); err != nil {
			t.Fatalf("SendUDP %v: %v", dst, err)
		}
	}
	send(sinkB.Addr(), 10)
	send(udpD.Addr(), 10)
	if _, err := a.SendTCP(ctx, tcpD.Addr(), lab.Send{Bytes: 100_000}); err != nil {
		t.Fatalf("SendTCP: %v", err)
	}
	// Ground truth: the packets the capture must have seen before the
	// removal did cross the link.
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
	for _, sk := range []*lab.Sink{sinkB, udpD} {
		if err := sk.WaitBytes(wctx, 10*100); err != nil {
			t.Fatalf("before the removal: %v", err)
		}
	}
	wcancel()
	time.Sleep(300 * time.Millisecond)
	la.Delete()
	send(udpD.Addr(), 20)

	// The error shows at once; the reader confirms the removal within
	// about a second and stops.
	deadline := time.Now().Add(4 * time.Second)
	var s flows.Snapshot
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		s = live.Snapshot(time.Now())
		if s.Capture.Interfaces[0].Stopped {
			break
		}
	}
	// Every packet sent is now older than a snapshot's horizon, the removed
	// ring's last ones included (its reader may have stopped before it
	// counted them: the snapshots drain what the ring still holds).
	time.Sleep(liveHorizon + 100*time.Millisecond)
	s = live.Snapshot(time.Now())
	if ih := s.Capture.Interfaces[0]; ih.Name != la.Name || ih.Err != "interface removed" || !ih.Stopped {
		t.Errorf("removed interface health = %+v, want %q and stopped", ih, "interface removed")
	}
	if ih := s.Capture.Interfaces[1]; ih.Err != "" || ih.Stopped {
		t.Errorf("other interface health = %+v, want running", ih)
	}
	var toB, toD uint64
	for _, f := range s.Flows {
		if f.Key.Proto != flows.ProtoUDP {
			t.Errorf("flow %v passed the kernel filter 'udp'", f.Key)
		}
		switch f.Key.Remote {
		case lb.IPv4.Addr():
			toB += f.SentPackets
		case ld.IPv4.Addr():
			toD += f.SentPackets
		}
	}
	if toB != 10 || toD != 30 {
		t.Errorf("UDP packets seen: %d to b (want 10), %d to d (want 30: capture continued)", toB, toD)
		for i, h := range live.handles {
			t.Logf("ring %d (interface %d): %d packets read", i, h.idx, h.read.Load())
		}
		for _, f := range s.Flows {
			t.Logf("flow %v: %d/%d packets, first %v", f.Key, f.SentPackets, f.RecvPackets, f.First)
		}
		t.Logf("capture health %+v, snapshot at %v", s.Capture, s.Time)
	}
	start := time.Now()
	if err := live.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := live.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestIntegrationLiveIfaceRemovedAtOnce deletes the captured interface
// right after its last packets: they were still within the snapshots'
// horizon, which its reader never passes on its own, so they count at the
// next snapshot that does, not never.
func TestIntegrationLiveIfaceRemovedAtOnce(t *testing.T) {
	u := startUDPVeth(t, LiveOptions{})
	a, la, live, sink := u.a, u.la, u.live, u.sink
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: 10, Size: 100}); err != nil {
		t.Fatalf("SendUDP: %v", err)
	}
	if err := sink.WaitBytes(ctx, 10*100); err != nil {
		t.Fatal(err)
	}
	la.Delete()
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if live.Snapshot(time.Now()).Capture.Interfaces[0].Stopped {
			break
		}
	}
	time.Sleep(liveHorizon + 100*time.Millisecond)
	s := live.Snapshot(time.Now())
	if ih := s.Capture.Interfaces[0]; ih.Err != "interface removed" || !ih.Stopped {
		t.Errorf("removed interface health = %+v, want %q and stopped", ih, "interface removed")
	}
	var n uint64
	for _, f := range s.Flows {
		n += f.SentPackets
	}
	if n != 10 {
		t.Errorf("%d of the 10 packets sent before the removal counted", n)
	}
}

// TestIntegrationLiveIfaceDownUp takes the captured interface down and up
// again: the health entry reports it while it is down, and counting
// resumes when it is back.
func TestIntegrationLiveIfaceDownUp(t *testing.T) {
	u := startUDPVeth(t, LiveOptions{})
	a, la, lb, live, sink := u.a, u.la, u.lb, u.live, u.sink
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	send := func() {
		t.Helper()
		if _, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: 10, Size: 100}); err != nil {
			t.Fatalf("SendUDP: %v", err)
		}
	}
	sent := func(s flows.Snapshot) (n uint64) {
		for _, f := range s.Flows {
			if f.Key.Remote == lb.IPv4.Addr() {
				n += f.SentPackets
			}
		}
		return n
	}
	poll := func(what string, ok func(flows.Snapshot) bool) flows.Snapshot {
		t.Helper()
		var s flows.Snapshot
		for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if s = live.Snapshot(time.Now()); ok(s) {
				return s
			}
		}
		t.Fatalf("%s: not within 4 s; health %+v, %d packets", what, s.Capture.Interfaces[0], sent(s))
		return s
	}
	send()
	poll("first 10 packets", func(s flows.Snapshot) bool { return sent(s) == 10 })
	la.SetDown()
	s := poll("down reported", func(s flows.Snapshot) bool { return s.Capture.Interfaces[0].Err != "" })
	if ih := s.Capture.Interfaces[0]; ih.Stopped {
		t.Errorf("a down interface stopped its reader: %+v", ih)
	}
	la.SetUp()
	lb.SetUp()
	send()
	poll("capture resumed", func(s flows.Snapshot) bool {
		return sent(s) == 20 && s.Capture.Interfaces[0].Err == ""
	})
}

// udpVeth is the common lab of these tests: a veth from a to b (offloads
// off), a capture on a's end with the filter "udp" whose local side is
// a's IPv4 address, and a UDP sink on b's end.
type udpVeth struct {
	a, b   *lab.NS
	la, lb *lab.Link
	live   *Live
	sink   *lab.Sink
}

// startUDPVeth builds a udpVeth; o may set RingMiB and Fanout, the rest is
// fixed. Everything is removed when the test ends.
func startUDPVeth(t *testing.T, o LiveOptions) udpVeth {
	t.Helper()
	l := lab.New(t)
	u := udpVeth{a: l.Netns(), b: l.Netns()}
	u.la, u.lb = l.Veth(u.a, u.b)
	u.la.OffloadsOff()
	o.Interfaces, o.Aggregation, o.Filter = []string{u.la.Name}, flows.By5Tuple, "udp"
	o.Table = flows.TableConfig{MaxFlows: 1000, Local: flows.NewLocal(netip.PrefixFrom(u.la.IPv4.Addr(), 32))}
	u.live = startLiveIn(t, u.a, o)
	u.sink = u.b.UDPSink(u.lb.IPv4.Addr())
	t.Cleanup(u.sink.Close)
	return u
}

// flow returns the UDP flow to the sink's host in s (zero if none).
func (u udpVeth) flow(s flows.Snapshot) flows.FlowStat {
	for _, f := range s.Flows {
		if f.Key.Proto == flows.ProtoUDP && f.Key.Remote == u.lb.IPv4.Addr() {
			return f
		}
	}
	return flows.FlowStat{}
}

// startLiveIn starts a live capture inside ns; it is closed when the test
// ends.
func startLiveIn(tb testing.TB, ns *lab.NS, o LiveOptions) *Live {
	tb.Helper()
	var live *Live
	if err := ns.Do(func() (err error) {
		live, err = StartLive(context.Background(), o)
		return err
	}); err != nil {
		tb.Fatalf("StartLive: %v", err)
	}
	tb.Cleanup(func() { live.Close() })
	return live
}

// stallReaders stops every reader of live from reading its ring (it holds
// each handle's lock, which a drain takes first, as a process that is not
// scheduled would) until the returned function is called. Holding the
// accountant's lock no longer does: a reader decodes aside meanwhile.
func stallReaders(live *Live) (resume func()) {
	for _, h := range live.handles {
		h.mu.Lock()
	}
	return func() {
		for _, h := range live.handles {
			h.mu.Unlock()
		}
	}
}
