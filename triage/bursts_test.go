package triage

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBurstAccumulator(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type read struct {
		at   int // ms
		c    BurstCounters
		fail string
	}
	q := func(tx, drops, backlog uint64) BurstCounters {
		return BurstCounters{TxBytes: tx, RxBytes: tx / 10, QdiscOK: true, Drops: drops, BacklogBytes: backlog, BacklogPackets: backlog / 1000}
	}
	tests := []struct {
		name  string
		ring  int
		reads []read
		want  IfaceBursts
	}{
		{"intervals use the real elapsed time", 8, []read{{0, q(0, 0, 0), ""}, {100, q(10_000, 0, 0), ""}, {250, q(40_000, 5, 9000), ""}, {350, q(41_000, 5, 0), ""}},
			IfaceBursts{Name: "eth0", Intervals: []BurstInterval{
				{Elapsed: 100 * time.Millisecond, TxBytes: 10_000, RxBytes: 1000},
				{Elapsed: 150 * time.Millisecond, TxBytes: 30_000, RxBytes: 3000, Drops: 5, BacklogBytes: 9000, BacklogPackets: 9},
				{Elapsed: 100 * time.Millisecond, TxBytes: 1000, RxBytes: 100},
			}, Span: 350 * time.Millisecond, RX: BurstPeak{3000, 150 * time.Millisecond}, TX: BurstPeak{30_000, 150 * time.Millisecond},
				Drops: 5, Qdisc: true, MaxBacklogBytes: 9000, MaxBacklogPackets: 9}},
		{"a read under half an interval after the last closes nothing", 8, []read{{0, q(0, 0, 0), ""}, {100, q(10_000, 0, 0), ""}, {120, q(20_000, 0, 0), ""}, {200, q(30_000, 0, 0), ""}},
			IfaceBursts{Name: "eth0", Intervals: []BurstInterval{
				{Elapsed: 100 * time.Millisecond, TxBytes: 10_000, RxBytes: 1000},
				{Elapsed: 100 * time.Millisecond, TxBytes: 20_000, RxBytes: 2000},
			}, Span: 200 * time.Millisecond, RX: BurstPeak{2000, 100 * time.Millisecond}, TX: BurstPeak{20_000, 100 * time.Millisecond}, Qdisc: true}},
		{"a full ring folds the newest into the last, peaks stay exact", 2, []read{{0, q(0, 0, 0), ""}, {100, q(1000, 0, 0), ""}, {200, q(2000, 0, 0), ""}, {300, q(50_000, 3, 0), ""}},
			IfaceBursts{Name: "eth0", Intervals: []BurstInterval{
				{Elapsed: 100 * time.Millisecond, TxBytes: 1000, RxBytes: 100},
				{Elapsed: 200 * time.Millisecond, TxBytes: 49_000, RxBytes: 4900, Drops: 3},
			}, Merged: 1, Span: 300 * time.Millisecond, RX: BurstPeak{4800, 100 * time.Millisecond}, TX: BurstPeak{48_000, 100 * time.Millisecond}, Drops: 3, Qdisc: true}},
		{"a failed read restarts from the next good one", 8, []read{{0, q(0, 0, 0), ""}, {100, BurstCounters{}, "gone"}, {200, q(5000, 0, 0), ""}, {300, q(6000, 0, 0), ""}},
			IfaceBursts{Name: "eth0", Intervals: []BurstInterval{{Elapsed: 100 * time.Millisecond, TxBytes: 1000, RxBytes: 100}},
				Span: 100 * time.Millisecond, RX: BurstPeak{100, 100 * time.Millisecond}, TX: BurstPeak{1000, 100 * time.Millisecond}, Qdisc: true, Err: "gone", Errors: 1}},
		{"a counter that goes backwards counts from zero", 8, []read{{0, q(5000, 0, 0), ""}, {100, q(700, 0, 0), ""}},
			IfaceBursts{Name: "eth0", Intervals: []BurstInterval{{Elapsed: 100 * time.Millisecond, TxBytes: 700, RxBytes: 70}},
				Span: 100 * time.Millisecond, RX: BurstPeak{70, 100 * time.Millisecond}, TX: BurstPeak{700, 100 * time.Millisecond}, Qdisc: true, Reset: true}},
		{"no qdisc: no drops or backlog", 8, []read{{0, BurstCounters{TxBytes: 0}, ""}, {100, BurstCounters{TxBytes: 100}, ""}},
			IfaceBursts{Name: "eth0", Intervals: []BurstInterval{{Elapsed: 100 * time.Millisecond, TxBytes: 100}},
				Span: 100 * time.Millisecond, RX: BurstPeak{0, 100 * time.Millisecond}, TX: BurstPeak{100, 100 * time.Millisecond}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := NewBurstAccumulator([]string{"eth0"}, 100*time.Millisecond, tc.ring)
			for _, r := range tc.reads {
				if r.fail != "" {
					a.Fail(0, r.fail)
					continue
				}
				a.Add(0, ms(r.at), r.c)
			}
			got := a.Take(ms(1000))
			if got.Interval != 100*time.Millisecond || !got.Time.Equal(ms(1000)) || len(got.Ifaces) != 1 {
				t.Fatalf("sample %+v", got)
			}
			if diff := cmp.Diff(tc.want, got.Ifaces[0]); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// The next span starts from the last read: nothing is lost.
			next := a.Take(ms(2000)).Ifaces[0]
			if len(next.Intervals) != 0 || next.Span != 0 || next.Name != "eth0" {
				t.Errorf("the next span is not empty: %+v", next)
			}
		})
	}
}

func TestBurstAccumulatorAddDoesNotAllocate(t *testing.T) {
	a := NewBurstAccumulator([]string{"eth0"}, 100*time.Millisecond, 4)
	at := time.Unix(0, 0)
	var tx uint64
	if n := testing.AllocsPerRun(100, func() {
		at = at.Add(100 * time.Millisecond)
		tx += 1000
		a.Add(0, at, BurstCounters{TxBytes: tx, QdiscOK: true})
	}); n != 0 {
		t.Errorf("%v allocations per Add, want 0", n)
	}
}

func TestSummarizeBursts(t *testing.T) {
	b := IfaceBursts{Name: "eth0", Span: 400 * time.Millisecond, Drops: 7, Qdisc: true, Intervals: []BurstInterval{
		{Elapsed: 100 * time.Millisecond, TxBytes: 125_000}, // 10 Mbit/s: 100%
		{Elapsed: 100 * time.Millisecond, TxBytes: 110_000}, // 88%
		{Elapsed: 100 * time.Millisecond, TxBytes: 10_000},  // 8%
		{Elapsed: 100 * time.Millisecond},
	}, TX: BurstPeak{125_000, 100 * time.Millisecond}}
	s := SummarizeBursts(b, 100*time.Millisecond, 0, 10_000_000, 0.8, 0.95)
	if s.TX.PeakUtilization == nil || *s.TX.PeakUtilization != 1 || s.TX.AboveWarn != 200*time.Millisecond || s.TX.AboveCrit != 100*time.Millisecond {
		t.Errorf("tx %+v", s.TX)
	}
	if s.RX.PeakUtilization != nil || s.RX.AboveWarn != 0 {
		t.Errorf("rx without a capacity %+v", s.RX)
	}
	if s.Drops != 7 || s.Intervals != 4 || s.Sampled != 400*time.Millisecond {
		t.Errorf("summary %+v", s)
	}
	m := MergeBursts(b, IfaceBursts{Name: "eth0", Span: 100 * time.Millisecond, Drops: 1, TX: BurstPeak{130_000, 100 * time.Millisecond},
		Intervals: []BurstInterval{{Elapsed: 100 * time.Millisecond, TxBytes: 130_000}}})
	if len(m.Intervals) != 5 || m.TX.Bytes != 130_000 || m.Drops != 8 || m.Span != 500*time.Millisecond || len(b.Intervals) != 4 {
		t.Errorf("merged %+v", m)
	}
}

// lineRate is a synthetic link: capacity capBps, busy at line rate for
// busy out of every period, starting at phase. bytesAt is its byte counter
// at t (exact, so any window's rate is at most the capacity).
type lineRate struct {
	capBps              float64
	busy, period, phase time.Duration
}

func (l lineRate) bytesAt(t time.Duration) uint64 {
	if t < l.phase {
		return 0
	}
	t -= l.phase
	n := t / l.period
	in := min(t-n*l.period, l.busy)
	return uint64((float64(n)*l.busy.Seconds() + in.Seconds()) * l.capBps / 8)
}

// jitter is a deterministic pseudo-random latency in [0, max).
type jitter struct {
	x   uint64
	max time.Duration
}

func (j *jitter) next() time.Duration {
	if j.max <= 0 {
		return 0
	}
	j.x = j.x*6364136223846793005 + 1442695040888963407
	return time.Duration((j.x >> 33) % uint64(j.max))
}

// readLink feeds an accumulator (burst interval 100 ms) the reads of a
// sampler that reads l every step for 4 s, each read late by jitter, and
// returns the span's summary and the sampler's peak.
func readLink(l lineRate, step time.Duration, j *jitter) (BurstSummary, BurstPeak) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := NewBurstAccumulator([]string{"eth0"}, 100*time.Millisecond, 256)
	for at := time.Duration(0); at <= 4*time.Second; at += step {
		r := at + j.next()
		a.Add(0, t0.Add(r), BurstCounters{TxBytes: l.bytesAt(r)})
	}
	b := a.Take(t0.Add(5 * time.Second)).Ifaces[0]
	return SummarizeBursts(b, 100*time.Millisecond, 0, uint64(l.capBps), 0.8, 0.95), b.TX
}

// TestBurstPeakJittered: a link full for 170 ms every 500 ms (the bursty
// lab's shape: a queue of 160 ms at the shaper's rate filled in a few ms)
// reads a 100 ms peak of line rate at every phase of the sampler's grid,
// with reads late by up to 10 ms, because the sampler reads every 50 ms
// and judges windows of consecutive reads at least 75 ms long. Read every
// 100 ms with each interval judged alone (the sampler of old), some phases
// read below 95% in every burst: the flake of the lab scenario.
func TestBurstPeakJittered(t *testing.T) {
	oldWorst := 2.0
	for _, jmax := range []time.Duration{0, 3 * time.Millisecond, 10 * time.Millisecond} {
		for phase := time.Duration(0); phase < 100*time.Millisecond; phase += time.Millisecond {
			l := lineRate{capBps: 10e6, busy: 170 * time.Millisecond, period: 500 * time.Millisecond, phase: phase}
			j := &jitter{x: uint64(phase), max: jmax}
			s, peak := readLink(l, BurstStep(100*time.Millisecond), j)
			u := *s.TX.PeakUtilization
			if u < 0.99 || u > 1.0001 {
				t.Errorf("jitter %v, phase %v: peak %.4f (over %v), want line rate", jmax, phase, u, peak.Elapsed)
			}
			if peak.Elapsed < 75*time.Millisecond || peak.Elapsed > 170*time.Millisecond {
				t.Errorf("jitter %v, phase %v: peak window %v, want about 100 ms", jmax, phase, peak.Elapsed)
			}
			// Each of the 8 bursts holds windows at or above the critical
			// threshold: one or two of about 100 ms (a 170 ms burst holds
			// two steps, sometimes three), never more than the burst and a
			// read on each side.
			if s.TX.AboveCrit < 8*85*time.Millisecond || s.TX.AboveCrit > 8*280*time.Millisecond {
				t.Errorf("jitter %v, phase %v: %v at or above 95%%, want 8 × 85..280 ms", jmax, phase, s.TX.AboveCrit)
			}
			if jmax == 0 {
				oldWorst = min(oldWorst, oldPeak(l, phase))
			}
		}
	}
	if oldWorst >= 0.95 {
		t.Errorf("a 100 ms grid judged interval by interval read at least %.3f at every phase: the scenario does not test the windows", oldWorst)
	}
}

// oldPeak is the busiest single 100 ms interval of reads every 100 ms
// starting at 0 (the phase is the link's).
func oldPeak(l lineRate, _ time.Duration) float64 {
	best := 0.0
	for at := 100 * time.Millisecond; at <= 4*time.Second; at += 100 * time.Millisecond {
		b := l.bytesAt(at) - l.bytesAt(at-100*time.Millisecond)
		best = max(best, float64(b)*8/0.1/l.capBps)
	}
	return best
}

// TestBurstPeakShortSpike: 40 ms at line rate once a second is not read as
// a full 100 ms: the shortest window is three quarters of the interval.
func TestBurstPeakShortSpike(t *testing.T) {
	for phase := time.Duration(0); phase < 100*time.Millisecond; phase += 7 * time.Millisecond {
		l := lineRate{capBps: 1e9, busy: 40 * time.Millisecond, period: time.Second, phase: phase}
		s, _ := readLink(l, BurstStep(100*time.Millisecond), &jitter{x: uint64(phase), max: 5 * time.Millisecond})
		if u := *s.TX.PeakUtilization; u > 40.0/75 || u < 0.3 {
			t.Errorf("phase %v: peak %.3f, want 40 ms over a window of 75 to 100 ms", phase, u)
		}
		if s.TX.AboveWarn != 0 {
			t.Errorf("phase %v: %v above the warning threshold, want none", phase, s.TX.AboveWarn)
		}
	}
}

// TestBurstPeakWindowsAcrossTakes: a window may start before a Take and end
// after it; the peak belongs to the span it ends in.
func TestBurstPeakWindowsAcrossTakes(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	a := NewBurstAccumulator([]string{"eth0"}, 100*time.Millisecond, 8)
	a.Add(0, ms(0), BurstCounters{TxBytes: 0})
	a.Add(0, ms(50), BurstCounters{TxBytes: 6000})
	first := a.Take(ms(60)).Ifaces[0]
	a.Add(0, ms(100), BurstCounters{TxBytes: 12_500})
	a.Add(0, ms(150), BurstCounters{TxBytes: 12_500})
	second := a.Take(ms(160)).Ifaces[0]
	if first.TX != (BurstPeak{}) {
		t.Errorf("first span's peak %+v: no window of 75 ms ended in it", first.TX)
	}
	if second.TX != (BurstPeak{Bytes: 12_500, Elapsed: 100 * time.Millisecond}) {
		t.Errorf("second span's peak %+v, want the 100 ms window from 0", second.TX)
	}
}

// TestBurstPeakOneInterval: a stretch at line rate of exactly one burst
// interval reads at least three quarters of line rate, whatever its phase
// against the reads (a window of two reads holds at least 75 ms of it).
func TestBurstPeakOneInterval(t *testing.T) {
	for phase := time.Duration(0); phase < 100*time.Millisecond; phase += 3 * time.Millisecond {
		l := lineRate{capBps: 1e9, busy: 100 * time.Millisecond, period: time.Second, phase: phase}
		s, _ := readLink(l, BurstStep(100*time.Millisecond), &jitter{})
		if u := *s.TX.PeakUtilization; u < 0.749 || u > 1.0001 {
			t.Errorf("phase %v: peak %.3f, want 75%% to 100%%", phase, u)
		}
	}
}
