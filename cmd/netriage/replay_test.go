package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"netriage/triage/verdict"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// replayT0 is the first packet's time of every test capture: a whole second,
// so that capture-time windows are exact.
var replayT0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// Addresses of the test captures: the local host, two IPv4 peers and one
// IPv6 peer (only the documentation ranges of the lab).
var (
	rLocal4  = netip.MustParseAddr("198.18.0.1")
	rPeer4a  = netip.MustParseAddr("198.19.0.10")
	rPeer4b  = netip.MustParseAddr("198.19.0.20")
	rLocal6  = netip.MustParseAddr("fd00:198:18::1")
	rPeer6   = netip.MustParseAddr("fd00:198:18::99")
	rMACA, _ = net.ParseMAC("02:00:00:00:00:01")
	rMACB, _ = net.ParseMAC("02:00:00:00:00:02")
)

// replayPkt is one frame of a test capture with what the accounting must
// make of it.
type replayPkt struct {
	at     time.Duration // after replayT0
	frame  []byte
	caplen int // bytes stored in the file; 0: the whole frame
	// ipLen is the IP packet length (header + payload) the frame carries,
	// 0 when it is not accounted (non-IP, IP header cut).
	ipLen    uint64
	src, dst netip.Addr // IP ends when ipLen > 0
	fragment bool
}

// replayFrame serialises Ethernet (with one 802.1Q tag per entry of vlans)
// and the given layers, fixing lengths and checksums.
func replayFrame(t testing.TB, vlans []uint16, inner layers.EthernetType, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: rMACA, DstMAC: rMACB, EthernetType: inner}
	all := []gopacket.SerializableLayer{eth}
	if len(vlans) > 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		for i, id := range vlans {
			next := layers.EthernetTypeDot1Q
			if i == len(vlans)-1 {
				next = inner
			}
			all = append(all, &layers.Dot1Q{VLANIdentifier: id, Type: next})
		}
	}
	all = append(all, ls...)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, all...); err != nil {
		t.Fatalf("serialise frame: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// ipLenOf reads the IP length back from a frame built by replayFrame.
func ipLenOf(frame []byte, vlans int) uint64 {
	ip := frame[14+4*vlans:]
	if ip[0]>>4 == 6 {
		return 40 + uint64(binary.BigEndian.Uint16(ip[4:]))
	}
	return uint64(binary.BigEndian.Uint16(ip[2:]))
}

func v4(src, dst netip.Addr, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func v6(src, dst netip.Addr, nh layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: nh, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

// tcpPkt is a TCP segment with n payload bytes.
func tcpPkt(t testing.TB, vlans []uint16, src, dst netip.Addr, sp, dp uint16, n int) replayPkt {
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: 1, ACK: true, PSH: true, Window: 65535}
	var fr []byte
	if src.Is4() {
		ip := v4(src, dst, layers.IPProtocolTCP)
		_ = tcp.SetNetworkLayerForChecksum(ip)
		fr = replayFrame(t, vlans, layers.EthernetTypeIPv4, ip, tcp, gopacket.Payload(make([]byte, n)))
	} else {
		ip := v6(src, dst, layers.IPProtocolTCP)
		_ = tcp.SetNetworkLayerForChecksum(ip)
		fr = replayFrame(t, vlans, layers.EthernetTypeIPv6, ip, tcp, gopacket.Payload(make([]byte, n)))
	}
	return replayPkt{frame: fr, ipLen: ipLenOf(fr, len(vlans)), src: src, dst: dst}
}

// udpPkt is a UDP datagram with n payload bytes.
func udpPkt(t testing.TB, vlans []uint16, src, dst netip.Addr, sp, dp uint16, n int) replayPkt {
	udp := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
	var fr []byte
	if src.Is4() {
		ip := v4(src, dst, layers.IPProtocolUDP)
		_ = udp.SetNetworkLayerForChecksum(ip)
		fr = replayFrame(t, vlans, layers.EthernetTypeIPv4, ip, udp, gopacket.Payload(make([]byte, n)))
	} else {
		ip := v6(src, dst, layers.IPProtocolUDP)
		_ = udp.SetNetworkLayerForChecksum(ip)
		fr = replayFrame(t, vlans, layers.EthernetTypeIPv6, ip, udp, gopacket.Payload(make([]byte, n)))
	}
	return replayPkt{frame: fr, ipLen: ipLenOf(fr, len(vlans)), src: src, dst: dst}
}

// udpHeader is a raw UDP header claiming n payload bytes (for fragments).
func udpHeader(sp, dp uint16, n int) []byte {
	h := make([]byte, 8)
	binary.BigEndian.PutUint16(h[0:], sp)
	binary.BigEndian.PutUint16(h[2:], dp)
	binary.BigEndian.PutUint16(h[4:], uint16(8+n))
	return h
}

// frag4 is an IPv4 fragment: offset in 8-byte units, payload raw.
func frag4(t testing.TB, src, dst netip.Addr, off uint16, more bool, payload []byte) replayPkt {
	ip := v4(src, dst, layers.IPProtocolUDP)
	ip.Id = 77
	ip.FragOffset = off
	if more {
		ip.Flags = layers.IPv4MoreFragments
	}
	fr := replayFrame(t, nil, layers.EthernetTypeIPv4, ip, gopacket.Payload(payload))
	return replayPkt{frame: fr, ipLen: ipLenOf(fr, 0), src: src, dst: dst, fragment: true}
}

// frag6 is an IPv6 packet with a Fragment header (next header UDP) and raw
// payload; offset in 8-byte units.
func frag6(t testing.TB, src, dst netip.Addr, off uint16, more bool, payload []byte) replayPkt {
	fh := make([]byte, 8)
	fh[0] = byte(layers.IPProtocolUDP)
	v := off << 3
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(fh[2:], v)
	binary.BigEndian.PutUint32(fh[4:], 0x1234)
	fr := replayFrame(t, nil, layers.EthernetTypeIPv6, v6(src, dst, layers.IPProtocolIPv6Fragment), gopacket.Payload(append(fh, payload...)))
	return replayPkt{frame: fr, ipLen: ipLenOf(fr, 0), src: src, dst: dst, fragment: true}
}

// arpPkt is a non-IP frame.
func arpPkt(t testing.TB) replayPkt {
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: rMACA, SourceProtAddress: rLocal4.AsSlice(),
		DstHwAddress: make([]byte, 6), DstProtAddress: rPeer4a.AsSlice()}
	return replayPkt{frame: replayFrame(t, nil, layers.EthernetTypeARP, arp)}
}

// mixedReplay is the main test capture, 3.5 s long: TCP both ways over
// IPv4, UDP in a VLAN and in QinQ, TCP and UDP over IPv6, ICMP, IPv4 and
// IPv6 fragments, ARP, a packet cut by the snap length (still accounted by
// its IP length) and a frame cut inside its IP header (truncated, not
// accounted).
func mixedReplay(t testing.TB) []replayPkt {
	t.Helper()
	var ps []replayPkt
	add := func(at time.Duration, p replayPkt) {
		p.at = at
		ps = append(ps, p)
	}
	ms := time.Millisecond
	for i := 0; i < 35; i++ {
		at := time.Duration(i) * 100 * ms
		add(at, tcpPkt(t, nil, rLocal4, rPeer4a, 40000, 443, 100+10*i))
		add(at+10*ms, tcpPkt(t, nil, rPeer4a, rLocal4, 443, 40000, 1400))
		if i%5 == 0 {
			add(at+20*ms, udpPkt(t, []uint16{100}, rLocal4, rPeer4b, 5000, 53, 40+i))
			add(at+30*ms, udpPkt(t, []uint16{10, 20}, rPeer4b, rLocal4, 53, 5000, 120))
			add(at+40*ms, tcpPkt(t, nil, rPeer6, rLocal6, 5555, 443, 300))
			add(at+50*ms, tcpPkt(t, []uint16{200}, rLocal6, rPeer6, 443, 5555, 900))
			add(at+60*ms, arpPkt(t))
		}
	}
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: 1}
	fr := replayFrame(t, nil, layers.EthernetTypeIPv4, v4(rLocal4, rPeer4a, layers.IPProtocolICMPv4), icmp, gopacket.Payload(make([]byte, 56)))
	add(1200*ms, replayPkt{frame: fr, ipLen: ipLenOf(fr, 0), src: rLocal4, dst: rPeer4a})
	icmp6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
	ip6 := v6(rLocal6, rPeer6, layers.IPProtocolICMPv6)
	_ = icmp6.SetNetworkLayerForChecksum(ip6)
	fr = replayFrame(t, nil, layers.EthernetTypeIPv6, ip6, icmp6, gopacket.Payload(make([]byte, 64)))
	add(1300*ms, replayPkt{frame: fr, ipLen: ipLenOf(fr, 0), src: rLocal6, dst: rPeer6})
	// A 1,800-byte UDP datagram in two IPv4 fragments, and one of 1,400 in
	// two IPv6 fragments.
	add(2000*ms, frag4(t, rLocal4, rPeer4b, 0, true, append(udpHeader(6000, 7000, 1800), make([]byte, 1472)...)))
	add(2001*ms, frag4(t, rLocal4, rPeer4b, 185, false, make([]byte, 336)))
	add(2100*ms, frag6(t, rLocal6, rPeer6, 0, true, append(udpHeader(6000, 7000, 1400), make([]byte, 1000)...)))
	add(2101*ms, frag6(t, rLocal6, rPeer6, 126, false, make([]byte, 408)))
	// Cut by the snap length after 64 bytes: accounted by its IP length.
	p := tcpPkt(t, nil, rPeer4a, rLocal4, 443, 40000, 1000)
	p.caplen = 64
	add(3000*ms, p)
	// Cut inside the IP header: truncated, not accounted.
	p = tcpPkt(t, nil, rPeer4a, rLocal4, 443, 40000, 1000)
	p.caplen, p.ipLen = 24, 0
	add(3100*ms, p)
	add(3499*ms, udpPkt(t, nil, rPeer4b, rLocal4, 53, 5000, 200))
	return ps
}

// writeReplayPcap writes the packets as a pcap (or pcapng) file and returns
// its path.
func writeReplayPcap(t testing.TB, dir, name string, ps []replayPkt, ng bool) string {
	t.Helper()
	var buf bytes.Buffer
	write := func(ci gopacket.CaptureInfo, data []byte) error { return nil }
	var flush func() error
	if ng {
		w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
		if err != nil {
			t.Fatal(err)
		}
		write, flush = w.WritePacket, w.Flush
	} else {
		w := pcapgo.NewWriter(&buf)
		if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
			t.Fatal(err)
		}
		write = w.WritePacket
	}
	for i, p := range ps {
		data := p.frame
		if p.caplen > 0 {
			data = data[:p.caplen]
		}
		ci := gopacket.CaptureInfo{Timestamp: replayT0.Add(p.at), CaptureLength: len(data), Length: len(p.frame)}
		if err := write(ci, data); err != nil {
			t.Fatalf("write packet %d: %v", i, err)
		}
	}
	if flush != nil {
		if err := flush(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// rateReplay is a capture with a known rate: from replayT0, for secs
// seconds, 100 UDP packets per second of 1,236 IP bytes (1,250 with the
// Ethernet header) from rLocal4 to rPeer4a: exactly 1 Mb/s sent on the link.
func rateReplay(t testing.TB, secs int) []replayPkt {
	t.Helper()
	p := udpPkt(t, nil, rLocal4, rPeer4a, 7000, 9000, 1236-28)
	if p.ipLen != 1236 {
		t.Fatalf("rate packet is %d IP bytes, want 1236", p.ipLen)
	}
	ps := make([]replayPkt, 0, 100*secs)
	for i := 0; i < 100*secs; i++ {
		q := p
		q.at = time.Duration(i) * 10 * time.Millisecond
		ps = append(ps, q)
	}
	return ps
}

// replayWant is what the accounting must find in a test capture.
type replayWant struct {
	packets, nonIP, truncated, fragments, ipBytes uint64
}

func replayTruth(ps []replayPkt) replayWant {
	var w replayWant
	for _, p := range ps {
		w.packets++
		switch {
		case p.ipLen > 0:
			w.ipBytes += p.ipLen
		case p.caplen > 0:
			w.truncated++
		default:
			w.nonIP++
		}
		if p.fragment {
			w.fragments++
		}
	}
	return w
}

// parseRecords parses NDJSON output.
func parseRecords(t testing.TB, out string) []flowsJSON {
	t.Helper()
	var recs []flowsJSON
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r flowsJSON
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record %d is not JSON: %v\n%s", len(recs)+1, err, sc.Text())
		}
		recs = append(recs, r)
	}
	return recs
}

func sumFlows(fs []flowJSON) (bytes, packets uint64) {
	for _, f := range fs {
		bytes += f.SentBytes + f.RecvBytes
		packets += f.SentPackets + f.RecvPackets
	}
	return bytes, packets
}

// TestReplayTotals checks the final record against what the test wrote, for
// pcap and pcapng and every aggregation.
func TestReplayTotals(t *testing.T) {
	dir := t.TempDir()
	ps := mixedReplay(t)
	want := replayTruth(ps)
	files := map[string]string{
		"pcap":   writeReplayPcap(t, dir, "mixed.pcap", ps, false),
		"pcapng": writeReplayPcap(t, dir, "mixed.pcapng", ps, true),
	}
	for kind, file := range files {
		for _, agg := range []string{"hosts", "ports", "5tuple", "source", "destination"} {
			t.Run(kind+"/"+agg, func(t *testing.T) {
				out, errOut, code := runCmd(t, "replay", file, "-n", "--aggregate", agg, "-L", "0", "--output", "json")
				if code != exitOK {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				recs := parseRecords(t, out)
				if len(recs) != 1 {
					t.Fatalf("%d records, want 1 (no --interval)", len(recs))
				}
				r := recs[0]
				c := r.Capture
				if !r.Final || r.Aggregation != agg {
					t.Errorf("final=%v aggregation=%q, want true %q", r.Final, r.Aggregation, agg)
				}
				if c.Packets != want.packets || c.NonIP != want.nonIP || c.Truncated != want.truncated || c.Fragments != want.fragments {
					t.Errorf("capture packets/non_ip/truncated/fragments = %d/%d/%d/%d, want %d/%d/%d/%d",
						c.Packets, c.NonIP, c.Truncated, c.Fragments, want.packets, want.nonIP, want.truncated, want.fragments)
				}
				fb, fp := sumFlows(r.Flows)
				tb := r.Totals.SentBytes + r.Totals.RecvBytes
				if fb != want.ipBytes || tb != want.ipBytes || c.Bytes != want.ipBytes {
					t.Errorf("IP bytes: flows %d, totals %d, capture %d; written %d", fb, tb, c.Bytes, want.ipBytes)
				}
				if wantP := want.packets - want.nonIP - want.truncated; fp != wantP {
					t.Errorf("flow packets %d, want %d", fp, wantP)
				}
				if !r.Start.Equal(replayT0) || r.Start.Location() != time.UTC {
					t.Errorf("start %v, want %v in UTC", r.Start, replayT0)
				}
				if len(c.Interfaces) != 1 || c.Interfaces[0].Name != file || c.Interfaces[0].Packets != want.packets {
					t.Errorf("interfaces %+v, want the file with %d packets", c.Interfaces, want.packets)
				}
			})
		}
	}
}

// TestReplayGolden compares the NDJSON and CSV output of several
// invocations with testdata/replay/*.golden (go test -run TestReplayGolden
// -update rewrites them).
func TestReplayGolden(t *testing.T) {
	dir := t.TempDir()
	file := writeReplayPcap(t, dir, "mixed.pcap", mixedReplay(t), false)
	tests := []struct {
		name string
		args []string
	}{
		{"hosts", []string{"--output", "json"}},
		{"ports-local-net", []string{"-P", "-F", "198.18.0.0/24", "--output", "json"}},
		{"5tuple-interval", []string{"--aggregate", "5tuple", "--interval", "1s", "-o", "total", "--output", "json"}},
		{"source-csv", []string{"--aggregate", "source", "--output", "csv"}},
		{"filter-udp-limit", []string{"-P", "-f", "udp", "-L", "2", "--output", "json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, append([]string{"replay", file, "-n"}, tc.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			got := strings.ReplaceAll(out, file, "FILE")
			golden := filepath.Join("testdata", "replay", tc.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run with -update after checking):\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// TestReplayDirection checks the local side: -F, and the documented default.
func TestReplayDirection(t *testing.T) {
	dir := t.TempDir()
	// The peer speaks first: by default both ends are in 198.18/15, so the
	// first packet's source (the peer) is local; with -F the host is.
	ps := []replayPkt{
		udpPkt(t, nil, rPeer4a, rLocal4, 53, 5000, 100),
		udpPkt(t, nil, rLocal4, rPeer4a, 5000, 53, 300),
		udpPkt(t, nil, rLocal4, netip.MustParseAddr("203.0.113.7"), 5000, 53, 500),
	}
	for i := range ps {
		ps[i].at = time.Duration(i) * time.Millisecond
	}
	file := writeReplayPcap(t, dir, "dir.pcap", ps, false)
	type row struct {
		local, remote string
		sent, recv    uint64
	}
	tests := []struct {
		name string
		args []string
		want []row
	}{
		{"default", nil, []row{{"198.18.0.1", "203.0.113.7", 528, 0}, {"198.19.0.10", "198.18.0.1", 128, 328}}},
		{"-F host net", []string{"-F", "198.18.0.0/24"}, []row{{"198.18.0.1", "203.0.113.7", 528, 0}, {"198.18.0.1", "198.19.0.10", 328, 128}}},
		{"-F peer net", []string{"-F", "198.19.0.0/16"}, []row{{"198.19.0.10", "198.18.0.1", 128, 328}, {"198.18.0.1", "203.0.113.7", 528, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, append([]string{"replay", file, "-n", "-o", "total", "--output", "json"}, tc.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			r := parseRecords(t, out)[0]
			var got []row
			for _, f := range r.Flows {
				got = append(got, row{*f.LocalAddr, *f.RemoteAddr, f.SentBytes, f.RecvBytes})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("flows %+v, want %+v", got, tc.want)
			}
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					found = found || g == w
				}
				if !found {
					t.Errorf("flow %+v missing from %+v", w, got)
				}
			}
		})
	}
}

// TestReplayIntervals checks --interval: one record per second of capture
// time, cumulative totals that only grow, and the last record final with the
// whole file.
func TestReplayIntervals(t *testing.T) {
	dir := t.TempDir()
	ps := mixedReplay(t)
	file := writeReplayPcap(t, dir, "mixed.pcap", ps, false)
	out, errOut, code := runCmd(t, "replay", file, "-n", "--interval", "1s", "--output", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	recs := parseRecords(t, out)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 3 intervals + final", len(recs))
	}
	var prev uint64
	for i, r := range recs {
		if want := replayT0.Add(time.Duration(i+1) * time.Second); !r.Time.Equal(want) {
			t.Errorf("record %d at %v, want %v", i, r.Time, want)
		}
		if r.Final != (i == len(recs)-1) {
			t.Errorf("record %d final=%v", i, r.Final)
		}
		tot := r.Totals.SentBytes + r.Totals.RecvBytes
		if tot < prev {
			t.Errorf("record %d: totals went down from %d to %d", i, prev, tot)
		}
		prev = tot
	}
	if want := replayTruth(ps).ipBytes; prev != want {
		t.Errorf("final totals %d, want %d", prev, want)
	}
}

// TestReplayBadInput checks messages and exit codes, and that a damaged file
// still reports what was read before the damage.
func TestReplayBadInput(t *testing.T) {
	dir := t.TempDir()
	ps := mixedReplay(t)
	good := writeReplayPcap(t, dir, "good.pcap", ps, false)
	b, _ := os.ReadFile(good)
	// Cut in the middle of the 11th record: 24-byte file header, then
	// records of 16 bytes of header plus the frame.
	off := 24
	for _, p := range ps[:10] {
		n := len(p.frame)
		if p.caplen > 0 {
			n = p.caplen
		}
		off += 16 + n
	}
	trunc := filepath.Join(dir, "trunc.pcap")
	mustWriteFile(t, trunc, b[:off+30])
	// A record header claiming a frame larger than any snap length.
	corrupt := filepath.Join(dir, "corrupt.pcap")
	bad := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(bad[off+8:], 0x7fffffff)
	mustWriteFile(t, corrupt, bad)
	junk := filepath.Join(dir, "junk.pcap")
	mustWriteFile(t, junk, []byte("this is not a capture file"))
	var lt bytes.Buffer
	w := pcapgo.NewWriter(&lt)
	_ = w.WriteFileHeader(65535, layers.LinkType(147))
	_ = w.WritePacket(gopacket.CaptureInfo{Timestamp: replayT0, CaptureLength: 4, Length: 4}, []byte{1, 2, 3, 4})
	user := filepath.Join(dir, "user147.pcap")
	mustWriteFile(t, user, lt.Bytes())

	tests := []struct {
		name       string
		args       []string
		code       int
		wantErr    []string
		wantOut    []string
		wantRecord bool
	}{
		{"missing file", []string{"replay", filepath.Join(dir, "nope.pcap")}, exitUsage, []string{"nope.pcap", "no such file"}, nil, false},
		{"truncated", []string{"replay", trunc, "-n"}, exitFailure, []string{"trunc.pcap", fmt.Sprintf("byte %d ", off), "after 10 packets", "The record above covers the 10 packets"}, []string{"note: incomplete: ", "10 packets"}, false},
		{"truncated json", []string{"replay", trunc, "-n", "--output", "json"}, exitFailure, []string{"trunc.pcap", "byte "}, []string{`"final":true`, `"notes":["incomplete: `}, true},
		{"corrupt record", []string{"replay", corrupt, "-n", "--output", "json"}, exitFailure, []string{"corrupt.pcap", fmt.Sprintf("byte %d ", off)}, []string{`"packets":10,`}, true},
		{"not a capture", []string{"replay", junk}, exitFailure, []string{"junk.pcap", "not a pcap or pcapng file"}, nil, false},
		{"unsupported link type", []string{"replay", user}, exitUsage, []string{"user147.pcap", "unsupported link type 147"}, nil, false},
		{"filter syntax", []string{"replay", good, "-f", "tcp port"}, exitUsage, []string{`filter "tcp port"`, "syntax error"}, nil, false},
		{"filter bad port", []string{"replay", good, "-f", "port 99999"}, exitUsage, []string{`filter "port 99999"`, "99999"}, nil, false},
		{"no file", []string{"replay"}, exitUsage, []string{"exactly one capture file"}, nil, false},
		{"two files", []string{"replay", good, good}, exitUsage, []string{"exactly one capture file"}, nil, false},
		{"bad output", []string{"replay", good, "--output", "markdown"}, exitUsage, []string{"markdown"}, nil, false},
		{"bad -F", []string{"replay", good, "-F", "198.18.0.1"}, exitUsage, []string{"-F", "NET/LEN"}, nil, false},
		{"bad interval", []string{"replay", good, "--interval", "-1s"}, exitUsage, []string{"--interval"}, nil, false},
		{"bad aggregate", []string{"replay", good, "--aggregate", "nope"}, exitUsage, []string{"--aggregate"}, nil, false},
		{"link speed without check", []string{"replay", good, "--link-speed", "1G"}, exitUsage, []string{"--check"}, nil, false},
		{"check bad output", []string{"replay", good, "--check", "--link-speed", "1G", "--output", "csv"}, exitUnknown, []string{"csv"}, nil, false},
		{"check bad speed", []string{"replay", good, "--check", "--link-speed", "fast"}, exitUnknown, []string{"fast"}, nil, false},
		{"check missing file", []string{"replay", filepath.Join(dir, "nope.pcap"), "--check", "--link-speed", "1G"}, exitUnknown, []string{"nope.pcap"}, nil, false},
		{"check bad filter", []string{"replay", good, "--check", "--link-speed", "1G", "-f", "tcp port"}, exitUnknown, []string{"syntax error"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not contain %q", errOut, w)
				}
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout %q does not contain %q", out, w)
				}
			}
			if tc.wantRecord {
				if recs := parseRecords(t, out); len(recs) != 1 || !recs[0].Final || recs[0].Capture.Packets == 0 {
					t.Errorf("want one final record of the packets before the damage, got %d records", len(recs))
				}
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Errorf("stack trace on stderr: %s", errOut)
			}
		})
	}
}

func mustWriteFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReplayCheckKnownRate runs --check on a capture of exactly 1 Mb/s sent (link
// bytes) for 10 s against several link speeds.
func TestReplayCheckKnownRate(t *testing.T) {
	dir := t.TempDir()
	file := writeReplayPcap(t, dir, "rate.pcap", rateReplay(t, 10), false)
	tests := []struct {
		name        string
		speed       []string
		code        int
		verdict     string
		iface       string
		utilization float64
	}{
		{"saturated", []string{"--link-speed", "1M"}, 2, "saturated", "replay", 1.0},
		{"warning", []string{"--link-speed", "1.2M"}, 1, "ok", "replay", 1 / 1.2},
		{"ok", []string{"--link-speed", "10M"}, 0, "ok", "replay", 0.1},
		{"named link", []string{"--link-speed", "eth0=100M"}, 0, "ok", "eth0", 0.01},
		{"unknown", nil, 3, "unknown", "replay", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, append([]string{"replay", file, "--check", "--output", "json"}, tc.speed...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			var rep struct {
				Verdict    string `json:"verdict"`
				ExitCode   int    `json:"exit_code"`
				Replay     string `json:"replay"`
				Interfaces []struct {
					Name string `json:"name"`
					TX   struct {
						Verdict     string   `json:"verdict"`
						Utilization *float64 `json:"utilization"`
						Coverage    struct {
							Ratio *float64 `json:"ratio"`
						} `json:"coverage"`
						ExplainedBy []struct {
							Share float64 `json:"share"`
						} `json:"explained_by"`
					} `json:"tx"`
				} `json:"interfaces"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if rep.ExitCode != tc.code || rep.Replay != file || len(rep.Interfaces) != 1 {
				t.Fatalf("exit_code %d replay %q interfaces %d", rep.ExitCode, rep.Replay, len(rep.Interfaces))
			}
			ifc := rep.Interfaces[0]
			if ifc.Name != tc.iface || ifc.TX.Verdict != tc.verdict {
				t.Errorf("interface %q tx verdict %q, want %q %q", ifc.Name, ifc.TX.Verdict, tc.iface, tc.verdict)
			}
			if tc.utilization > 0 {
				if ifc.TX.Utilization == nil || *ifc.TX.Utilization < tc.utilization*0.999 || *ifc.TX.Utilization > tc.utilization*1.001 {
					t.Errorf("tx utilization %v, want %.4f", ifc.TX.Utilization, tc.utilization)
				}
				if len(ifc.TX.ExplainedBy) != 1 || ifc.TX.ExplainedBy[0].Share != 1 {
					t.Errorf("explained_by %+v, want the one flow with share 1", ifc.TX.ExplainedBy)
				}
			}
			if ifc.TX.Coverage.Ratio != nil {
				t.Errorf("coverage ratio %v, want null for a capture file", *ifc.TX.Coverage.Ratio)
			}
		})
	}
	for _, outFmt := range []string{"text", "markdown"} {
		t.Run(outFmt, func(t *testing.T) {
			out, errOut, code := runCmd(t, "replay", file, "--check", "--link-speed", "1M", "--output", outFmt)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, errOut)
			}
			for _, w := range []string{"CRITICAL (saturated)", "coverage n/a", "198.19.0.10"} {
				if !strings.Contains(out, w) {
					t.Errorf("%s output does not contain %q:\n%s", outFmt, w, out)
				}
			}
		})
	}
}

// TestReplayProgress checks that progress goes to stderr only when it is a
// terminal, and never to stdout.
func TestReplayProgress(t *testing.T) {
	file := writeReplayPcap(t, t.TempDir(), "mixed.pcap", mixedReplay(t), false)
	for _, term := range []bool{false, true} {
		var o, e bytes.Buffer
		code := dispatch(context.Background(), &cmdEnv{stdout: &o, stderr: &e, stderrIsTerminal: term}, []string{"replay", file, "-n", "--output", "json"})
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, e.String())
		}
		if got := strings.Contains(e.String(), "packets/s"); got != term {
			t.Errorf("terminal=%v: progress shown=%v (stderr %q)", term, got, e.String())
		}
		if term && !strings.Contains(e.String(), "(100%)") {
			t.Errorf("progress does not end at 100%%: %q", e.String())
		}
		if len(parseRecords(t, o.String())) != 1 {
			t.Errorf("terminal=%v: stdout is not one record: %q", term, o.String())
		}
	}
}

// TestReplayInterrupted checks that a cancelled replay still prints its
// record and says it was interrupted.
func TestReplayInterrupted(t *testing.T) {
	file := writeReplayPcap(t, t.TempDir(), "mixed.pcap", mixedReplay(t), false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var o, e bytes.Buffer
	code := dispatch(ctx, &cmdEnv{stdout: &o, stderr: &e}, []string{"replay", file, "-n", "--output", "json"})
	if code != exitFailure || !strings.Contains(e.String(), "interrupted after 0 packets") {
		t.Errorf("exit %d, stderr %q; want 1 and the interruption", code, e.String())
	}
	if recs := parseRecords(t, o.String()); len(recs) != 1 || !recs[0].Final {
		t.Errorf("want the final record even when interrupted, got %q", o.String())
	}
}

// TestReplayCheckBusiestWindow: a 20 Mb/s burst of 5 s in a quiet 60 s
// file is judged over the busiest 10 s (the burst: saturated on a 10M
// link), not the whole file's average, and the run says which window.
func TestReplayCheckBusiestWindow(t *testing.T) {
	var ps []replayPkt
	add := func(at time.Duration, p replayPkt) { p.at = at; ps = append(ps, p) }
	for s := 0; s < 60; s++ {
		add(time.Duration(s)*time.Second, udpPkt(t, nil, rLocal4, rPeer4b, 40000, 5201, 100)) // quiet
		if s >= 30 && s < 35 {
			for i := 0; i < 1700; i++ { // ~20 Mb/s of 1,500-byte datagrams
				add(time.Duration(s)*time.Second+time.Duration(i)*500*time.Microsecond, udpPkt(t, nil, rLocal4, rPeer4b, 40001, 5201, 1400))
			}
		}
	}
	path := writeReplayPcap(t, t.TempDir(), "burst.pcap", ps, false)
	out, errOut, code := runCmd(t, "replay", "--check", "--link-speed", "10M", "-O", "json", path)
	var r verdict.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("exit %d, no report: %v\n%s\n%s", code, err, out, errOut)
	}
	tx := r.Interfaces[0].TX
	if code != 2 || tx.Verdict != verdict.Saturated || tx.Utilization == nil || *tx.Utilization < 0.95 {
		t.Errorf("exit %d, tx %v at %v: want 2, saturated, about 100%% (the burst's 10 s, not the 60 s average)", code, tx.Verdict, tx.Utilization)
	}
	if !strings.Contains(errOut, "judging the busiest 10s of the file, 10:00:2") {
		t.Errorf("stderr does not say which window: %q", errOut)
	}
}
