package configs

import (
	"net/netip"
	"strings"
	"testing"

	"netriage/triage/egress"
)

const egressFull = `
check:
  warn_utilization: 0.75
egress:
  provider: aws
  region: us-east-1
  zone: us-east-1a
  ranges:
    - {provider: aws, file: /var/lib/netriage/ip-ranges.json}
    - {provider: azure, file: tags.json}
  networks:
    - name: peer-vpc
      cidrs: [10.20.0.0/16, "fd00:20::/48"]
      class: peering
    - name: subnet-b
      cidrs: [10.0.2.0/24]
      zone: us-east-1b
    - name: subnet-a
      cidrs: [10.0.1.0/24]
      zone: us-east-1a
  unit: GB
  currency: USD
  prices:
    internet: {sent: 0.09, received: 0}
    cross-zone: {sent: 0.01, received: 0.01}
    same-zone: {sent: 0}
    peering: {sent: 0.01}
  budgets:
    - internet=50GB/h
    - all=2.5USD/h,cross-zone=1GB/h
`

func TestEgressConfig(t *testing.T) {
	cfg, err := Parse("egress.yaml", strings.NewReader(egressFull))
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Egress
	if p := e.Place(); p != (egress.Place{Provider: "aws", Region: "us-east-1", Zone: "us-east-1a"}) {
		t.Errorf("Place = %+v", p)
	}
	if len(e.Ranges) != 2 || e.Ranges[1].Provider != "azure" || e.Ranges[1].File != "tags.json" {
		t.Errorf("Ranges = %+v", e.Ranges)
	}
	tab, err := egress.NewTable(e.Rules([]netip.Addr{netip.MustParseAddr("10.0.1.5")}, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]egress.Class{"10.20.1.1": "peering", "fd00:20::1": "peering", "10.0.2.9": "cross-zone",
		"10.0.1.9": "same-zone", "10.0.1.5": "host", "8.8.8.8": "internet"} {
		if got := tab.Classify(netip.MustParseAddr(addr)).Class; got != want {
			t.Errorf("%s: class %s, want %s", addr, got, want)
		}
	}
	p := e.PriceTable()
	if p.Unit != egress.UnitGB || p.Currency != "USD" {
		t.Errorf("unit %v currency %q", p.Unit, p.Currency)
	}
	if c := p.Cost(egress.ClassInternet, 2e9, 1e9); c.Amount != 0.18 || !c.Known() {
		t.Errorf("internet cost %+v", c)
	}
	if c := p.Cost(egress.ClassPeering, 1e9, 1e9); c.UnpricedBytes != 1e9 {
		t.Errorf("peering's received has no price: %+v", c)
	}
	bs, err := e.BudgetList(cfg.Check.WarnUtilization)
	if err != nil || len(bs) != 3 || bs[0].WarnPerHour != 0.75*50e9 || bs[1].Class != egress.ClassAll || bs[1].Currency != "USD" {
		t.Errorf("budgets %+v, %v", bs, err)
	}
}

func TestEgressConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   []string
		absent []string
	}{
		{"provider", "egress:\n  provider: oracle\n", []string{"egress.provider: not one of aws, gcp, azure"}, []string{"oracle"}},
		{"region without provider", "egress:\n  region: us-east-1\n", []string{"egress.region: needs egress.provider"}, nil},
		{"bad region", "egress:\n  provider: aws\n  region: 'us east'\n", []string{"egress.region: not a region name"}, []string{"us east"}},
		{"ranges provider", "egress:\n  ranges:\n    - {provider: ibm, file: x.json}\n", []string{"egress.ranges[0].provider"}, []string{"ibm"}},
		{"ranges file", "egress:\n  ranges:\n    - {provider: aws}\n", []string{"egress.ranges[0].file: not a path"}, nil},
		{"ranges typo", "egress:\n  ranges:\n    - {provider: aws, path: x.json}\n", []string{"line 3", "unknown key in section egress.ranges", "keys there: file, provider"}, []string{"x.json"}},
		{"network name", "egress:\n  networks:\n    - {name: 'a b', cidrs: [10.0.0.0/8], class: vpn}\n", []string{"egress.networks[0].name: not a network name"}, []string{"a b"}},
		{"network twice", "egress:\n  networks:\n    - {name: n, cidrs: [10.0.0.0/8], class: vpn}\n    - {name: n, cidrs: [11.0.0.0/8], class: vpn}\n", []string{"egress.networks[1] (n): the name is given twice"}, nil},
		{"network cidr", "egress:\n  networks:\n    - {name: n, cidrs: [10.0.0.0/8, SECRET], class: vpn}\n", []string{"egress.networks[0] (n).cidrs[1]: not a CIDR prefix"}, []string{"SECRET"}},
		{"network no cidrs", "egress:\n  networks:\n    - {name: n, class: vpn}\n", []string{"egress.networks[0] (n).cidrs: give 1 to 4096 prefixes"}, nil},
		{"network class", "egress:\n  networks:\n    - {name: n, cidrs: [10.0.0.0/8], class: Peering}\n", []string{"egress.networks[0] (n).class: not a class name"}, []string{"Peering"}},
		{"network reserved class", "egress:\n  networks:\n    - {name: n, cidrs: [10.0.0.0/8], class: unknown}\n", []string{"egress.networks[0] (n).class: unknown is reserved"}, nil},
		{"network no class", "egress:\n  networks:\n    - {name: n, cidrs: [10.0.0.0/8]}\n", []string{"give a class (same-zone, cross-zone, peering, vpn…) or a zone"}, nil},
		{"network zone without host zone", "egress:\n  networks:\n    - {name: n, cidrs: [10.0.0.0/8], zone: b}\n", []string{"egress.networks[0] (n).zone: egress.zone must be set"}, nil},
		{"network typo", "egress:\n  networks:\n    - {name: n, cidr: [10.0.0.0/8], class: vpn}\n", []string{"line 3", "unknown key in section egress.networks", "did you mean cidrs?"}, nil},
		{"prices without unit", "egress:\n  prices:\n    internet: {sent: 0.09}\n", []string{"egress.unit: say what the prices are per, GB (10^9 bytes) or GiB (2^30 bytes)"}, nil},
		{"bad unit", "egress:\n  unit: gb\n", []string{"egress.unit: not GB (10^9 bytes) or GiB (2^30 bytes)"}, nil},
		{"currency", "egress:\n  currency: dollars\n", []string{"egress.currency: not a currency code"}, []string{"dollars"}},
		{"price class", "egress:\n  unit: GB\n  prices:\n    peering: {sent: 0.01}\n", []string{"egress.prices.peering: no rule gives this class", "built-in: host, link, private"}, nil},
		{"price key", "egress:\n  unit: GB\n  prices:\n    'SECRET key': {sent: 0.01}\n", []string{"egress.prices: a key is not a class name"}, []string{"SECRET"}},
		{"price unknown", "egress:\n  unit: GB\n  prices:\n    unknown: {sent: 0.01}\n", []string{"egress.prices.unknown: traffic that cannot be classed is never priced"}, nil},
		{"price negative", "egress:\n  unit: GB\n  prices:\n    internet: {sent: -1}\n", []string{"egress.prices.internet.sent: out of range"}, nil},
		{"price empty", "egress:\n  unit: GB\n  prices:\n    internet: {}\n", []string{"egress.prices.internet: give sent, received or both"}, nil},
		{"price type", "egress:\n  unit: GB\n  prices:\n    internet: {sent: cheap}\n", []string{"line 4", "wrong type", "a number"}, []string{"cheap"}},
		{"price typo", "egress:\n  unit: GB\n  prices:\n    internet: {send: 0.09}\n", []string{"line 4", "unknown key in section egress.prices", "did you mean sent?"}, nil},
		{"budget", "egress:\n  budgets: [internet=50Gb/h]\n", []string{"egress.budgets[0]: budget 1: limit: bits are not a budget"}, nil},
		{"budget secret", "egress:\n  budgets: ['SECRET=$y$hash/h']\n", []string{"egress.budgets[0]: budget 1"}, []string{"SECRET", "hash"}},
		{"budgets twice", "egress:\n  budgets: [internet=50GB/h, internet=40GB/h]\n", []string{"egress.budgets (all entries together): budget 2: class internet has a sent budget already"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.yaml", strings.NewReader(tc.in))
			if err == nil {
				t.Fatal("want error, got nil")
			}
			for _, w := range append(tc.want, "test.yaml") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(err.Error(), a) {
					t.Errorf("error %q quotes the file's text %q", err, a)
				}
			}
		})
	}
}
