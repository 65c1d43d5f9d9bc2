package inputs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"netriage/sources/links"
	"netriage/triage/engine"
)

func TestBurstRing(t *testing.T) {
	for _, tc := range []struct {
		step, every time.Duration
		want        int
	}{{time.Second, 100 * time.Millisecond, 48}, {time.Second, 10 * time.Millisecond, 408}, {time.Hour, 10 * time.Millisecond, 4096}, {time.Second, 0, 2}} {
		if got := BurstRing(tc.step, tc.every); got != tc.want {
			t.Errorf("BurstRing(%s, %s) = %d, want %d", tc.step, tc.every, got, tc.want)
		}
	}
}

// failingBursts is a BurstStarter whose sampler cannot start.
type failingBursts struct{ asked *links.BurstOptions }

func (f *failingBursts) StartBursts(_ context.Context, o links.BurstOptions) (*links.BurstSampler, error) {
	f.asked = &o
	return nil, errors.New("netlink socket: permission denied")
}

func TestStartBursts(t *testing.T) {
	tests := []struct {
		name      string
		judge     bool
		every     time.Duration
		watched   []string
		wantAsked bool
		wantWhy   string
	}{
		{"no verdict, no sampler", false, 100 * time.Millisecond, []string{"eth0"}, false, ""},
		{"disabled", true, 0, []string{"eth0"}, false, ""},
		{"no interface", true, 100 * time.Millisecond, nil, false, ""},
		{"not shorter than the step", true, time.Second, []string{"eth0"}, false, "check.burst_interval 1s is not shorter than the interval 1s"},
		{"a sampler that cannot start is absent, with why", true, 100 * time.Millisecond, []string{"eth0"}, true, "no burst sampler: netlink socket: permission denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fb := &failingBursts{}
			in := &Set{bursts: fb, burstEvery: tc.every, step: time.Second, Watched: tc.watched}
			in.Config.Judge = tc.judge
			bs, h := in.startBursts(context.Background())
			if bs != nil {
				t.Fatal("a sampler started")
			}
			if (fb.asked != nil) != tc.wantAsked {
				t.Errorf("asked %+v, want asked %v", fb.asked, tc.wantAsked)
			}
			if tc.wantAsked && (fb.asked.Interval != tc.every || fb.asked.Ring != 48 || len(fb.asked.Interfaces) != 1) {
				t.Errorf("options %+v", *fb.asked)
			}
			switch {
			case tc.wantWhy == "" && h != nil:
				t.Errorf("health %+v, want none", *h)
			case tc.wantWhy != "" && (h == nil || h.State != engine.StateAbsent || !strings.Contains(h.Why, tc.wantWhy)):
				t.Errorf("health %+v, want absent with %q", h, tc.wantWhy)
			}
		})
	}
}
