package flows

import (
	"net/netip"
	"time"
)

// Packet is what the flow table needs of one captured packet. It is a plain
// fixed-size value: decoders fill one in place and pass a pointer, nothing
// in it aliases the packet buffer.
type Packet struct {
	// Time is the capture timestamp; it drives the rate windows.
	Time time.Time
	// Proto is the IP protocol (the upper-layer protocol after IPv6
	// extension headers).
	Proto Proto
	// Src and Dst are the IP addresses (IPv4 addresses are 4-byte, never
	// IPv4-mapped).
	Src, Dst netip.Addr
	// SrcPort and DstPort are zero when the protocol has no ports or the
	// packet does not carry them (non-first fragments, truncated headers).
	SrcPort, DstPort uint16
	// Length is the IP packet length in bytes (header + payload), from the
	// IP header, so a GSO/GRO super-packet counts for all its bytes.
	Length uint32
	// Hint is the capture's own view of the direction (SideSent for a
	// frame the interface transmitted, SideRecv for one it received), or
	// SideUnknown. It decides only when the addresses cannot: both or
	// neither local.
	Hint Side
}
