package flows

import "net/netip"

// Local decides which addresses are on the host's side. It is a set of
// prefixes: the host's own addresses (as /32 and /128 prefixes) or the -F
// network, IPv4 and IPv6 alike. The zero value has no local addresses.
type Local struct {
	prefixes []netip.Prefix
}

// NewLocal returns a Local made of prefixes. IPv4-mapped IPv6 prefixes are
// unmapped so that they match the IPv4 packets they describe.
func NewLocal(prefixes ...netip.Prefix) Local {
	out := make([]netip.Prefix, 0, len(prefixes))
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		if p.Addr().Is4In6() {
			bits := p.Bits() - 96
			if bits < 0 {
				bits = 0
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), bits)
		}
		out = append(out, p.Masked())
	}
	return Local{prefixes: out}
}

// Prefixes returns a copy of the prefixes.
func (l Local) Prefixes() []netip.Prefix { return append([]netip.Prefix(nil), l.prefixes...) }

// Empty reports whether no address is local.
func (l Local) Empty() bool { return len(l.prefixes) == 0 }

// Contains reports whether a is local.
func (l Local) Contains(a netip.Addr) bool {
	for _, p := range l.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Side is where a packet's source lies relative to the local boundary.
type Side uint8

// Sides of a packet.
const (
	// SideUnknown: both ends are local, or neither is (forwarded traffic,
	// loopback, a capture file without -F). The flow table then treats the
	// source of the first packet it sees of the conversation as local.
	SideUnknown Side = iota
	// SideSent: the source is local and the destination is not.
	SideSent
	// SideRecv: the destination is local and the source is not.
	SideRecv
)

// Classify returns the packet's direction from its addresses.
func (l Local) Classify(src, dst netip.Addr) Side {
	s, d := l.Contains(src), l.Contains(dst)
	switch {
	case s && !d:
		return SideSent
	case d && !s:
		return SideRecv
	}
	return SideUnknown
}
