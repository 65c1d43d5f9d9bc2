package triage

import (
	"testing"
	"time"
)

func TestCompareSelf(t *testing.T) {
	s := func(at, cpu time.Duration, rss, peak uint64) SelfSample {
		return SelfSample{At: at, CPU: cpu, RSS: rss, PeakRSS: peak}
	}
	p := s(10*time.Second, 2*time.Second, 10<<20, 12<<20)
	for _, tc := range []struct {
		name string
		prev *SelfSample
		cur  SelfSample
		want SelfStep
	}{
		{"first step: no CPU share", nil, s(time.Second, time.Second, 8<<20, 9<<20), SelfStep{RSS: 8 << 20, PeakRSS: 9 << 20}},
		{"a tenth of a CPU", &p, s(11*time.Second, 2100*time.Millisecond, 11<<20, 12<<20), SelfStep{CPU: 0.1, HasCPU: true, RSS: 11 << 20, PeakRSS: 12 << 20}},
		{"more than one CPU", &p, s(12*time.Second, 5*time.Second, 10<<20, 12<<20), SelfStep{CPU: 1.5, HasCPU: true, RSS: 10 << 20, PeakRSS: 12 << 20}},
		{"idle", &p, s(11*time.Second, 2*time.Second, 10<<20, 12<<20), SelfStep{CPU: 0, HasCPU: true, RSS: 10 << 20, PeakRSS: 12 << 20}},
		{"no time between the reads", &p, s(10*time.Second, 3*time.Second, 10<<20, 12<<20), SelfStep{RSS: 10 << 20, PeakRSS: 12 << 20}},
		{"CPU time went backwards", &p, s(11*time.Second, time.Second, 10<<20, 12<<20), SelfStep{RSS: 10 << 20, PeakRSS: 12 << 20}},
		{"peak below now (read apart): now", &p, s(11*time.Second, 2*time.Second, 20<<20, 12<<20), SelfStep{CPU: 0, HasCPU: true, RSS: 20 << 20, PeakRSS: 20 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CompareSelf(tc.prev, tc.cur)
			if got.HasCPU != tc.want.HasCPU || got.RSS != tc.want.RSS || got.PeakRSS != tc.want.PeakRSS || got.CPU-tc.want.CPU > 1e-9 || tc.want.CPU-got.CPU > 1e-9 {
				t.Errorf("CompareSelf = %+v, want %+v", got, tc.want)
			}
		})
	}
}
