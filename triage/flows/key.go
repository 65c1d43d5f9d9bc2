// Package flows is the pure flow-accounting core: flow keys, per-flow rate
// windows, the bounded flow table with eviction accounting, and aggregation
// (host pairs, host+port, 5-tuple, source-only, destination-only).
//
// It does no I/O and reads no clock: every update carries the packet's
// capture timestamp.
package flows

import (
	"net/netip"
	"strconv"
)

// Proto is an IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...).
type Proto uint8

// Well-known protocol numbers.
const (
	ProtoICMP   Proto = 1
	ProtoTCP    Proto = 6
	ProtoUDP    Proto = 17
	ProtoICMPv6 Proto = 58
)

// String returns "tcp", "udp", "icmp", "icmp6" or the number.
func (p Proto) String() string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmp6"
	}
	return strconv.Itoa(int(p))
}

// HasPorts reports whether the protocol carries port numbers.
func (p Proto) HasPorts() bool {
	return p == ProtoTCP || p == ProtoUDP || p == 132 /* SCTP */ || p == 136 /* UDP-Lite */
}

// Key identifies a flow from the host's point of view: Local is the side
// inside the local boundary (the host's addresses, or the -F network).
// Ports are zero for protocols without ports. Key is comparable and fixed
// size, so it can key a map without allocating.
type Key struct {
	Proto      Proto
	Local      netip.Addr
	Remote     netip.Addr
	LocalPort  uint16
	RemotePort uint16
}
