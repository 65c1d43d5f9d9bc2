package clock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// NewPacer returns a Pacer of period d on a kernel timer (timerfd), ending
// with ctx; on a kernel without timerfd, one on the runtime's ticker.
//
// A timerfd wakes its reader straight from the runtime's network poller
// at the period, to the nanosecond, and is read without entering the
// runtime's syscall path. A time.Ticker's timer is rounded to the
// poller's millisecond timeout (two waits per period), hands the woken
// goroutine to another thread and wakes the runtime's monitor thread at
// every period: about three times the CPU per wake-up on a 2-CPU VM
// (docs/benchmarks.md, the burst sampler), which is most of the cost of a
// loop that wakes ten or twenty times a second to do a few microseconds of
// work.
func (Real) NewPacer(ctx context.Context, d time.Duration) Pacer {
	p, err := newTimerfdPacer(ctx, d)
	if err != nil {
		return NewTickerPacer(ctx, Real{}, d)
	}
	return p
}

// timerfdPacer is a Pacer on a periodic CLOCK_MONOTONIC timerfd.
type timerfdPacer struct {
	ctx   context.Context
	f     *os.File
	rc    syscall.RawConn
	after func() bool
	read  func(fd uintptr) bool
	buf   [8]byte
}

// pastDeadline is a read deadline already passed: it wakes a blocked Wait.
var pastDeadline = time.Unix(1, 0)

func newTimerfdPacer(ctx context.Context, d time.Duration) (*timerfdPacer, error) {
	if d <= 0 {
		return nil, errors.New("pacer: period must be positive")
	}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	ts := unix.NsecToTimespec(int64(d))
	if err := unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	// A non-blocking descriptor makes a pollable file: its reads wait in
	// the runtime's network poller.
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	p := &timerfdPacer{ctx: ctx, f: f, rc: rc}
	// The read of a non-blocking timerfd never blocks (EAGAIN until the
	// timer expires), so it needs no entersyscall: that would wake the
	// runtime's monitor thread at every period.
	p.read = func(fd uintptr) bool {
		_, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&p.buf[0])), uintptr(len(p.buf)))
		return e != unix.EAGAIN
	}
	// The end of ctx wakes a Wait parked in the poller.
	p.after = context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(pastDeadline) })
	return p, nil
}

// Wait reads the timer's expiration count (how many periods ended since
// the last read: more than one when the caller was late), waiting in the
// poller until it is non-zero.
func (p *timerfdPacer) Wait() bool {
	return p.ctx.Err() == nil && p.rc.Read(p.read) == nil && p.ctx.Err() == nil
}

func (p *timerfdPacer) Stop() {
	p.after()
	p.f.Close()
}
