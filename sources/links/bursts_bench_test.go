package links

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netriage/sources/clock"
)

// burstSamplerFor opens a sampler (not started) over the caller's
// namespace's interfaces that are up, with sysfs or without.
func burstSamplerFor(tb testing.TB, sysfs bool) (*Reader, *BurstSampler) {
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
	if !sysfs {
		r.sysfsRoot = ""
	}
	s, err := r.openBursts(BurstOptions{Interfaces: names, Interval: 100 * time.Millisecond, Ring: 32})
	if err != nil {
		r.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.close(); r.Close() })
	return r, s
}

// BenchmarkBurstReadSysfs is one burst-sampler read of one interface in
// the caller's namespace: rx_bytes and tx_bytes by pread at offset 0 of
// files opened once, and the root qdisc by RTM_GETQDISC.
func BenchmarkBurstReadSysfs(b *testing.B) { benchBurstRead(b, true) }

// BenchmarkBurstReadNetlink is the same read as in another namespace:
// the byte counters by RTM_GETSTATS (IFLA_STATS_LINK_64 only).
func BenchmarkBurstReadNetlink(b *testing.B) { benchBurstRead(b, false) }

func benchBurstRead(b *testing.B, sysfs bool) {
	_, s := burstSamplerFor(b, sysfs)
	t := &s.targets[len(s.targets)-1]
	if sysfs && t.rx < 0 {
		b.Skip("sysfs does not describe this namespace")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.read(t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBurstLinkBytesNetlink and BenchmarkBurstLinkBytesSysfs compare
// the two ways of reading one interface's byte counters alone;
// BenchmarkBurstRootQdisc is the root qdisc's read alone.
func BenchmarkBurstLinkBytesNetlink(b *testing.B) {
	r, s := burstSamplerFor(b, false)
	idx := r.index["lo"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.conn.linkBytes(idx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBurstLinkBytesSysfs(b *testing.B) {
	_, s := burstSamplerFor(b, true)
	t := &s.targets[0]
	if t.rx < 0 {
		b.Skip("sysfs does not describe this namespace")
	}
	b.ReportAllocs()
	for b.Loop() {
		s.readUint(t.rx)
		s.readUint(t.tx)
	}
}

func BenchmarkBurstRootQdisc(b *testing.B) {
	_, s := burstSamplerFor(b, false)
	t := &s.targets[len(s.targets)-1]
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.conn.rootQdisc(t.index)
	}
}

// BenchmarkBurstSamplerCPU runs the sampler at its default 100 ms
// interval over the namespace's interfaces that are up; one op is one
// interval of wall time. It reports the process's CPU time per wall
// second and as a share of one core (goal: at most 0.5%), less that of
// the same wait without a sampler (the process's own idle cost: the
// runtime's timers and background threads), measured just before.
func BenchmarkBurstSamplerCPU(b *testing.B) {
	r, err := Open(Options{NoEthtool: true})
	if err != nil {
		b.Skip(err)
	}
	defer r.Close()
	smp, err := r.Read()
	if err != nil {
		b.Skip(err)
	}
	var names []string
	for _, i := range smp.Ifaces {
		if i.IsUp() {
			names = append(names, i.Name)
		}
	}
	const every = 100 * time.Millisecond
	b.ReportAllocs()
	idle0, idleStart := cpuTime(), time.Now()
	for range b.N {
		time.Sleep(every)
	}
	idle := float64((cpuTime() - idle0).Nanoseconds()) / time.Since(idleStart).Seconds()
	cpu0 := cpuTime()
	start := time.Now()
	s, err := r.StartBursts(context.Background(), BurstOptions{Interfaces: names, Interval: every, Ring: 32})
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		time.Sleep(every)
		s.Take(time.Now())
	}
	s.Stop()
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	net := max(float64(cpu.Nanoseconds())/wall.Seconds()-idle, 0)
	b.ReportMetric(net, "cpu-ns/wall-s")
	b.ReportMetric(100*net/1e9, "%core")
	b.ReportMetric(100*idle/1e9, "%core-idle")
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

// TestBurstReadDoesNotAllocate holds the sampler's read to no allocation
// in steady state, on both paths.
func TestBurstReadDoesNotAllocate(t *testing.T) {
	for _, sysfs := range []bool{true, false} {
		_, s := burstSamplerFor(t, sysfs)
		tg := &s.targets[len(s.targets)-1]
		s.read(tg) // the first read may learn there is no qdisc
		if n := testing.AllocsPerRun(200, func() {
			if _, _, err := s.read(tg); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("sysfs %v: %v allocations per read, want 0", sysfs, n)
		}
	}
}

// TestBurstSamplerRuns starts the sampler on a fake clock over lo, ticks
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
	for range 4 {
		clk.Advance(100 * time.Millisecond)
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
