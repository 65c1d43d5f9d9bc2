package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/gopacket"

	"netriage/triage/flows"
)

// The fast path reads the frames that make up nearly all traffic —
// untagged Ethernet or raw IP, IPv4 without options or IPv6 without
// extension headers, not fragmented, carrying a well-formed TCP or UDP
// header — straight from the bytes. It accepts a frame only when the
// gopacket DecodingLayerParser path would decode it without error, and
// then produces the same Meta; anything else (VLAN tags, options,
// extension headers, fragments, ICMP, other protocols, truncated or
// malformed headers) returns false and takes the parser path.
// FuzzDecodeFastPath checks that both paths agree on every input.

// fast tries the fast path for one frame; m is already reset, and is
// written only when fast returns true.
func (d *Decoder) fast(data []byte, m *Meta) bool {
	var b []byte
	switch d.link {
	case LinkEthernet:
		if len(data) < 14 {
			return false
		}
		b = data[14:]
		switch binary.BigEndian.Uint16(data[12:14]) {
		case 0x0800:
			if len(b) == 0 || b[0]>>4 != 4 {
				return false
			}
		case 0x86dd:
			if len(b) == 0 || b[0]>>4 != 6 {
				return false
			}
		default:
			return false
		}
		if !fastIP(b, m) {
			return false
		}
		m.LinkHeader = 14
		if d.hasMAC {
			if [6]byte(data[6:12]) == d.mac {
				m.Hint = flows.SideSent
			} else {
				m.Hint = flows.SideRecv
			}
		}
		return true
	case LinkRaw, LinkRawAlt, LinkRawBSD, LinkIPv4, LinkIPv6:
		return fastIP(data, m)
	}
	return false
}

// fastIP decodes an IPv4 or IPv6 packet and its TCP or UDP ports. It
// writes m only when it returns true.
func fastIP(b []byte, m *Meta) bool {
	proto, l4, ok := fastIPHeader(b)
	if !ok || !portsOK(proto, l4) {
		return false
	}
	if b[0]>>4 == 4 {
		m.Src = netip.AddrFrom4([4]byte(b[12:16]))
		m.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		m.Length = uint32(binary.BigEndian.Uint16(b[2:4]))
	} else {
		m.Flags |= FlagIPv6
		m.Src = netip.AddrFrom16([16]byte(b[8:24]))
		m.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		m.Length = 40 + uint32(binary.BigEndian.Uint16(b[4:6]))
	}
	m.Proto = proto
	m.SrcPort, m.DstPort = binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
	m.Flags |= FlagIP
	return true
}

// fastIPHeader checks an IPv4 header without options that is not a
// fragment, or an IPv6 header without extension headers, and returns the
// upper-layer protocol and bytes (cut to the IP length).
func fastIPHeader(b []byte) (flows.Proto, []byte, bool) {
	if len(b) == 0 {
		return 0, nil, false
	}
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 || b[0]&0x0f != 5 {
			return 0, nil, false
		}
		total := binary.BigEndian.Uint16(b[2:4])
		if total < 20 || binary.BigEndian.Uint16(b[6:8])&0x3fff != 0 { // too short, TSO, or a fragment
			return 0, nil, false
		}
		return flows.Proto(b[9]), b[20:min(len(b), int(total))], true
	case 6:
		if len(b) < 40 {
			return 0, nil, false
		}
		plen := binary.BigEndian.Uint16(b[4:6])
		if plen == 0 { // jumbogram or GSO
			return 0, nil, false
		}
		return flows.Proto(b[6]), b[40:min(len(b), 40+int(plen))], true
	}
	return 0, nil, false
}

// portsOK reports whether l4 is a complete, well-formed TCP or UDP header.
func portsOK(proto flows.Proto, l4 []byte) bool {
	switch proto {
	case flows.ProtoTCP:
		return tcpHeaderOK(l4)
	case flows.ProtoUDP:
		if len(l4) < 8 {
			return false
		}
		n := binary.BigEndian.Uint16(l4[4:6])
		return n == 0 || n >= 8
	}
	return false
}

// tcpHeaderOK reports whether a TCP header is complete and its options
// well-formed, by the rules gopacket's TCP layer applies.
func tcpHeaderOK(b []byte) bool {
	if len(b) < 20 {
		return false
	}
	n := int(b[12]>>4) * 4
	if n < 20 || n > len(b) {
		return false
	}
	opts := b[20:n]
	for len(opts) > 0 {
		switch opts[0] {
		case 0: // end of options
			return true
		case 1: // no-op
			opts = opts[1:]
		default:
			if len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts) {
				return false
			}
			opts = opts[opts[1]:]
		}
	}
	return true
}

// decodeSlow is Decode without the fast path (for tests).
func (d *Decoder) decodeSlow(data []byte, ci *gopacket.CaptureInfo, m *Meta) {
	d.noFast = true
	d.Decode(data, ci, m)
	d.noFast = false
}
