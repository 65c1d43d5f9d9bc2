package engine

import (
	"errors"
	"testing"
	"time"

	"netriage/triage"
)

// selfCost is a scripted SelfReader: each read comes 500 ms after the
// last and adds cpu of CPU time and 1 MiB of resident memory; the read
// numbered failAt (from 1) fails.
type selfCost struct {
	n, failAt int
	cpu       time.Duration
	s         triage.SelfSample
}

func (c *selfCost) ReadSelf() (triage.SelfSample, error) {
	c.n++
	if c.n == c.failAt {
		return triage.SelfSample{}, errors.New("no statm")
	}
	c.s.At += 500 * time.Millisecond
	c.s.CPU += c.cpu
	c.s.RSS += 1 << 20
	c.s.PeakRSS = c.s.RSS + 1<<20
	return c.s, nil
}

// TestSelfCost: every step carries the process's own cost, its share of
// a CPU over the reads' times from the second step on, and none after a
// failed read until two reads follow each other again.
func TestSelfCost(t *testing.T) {
	c := &selfCost{cpu: 50 * time.Millisecond, failAt: 3}
	e := New(Inputs{Timeline: every(500*time.Millisecond, 5), Links: &links{}, Self: c}, Config{})
	snaps := collect(e)
	if len(snaps) != 5 {
		t.Fatalf("%d snapshots, want 5", len(snaps))
	}
	type want struct {
		has bool
		cpu float64
		rss uint64
	}
	for i, w := range []*want{{false, 0, 1 << 20}, {true, 0.1, 2 << 20}, nil, {false, 0, 3 << 20}, {true, 0.1, 4 << 20}} {
		got := snaps[i].Self
		switch {
		case w == nil && got != nil:
			t.Errorf("step %d: self %+v after a failed read, want none", i+1, got)
		case w == nil:
		case got == nil:
			t.Errorf("step %d: no self, want %+v", i+1, *w)
		case got.HasCPU != w.has || got.RSS != w.rss || got.PeakRSS != w.rss+1<<20 || got.CPU < w.cpu-1e-9 || got.CPU > w.cpu+1e-9:
			t.Errorf("step %d: self %+v, want %+v", i+1, *got, *w)
		}
	}
	if n := New(Inputs{Timeline: every(time.Second, 2), Links: &links{}}, Config{}); collect(n)[1].Self != nil {
		t.Error("self without a SelfReader")
	}
}
