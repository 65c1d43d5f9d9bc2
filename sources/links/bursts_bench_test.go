package links

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netriage/sources/clock"
	"netriage/triage"
)

// upInterfaces opens a Reader of the caller's namespace and returns it
// with the names of its interfaces that are up.
func upInterfaces(tb testing.TB) (*Reader, []string) {
	tb.Helper()
	r, err := Open(Options{NoEthtool: true})
	if err != nil {
		tb.Skip(err)
	}
	smp, err := r.Read()
	if err != nil {
		r.Close()
		tb.Skip(err)
	}
	var names []string
	for _, i := range smp.Ifaces {
		if i.IsUp() {
			names = append(names, i.Name)
		}
	}
	return r, names
}

// burstSamplerFor opens a sampler (not started) over names, or over the
// caller's namespace's interfaces that are up when names is empty.
func burstSamplerFor(tb testing.TB, names ...string) *BurstSampler {
	tb.Helper()
	r, up := upInterfaces(tb)
	if len(names) == 0 {
		names = up
	}
	s, err := r.openBursts(BurstOptions{Interfaces: names, Interval: 100 * time.Millisecond, Ring: 32})
	if err != nil {
		r.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.close(); r.Close() })
	return s
}

// BenchmarkBurstRead is one read of the burst sampler over the
// namespace's interfaces that are up (on the lab VM lo, noqueue, and eth0
// with pfifo_fast): counters is a read between two qdisc reads (the sysfs
// byte counters by raw pread), qdiscs the read once per interval on a
// sending link (the same, and one write and one recvmmsg of the root
// qdiscs); both with their decoding and the accumulator.
func BenchmarkBurstRead(b *testing.B) { benchBurstRead(b) }

// BenchmarkBurstReadOne is the same read of one interface with a qdisc of
// its own.
func BenchmarkBurstReadOne(b *testing.B) {
	s := burstSamplerFor(b)
	benchBurstRead(b, s.targets[len(s.targets)-1].name) // the last one up: eth0 on the VM
}

func benchBurstRead(b *testing.B, names ...string) {
	for _, qdiscs := range []bool{false, true} {
		name := "counters"
		if qdiscs {
			name = "qdiscs"
		}
		b.Run(name, func(b *testing.B) {
			s := burstSamplerFor(b, names...)
			s.readAll() // the first read learns which interfaces have no qdisc
			b.ReportAllocs()
			for b.Loop() {
				if qdiscs {
					for i := range s.targets {
						s.targets[i].qdiscAt = time.Time{}
					}
				}
				s.readAll()
			}
			b.ReportMetric(float64(len(s.batch.reqs)), "requests")
		})
	}
}

// BenchmarkBurstSamplerCPU runs the sampler at its default 100 ms burst
// interval (a read every 50 ms) over the namespace's interfaces that are
// up, with a Take every second as the engine does; one op is one second
// of wall time (-benchtime 20x: 20 s). It reports the process's CPU time
// per wall second and as a share of one core (goal: at most 0.5%), less
// that of the same process over the same time without a sampler (its own
// idle cost: the runtime's timers and background threads, and the Take
// loop's own wake-ups), measured just before; and the CPU per read.
//
// idle is the sampler as it runs (StartBursts) on this VM's interfaces,
// which send next to nothing: their qdisc is read once a second. sending
// is the same loop as if every interface sent all the time, so every qdisc
// is read once per interval, as on a busy link.
func BenchmarkBurstSamplerCPU(b *testing.B) {
	b.Run("idle", func(b *testing.B) {
		benchSamplerCPU(b, func(r *Reader, names []string) (take func() int, stop func()) {
			s, err := r.StartBursts(context.Background(), BurstOptions{Interfaces: names, Interval: 100 * time.Millisecond, Ring: 64})
			if err != nil {
				b.Fatal(err)
			}
			return func() int { return takeReads(s) }, s.Stop
		})
	})
	b.Run("sending", func(b *testing.B) {
		benchSamplerCPU(b, func(r *Reader, names []string) (take func() int, stop func()) {
			s, err := r.openBursts(BurstOptions{Interfaces: names, Interval: 100 * time.Millisecond, Ring: 64})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			p := clock.Real{}.NewPacer(ctx, triage.BurstStep(s.interval))
			done := make(chan struct{})
			go func() { // run's loop, every interface seen sending
				defer close(done)
				for ok := true; ok; ok = p.Wait() {
					for i := range s.targets {
						s.targets[i].lastTx++
					}
					s.readAll()
				}
			}()
			return func() int { return takeReads(s) }, func() { cancel(); <-done; p.Stop(); s.close() }
		})
	})
}

// takeReads takes the sampler's span and returns its number of reads.
func takeReads(s *BurstSampler) int {
	ib := s.Take(time.Now()).Ifaces[0]
	return len(ib.Intervals) + ib.Merged
}

func benchSamplerCPU(b *testing.B, start func(*Reader, []string) (take func() int, stop func())) {
	r, names := upInterfaces(b)
	defer r.Close()
	const step = time.Second
	b.ReportAllocs()
	idle0, idleStart := cpuTime(), time.Now()
	for range b.N {
		time.Sleep(step)
	}
	idle := float64((cpuTime() - idle0).Nanoseconds()) / time.Since(idleStart).Seconds()
	cpu0 := cpuTime()
	t0 := time.Now()
	take, stop := start(r, names)
	reads := 0
	for range b.N {
		time.Sleep(step)
		reads += take()
	}
	stop()
	wall := time.Since(t0)
	cpu := cpuTime() - cpu0
	net := max(float64(cpu.Nanoseconds())/wall.Seconds()-idle, 0)
	b.ReportMetric(net, "cpu-ns/wall-s")
	b.ReportMetric(100*net/1e9, "%core")
	b.ReportMetric(100*idle/1e9, "%core-idle")
	b.ReportMetric(float64(reads)/wall.Seconds(), "reads/s")
	if reads > 0 {
		b.ReportMetric(net*wall.Seconds()/float64(reads)/1e3, "µs/read")
	}
	b.ReportMetric(float64(len(names)), "interfaces")
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBurstReadDoesNotAllocate holds the sampler's read, its batch of
// requests and answers included, to no allocation in steady state.
func TestBurstReadDoesNotAllocate(t *testing.T) {
	s := burstSamplerFor(t)
	s.readAll() // the first read may learn there is no qdisc
	if n := testing.AllocsPerRun(200, s.readAll); n != 0 {
		t.Errorf("%v allocations per read, want 0", n)
	}
	for i, err := range s.errs {
		if err != nil {
			t.Errorf("%s: %v", s.targets[i].name, err)
		}
	}
}

// TestBurstReadAnswers checks one read of every interface that is up
// against the Reader's own sample: byte counters that only grow, and a
// qdisc only where the links sample shows one with a queue.
func TestBurstReadAnswers(t *testing.T) {
	r, names := upInterfaces(t)
	defer r.Close()
	before, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.openBursts(BurstOptions{Interfaces: names, Interval: 100 * time.Millisecond, Ring: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	s.read()
	s.read() // the second read asks only what the first found
	for i, tg := range s.targets {
		if s.errs[i] != nil {
			t.Errorf("%s: %v", tg.name, s.errs[i])
			continue
		}
		li, _ := before.Iface(tg.name)
		if c := s.got[i]; c.RxBytes < li.Counters.RxBytes || c.TxBytes < li.Counters.TxBytes {
			t.Errorf("%s: counters %+v went below the links sample's rx %d tx %d", tg.name, c, li.Counters.RxBytes, li.Counters.TxBytes)
		}
		t.Logf("%s: %+v (no qdisc of its own: %v)", tg.name, s.got[i], tg.noQdisc)
	}
	if lo := s.targets[0]; lo.name == "lo" && (!lo.noQdisc || s.got[0].QdiscOK) {
		t.Errorf("lo has no qdisc of its own (noqueue): %+v", lo)
	}
}

// TestBurstReadRemovedInterface: a read of an interface index that no
// longer exists says so, and the other interfaces' reads of the same batch
// still work.
func TestBurstReadRemovedInterface(t *testing.T) {
	s := burstSamplerFor(t)
	s.targets = append(s.targets, burstTarget{name: "gone0", index: 1 << 30, rx: -1, tx: -1})
	s.batch = newRtnlBatch(len(s.targets), len(s.targets))
	s.got = make([]triage.BurstCounters, len(s.targets))
	s.errs = make([]error, len(s.targets))
	s.read()
	last := len(s.targets) - 1
	if err := s.errs[last]; err == nil || err.Error() != "gone0: interface removed" {
		t.Errorf("read of a removed interface: %v, want 'gone0: interface removed'", err)
	}
	for i := range last {
		if s.errs[i] != nil {
			t.Errorf("%s: %v", s.targets[i].name, s.errs[i])
		}
	}
}

// TestBurstSamplerRuns starts the sampler on a fake clock over lo, paces
// it and checks that Take hands out what it read and Stop ends it.
func TestBurstSamplerRuns(t *testing.T) {
	r, err := Open(Options{NoEthtool: true})
	if err != nil {
		t.Skip(err)
	}
	defer r.Close()
	if _, err := r.Read(); err != nil {
		t.Skip(err)
	}
	clk := clock.NewFake(time.Unix(1000, 0))
	s, err := r.StartBursts(context.Background(), BurstOptions{Interfaces: []string{"lo"}, Interval: 100 * time.Millisecond, Ring: 8, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	for range 8 {
		clk.Advance(50 * time.Millisecond)
	}
	s.Stop()
	s.Stop() // twice is fine
	got := s.Take(clk.Now())
	if got.Interval != 100*time.Millisecond || len(got.Ifaces) != 1 || got.Ifaces[0].Name != "lo" {
		t.Fatalf("sample %+v", got)
	}
	b := got.Ifaces[0]
	if len(b.Intervals) == 0 || b.Span <= 0 || b.Span > 400*time.Millisecond || b.Errors != 0 || b.Qdisc {
		t.Errorf("lo's bursts %+v: want intervals over at most 400 ms, no errors, no qdisc of its own (noqueue)", b)
	}
	if _, err := r.StartBursts(context.Background(), BurstOptions{Interfaces: []string{"no-such-if0"}, Interval: time.Second}); err == nil {
		t.Error("a sampler over an unknown interface started")
	}
}

// TestBurstSamplerRealPacer runs the sampler on the real clock (its
// kernel-timer pacer) for a few reads and stops it.
func TestBurstSamplerRealPacer(t *testing.T) {
	r, err := Open(Options{NoEthtool: true})
	if err != nil {
		t.Skip(err)
	}
	defer r.Close()
	if _, err := r.Read(); err != nil {
		t.Skip(err)
	}
	s, err := r.StartBursts(context.Background(), BurstOptions{Interfaces: []string{"lo"}, Interval: 20 * time.Millisecond, Ring: 64})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	s.Stop()
	b := s.Take(time.Now()).Ifaces[0]
	// 20 reads in 200 ms; leave room for a loaded machine.
	if n := len(b.Intervals) + b.Merged; n < 5 || n > 21 || b.Errors != 0 {
		t.Errorf("%d intervals in 200 ms at a read every 10 ms, errors %d %q", n, b.Errors, b.Err)
	}
}

// TestBurstQdiscDue: the root qdisc is read once per burst interval while
// the interface sends or its queue held packets, once a second otherwise,
// never when it has none of its own.
func TestBurstQdiscDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	s := &BurstSampler{interval: 100 * time.Millisecond}
	for _, tc := range []struct {
		name string
		tg   burstTarget
		last time.Time // the last read; this one comes a step later
		want bool
	}{
		{"never read", burstTarget{}, ms(0), true},
		{"read at the last read", burstTarget{qdiscAt: ms(0), qdiscTx: 5, lastTx: 9}, ms(0), false},
		{"an interval ago, sending", burstTarget{qdiscAt: ms(0), qdiscTx: 5, lastTx: 9}, ms(50), true},
		{"an interval ago, late reads", burstTarget{qdiscAt: ms(0), qdiscTx: 5, lastTx: 9}, ms(30), true},
		{"an interval ago, idle, empty queue", burstTarget{qdiscAt: ms(0), qdiscTx: 5, lastTx: 5}, ms(50), false},
		{"an interval ago, idle, a backlog", burstTarget{qdiscAt: ms(0), qdiscTx: 5, lastTx: 5, qdisc: triage.BurstCounters{QdiscOK: true, BacklogPackets: 3, BacklogBytes: 4500}}, ms(50), true},
		{"a second ago, idle", burstTarget{qdiscAt: ms(0), qdiscTx: 5, lastTx: 5}, ms(950), true},
		{"no qdisc of its own", burstTarget{noQdisc: true}, ms(5000), false},
	} {
		s.lastAt = tc.last
		tg := tc.tg
		if got := s.qdiscDue(&tg); got != tc.want {
			t.Errorf("%s: due %v, want %v", tc.name, got, tc.want)
		}
	}
}
