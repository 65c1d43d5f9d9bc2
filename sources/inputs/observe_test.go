package inputs

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"netriage/configs"
	"netriage/triage"
	"netriage/triage/egress"
	"netriage/triage/engine"
	"netriage/triage/flows"
)

// writeUDPPcap writes a pcap of one UDP datagram every 250 ms for secs
// seconds, from 198.18.0.1 to 198.18.0.2, and returns its path.
func writeUDPPcap(t *testing.T, secs int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "udp.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(198, 18, 0, 1), DstIP: net.IPv4(198, 18, 0, 2)}
	udp := &layers.UDP{SrcPort: 40000, DstPort: 5201}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 0; i < secs*4; i++ {
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, gopacket.Payload(make([]byte, 100))); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * 250 * time.Millisecond), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestReadFile: the engine reads the file to its end, each sees every
// step but the last, and the result is the last step's flows labelled
// with the file; a cancelled read says how far it got.
func TestReadFile(t *testing.T) {
	path := writeUDPPcap(t, 4)
	var lastRead, size int64
	var packets uint64
	progress := func(r, sz int64, p uint64, elapsed time.Duration) {
		if elapsed < 0 {
			t.Errorf("progress: elapsed %v", elapsed)
		}
		lastRead, size, packets = r, sz, p
	}
	open := func(ctx context.Context) *Set {
		t.Helper()
		in, err := Open(ctx, Options{Config: configs.Default(), Interval: time.Second, Capture: true, Replay: path, Aggregation: flows.By5Tuple,
			OnProgress: progress})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(in.Close)
		return in
	}
	ctx := context.Background()
	var seen []uint64
	snap, err := ReadFile(ctx, open(ctx), path, func(s *engine.Snapshot) {
		if s.Last {
			t.Error("each was given the last step")
		}
		seen = append(seen, s.Seq)
	})
	if err != nil {
		t.Fatal(err)
	}
	if size == 0 || lastRead != size || packets != 16 {
		t.Errorf("progress ended at %d of %d bytes, %d packets; want the whole file, 16 packets", lastRead, size, packets)
	}
	if len(seen) < 3 {
		t.Errorf("each saw steps %v, want one per second of the file", seen)
	}
	if snap.Capture.Packets != 16 || len(snap.Flows) != 1 || snap.Flows[0].SentPackets != 16 {
		t.Errorf("final snapshot: %d packets, flows %+v; want 16 in one flow", snap.Capture.Packets, snap.Flows)
	}
	if len(snap.Capture.Interfaces) != 1 || snap.Capture.Interfaces[0].Name != path || snap.Start.Location() != time.UTC {
		t.Errorf("not labelled with the file: %+v, start %v", snap.Capture.Interfaces, snap.Start)
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	snap, err = ReadFile(cancelled, open(context.Background()), path, func(*engine.Snapshot) {})
	if err == nil || err.Error() != path+": interrupted after 0 packets" {
		t.Errorf("cancelled read: error %v, want %q", err, path+": interrupted after 0 packets")
	}
	if len(snap.Capture.Interfaces) != 1 || snap.Capture.Interfaces[0].Name != path {
		t.Errorf("cancelled read: snapshot not labelled: %+v", snap.Capture)
	}
}

// stepTicks is a Timeline of n ticks a second apart.
type stepTicks struct {
	t0   time.Time
	i, n int
}

func (k *stepTicks) Next(ctx context.Context) (engine.Tick, bool) {
	if k.i >= k.n || ctx.Err() != nil {
		return engine.Tick{}, false
	}
	k.i++
	return engine.Tick{Time: k.t0.Add(time.Duration(k.i-1) * time.Second)}, true
}

// upLink is an interface-counter reader of one up interface, eth0.
type upLink struct{ n uint64 }

func (l *upLink) Read() (triage.LinksSample, error) {
	l.n++
	return triage.LinksSample{Ifaces: []triage.IfaceSample{{Name: "eth0", Index: 2, OperState: "up", AdminUp: true, MTU: 1500,
		Counters: triage.IfaceCounters{TxBytes: l.n * 2_000_000, TxPackets: l.n * 1400}}}}, nil
}

// sending is a flow source of one flow that sends 1 MB a second.
type sending struct {
	t0 time.Time
	n  uint64
}

func (f *sending) Snapshot(now time.Time) flows.Snapshot {
	f.n++
	k := flows.Key{Proto: flows.ProtoTCP, Local: netip.MustParseAddr("198.18.0.1"), Remote: netip.MustParseAddr("198.18.0.2"), LocalPort: 40000, RemotePort: 443}
	fs := flows.FlowStat{Key: k, Counts: flows.Counts{SentBytes: f.n * 1_000_000, SentPackets: f.n * 700}, Flows: 1}
	fs.Rates.R40.SentBytesPerSec = 1_000_000
	return flows.Snapshot{Seq: f.n, Time: now, Start: f.t0, Flows: []flows.FlowStat{fs}, Totals: fs,
		Capture: flows.Health{Packets: fs.SentPackets, Bytes: fs.SentBytes, Interfaces: []flows.IfaceHealth{{Name: "eth0", Packets: fs.SentPackets}}}}
}

// TestObserveWindowBudgets: check's egress budgets are judged at the
// window's end over the egress rows of its last step; without budgets
// there are no results.
func TestObserveWindowBudgets(t *testing.T) {
	table, err := egress.NewTable(egress.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	budgets, err := egress.ParseBudgets("all=1MB/h", 0.8)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		budgets []egress.Budget
		want    []egress.BudgetState
	}{
		{"a budget exceeded", budgets, []egress.BudgetState{egress.BudgetCritical}},
		{"no budgets", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := configs.CheckRun{Config: configs.Default(), Interval: time.Second, Budgets: tc.budgets}
			run.Config.Check.Window = configs.Duration(3 * time.Second)
			in := &Set{Inputs: engine.Inputs{Timeline: &stepTicks{t0: t0, n: 10}, Links: &upLink{}, Flows: &sending{t0: t0}},
				Config: engine.Config{Watched: []string{"eth0"}, Egress: table}}
			ob, err := ObserveWindow(context.Background(), in, "", run, func(string, time.Duration) {})
			if err != nil {
				t.Fatal(err)
			}
			var got []egress.BudgetState
			for _, r := range ob.Window.EgressBudgets {
				got = append(got, r.State)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("budget states %v, want %v (results %+v)", got, tc.want, ob.Window.EgressBudgets)
			}
			if len(ob.Last.Egress) == 0 {
				t.Error("the last step has no egress rows")
			}
		})
	}
}
