package capture

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netriage/internal/lab"
	"netriage/triage/flows"
)

// The kernel hands out unique fanout group ids (PACKET_FANOUT_FLAG_UNIQUEID)
// from one 16-bit counter for the whole machine, starting at 0 after boot;
// it skips ids a group of the asking socket's namespace holds. These
// helpers move that counter so a test can make the next unique id 0, as on
// a freshly booted machine.

// fanoutProbeProto is an EtherType no lab traffic carries: a socket bound
// to it joins groups but receives nothing.
const fanoutProbeProto = 0x88b5

// takeUniqueFanoutID creates a fanout group with a unique id from a socket
// of the calling thread's namespace and returns the id; the group goes
// when the socket closes. The counter then points one past it.
func takeUniqueFanoutID() (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(fanoutProbeProto)))
	if err != nil {
		return 0, fmt.Errorf("packet socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT, (unix.PACKET_FANOUT_HASH|unix.PACKET_FANOUT_FLAG_UNIQUEID)<<16); err != nil {
		return 0, fmt.Errorf("unique fanout group: %w", err)
	}
	v, err := unix.GetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT)
	if err != nil {
		return 0, fmt.Errorf("read fanout group: %w", err)
	}
	return v & 0xffff, nil
}

// skipUniqueFanoutIDs advances the counter by n (in a namespace that
// holds no group, so no id is skipped). Each step asks for a unique id
// from a socket that was never bound: the kernel takes the id, then
// refuses the join (EINVAL: the socket does not run) and frees the group
// at once. Nothing closes, so nothing waits for an RCU grace period as
// closing n joined sockets would (about 25 ms each): 65,535 steps take
// well under a second instead of about 50 s from 64 threads.
func skipUniqueFanoutIDs(n int) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("packet socket: %w", err)
	}
	defer unix.Close(fd)
	for i := range n {
		err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT, (unix.PACKET_FANOUT_HASH|unix.PACKET_FANOUT_FLAG_UNIQUEID)<<16)
		if !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("step %d of %d: unique fanout id on an unbound socket: %v, want EINVAL", i+1, n, err)
		}
	}
	return nil
}

// makeNextUniqueFanoutIDZero moves the counter, from ns, so that the next
// unique id is 0, and checks that it got there: it stops one short, takes
// that id itself (65535), and returns the ids it read.
func makeNextUniqueFanoutIDZero(ns *lab.NS) (from, last int, err error) {
	err = ns.Do(func() error {
		if from, err = takeUniqueFanoutID(); err != nil {
			return err
		}
		// The counter is at from+1; 0xffff is the id to take last.
		if err := skipUniqueFanoutIDs((0xffff - (from + 1)) & 0xffff); err != nil {
			return err
		}
		last, err = takeUniqueFanoutID()
		return err
	})
	return from, last, err
}

// TestIntegrationLiveFanoutGroupZero starts a capture with two fanout
// rings when the kernel's next unique fanout id is 0, as on a freshly
// booted machine (the counter is brought there first), and checks that
// the first ring's group really is 0, that the second ring joined it, and
// that every packet is counted once, not once per ring.
func TestIntegrationLiveFanoutGroupZero(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	la.OffloadsOff()
	sink := b.UDPSink(lb.IPv4.Addr())
	defer sink.Close()
	opts := LiveOptions{
		Interfaces: []string{la.Name}, Aggregation: flows.By5Tuple, Filter: "udp", Fanout: 2, RingMiB: 2,
		Table: flows.TableConfig{MaxFlows: 1000, Local: flows.NewLocal(netip.PrefixFrom(la.IPv4.Addr(), 32))},
	}
	// Another process may take a unique id between the counter reaching
	// 0 and the capture asking for one: then it tries again.
	const attempts = 5
	start := time.Now()
	var live *Live
	for i := 1; live == nil; i++ {
		t0 := time.Now()
		from, last, err := makeNextUniqueFanoutIDZero(a)
		if err != nil {
			t.Fatalf("bring the unique fanout id to 0: %v", err)
		}
		lv := startLiveIn(t, a, opts)
		g, err := lv.handles[0].ring.fanoutGroup()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("attempt %d: counter was at %d, took %d last, capture's group %d (%v)", i, from+1, last, g, time.Since(t0).Round(time.Millisecond))
		if last == 0xffff && g == 0 {
			live = lv
			break
		}
		lv.Close()
		if i == attempts {
			t.Fatalf("after %d attempts the capture's first ring never got fanout group 0 (last: counter at %d, took %d, group %d): other processes keep taking unique fanout ids", attempts, from+1, last, g)
		}
	}
	t.Logf("fanout counter brought to 0 in %v", time.Since(start).Round(time.Millisecond))
	for i, h := range live.handles {
		if g, err := h.ring.fanoutGroup(); err != nil || g != 0 {
			t.Errorf("ring %d: fanout group %d (%v), want 0: the first ring's group", i+1, g, err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const flowsN, perFlow, size = 16, 25, 200
	ports := make(map[uint16]bool)
	for range flowsN {
		s := b.UDPSink(lb.IPv4.Addr()) // open until the test ends: distinct ports
		defer s.Close()
		ports[s.Addr().Port()] = true
		if _, err := a.SendUDP(ctx, s.Addr(), lab.Send{Count: perFlow, Size: size}); err != nil {
			t.Fatalf("SendUDP: %v", err)
		}
	}
	time.Sleep(300 * time.Millisecond) // past the block time-out
	s := live.Snapshot(time.Now())
	n := 0
	for _, f := range s.Flows {
		if f.Key.Proto != flows.ProtoUDP || !ports[f.Key.RemotePort] {
			continue
		}
		n++
		if f.SentPackets != perFlow || f.SentBytes != perFlow*(size+28) {
			t.Errorf("flow %v: %d packets %d bytes, want %d and %d (each packet once)", f.Key, f.SentPackets, f.SentBytes, perFlow, perFlow*(size+28))
		}
	}
	if n != flowsN {
		t.Errorf("%d flows, want %d", n, flowsN)
	}
	if got := s.Capture.Packets; got != flowsN*perFlow {
		t.Errorf("%d packets captured, want %d: every packet once", got, flowsN*perFlow)
	}
	for i, h := range live.handles {
		t.Logf("ring %d: %d packets", i+1, h.read.Load())
	}
}

// TestIntegrationLiveFanoutStartNoDuplicates starts a capture of four
// hash-fanout rings while a single UDP flow runs, with a pause of 50 ms
// before each ring joins the group (a ring bound and not yet joined
// receives every packet on its own): the flow's packets must all come
// from one ring, the one the group's hash gives it, never also from a
// ring that was still joining.
func TestIntegrationLiveFanoutStartNoDuplicates(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	sink := b.UDPSink(lb.IPv4.Addr())
	defer sink.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		// 2,000 datagrams of 100 bytes at 800 kbit/s: 2.5 s, about 800 a
		// second, so every 50 ms pause sees some 40 of them.
		_, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: 2000, Size: 100, RateBps: 800_000})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	fanoutJoinHook = func(int) { time.Sleep(50 * time.Millisecond) }
	t.Cleanup(func() { fanoutJoinHook = nil })
	live := startLiveIn(t, a, LiveOptions{
		Interfaces: []string{la.Name}, Aggregation: flows.By5Tuple, Filter: "udp", Fanout: 4, RingMiB: 2,
		Table: flows.TableConfig{MaxFlows: 1000, Local: flows.NewLocal(netip.PrefixFrom(la.IPv4.Addr(), 32))},
	})
	fanoutJoinHook = nil
	if err := <-done; err != nil {
		t.Fatalf("SendUDP: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // past the block time-out
	s := live.Snapshot(time.Now())
	busy := 0
	for i, h := range live.handles {
		n := h.read.Load()
		t.Logf("ring %d: %d packets", i+1, n)
		if n > 0 {
			busy++
		}
	}
	if busy != 1 {
		t.Errorf("%d rings read packets of the one flow, want 1: a ring counted packets before it joined the group", busy)
	}
	if s.Capture.Packets == 0 || s.Capture.Packets > 2000 {
		t.Errorf("%d packets captured of 2,000 sent", s.Capture.Packets)
	}
}
