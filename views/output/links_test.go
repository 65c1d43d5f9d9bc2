package output

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"netriage/triage"
)

// linksTestSamples are two samples one second apart: eth0 behind a tbf
// shaper, a veth with a hostile name and no known capacity, an interface
// re-created between them, and one that went away.
func linksTestSamples() (prev, cur triage.LinksSample) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	eth := func(rx, tx, drops uint64) triage.IfaceSample {
		return triage.IfaceSample{Name: "eth0", Index: 2, Kind: "device", OperState: "up", AdminUp: true, MTU: 1500,
			Counters:        triage.IfaceCounters{RxBytes: rx, TxBytes: tx, RxPackets: rx / 1000, TxPackets: tx / 1000, RxDropped: drops / 10},
			Qdisc:           &triage.QdiscStats{Kind: "tbf", Bytes: tx, Packets: tx / 1000, Drops: drops, Overlimits: drops * 3, BacklogBytes: 30000, BacklogPackets: 20, ShaperRateBps: 100_000_000},
			EthtoolSpeedBps: 1_000_000_000, SysfsSpeedBps: 1_000_000_000,
			Addrs: []netip.Prefix{netip.MustParsePrefix("198.18.0.1/24"), netip.MustParsePrefix("fd00:198:18::1/64")}}
	}
	veth := func(rx, tx uint64) triage.IfaceSample {
		return triage.IfaceSample{Name: "veth\x1b[31m-evil\u202e", Index: 5, Kind: "veth", OperState: "up", AdminUp: true, MTU: 9000,
			Counters: triage.IfaceCounters{RxBytes: rx, TxBytes: tx, RxPackets: 10, TxPackets: 20, TxErrors: 1},
			Qdisc:    &triage.QdiscStats{Kind: "noqueue"}}
	}
	tun := func(idx int, rx uint64) triage.IfaceSample {
		return triage.IfaceSample{Name: "tun0", Index: idx, Kind: "tun", OperState: "unknown", AdminUp: true, MTU: 1400,
			Counters: triage.IfaceCounters{RxBytes: rx}}
	}
	gone := triage.IfaceSample{Name: "veth9", Index: 9, Kind: "veth", OperState: "up", AdminUp: true, MTU: 1500,
		Counters: triage.IfaceCounters{RxBytes: 777}, Qdisc: &triage.QdiscStats{Kind: "fq_codel"}}
	prev = triage.LinksSample{Seq: 1, Time: t0, Ifaces: []triage.IfaceSample{eth(1_000_000, 2_000_000, 100), veth(5000, 6000), tun(7, 100), gone}}
	cur = triage.LinksSample{Seq: 2, Time: t0.Add(time.Second), Ifaces: []triage.IfaceSample{eth(3_000_000, 14_500_000, 160), veth(6000, 8000), tun(8, 50)},
		Warnings: []string{"qdisc dump of veth\x1b[2J: interrupted"}}
	return prev, cur
}

// linksTestStack is the stack sample number k (0 or 1) of the links
// samples.
func linksTestStack(at time.Time, k uint64) triage.StackSample {
	names := []string{"rx_missed_errors", "rx_queue_0_drops", "rx\x1b[31m_evil_drops", "rx_packets", "tx_pause"}
	classes := make([]triage.NICClass, len(names))
	for i, n := range names {
		classes[i] = triage.ClassifyNICCounter(n)
	}
	return triage.StackSample{Time: at,
		Softnet:   []triage.SoftnetCPU{{CPU: 0, Processed: 1000 + 500*k, TimeSqueeze: 2}, {CPU: 1, Processed: 9000 + 4000*k, Dropped: 10 + 250*k, TimeSqueeze: 5 + 30*k, FlowLimitCount: 50 * k, BacklogLen: 900}},
		Proto:     &triage.ProtoCounters{TCPRetransSegs: 100 + 7*k, TCPTimeouts: 3, ListenOverflows: 4 * k, ListenDrops: 4 * k, UDPRcvbufErrors: 20 + 100*k, UDP6RcvbufErrors: 5},
		Conntrack: &triage.ConntrackSample{Count: 240000 + 1000*k, Max: 262144, NoStats: "no /proc/net/stat/nf_conntrack"},
		Ifaces: []triage.StackIface{
			{Name: "eth0", NIC: &triage.NICStats{Driver: "ixgbe", Names: names, Classes: classes, Values: []uint64{100 + 40*k, 7, 3 + 3*k, 1e6 + 1e4*k, 9}},
				BQL: []triage.BQLQueue{{Queue: 0, Inflight: 1514 * k, Limit: 6056}, {Queue: 1, Inflight: 0, Limit: 3028}}},
			{Name: "veth\x1b[31m-evil\u202e", NICNote: "the driver exposes no statistics", BQLNote: "the driver does not use BQL"},
		},
		Absent: []string{"IPv6 counters: no /proc/net/snmp6 (IPv6\x1b[2J disabled)"},
	}
}

// classesSample is one interface behind an htb root with an inner class
// and two leaves, one holding an fq_codel (with a hostile name beside
// it), one a pfifo that dropped what the root did not count.
func classesSample(at time.Time) (s *triage.LinksSample, rows []triage.LinkRow, gone map[string]time.Time) {
	mk := func(k uint64) triage.IfaceSample {
		nf := 4000 + k
		return triage.IfaceSample{Name: "wan\x1b[31m0", Index: 3, Kind: "device", OperState: "up", AdminUp: true, MTU: 1500,
			Counters: triage.IfaceCounters{TxBytes: 5_000_000 * (k + 1), TxPackets: 4000 * (k + 1)},
			Qdisc: &triage.QdiscStats{Kind: "htb", Bytes: 5_000_000 * (k + 1), Packets: 4000 * (k + 1), Drops: 10, ShaperRateBps: 50_000_000,
				HasLeaves: true, LeafDrops: 40 + 25*k,
				Classes: []triage.QdiscClass{
					{Kind: "htb", Handle: 0x10001, Parent: 0xFFFFFFFF, Bytes: 5_000_000 * (k + 1), Packets: 4000 * (k + 1), RateBps: 50_000_000, CeilBps: 50_000_000},
					{Kind: "htb", Handle: 0x10010, Parent: 0x10001, Leaf: true, Bytes: 4_000_000 * (k + 1), Packets: 3000, Drops: 10, Overlimits: 120, BacklogBytes: 3028, BacklogPackets: 2, RateBps: 20_000_000, CeilBps: 50_000_000},
					{Kind: "htb", Handle: 0x10020, Parent: 0x10001, Leaf: true, Bytes: 1_000_000 * (k + 1), Packets: 1000, Drops: 30 + 25*k, RateBps: 5_000_000, CeilBps: 10_000_000, EstBps: 8_000_000},
				},
				AQM: []triage.AQMStats{{Kind: "fq_codel", Handle: 0x100000, Parent: 0x10010, Drops: 10, DropOverlimit: 4, ECNMarks: 77, CEMarks: 1, NewFlows: &nf, BacklogBytes: 3028, BacklogPackets: 2}},
			}}
	}
	p := triage.LinksSample{Seq: 1, Time: at, Ifaces: []triage.IfaceSample{mk(0)}}
	c := triage.LinksSample{Seq: 2, Time: at.Add(time.Second), Ifaces: []triage.IfaceSample{mk(1)}}
	return &c, triage.CompareLinks(&p, &c, nil), nil
}

func TestLinksGolden(t *testing.T) {
	prev, cur := linksTestSamples()
	rows := triage.CompareLinks(&prev, &cur, map[string]uint64{"tun0": 10_000_000})
	goneSince := map[string]time.Time{"veth9": cur.Time}
	// A third sample: the namespace went away, every row is gone.
	nsGone := triage.LinksSample{Seq: 3, Time: cur.Time.Add(time.Second), NetnsGone: "namespace lab\x1b[1m was deleted", Warnings: []string{"namespace lab was deleted"}}
	var goneRows []triage.LinkRow
	for _, r := range rows {
		if !r.Gone {
			goneRows = append(goneRows, triage.LinkRow{Sample: r.Sample, Capacity: triage.Capacity{Source: triage.CapacityUnknown}, Rates: triage.IfaceRates{Note: triage.NoteGone}, Gone: true})
		}
	}
	goneAll := map[string]time.Time{"veth9": cur.Time}
	for _, r := range goneRows {
		goneAll[r.Sample.Name] = nsGone.Time
	}
	first := triage.CompareLinks(nil, &prev, nil)
	// The same samples with the namespace's stack counters: eth0's driver
	// loses packets (one counter's name is hostile), the veth's driver
	// exposes nothing, CPU 1 drops, conntrack without its statistics.
	withStack, firstStack := cur, prev
	ps, cs := linksTestStack(prev.Time, 0), linksTestStack(cur.Time, 1)
	withStack.Stack = &triage.StackStep{Sample: cs, Rates: triage.CompareStack(&ps, &cs)}
	firstStack.Stack = &triage.StackStep{Sample: ps, Rates: triage.CompareStack(nil, &ps)}
	clsSample, clsRows, _ := classesSample(prev.Time)
	type sample struct {
		s    *triage.LinksSample
		rows []triage.LinkRow
		gone map[string]time.Time
	}
	tests := []struct {
		name    string
		netns   string
		samples []sample
	}{
		{"sample", "", []sample{{&cur, rows, goneSince}}},
		{"first-no-rates", "", []sample{{&prev, first, nil}}},
		{"empty", "", []sample{{&triage.LinksSample{Seq: 2, Time: cur.Time}, nil, nil}}},
		{"netns-gone", "lab\x1b]0;x\x07", []sample{{&cur, rows, goneSince}, {&nsGone, goneRows, goneAll}}},
		{"stack", "", []sample{{&firstStack, first, nil}, {&withStack, rows, goneSince}}},
		{"classes", "", []sample{{clsSample, clsRows, nil}}},
	}
	for _, tc := range tests {
		for _, f := range []string{"table", "json", "csv"} {
			t.Run(tc.name+"/"+f, func(t *testing.T) {
				var b bytes.Buffer
				w := NewLinksWriter(&b, f, tc.netns)
				for _, s := range tc.samples {
					if err := w.Write(s.s, s.rows, s.gone); err != nil {
						t.Fatal(err)
					}
				}
				w.Flush()
				golden(t, "links_"+tc.name+"."+f, b.Bytes())
			})
		}
	}
}
