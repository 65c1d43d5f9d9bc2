package egress

import (
	"fmt"
	"net/netip"
	"strings"
)

// Kind is the rule that classed an address (see the package documentation
// for the order in which the rules are tried).
type Kind uint8

// Kinds, in rule order.
const (
	// KindUnknown: the address is not valid; nothing can be said of it.
	KindUnknown Kind = iota
	// KindHost: one of the host's own addresses, or loopback.
	KindHost
	// KindLink: on a prefix the host's interfaces are directly on.
	KindLink
	// KindNetwork: in a network the user named in the config.
	KindNetwork
	// KindCloud: in a range of a cloud provider's published file.
	KindCloud
	// KindSpecial: in a block of the IANA special-purpose registries.
	KindSpecial
	// KindInternet: none of the above.
	KindInternet
)

// String returns "unknown", "host", "link", "network", "special", "cloud"
// or "internet".
func (k Kind) String() string {
	switch k {
	case KindUnknown:
		return "unknown"
	case KindHost:
		return "host"
	case KindLink:
		return "link"
	case KindNetwork:
		return "network"
	case KindSpecial:
		return "special"
	case KindCloud:
		return "cloud"
	case KindInternet:
		return "internet"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Class is the billing class of a destination: what a price and a budget
// are keyed by. The rules give the built-in classes below; a network named
// in the config gives the class the user wrote for it (any ValidClass).
type Class string

// Built-in classes.
const (
	// ClassUnknown: the address is invalid. It is never priced.
	ClassUnknown Class = "unknown"
	// ClassHost: the host itself (its addresses, loopback).
	ClassHost Class = "host"
	// ClassLink: the same link or subnet.
	ClassLink Class = "link"
	// ClassPrivate: private and special-use blocks that are not globally
	// reachable (RFC 1918, unique-local, link-local, CGNAT, multicast…).
	ClassPrivate Class = "private"
	// ClassSameRegion: a range of the host's provider in the host's region.
	ClassSameRegion Class = "same-region"
	// ClassCrossRegion: a range of the host's provider in another region.
	ClassCrossRegion Class = "cross-region"
	// ClassSameProvider: a range of the host's provider with no region
	// (a global service, or the host's region is not configured).
	ClassSameProvider Class = "same-provider"
	// ClassInternet: everything else, including other providers' ranges.
	ClassInternet Class = "internet"
)

// Classes a named network commonly carries. They are conventions, not a
// closed list: any ValidClass may be given.
const (
	ClassSameZone  Class = "same-zone"
	ClassCrossZone Class = "cross-zone"
	ClassPeering   Class = "peering"
	ClassVPN       Class = "vpn"
)

// ClassAll names every class together in a budget ("all=100GB/h").
const ClassAll Class = "all"

// BuiltinClasses returns the classes the rules give without any named
// network, in rule order (ClassUnknown last).
func BuiltinClasses() []Class {
	return []Class{ClassHost, ClassLink, ClassPrivate, ClassSameRegion, ClassCrossRegion, ClassSameProvider, ClassInternet, ClassUnknown}
}

// ValidClass reports whether s can name a class: 1 to 32 bytes of lower
// case letters, digits and '-', starting with a letter or digit.
func ValidClass(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Dest is where an address is: the rule that matched, its class and what
// the rule knows of it. Values returned by Table.Classify share their
// strings with the table; they are never modified.
type Dest struct {
	// Kind is the rule that matched.
	Kind Kind
	// Class is the billing class.
	Class Class
	// Network labels what matched: the named network's name, the
	// special-purpose block's name, "provider/service/region" for a cloud
	// range, "on-link", "this host" or "loopback". Empty for the internet
	// fallback and for unknown.
	Network string
	// Prefix is the prefix that matched; the zero Prefix for the internet
	// fallback and for unknown.
	Prefix netip.Prefix
	// Provider, Service, Region and BorderGroup come from the provider's
	// file (cloud ranges only; BorderGroup is AWS's network_border_group).
	Provider, Service, Region, BorderGroup string
}

// Providers whose ranges files netriage reads, by the names the config
// and CloudRange use.
const (
	ProviderAWS    = "aws"
	ProviderGoogle = "gcp"
	ProviderAzure  = "azure"
)

// Providers returns the provider names, in that order.
func Providers() []string { return []string{ProviderAWS, ProviderGoogle, ProviderAzure} }

// Place is where the host itself runs: its provider ("aws", "gcp",
// "azure", or empty), region and zone, as the config states them.
type Place struct {
	Provider, Region, Zone string
}

// Network is a network the user named: its prefixes and its class. When
// Class is empty and Zone is set, the class is ClassSameZone if Zone is the
// host's zone (Place.Zone) and ClassCrossZone otherwise.
type Network struct {
	Name     string
	Prefixes []netip.Prefix
	Class    Class
	Zone     string
}

// CloudRange is one prefix of a cloud provider's published ranges.
type CloudRange struct {
	Prefix netip.Prefix
	// Provider is "aws", "gcp" or "azure".
	Provider string
	// Service is the provider's service name (AWS "S3", Google "Google
	// Cloud", Azure's systemService or tag name).
	Service string
	// Region is the provider's region; empty, "GLOBAL" or "global" for
	// none.
	Region string
	// BorderGroup is AWS's network_border_group (a region or a Local Zone).
	BorderGroup string
}

// noRegion reports whether a range's region names no region.
func noRegion(r string) bool { return r == "" || strings.EqualFold(r, "global") }

// catchAll reports whether a service is a provider's umbrella for all its
// ranges (AWS "AMAZON", Azure "AzureCloud"), which a specific service of
// the same prefix beats.
func catchAll(s string) bool { return s == "" || s == "AMAZON" || s == "AzureCloud" }

// CloudClass is the class of a provider's range seen from the host: another
// provider's range (or any range when the host's provider is not set) is
// internet, since leaving the host's provider is billed as internet egress;
// the host's provider's range is same-region or cross-region by its region,
// and same-provider when the range has no region or the host's region is
// not set. Names are compared without regard to case.
func CloudClass(host Place, r CloudRange) Class {
	switch {
	case host.Provider == "" || !strings.EqualFold(host.Provider, r.Provider):
		return ClassInternet
	case noRegion(r.Region) || host.Region == "":
		return ClassSameProvider
	case strings.EqualFold(host.Region, r.Region):
		return ClassSameRegion
	}
	return ClassCrossRegion
}

// NetworkClass is the class of a named network (see Network); ok is false
// when the class cannot be decided (no class, and no zone on both sides).
func NetworkClass(host Place, n Network) (c Class, ok bool) {
	switch {
	case n.Class != "":
		return n.Class, true
	case n.Zone == "" || host.Zone == "":
		return "", false
	case strings.EqualFold(n.Zone, host.Zone):
		return ClassSameZone, true
	}
	return ClassCrossZone, true
}
