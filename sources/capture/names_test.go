package capture

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/net/dns/dnsmessage"

	"netriage/triage/names"
)

// dnsResponse is a DNS response naming name → addr.
func dnsResponse(t testing.TB, name string, addr netip.Addr) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 1, Response: true})
	_ = b.StartQuestions()
	n := dnsmessage.MustNewName(name)
	_ = b.Question(dnsmessage.Question{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	_ = b.StartAnswers()
	_ = b.AResource(dnsmessage.ResourceHeader{Name: n, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: addr.As4()})
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// frame serialises an Ethernet frame (with a VLAN tag when vlan) carrying
// l4 and payload over IPv4 or IPv6.
func frame(t testing.TB, v6, vlan bool, l4 gopacket.SerializableLayer, payload []byte) []byte {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	var ls []gopacket.SerializableLayer
	ls = append(ls, eth)
	et := layers.EthernetTypeIPv4
	if v6 {
		et = layers.EthernetTypeIPv6
	}
	if vlan {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: 7, Type: et})
	} else {
		eth.EthernetType = et
	}
	var nl gopacket.NetworkLayer
	if v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: net.ParseIP("fd00:198:18::5:2"), DstIP: net.ParseIP("fd00:198:18::1:1")}
		nl = ip
		ls = append(ls, ip)
	} else {
		ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: net.IP{198, 18, 5, 2}, DstIP: net.IP{198, 18, 1, 1}}
		nl = ip
		ls = append(ls, ip)
	}
	switch l := l4.(type) {
	case *layers.UDP:
		_ = l.SetNetworkLayerForChecksum(nl)
		setProto(nl, layers.IPProtocolUDP)
	case *layers.TCP:
		_ = l.SetNetworkLayerForChecksum(nl)
		setProto(nl, layers.IPProtocolTCP)
	}
	ls = append(ls, l4, gopacket.Payload(payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func setProto(nl gopacket.NetworkLayer, p layers.IPProtocol) {
	switch ip := nl.(type) {
	case *layers.IPv4:
		ip.Protocol = p
	case *layers.IPv6:
		ip.NextHeader = p
	}
}

// TestNameTap: DNS answers over UDP and TCP (IPv4, IPv6, a VLAN tag) name
// their addresses; a ClientHello names its destination; other packets and
// a fragment are left alone.
func TestNameTap(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	addr := netip.MustParseAddr("198.18.2.2")
	msg := dnsResponse(t, "peer.lab.example.", addr)
	tcpMsg := append([]byte{byte(len(msg) >> 8), byte(len(msg))}, msg...)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"udp v4", frame(t, false, false, &layers.UDP{SrcPort: 53, DstPort: 40000}, msg), "peer.lab.example"},
		{"udp v6 vlan", frame(t, true, true, &layers.UDP{SrcPort: 53, DstPort: 40000}, msg), "peer.lab.example"},
		{"tcp v4", frame(t, false, false, &layers.TCP{SrcPort: 53, DstPort: 40000, DataOffset: 5, PSH: true, ACK: true, Window: 100}, tcpMsg), "peer.lab.example"},
		{"query port", frame(t, false, false, &layers.UDP{SrcPort: 40000, DstPort: 53}, msg), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tap := NewNameTap(names.NewCache(16))
			tap.Packet(LinkEthernet, tc.data, now)
			e, _ := tap.Cache().Lookup(addr, now)
			if e.Name != tc.want {
				t.Errorf("name %q, want %q (stats %+v)", e.Name, tc.want, tap.Stats())
			}
		})
	}
	// A fragment is refused, as the ring's snap length would cut it.
	frag := frame(t, false, false, &layers.UDP{SrcPort: 53, DstPort: 40000}, msg)
	frag[14+6] |= 0x20 // more fragments
	tap := NewNameTap(names.NewCache(16))
	tap.Packet(LinkEthernet, frag, now)
	if st := tap.Stats(); st.Messages != 0 {
		t.Errorf("a fragment was parsed: %+v", st)
	}
	// Raw IP (a cooked ring's link type) works too.
	raw := frame(t, false, false, &layers.UDP{SrcPort: 53, DstPort: 40000}, msg)[14:]
	tap.Packet(LinkRawAlt, raw, now)
	if e, _ := tap.Cache().Lookup(addr, now); e.Name != "peer.lab.example" {
		t.Errorf("raw IP: %+v", e)
	}
}

// FuzzNameTap: any bytes of any link type, never a panic.
func FuzzNameTap(f *testing.F) {
	msg := dnsResponse(f, "a.example.", netip.MustParseAddr("198.18.2.2"))
	f.Add(uint8(0), frame(f, false, false, &layers.UDP{SrcPort: 53, DstPort: 1}, msg))
	f.Add(uint8(0), frame(f, true, true, &layers.TCP{SrcPort: 53, DstPort: 1, DataOffset: 5}, append([]byte{0, byte(len(msg))}, msg...)))
	f.Add(uint8(1), frame(f, false, false, &layers.UDP{SrcPort: 53, DstPort: 1}, msg)[14:])
	f.Add(uint8(2), []byte{0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0})
	links := []LinkType{LinkEthernet, LinkRawAlt, LinkSLL, LinkSLL2, LinkNull, LinkIPv6, 9999}
	tap := NewNameTap(names.NewCache(64))
	f.Fuzz(func(t *testing.T, l uint8, data []byte) {
		tap.Packet(links[int(l)%len(links)], data, time.Unix(1_800_000_000, 0))
	})
}
