// Package sampler is the one place that owns the sampling clock: it ticks at
// an interval, calls a read function, stamps each result with a sequence
// number and the time it was taken, and publishes it as an immutable
// Snapshot, both on a channel and as the latest value.
//
// # Time
//
// Times come from a clock.Clock: clock.Real in the binary, clock.Fake in
// tests, which makes the sampler deterministic.
//
// # Ownership
//
// The value a read function returns is handed over: the sampler and its
// consumers must not modify it afterwards. Read errors do not stop Run; they
// travel in Snapshot.Err and the consumer decides. Run may be inside read
// when its context ends: release what read uses only after Run returned.
package sampler

import (
	"context"
	"sync/atomic"
	"time"

	"netriage/sources/clock"
)

// Snapshot is one timestamped sample.
type Snapshot[T any] struct {
	// Seq numbers snapshots from 1, in the order they were taken.
	Seq uint64
	// Time is the clock's time just before the read.
	Time time.Time
	// Data is what the read returned; treat it as immutable.
	Data T
	// Err is the read's error, if any.
	Err error
}

// Sampler calls a read function once at start and then once per tick.
type Sampler[T any] struct {
	clock    clock.Clock
	interval time.Duration
	read     func() (T, error)
	seq      uint64
	latest   atomic.Pointer[Snapshot[T]]
}

// New returns a sampler that calls read every interval on clk.
func New[T any](clk clock.Clock, interval time.Duration, read func() (T, error)) *Sampler[T] {
	return &Sampler[T]{clock: clk, interval: interval, read: read}
}

// Latest returns the newest snapshot, or false before the first one.
// It is safe to call from any goroutine.
func (s *Sampler[T]) Latest() (Snapshot[T], bool) {
	p := s.latest.Load()
	if p == nil {
		return Snapshot[T]{}, false
	}
	return *p, true
}

// Take reads one snapshot now and publishes it as the latest. Run calls it;
// a one-shot caller may call it directly (not concurrently with Run).
func (s *Sampler[T]) Take() Snapshot[T] {
	now := s.clock.Now()
	data, err := s.read()
	s.seq++
	snap := Snapshot[T]{Seq: s.seq, Time: now, Data: data, Err: err}
	s.latest.Store(&snap)
	return snap
}

// Run takes a snapshot at once and then one per tick, sends each on out
// (when out is not nil) and returns nil when ctx is cancelled. If the
// consumer is slower than the interval, ticks are skipped rather than
// queued (the clock's ticker drops them), so snapshots never pile up.
func (s *Sampler[T]) Run(ctx context.Context, out chan<- Snapshot[T]) error {
	t := s.clock.NewTicker(s.interval)
	defer t.Stop()
	for {
		snap := s.Take()
		if out != nil {
			select {
			case out <- snap:
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}
