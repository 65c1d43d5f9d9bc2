package capture

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The decisions of a ring's growth, on literal input and on synthetic
// rings (no socket).

func TestGrowPlan(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name         string
		ring, fanout int
		wantFirst    int
		wantStages   []int
	}{
		{"default: starts at 2 MiB, grows to 8, 16, then 32", 32 * mib, 1, 2 * mib, []int{8 * mib, 16 * mib, 32 * mib}},
		{"no fanout given", 32 * mib, 0, 2 * mib, []int{8 * mib, 16 * mib, 32 * mib}},
		{"large ring: × 2 a stage after 8 MiB", 512 * mib, 1, 2 * mib, []int{8 * mib, 16 * mib, 32 * mib, 64 * mib, 128 * mib, 256 * mib, 512 * mib}},
		{"last stage capped", 100 * mib, 1, 2 * mib, []int{8 * mib, 16 * mib, 32 * mib, 64 * mib, 100 * mib}},
		{"24 MiB: capped at the third stage", 24 * mib, 1, 2 * mib, []int{8 * mib, 16 * mib, 24 * mib}},
		{"20 MiB: a last step of a quarter stays", 20 * mib, 1, 2 * mib, []int{8 * mib, 16 * mib, 20 * mib}},
		{"33 MiB: a last step of 1 MiB is folded", 33 * mib, 1, 2 * mib, []int{8 * mib, 16 * mib, 33 * mib}},
		{"9 MiB: folded into the first step", 9 * mib, 1, 2 * mib, []int{9 * mib}},
		{"12 MiB: capped at the second stage", 12 * mib, 1, 2 * mib, []int{8 * mib, 12 * mib}},
		{"8 MiB: one stage", 8 * mib, 1, 2 * mib, []int{8 * mib}},
		{"just above the start: one stage", 3 * mib, 1, 2 * mib, []int{3 * mib}},
		{"2 MiB: the start is the size", 2 * mib, 1, 2 * mib, nil},
		{"1 MiB: below the start", 1 * mib, 1, 1 * mib, nil},
		{"hash fanout keeps its size", 32 * mib, 2, 32 * mib, nil},
		{"hash fanout of 8", 64 * mib, 8, 64 * mib, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, stages := growPlan(tc.ring, tc.fanout)
			if first != tc.wantFirst || !slices.Equal(stages, tc.wantStages) {
				t.Errorf("growPlan(%d, %d) = %d, %v; want %d, %v", tc.ring, tc.fanout, first, stages, tc.wantFirst, tc.wantStages)
			}
		})
	}
	if bs, nb := ringGeometry(growFirstBytes); bs != 64<<10 || nb != 32 {
		t.Errorf("the first ring: %d blocks of %d bytes, want 32 of 64 KiB", nb, bs)
	}
}

// TestStageGeometry: a stage before the last has 1 MiB blocks (a quiet
// link's blocks go at their time-out, so it stays there); the last has
// the configured ring's geometry.
func TestStageGeometry(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name                string
		size, final         int
		wantBlock, wantBlks int
	}{
		{"8 MiB on the way to 32", 8 * mib, 32 * mib, mib, 8},
		{"16 MiB on the way to 32", 16 * mib, 32 * mib, mib, 16},
		{"32 MiB, the last", 32 * mib, 32 * mib, mib, 32},
		{"32 MiB on the way to 512", 32 * mib, 512 * mib, mib, 32},
		{"8 MiB, the last (ring_mib 8)", 8 * mib, 8 * mib, 256 << 10, 32},
		{"12 MiB, the last", 12 * mib, 12 * mib, 256 << 10, 48},
		{"3 MiB, the last", 3 * mib, 3 * mib, 64 << 10, 48},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs, nb := stageGeometry(tc.size, tc.final)
			if bs != tc.wantBlock || nb != tc.wantBlks {
				t.Errorf("stageGeometry(%d, %d) = %d blocks of %d; want %d of %d", tc.size, tc.final, nb, bs, tc.wantBlks, tc.wantBlock)
			}
			if bs*nb != tc.size {
				t.Errorf("%d blocks of %d are not %d bytes", nb, bs, tc.size)
			}
		})
	}
	// A quiet link's 200 ms of small packets fit in a block of the
	// intermediate stage: 22,500 packets a second of 106-byte frames,
	// each taking 192 bytes of the block (header, sockaddr_ll, frame,
	// aligned).
	bs, _ := stageGeometry(8*mib, 32*mib)
	if perBlock, quiet := (bs-48)/192, 22_500*int(liveBlockTimeout/time.Millisecond)/1000; perBlock <= quiet {
		t.Errorf("an 8 MiB stage's block holds %d small packets, a quiet link sends %d per block time-out", perBlock, quiet)
	}
}

func TestNeedsGrowth(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		longRun, run, backlog, nb int
		want                      bool
	}{
		{"idle", 0, 1, 0, 32, false},
		{"blocks at their time-out, reader keeps up", 0, 1, 1, 32, false},
		{"half the ring waiting", 0, 1, 16, 32, false},
		{"more than half waiting", 0, 1, 17, 32, true},
		{"first ring: one block handed over full", 1, 1, 0, 32, true},
		{"full blocks and a backlog", 5, 1, 20, 32, true},
		{"later stage: one full block now and then", 1, growLaterRun, 0, 8, false},
		{"later stage: two in a row", 2, growLaterRun, 1, 8, false},
		{"later stage: three in a row", 3, growLaterRun, 0, 8, true},
		{"later stage: more than half of 8 waiting", 0, growLaterRun, 5, 8, true},
		{"later stage: half of 8 waiting", 0, growLaterRun, 4, 8, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := needsGrowth(tc.longRun, tc.run, tc.backlog, tc.nb); got != tc.want {
				t.Errorf("needsGrowth(%d, %d, %d, %d) = %v, want %v", tc.longRun, tc.run, tc.backlog, tc.nb, got, tc.want)
			}
		})
	}
}

func TestHandedOver(t *testing.T) {
	for _, tc := range []struct {
		name      string
		due, late bool
		backlog   int
		held      bool
		open      uint32
		want      bool
	}{
		{"before the retire time", false, false, 0, false, 0, false},
		{"before the retire time, blocks waiting", false, false, 3, false, 0, false},
		{"due, everything read", true, false, 0, false, 0, true},
		{"due, a block waiting", true, false, 1, false, 0, false},
		{"due, a block held", true, false, 0, true, 0, false},
		{"due, the open block has packets", true, false, 0, false, 4, false},
		{"late: closes whatever the ring says", true, true, 0, false, 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := handedOver(tc.due, tc.late, tc.backlog, tc.held, tc.open); got != tc.want {
				t.Errorf("handedOver = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNamesRingGeometry: the names ring is 256 KiB and a block holds
// several frames of its snap length.
func TestNamesRingGeometry(t *testing.T) {
	if got := namesBlockSize * namesBlocks; got != 256<<10 {
		t.Errorf("names ring %d bytes, want 256 KiB", got)
	}
	if frames := namesBlockSize / (namesSnapLen + synthMac); frames < 4 {
		t.Errorf("a names block holds %d frames of the full snap length, want several", frames)
	}
	if namesBlockSize%liveFrameSize != 0 || namesBlockSize%unix.Getpagesize() != 0 {
		t.Errorf("names block size %d is not a multiple of the frame and page sizes", namesBlockSize)
	}
}

// TestReadBlockCountsFullBlocks: a block handed over at its time-out
// (TP_STATUS_BLK_TMO) is no sign of load; one handed over full is, and
// the time of its last packet is kept.
func TestReadBlockCountsFullBlocks(t *testing.T) {
	ms := time.Millisecond
	r := newSynthRing(4, 64<<10)
	sink, _ := newSynthSink(t)
	r.fill(t, 0, synthPackets(5, 0, ms))
	*r.status(0) |= unix.TP_STATUS_BLK_TMO
	r.fill(t, 1, synthPackets(5, 10*ms, ms))
	r.fill(t, 2, synthPackets(5, 20*ms, ms))
	if !r.readBlock(sink, ns(time.Hour)) || r.fullBlocks != 0 {
		t.Fatalf("after a block at its time-out: %d full blocks, want 0", r.fullBlocks)
	}
	r.readBlock(sink, ns(time.Hour))
	r.readBlock(sink, ns(time.Hour))
	if r.fullBlocks != 2 || r.fullAt != ns(14*ms) {
		t.Errorf("after two full blocks: %d full, first at %v; want 2 at 14 ms", r.fullBlocks, time.Duration(r.fullAt-ns(0)))
	}
	if r.fullRun != 2 || r.longRun != 2 || r.longRunAt != ns(24*ms) {
		t.Errorf("run %d, longest %d made at %v; want 2, 2 at 24 ms", r.fullRun, r.longRun, time.Duration(r.longRunAt-ns(0)))
	}
	// A block at its time-out ends the run; the longest stays.
	r.fill(t, 3, synthPackets(5, 30*ms, ms))
	*r.status(3) |= unix.TP_STATUS_BLK_TMO
	r.fill(t, 0, synthPackets(5, 40*ms, ms))
	r.readBlock(sink, ns(time.Hour))
	r.readBlock(sink, ns(time.Hour))
	if r.fullRun != 1 || r.longRun != 2 || r.longRunAt != ns(24*ms) || r.fullBlocks != 3 {
		t.Errorf("after a time-out and a full block: run %d, longest %d at %v, %d full; want 1, 2 at 24 ms, 3", r.fullRun, r.longRun, time.Duration(r.longRunAt-ns(0)), r.fullBlocks)
	}
}

// newSynthGrowing is a synthetic handle whose ring grows, with old as its
// small ring handing over when old is set.
func newSynthGrowing(t *testing.T, r, old *ring, state growState) (*Live, *liveHandle) {
	t.Helper()
	l, h := newSynthLive(t, r)
	h.old = old
	h.grow = &growth{state: state}
	return l, h
}

// TestDrainGrowingHoldsNothing: a drain holds the blocks after its
// horizon as usual until the small ring needs its successor; the drain
// that finds the need counts the blocks it was holding at once (they are
// room for packets until the switch), and later drains hold nothing.
func TestDrainGrowingHoldsNothing(t *testing.T) {
	ms := time.Millisecond
	quiet := newSynthRing(32, 64<<10)
	l, h := newSynthGrowing(t, quiet, nil, growWatching)
	quiet.fill(t, 0, synthPackets(10, 0, ms)) // a block of 10 at its time-out
	*quiet.status(0) |= unix.TP_STATUS_BLK_TMO
	l.drain(h, ns(5*ms))
	if got := counted(l.acc); got != 5 || h.grow.due {
		t.Fatalf("a block at its time-out: %d counted, want 5 (the rest held); growth due %v, want not", got, h.grow.due)
	}

	r := newSynthRing(32, 64<<10)
	l, h = newSynthGrowing(t, r, nil, growWatching)
	for i := range 4 { // full blocks of 10 packets, 0–39 ms
		r.fill(t, i, synthPackets(10, time.Duration(10*i)*ms, ms))
	}
	want, mark := l.drain(h, ns(5*ms)) // growth due: the blocks held before it are counted too
	if got := counted(l.acc); got != 40 {
		t.Fatalf("the drain that found the growth due: %d counted, want all 40", got)
	}
	if want != 4 || mark != 4 {
		t.Errorf("wait for block %d past %d blocks given back, want block 4 past 4", want, mark)
	}
	if !h.grow.due || h.grow.dueAt != ns(9*ms) {
		t.Fatalf("growth due %v at %v, want due at 9 ms (the first full block's last packet)", h.grow.due, time.Duration(h.grow.dueAt-ns(0)))
	}
	r.fill(t, 4, synthPackets(10, 40*ms, ms))
	if want, mark = l.drain(h, ns(5*ms)); want != 5 || mark != 5 {
		t.Errorf("wait for block %d past %d blocks given back, want block 5 past 5", want, mark)
	}
	if got := counted(l.acc); got != 50 {
		t.Errorf("growth due: %d counted, want all 50 (nothing held)", got)
	}
}

// TestDrainHandoverDueHoldsNothing: a new ring that needs the next stage
// while the old ring still hands over (a flood) holds none of its blocks;
// without the need it holds as usual.
func TestDrainHandoverDueHoldsNothing(t *testing.T) {
	ms := time.Millisecond
	for _, due := range []bool{false, true} {
		old, r := newSynthRing(8, 64<<10), newSynthRing(8, 64<<10)
		l, h := newSynthGrowing(t, r, old, growHandover)
		h.grow.due = due
		for i := range 4 {
			r.fill(t, i, synthPackets(10, time.Duration(10*i)*ms, ms))
		}
		l.drain(h, ns(5*ms))
		want := uint64(5)
		if due {
			want = 40
		}
		if got := counted(l.acc); got != want {
			t.Errorf("due %v: %d counted, want %d", due, got, want)
		}
	}
}

// TestDrainStageHoldsAQuarter: a growing ring's stage with a later one to
// come holds at most a quarter of its blocks for the next record (the
// room it needs when a flood grows it on); the last stage holds half, as
// a ring that does not grow.
func TestDrainStageHoldsAQuarter(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		more bool
		want uint64
	}{
		{"a stage to come", true, 20}, // blocks 0 and 1 counted in full, 2 and 3 held
		{"the last stage", false, 5},  // block 0 up to the horizon, 0–3 held
	} {
		r := newSynthRing(8, 64<<10)
		l, h := newSynthGrowing(t, r, nil, growWatching)
		h.grow.stage = 1
		if tc.more {
			h.grow.later = []growStage{{}}
		}
		for i := range 4 { // blocks of 10 packets at their time-out, 0–39 ms
			r.fill(t, i, synthPackets(10, time.Duration(10*i)*ms, ms))
			*r.status(i) |= unix.TP_STATUS_BLK_TMO
		}
		l.drain(h, ns(5*ms))
		if got := counted(l.acc); got != tc.want {
			t.Errorf("%s: %d counted, want %d", tc.name, got, tc.want)
		}
		if h.grow.due {
			t.Errorf("%s: growth due with 4 of 8 blocks handed over at their time-out", tc.name)
		}
	}
}

// TestDrainBothRings: while the old ring hands over, a snapshot's drain
// counts the packets of both rings before its horizon and holds the
// others in each; the reader's own horizon is each ring's.
func TestDrainBothRings(t *testing.T) {
	ms := time.Millisecond
	old, r := newSynthRing(8, 64<<10), newSynthRing(8, 64<<10)
	l, h := newSynthGrowing(t, r, old, growHandover)
	old.fill(t, 0, synthPackets(10, 0, ms))     // 0–9 ms
	old.fill(t, 1, synthPackets(10, 10*ms, ms)) // 10–19 ms: the last before the switch
	r.fill(t, 0, synthPackets(10, 20*ms, ms))   // 20–29 ms
	r.fill(t, 1, synthPackets(10, 30*ms, ms))   // 30–39 ms
	if want, _ := l.drain(h, ns(15*ms)); want != 2 {
		t.Errorf("wait for block %d of the new ring, want 2", want)
	}
	if got := counted(l.acc); got != 15 {
		t.Fatalf("before 15 ms: %d counted, want 15 (all of them in the old ring)", got)
	}
	l.drain(h, ns(35*ms))
	if got := counted(l.acc); got != 35 {
		t.Fatalf("before 35 ms: %d counted, want 35", got)
	}
	if n, _ := old.backlog(); n != 0 {
		t.Errorf("old ring: %d blocks still held", n)
	}
	l.drain(h, ns(time.Hour))
	if got := h.read.Load(); got != 40 {
		t.Errorf("%d packets read, want 40", got)
	}
}
