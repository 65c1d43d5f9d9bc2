package inputs

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"

	"netriage/configs"
	"netriage/sources/ranges"
	"netriage/triage/egress"
	"netriage/triage/names"
)

// EgressTable builds the egress classes of cfg: the ranges files of
// egress.ranges (opened with the user's own rights), the named networks,
// and, live, the host's addresses and the on-link prefixes of its
// interfaces (the current namespace, where the capture runs). A file has
// no host: its table has neither. A ranges file that cannot be read or
// parsed is a usage error naming the file and where.
func EgressTable(cfg configs.Config, file bool) (*egress.Table, error) {
	ec := cfg.Egress
	var cloud []egress.CloudRange
	for i, r := range ec.Ranges {
		rs, err := ranges.LoadUser(r.File, r.Provider, ranges.DefaultLimits())
		if err != nil {
			if errors.Is(err, ranges.ErrFormat) {
				return nil, configs.Usagef("egress.ranges[%d]: %v", i, err)
			}
			return nil, configs.Usagef("egress.ranges[%d]: %v (download the provider's file and name it in the config; see docs/egress.md)", i, err)
		}
		cloud = append(cloud, rs...)
	}
	var host []netip.Addr
	var onLink []netip.Prefix
	if !file {
		var err error
		if host, onLink, err = hostPrefixes(); err != nil {
			return nil, err
		}
	}
	t, err := egress.NewTable(ec.Rules(host, onLink, cloud))
	if err != nil {
		return nil, configs.Usagef("egress: %v", err)
	}
	return t, nil
}

// hostPrefixes lists the current namespace's addresses and the prefixes
// they are on (the interfaces' subnets: on-link). Host-scoped prefixes of
// a single address add nothing beyond the address.
func hostPrefixes() ([]netip.Addr, []netip.Prefix, error) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, nil, fmt.Errorf("list host addresses: %w", err)
	}
	var host []netip.Addr
	var onLink []netip.Prefix
	for _, a := range addrs {
		if a.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		host = append(host, ip)
		ones, _ := a.Mask.Size()
		if p := netip.PrefixFrom(ip, ones).Masked(); ones < ip.BitLen() && !ip.IsLoopback() {
			onLink = append(onLink, p)
		}
	}
	return host, onLink, nil
}

// NamesCacheSize is how many addresses the passive names hold.
const NamesCacheSize = 100_000

// destinations names a remote address for the egress rows: the passive
// names at the capture's newest time, and reverse DNS.
func (in *Set) destinations(a netip.Addr) egress.NameInfo {
	var n egress.NameInfo
	if in.Tap != nil {
		if e, ok := in.Tap.Cache().Lookup(a, in.namesNow()); ok {
			n.DNS, n.Via, n.SNI = e.Name, e.Via, e.SNI
		}
	}
	if in.Resolver != nil {
		n.PTR = in.Resolver.Name(a)
	}
	return n
}

// name is the name the views show for a remote: the queried name, else the
// TLS server name, else reverse DNS.
func (in *Set) name(a netip.Addr) string {
	if e, ok := in.Tap.Cache().Lookup(a, in.namesNow()); ok && e.Best() != "" {
		return e.Best()
	}
	return in.Resolver.Name(a)
}

// namesNow is the time the passive names expire against: the wall clock
// live, the file's newest packet time for a file (names live in packet
// time).
func (in *Set) namesNow() time.Time {
	if in.File != nil {
		return in.File.Now()
	}
	return in.Clock.Now()
}

// NameStats are the passive names' counts: what the capture fed them and
// the cache's; ok is false when they do not run.
func (in *Set) NameStats() (tap names.TapStats, cache names.Stats, ok bool) {
	if in.Tap == nil {
		return tap, cache, false
	}
	return in.Tap.Stats(), in.Tap.Cache().Stats(), true
}
