package verdict

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/flows"
)

func sample(sec int, ifs ...triage.IfaceSample) triage.LinksSample {
	return triage.LinksSample{Seq: uint64(sec + 1), Time: t0.Add(time.Duration(sec) * time.Second), Ifaces: ifs}
}

func eth(idx int, rx, tx uint64, q *triage.QdiscStats) triage.IfaceSample {
	return triage.IfaceSample{
		Name: "eth0", Index: idx, OperState: "up", AdminUp: true, EthtoolSpeedBps: 1_000_000_000, Qdisc: q,
		Counters: triage.IfaceCounters{RxBytes: rx, TxBytes: tx, RxPackets: rx / 1000, TxPackets: tx / 1000},
	}
}

// lo is a loopback sample (named eth0 for the table): rx and tx count the
// same bytes.
func lo(bytes uint64) triage.IfaceSample {
	return triage.IfaceSample{
		Name: "eth0", Index: 1, OperState: "unknown", AdminUp: true, Loopback: true,
		Counters: triage.IfaceCounters{RxBytes: bytes, TxBytes: bytes, RxPackets: bytes / 1000, TxPackets: bytes / 1000},
	}
}

func tbf(drops, backlog uint64) *triage.QdiscStats {
	return &triage.QdiscStats{Kind: "tbf", Drops: drops, Overlimits: drops * 10, BacklogBytes: backlog, BacklogPackets: backlog / 1000, ShaperRateBps: 50_000_000}
}

func TestFromLinks(t *testing.T) {
	tests := []struct {
		name        string
		samples     []triage.LinksSample
		user        map[string]uint64
		want        []Interface
		wantMissing []string
	}{
		{
			name: "steady with tbf",
			samples: []triage.LinksSample{
				sample(0, eth(2, 1000, 10_000, tbf(5, 0))),
				sample(1, eth(2, 3000, 6_010_000, tbf(105, 30_000))),
				sample(2, eth(2, 5000, 12_010_000, tbf(205, 60_000))),
			},
			want: []Interface{{
				Name: "eth0", LinkHeaderBytes: 14, CounterDuration: 2 * time.Second,
				RX: DirCounters{CapacityBps: 1_000_000_000, CapacitySource: "ethtool", Bytes: 4000, Packets: 4},
				TX: DirCounters{CapacityBps: 50_000_000, CapacitySource: "shaper:tbf", Bytes: 12_000_000, Packets: 12_000,
					Queue: &Queue{Kind: "tbf", Drops: 200, Overlimits: 2000, DropsTotal: 205, BacklogBytes: 60_000, BacklogPackets: 60, BacklogSamples: 3, BacklogNonEmpty: 2}},
			}},
		},
		{
			name: "counter reset is counted from zero",
			samples: []triage.LinksSample{
				sample(0, eth(2, 1_000_000, 1_000_000, nil)),
				sample(1, eth(2, 2_000_000, 2_000_000, nil)),
				sample(2, eth(2, 500_000, 500_000, nil)),
			},
			user: map[string]uint64{"eth0": 100_000_000},
			want: []Interface{{
				Name: "eth0", LinkHeaderBytes: 14, CounterDuration: 2 * time.Second, CounterReset: true,
				RX: DirCounters{CapacityBps: 100_000_000, CapacitySource: "user", Bytes: 1_500_000, Packets: 1500},
				TX: DirCounters{CapacityBps: 100_000_000, CapacitySource: "user", Bytes: 1_500_000, Packets: 1500},
			}},
		},
		{
			name: "re-created interface loses one interval",
			samples: []triage.LinksSample{
				sample(0, eth(2, 1_000_000, 0, nil)),
				sample(1, eth(2, 2_000_000, 0, nil)),
				sample(2, eth(9, 100, 0, nil)),
				sample(3, eth(9, 200, 0, nil)),
			},
			want: []Interface{{
				Name: "eth0", LinkHeaderBytes: 14, CounterDuration: 2 * time.Second, CounterReset: true,
				RX: DirCounters{CapacityBps: 1_000_000_000, CapacitySource: "ethtool", Bytes: 1_000_100, Packets: 1000},
				TX: DirCounters{CapacityBps: 1_000_000_000, CapacitySource: "ethtool"},
			}},
		},
		{
			name: "loopback",
			samples: []triage.LinksSample{
				sample(0, lo(1000)),
				sample(1, lo(3000)),
			},
			want: []Interface{{
				Name: "eth0", LinkHeaderBytes: 14, CounterDuration: time.Second, Loopback: true,
				RX: DirCounters{CapacitySource: "unknown", Bytes: 2000, Packets: 2}, TX: DirCounters{CapacitySource: "unknown", Bytes: 2000, Packets: 2},
			}},
		},
		{
			// Absent from every sample (deleted before the window
			// started): missing, and reported as removed by name.
			name:    "missing interface",
			samples: []triage.LinksSample{sample(0), sample(1)},
			want: []Interface{{Name: "eth0", LinkHeaderBytes: 14, Removed: RemovedInterface,
				RX: DirCounters{CapacitySource: "unknown"}, TX: DirCounters{CapacitySource: "unknown"}}},
			wantMissing: []string{"eth0"},
		},
		{
			// Deleted after 2 s of a 4 s window: removed, counters over
			// those 2 s, no counter reset for the missing pairs.
			name: "deleted mid-window",
			samples: []triage.LinksSample{
				sample(0, eth(2, 1000, 10_000, tbf(5, 0))),
				sample(1, eth(2, 3000, 20_000, tbf(5, 0))),
				sample(2, eth(2, 5000, 30_000, tbf(5, 0))),
				sample(3),
				sample(4),
			},
			want: []Interface{{
				Name: "eth0", LinkHeaderBytes: 14, CounterDuration: 2 * time.Second, Removed: RemovedInterface,
				RX: DirCounters{CapacityBps: 1_000_000_000, CapacitySource: "ethtool", Bytes: 4000, Packets: 4},
				TX: DirCounters{CapacityBps: 50_000_000, CapacitySource: "shaper:tbf", Bytes: 20_000, Packets: 20,
					Queue: &Queue{Kind: "tbf", DropsTotal: 5, BacklogSamples: 3}},
			}},
		},
		{
			// Removed, then re-created under the same name: present at
			// the end, so not removed; the gap is a counter reset.
			name: "deleted and re-created",
			samples: []triage.LinksSample{
				sample(0, eth(2, 1000, 0, nil)),
				sample(1),
				sample(2, eth(7, 500, 0, nil)),
				sample(3, eth(7, 1500, 0, nil)),
			},
			want: []Interface{{
				Name: "eth0", LinkHeaderBytes: 14, CounterDuration: time.Second, CounterReset: true,
				RX: DirCounters{CapacityBps: 1_000_000_000, CapacitySource: "ethtool", Bytes: 1000, Packets: 1},
				TX: DirCounters{CapacityBps: 1_000_000_000, CapacitySource: "ethtool"},
			}},
		},
		{
			// The namespace was deleted after the first second.
			name: "namespace deleted",
			samples: []triage.LinksSample{
				sample(0, eth(2, 1000, 0, nil)),
				sample(1, eth(2, 2000, 0, nil)),
				{Seq: 3, Time: t0.Add(2 * time.Second), NetnsGone: "no /run/netns/web1"},
			},
			want: []Interface{{
				Name: "eth0", LinkHeaderBytes: 14, CounterDuration: time.Second, Removed: RemovedNetns,
				RX: DirCounters{CapacityBps: 1_000_000_000, CapacitySource: "ethtool", Bytes: 1000, Packets: 1},
				TX: DirCounters{CapacityBps: 1_000_000_000, CapacitySource: "ethtool"},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, missing := FromLinks(tc.samples, []string{"eth0"}, tc.user)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("interfaces (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantMissing, missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOwners(t *testing.T) {
	k1 := flows.Key{Proto: flows.ProtoTCP, Local: netip.MustParseAddr("198.18.0.1"), Remote: netip.MustParseAddr("198.18.1.2"), LocalPort: 1, RemotePort: 2}
	k2 := k1
	k2.LocalPort = 3
	k3 := k1
	k3.LocalPort = 4
	k4, k5 := k1, k1
	k4.LocalPort, k5.LocalPort = 5, 6
	pk := attrib.ProcKey{PID: 42, StartTicks: 7}
	rep := attrib.Report{
		Processes: []attrib.ProcRow{{Process: attrib.Process{Key: pk, Program: "nginx", Container: &attrib.Container{Runtime: "docker", ID: "0123456789abcdef0123"}}}},
		Connections: []attrib.ConnRow{
			{Key: k1, Owner: attrib.Owner{Proc: pk}, Program: "nginx"},
			{Key: k2, Owner: attrib.Owner{Reason: attrib.ReasonOtherProto}},
			{Key: k3},
			{Key: k4, Owner: attrib.Owner{Proc: pk}, Program: "nginx", TCP: &attrib.TCPHealth{Limit: attrib.LimitReceiver}},
			{Key: k5, Owner: attrib.Owner{Proc: pk}, Program: "nginx", TCP: &attrib.TCPHealth{Limit: attrib.LimitIdle}},
		},
		Remotes: []attrib.RemoteRow{{Addr: k1.Remote, Name: "peer.example"}},
	}
	want := []*Owner{
		{PID: 42, Program: "nginx", Container: "docker:0123456789ab"},
		{Unattributed: "other protocol"},
		{Unattributed: "unknown"},
		{PID: 42, Program: "nginx", Container: "docker:0123456789ab", Limit: "receiver"},
		{PID: 42, Program: "nginx", Container: "docker:0123456789ab"},
	}
	got := Owners(rep)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}
	if got[0] != got[4] {
		t.Error("k1 and k5 have one owner: want one Owner shared")
	}
	if got := LimitText(want[3]); got != "limited by the receiver" {
		t.Errorf("limit text %q", got)
	}
	if got, wantLabel := OwnerLabel(want[3]), OwnerLabel(want[0]); got != wantLabel {
		t.Errorf("label with a limit %q, without %q", got, wantLabel)
	}
	if got := RemoteNames(rep)[k1.Remote]; got != "peer.example" {
		t.Errorf("remote name %q", got)
	}
}
