package metrics

import (
	"fmt"
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"netriage/triage/verdict"
)

// FullState is a State at the default caps: every talker group holds its
// KeepRank series, with 8 watched interfaces, 4 unattributed reasons and a
// name for every remote with a series. Benchmarks of a scrape use it.
func FullState(ifaces int) *State {
	caps := DefaultCaps()
	st := &State{Seq: 1000, Time: t0, WindowSeconds: 10}
	for _, in := range []string{"capture", "links", "sockets"} {
		st.Inputs = append(st.Inputs, InputState{Input: in, State: "ok"})
	}
	util := 0.5
	for i := 0; i < ifaces; i++ {
		name := fmt.Sprintf("eth%d", i)
		st.Links = append(st.Links, Link{Interface: name, Up: true, Bytes: Dir[uint64]{1e12, 2e12}, Packets: Dir[uint64]{1e9, 2e9},
			CapacityBytesPerSec: Dir[float64]{1.25e9, 1.25e9}, CapacitySource: Dir[string]{"ethtool", "ethtool"},
			Utilization: Dir[*float64]{&util, &util}, Qdisc: &Qdisc{Kind: "mq", Bytes: 2e12, Packets: 2e9, Drops: 12}})
		for _, d := range []verdict.Direction{verdict.RX, verdict.TX} {
			st.Verdicts = append(st.Verdicts, Verdict{Interface: name, Direction: d, Judged: true, State: verdict.OK, Coverage: &util, Utilization: &util})
		}
	}
	c := &Capture{Interface: "any", Handles: []Handle{{Interface: "eth0", Packets: 1e9}}, Flows: 150000, FlowBytes: Dir[uint64]{1e12, 2e12}}
	for _, r := range []string{"closed", "forwarded", "other_protocol", "unknown"} {
		c.Unattributed = append(c.Unattributed, Unattributed{Reason: r, Bytes: Dir[uint64]{1e6, 1e6}})
	}
	for d := range 2 {
		for i := 0; i < caps.KeepRank; i++ {
			c.Processes[d].Series = append(c.Processes[d].Series, Talker{Process: fmt.Sprintf("worker-%02d", i), Container: "docker:0123456789ab", Bytes: uint64(i) * 1e9})
			c.Remotes[d].Series = append(c.Remotes[d].Series, Talker{Remote: remoteN(i + 100*d).String(), Bytes: uint64(i) * 1e9})
		}
		c.Processes[d].Other, c.Remotes[d].Other = 1e10, 1e10
	}
	for i := 0; i < 2*caps.KeepRank; i++ {
		c.RemoteNames = append(c.RemoteNames, RemoteName{Remote: remoteN(i).String(), Name: fmt.Sprintf("host-%d.example.net", i)})
	}
	st.Capture = c
	return st
}

// BenchmarkCollect is the netriage part of a scrape at the default caps:
// gathering the families from the newest State and encoding them as text.
func BenchmarkCollect(b *testing.B) {
	c := NewCollector()
	c.Publish(FullState(8))
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		n += len(mf.Metric)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(io.Discard, mf); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n), "series")
}

// BenchmarkBuilderStep is the per-step cost serve adds to the engine's:
// folding a snapshot of 10,000 flows (a third of them new at each step)
// into the State.
func BenchmarkBuilderStep(b *testing.B) {
	ft := newFlowTable(10000)
	r := newRig(ft, &fakeLinks{tx: 1e6, speedBps: 1e9}, nil, DefaultCaps(), nil)
	n := 0
	fill := func() {
		for j := 0; j < 3333; j++ {
			n++
			ft.add(keyTo(remoteN(n%60000), uint16(n)), 1500, 100)
		}
	}
	// The engine's own step is measured in triage/engine; this takes the
	// snapshot outside the timer and times Builder.Step alone.
	for i := 0; i < 3; i++ {
		fill()
		r.step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fill()
		s := r.e.Step(r.tick())
		b.StartTimer()
		r.b.Step(s)
	}
}
