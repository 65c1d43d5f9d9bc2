package configs

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"

	"netriage/triage/egress"
)

// EgressConfig configures destination classes, prices and budgets (see
// docs/egress.md). Everything is empty by default: no provider, no ranges
// files, no named networks, no prices (bytes are shown without a cost).
type EgressConfig struct {
	// Provider, Region and Zone say where this host runs: provider aws,
	// gcp or azure, and region and zone as the provider spells them
	// (us-east-1 / us-east-1a, europe-west1 / europe-west1-b, eastus /
	// 1). Provider ranges are judged against them.
	Provider string `yaml:"provider"`
	Region   string `yaml:"region"`
	Zone     string `yaml:"zone"`
	// Ranges are providers' published range files, each read in its
	// provider's format.
	Ranges []RangesFileConfig `yaml:"ranges"`
	// Networks are networks the user names, with their class.
	Networks []NetworkConfig `yaml:"networks"`
	// Unit is what the prices are per: GB (10^9 bytes) or GiB (2^30
	// bytes). Required when Prices is set.
	Unit string `yaml:"unit"`
	// Currency labels the prices (three capital letters, e.g. USD);
	// nothing is converted.
	Currency string `yaml:"currency"`
	// Prices are per unit, per class and direction. A class or direction
	// without a price shows its bytes and no cost.
	Prices map[string]PriceConfig `yaml:"prices"`
	// Budgets are egress budgets in the syntax of check's
	// --egress-budget ("internet=50GB/h"), one or more per entry.
	Budgets []string `yaml:"budgets"`
}

// RangesFileConfig names one provider's ranges file.
type RangesFileConfig struct {
	// Provider is the file's format: aws (ip-ranges.json), gcp
	// (cloud.json) or azure (service tags).
	Provider string `yaml:"provider"`
	// File is the path, opened with the user's own rights.
	File string `yaml:"file"`
}

// NetworkConfig is one named network.
type NetworkConfig struct {
	// Name labels the network in every view.
	Name string `yaml:"name"`
	// CIDRs are its prefixes, IPv4 or IPv6.
	CIDRs []string `yaml:"cidrs"`
	// Class is its billing class (same-zone, cross-zone, peering, vpn, or
	// any name of lower case letters, digits and '-').
	Class string `yaml:"class"`
	// Zone, when Class is empty, makes the class same-zone if it is
	// egress.zone and cross-zone otherwise.
	Zone string `yaml:"zone"`
}

// PriceConfig is a class's price per unit in each direction; a missing
// direction has no price (it is not free: give 0 for free).
type PriceConfig struct {
	Sent     *float64 `yaml:"sent"`
	Received *float64 `yaml:"received"`
}

// Bounds of the egress section.
const (
	maxRangesFiles = 16
	maxNetworks    = 256
	maxCIDRs       = 4096
	maxPrice       = 1e6
)

// DefaultEgress returns the default egress section: empty.
func DefaultEgress() EgressConfig { return EgressConfig{} }

// Validate checks every key of the section. Messages name keys of the
// schema and quote a value of the file only when it is a valid name (a
// class, a network name), so that a file that is no config is not read
// through them.
func (c EgressConfig) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("egress."+format, a...)) }
	switch c.Provider {
	case "", egress.ProviderAWS, egress.ProviderGoogle, egress.ProviderAzure:
	default:
		bad("provider: not one of %s", strings.Join(egress.Providers(), ", "))
	}
	for _, kv := range [][2]string{{"region", c.Region}, {"zone", c.Zone}} {
		if !validPlace(kv[1]) {
			bad("%s: not a %s name (letters, digits and '-', at most 64)", kv[0], kv[0])
		}
	}
	if c.Region != "" && c.Provider == "" {
		bad("region: needs egress.provider (aws, gcp or azure)")
	}
	if len(c.Ranges) > maxRangesFiles {
		bad("ranges: more than %d files", maxRangesFiles)
	}
	for i, r := range c.Ranges {
		if !slices.Contains(egress.Providers(), r.Provider) {
			bad("ranges[%d].provider: not one of %s", i, strings.Join(egress.Providers(), ", "))
		}
		if r.File == "" || len(r.File) > 4096 || strings.IndexByte(r.File, 0) >= 0 {
			bad("ranges[%d].file: not a path", i)
		}
	}
	classes := map[egress.Class]bool{}
	for _, cl := range egress.BuiltinClasses() {
		classes[cl] = true
	}
	if len(c.Networks) > maxNetworks {
		bad("networks: more than %d networks", maxNetworks)
	}
	names := map[string]bool{}
	place := c.Place()
	for i, n := range c.Networks {
		label := fmt.Sprintf("networks[%d]", i)
		if validNetworkName(n.Name) {
			label += " (" + n.Name + ")"
			if names[n.Name] {
				bad("%s: the name is given twice", label)
			}
			names[n.Name] = true
		} else {
			bad("%s.name: not a network name (1 to 64 letters, digits and . _ : / -, starting with a letter or digit)", label)
		}
		if len(n.CIDRs) == 0 || len(n.CIDRs) > maxCIDRs {
			bad("%s.cidrs: give 1 to %d prefixes", label, maxCIDRs)
		}
		for j, s := range n.CIDRs {
			if _, err := netip.ParsePrefix(strings.TrimSpace(s)); err != nil {
				bad("%s.cidrs[%d]: not a CIDR prefix (e.g. 10.20.0.0/16, fd00:20::/48)", label, j)
			}
		}
		if !validPlace(n.Zone) {
			bad("%s.zone: not a zone name (letters, digits and '-', at most 64)", label)
		}
		switch {
		case n.Class == string(egress.ClassUnknown), n.Class == string(egress.ClassAll):
			bad("%s.class: %s is reserved", label, n.Class)
		case n.Class != "" && !egress.ValidClass(n.Class):
			bad("%s.class: not a class name (lower case letters, digits and '-', at most 32)", label)
		case n.Class == "" && n.Zone == "":
			bad("%s: give a class (same-zone, cross-zone, peering, vpn…) or a zone", label)
		case n.Class == "" && c.Zone == "":
			bad("%s.zone: egress.zone must be set to judge it (same-zone or cross-zone)", label)
		default:
			if cl, ok := egress.NetworkClass(place, egress.Network{Class: egress.Class(n.Class), Zone: n.Zone}); ok {
				classes[cl] = true
			}
		}
	}
	if c.Unit != "" {
		if _, ok := egress.ParseUnit(c.Unit); !ok {
			bad("unit: not GB (10^9 bytes) or GiB (2^30 bytes)")
		}
	} else if len(c.Prices) > 0 {
		bad("unit: say what the prices are per, GB (10^9 bytes) or GiB (2^30 bytes): the providers differ (see docs/egress.md)")
	}
	if c.Currency != "" && !currencyCode(c.Currency) {
		bad("currency: not a currency code (three capital letters, e.g. USD)")
	}
	keys := make([]string, 0, len(c.Prices))
	for k := range c.Prices {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := c.Prices[k]
		switch {
		case !egress.ValidClass(k):
			bad("prices: a key is not a class name (lower case letters, digits and '-')")
			continue
		case k == string(egress.ClassUnknown):
			bad("prices.unknown: traffic that cannot be classed is never priced")
			continue
		case !classes[egress.Class(k)]:
			bad("prices.%s: no rule gives this class (built-in: %s; others come from egress.networks)", k, builtinList())
		}
		if p.Sent == nil && p.Received == nil {
			bad("prices.%s: give sent, received or both", k)
		}
		for _, d := range []struct {
			name string
			v    *float64
		}{{"sent", p.Sent}, {"received", p.Received}} {
			if d.v != nil && !(*d.v >= 0 && *d.v <= maxPrice) {
				bad("prices.%s.%s: out of range (0 to %g per unit)", k, d.name, float64(maxPrice))
			}
		}
	}
	budgetsOK := true
	for i, b := range c.Budgets {
		if _, err := egress.ParseBudgets(b, 0.5); err != nil {
			bad("budgets[%d]: %v", i, err)
			budgetsOK = false
		}
	}
	if budgetsOK && len(c.Budgets) > 0 {
		if _, err := c.BudgetList(0.5); err != nil {
			bad("budgets (all entries together): %v", err)
		}
	}
	return errors.Join(errs...)
}

func builtinList() string {
	var s []string
	for _, c := range egress.BuiltinClasses() {
		if c != egress.ClassUnknown {
			s = append(s, string(c))
		}
	}
	return strings.Join(s, ", ")
}

// validPlace reports whether s can be a region or zone name: empty, or 1 to
// 64 letters, digits and '-'.
func validPlace(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validNetworkName reports whether s can name a network.
func validNetworkName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || strings.IndexByte("._:/-", c) < 0) {
			return false
		}
	}
	return true
}

func currencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// Place returns where the host runs.
func (c EgressConfig) Place() egress.Place {
	return egress.Place{Provider: c.Provider, Region: c.Region, Zone: c.Zone}
}

// NetworkList returns the named networks with their prefixes parsed. Call
// Validate first; invalid prefixes are skipped.
func (c EgressConfig) NetworkList() []egress.Network {
	out := make([]egress.Network, 0, len(c.Networks))
	for _, n := range c.Networks {
		en := egress.Network{Name: n.Name, Class: egress.Class(n.Class), Zone: n.Zone}
		for _, s := range n.CIDRs {
			if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
				en.Prefixes = append(en.Prefixes, p)
			}
		}
		out = append(out, en)
	}
	return out
}

// Rules returns the egress rules of the section with the host's addresses,
// its on-link prefixes and the ranges loaded from the files of Ranges.
func (c EgressConfig) Rules(host []netip.Addr, onLink []netip.Prefix, cloud []egress.CloudRange) egress.Rules {
	return egress.Rules{Host: host, OnLink: onLink, Place: c.Place(), Networks: c.NetworkList(), Cloud: cloud}
}

// PriceTable returns the prices. Call Validate first.
func (c EgressConfig) PriceTable() egress.Prices {
	u, _ := egress.ParseUnit(c.Unit)
	p := egress.Prices{Unit: u, Currency: c.Currency, Classes: make(map[egress.Class]egress.ClassPrice, len(c.Prices))}
	conv := func(v *float64) egress.Price {
		if v == nil || math.IsNaN(*v) {
			return egress.Price{}
		}
		return egress.Known(*v)
	}
	for k, v := range c.Prices {
		p.Classes[egress.Class(k)] = egress.ClassPrice{Sent: conv(v.Sent), Received: conv(v.Received)}
	}
	return p
}

// BudgetList returns the budgets of the section, warning at warnShare of
// each limit where no warning is given (check passes its
// warn_utilization). A class may have one budget per measure across all
// entries.
func (c EgressConfig) BudgetList(warnShare float64) ([]egress.Budget, error) {
	if len(c.Budgets) == 0 {
		return nil, nil
	}
	return egress.ParseBudgets(strings.Join(c.Budgets, ","), warnShare)
}

// EgressDisplay checks egress's display flags: --by (fields to group by),
// -o (sort key) and -L (a limit, 0 for all). Errors are usage errors.
func EgressDisplay(by, sort string, limit int) ([]egress.Field, egress.SortKey, error) {
	fields, err := egress.ParseGroupBy(by)
	if err != nil {
		return nil, 0, Usagef("--by %q: %v", by, err)
	}
	key, err := egress.ParseSortKey(sort)
	if err != nil {
		return nil, 0, Usagef("-o %q: %v", sort, err)
	}
	if limit < 0 {
		return nil, 0, Usagef("-L %d: must be 0 (all) or more", limit)
	}
	return fields, key, nil
}
