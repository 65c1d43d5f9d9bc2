package sampler

import (
	"context"
	"errors"
	"testing"
	"time"

	"netriage/sources/clock"
)

func TestSamplerWithFakeClock(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	calls := 0
	read := func() (int, error) {
		calls++
		if calls == 3 {
			return 0, errors.New("boom")
		}
		return calls * 10, nil
	}
	s := New(clk, time.Second, read)
	if _, ok := s.Latest(); ok {
		t.Fatal("Latest before Run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Snapshot[int])
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()

	var got []Snapshot[int]
	got = append(got, <-out)
	for i := 0; i < 3; i++ {
		go clk.Advance(time.Second)
		got = append(got, <-out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for i, g := range got {
		if g.Seq != uint64(i+1) {
			t.Errorf("snapshot %d: seq %d", i, g.Seq)
		}
		if want := start.Add(time.Duration(i) * time.Second); !g.Time.Equal(want) {
			t.Errorf("snapshot %d: time %v, want %v", i, g.Time, want)
		}
	}
	if got[1].Data != 20 || got[2].Err == nil || got[3].Data != 40 {
		t.Errorf("data/err: %+v", got)
	}
	if l, ok := s.Latest(); !ok || l.Seq != 4 {
		t.Errorf("Latest = %+v, %v", l, ok)
	}
}

func TestSamplerStopsWhileConsumerIsAway(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	s := New(clk, time.Second, func() (int, error) { return 1, nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, make(chan Snapshot[int])) }() // nobody reads
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
