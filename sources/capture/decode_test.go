package capture

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"

	"netriage/triage/flows"
)

var addrEq = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

var ts0 = time.Unix(1_700_000_000, 123_000_000).UTC()

type shape struct {
	name  string
	link  LinkType
	frame []byte
	want  Meta
}

func shapes() []shape {
	tcp4 := ip4(v4a, v4b, 6, tcpSeg(40000, 443, 1000), 0, false)
	udp6 := ip6(v6a, v6b, 17, udpDgram(5353, 53, 100))
	ext := ip6(v6a, v6b, 60, cat(ext6(43), ext6(6), tcpSeg(1234, 80, 10))) // dest opts, routing, TCP
	return []shape{
		{"eth_ipv4_tcp", LinkEthernet, ether(etIPv4, tcp4),
			Meta{Packet: flows.Packet{Proto: 6, Src: v4a, Dst: v4b, SrcPort: 40000, DstPort: 443, Length: 1052}, Flags: FlagIP, LinkHeader: 14}},
		{"eth_ipv4_udp_small", LinkEthernet, ether(etIPv4, ip4(v4a, v4b, 17, udpDgram(9, 9, 18), 0, false)),
			Meta{Packet: flows.Packet{Proto: 17, Src: v4a, Dst: v4b, SrcPort: 9, DstPort: 9, Length: 46}, Flags: FlagIP, LinkHeader: 14}},
		{"eth_vlan_ipv6_udp", LinkEthernet, ether(etVLAN, vlanTag(100, etIPv6, udp6)),
			Meta{Packet: flows.Packet{Proto: 17, Src: v6a, Dst: v6b, SrcPort: 5353, DstPort: 53, Length: 148}, Flags: FlagIP | FlagIPv6, LinkHeader: 18}},
		{"eth_qinq_ipv4_tcp", LinkEthernet, ether(etQinQ, vlanTag(10, etVLAN, vlanTag(20, etIPv4, tcp4))),
			Meta{Packet: flows.Packet{Proto: 6, Src: v4a, Dst: v4b, SrcPort: 40000, DstPort: 443, Length: 1052}, Flags: FlagIP, LinkHeader: 22}},
		{"eth_ipv6_ext_tcp", LinkEthernet, ether(etIPv6, ext),
			Meta{Packet: flows.Packet{Proto: 6, Src: v6a, Dst: v6b, SrcPort: 1234, DstPort: 80, Length: 40 + 16 + 42}, Flags: FlagIP | FlagIPv6, LinkHeader: 14}},
		{"eth_ipv4_icmp", LinkEthernet, ether(etIPv4, ip4(v4a, v4b, 1, icmpEcho(56), 0, false)),
			Meta{Packet: flows.Packet{Proto: 1, Src: v4a, Dst: v4b, Length: 84}, Flags: FlagIP, LinkHeader: 14}},
		{"eth_ipv6_icmp6", LinkEthernet, ether(etIPv6, ip6(v6a, v6b, 58, icmpEcho(56))),
			Meta{Packet: flows.Packet{Proto: 58, Src: v6a, Dst: v6b, Length: 104}, Flags: FlagIP | FlagIPv6, LinkHeader: 14}},
		{"eth_ipv4_gre", LinkEthernet, ether(etIPv4, ip4(v4a, v4b, 47, make([]byte, 30), 0, false)),
			Meta{Packet: flows.Packet{Proto: 47, Src: v4a, Dst: v4b, Length: 50}, Flags: FlagIP, LinkHeader: 14}},
		{"eth_ipv4_first_fragment", LinkEthernet, ether(etIPv4, ip4(v4a, v4b, 17, udpDgram(7, 8, 1472)[:1480], 0, true)),
			Meta{Packet: flows.Packet{Proto: 17, Src: v4a, Dst: v4b, SrcPort: 7, DstPort: 8, Length: 1500}, Flags: FlagIP | FlagFragment, LinkHeader: 14}},
		{"eth_ipv4_later_fragment", LinkEthernet, ether(etIPv4, ip4(v4a, v4b, 17, make([]byte, 100), 185, false)),
			Meta{Packet: flows.Packet{Proto: 17, Src: v4a, Dst: v4b, Length: 120}, Flags: FlagIP | FlagFragment, LinkHeader: 14}},
		{"eth_ipv6_first_fragment", LinkEthernet, ether(etIPv6, ip6(v6a, v6b, 44, cat(frag6(17, 0, true), udpDgram(7, 8, 1000)[:800]))),
			Meta{Packet: flows.Packet{Proto: 17, Src: v6a, Dst: v6b, SrcPort: 7, DstPort: 8, Length: 848}, Flags: FlagIP | FlagIPv6 | FlagFragment, LinkHeader: 14}},
		{"eth_ipv6_later_fragment", LinkEthernet, ether(etIPv6, ip6(v6a, v6b, 44, cat(frag6(17, 100, false), make([]byte, 208)))),
			Meta{Packet: flows.Packet{Proto: 17, Src: v6a, Dst: v6b, Length: 256}, Flags: FlagIP | FlagIPv6 | FlagFragment, LinkHeader: 14}},
		{"eth_arp", LinkEthernet, ether(etARP, make([]byte, 28)), Meta{Flags: FlagNonIP, LinkHeader: 14}},
		{"eth_truncated_tcp", LinkEthernet, ether(etIPv4, tcp4)[:14+20+10],
			Meta{Packet: flows.Packet{Proto: 6, Src: v4a, Dst: v4b, Length: 1052}, Flags: FlagIP | FlagTruncated, LinkHeader: 14}},
		{"eth_truncated_ip", LinkEthernet, ether(etIPv4, tcp4)[:14+12], Meta{Flags: FlagTruncated, LinkHeader: 14}},
		{"sll_ipv4_tcp", LinkSLL, sll(etIPv4, tcp4),
			Meta{Packet: flows.Packet{Proto: 6, Src: v4a, Dst: v4b, SrcPort: 40000, DstPort: 443, Length: 1052}, Flags: FlagIP, LinkHeader: 14}},
		{"sll2_ipv6_udp", LinkSLL2, sll2(etIPv6, udp6),
			Meta{Packet: flows.Packet{Proto: 17, Src: v6a, Dst: v6b, SrcPort: 5353, DstPort: 53, Length: 148}, Flags: FlagIP | FlagIPv6, LinkHeader: 14}},
		{"raw_ipv4", LinkRaw, tcp4,
			Meta{Packet: flows.Packet{Proto: 6, Src: v4a, Dst: v4b, SrcPort: 40000, DstPort: 443, Length: 1052}, Flags: FlagIP}},
		{"raw12_ipv6", LinkRawAlt, udp6,
			Meta{Packet: flows.Packet{Proto: 17, Src: v6a, Dst: v6b, SrcPort: 5353, DstPort: 53, Length: 148}, Flags: FlagIP | FlagIPv6}},
		{"ipv4_linktype", LinkIPv4, tcp4,
			Meta{Packet: flows.Packet{Proto: 6, Src: v4a, Dst: v4b, SrcPort: 40000, DstPort: 443, Length: 1052}, Flags: FlagIP}},
		{"null_ipv4", LinkNull, null(2, tcp4),
			Meta{Packet: flows.Packet{Proto: 6, Src: v4a, Dst: v4b, SrcPort: 40000, DstPort: 443, Length: 1052}, Flags: FlagIP}},
		{"null_ipv6_bsd", LinkNull, null(24, udp6),
			Meta{Packet: flows.Packet{Proto: 17, Src: v6a, Dst: v6b, SrcPort: 5353, DstPort: 53, Length: 148}, Flags: FlagIP | FlagIPv6}},
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range shapes() {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDecoder(tc.link)
			if err != nil {
				t.Fatal(err)
			}
			ci := gopacket.CaptureInfo{Timestamp: ts0, Length: len(tc.frame), CaptureLength: len(tc.frame)}
			var m Meta
			d.Decode(tc.frame, &ci, &m)
			want := tc.want
			want.Time = ts0
			want.WireLength, want.CaptureLength = len(tc.frame), len(tc.frame)
			if d := cmp.Diff(want, m, addrEq); d != "" {
				t.Errorf("meta (-want +got):\n%s", d)
			}
		})
	}
}

// TestDecodeGSOLength: a frame longer than 64 KiB with a zero IPv4 length
// (BIG TCP) counts by the wire length.
func TestDecodeGSOLength(t *testing.T) {
	f := ether(etIPv4, ip4(v4a, v4b, 6, tcpSeg(1, 2, 100), 0, false))
	f[14+2], f[14+3] = 0, 0
	d, _ := NewDecoder(LinkEthernet)
	ci := gopacket.CaptureInfo{Timestamp: ts0, Length: 70000, CaptureLength: len(f)}
	var m Meta
	d.Decode(f, &ci, &m)
	if m.Flags&FlagIP == 0 || m.Length != 70000-14 {
		t.Errorf("flags %b length %d", m.Flags, m.Length)
	}
}

func TestNewDecoderUnsupported(t *testing.T) {
	_, err := NewDecoder(LinkType(105)) // 802.11
	if err == nil || !contains(err.Error(), "IEEE802_11") && !contains(err.Error(), "105") {
		t.Fatalf("err %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

// TestDecodeAllocs asserts zero allocations per packet for decode + flow
// update, for every shape.
func TestDecodeAllocs(t *testing.T) {
	for _, tc := range shapes() {
		if tc.want.Flags&FlagTruncated != 0 {
			continue // gopacket builds an error value for unreadable headers
		}
		d, _ := NewDecoder(tc.link)
		tb := flows.NewTable(flows.TableConfig{MaxFlows: 100, Local: flows.NewLocal(netip.MustParsePrefix("198.18.0.0/24"))})
		ci := gopacket.CaptureInfo{Timestamp: ts0, Length: len(tc.frame), CaptureLength: len(tc.frame)}
		var m Meta
		d.Decode(tc.frame, &ci, &m)
		if m.Flags&FlagIP != 0 {
			tb.Update(&m.Packet)
		}
		allocs := testing.AllocsPerRun(500, func() {
			ci.Timestamp = ci.Timestamp.Add(time.Millisecond)
			d.Decode(tc.frame, &ci, &m)
			if m.Flags&FlagIP != 0 {
				tb.Update(&m.Packet)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per packet, want 0", tc.name, allocs)
		}
	}
}

// BenchmarkDecodeUpdate measures decode + flow-table update per packet
// shape (goal: ≤ 200 ns, 0 allocs).
func BenchmarkDecodeUpdate(b *testing.B) {
	for _, tc := range shapes() {
		switch tc.name {
		case "eth_ipv4_tcp", "eth_ipv4_udp_small", "eth_vlan_ipv6_udp", "eth_qinq_ipv4_tcp", "eth_ipv6_ext_tcp", "eth_ipv4_later_fragment", "sll_ipv4_tcp", "raw_ipv4", "eth_arp":
		default:
			continue
		}
		b.Run(tc.name, func(b *testing.B) {
			d, _ := NewDecoder(tc.link)
			tb := flows.NewTable(flows.TableConfig{MaxFlows: 200_000, Local: flows.NewLocal(netip.MustParsePrefix("198.18.0.0/24"))})
			ci := gopacket.CaptureInfo{Timestamp: ts0, Length: len(tc.frame), CaptureLength: len(tc.frame)}
			var m Meta
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.frame)))
			for i := 0; i < b.N; i++ {
				ci.Timestamp = ci.Timestamp.Add(time.Microsecond)
				d.Decode(tc.frame, &ci, &m)
				if m.Flags&FlagIP != 0 {
					tb.Update(&m.Packet)
				}
			}
		})
	}
}
