// Package clock is the one place netriage reads wall-clock time. Everything
// else receives a time.Time (or a capture timestamp) from its caller. Tests
// substitute Fake to drive samplers deterministically.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock gives the current time and tickers.
type Clock interface {
	Now() time.Time
	// NewTicker returns a ticker that fires every d. Stop it when done.
	NewTicker(d time.Duration) Ticker
	// NewPacer returns a Pacer of period d that ends with ctx. Stop it
	// when done.
	NewPacer(ctx context.Context, d time.Duration) Pacer
}

// Ticker is the part of time.Ticker the sampler uses.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTicker wraps time.NewTicker.
func (Real) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

// Fake is a manually advanced clock. Advance moves time forward and fires
// every ticker whose period elapsed (once per elapsed period, blocking until
// the tick is received).
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*fakeTicker
}

// NewFake returns a fake clock set to start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTicker returns a fake ticker fired by Advance.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTicker{f: f, c: make(chan time.Time, 1), period: d, next: f.now.Add(d)}
	f.tickers = append(f.tickers, t)
	return t
}

// Advance moves the clock by d and delivers due ticks. It blocks until each
// due tick beyond the channel's one-slot buffer is received, so call it
// from a goroutine other than the one reading the ticker.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(d)
	var due []struct {
		t  *fakeTicker
		at time.Time
	}
	for _, t := range f.tickers {
		for !t.stopped && !t.next.After(target) {
			due = append(due, struct {
				t  *fakeTicker
				at time.Time
			}{t, t.next})
			t.next = t.next.Add(t.period)
		}
	}
	f.now = target
	f.mu.Unlock()
	for _, d := range due {
		d.t.c <- d.at
	}
}

type fakeTicker struct {
	f       *Fake
	c       chan time.Time
	period  time.Duration
	next    time.Time
	stopped bool
}

func (t *fakeTicker) C() <-chan time.Time { return t.c }
func (t *fakeTicker) Stop() {
	t.f.mu.Lock()
	t.stopped = true
	t.f.mu.Unlock()
}
