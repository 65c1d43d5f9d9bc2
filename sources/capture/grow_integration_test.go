package capture

import (
	"context"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netriage/internal/lab"
	"netriage/triage/flows"
)

// rawRing is a ring opened by hand on a lab interface, read with a sink of
// its own, for the tests of the kernel behaviour growth relies on.
type rawRing struct {
	*ring
	sink *blockSink
	acc  *Accountant
	// tmo and full count the blocks handed over at their time-out and
	// full (TP_STATUS_BLK_TMO set or not).
	tmo, full int
}

// openRawRing opens a ring of 32 blocks of 64 KiB on link k that passes
// UDP only, inside k's namespace; spare makes a socket that passes nothing
// and has no ring yet (start it with startSpare).
func openRawRing(t *testing.T, k *lab.Link, spare bool) *rawRing {
	t.Helper()
	prog, err := filterProgram(LinkEthernet, "udp")
	if err != nil {
		t.Fatal(err)
	}
	var r *ring
	if err := k.NS.Do(func() error {
		o, _, _, err := ringOn(k.Name, 64<<10, 32, prog, prog)
		if err != nil {
			return err
		}
		if spare {
			o.filter = passNothing
			r, err = prepareRing(o)
		} else {
			r, err = openRing(o)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sink, acc := newSynthSink(t)
	rr := &rawRing{ring: r, sink: sink, acc: acc}
	t.Cleanup(rr.close)
	return rr
}

// startSpare gives a prepared ring its ring and binds it (any thread).
func (rr *rawRing) startSpare(t *testing.T) {
	t.Helper()
	if err := rr.start(ringOptions{ifindex: rr.ifindex, blockSize: 64 << 10, blocks: 32, blockTimeout: liveBlockTimeout}); err != nil {
		t.Fatal(err)
	}
}

// take reads every block handed over and returns the packets in them.
func (rr *rawRing) take() uint64 {
	before := counted(rr.acc)
	for {
		next := int(rr.next.Load())
		st := atomic.LoadUint32(rr.status(next))
		if !rr.readBlock(rr.sink, math.MaxInt64) {
			return counted(rr.acc) - before
		}
		if st&unix.TP_STATUS_BLK_TMO != 0 {
			rr.tmo++
		} else {
			rr.full++
		}
	}
}

// TestIntegrationRingSteering checks, on the kernel at hand, what a ring's
// growth relies on: a steered fanout group (PACKET_FANOUT_CBPF) with a
// program returning 0 sends every packet to its first member, a second
// member bound with a filter that passes nothing receives nothing before
// and after it joins, a program returning 1 then sends every packet to the
// second member and none to the first, the program's result is taken
// modulo the member count once the first member leaves (1 % 1 = 0), and
// blocks handed over at their time-out carry TP_STATUS_BLK_TMO while full
// ones do not. Then the second stage: the group steered back to 0 (its
// one member), a third socket joins and gets nothing until the group is
// steered to it, then everything, and keeps it once the second leaves.
func TestIntegrationRingSteering(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	la.OffloadsOff()
	sink := b.UDPSink(lb.IPv4.Addr())
	defer sink.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	send := func(n int, rate uint64) {
		t.Helper()
		if got, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: n, Size: 100, RateBps: rate}); err != nil || got != n {
			t.Fatalf("SendUDP: %d of %d sent: %v", got, n, err)
		}
		time.Sleep(liveHorizon + 100*time.Millisecond) // every block handed over
	}
	check := func(stage string, r1, r2 *rawRing, want1, want2 uint64) {
		t.Helper()
		var got1, got2 uint64
		if r1.mem != nil {
			got1 = r1.take()
		}
		if r2 != nil {
			got2 = r2.take()
		}
		if got1 != want1 || got2 != want2 {
			t.Errorf("%s: old ring %d packets, new ring %d; want %d and %d", stage, got1, got2, want1, want2)
		}
	}

	old := openRawRing(t, la, false)
	group, err := old.joinSteered(noFanoutGroup)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.steer(0); err != nil {
		t.Fatal(err)
	}
	t.Logf("steered group %d", group)
	send(100, 4_000_000)
	check("one member, program 0", old, nil, 100, 0)
	if old.tmo == 0 || old.full != 0 {
		t.Errorf("a trickle: %d blocks handed over at the time-out, %d full; want some at the time-out, none full", old.tmo, old.full)
	}

	// A burst larger than a block (a 64 KiB block holds about 340 of
	// these frames): blocks handed over full carry no BLK_TMO.
	send(3000, 0)
	check("burst, program 0", old, nil, 3000, 0)
	if old.full == 0 {
		t.Errorf("a burst of 3000 packets: no block handed over full (%d at the time-out)", old.tmo)
	}
	t.Logf("blocks: %d at the time-out, %d full", old.tmo, old.full)

	// The spare, bound before it joins, passes nothing on its own.
	spare := openRawRing(t, la, true)
	spare.startSpare(t)
	send(100, 4_000_000)
	check("spare bound, not joined", old, spare, 100, 0)
	if _, err := spare.joinSteered(group); err != nil {
		t.Fatal(err)
	}
	prog, _ := filterProgram(LinkEthernet, "udp")
	if err := spare.setFilter(prog); err != nil {
		t.Fatal(err)
	}
	send(100, 4_000_000)
	check("two members, program 0", old, spare, 100, 0)

	if err := spare.steer(1); err != nil {
		t.Fatal(err)
	}
	send(3000, 0)
	check("two members, program 1", old, spare, 0, 3000)

	old.close()
	send(3000, 0)
	check("old ring closed, program 1 (1 % 1 = 0)", old, spare, 0, 3000)
	if d, err := spare.drops(); err != nil || d != 0 {
		t.Errorf("kernel drops %d (%v)", d, err)
	}

	// The second stage, as switchRing makes it: steer to member 0 (the
	// spare, alone) before the third socket joins as member 1.
	third := openRawRing(t, la, true)
	third.startSpare(t)
	if err := spare.steer(0); err != nil {
		t.Fatal(err)
	}
	send(100, 4_000_000)
	check("second stage: third bound, not joined", spare, third, 100, 0)
	if _, err := third.joinSteered(group); err != nil {
		t.Fatal(err)
	}
	send(100, 4_000_000)
	check("second stage: joined, passes nothing, program 0", spare, third, 100, 0)
	if err := third.setFilter(prog); err != nil {
		t.Fatal(err)
	}
	send(3000, 0)
	check("second stage: two members, program 0", spare, third, 3000, 0)
	if err := third.steer(1); err != nil {
		t.Fatal(err)
	}
	send(3000, 0)
	check("second stage: program 1", spare, third, 0, 3000)
	spare.close()
	send(3000, 0)
	check("second stage: second ring closed (1 % 1 = 0)", spare, third, 0, 3000)
	if d, err := third.drops(); err != nil || d != 0 {
		t.Errorf("third ring: kernel drops %d (%v)", d, err)
	}
}

// growTimes records the reader's triggers and switches of a growth.
type growTimes struct {
	mu                 sync.Mutex
	triggers, switches []time.Time
	// onTrigger and onSwitch, when set, are called (holding mu) with the
	// count of triggers or switches so far at each one.
	onTrigger, onSwitch func(n int)
}

func (g *growTimes) hook(s growState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch s {
	case growWatching:
		g.triggers = append(g.triggers, time.Now())
		if g.onTrigger != nil {
			g.onTrigger(len(g.triggers))
		}
	case growHandover:
		g.switches = append(g.switches, time.Now())
		if g.onSwitch != nil {
			g.onSwitch(len(g.switches))
		}
	}
}

// took returns the time from each trigger to its switch.
func (g *growTimes) took() []time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	var d []time.Duration
	for i, s := range g.switches {
		if i < len(g.triggers) {
			d = append(d, s.Sub(g.triggers[i]).Round(time.Millisecond))
		}
	}
	return d
}

// setGrowHook sets growHook for the test (before StartLive) and clears it
// after the capture closed.
func setGrowHook(t *testing.T) *growTimes {
	t.Helper()
	g := &growTimes{}
	growHook = g.hook
	t.Cleanup(func() { growHook = nil })
	return g
}

// udpTo sums the packets and IP bytes the capture counted on UDP flows to
// the sink's port.
func udpTo(s flows.Snapshot, port uint16) (packets, bytes uint64) {
	for _, f := range s.Flows {
		if f.Key.Proto == flows.ProtoUDP && f.Key.RemotePort == port {
			packets += f.SentPackets
			bytes += f.SentBytes
		}
	}
	return packets, bytes
}

// waitStage waits until the handle's ring has size bytes and no old ring
// hands over, in state want (growWatching: a later stage watches it;
// growDone: the last stage is done).
func waitStage(t *testing.T, h *liveHandle, size int, want growState) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		g := h.grow
		state, old, got := g.state, h.old, h.ring.blockSize*h.ring.blocks
		due, full, run, stages := g.due, h.ring.fullBlocks, h.ring.longRun, len(g.later)
		h.mu.Unlock()
		if state == want && old == nil && got == size {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("growth did not reach %d MiB in state %d: state %d (due %v, %d stages after the next), ring %d bytes (%d blocks handed over full, at most %d in a row), old ring open %v",
				size>>20, want, state, due, stages, got, full, run, old != nil)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// growLive starts a capture of the default size on a silent lab link,
// checks that it opens at 2 MiB, and returns it with a sender and the
// sink's port.
func growLive(t *testing.T) (*Live, *lab.NS, *lab.Sink) {
	t.Helper()
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	la.OffloadsOff()
	lb.OffloadsOff()
	la.WaitQuiet(300*time.Millisecond, 5*time.Second)
	sink := b.UDPSink(lb.IPv4.Addr())
	t.Cleanup(func() { sink.Close() })
	live := startLiveIn(t, a, LiveOptions{
		Interfaces: []string{la.Name}, Aggregation: flows.By5Tuple, Filter: "udp",
		Table: flows.TableConfig{MaxFlows: 1000, Local: flows.NewLocal(netip.PrefixFrom(la.IPv4.Addr(), 32))},
	})
	if got := live.Snapshot(time.Now()).Capture.Interfaces[0].RingBytes; got != 2<<20 {
		t.Fatalf("idle ring: %d bytes, want 2 MiB", got)
	}
	return live, a, sink
}

// checkGrown takes a snapshot once every packet is handed over and checks
// that the capture counted want packets of size bytes of payload exactly
// once, that the kernel dropped none, the ring's size and that it last
// grew between from and to.
func checkGrown(t *testing.T, live *Live, sink *lab.Sink, want uint64, size int, ringBytes uint64, from, to time.Time) flows.IfaceHealth {
	t.Helper()
	t1 := time.Now()
	time.Sleep(liveHorizon + 30*time.Millisecond)
	s := live.Snapshot(t1.Add(liveHorizon))
	packets, bytes := udpTo(s, sink.Addr().Port())
	if packets != want || bytes != want*uint64(size+28) {
		t.Errorf("counted %d packets %d bytes, want %d and %d: every packet once", packets, bytes, want, want*uint64(size+28))
	}
	ih := s.Capture.Interfaces[0]
	if ih.KernelDrops != 0 || s.Capture.KernelDrops != 0 {
		t.Errorf("kernel drops %d (health %d), want 0", ih.KernelDrops, s.Capture.KernelDrops)
	}
	if ih.RingBytes != ringBytes {
		t.Errorf("ring %d bytes, want %d", ih.RingBytes, ringBytes)
	}
	if ih.GrewAt.Before(from) || ih.GrewAt.After(to) {
		t.Errorf("grew at %v, want between %v and %v", ih.GrewAt, from, to)
	}
	if len(s.Capture.Warnings) != 0 {
		t.Errorf("warnings %q", s.Capture.Warnings)
	}
	return ih
}

// TestIntegrationLiveGrows starts a capture of the default size on a
// silent link: it opens at 2 MiB. A trickle of a known count leaves it
// small; a quiet stream (16,000 packets a second for 3 s) grows it to
// 8 MiB, where it stays (its 1 MiB blocks go at their time-out); a flood
// of a known count grows it on through 16 to 32 MiB. Every packet sent is counted
// exactly once, the kernel drops none, each old ring closes, and the
// capture's health says the ring's size and when it last grew.
func TestIntegrationLiveGrows(t *testing.T) {
	times := setGrowHook(t)
	live, a, sink := growLive(t)
	h := live.handles[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const trickle, quiet, flood, size = 400, 48_000, 300_000, 64
	// 400 packets at 500 a second: about 100 per block time-out, well
	// under a 64 KiB block's 340 even if the sender catches up after a
	// stall.
	if n, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: trickle, Size: size, RateBps: 500 * size * 8}); err != nil || n != trickle {
		t.Fatalf("trickle: %d of %d sent: %v", n, trickle, err)
	}
	time.Sleep(liveHorizon + 50*time.Millisecond)
	if got := live.Snapshot(time.Now()).Capture.Interfaces[0].RingBytes; got != 2<<20 {
		t.Errorf("after a trickle: ring %d bytes, want 2 MiB (no growth)", got)
	}

	// 16,000 a second: 3,200 per 200 ms block time-out, a 64 KiB block
	// (340) fills in 21 ms, a 1 MiB block (5,400) would take 340 ms.
	start := time.Now()
	if n, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: quiet, Size: size, RateBps: 16_000 * size * 8}); err != nil || n != quiet {
		t.Fatalf("quiet stream: %d of %d sent: %v", n, quiet, err)
	}
	waitStage(t, h, 8<<20, growWatching)
	ih := checkGrown(t, live, sink, trickle+quiet, size, 8<<20, start, time.Now())
	h.mu.Lock()
	full, run := h.ring.fullBlocks, h.ring.longRun
	h.mu.Unlock()
	t.Logf("quiet stream: grew to 8 MiB %v after it began; %d full blocks in the 8 MiB ring, at most %d in a row", ih.GrewAt.Sub(start), full, run)

	start = time.Now()
	n, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: flood, Size: size})
	if err != nil || n != flood {
		t.Fatalf("flood: %d of %d sent: %v", n, flood, err)
	}
	elapsed := time.Since(start)
	t.Logf("flood: %d packets in %v (%.0f kpps)", flood, elapsed.Round(time.Millisecond), float64(flood)/elapsed.Seconds()/1e3)
	waitStage(t, h, DefaultRingMiB<<20, growDone)
	ih = checkGrown(t, live, sink, trickle+quiet+flood, size, DefaultRingMiB<<20, start, time.Now())
	t.Logf("trigger to switch %v; grew to 32 MiB %v after the flood began; %d packets read by the reader and snapshots", times.took(), ih.GrewAt.Sub(start), h.read.Load())
}

// floodSize is the UDP payload of the growth tests' floods.
const floodSize = 64

// floodUntil floods the sink from a as fast as the sender goes until the
// growth's n-th trigger (atSwitch false) or switch (true), at most 5
// million packets, and returns when it began and the packets sent.
func floodUntil(t *testing.T, times *growTimes, a *lab.NS, sink *lab.Sink, atSwitch bool, n int) (time.Time, uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	flood, stop := context.WithCancel(ctx)
	defer stop()
	at := func(k int) {
		if k == n {
			stop()
		}
	}
	what := "trigger"
	times.mu.Lock()
	if atSwitch {
		times.onSwitch, what = at, "switch"
	} else {
		times.onTrigger = at
	}
	times.mu.Unlock()
	const most = 5_000_000
	start := time.Now()
	sent, err := a.SendUDP(flood, sink.Addr(), lab.Send{Count: most, Size: floodSize})
	if sent == most || (err != nil && flood.Err() == nil) {
		t.Fatalf("flood: %d sent (%v), want it stopped at %s %d", sent, err, what, n)
	}
	elapsed := time.Since(start)
	t.Logf("flood: %d packets in %v (%.0f kpps), stopped at %s %d", sent, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds()/1e3, what, n)
	return start, uint64(sent)
}

// TestIntegrationLiveGrowsFlood floods a silent link's capture: the ring
// grows through every stage (2, 8, 16, 32 MiB) while the flood goes on (it
// stops at the switch to 32 MiB, however fast the sender is: a fixed count
// could end before the last stage is needed), and every packet is counted
// once with no kernel drop.
func TestIntegrationLiveGrowsFlood(t *testing.T) {
	times := setGrowHook(t)
	live, a, sink := growLive(t)
	start, n := floodUntil(t, times, a, sink, true, 3)
	waitStage(t, live.handles[0], DefaultRingMiB<<20, growDone)
	ih := checkGrown(t, live, sink, n, floodSize, DefaultRingMiB<<20, start, time.Now())
	times.mu.Lock()
	var at []time.Duration
	for _, sw := range times.switches {
		at = append(at, sw.Sub(start).Round(time.Millisecond))
	}
	times.mu.Unlock()
	if len(at) != 3 {
		t.Errorf("%d switches, want 3 (to 8 MiB, 16, then 32)", len(at))
	}
	t.Logf("trigger to switch %v; switches %v after the flood began; last growth's trigger %v after", times.took(), at, ih.GrewAt.Sub(start))
}

// TestIntegrationLiveGrowsFloodEnds grows the ring to 8 MiB with a quiet
// stream, then floods it and stops the flood the moment the last growth
// is triggered (its 32 MiB spare is then allocated while the 8 MiB ring
// still hands over to the 16 MiB one): the link is silent from then on,
// and the ring must still switch to 32 MiB and count every packet sent
// once, rather than wait on a quiet ring for a block that never comes.
// (It starts at 8 MiB because the switch after a hand-over is what it
// checks; TestIntegrationLiveGrowsFlood floods from idle.)
func TestIntegrationLiveGrowsFloodEnds(t *testing.T) {
	times := setGrowHook(t)
	live, a, sink := growLive(t)
	h := live.handles[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const quiet = 48_000
	if n, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: quiet, Size: floodSize, RateBps: 16_000 * floodSize * 8}); err != nil || n != quiet {
		t.Fatalf("quiet stream: %d of %d sent: %v", n, quiet, err)
	}
	waitStage(t, h, 8<<20, growWatching)
	start, n := floodUntil(t, times, a, sink, false, 3)
	waitStage(t, h, DefaultRingMiB<<20, growDone)
	checkGrown(t, live, sink, quiet+n, floodSize, DefaultRingMiB<<20, start, time.Now())
	t.Logf("trigger to switch %v", times.took())
}

// TestIntegrationLiveGrowthFails makes the growth fail (the kernel refuses
// the ring's geometry, as it would refuse memory it cannot find): the capture says so in a warning and goes on in the small
// ring, counting every packet.
func TestIntegrationLiveGrowthFails(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	la.OffloadsOff()
	la.WaitQuiet(300*time.Millisecond, 5*time.Second)
	sink := b.UDPSink(lb.IPv4.Addr())
	defer sink.Close()
	live := startLiveIn(t, a, LiveOptions{
		Interfaces: []string{la.Name}, Aggregation: flows.By5Tuple, Filter: "udp",
		Table: flows.TableConfig{MaxFlows: 1000, Local: flows.NewLocal(netip.PrefixFrom(la.IPv4.Addr(), 32))},
	})
	h := live.handles[0]
	h.mu.Lock()
	h.grow.opts.blockSize += 1 << 10 // not a multiple of the page size: EINVAL before any allocation
	h.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n, size = 3000, 100
	if got, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: n, Size: size, RateBps: 20_000_000}); err != nil || got != n {
		t.Fatalf("SendUDP: %d of %d sent: %v", got, n, err)
	}
	t1 := time.Now()
	time.Sleep(liveHorizon + 30*time.Millisecond)
	s := live.Snapshot(t1.Add(liveHorizon))
	if p, _ := udpTo(s, sink.Addr().Port()); p != n {
		t.Errorf("counted %d packets, want %d", p, n)
	}
	if got := s.Capture.Interfaces[0].RingBytes; got != 2<<20 {
		t.Errorf("ring %d bytes, want 2 MiB (growth failed)", got)
	}
	if len(s.Capture.Warnings) != 1 {
		t.Fatalf("warnings %q, want one about the growth", s.Capture.Warnings)
	}
	t.Logf("warning: %s", s.Capture.Warnings[0])
	h.mu.Lock()
	state, due := h.grow.state, h.grow.due
	h.mu.Unlock()
	if state != growDone || due {
		t.Errorf("growth state %d, due %v; want done, not due (the ring holds blocks for records again)", state, due)
	}
}

// TestIntegrationLiveCloseWhileGrowing closes the capture while its ring
// is growing (the large ring being allocated, or the old ring handing
// over): Close returns at once, with every reader and the allocation's
// goroutine done and every ring closed.
func TestIntegrationLiveCloseWhileGrowing(t *testing.T) {
	for _, at := range []growState{growStarting, growHandover} {
		t.Run(map[growState]string{growStarting: "starting", growHandover: "handover"}[at], func(t *testing.T) {
			l := lab.New(t)
			a, b := l.Netns(), l.Netns()
			la, lb := l.Veth(a, b)
			la.OffloadsOff()
			sink := b.UDPSink(lb.IPv4.Addr())
			defer sink.Close()
			live := startLiveIn(t, a, LiveOptions{
				Interfaces: []string{la.Name}, Aggregation: flows.By5Tuple, Filter: "udp",
				Table: flows.TableConfig{MaxFlows: 1000, Local: flows.NewLocal(netip.PrefixFrom(la.IPv4.Addr(), 32))},
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sent := make(chan struct{})
			go func() {
				defer close(sent)
				_, _ = a.SendUDP(ctx, sink.Addr(), lab.Send{Count: 200_000, Size: 64})
			}()
			h := live.handles[0]
			deadline := time.Now().Add(10 * time.Second)
			for {
				h.mu.Lock()
				state := h.grow.state
				h.mu.Unlock()
				if state >= at {
					t.Logf("closing in state %d (asked for %d)", state, at)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the ring never reached state %d (at %d)", at, state)
				}
				time.Sleep(time.Millisecond)
			}
			start := time.Now()
			live.Close()
			if took := time.Since(start); took > time.Second {
				t.Errorf("Close took %v", took)
			}
			h.mu.Lock()
			open := h.ring.mem != nil || (h.old != nil && h.old.mem != nil) || (h.grow.spare != nil && h.grow.spare.mem != nil)
			for _, st := range h.grow.later {
				open = open || st.spare.mem != nil
			}
			h.mu.Unlock()
			if open {
				t.Error("a ring is still mapped after Close")
			}
			cancel()
			<-sent
		})
	}
}
