package engine

import (
	"testing"
	"time"

	"netriage/triage"
	"netriage/triage/verdict"
)

// bursts is a scripted BurstReader: every Take returns ten 100 ms
// intervals of eth0 whose tx bytes follow pattern (per step), with drops
// in the first interval; errAt makes that Take report a failed read.
type bursts struct {
	n        int
	pattern  []uint64
	drops    uint64
	errAt    int
	takenAt  []time.Time
	interval time.Duration
}

func (b *bursts) Take(now time.Time) triage.BurstSample {
	b.n++
	b.takenAt = append(b.takenAt, now)
	ib := triage.IfaceBursts{Name: "eth0", Qdisc: true, Drops: b.drops}
	for i := range 10 {
		iv := triage.BurstInterval{Elapsed: 100 * time.Millisecond, TxBytes: b.pattern[i%len(b.pattern)]}
		if i == 0 {
			iv.Drops = b.drops
		}
		ib.Intervals = append(ib.Intervals, iv)
		ib.Span += iv.Elapsed
		if p := (triage.BurstPeak{Bytes: iv.TxBytes, Elapsed: iv.Elapsed}); p.Bps() > ib.TX.Bps() {
			ib.TX = p
		}
	}
	if b.n == b.errAt {
		ib.Err, ib.Errors = "eth0: interface removed", 3
	}
	return triage.BurstSample{Interval: 100 * time.Millisecond, Ifaces: []triage.IfaceBursts{ib}}
}

func TestBurstsInput(t *testing.T) {
	// eth0 at 1 Gbit/s sends 40 MB/s on average (32%): 100 ms intervals
	// of 12.5 MB (100%) then nothing, with qdisc drops at every step.
	tests := []struct {
		name       string
		pattern    []uint64
		drops      uint64
		errAt      int
		wantBursty bool
		wantHealth State
	}{
		{"peaks with drops under a low average: bursty", []uint64{12_500_000, 12_500_000, 12_500_000, 0, 0, 0, 0, 0, 0, 0}, 30, 0, true, StateOK},
		{"the same average smooth: not bursty", []uint64{4_000_000}, 30, 0, false, StateOK},
		{"peaks without drops: not bursty", []uint64{12_500_000, 12_500_000, 12_500_000, 0, 0, 0, 0, 0, 0, 0}, 0, 0, false, StateOK},
		{"a failed read degrades the input", []uint64{4_000_000}, 0, 4, false, StateDegraded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &links{tx: 40_000_000, speedBps: 1e9, drops: tc.drops}
			b := &bursts{pattern: tc.pattern, drops: tc.drops, errAt: tc.errAt}
			e := New(Inputs{Timeline: every(time.Second, 4), Links: l, Bursts: b},
				Config{Judge: true, Watched: []string{"eth0"}, Window: 3 * time.Second, Thresholds: verdict.DefaultThresholds()})
			snaps := collect(e)
			if b.n != 4 || len(snaps) != 4 {
				t.Fatalf("%d takes over %d steps, want one per step", b.n, len(snaps))
			}
			last := snaps[3]
			if last.Bursts == nil || last.Links.Bursts != last.Bursts || !b.takenAt[3].Equal(last.Time) {
				t.Fatalf("the step's bursts are not on the snapshot and its link sample: %+v", last.Bursts)
			}
			tx := last.Verdict.Interfaces[0].TX
			if tx.Bursts == nil || tx.Bursts.Intervals != 30 { // three steps after the window's first
				t.Fatalf("the window's bursts: %+v", tx.Bursts)
			}
			got := false
			for _, f := range last.Verdict.Findings {
				got = got || f.Rule == verdict.RuleBursty
			}
			if got != tc.wantBursty {
				t.Errorf("bursty %v, want %v (findings %+v, peak %v, util %v)", got, tc.wantBursty, last.Verdict.Findings, tx.Bursts.PeakUtilization, tx.Utilization)
			}
			if h := healthOf(last, "bursts"); h.State != tc.wantHealth {
				t.Errorf("health %+v, want %s", h, tc.wantHealth)
			}
		})
	}
	// Without the input: no bursts anywhere, no health entry.
	e := New(Inputs{Timeline: every(time.Second, 2), Links: &links{tx: 1000, speedBps: 1e9}},
		Config{Judge: true, Watched: []string{"eth0"}, Window: time.Second, Thresholds: verdict.DefaultThresholds()})
	s := collect(e)[1]
	if s.Bursts != nil || s.Verdict.Interfaces[0].TX.Bursts != nil || healthOf(s, "bursts").Input != "" {
		t.Errorf("bursts without a sampler: %+v", s.Bursts)
	}
}
