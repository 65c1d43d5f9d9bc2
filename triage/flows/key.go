// Package flows is the pure flow-accounting core: flow keys, per-flow rate
// windows, the bounded flow table with eviction accounting, and aggregation
// (host pairs, host+port, 5-tuple, source-only, destination-only).
//
// It does no I/O and reads no clock: every update carries the packet's
// capture timestamp.
//
// # Bytes
//
// A packet counts for its IP length (IP header + payload, from the IP
// header; IPv6: 40 + payload length), like iftop, so GSO/GRO super-packets
// count for all their bytes. Link headers are not in the flow bytes; the
// capture reports them separately (Health.LinkHeaderBytes) for comparing
// with interface counters.
//
// # Direction
//
// Local (the host's addresses, or the -F network) decides the local side:
// local source and non-local destination is sent, the reverse is received.
// When both or neither side is local (loopback, forwarded traffic, a
// capture file without -F), the source of the first packet the table sees
// of the conversation becomes the local side, and later packets in either
// direction join that flow.
//
// # Rates
//
// Each flow keeps 40 one-second buckets keyed by the packets' Unix second.
// Rates at a reference time now use only complete seconds before now: the
// 2 s rate is the bytes of seconds now-2 and now-1 divided by 2, and so on
// for 10 s and 40 s; the peak is the largest single second of the last 40
// (sent and received peaks taken separately). Cumulative counts never
// expire.
//
// # Bounds
//
// The table holds at most MaxFlows flows. A new flow at the cap evicts the
// least recently seen one, and Expire removes flows idle longer than
// IdleTimeout; both fold their counts and buckets into Snapshot.Other, so
// sum(Flows) + Other = Totals at all times, for bytes, packets and rates.
//
// Memory per flow: a 128-byte entry (the key's addresses as bytes, the
// counts, first and last times as nanoseconds, the LRU links and the one
// second of rate history that a flow seen in one second of the window
// needs), beside it the flow's bytes at the last snapshot (16 bytes, for
// the next one's Since; apart, so that the packet path reads two cache
// lines an entry), and two 8-byte cells of an open-addressing index sized
// for MaxFlows when the table is made: under 186 bytes per flow, 33 MB for
// 200,000 flows of a random-source flood (TestTableMemoryAtCap). A flow
// seen in a second other second of the last 40 takes a full window of
// 40 buckets of 32 bits per direction (336 bytes; a flow that passes
// 4 GiB in one second and direction, 34 Gbit/s, moves to 64-bit buckets),
// which goes back to the table's pool once the flow has been quiet for 40
// seconds: at most about 526 bytes per flow. An aggregated snapshot keeps
// about 40 bytes per flow of working memory in the table for the next one;
// every snapshot's result holds 256 bytes per flow (one FlowStat) and 24
// per second of its Seconds.
//
// # Fragments
//
// The capture gives the first fragment of a packet its ports, so it joins
// the 5-tuple flow; later fragments carry no ports and are counted in the
// port-less flow of the same protocol and addresses. Host-pair views are
// exact either way.
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
