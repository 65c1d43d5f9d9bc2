package engine

import (
	"net/netip"
	"testing"
	"time"

	"netriage/triage/attrib"
	"netriage/triage/flows"
	"netriage/triage/verdict"
)

// manyFlows is a FlowSource of n flows that all grow at every snapshot.
type manyFlows struct {
	n    int
	snap flows.Snapshot
}

func newManyFlows(n int) *manyFlows {
	m := &manyFlows{n: n}
	for i := 0; i < n; i++ {
		k := flows.Key{Proto: flows.ProtoTCP, Local: local, Remote: netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}), LocalPort: uint16(10000 + i%50000), RemotePort: 443}
		m.snap.Flows = append(m.snap.Flows, flows.FlowStat{Key: k, Flows: 1})
	}
	return m
}

func (m *manyFlows) Snapshot(now time.Time) flows.Snapshot {
	s := m.snap
	s.Time, s.Start = now, t0
	s.Flows = make([]flows.FlowStat, len(m.snap.Flows))
	for i := range m.snap.Flows {
		m.snap.Flows[i].SentBytes += 1500
		m.snap.Flows[i].SentPackets++
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
