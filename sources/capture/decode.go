package capture

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"netriage/triage/flows"
)

// Flags describe what the decoder found in a frame.
type Flags uint8

// Decoder flags.
const (
	// FlagIP: the frame carries an IPv4 or IPv6 packet whose header was
	// read; Meta.Packet is valid and the packet is accounted.
	FlagIP Flags = 1 << iota
	// FlagNonIP: the frame is not IP (ARP, LLDP, ...): counted, not
	// accounted to a flow.
	FlagNonIP
	// FlagTruncated: headers were cut by the snap length or are malformed.
	// With FlagIP the packet is still accounted (ports may be zero);
	// without it the frame could not be attributed at all.
	FlagTruncated
	// FlagFragment: an IPv4 or IPv6 fragment. The first fragment carries
	// the ports and joins its 5-tuple flow; later fragments have no ports
	// and are accounted to the port-less flow of the same protocol and
	// addresses.
	FlagFragment
	// FlagIPv6: the packet is IPv6.
	FlagIPv6
)

// Meta is the fixed-size metadata of one captured frame. It aliases nothing:
// the frame's buffer may be reused as soon as Decode returns.
type Meta struct {
	// Packet is what the flow table consumes; valid when Flags has FlagIP.
	flows.Packet
	// Flags says what was decoded.
	Flags Flags
	// IfIndex is the interface index reported by the capture (0 for files).
	IfIndex int
	// WireLength is the frame length on the wire as the capture reported it
	// (CaptureInfo.Length); CaptureLength is how much of it was captured.
	WireLength, CaptureLength int
	// LinkHeader is the link-layer bytes to add to the IP length for
	// comparing with interface counters: the Ethernet header as captured
	// (14, 18 with one VLAN tag, 22 with two), 14 (+4 per tag) for Linux
	// cooked captures, 0 for raw IP and loopback files.
	LinkHeader uint16
}

// LinkType is a capture file's link type (LINKTYPE_* number). gopacket's
// layers.LinkType is 8 bits wide and cannot hold LINKTYPE_LINUX_SLL2 (276).
type LinkType uint32

// Link types the decoder reads.
const (
	LinkNull     LinkType = 0
	LinkEthernet LinkType = 1
	LinkRawAlt   LinkType = 12 // DLT_RAW on most platforms
	LinkRawBSD   LinkType = 14 // DLT_RAW on OpenBSD
	LinkRaw      LinkType = 101
	LinkLoop     LinkType = 108
	LinkSLL      LinkType = 113
	LinkIPv4     LinkType = 228
	LinkIPv6     LinkType = 229
	LinkSLL2     LinkType = 276

	sll2HeaderBytes = 20
)

// ErrUnsupportedLinkType is returned (wrapped) by NewDecoder for link types
// the decoder cannot read.
var ErrUnsupportedLinkType = fmt.Errorf("unsupported link type")

// LinkTypeName names a link type for messages ("Ethernet", "LinuxSLL", or
// the number).
func LinkTypeName(lt LinkType) string {
	switch lt {
	case LinkNull:
		return "NULL (0)"
	case LinkEthernet:
		return "Ethernet (1)"
	case LinkRawAlt, LinkRawBSD, LinkRaw:
		return fmt.Sprintf("raw IP (%d)", lt)
	case LinkLoop:
		return "LOOP (108)"
	case LinkSLL:
		return "Linux cooked SLL (113)"
	case LinkIPv4:
		return "IPv4 (228)"
	case LinkIPv6:
		return "IPv6 (229)"
	case LinkSLL2:
		return "Linux cooked SLL2 (276)"
	}
	if lt < 256 {
		if s := layers.LinkType(lt).String(); s != "" && s[0] != 'U' { // not "UnknownLinkType(N)"
			return fmt.Sprintf("%s (%d)", s, lt)
		}
	}
	return fmt.Sprintf("%d", lt)
}

// SupportedLinkTypes lists the link types Decode reads, for messages.
const SupportedLinkTypes = "Ethernet (1), Linux cooked SLL (113) and SLL2 (276), raw IP (12, 14, 101, 228, 229), loopback/NULL (0, 108)"

// Decoder decodes frames of one link type in place, with preallocated
// gopacket layers and DecodingLayerParsers. A Decoder is not safe for
// concurrent use; use one per capture goroutine.
type Decoder struct {
	link LinkType
	// mac, when set, is the capturing interface's own address: Ethernet
	// frames from it were transmitted, others received (Packet.Hint).
	mac    [6]byte
	hasMAC bool

	eth   layers.Ethernet
	dot1q layers.Dot1Q
	sll   layers.LinuxSLL
	lo    layers.Loopback
	ip4   layers.IPv4
	ip6   layers.IPv6
	ext   layers.IPv6ExtensionSkipper
	frag  ipv6Frag
	tcp   layers.TCP
	udp   layers.UDP
	icmp4 layers.ICMPv4
	icmp6 layers.ICMPv6

	pEth, pSLL, pLo, pIP4, pIP6, pDot1Q *gopacket.DecodingLayerParser
	decoded                             []gopacket.LayerType

	noFast bool // tests: always take the parser path
}

// NewDecoder returns a decoder for link type lt, or an error wrapping
// ErrUnsupportedLinkType.
func NewDecoder(lt LinkType) (*Decoder, error) {
	switch lt {
	case LinkEthernet, LinkSLL, LinkSLL2, LinkNull, LinkLoop, LinkRaw, LinkRawAlt, LinkRawBSD, LinkIPv4, LinkIPv6:
	default:
		return nil, fmt.Errorf("%w %s; supported: %s", ErrUnsupportedLinkType, LinkTypeName(lt), SupportedLinkTypes)
	}
	d := &Decoder{link: lt, decoded: make([]gopacket.LayerType, 0, 16)}
	all := []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.sll, &d.lo, &d.ip4, &d.ip6, &d.ext, &d.frag, &d.tcp, &d.udp, &d.icmp4, &d.icmp6}
	mk := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first)
		p.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
		for _, l := range all {
			p.AddDecodingLayer(l) // frag after ext: it takes the Fragment type
		}
		p.IgnoreUnsupported = true
		return p
	}
	d.pEth, d.pSLL, d.pLo = mk(layers.LayerTypeEthernet), mk(layers.LayerTypeLinuxSLL), mk(layers.LayerTypeLoopback)
	d.pIP4, d.pIP6, d.pDot1Q = mk(layers.LayerTypeIPv4), mk(layers.LayerTypeIPv6), mk(layers.LayerTypeDot1Q)
	return d, nil
}

// SetLocalMAC gives the decoder the capturing interface's hardware address,
// so Ethernet frames get a direction hint from their source address.
func (d *Decoder) SetLocalMAC(mac []byte) {
	if len(mac) == 6 {
		copy(d.mac[:], mac)
		d.hasMAC = true
	}
}

// LinkType returns the decoder's link type.
func (d *Decoder) LinkType() LinkType { return d.link }

// Decode fills m from one frame. It never fails: what it could not read is
// reported in m.Flags. data is not retained.
func (d *Decoder) Decode(data []byte, ci *gopacket.CaptureInfo, m *Meta) {
	*m = Meta{IfIndex: ci.InterfaceIndex, WireLength: ci.Length, CaptureLength: ci.CaptureLength}
	m.Time = ci.Timestamp
	if m.WireLength < len(data) {
		m.WireLength = len(data)
	}
	if !d.noFast && d.fast(data, m) {
		return
	}
	var p *gopacket.DecodingLayerParser
	var linkHdr int
	switch d.link {
	case LinkEthernet:
		p = d.pEth
	case LinkSLL:
		p, linkHdr = d.pSLL, 14
	case LinkSLL2:
		if len(data) < sll2HeaderBytes {
			m.Flags |= FlagTruncated
			return
		}
		linkHdr = 14
		switch layers.EthernetType(binary.BigEndian.Uint16(data[0:2])) {
		case layers.EthernetTypeIPv4:
			p = d.pIP4
		case layers.EthernetTypeIPv6:
			p = d.pIP6
		case layers.EthernetTypeDot1Q, layers.EthernetTypeQinQ:
			p = d.pDot1Q
		default:
			m.Flags |= FlagNonIP
			return
		}
		data = data[sll2HeaderBytes:]
	case LinkNull, LinkLoop:
		p = d.pLo
	default: // raw IP
		if len(data) == 0 {
			m.Flags |= FlagTruncated
			return
		}
		switch data[0] >> 4 {
		case 4:
			p = d.pIP4
		case 6:
			p = d.pIP6
		default:
			m.Flags |= FlagNonIP
			return
		}
	}
	// p.Truncated only says the payload was cut (the normal case for a
	// capture with a small snap length); a header that cannot be read is
	// a decoder error.
	err := p.DecodeLayers(data, &d.decoded)
	var ipSeen, l4Seen bool
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeEthernet:
			linkHdr = 14
			if d.hasMAC {
				if [6]byte(d.eth.SrcMAC) == d.mac {
					m.Hint = flows.SideSent
				} else {
					m.Hint = flows.SideRecv
				}
			}
		case layers.LayerTypeDot1Q:
			linkHdr += 4
		case layers.LayerTypeIPv4:
			ipSeen = true
			d.fromIPv4(m)
		case layers.LayerTypeIPv6:
			ipSeen = true
			d.fromIPv6(m, data)
		case layers.LayerTypeIPv6Fragment:
			m.Flags |= FlagFragment
		case layers.LayerTypeTCP:
			l4Seen = true
			m.SrcPort, m.DstPort = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
		case layers.LayerTypeUDP:
			l4Seen = true
			m.SrcPort, m.DstPort = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
		}
	}
	m.LinkHeader = uint16(linkHdr)
	if err != nil && (!ipSeen || m.Flags&FlagFragment == 0) {
		// A fragment's L4 header may legitimately be short.
		m.Flags |= FlagTruncated
	}
	if !ipSeen {
		if m.Flags&FlagTruncated == 0 && !d.ipLayerNext() {
			m.Flags |= FlagNonIP
		} else {
			m.Flags |= FlagTruncated
		}
		return
	}
	m.Flags |= FlagIP
	// The first IPv4 fragment carries the L4 header, but gopacket stops at
	// any IPv4 fragment: read the ports from it here.
	if !l4Seen && m.Flags&FlagFragment != 0 && !m.Flags.is6() && d.ip4.FragOffset == 0 {
		d.portsFrom(d.ip4.Payload, m)
	}
	if m.Length == 0 { // no usable length field (e.g. a >64 KiB GSO packet)
		if n := m.WireLength - linkHdr; n > 0 {
			m.Length = uint32(n)
		}
	}
}

func (f Flags) is6() bool { return f&FlagIPv6 != 0 }

// ipLayerNext reports whether the link layer announced IP but the IP header
// failed to decode (so the frame is truncated IP rather than non-IP).
func (d *Decoder) ipLayerNext() bool {
	if len(d.decoded) == 0 {
		return d.link != LinkEthernet && d.link != LinkSLL && d.link != LinkNull && d.link != LinkLoop
	}
	var next gopacket.LayerType
	switch d.decoded[len(d.decoded)-1] {
	case layers.LayerTypeEthernet:
		next = d.eth.NextLayerType()
	case layers.LayerTypeDot1Q:
		next = d.dot1q.NextLayerType()
	case layers.LayerTypeLinuxSLL:
		next = d.sll.NextLayerType()
	case layers.LayerTypeLoopback:
		next = d.lo.NextLayerType()
	}
	return next == layers.LayerTypeIPv4 || next == layers.LayerTypeIPv6
}

func (d *Decoder) fromIPv4(m *Meta) {
	ip := &d.ip4
	m.Src = addr4(ip.SrcIP)
	m.Dst = addr4(ip.DstIP)
	m.Proto = flows.Proto(ip.Protocol)
	m.Length = uint32(ip.Length)
	if len(ip.Contents) >= 4 && ip.Contents[2] == 0 && ip.Contents[3] == 0 {
		// Length field zero: a TSO/GSO packet; gopacket substitutes the
		// captured length, Decode uses the wire length instead.
		m.Length = 0
	}
	if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
		m.Flags |= FlagFragment
	}
}

func (d *Decoder) fromIPv6(m *Meta, frame []byte) {
	ip := &d.ip6
	m.Flags |= FlagIPv6
	m.Src = addr16(ip.SrcIP)
	m.Dst = addr16(ip.DstIP)
	m.Length = 40 + uint32(ip.Length)
	if ip.Length == 0 {
		m.Length = 0 // jumbogram or GSO: Decode falls back to the wire length
	}
	// The upper-layer protocol: walk the extension headers (they are few).
	nh := ip.NextHeader
	rest := ip.Payload
	if ip.HopByHop != nil {
		nh = ip.HopByHop.NextHeader
	}
	for i := 0; i < 8 && isExt(nh) && len(rest) >= 8; i++ {
		if nh == layers.IPProtocolIPv6Fragment {
			m.Flags |= FlagFragment
			nh = layers.IPProtocol(rest[0])
			rest = rest[8:]
			continue
		}
		n := (int(rest[1]) + 1) * 8
		if nh == layers.IPProtocolAH {
			n = (int(rest[1]) + 2) * 4
		}
		if len(rest) < n {
			break
		}
		nh, rest = layers.IPProtocol(rest[0]), rest[n:]
	}
	m.Proto = flows.Proto(nh)
	_ = frame
}

func isExt(p layers.IPProtocol) bool {
	switch p {
	case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Fragment,
		layers.IPProtocolIPv6Destination, layers.IPProtocolAH, 135 /* mobility */, 139 /* HIP */, 140 /* shim6 */ :
		return true
	}
	return false
}

// portsFrom reads TCP/UDP ports from the start of an L4 header.
func (d *Decoder) portsFrom(b []byte, m *Meta) {
	if !m.Proto.HasPorts() {
		return
	}
	if len(b) < 4 {
		m.Flags |= FlagTruncated
		return
	}
	m.SrcPort, m.DstPort = binary.BigEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4])
}

func addr4(b []byte) netip.Addr {
	if len(b) != 4 {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte(b))
}

func addr16(b []byte) netip.Addr {
	if len(b) != 16 {
		return netip.Addr{}
	}
	return netip.AddrFrom16([16]byte(b))
}

// ipv6Frag is a DecodingLayer for the IPv6 fragment header. Unlike
// gopacket's extension skipper it stops the parser at non-first fragments,
// whose payload does not start with an upper-layer header.
type ipv6Frag struct {
	layers.BaseLayer
	next   layers.IPProtocol
	offset uint16
}

func (f *ipv6Frag) LayerType() gopacket.LayerType { return layers.LayerTypeIPv6Fragment }

func (f *ipv6Frag) CanDecode() gopacket.LayerClass { return layers.LayerTypeIPv6Fragment }

func (f *ipv6Frag) NextLayerType() gopacket.LayerType {
	if f.offset != 0 {
		return gopacket.LayerTypeFragment
	}
	return f.next.LayerType()
}

func (f *ipv6Frag) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return fmt.Errorf("ipv6 fragment header: %d bytes, need 8", len(data))
	}
	f.next = layers.IPProtocol(data[0])
	f.offset = binary.BigEndian.Uint16(data[2:4]) >> 3
	f.BaseLayer = layers.BaseLayer{Contents: data[:8], Payload: data[8:]}
	return nil
}
