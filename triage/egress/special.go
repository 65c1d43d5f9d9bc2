package egress

import "net/netip"

// specialBlock is one entry of the IANA special-purpose address registries.
// Global marks the blocks the registry lists as globally reachable (anycast
// services, AS112, AMT, NAT64's well-known prefix, 6to4, Teredo): traffic to
// them crosses the internet, so they are classed internet, under their
// name, rather than private.
type specialBlock struct {
	prefix string
	name   string
	global bool
}

// specialBlocks are the IPv4 (iana-ipv4-special-registry) and IPv6
// (iana-ipv6-special-registry) special-purpose blocks, plus the multicast
// ranges (RFC 5771, RFC 4291), which the registries list elsewhere.
// Loopback (127.0.0.0/8, ::1) is the host rule's, not this one's. IPv4-mapped
// addresses (::ffff:0:0/96) never reach the table: they are classed as the
// IPv4 address they carry.
var specialBlocks = []specialBlock{
	// IPv4.
	{"0.0.0.0/8", `"this network" (RFC 791)`, false},
	{"10.0.0.0/8", "private-use (RFC 1918)", false},
	{"100.64.0.0/10", "shared address space (RFC 6598)", false},
	{"169.254.0.0/16", "link-local (RFC 3927)", false},
	{"172.16.0.0/12", "private-use (RFC 1918)", false},
	{"192.0.0.0/24", "IETF protocol assignments (RFC 6890)", false},
	{"192.0.0.0/29", "IPv4 service continuity prefix (RFC 7335)", false},
	{"192.0.0.8/32", "IPv4 dummy address (RFC 7600)", false},
	{"192.0.0.9/32", "port control protocol anycast (RFC 7723)", true},
	{"192.0.0.10/32", "TURN anycast (RFC 8155)", true},
	{"192.0.0.170/31", "NAT64/DNS64 discovery (RFC 8880)", false},
	{"192.0.2.0/24", "documentation, TEST-NET-1 (RFC 5737)", false},
	{"192.31.196.0/24", "AS112-v4 (RFC 7535)", true},
	{"192.52.193.0/24", "AMT (RFC 7450)", true},
	{"192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)", true},
	{"192.168.0.0/16", "private-use (RFC 1918)", false},
	{"192.175.48.0/24", "direct delegation AS112 service (RFC 7534)", true},
	{"198.18.0.0/15", "benchmarking (RFC 2544)", false},
	{"198.51.100.0/24", "documentation, TEST-NET-2 (RFC 5737)", false},
	{"203.0.113.0/24", "documentation, TEST-NET-3 (RFC 5737)", false},
	{"224.0.0.0/4", "multicast (RFC 5771)", false},
	{"240.0.0.0/4", "reserved (RFC 1112)", false},
	{"255.255.255.255/32", "limited broadcast (RFC 919)", false},
	// IPv6.
	{"::/128", "unspecified address (RFC 4291)", false},
	{"64:ff9b::/96", "IPv4-IPv6 translation, NAT64 (RFC 6052)", true},
	{"64:ff9b:1::/48", "local-use IPv4-IPv6 translation (RFC 8215)", false},
	{"100::/64", "discard-only (RFC 6666)", false},
	{"2001::/23", "IETF protocol assignments (RFC 2928)", false},
	{"2001::/32", "Teredo (RFC 4380)", true},
	{"2001:1::1/128", "port control protocol anycast (RFC 7723)", true},
	{"2001:1::2/128", "TURN anycast (RFC 8155)", true},
	{"2001:2::/48", "benchmarking (RFC 5180)", false},
	{"2001:3::/32", "AMT (RFC 7450)", true},
	{"2001:4:112::/48", "AS112-v6 (RFC 7535)", true},
	{"2001:10::/28", "deprecated ORCHID (RFC 4843)", false},
	{"2001:20::/28", "ORCHIDv2 (RFC 7343)", true},
	{"2001:db8::/32", "documentation (RFC 3849)", false},
	{"2002::/16", "6to4 (RFC 3056)", true},
	{"2620:4f:8000::/48", "direct delegation AS112 service (RFC 7534)", true},
	{"3fff::/20", "documentation (RFC 9637)", false},
	{"5f00::/16", "segment routing SIDs (RFC 9602)", false},
	{"fc00::/7", "unique-local (RFC 4193)", false},
	{"fe80::/10", "link-local unicast (RFC 4291)", false},
	{"ff00::/8", "multicast (RFC 4291)", false},
}

// loopback are the host rule's built-in prefixes: loopback never leaves the
// host (RFC 1122, RFC 4291).
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// SpecialBlock describes one special-purpose block for documentation and
// tests.
type SpecialBlock struct {
	Prefix netip.Prefix
	Name   string
	// Global: the registry lists it as globally reachable; it is classed
	// internet.
	Global bool
}

// SpecialBlocks returns the special-purpose blocks the special rule holds,
// in registry order.
func SpecialBlocks() []SpecialBlock {
	out := make([]SpecialBlock, len(specialBlocks))
	for i, b := range specialBlocks {
		out[i] = SpecialBlock{Prefix: netip.MustParsePrefix(b.prefix), Name: b.name, Global: b.global}
	}
	return out
}
