package clock

import (
	"context"
	"testing"
	"time"
)

func TestTimeline(t *testing.T) {
	start := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	tl := NewTimeline(f, time.Second)
	defer tl.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	if tk, ok := tl.Next(ctx); !ok || !tk.Time.Equal(start) {
		t.Fatalf("first tick %v %v, want at once at the start", tk, ok)
	}
	got := make(chan time.Time)
	go func() {
		tk, _ := tl.Next(ctx)
		got <- tk.Time
	}()
	f.Advance(time.Second)
	if at := <-got; !at.Equal(start.Add(time.Second)) {
		t.Errorf("second tick at %s", at)
	}
	cancel()
	if _, ok := tl.Next(ctx); ok {
		t.Error("tick after cancel")
	}
}

func TestTimelineDelayAndFinal(t *testing.T) {
	start := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	tl := NewTimeline(f, time.Second)
	tl.Delay, tl.FinalOnStop = 100*time.Millisecond, true
	defer tl.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan time.Time, 1)
	go func() {
		tk, _ := tl.Next(ctx)
		got <- tk.Time
	}()
	select {
	case <-got:
		t.Fatal("first tick before the delay")
	case <-time.After(20 * time.Millisecond):
	}
	if at := <-got; !at.Equal(start) {
		t.Errorf("first tick at %s, want the clock's time", at.Sub(start))
	}
	cancel()
	if tk, ok := tl.Next(ctx); !ok || !tk.Last {
		t.Errorf("after cancel: %+v %v, want one Last tick", tk, ok)
	}
	if _, ok := tl.Next(ctx); ok {
		t.Error("a tick after the Last one")
	}
}
