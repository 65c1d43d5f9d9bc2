// Package egress says where a host's bytes go and what they cost: it
// classes remote addresses into destination classes, prices bytes by class
// and direction, sums rows by class, network, name and process, and judges
// egress budgets. It is pure: the host's addresses, the on-link prefixes,
// the config's networks and prices and the providers' ranges (loaded by
// sources/ranges) are given to it.
//
// # Rules
//
// An address is classed by the first rule that matches, and within a rule
// by its longest matching prefix:
//
//  1. host: the host's own addresses, and loopback (127.0.0.0/8, ::1).
//  2. link: the on-link prefixes of the host's interfaces (the same link
//     or subnet).
//  3. network: the networks named in the config, with the class given
//     there (same-zone, cross-zone, peering, vpn…), or same-zone /
//     cross-zone from the network's zone against the host's.
//  4. cloud: the providers' published ranges, classed against the host's
//     provider and region (CloudClass): same-region, cross-region,
//     same-provider (no region to compare), or internet for another
//     provider's range. Of identical prefixes, one with a region and a
//     specific service beats the provider's umbrella (AWS "AMAZON",
//     Azure "AzureCloud"); otherwise the one loaded first.
//  5. special: the IANA IPv4 and IPv6 special-purpose registries and the
//     multicast ranges, class private; the blocks the registries list as
//     globally reachable (AS112, AMT, anycast PCP and TURN, NAT64's
//     well-known prefix, 6to4, Teredo) are classed internet under their
//     names.
//  6. internet: everything else.
//
// An invalid address is unknown. An IPv4-mapped IPv6 address is classed as
// its IPv4 address. Named networks come before the special blocks because
// they are mostly private addresses themselves: a peered VPC, a VPN, a
// Tailscale range in 100.64.0.0/10. Cloud ranges come before them too: the
// providers publish only globally reachable addresses, so on their files
// the order changes nothing, and a file the user loaded that does cover a
// special block (a private cloud's own list, a lab's) says what the user
// means.
//
// # Lookup
//
// NewTable flattens the prefixes of all rules, once per load, into sorted
// tables of disjoint address ranges (one for IPv4, one for IPv6), each range
// holding the entry that wins there; Classify is one binary search over
// them and does not allocate.
//
// # Cost
//
// A price is per unit of bytes, GB (10^9) or GiB (2^30) as the config
// states, per class and direction. Cost = bytes / unit × price, per
// direction; cost per hour = bytes per second × 3600 / unit × price. Bytes
// of a class and direction without a price are carried as unpriced, never
// priced at zero.
package egress
