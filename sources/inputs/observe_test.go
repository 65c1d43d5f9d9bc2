package inputs

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"netriage/configs"
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
	open := func(ctx context.Context) *Set {
		t.Helper()
		in, err := Open(ctx, Options{Config: configs.Default(), Interval: time.Second, Capture: true, Replay: path, Aggregation: flows.By5Tuple})
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
