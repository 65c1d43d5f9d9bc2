package verdict

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netriage/triage"
)

// stepsOf gives each sample its rates against the one before, as the
// engine does.
func stepsOf(samples []triage.StackSample) []triage.StackStep {
	out := make([]triage.StackStep, len(samples))
	for i := range samples {
		var prev *triage.StackSample
		if i > 0 {
			prev = &samples[i-1]
		}
		out[i] = triage.StackStep{Sample: samples[i], Rates: triage.CompareStack(prev, &samples[i])}
	}
	return out
}

func TestFromStack(t *testing.T) {
	names := []string{"rx_drops", "rx0_drops", "rx_kicks"}
	classes := []triage.NICClass{triage.NICDrop, triage.NICQueueDrop, triage.NICOther}
	sample := func(sec int, dropped, squeeze uint64, ct uint64, ctDrop uint64, nic *triage.NICStats, inflight uint64) triage.StackSample {
		return triage.StackSample{Time: t0.Add(time.Duration(sec) * time.Second),
			Softnet:   []triage.SoftnetCPU{{CPU: 0, Processed: uint64(sec) * 100}, {CPU: 3, Dropped: dropped, TimeSqueeze: squeeze}},
			Proto:     &triage.ProtoCounters{ListenDrops: uint64(sec), UDPRcvbufErrors: 10 * uint64(sec)},
			Conntrack: &triage.ConntrackSample{Count: ct, Max: 1000, Drop: ctDrop},
			Ifaces: []triage.StackIface{{Name: "eth0", NIC: nic, BQL: []triage.BQLQueue{{Queue: 1, Inflight: inflight, Limit: 3000}, {Queue: 0, Inflight: 10, Limit: 3000}}},
				{Name: "lo", NICNote: "the driver exposes no statistics", BQLNote: "the driver does not use BQL"}},
			Absent: []string{"IPv6 counters: no /proc/net/snmp6 (IPv6 disabled)"}}
	}
	nic := func(v ...uint64) *triage.NICStats {
		return &triage.NICStats{Driver: "virtio_net", Names: names, Classes: classes, Values: v}
	}
	samples := []triage.StackSample{
		// CPU 3's drop counter wraps at 2^32 between the first two.
		sample(0, 0xfffffffe, 0, 100, 0, nic(5, 5, 0), 0),
		sample(1, 3, 2, 950, 4, nic(8, 8, 9), 3000),
		// The driver's set changed: that pair gives no NIC counts.
		sample(2, 3, 2, 400, 4, &triage.NICStats{Names: []string{"other"}, Classes: []triage.NICClass{triage.NICOther}, Values: []uint64{1}}, 100),
		sample(3, 13, 2, 400, 6, nic(9, 9, 9), 3500),
	}
	got := FromStack(stepsOf(samples), []string{"eth0", "lo"})
	want := &Stack{Samples: 4, Duration: 3 * time.Second,
		Softnet: &SoftnetWindow{Processed: 300, Dropped: 15, TimeSqueeze: 2,
			CPUs: []triage.SoftnetDelta{{CPU: 3, Dropped: 15, TimeSqueeze: 2}}},
		Proto:     &triage.ProtoCounters{ListenDrops: 3, UDPRcvbufErrors: 30},
		Conntrack: &ConntrackWindow{Count: 950, Max: 1000, PeakFill: 0.95, Drop: 6},
		NICs: []NICWindow{
			{Interface: "eth0", Driver: "virtio_net", Counters: []triage.NICCounterDelta{
				{Name: "rx_drops", Class: triage.NICDrop, Value: 9, Delta: 3}, {Name: "rx0_drops", Class: triage.NICQueueDrop, Value: 9, Delta: 3}}},
			{Interface: "lo", Note: "the driver exposes no statistics"},
		},
		BQL: []BQLWindow{
			{Interface: "eth0", Queues: []BQLQueueWindow{{Queue: 0, InflightMax: 10, Limit: 3000, Samples: 4}, {Queue: 1, InflightMax: 3500, Limit: 3000, AtLimit: 2, Samples: 4}}},
			{Interface: "lo", Note: "the driver does not use BQL"},
		},
		Absent: []string{"IPv6 counters: no /proc/net/snmp6 (IPv6 disabled)"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("-want +got:\n%s", d)
	}
	if FromStack(nil, []string{"eth0"}) != nil {
		t.Error("no samples gave a stack")
	}
	// One sample: gauges, no deltas, nothing fires.
	one := FromStack(stepsOf(samples)[1:2], []string{"eth0"})
	if one.Duration != 0 || one.Conntrack.Count != 950 || one.Softnet.Dropped != 0 {
		t.Errorf("one sample: %+v", one)
	}
	f, rep, _ := evaluateStack(one, DefaultThresholds(), true)
	if len(f) != 1 || f[0].Rule != RuleConntrackFull || rep.Softnet.Dropped.PerSec != 0 {
		t.Errorf("one sample: findings %+v", f)
	}
}

func TestStackRulesThresholds(t *testing.T) {
	base := func() *Stack {
		return &Stack{Samples: 11, Duration: 10 * time.Second, Softnet: &SoftnetWindow{}, Proto: &triage.ProtoCounters{},
			Conntrack: &ConntrackWindow{Count: 10, Max: 100, PeakFill: 0.1},
			NICs:      []NICWindow{{Interface: "eth0"}}}
	}
	cfg := DefaultThresholds()
	tests := []struct {
		name  string
		edit  func(s *Stack, c *Thresholds)
		rules []string
	}{
		{"quiet", func(*Stack, *Thresholds) {}, nil},
		{"nic below 1/s", func(s *Stack, _ *Thresholds) {
			s.NICs[0].Counters = []triage.NICCounterDelta{{Name: "rx_missed_errors", Class: triage.NICRxMissed, Delta: 9}}
		}, nil},
		{"nic at 1/s", func(s *Stack, _ *Thresholds) {
			s.NICs[0].Counters = []triage.NICCounterDelta{{Name: "rx_missed_errors", Class: triage.NICRxMissed, Delta: 10}}
		}, []string{RuleNICDrops}},
		{"pause alone is not loss", func(s *Stack, _ *Thresholds) {
			s.NICs[0].Counters = []triage.NICCounterDelta{{Name: "rx_pause", Class: triage.NICPause, Delta: 1000}}
		}, nil},
		{"allowance", func(s *Stack, _ *Thresholds) {
			s.NICs[0].Counters = []triage.NICCounterDelta{{Name: "pps_allowance_exceeded", Class: triage.NICAllowance, Delta: 50}}
		}, []string{RuleNICDrops}},
		{"softirq", func(s *Stack, _ *Thresholds) { s.Softnet.Dropped = 10 }, []string{RuleSoftirqDrops}},
		{"softirq squeeze alone", func(s *Stack, _ *Thresholds) { s.Softnet.TimeSqueeze = 1000 }, nil},
		{"softirq threshold raised", func(s *Stack, c *Thresholds) { s.Softnet.Dropped = 10; c.SoftirqDropsPerSec = 2 }, nil},
		{"conntrack one drop", func(s *Stack, _ *Thresholds) { s.Conntrack.Drop = 1 }, []string{RuleConntrackFull}},
		{"conntrack drops without stats", func(s *Stack, _ *Thresholds) { s.Conntrack.Drop = 1; s.Conntrack.NoStats = "no file" }, nil},
		{"conntrack below ratio", func(s *Stack, _ *Thresholds) { s.Conntrack.Count, s.Conntrack.PeakFill = 89, 0.89 }, nil},
		{"conntrack drop rate threshold", func(s *Stack, c *Thresholds) { s.Conntrack.EarlyDrop = 4; c.ConntrackDropsPerSec = 0.5 }, nil},
		{"endpoint listen overflows", func(s *Stack, _ *Thresholds) { s.Proto.ListenOverflows, s.Proto.ListenDrops = 10, 10 }, []string{RuleEndpointDrops}},
		{"endpoint udp6", func(s *Stack, _ *Thresholds) { s.Proto.UDP6SndbufErrors = 10 }, []string{RuleEndpointDrops}},
		{"retransmissions are not endpoint loss", func(s *Stack, _ *Thresholds) { s.Proto.TCPRetransSegs, s.Proto.UDPInErrors = 1000, 1000 }, nil},
		{"every rule, in order", func(s *Stack, _ *Thresholds) {
			s.Proto.TCPBacklogDrop = 100
			s.Conntrack.EarlyDrop = 1
			s.Softnet.Dropped = 100
			s.NICs[0].Counters = []triage.NICCounterDelta{{Name: "rx_fifo_errors", Class: triage.NICRxMissed, Delta: 100}}
		}, []string{RuleNICDrops, RuleSoftirqDrops, RuleConntrackFull, RuleEndpointDrops}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c := base(), cfg
			tc.edit(s, &c)
			f, _, _ := evaluateStack(s, c, true)
			var rules []string
			for _, x := range f {
				rules = append(rules, x.Rule)
			}
			if d := cmp.Diff(tc.rules, rules); d != "" {
				t.Errorf("-want +got:\n%s", d)
			}
			if f, _, _ := evaluateStack(s, c, false); len(f) != 0 {
				t.Errorf("a window too short to judge fired %+v", f)
			}
		})
	}
}
