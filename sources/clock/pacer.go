package clock

import (
	"context"
	"time"
)

// Pacer wakes a loop at every period counted from its start. A loop that
// falls behind wakes once, not once per missed period, and the periods stay
// on their grid (no drift).
type Pacer interface {
	// Wait blocks until the next period ends (true) or the pacer's
	// context is done (false).
	Wait() bool
	// Stop releases the pacer. Call it after the last Wait returned.
	Stop()
}

// tickerPacer is a Pacer over a Ticker (the fake clock's, or the
// runtime's when the kernel timer is not available).
type tickerPacer struct {
	ctx context.Context
	t   Ticker
}

// NewTickerPacer returns a Pacer over c's ticker of period d that ends
// with ctx.
func NewTickerPacer(ctx context.Context, c Clock, d time.Duration) Pacer {
	return &tickerPacer{ctx: ctx, t: c.NewTicker(d)}
}

func (p *tickerPacer) Wait() bool {
	if p.ctx.Err() != nil {
		return false
	}
	select {
	case <-p.ctx.Done():
		return false
	case <-p.t.C():
		return true
	}
}

func (p *tickerPacer) Stop() { p.t.Stop() }

// NewPacer returns a Pacer of period d on the fake clock (Advance fires
// it), ending with ctx.
func (f *Fake) NewPacer(ctx context.Context, d time.Duration) Pacer {
	return NewTickerPacer(ctx, f, d)
}
