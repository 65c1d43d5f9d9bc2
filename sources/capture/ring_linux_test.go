package capture

import (
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"netriage/triage/flows"
)

// Synthetic TPACKET_V3 rings: the block and packet headers laid out as the
// kernel lays them out, in ordinary memory, so the block walk runs without
// a socket.

// synthPacket is one packet of a synthetic block.
type synthPacket struct {
	at      time.Duration // after synthEpoch
	ifindex int32
	pkttype uint8
	frame   []byte
}

// synthEpoch is the synthetic packets' time origin.
var synthEpoch = time.Unix(1_700_000_000, 0)

// synthMac is where a synthetic packet's frame starts after its header
// (tpacket3_hdr, then sockaddr_ll, aligned).
const synthMac = 80

// newSynthRing returns a ring of n blocks of bs bytes, all the kernel's.
func newSynthRing(n, bs int) *ring {
	return &ring{mem: make([]byte, n*bs), blockSize: bs, blocks: n}
}

// fill writes pkts into block i and hands it to user space, as the kernel
// retiring it does; the block's ts_last_pkt is the last packet's time.
func (r *ring) fill(t testing.TB, i int, pkts []synthPacket) {
	t.Helper()
	b := r.mem[i*r.blockSize : (i+1)*r.blockSize]
	clear(b)
	const first = 48 // after the block descriptor, aligned
	off := first
	for k, p := range pkts {
		size := (synthMac + len(p.frame) + 15) &^ 15
		if off+size > len(b) {
			t.Fatalf("block %d: packet %d does not fit", i, k)
		}
		h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&b[off]))
		ts := synthEpoch.Add(p.at)
		h.Sec, h.Nsec = uint32(ts.Unix()), uint32(ts.Nanosecond())
		h.Snaplen, h.Len = uint32(len(p.frame)), uint32(len(p.frame))
		h.Mac = synthMac
		if k < len(pkts)-1 {
			h.Next_offset = uint32(size)
		}
		*(*int32)(unsafe.Pointer(&b[off+sllIfindexOff])) = p.ifindex
		b[off+sllPkttypeOff] = p.pkttype
		copy(b[off+synthMac:], p.frame)
		off += size
	}
	*(*uint32)(unsafe.Pointer(&b[blockNumOff])) = uint32(len(pkts))
	*(*uint32)(unsafe.Pointer(&b[blockFirstOff])) = first
	if len(pkts) > 0 {
		ts := synthEpoch.Add(pkts[len(pkts)-1].at)
		*(*uint32)(unsafe.Pointer(&b[blockTsLastOff])) = uint32(ts.Unix())
		*(*uint32)(unsafe.Pointer(&b[blockTsLastOff+4])) = uint32(ts.Nanosecond())
	}
	*r.status(i) = unix.TP_STATUS_USER
}

// owned reports whether block i is user space's.
func (r *ring) owned(i int) bool { return *r.status(i)&unix.TP_STATUS_USER != 0 }

// synthUDP is a UDP packet of n payload bytes between the test addresses
// (IP length 28 + n).
func synthUDP(at time.Duration, n int) synthPacket {
	return synthPacket{at: at, ifindex: 2, pkttype: unix.PACKET_HOST,
		frame: ether(etIPv4, ip4(v4a, v4b, 17, udpDgram(4000, 53, n), 0, false))}
}

// synthPackets returns n UDP packets every step from start.
func synthPackets(n int, start, step time.Duration) []synthPacket {
	ps := make([]synthPacket, n)
	for i := range ps {
		ps[i] = synthUDP(start+time.Duration(i)*step, 100)
	}
	return ps
}

// newSynthSink returns a sink that counts into a new accountant.
func newSynthSink(t testing.TB) (*blockSink, *Accountant) {
	t.Helper()
	dec, err := NewDecoder(LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	acc := NewAccountant(flows.TableConfig{MaxFlows: 100}, flows.ByHostPair, "", "")
	return &blockSink{dec: dec, acc: acc}, acc
}

// counted is the packets an accountant counted.
func counted(acc *Accountant) uint64 {
	c := acc.Totals()
	return c.SentPackets + c.RecvPackets
}

// BenchmarkRingReadBlock walks blocks of 3,000 small UDP packets into the
// accountant (decode and flow update included), per packet.
func BenchmarkRingReadBlock(b *testing.B) {
	const perBlock = 3000
	r := newSynthRing(2, 1<<20)
	pkts := synthPackets(perBlock, 0, time.Microsecond)
	sink, _ := newSynthSink(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += perBlock {
		b.StopTimer()
		r.fill(b, int(r.next.Load()), pkts)
		b.StartTimer()
		sink.acc.mu.Lock()
		r.readBlock(sink, math.MaxInt64)
		sink.acc.mu.Unlock()
	}
}

// ns is a synthetic time in nanoseconds since the epoch.
func ns(at time.Duration) int64 { return synthEpoch.Add(at).UnixNano() }

func TestReadBlockHolds(t *testing.T) {
	ms := time.Millisecond
	// Ten packets at 1 ms … 10 ms; the calls' horizons in turn.
	for _, tc := range []struct {
		name     string
		befores  []time.Duration
		counted  []uint64 // after each call
		released []bool
	}{
		{"all at once", []time.Duration{time.Hour}, []uint64{10}, []bool{true}},
		{"none yet", []time.Duration{ms}, []uint64{0}, []bool{false}},
		{"resume", []time.Duration{5*ms + 500*time.Microsecond, 8 * ms, 11 * ms}, []uint64{5, 7, 10}, []bool{false, false, true}},
		{"same horizon again", []time.Duration{3*ms + 1, 3*ms + 1, 20 * ms}, []uint64{3, 3, 10}, []bool{false, false, true}},
		{"at the horizon is held", []time.Duration{4 * ms, 10 * ms, 10*ms + 1}, []uint64{3, 9, 10}, []bool{false, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSynthRing(4, 64<<10)
			r.fill(t, 0, synthPackets(10, ms, ms))
			sink, acc := newSynthSink(t)
			for i, b := range tc.befores {
				acc.mu.Lock()
				got := r.readBlock(sink, ns(b))
				acc.mu.Unlock()
				if got != tc.released[i] || counted(acc) != tc.counted[i] {
					t.Fatalf("call %d (before %v): released %v, %d counted; want %v, %d", i, b, got, counted(acc), tc.released[i], tc.counted[i])
				}
				if next := int(r.next.Load()); r.owned(0) == got || (next == 1) != got {
					t.Fatalf("call %d: block 0 owned %v, next %d after released %v", i, r.owned(0), next, got)
				}
			}
		})
	}
}

// TestReadBlockHoldsLoopback: a held block resumes at the held packet,
// and the outgoing copies on lo are still skipped on either side of it.
func TestReadBlockHoldsLoopback(t *testing.T) {
	ms := time.Millisecond
	var pkts []synthPacket
	for i := range 6 {
		for _, pt := range []uint8{unix.PACKET_OUTGOING, unix.PACKET_HOST} {
			p := synthUDP(time.Duration(i+1)*ms, 100)
			p.ifindex, p.pkttype = loopbackIfindex, pt
			pkts = append(pkts, p)
		}
	}
	r := newSynthRing(4, 64<<10)
	r.fill(t, 0, pkts)
	sink, acc := newSynthSink(t)
	for _, tc := range []struct {
		before time.Duration
		want   uint64
	}{{2*ms + 1, 2}, {4*ms + 1, 4}, {time.Hour, 6}} {
		acc.mu.Lock()
		r.readBlock(sink, ns(tc.before))
		acc.mu.Unlock()
		if got := counted(acc); got != tc.want {
			t.Fatalf("before %v: %d counted, want %d (once each)", tc.before, got, tc.want)
		}
	}
}

// newSynthLive returns a capture over one synthetic ring, without readers.
func newSynthLive(t *testing.T, r *ring) (*Live, *liveHandle) {
	t.Helper()
	sink, acc := newSynthSink(t)
	acc.SetInterfaces([]string{"synth0"})
	return &Live{acc: acc, ifaces: 1}, &liveHandle{name: "synth0", ring: r, sink: *sink}
}

// TestDrainHorizon: a snapshot's drain counts exactly the packets before
// its horizon across blocks, holds the block it stops in and the blocks
// after it, and returns the first block the kernel still has.
func TestDrainHorizon(t *testing.T) {
	ms := time.Millisecond
	r := newSynthRing(8, 64<<10)
	// Blocks 0..2 hold 10 packets each, 1 ms apart: 0–9, 10–19, 20–29 ms.
	for i := range 3 {
		r.fill(t, i, synthPackets(10, time.Duration(10*i)*ms, ms))
	}
	l, h := newSynthLive(t, r)
	for _, tc := range []struct {
		before time.Duration
		want   uint64
		next   int32 // the first block held
		owned  []int // blocks user space holds after the drain
	}{
		{5*ms + 1, 6, 0, []int{0, 1, 2}},
		{5*ms + 1, 6, 0, []int{0, 1, 2}},
		{15 * ms, 15, 1, []int{1, 2}},
		{30 * ms, 30, 3, nil},
	} {
		if want, _ := l.drain(h, ns(tc.before)); want != 3 {
			t.Errorf("before %v: wait for block %d, want 3", tc.before, want)
		}
		if got := counted(l.acc); got != tc.want {
			t.Errorf("before %v: %d counted, want %d", tc.before, got, tc.want)
		}
		if got := r.next.Load(); got != tc.next {
			t.Errorf("before %v: next block %d, want %d", tc.before, got, tc.next)
		}
		for i := range r.blocks {
			if own := slices.Contains(tc.owned, i); r.owned(i) != own {
				t.Errorf("before %v: block %d owned %v, want %v", tc.before, i, r.owned(i), own)
			}
		}
	}
	if got := h.read.Load(); got != 30 {
		t.Errorf("%d packets read, want 30", got)
	}
	if got := l.acc.Snapshot(synthEpoch.Add(time.Second)).Capture.Interfaces[0].Packets; got != 30 {
		t.Errorf("interface health counts %d packets, want 30", got)
	}
}

// TestDrainReaderHorizon: between snapshots the reader counts only what
// lies liveHorizon + liveReaderSlack before the newest packet handed
// over, which any later snapshot would count too.
func TestDrainReaderHorizon(t *testing.T) {
	ms := time.Millisecond
	r := newSynthRing(32, 64<<10)
	// A packet every 10 ms in blocks of 5 (50 ms each) over 400 ms.
	for i := range 8 {
		r.fill(t, i, synthPackets(5, time.Duration(50*i)*ms, 10*ms))
	}
	l, h := newSynthLive(t, r)
	newest := 390 * ms
	l.drain(h, readerHorizon)
	horizon := newest - liveHorizon - liveReaderSlack
	want := uint64(horizon/(10*ms)) + 1 // packets at 0, 10, …, ≤ horizon (none falls on it)
	if horizon%(10*ms) == 0 {
		want--
	}
	if got := counted(l.acc); got != want {
		t.Fatalf("reader counted %d packets, want %d (those before %v)", got, want, horizon)
	}
	// A snapshot whose tick came after the newest packet counts at least
	// as much: never less than the reader did.
	l.drain(h, ns(newest+ms-liveHorizon))
	if got := counted(l.acc); got < want {
		t.Fatalf("snapshot after the reader: %d counted, fewer than the reader's %d", got, want)
	}
}

// TestDrainNeverFillsRing: packets the horizon holds (here stamped in
// the future, as after the clock went back) never hold more than half the
// ring: the oldest blocks are counted in full instead.
func TestDrainNeverFillsRing(t *testing.T) {
	r := newSynthRing(8, 64<<10)
	l, h := newSynthLive(t, r)
	now := time.Second
	for i := range r.blocks * 3 {
		r.fill(t, i%r.blocks, synthPackets(10, time.Hour+time.Duration(i)*time.Millisecond, time.Microsecond))
		want, _ := l.drain(h, ns(now))
		if n, _ := r.backlog(); n > r.blocks/2 {
			t.Fatalf("after block %d: %d blocks held of %d", i, n, r.blocks)
		}
		if want != (i+1)%r.blocks {
			t.Fatalf("after block %d: wait for block %d, want %d", i, want, (i+1)%r.blocks)
		}
	}
	if got, held := counted(l.acc), uint64(r.blocks/2*10); got != uint64(r.blocks*3*10)-held {
		t.Fatalf("%d counted, want all but the %d held", got, held)
	}
}

// TestDrainDoesNotAllocate: counting and holding allocate nothing.
func TestDrainDoesNotAllocate(t *testing.T) {
	r := newSynthRing(4, 64<<10)
	l, h := newSynthLive(t, r)
	pkts := synthPackets(50, 0, time.Millisecond)
	l.drain(h, math.MaxInt64) // the flow's first packet allocates its entry
	allocs := testing.AllocsPerRun(100, func() {
		r.fill(t, int(r.next.Load()), pkts)
		l.drain(h, ns(25*time.Millisecond))
		l.drain(h, readerHorizon)
		l.drain(h, math.MaxInt64)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per block", allocs)
	}
}

// TestDrainFailingClears: packets held from before an interface failed
// do not clear its error when a snapshot counts them; a block the kernel
// hands over afterwards does.
func TestDrainFailingClears(t *testing.T) {
	ms := time.Millisecond
	r := newSynthRing(8, 64<<10)
	r.fill(t, 0, synthPackets(5, 0, ms))
	l, h := newSynthLive(t, r)
	l.drain(h, ns(2*ms)) // holds block 0
	h.failing = true
	_, h.failedAt = r.backlog()
	l.drain(h, ns(time.Second))
	if !h.failing || r.owned(0) {
		t.Fatalf("after the held block: failing %v, block 0 owned %v; want failing, given back", h.failing, r.owned(0))
	}
	r.fill(t, 1, synthPackets(5, 10*ms, ms))
	l.drain(h, ns(time.Second))
	if h.failing {
		t.Fatal("a block handed over after the failure did not clear it")
	}
}

// TestWaitReadyWhenOthersRead: the reader, holding blocks, waits for the
// first block after them; a snapshot that reads that block too (it holds
// nothing while the ring grows) gives it back before the reader sees it
// handed over. The wait is then over at the next hand-over rather than
// once the kernel has come round the whole ring.
func TestWaitReadyWhenOthersRead(t *testing.T) {
	ms := time.Millisecond
	r := newSynthRing(8, 64<<10)
	l, h := newSynthLive(t, r)
	r.fill(t, 0, synthPackets(10, 0, ms))
	r.fill(t, 1, synthPackets(10, 10*ms, ms))
	want, mark := l.drain(h, ns(5*ms)) // the reader: 5 counted, blocks 0 and 1 held
	if want != 2 || mark != 2 {
		t.Fatalf("wait for block %d past %d, want block 2 past 2 (nothing given back, 2 held)", want, mark)
	}
	st := r.status(want)
	if r.ready(st, mark) {
		t.Fatal("ready before anything happened")
	}
	r.fill(t, 2, synthPackets(10, 20*ms, ms))
	if !r.ready(st, mark) {
		t.Fatal("not ready with block 2 handed over")
	}
	l.drain(h, ns(time.Hour)) // a snapshot reads all three blocks
	if r.owned(2) {
		t.Fatal("block 2 not given back")
	}
	if !r.ready(st, mark) {
		t.Error("not ready after a snapshot read the block waited for: the reader would sleep until the ring wraps")
	}
	// The reader's own drain, nothing new: waits for block 3.
	if want, mark = l.drain(h, readerHorizon); want != 3 || mark != 3 {
		t.Errorf("wait for block %d past %d, want block 3 past 3", want, mark)
	}
	if r.ready(r.status(want), mark) {
		t.Error("ready with nothing new")
	}
}

// ifacePackets is the accountant's packet count of the first interface.
func ifacePackets(acc *Accountant) uint64 {
	acc.mu.Lock()
	defer acc.mu.Unlock()
	return acc.health.Interfaces[0].Packets
}

// holdTable holds the accountant as a snapshot copying the flow table
// does, until release is called.
func holdTable(acc *Accountant) (release func()) {
	acc.mu.Lock()
	acc.copying.Store(true)
	return func() {
		acc.copying.Store(false)
		acc.mu.Unlock()
	}
}

// drainSoon runs l.drain(h, before) and fails the test if it has not
// returned within a second (it waited for the accountant).
func drainSoon(t *testing.T, l *Live, h *liveHandle, before int64) (want int, mark uint64) {
	t.Helper()
	done := make(chan struct{})
	go func() { want, mark = l.drain(h, before); close(done) }()
	select {
	case <-done:
		return want, mark
	case <-time.After(time.Second):
		t.Fatal("the drain waited for the accountant")
		return 0, 0
	}
}

// blocksWaiting runs l.drain(h, before) in a goroutine and reports
// whether it is still waiting after 50 ms; wait returns once it is done.
func blocksWaiting(l *Live, h *liveHandle, before int64) (waiting bool, wait func()) {
	done := make(chan struct{})
	go func() { l.drain(h, before); close(done) }()
	select {
	case <-done:
		return false, func() {}
	case <-time.After(50 * time.Millisecond):
		return true, func() { <-done }
	}
}

// fillToHorizon fills blocks 0 to n-1 of r with 10 packets each, 1 ms
// apart from 0 ms, and block n with one packet at 1 s, which puts the
// reader's horizon after all of the others.
func fillToHorizon(t *testing.T, r *ring, n int) {
	t.Helper()
	ms := time.Millisecond
	for i := range n {
		r.fill(t, i, synthPackets(10, time.Duration(10*i)*ms, ms))
	}
	r.fill(t, n, synthPackets(1, time.Second, ms))
}

// TestDrainDefersWhileSnapshotHolds: while a snapshot holds the
// accountant (copying the flow table), the reader does not wait: it
// decodes the blocks into its pending buffer and gives them back to the
// kernel; the packets are counted, in order and once, by the next
// snapshot's drain before that snapshot reads the table. A snapshot's own
// drain never defers, and a reader that finds another reader holding the
// accountant waits for it.
func TestDrainDefersWhileSnapshotHolds(t *testing.T) {
	r := newSynthRing(8, 64<<10)
	l, h := newSynthLive(t, r)
	fillToHorizon(t, r, 3)

	release := holdTable(l.acc)
	want, _ := drainSoon(t, l, h, readerHorizon)
	for i := range 3 {
		if r.owned(i) {
			t.Errorf("block %d still held: the reader waited or kept it", i)
		}
	}
	if want != 4 || len(h.pending) != 30 {
		t.Errorf("wait for block %d with %d packets pending, want block 4 and 30", want, len(h.pending))
	}
	release()
	if got, ifc := counted(l.acc), ifacePackets(l.acc); got != 0 || ifc != 0 {
		t.Fatalf("%d counted (%d on the interface) before anyone took the accountant, want 0", got, ifc)
	}
	l.drain(h, ns(time.Hour)) // the next snapshot's drain: the pending packets first
	if got, ifc := counted(l.acc), ifacePackets(l.acc); got != 31 || ifc != 31 {
		t.Errorf("after the snapshot's drain: %d counted, %d on the interface, want 31 and 31", got, ifc)
	}
	if len(h.pending) != 0 {
		t.Errorf("%d still pending", len(h.pending))
	}

	// A snapshot's drain waits for the accountant rather than defer.
	r.fill(t, 4, synthPackets(10, 2*time.Second, time.Millisecond))
	release = holdTable(l.acc)
	waiting, wait := blocksWaiting(l, h, ns(time.Hour))
	release()
	wait()
	if !waiting {
		t.Error("a snapshot's drain went on without the accountant")
	}
	if got := counted(l.acc); got != 41 {
		t.Errorf("%d counted, want 41", got)
	}

	// Another ring's reader holds the accountant (not a copy): wait.
	r.fill(t, 5, synthPackets(10, 3*time.Second, time.Millisecond))
	r.fill(t, 6, synthPackets(1, 4*time.Second, time.Millisecond))
	l.acc.mu.Lock()
	waiting, wait = blocksWaiting(l, h, readerHorizon)
	l.acc.mu.Unlock()
	wait()
	if !waiting || len(h.pending) != 0 {
		t.Errorf("beside another reader: waited %v, %d pending; want a wait and none", waiting, len(h.pending))
	}
}

// TestDrainPendingAppliedOnEmptyRing: a ring that holds nothing (its
// growth is due) gives every block back while the reader decodes aside;
// the next snapshot's drain, finding no block at all, still counts them
// before it reads the table.
func TestDrainPendingAppliedOnEmptyRing(t *testing.T) {
	r := newSynthRing(8, 64<<10)
	l, h := newSynthLive(t, r)
	h.grow = &growth{state: growStarting}
	fillToHorizon(t, r, 3)
	release := holdTable(l.acc)
	drainSoon(t, l, h, readerHorizon)
	release()
	if n, _ := r.backlog(); n != 0 || len(h.pending) != 31 {
		t.Fatalf("backlog %d, %d pending; want 0 and all 31", n, len(h.pending))
	}
	l.drain(h, ns(time.Hour))
	if got := counted(l.acc); got != 31 {
		t.Errorf("the snapshot's drain of an empty ring: %d counted, want 31", got)
	}
}

// TestDrainPendingFull: a reader whose pending buffer fills stops at the
// next packet, holding its block, and waits for the accountant; nothing
// is lost, nothing counted twice, and the buffer never grows. A buffer
// that fills exactly at a block's end goes on with the next block as
// usual (the block after the horizon stays held).
func TestDrainPendingFull(t *testing.T) {
	for _, tc := range []struct{ room, blocks, full int }{{15, 8, 4}, {10, 8, 4}, {10, 3, 2}} {
		room, full := tc.room, tc.full
		r := newSynthRing(tc.blocks, 64<<10)
		l, h := newSynthLive(t, r)
		h.pending = make([]Meta, 0, room)
		fillToHorizon(t, r, full)
		release := holdTable(l.acc)
		waiting, wait := blocksWaiting(l, h, readerHorizon)
		given := !r.ownedAtomic(0)
		release()
		wait()
		if !waiting || !given {
			t.Errorf("room %d: waited %v with block 0 given back %v, want a wait after it", room, waiting, given)
		}
		if got, ifc := counted(l.acc), ifacePackets(l.acc); got != uint64(10*full) || ifc != uint64(10*full) {
			t.Errorf("room %d: %d counted, %d on the interface, want %d", room, got, ifc, 10*full)
		}
		if !r.owned(full) {
			t.Errorf("room %d: the block after the reader's horizon was given back", room)
		}
		if cap(h.pending) != room || len(h.pending) != 0 {
			t.Errorf("room %d: pending len %d cap %d, want 0 and %d", room, len(h.pending), cap(h.pending), room)
		}
	}
}

// ownedAtomic is owned for a block another goroutine may give back.
func (r *ring) ownedAtomic(i int) bool {
	return atomic.LoadUint32(r.status(i))&unix.TP_STATUS_USER != 0
}
