package verdict

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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
