package capture

import (
	"encoding/binary"
	"net/netip"
)

// Hand-built frames for tests: every length is known, nothing depends on
// gopacket's serializers.

var (
	v4a = netip.MustParseAddr("198.18.0.1")
	v4b = netip.MustParseAddr("198.18.1.2")
	v6a = netip.MustParseAddr("fd00:198:18::1:1")
	v6b = netip.MustParseAddr("fd00:198:18::1:2")
)

func be16(b []byte, v uint16) { binary.BigEndian.PutUint16(b, v) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// tcpSeg is a TCP header with NOP NOP timestamp options (32 bytes) and n
// payload bytes.
func tcpSeg(sp, dp uint16, n int) []byte {
	h := make([]byte, 32+n)
	be16(h[0:], sp)
	be16(h[2:], dp)
	h[12] = 8 << 4 // data offset 8 words
	h[13] = 0x18   // PSH ACK
	be16(h[14:], 65535)
	h[20], h[21], h[22], h[23] = 1, 1, 8, 10
	return h
}

func udpDgram(sp, dp uint16, n int) []byte {
	h := make([]byte, 8+n)
	be16(h[0:], sp)
	be16(h[2:], dp)
	be16(h[4:], uint16(8+n))
	return h
}

func icmpEcho(n int) []byte {
	h := make([]byte, 8+n)
	h[0] = 8
	return h
}

// ip4 builds an IPv4 packet; fragOff is in 8-byte units, mf sets More
// Fragments. totalLen overrides the length field when non-zero.
func ip4(src, dst netip.Addr, proto uint8, payload []byte, fragOff uint16, mf bool) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	be16(h[2:], uint16(20+len(payload)))
	fl := fragOff
	if mf {
		fl |= 0x2000
	}
	be16(h[6:], fl)
	h[8] = 64
	h[9] = proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return cat(h, payload)
}

// ip6 builds an IPv6 packet whose payload starts with the headers in
// payload; nh is the first next-header value.
func ip6(src, dst netip.Addr, nh uint8, payload []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	be16(h[4:], uint16(len(payload)))
	h[6] = nh
	h[7] = 64
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return cat(h, payload)
}

// ext6 is an 8-byte IPv6 extension header (destination options, routing).
func ext6(nh uint8) []byte { return []byte{nh, 0, 1, 4, 0, 0, 0, 0} }

// frag6 is an IPv6 fragment header.
func frag6(nh uint8, off uint16, mf bool) []byte {
	h := []byte{nh, 0, 0, 0, 0, 0, 0, 42}
	v := off << 3
	if mf {
		v |= 1
	}
	be16(h[2:], v)
	return h
}

var (
	macA = []byte{0x02, 0, 0, 0, 0, 1}
	macB = []byte{0x02, 0, 0, 0, 0, 2}
)

func ether(etype uint16, payload []byte) []byte {
	h := cat(macB, macA, []byte{0, 0})
	be16(h[12:], etype)
	return cat(h, payload)
}

// vlan is a VLAN tag (TPID given by the enclosing header) followed by etype.
func vlanTag(id, etype uint16, payload []byte) []byte {
	h := make([]byte, 4)
	be16(h[0:], id)
	be16(h[2:], etype)
	return cat(h, payload)
}

// sll is a Linux cooked (v1) header: outgoing packet type 4.
func sll(etype uint16, payload []byte) []byte {
	h := make([]byte, 16)
	be16(h[0:], 4)
	be16(h[2:], 1)
	be16(h[4:], 6)
	copy(h[6:], macA)
	be16(h[14:], etype)
	return cat(h, payload)
}

// sll2 is a Linux cooked v2 header.
func sll2(etype uint16, payload []byte) []byte {
	h := make([]byte, 20)
	be16(h[0:], etype)
	binary.BigEndian.PutUint32(h[4:], 2) // ifindex
	be16(h[8:], 1)
	h[10] = 0
	h[11] = 6
	copy(h[12:], macA)
	return cat(h, payload)
}

// null is a BSD loopback header, host (little-endian) byte order.
func null(family uint32, payload []byte) []byte {
	h := make([]byte, 4)
	binary.LittleEndian.PutUint32(h, family)
	return cat(h, payload)
}

const (
	etIPv4 = 0x0800
	etIPv6 = 0x86dd
	etARP  = 0x0806
	etVLAN = 0x8100
	etQinQ = 0x88a8
)
