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
