package triage

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCompareStack(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	names := []string{"rx_drops", "rx0_drops", "rx1_drops", "rx_kicks", "rx_pause"}
	classes := []NICClass{NICDrop, NICQueueDrop, NICQueueDrop, NICOther, NICPause}
	nic := func(v ...uint64) *NICStats {
		return &NICStats{Driver: "virtio_net", Names: names, Classes: classes, Values: v}
	}
	prev := StackSample{Time: t0,
		Softnet:   []SoftnetCPU{{CPU: 0, Processed: 100, Dropped: 1}, {CPU: 2, Processed: 0xfffffff0, Dropped: 5, TimeSqueeze: 3, FlowLimitCount: 1}},
		Proto:     &ProtoCounters{TCPRetransSegs: 10, ListenDrops: 4, ListenOverflows: 4, UDPRcvbufErrors: 100},
		Conntrack: &ConntrackSample{Count: 10, Max: 100, InsertFailed: 1, Drop: 2, EarlyDrop: 3},
		Ifaces:    []StackIface{{Name: "eth0", NIC: nic(10, 4, 6, 1000, 0)}, {Name: "veth0", NIC: nic(0, 0, 0, 0, 0)}, {Name: "lo", NICNote: "the driver exposes no statistics"}},
	}
	cur := StackSample{Time: t0.Add(2 * time.Second),
		// CPU 2 wrapped at 2^32; CPU 1 came online.
		Softnet:   []SoftnetCPU{{CPU: 0, Processed: 300, Dropped: 1}, {CPU: 1, Processed: 5}, {CPU: 2, Processed: 0x10, Dropped: 25, TimeSqueeze: 4, FlowLimitCount: 11}},
		Proto:     &ProtoCounters{TCPRetransSegs: 30, ListenDrops: 14, ListenOverflows: 10, UDPRcvbufErrors: 100, UDP6RcvbufErrors: 2},
		Conntrack: &ConntrackSample{Count: 95, Max: 100, InsertFailed: 1, Drop: 12, EarlyDrop: 3},
		Ifaces: []StackIface{{Name: "eth0", NIC: nic(30, 14, 16, 2000, 7)},
			{Name: "veth0", NIC: &NICStats{Names: []string{"peer_ifindex"}, Classes: []NICClass{NICOther}, Values: []uint64{3}}},
			{Name: "lo", NICNote: "the driver exposes no statistics"}, {Name: "new0", NIC: nic(1, 1, 1, 1, 1)}},
	}
	got := CompareStack(&prev, &cur)
	want := StackRates{Valid: true, Interval: 2 * time.Second,
		Softnet:      []SoftnetDelta{{CPU: 0, Processed: 200}, {CPU: 2, Processed: 0x20, Dropped: 20, TimeSqueeze: 1, FlowLimit: 10}},
		SoftnetTotal: SoftnetDelta{CPU: -1, Processed: 0x20 + 200, Dropped: 20, TimeSqueeze: 1, FlowLimit: 10},
		Proto:        &ProtoCounters{TCPRetransSegs: 20, ListenDrops: 10, ListenOverflows: 6, UDP6RcvbufErrors: 2},
		Conntrack:    &ConntrackSample{Count: 95, Max: 100, Drop: 10},
		Ifaces: []NICRates{
			{Name: "eth0", Valid: true, Counters: []NICCounterDelta{
				{Name: "rx_drops", Class: NICDrop, Value: 30, Delta: 20}, {Name: "rx0_drops", Class: NICQueueDrop, Value: 14, Delta: 10},
				{Name: "rx1_drops", Class: NICQueueDrop, Value: 16, Delta: 10}, {Name: "rx_pause", Class: NICPause, Value: 7, Delta: 7}}},
			{Name: "veth0", Note: "driver statistics changed"},
			{Name: "lo", Note: "the driver exposes no statistics"},
			{Name: "new0", Note: NoteNew},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("-want +got:\n%s", d)
	}
	if l := got.Ifaces[0].Loss(); l != 20 {
		t.Errorf("eth0 loss = %d: the larger of the device sum (20) and the queue sum (20)", l)
	}
	if e := got.Proto.EndpointDrops(); e != 10+2 {
		t.Errorf("endpoint drops = %d", e)
	}
	if r := got.PerSec(got.SoftnetTotal.Dropped); r != 10 {
		t.Errorf("softnet drops per second = %v", r)
	}

	// Counters that went backwards count from zero.
	back := cur
	back.Time = cur.Time.Add(time.Second)
	back.Proto = &ProtoCounters{TCPRetransSegs: 3}
	r := CompareStack(&cur, &back)
	if !r.Reset || r.Note != NoteReset || r.Proto.TCPRetransSegs != 3 {
		t.Errorf("reset: %+v", r)
	}

	for _, tc := range []struct {
		name      string
		prev, cur *StackSample
		note      string
	}{
		{"first", nil, &cur, NoteFirst},
		{"same time", &cur, &cur, NoteBadInterval},
	} {
		if r := CompareStack(tc.prev, tc.cur); r.Valid || r.Note != tc.note {
			t.Errorf("%s: %+v", tc.name, r)
		}
	}

	// Conntrack without per-CPU statistics gives the gauges only.
	p2, c2 := prev, cur
	p2.Conntrack = &ConntrackSample{Count: 1, Max: 10, NoStats: "no file"}
	c2.Conntrack = &ConntrackSample{Count: 9, Max: 10, Drop: 99, NoStats: "no file"}
	if r := CompareStack(&p2, &c2); r.Conntrack.Drop != 0 || r.Conntrack.Count != 9 || r.Conntrack.Fill() != 0.9 {
		t.Errorf("conntrack without stats: %+v", r.Conntrack)
	}
}

func TestNICLossPrefersTheLargerSum(t *testing.T) {
	tests := []struct {
		name string
		cs   []NICCounterDelta
		want uint64
	}{
		{"queues only", []NICCounterDelta{{Class: NICQueueDrop, Delta: 3}, {Class: NICQueueDrop, Delta: 4}}, 7},
		{"device and queues count the same", []NICCounterDelta{{Class: NICDrop, Delta: 7}, {Class: NICQueueDrop, Delta: 3}, {Class: NICQueueDrop, Delta: 4}}, 7},
		{"missed and allowance add up", []NICCounterDelta{{Class: NICRxMissed, Delta: 5}, {Class: NICAllowance, Delta: 6}, {Class: NICQueueDrop, Delta: 2}}, 11},
		{"pause is not loss", []NICCounterDelta{{Class: NICPause, Delta: 50}}, 0},
	}
	for _, tc := range tests {
		if got := NICLoss(tc.cs); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestClassifyNICCounter(t *testing.T) {
	tests := map[string]NICClass{
		"rx_missed_errors": NICRxMissed, "rx_no_buffer_count": NICRxMissed, "rx_fifo_errors": NICRxMissed,
		"rx_out_of_buffer": NICRxMissed, "RX_NO_DESC": NICRxMissed,
		"rx_queue_0_drops": NICQueueDrop, "rx0_drops": NICQueueDrop, "txq3_discards": NICQueueDrop, "ch2_rx_drop": NICQueueDrop,
		"[1]: rx_discards": NICQueueDrop, "rx-1.drops": NICQueueDrop,
		"rx_drops": NICDrop, "rx_discards_phy": NICDrop, "tx_dropped_link_down": NICDrop,
		"rx_xdp_drops": NICOther, "tx_xdp_tx_drops": NICOther, "rx_packets": NICOther, "peer_ifindex": NICOther,
		"tx_pause_ctrl_phy": NICPause, "link_xoff_rx": NICPause,
		"bw_out_allowance_exceeded": NICAllowance, "linklocal_allowance_exceeded": NICAllowance,
		"conntrack_allowance_available": NICOther,
	}
	for name, want := range tests {
		if got := ClassifyNICCounter(name); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}
