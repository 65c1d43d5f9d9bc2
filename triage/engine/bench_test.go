package engine

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/egress"
	"netriage/triage/flows"
	"netriage/triage/verdict"
)

// manyFlows is a FlowSource of n flows that all grow at every snapshot,
// numbered and with Since, as a flow table's are.
type manyFlows struct {
	n    int
	snap flows.Snapshot
}

func newManyFlows(n int) *manyFlows {
	m := &manyFlows{n: n}
	for i := 0; i < n; i++ {
		k := flows.Key{Proto: flows.ProtoTCP, Local: local, Remote: netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}), LocalPort: uint16(10000 + i%50000), RemotePort: 443}
		m.snap.Flows = append(m.snap.Flows, flows.FlowStat{Key: k, Flows: 1, First: t0})
	}
	return m
}

func (m *manyFlows) Snapshot(now time.Time) flows.Snapshot {
	m.snap.Seq++
	s := m.snap
	s.Time, s.Start, s.Since = now, t0, true
	s.Flows = make([]flows.FlowStat, len(m.snap.Flows))
	for i := range m.snap.Flows {
		m.snap.Flows[i].SentBytes += 1500
		m.snap.Flows[i].SentPackets++
		m.snap.Flows[i].Since = flows.Since{SentBytes: 1500}
		if m.snap.Seq == 1 {
			m.snap.Flows[i].Since.SentBytes = m.snap.Flows[i].SentBytes
		}
		s.Flows[i] = m.snap.Flows[i]
	}
	return s
}

// BenchmarkStep is one engine step of the TUI or check: a link sample, a
// snapshot of 10,000 flows, the attribution join against a table of 1,000
// connections, the window's flows and the verdict.
func BenchmarkStep(b *testing.B) {
	var sk []attrib.Socket
	fl := newManyFlows(10000)
	for i := 0; i < 1000; i++ {
		sk = append(sk, conn(fl.snap.Flows[i].Key))
	}
	tab := tableWith(sk...)
	e := New(Inputs{Links: &links{tx: 1000, speedBps: 1e9}, Flows: fl, Sockets: &socks{tables: []*attrib.SocketTable{tab}}},
		Config{Judge: true, Watched: []string{"eth0"}, Window: 10 * time.Second, Thresholds: verdict.DefaultThresholds(), CaptureInterfaces: []string{"eth0"}})
	at := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at = at.Add(time.Second)
		if s := e.Step(Tick{Time: at}); s == nil {
			b.Fatal("no snapshot")
		}
	}
}

// bigStack is a StackReader of a large host: 8 CPUs of softnet rows and
// two NICs of 500 driver counters each (an mlx5-sized set), every counter
// growing at each read.
type bigStack struct {
	n       uint64
	names   []string
	classes []triage.NICClass
}

func newBigStack() *bigStack {
	s := &bigStack{}
	for i := 0; i < 500; i++ {
		n := fmt.Sprintf("rx%d_packets", i)
		switch i % 10 {
		case 0:
			n = fmt.Sprintf("rx%d_drops", i)
		case 1:
			n = fmt.Sprintf("rx_missed_%d", i)
		}
		s.names = append(s.names, n)
		s.classes = append(s.classes, triage.ClassifyNICCounter(n))
	}
	return s
}

func (s *bigStack) ReadStack(ifaces []string) (triage.StackSample, error) {
	s.n++
	out := triage.StackSample{Proto: &triage.ProtoCounters{ListenDrops: s.n, UDPRcvbufErrors: s.n},
		Conntrack: &triage.ConntrackSample{Count: 1000, Max: 262144, Drop: s.n}}
	for c := 0; c < 8; c++ {
		out.Softnet = append(out.Softnet, triage.SoftnetCPU{CPU: c, Processed: s.n * 1000, Dropped: s.n, TimeSqueeze: s.n})
	}
	for _, name := range ifaces {
		vals := make([]uint64, len(s.names))
		for i := range vals {
			vals[i] = s.n * uint64(i)
		}
		out.Ifaces = append(out.Ifaces, triage.StackIface{Name: name, NIC: &triage.NICStats{Driver: "mlx5_core", Names: s.names, Classes: s.classes, Values: vals},
			BQL: []triage.BQLQueue{{Queue: 0, Inflight: 100, Limit: 3000}}})
	}
	return out, nil
}

// BenchmarkStepStack is the engine's share of the stack counters per
// step of check or the TUI: the rates against the previous sample, the
// 10 s window's summary and the findings, with 8 CPUs of softnet rows and
// two NICs of 500 counters (the reads themselves are measured in
// sources/links: BenchmarkReadStack, BenchmarkReadStackFixture8CPU).
func BenchmarkStepStack(b *testing.B) {
	st := newBigStack()
	e := New(Inputs{Links: &links{tx: 1000, speedBps: 1e9}, Stack: st},
		Config{Judge: true, Watched: []string{"eth0", "eth1"}, Window: 10 * time.Second, Thresholds: verdict.DefaultThresholds()})
	benchSteps(b, e, 11, func(s *Snapshot) string {
		if s == nil || s.Verdict == nil || len(s.Verdict.Findings) == 0 {
			return "no findings"
		}
		return ""
	})
}

// benchSteps runs warm steps of e a second apart, then times b.N more,
// each of which check must pass ("" for a good snapshot).
func benchSteps(b *testing.B, e *Engine, warm int, check func(*Snapshot) string) {
	b.Helper()
	at := t0
	for range warm {
		at = at.Add(time.Second)
		e.Step(Tick{Time: at})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at = at.Add(time.Second)
		if why := check(e.Step(Tick{Time: at})); why != "" {
			b.Fatal(why)
		}
	}
	b.StopTimer()
	// What the engine holds between steps: every step's flows are new
	// under a flood, so state kept by flow key shows here.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "retained-MB")
	runtime.KeepAlive(e)
}

// BenchmarkStepNoStack is BenchmarkStepStack's baseline: the same step
// without the stack input.
func BenchmarkStepNoStack(b *testing.B) {
	e := New(Inputs{Links: &links{tx: 1000, speedBps: 1e9}},
		Config{Judge: true, Watched: []string{"eth0", "eth1"}, Window: 10 * time.Second, Thresholds: verdict.DefaultThresholds()})
	at := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at = at.Add(time.Second)
		e.Step(Tick{Time: at})
	}
}

// floodFlows is a FlowSource of a random-source flood at the flow cap:
// every snapshot holds n one-packet flows from remotes it has not shown
// before (the table evicts the last step's), to one local port, numbered
// and with Since, as a flow table's are.
type floodFlows struct {
	n, step int
	snap    flows.Snapshot
}

func (f *floodFlows) Snapshot(now time.Time) flows.Snapshot {
	f.step++
	if f.snap.Flows == nil {
		f.snap.Flows = make([]flows.FlowStat, f.n)
	}
	for i := range f.snap.Flows {
		r := uint32(f.step*f.n+i) & (1<<17 - 1) // 198.18.0.0/15
		f.snap.Flows[i] = flows.FlowStat{Key: flows.Key{Proto: flows.ProtoUDP, Local: local,
			Remote: netip.AddrFrom4([4]byte{198, 18 + byte(r>>16), byte(r >> 8), byte(r)}), LocalPort: 53, RemotePort: uint16(1024 + i%60000)},
			Counts: flows.Counts{RecvBytes: 92, RecvPackets: 1}, Since: flows.Since{RecvBytes: 92}, Flows: 1, First: now.Add(-500 * time.Millisecond)}
	}
	s := f.snap
	s.Time, s.Start, s.Seq, s.Since = now, t0, uint64(f.step), true
	s.Flows = slices.Clone(f.snap.Flows)
	return s
}

// BenchmarkStepFlood is one step of the TUI or check under a
// random-source flood at the default cap: 200,000 flows of one packet,
// each from a new remote, the attribution join against 1,000
// connections, the window's flows, the verdict with its explaining sets
// (by flow, process and remote) and the egress rows. retained-MB is the
// heap the engine holds between steps after the last one.
func BenchmarkStepFlood(b *testing.B) {
	fl := &floodFlows{n: 200000}
	var sk []attrib.Socket
	for i := 0; i < 1000; i++ {
		sk = append(sk, conn(flows.Key{Proto: flows.ProtoTCP, Local: local, Remote: netip.AddrFrom4([4]byte{198, 19, 1, byte(i)}), LocalPort: uint16(20000 + i), RemotePort: 443}))
	}
	et, err := egress.NewTable(egress.Rules{})
	if err != nil {
		b.Fatal(err)
	}
	e := New(Inputs{Links: &links{tx: 1000, speedBps: 1e9}, Flows: fl, Sockets: &socks{tables: []*attrib.SocketTable{tableWith(sk...)}}},
		Config{Judge: true, Watched: []string{"eth0"}, Window: 10 * time.Second, Thresholds: verdict.DefaultThresholds(), CaptureInterfaces: []string{"eth0"}, Egress: et})
	benchSteps(b, e, 3, func(s *Snapshot) string {
		if s == nil || s.Verdict == nil {
			return "no verdict"
		}
		return ""
	})
}
