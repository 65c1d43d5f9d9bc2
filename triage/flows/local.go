package flows

import (
	"net/netip"
	"strings"
)

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

// specialUse are the private and special-use ranges: the local side of a
// capture file without -F, which holds no host addresses.
var specialUse = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fc00::/7"), netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("::1/128"),
}

// SpecialUseDesc describes SpecialUseLocal in a capture's health.
const SpecialUseDesc = "private and special-use ranges"

// SpecialUseLocal is the local side of a capture file without -F: private
// and special-use ranges (10/8, 172.16/12, 192.168/16, 100.64/10,
// 198.18/15, 169.254/16, 127/8, fc00::/7, fe80::/10, ::1).
func SpecialUseLocal() Local { return NewLocal(specialUse...) }

// ParseLocalNet parses -F NET/LEN (surrounding spaces ignored): the local
// side is that network. It returns the Local and the network, masked, as
// text; the error is netip's, for the caller to name the flag.
func ParseLocalNet(s string) (Local, string, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return Local{}, "", err
	}
	p = p.Masked()
	return NewLocal(p), p.String(), nil
}
