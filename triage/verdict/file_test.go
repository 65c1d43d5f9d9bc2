package verdict

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"netriage/triage/flows"
)

// TestFileWindow: a capture file is one link, named by --link-speed or
// ReplayLink, with the given capacity (or unknown) in both directions, no
// counters and an active capture.
func TestFileWindow(t *testing.T) {
	fl := []Flow{tcp(40000, "198.18.0.2", 1500, 3000)}
	tests := []struct {
		name     string
		linkName string
		bps      uint64
		capt     Capture
		want     Window
	}{
		{
			name: "no link speed", capt: Capture{Packets: 3},
			want: Window{Start: t0, End: t0.Add(time.Second), Replay: "x.pcap", Flows: fl,
				Interfaces: []Interface{{Name: ReplayLink, Captured: true,
					RX: DirCounters{CapacitySource: SourceUnknown}, TX: DirCounters{CapacitySource: SourceUnknown}}},
				Capture: Capture{Active: true, Packets: 3, Interfaces: []string{ReplayLink}}},
		},
		{
			name: "RATE", bps: 100e6,
			want: Window{Start: t0, End: t0.Add(time.Second), Replay: "x.pcap", Flows: fl,
				Interfaces: []Interface{{Name: ReplayLink, Captured: true,
					RX: DirCounters{CapacityBps: 100e6, CapacitySource: SourceUser}, TX: DirCounters{CapacityBps: 100e6, CapacitySource: SourceUser}}},
				Capture: Capture{Active: true, Interfaces: []string{ReplayLink}}},
		},
		{
			name: "IF=RATE, capture interfaces kept", linkName: "wan", bps: 1e9, capt: Capture{Interfaces: []string{"x.pcap"}},
			want: Window{Start: t0, End: t0.Add(time.Second), Replay: "x.pcap", Flows: fl,
				Interfaces: []Interface{{Name: "wan", Captured: true,
					RX: DirCounters{CapacityBps: 1e9, CapacitySource: SourceUser}, TX: DirCounters{CapacityBps: 1e9, CapacitySource: SourceUser}}},
				Capture: Capture{Active: true, Interfaces: []string{"x.pcap"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := FileWindow("x.pcap", t0, t0.Add(time.Second), fl, tc.capt, tc.linkName, tc.bps)
			if d := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.Addr{})); d != "" {
				t.Errorf("window (-want +got):\n%s", d)
			}
		})
	}
}

// TestLinkSpeedAdvice: a capture file's link without a name of its own is
// given with --link-speed RATE; a named link, and every live interface,
// with IF=RATE or the config file.
func TestLinkSpeedAdvice(t *testing.T) {
	fl := []Flow{tcp(40000, "198.18.0.2", 1_000_000, 0)}
	live := window(fl, 0, "")
	live.Interfaces[0].TX.Queue = nil
	liveReplay := live
	liveReplay.Interfaces = []Interface{live.Interfaces[0]}
	liveReplay.Interfaces[0].Name = ReplayLink // a live interface that happens to be called "replay"
	tests := []struct {
		name string
		w    Window
		want string
	}{
		{"file without a name", FileWindow("x.pcap", t0, t0.Add(10*time.Second), fl, Capture{}, "", 0),
			"give the capacity with --link-speed RATE (e.g. --link-speed 100M)"},
		{"live interface", live,
			"give the capacity with --link-speed eth0=RATE (e.g. eth0=1G) or links.speeds in the config file"},
		{"live interface named replay", liveReplay,
			"give the capacity with --link-speed replay=RATE (e.g. replay=1G) or links.speeds in the config file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Evaluate(tc.w, DefaultThresholds())
			tx := r.Interfaces[0].Dir(TX)
			if tx.Verdict != Unknown {
				t.Fatalf("tx verdict %v, want unknown (capacity unknown, no queue evidence)", tx.Verdict)
			}
			if d := cmp.Diff([]string{tc.want}, tx.Advice); d != "" {
				t.Errorf("advice (-want +got):\n%s", d)
			}
		})
	}
}

// TestFileCheckWindow: replay --check's window is the snapshot's flows
// and capture counts over its span, or over the busiest window that was
// read, with -f, -F and the --link-speed link.
func TestFileCheckWindow(t *testing.T) {
	f := tcp(40000, "198.18.0.2", 1500, 3000)
	snap := &flows.Snapshot{Start: t0, Time: t0.Add(60 * time.Second),
		Flows:   []flows.FlowStat{{Key: f.Key, Counts: flows.Counts{SentBytes: 1500, RecvBytes: 3000, SentPackets: 1, RecvPackets: 2}}},
		Capture: flows.Health{Packets: 5, NonIP: 1, Truncated: 1, KernelDrops: 9, Filter: "ignored", Interfaces: []flows.IfaceHealth{{Name: "x.pcap"}}}}
	fl := []Flow{{Key: f.Key, SentBytes: 1500, RecvBytes: 3000, SentPackets: 1, RecvPackets: 2}}
	capt := Capture{Active: true, Packets: 5, NonIP: 1, Truncated: 1, Filter: "udp", LocalNet: "198.18.0.0/15"}
	user := DirCounters{CapacityBps: 10e6, CapacitySource: SourceUser}
	tests := []struct {
		name string
		c    FileCheck
		want Window
	}{
		{"the whole file", FileCheck{File: "x.pcap", Snap: snap, Filter: "udp", LocalNet: "198.18.0.0/15", Bps: 10e6},
			Window{Start: t0, End: t0.Add(60 * time.Second), Replay: "x.pcap", Flows: fl,
				Interfaces: []Interface{{Name: ReplayLink, Captured: true, RX: user, TX: user}},
				Capture:    withIfaces(capt, ReplayLink)}},
		{"the busiest window", FileCheck{File: "x.pcap", Snap: snap, From: t0.Add(30 * time.Second), To: t0.Add(40 * time.Second),
			Filter: "udp", LocalNet: "198.18.0.0/15", Link: "wan"},
			Window{Start: t0.Add(30 * time.Second), End: t0.Add(40 * time.Second), Replay: "x.pcap", Flows: fl,
				Interfaces: []Interface{{Name: "wan", Captured: true,
					RX: DirCounters{CapacitySource: SourceUnknown}, TX: DirCounters{CapacitySource: SourceUnknown}}},
				Capture: withIfaces(capt, "wan")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, tc.c.Window(), cmpopts.EquateComparable(netip.Addr{})); d != "" {
				t.Errorf("window (-want +got):\n%s", d)
			}
		})
	}
}

func withIfaces(c Capture, names ...string) Capture {
	c.Interfaces = names
	return c
}
