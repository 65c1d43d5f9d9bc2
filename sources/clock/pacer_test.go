package clock

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// TestRealPacer: the kernel-timer pacer wakes at its period, a late caller
// wakes once for the periods it missed, and a cancelled context ends a
// blocked Wait.
func TestRealPacer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := Real{}.NewPacer(ctx, 10*time.Millisecond)
	defer p.Stop()
	if _, ok := p.(*timerfdPacer); !ok {
		t.Fatalf("pacer %T, want the timerfd one", p)
	}
	start := time.Now()
	for range 5 {
		if !p.Wait() {
			t.Fatal("Wait ended before the context")
		}
	}
	if el := time.Since(start); el < 45*time.Millisecond || el > 2*time.Second {
		t.Errorf("5 periods of 10 ms took %v", el)
	}
	time.Sleep(35 * time.Millisecond) // three periods pass unread
	late := time.Now()
	if !p.Wait() {
		t.Fatal("Wait after a late caller")
	}
	if el := time.Since(late); el > 5*time.Millisecond {
		t.Errorf("a late caller waited %v, want at once", el)
	}
	cancel()
	if p.Wait() {
		t.Error("Wait after the context ended")
	}

	// A Wait parked in the poller ends with its context.
	ctx2, cancel2 := context.WithCancel(context.Background())
	slow := Real{}.NewPacer(ctx2, time.Hour)
	defer slow.Stop()
	done := make(chan bool)
	go func() { done <- slow.Wait() }()
	time.Sleep(20 * time.Millisecond)
	cancel2()
	select {
	case ok := <-done:
		if ok {
			t.Error("Wait returned true when its context ended")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a cancelled context did not end a parked Wait")
	}
}

func TestFakePacer(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	ctx, cancel := context.WithCancel(context.Background())
	p := f.NewPacer(ctx, time.Second)
	defer p.Stop()
	got := make(chan bool)
	go func() { got <- p.Wait() }()
	f.Advance(time.Second)
	if !<-got {
		t.Fatal("the fake pacer did not fire")
	}
	cancel()
	if p.Wait() {
		t.Error("Wait after cancel")
	}
}

// BenchmarkPacerCPU is one wake-up of a loop paced every 20 ms by the
// kernel-timer pacer or by a time.Ticker (the runtime's timers), as CPU
// time of the process per wake-up (one op is one period: -benchtime 250x
// is 5 s).
func BenchmarkPacerCPU(b *testing.B) {
	for _, kind := range []string{"timerfd", "ticker"} {
		b.Run(kind, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := Real{}.NewPacer(ctx, 20*time.Millisecond)
			if kind == "ticker" {
				p.Stop()
				p = NewTickerPacer(ctx, Real{}, 20*time.Millisecond)
			}
			defer p.Stop()
			cpu0 := processCPU()
			for range b.N {
				p.Wait()
			}
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "µs-cpu/wake")
		})
	}
}

// processCPU is the process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
