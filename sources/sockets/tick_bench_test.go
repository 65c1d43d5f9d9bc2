package sockets

import (
	"os"
	"testing"
	"time"

	"netriage/internal/lab"
	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// BenchmarkTick is one attribution tick in steady state: a socket refresh
// of the 10,000 sockets of 2,000 processes (benchTree; the dump faked) and
// the join of 10,000 flows, one per socket, to its table, as the engine
// runs them. steady: no socket changes between ticks; busy: the queues of
// 1,000 sockets change at every tick (a busy host's sockets, which the
// join's indexes take as changed). The reports are kept, as top, check
// and serve keep their snapshots; the _released cases hand each back
// before the next join, as the engine does for procs, conns and remotes
// (engine.Config.ReleaseAttribution). cpu-ms/op is the process's CPU
// time per tick (every thread's, the collector's too), which other jobs
// on the machine inflate less than the time per tick.
func BenchmarkTick(b *testing.B) {
	for _, bc := range []struct {
		name    string
		busy    int
		release bool
	}{{"steady", 0, false}, {"busy", 1000, false}, {"steady_released", 0, true}, {"busy_released", 1000, true}} {
		b.Run(bc.name, func(b *testing.B) {
			dir, d := benchTree(b)
			s := New(Config{ProcRoot: dir, Dumper: d})
			a := attrib.New(attrib.Config{ClosedGrace: 10 * time.Second})
			t := time.Unix(1_700_000_000, 0)
			tab, err := s.Refresh(t)
			if err != nil {
				b.Fatal(err)
			}
			fl := make([]attrib.FlowStat, 0, len(tab.Sockets))
			for _, sk := range tab.Sockets {
				fl = append(fl, attrib.FlowStat{Key: flows.Key{Proto: sk.Proto, Local: sk.Local, LocalPort: sk.LocalPort, Remote: sk.Remote, RemotePort: sk.RemotePort}, SentBytes: 1000})
			}
			prev := a.Update(t, fl, tab)
			socks := d.socks[1]
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := lab.CPUTime(os.Getpid())
			for i := 0; i < b.N; i++ {
				t = t.Add(time.Second)
				for j := 0; j < bc.busy; j++ {
					socks[(i*bc.busy+j)%len(socks)].SendQ++
				}
				for j := range fl {
					fl[j].SentBytes += 100
				}
				tab, err := s.Refresh(t)
				if err != nil {
					b.Fatal(err)
				}
				if bc.release {
					a.Recycle(&prev)
				}
				prev = a.Update(t, fl, tab)
				if len(prev.Connections) != len(fl) {
					b.Fatalf("%d connections", len(prev.Connections))
				}
			}
			b.ReportMetric(float64(lab.CPUTime(os.Getpid())-cpu0)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
}
