package verdict

import (
	"fmt"
	"net/netip"
	"time"

	"netriage/triage"
	"netriage/triage/flows"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func u64(v uint64) *uint64 { return &v }

// tcp returns a flow from 198.18.0.1:port to remote:5201 with sent/recv IP
// bytes; packet counts assume 1500-byte packets.
func tcp(port uint16, remote string, sent, recv uint64) Flow {
	return Flow{
		Key: flows.Key{
			Proto: flows.ProtoTCP, Local: netip.MustParseAddr("198.18.0.1"), Remote: netip.MustParseAddr(remote),
			LocalPort: port, RemotePort: 5201,
		},
		SentBytes: sent, RecvBytes: recv,
		SentPackets: (sent + 1499) / 1500, RecvPackets: (recv + 1499) / 1500,
	}
}

func owned(f Flow, pid int, prog string) Flow {
	f.Owner = &Owner{PID: pid, Program: prog}
	return f
}

// linkBytes is what an Ethernet interface counts for the given flows' sent
// (tx) or received bytes.
func linkBytes(fs []Flow, tx bool) (bytes, packets uint64) {
	for _, f := range fs {
		if tx {
			bytes += f.SentBytes + 14*f.SentPackets
			packets += f.SentPackets
		} else {
			bytes += f.RecvBytes + 14*f.RecvPackets
			packets += f.RecvPackets
		}
	}
	return
}

// window builds a live 10 s window on one interface "eth0" whose counters
// match the flows exactly, with txCap as the tx capacity (0: unknown).
func window(fs []Flow, txCap uint64, txSource string) Window {
	txB, txP := linkBytes(fs, true)
	rxB, rxP := linkBytes(fs, false)
	rxCap, rxSource := txCap, txSource
	if txSource == "shaper" {
		rxCap, rxSource = 0, ""
	}
	return Window{
		Start: t0, End: t0.Add(10 * time.Second), Samples: 11, Counters: true,
		Interfaces: []Interface{{
			Name: "eth0", Captured: true,
			RX: DirCounters{CapacityBps: rxCap, CapacitySource: rxSource, Bytes: rxB, Packets: rxP},
			TX: DirCounters{CapacityBps: txCap, CapacitySource: txSource, Bytes: txB, Packets: txP, Queue: &Queue{Kind: "fq_codel", BacklogSamples: 11}},
		}},
		Flows:   fs,
		Capture: Capture{Active: true, Interfaces: []string{"eth0"}, Packets: txP + rxP},
	}
}

// burstsFixture is 10 s of 100 ms sampler intervals repeating the tx bytes
// of pattern, with drops spread over the busy ones and the largest backlog.
func burstsFixture(pattern []uint64, drops, backlog uint64) *Bursts {
	b := &Bursts{Interval: 100 * time.Millisecond}
	b.Name, b.Qdisc, b.Drops, b.MaxBacklogBytes, b.MaxBacklogPackets = "eth0", true, drops, backlog, backlog/1500
	for i := range 100 {
		el := 100 * time.Millisecond
		if i%7 == 3 {
			el = 104 * time.Millisecond // a late tick: the real elapsed time counts
		}
		iv := triage.BurstInterval{Elapsed: el, TxBytes: pattern[i%len(pattern)], RxBytes: 2000}
		b.Intervals = append(b.Intervals, iv)
		b.Span += el
		if p := (triage.BurstPeak{Bytes: iv.TxBytes, Elapsed: el}); p.Bps() > b.TX.Bps() {
			b.TX = p
		}
		b.RX = triage.BurstPeak{Bytes: 2000, Elapsed: el}
	}
	return b
}

// fixtures are the scenarios of the table and golden tests. Their inputs
// are written to testdata/<name>/input.json for the renderers' tests.
func fixtures() map[string]Window {
	m := map[string]Window{}

	// One bulk flow through a 50 Mbit/s shaper: 59.4 MB of IP bytes in 10 s.
	bulk := []Flow{owned(tcp(40000, "198.18.1.2", 59_400_000, 1_200_000), 4242, "iperf3"), owned(tcp(40001, "198.18.1.3", 300_000, 30_000), 77, "sshd")}
	w := window(bulk, 50_000_000, "shaper")
	w.Interfaces[0].TX.Queue = &Queue{Kind: "tbf", Drops: 1200, Overlimits: 50_000, DropsTotal: 51_200, BacklogBytes: 120_000, BacklogPackets: 80, BacklogSamples: 11, BacklogNonEmpty: 11}
	w.TCPRetransmits = u64(1180)
	m["saturated_shaper"] = w

	// Twenty flows of different sizes on a 100 Mbit/s link, 97% full.
	var twenty []Flow
	var tot uint64
	for i := range 20 {
		b := uint64(20-i) * 575_000
		tot += b
		twenty = append(twenty, owned(tcp(41000+uint16(i), fmt.Sprintf("198.18.1.%d", 10+i%4), b, b/50), 1000+i%3, "worker"))
	}
	_ = tot
	w = window(twenty, 100_000_000, "ethtool")
	m["saturated_twenty"] = w

	// Above the warning threshold with queue drops: saturated.
	w = window([]Flow{owned(tcp(40000, "198.18.1.2", 43_000_000, 400_000), 10, "rsync")}, 40_000_000, "user")
	w.Interfaces[0].TX.Queue.Drops, w.Interfaces[0].TX.Queue.DropsTotal = 500, 8_500
	m["saturated_queue_near_capacity"] = w

	// 60% of a known capacity, no drops: ok.
	w = window([]Flow{tcp(40000, "198.18.1.2", 7_300_000, 100_000)}, 10_000_000, "ethtool")
	m["ok_60pct"] = w

	// 85% without drops: ok, but a warning.
	w = window([]Flow{tcp(40000, "198.18.1.2", 10_400_000, 100_000)}, 10_000_000, "ethtool")
	m["warning_85pct"] = w

	// Bursts through a shaper: drops at low average rate: congested.
	w = window([]Flow{owned(tcp(40000, "198.18.1.2", 2_000_000, 50_000), 99, "backup")}, 50_000_000, "shaper")
	w.Interfaces[0].TX.Queue = &Queue{Kind: "tbf", Drops: 240, Overlimits: 900, DropsTotal: 4_240, BacklogBytes: 3000, BacklogPackets: 2, BacklogSamples: 11, BacklogNonEmpty: 2}
	m["congested_bursts"] = w

	// 50 ms bursts every 500 ms into a 10 Mbit/s tbf: 42% on average,
	// the queue full and draining for two 100 ms intervals of five: bursty.
	burst := []Flow{owned(tcp(40000, "198.18.1.2", 5_100_000, 20_000), 321, "sender")}
	w = window(burst, 10_000_000, "shaper")
	w.Interfaces[0].TX.Bytes = 5_250_000
	w.Interfaces[0].TX.Queue = &Queue{Kind: "tbf", Drops: 400, Overlimits: 9000, DropsTotal: 400, BacklogBytes: 150_000, BacklogPackets: 100, BacklogSamples: 11, BacklogNonEmpty: 4}
	w.Interfaces[0].RX.CapacityBps, w.Interfaces[0].RX.CapacitySource = 10_000_000_000, "ethtool" // a veth
	w.Interfaces[0].Bursts = burstsFixture([]uint64{125_000, 125_000, 12_500, 0, 0}, 400, 200_000)
	m["bursty_shaper"] = w

	// The same average sent steadily: no drops, no peaks: ok.
	w = window(burst, 10_000_000, "shaper")
	w.Interfaces[0].TX.Bytes = 5_250_000
	w.Interfaces[0].RX.CapacityBps, w.Interfaces[0].RX.CapacitySource = 10_000_000_000, "ethtool"
	w.Interfaces[0].Bursts = burstsFixture([]uint64{52_500}, 0, 3000)
	m["steady_shaper"] = w

	// Capacity unknown, no queue evidence: unknown with advice.
	w = window([]Flow{tcp(40000, "198.18.1.2", 5_000_000, 5_000_000)}, 0, "")
	m["unknown_capacity"] = w

	// Capacity unknown but the queue drops: congested, with advice.
	w = window([]Flow{tcp(40000, "198.18.1.2", 5_000_000, 5_000_000)}, 0, "")
	w.Interfaces[0].TX.Queue.Drops, w.Interfaces[0].TX.Queue.DropsTotal = 300, 300
	m["congested_unknown_capacity"] = w

	// Persistent backlog without drops.
	w = window([]Flow{tcp(40000, "198.18.1.2", 1_000_000, 10_000)}, 1_000_000_000, "ethtool")
	w.Interfaces[0].TX.Queue = &Queue{Kind: "fq_codel", BacklogBytes: 64_000, BacklogPackets: 42, BacklogSamples: 11, BacklogNonEmpty: 9}
	m["congested_backlog"] = w

	// Interface errors (a bad NIC) at low rate.
	w = window([]Flow{tcp(40000, "198.18.1.2", 1_000_000, 1_000_000)}, 1_000_000_000, "ethtool")
	w.Interfaces[0].RX.Errors = 5000
	m["congested_errors"] = w

	// Idle interface, capacity known and unknown.
	w = window(nil, 1_000_000_000, "ethtool")
	m["idle_known"] = w
	w = window(nil, 0, "")
	m["idle_unknown"] = w

	// A window too short to judge.
	w = window([]Flow{tcp(40000, "198.18.1.2", 100_000, 1000)}, 10_000_000, "ethtool")
	w.End = w.Start.Add(400 * time.Millisecond)
	m["too_short"] = w
	w = window([]Flow{tcp(40000, "198.18.1.2", 100_000, 1000)}, 10_000_000, "ethtool")
	w.Samples = 1
	m["one_sample"] = w

	// A counter reset: only 6 s of the window are usable.
	w = window([]Flow{tcp(40000, "198.18.1.2", 3_000_000, 10_000)}, 10_000_000, "ethtool")
	w.Interfaces[0].CounterReset = true
	w.Interfaces[0].CounterDuration = 6 * time.Second
	w.Interfaces[0].TX.Bytes = w.Interfaces[0].TX.Bytes * 6 / 10
	w.Interfaces[0].TX.Packets = w.Interfaces[0].TX.Packets * 6 / 10
	m["counter_reset"] = w

	// A capture filter hides half of the traffic.
	w = window([]Flow{tcp(40000, "198.18.1.2", 4_000_000, 40_000), tcp(40001, "198.18.1.3", 4_000_000, 40_000)}, 100_000_000, "ethtool")
	w.Flows = w.Flows[:1]
	w.Capture.Filter = "host 198.18.1.2"
	m["coverage_filter"] = w

	// Capture drops and non-IP frames.
	w = window([]Flow{tcp(40000, "198.18.1.2", 9_000_000, 40_000)}, 100_000_000, "ethtool")
	w.Interfaces[0].TX.Bytes += 1_000_000
	w.Interfaces[0].TX.Packets += 667
	w.Capture.KernelDrops = 667
	w.Capture.NonIP = 12
	m["coverage_drops"] = w

	// GSO super-packets: fewer packets captured than counted.
	w = window([]Flow{tcp(40000, "198.18.1.2", 9_000_000, 40_000)}, 100_000_000, "ethtool")
	w.Flows[0].SentPackets = 200
	m["coverage_offload"] = w

	// Replay: no counters, capacity from --link-speed.
	w = window([]Flow{tcp(40000, "198.18.1.2", 12_000_000, 100_000), tcp(40001, "198.18.1.3", 200_000, 10_000)}, 10_000_000, "user")
	w.Counters, w.Samples, w.Replay = false, 0, "lab.pcap"
	w.Interfaces[0].Name = "replay"
	w.Interfaces[0].RX.Bytes, w.Interfaces[0].TX.Bytes = 0, 0
	w.Interfaces[0].TX.Queue = nil
	m["replay"] = w

	// Two interfaces: eth0 saturated, eth1 unknown: saturated overall.
	w = window([]Flow{tcp(40000, "198.18.1.2", 12_000_000, 100_000)}, 10_000_000, "ethtool")
	w.Interfaces = append(w.Interfaces, Interface{Name: "eth1", Captured: false, RX: DirCounters{Bytes: 5_000_000, Packets: 4000}, TX: DirCounters{Bytes: 1_000_000, Packets: 900}})
	m["two_interfaces"] = w

	// eth1 was deleted 4 s into the window: its counters cover those 4 s
	// (FromLinks sets no CounterReset for that), the flows the whole window.
	// Read as a counter reset it gave 166.7% coverage and an OK verdict.
	w = window([]Flow{tcp(40000, "198.18.1.2", 3_000_000, 10_000)}, 10_000_000, "ethtool")
	gone := w.Interfaces[0]
	gone.Name, gone.Removed = "eth1", RemovedInterface
	gone.CounterDuration = 4 * time.Second
	gone.TX.Bytes, gone.TX.Packets = gone.TX.Bytes*4/10, gone.TX.Packets*4/10
	gone.RX.Bytes, gone.RX.Packets = gone.RX.Bytes*4/10, gone.RX.Packets*4/10
	gone.TX.Queue = &Queue{Kind: "fq_codel", BacklogSamples: 5}
	w.Interfaces[0].FlowsPerInterface = true
	gone.FlowsPerInterface = true
	w.Flows[0].Interface = "eth1"
	idle := window(nil, 10_000_000, "ethtool").Interfaces[0]
	idle.FlowsPerInterface = true
	w.Interfaces = []Interface{idle, gone}
	m["removed_interface"] = w

	// The namespace of eth0 was deleted before the window's first sample
	// pair: nothing is left but the name.
	w = window(nil, 0, "")
	w.Interfaces[0] = Interface{Name: "eth0", LinkHeaderBytes: 14, Removed: RemovedNetns,
		RX: DirCounters{CapacitySource: SourceUnknown}, TX: DirCounters{CapacitySource: SourceUnknown}}
	m["removed_netns"] = w

	// Hostile names reach the renderers unchanged (they sanitise).
	f := owned(tcp(40000, "198.18.1.2", 12_000_000, 100_000), 66, "evil\x1b[31mred|`x`")
	f.RemoteName = "bad\x07name.example"
	m["hostile_names"] = window([]Flow{f}, 10_000_000, "user")

	// The stack rules, each alone on a link that is 59% full, then all at
	// once on a saturated link, then a quiet stack.
	ok := func() Window {
		return window([]Flow{tcp(40000, "198.18.1.2", 7_300_000, 100_000)}, 10_000_000, "ethtool")
	}
	w = ok()
	w.Stack = quietStack()
	w.Stack.NICs[0] = NICWindow{Interface: "eth0", Driver: "ixgbe", Counters: []triage.NICCounterDelta{
		{Name: "rx_missed_errors", Class: triage.NICRxMissed, Value: 9300, Delta: 300},
		{Name: "rx_queue_0_drops", Class: triage.NICQueueDrop, Value: 40, Delta: 40},
		{Name: "rx_queue_1_drops", Class: triage.NICQueueDrop, Value: 20, Delta: 20},
		{Name: "tx_pause", Class: triage.NICPause, Value: 15, Delta: 15},
		{Name: "bw_in_allowance_exceeded", Class: triage.NICAllowance, Value: 0, Delta: 0},
	}}
	m["nic_drops"] = w

	w = ok()
	w.Stack = quietStack()
	w.Stack.Softnet = &SoftnetWindow{Processed: 9_000_000, Dropped: 5000, TimeSqueeze: 803, FlowLimit: 1000,
		CPUs: []triage.SoftnetDelta{{CPU: 0, TimeSqueeze: 3}, {CPU: 1, Processed: 4_000_000, Dropped: 5000, TimeSqueeze: 800, FlowLimit: 1000}}}
	m["softirq_drops"] = w

	w = ok()
	w.Stack = quietStack()
	w.Stack.Conntrack = &ConntrackWindow{Count: 262000, Max: 262144, PeakFill: 262000.0 / 262144, InsertFailed: 7, Drop: 4000, EarlyDrop: 100}
	m["conntrack_full"] = w

	w = ok()
	w.Stack = quietStack()
	w.Stack.Proto = &triage.ProtoCounters{TCPRetransSegs: 30, ListenOverflows: 50, ListenDrops: 55, UDPRcvbufErrors: 1500, UDP6RcvbufErrors: 500, UDPInErrors: 1500, UDP6InErrors: 500}
	m["endpoint_drops"] = w

	// A saturated link with every kind of loss: the link first, then from
	// the wire inwards; the endpoint's warning is not in the critical
	// summary.
	w = window(bulk, 50_000_000, "shaper")
	w.Interfaces[0].TX.Queue = &Queue{Kind: "tbf", Drops: 1200, Overlimits: 50_000, DropsTotal: 51_200, BacklogBytes: 120_000, BacklogPackets: 80, BacklogSamples: 11, BacklogNonEmpty: 11}
	w.Stack = quietStack()
	w.Stack.NICs[0] = m["nic_drops"].Stack.NICs[0]
	w.Stack.Softnet = m["softirq_drops"].Stack.Softnet
	w.Stack.Conntrack = m["conntrack_full"].Stack.Conntrack
	w.Stack.Proto = m["endpoint_drops"].Stack.Proto
	m["losses_in_order"] = w

	// Conntrack at 90% with nothing dropped yet is full; below it, with no
	// failure, it is not.
	w = ok()
	w.Stack = quietStack()
	w.Stack.Conntrack = &ConntrackWindow{Count: 900, Max: 1000, PeakFill: 0.9}
	m["conntrack_at_threshold"] = w

	// A quiet stack: its evidence is reported, nothing fires; conntrack is
	// not loaded and the driver exposes nothing.
	w = ok()
	w.Stack = quietStack()
	w.Stack.Conntrack = nil
	w.Stack.Absent = []string{"conntrack: not loaded (no /proc/sys/net/netfilter/nf_conntrack_count)"}
	w.Stack.NICs[0] = NICWindow{Interface: "eth0", Note: "the driver exposes no statistics"}
	m["stack_quiet"] = w
	return m
}

// quietStack is a 10 s stack window of eth0 with no loss: a virtio NIC
// with BQL on one queue, 4 CPUs, a conntrack table 1% full.
func quietStack() *Stack {
	return &Stack{Samples: 11, Duration: 10 * time.Second,
		Softnet:   &SoftnetWindow{Processed: 1_000_000, CPUs: []triage.SoftnetDelta{}},
		Proto:     &triage.ProtoCounters{TCPRetransSegs: 3},
		Conntrack: &ConntrackWindow{Count: 2600, Max: 262144, PeakFill: 2600.0 / 262144},
		NICs: []NICWindow{{Interface: "eth0", Driver: "virtio_net", Counters: []triage.NICCounterDelta{
			{Name: "rx_drops", Class: triage.NICDrop}, {Name: "rx0_drops", Class: triage.NICQueueDrop}}}},
		BQL: []BQLWindow{{Interface: "eth0", Queues: []BQLQueueWindow{{Queue: 0, InflightMax: 4542, Limit: 6056, AtLimit: 0, Samples: 11}}}},
	}
}
