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
	c      Clock
	period time.Duration
	t      Ticker
}

// NewTimeline returns a Timeline on c with the given period.
func NewTimeline(c Clock, period time.Duration) *Timeline {
	return &Timeline{c: c, period: period}
}

// Next returns the next tick, or false when ctx is done.
func (l *Timeline) Next(ctx context.Context) (engine.Tick, bool) {
	if ctx.Err() != nil {
		return engine.Tick{}, false
	}
	if l.t == nil {
		l.t = l.c.NewTicker(l.period)
		return engine.Tick{Time: l.c.Now()}, true
	}
	select {
	case <-ctx.Done():
		return engine.Tick{}, false
	case <-l.t.C():
		return engine.Tick{Time: l.c.Now()}, true
	}
}

// Stop releases the ticker.
func (l *Timeline) Stop() {
	if l.t != nil {
		l.t.Stop()
	}
}
