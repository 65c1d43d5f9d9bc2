package clock

import (
	"context"
	"time"

	"netriage/triage/engine"
)

// Timeline paces the engine on a clock: its first Next returns at once
// (the engine's first step is the start), later ones at every period of a
// ticker started at the first call, so no tick is missed while a step runs.
// It is the engine's Timeline for live inputs.
type Timeline struct {
	// FinalOnStop makes the Next that sees ctx done return one last tick
	// (Last, at the clock's time) before it reports the end: a run cut
	// short still gets a step at its end.
	FinalOnStop bool
	// Delay holds the first tick back this long in real time (e.g. until
	// a capture that trails the wire has run as long as it trails, so the
	// first step's counts lag like every later one's). It waits on a real
	// timer, not on the clock: what it waits for is the kernel's.
	Delay time.Duration

	c      Clock
	period time.Duration
	t      Ticker
	ended  bool
}

// NewTimeline returns a Timeline on c with the given period.
func NewTimeline(c Clock, period time.Duration) *Timeline {
	return &Timeline{c: c, period: period}
}

// Next returns the next tick, or false when ctx is done.
func (l *Timeline) Next(ctx context.Context) (engine.Tick, bool) {
	if l.ended {
		return engine.Tick{}, false
	}
	if ctx.Err() != nil {
		return l.stop()
	}
	if l.t == nil {
		if l.Delay > 0 {
			d := time.NewTimer(l.Delay)
			select {
			case <-ctx.Done():
				d.Stop()
				return l.stop()
			case <-d.C:
			}
		}
		l.t = l.c.NewTicker(l.period)
		return engine.Tick{Time: l.c.Now()}, true
	}
	select {
	case <-ctx.Done():
		return l.stop()
	case <-l.t.C():
		return engine.Tick{Time: l.c.Now()}, true
	}
}

func (l *Timeline) stop() (engine.Tick, bool) {
	l.ended = true
	if l.FinalOnStop && l.t != nil {
		return engine.Tick{Time: l.c.Now(), Last: true}, true
	}
	return engine.Tick{}, false
}

// Stop releases the ticker.
func (l *Timeline) Stop() {
	if l.t != nil {
		l.t.Stop()
	}
}
