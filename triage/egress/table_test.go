package egress

import (
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func pfx(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, x := range s {
		out[i] = netip.MustParsePrefix(x)
	}
	return out
}

// testRules is a host in aws us-east-1a on 198.18.0.0/24 with every rule
// in use and overlaps within each rule.
func testRules() Rules {
	return Rules{
		Host:   []netip.Addr{netip.MustParseAddr("198.18.0.2"), netip.MustParseAddr("fd00:198:18::2")},
		OnLink: pfx("198.18.0.0/24", "fd00:198:18::/64"),
		Place:  Place{Provider: "aws", Region: "us-east-1", Zone: "us-east-1a"},
		Networks: []Network{
			{Name: "corp", Prefixes: pfx("10.0.0.0/8"), Class: "corp"},
			{Name: "peer-vpc", Prefixes: pfx("10.20.0.0/16", "fd00:20::/32"), Class: ClassPeering},
			{Name: "subnet-b", Prefixes: pfx("10.0.2.0/24"), Zone: "us-east-1b"},
			{Name: "subnet-a", Prefixes: pfx("10.0.1.0/24"), Zone: "US-EAST-1A"},
			{Name: "tailnet", Prefixes: pfx("100.64.0.0/10"), Class: ClassVPN},
			{Name: "mapped", Prefixes: pfx("::ffff:10.30.0.0/112"), Class: "mapped"},
		},
		Cloud: []CloudRange{
			{Prefix: netip.MustParsePrefix("52.192.0.0/10"), Provider: "aws", Service: "AMAZON", Region: "us-east-1", BorderGroup: "us-east-1"},
			{Prefix: netip.MustParsePrefix("52.216.0.0/15"), Provider: "aws", Service: "AMAZON", Region: "us-east-1", BorderGroup: "us-east-1"},
			{Prefix: netip.MustParsePrefix("52.216.0.0/15"), Provider: "aws", Service: "S3", Region: "us-east-1", BorderGroup: "us-east-1"},
			{Prefix: netip.MustParsePrefix("3.248.0.0/13"), Provider: "aws", Service: "EC2", Region: "eu-west-1", BorderGroup: "eu-west-1"},
			{Prefix: netip.MustParsePrefix("13.32.0.0/15"), Provider: "aws", Service: "CLOUDFRONT", Region: "GLOBAL", BorderGroup: "GLOBAL"},
			{Prefix: netip.MustParsePrefix("34.1.208.0/20"), Provider: "gcp", Service: "Google Cloud", Region: "africa-south1"},
			{Prefix: netip.MustParsePrefix("2600:1f18::/33"), Provider: "aws", Service: "EC2", Region: "us-east-1", BorderGroup: "us-east-1"},
			{Prefix: netip.MustParsePrefix("2603:1030::/40"), Provider: "azure", Service: "AzureStorage", Region: "eastus"},
		},
	}
}

func TestClassify(t *testing.T) {
	tab, err := NewTable(testRules())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr    string
		kind    Kind
		class   Class
		network string
	}{
		{"198.18.0.2", KindHost, ClassHost, "this host"},
		{"::ffff:198.18.0.2", KindHost, ClassHost, "this host"},
		{"fd00:198:18::2", KindHost, ClassHost, "this host"},
		{"127.0.0.53", KindHost, ClassHost, "loopback"},
		{"::1", KindHost, ClassHost, "loopback"},
		{"198.18.0.7", KindLink, ClassLink, "on-link"},
		{"fd00:198:18::9", KindLink, ClassLink, "on-link"},
		{"198.18.1.7", KindSpecial, ClassPrivate, "benchmarking (RFC 2544)"},
		{"fd00:198:19::1", KindSpecial, ClassPrivate, "unique-local (RFC 4193)"},
		{"10.9.9.9", KindNetwork, "corp", "corp"},
		{"10.20.3.4", KindNetwork, ClassPeering, "peer-vpc"},
		{"fd00:20::1", KindNetwork, ClassPeering, "peer-vpc"},
		{"10.0.2.5", KindNetwork, ClassCrossZone, "subnet-b"},
		{"10.0.1.5", KindNetwork, ClassSameZone, "subnet-a"},
		{"10.30.0.9", KindNetwork, "mapped", "mapped"},
		{"::ffff:10.30.0.9", KindNetwork, "mapped", "mapped"},
		{"10.31.0.9", KindNetwork, "corp", "corp"},
		{"100.64.1.1", KindNetwork, ClassVPN, "tailnet"},
		{"172.16.0.1", KindSpecial, ClassPrivate, "private-use (RFC 1918)"},
		{"192.168.255.255", KindSpecial, ClassPrivate, "private-use (RFC 1918)"},
		{"169.254.169.254", KindSpecial, ClassPrivate, "link-local (RFC 3927)"},
		{"fe80::1%eth0", KindSpecial, ClassPrivate, "link-local unicast (RFC 4291)"},
		{"224.0.0.251", KindSpecial, ClassPrivate, "multicast (RFC 5771)"},
		{"ff02::fb", KindSpecial, ClassPrivate, "multicast (RFC 4291)"},
		{"0.0.0.0", KindSpecial, ClassPrivate, `"this network" (RFC 791)`},
		{"::", KindSpecial, ClassPrivate, "unspecified address (RFC 4291)"},
		{"255.255.255.255", KindSpecial, ClassPrivate, "limited broadcast (RFC 919)"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", KindSpecial, ClassPrivate, "multicast (RFC 4291)"},
		{"192.0.0.9", KindInternet, ClassInternet, "port control protocol anycast (RFC 7723)"},
		{"192.0.0.11", KindSpecial, ClassPrivate, "IETF protocol assignments (RFC 6890)"},
		{"192.31.196.1", KindInternet, ClassInternet, "AS112-v4 (RFC 7535)"},
		{"64:ff9b::808:808", KindInternet, ClassInternet, "IPv4-IPv6 translation, NAT64 (RFC 6052)"},
		{"2001:db8::1", KindSpecial, ClassPrivate, "documentation (RFC 3849)"},
		{"2001:1::1", KindInternet, ClassInternet, "port control protocol anycast (RFC 7723)"},
		{"2001:1::3", KindSpecial, ClassPrivate, "IETF protocol assignments (RFC 2928)"},
		{"52.216.1.1", KindCloud, ClassSameRegion, "aws/S3/us-east-1"},
		{"52.217.255.255", KindCloud, ClassSameRegion, "aws/S3/us-east-1"},
		{"52.218.0.0", KindCloud, ClassSameRegion, "aws/AMAZON/us-east-1"},
		{"52.255.1.1", KindCloud, ClassSameRegion, "aws/AMAZON/us-east-1"},
		{"52.1.1.1", KindInternet, ClassInternet, ""},
		{"52.32.0.0", KindInternet, ClassInternet, ""},
		{"3.250.0.1", KindCloud, ClassCrossRegion, "aws/EC2/eu-west-1"},
		{"13.32.0.1", KindCloud, ClassSameProvider, "aws/CLOUDFRONT/global"},
		{"34.1.208.1", KindCloud, ClassInternet, "gcp/Google Cloud/africa-south1"},
		{"2600:1f18::1", KindCloud, ClassSameRegion, "aws/EC2/us-east-1"},
		{"2603:1030:0:ff::1", KindCloud, ClassInternet, "azure/AzureStorage/eastus"},
		{"8.8.8.8", KindInternet, ClassInternet, ""},
		{"2001:4860::8888", KindInternet, ClassInternet, ""},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			d := tab.Classify(netip.MustParseAddr(tc.addr))
			if d.Kind != tc.kind || d.Class != tc.class || d.Network != tc.network {
				t.Errorf("Classify(%s) = %v %q %q, want %v %q %q", tc.addr, d.Kind, d.Class, d.Network, tc.kind, tc.class, tc.network)
			}
			if tc.kind != KindInternet || tc.network != "" {
				if !d.Prefix.Contains(netip.MustParseAddr(tc.addr).Unmap().WithZone("")) {
					t.Errorf("Classify(%s).Prefix = %v does not contain it", tc.addr, d.Prefix)
				}
			}
		})
	}
	if d := tab.Classify(netip.Addr{}); d.Kind != KindUnknown || d.Class != ClassUnknown {
		t.Errorf("invalid address: %v %q, want unknown", d.Kind, d.Class)
	}
	d := tab.Classify(netip.MustParseAddr("52.216.1.1"))
	if d.Provider != "aws" || d.Service != "S3" || d.Region != "us-east-1" || d.BorderGroup != "us-east-1" {
		t.Errorf("cloud fields: %+v", d)
	}
}

func TestCloudClass(t *testing.T) {
	r := func(p, reg string) CloudRange { return CloudRange{Provider: p, Region: reg} }
	tests := []struct {
		host Place
		r    CloudRange
		want Class
	}{
		{Place{}, r("aws", "us-east-1"), ClassInternet},
		{Place{Provider: "gcp", Region: "us-east1"}, r("aws", "us-east-1"), ClassInternet},
		{Place{Provider: "aws"}, r("aws", "us-east-1"), ClassSameProvider},
		{Place{Provider: "AWS", Region: "us-east-1"}, r("aws", "US-EAST-1"), ClassSameRegion},
		{Place{Provider: "aws", Region: "us-east-1"}, r("aws", "eu-west-1"), ClassCrossRegion},
		{Place{Provider: "aws", Region: "us-east-1"}, r("aws", "GLOBAL"), ClassSameProvider},
		{Place{Provider: "gcp", Region: "us-east1"}, r("gcp", "global"), ClassSameProvider},
		{Place{Provider: "azure", Region: "eastus"}, r("azure", ""), ClassSameProvider},
	}
	for _, tc := range tests {
		if got := CloudClass(tc.host, tc.r); got != tc.want {
			t.Errorf("CloudClass(%+v, %+v) = %s, want %s", tc.host, tc.r, got, tc.want)
		}
	}
}

func TestNetworkWithoutClass(t *testing.T) {
	for _, r := range []Rules{
		{Networks: []Network{{Name: "x", Prefixes: pfx("10.0.0.0/8")}}},
		{Networks: []Network{{Name: "x", Prefixes: pfx("10.0.0.0/8"), Zone: "a"}}},
		{Place: Place{Zone: "a"}, Networks: []Network{{Name: "x", Prefixes: pfx("10.0.0.0/8")}}},
		{Networks: []Network{{Name: "x", Prefixes: pfx("10.0.0.0/8"), Class: ClassUnknown}}},
		{Networks: []Network{{Name: "x", Prefixes: pfx("10.0.0.0/8"), Class: "Not Valid"}}},
	} {
		if _, err := NewTable(r); err == nil {
			t.Errorf("NewTable(%+v): no error", r.Networks)
		}
	}
}

func TestSkippedAndNil(t *testing.T) {
	tab, err := NewTable(Rules{Host: []netip.Addr{{}}, OnLink: []netip.Prefix{{}}, Cloud: []CloudRange{{Provider: "aws"}}})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Skipped() != 3 {
		t.Errorf("Skipped = %d, want 3", tab.Skipped())
	}
	var none *Table
	if d := none.Classify(netip.MustParseAddr("10.0.0.1")); d.Class != ClassInternet {
		t.Errorf("nil table: %q, want internet", d.Class)
	}
	if d := none.Classify(netip.Addr{}); d.Class != ClassUnknown {
		t.Errorf("nil table, invalid address: %q, want unknown", d.Class)
	}
}

func TestClasses(t *testing.T) {
	tab, err := NewTable(testRules())
	if err != nil {
		t.Fatal(err)
	}
	got := map[Class]bool{}
	for _, c := range tab.Classes() {
		if got[c] {
			t.Errorf("class %s listed twice", c)
		}
		got[c] = true
	}
	for _, c := range append(BuiltinClasses(), "corp", ClassPeering, ClassSameZone, ClassCrossZone, ClassVPN, "mapped") {
		if !got[c] {
			t.Errorf("Classes() lacks %s", c)
		}
	}
}

// reference classes a by scanning every entry: the definition the
// flattened table must agree with.
func reference(t *Table, a netip.Addr) int32 {
	if !a.IsValid() {
		return -2
	}
	a = a.Unmap().WithZone("")
	best := int32(-1)
	for i := range t.entries {
		if t.entries[i].prefix.Contains(a) && t.better(int32(i), best) {
			best = int32(i)
		}
	}
	return best
}

// TestFlattenAgreesWithScan loads random overlapping prefixes in every
// rule and checks every boundary address (first, last, one past the last of
// each prefix) and random ones against a linear scan.
func TestFlattenAgreesWithScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 40; round++ {
		var r Rules
		rand4 := func(minBits int) netip.Prefix {
			// Inside 10.0.0.0/8 and 52.0.0.0/8 so that prefixes overlap.
			top := [2]byte{10, 52}[rng.IntN(2)]
			a := netip.AddrFrom4([4]byte{top, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			return netip.PrefixFrom(a, minBits+rng.IntN(33-minBits)).Masked()
		}
		rand6 := func() netip.Prefix {
			var b [16]byte
			b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
			b[4] = byte(rng.IntN(2))
			for i := 5; i < 16; i++ {
				b[i] = byte(rng.IntN(256))
			}
			return netip.PrefixFrom(netip.AddrFrom16(b), 32+rng.IntN(97)).Masked()
		}
		for i := 0; i < 5; i++ {
			r.Host = append(r.Host, rand4(32).Addr())
			r.OnLink = append(r.OnLink, rand4(20), rand6())
		}
		for i := 0; i < 8; i++ {
			r.Networks = append(r.Networks, Network{Name: "n", Prefixes: []netip.Prefix{rand4(8), rand6()}, Class: "c"})
		}
		for i := 0; i < 200; i++ {
			p := rand4(8)
			if i%3 == 0 {
				p = rand6()
			}
			svc := []string{"AMAZON", "S3", "EC2"}[rng.IntN(3)]
			reg := []string{"us-east-1", "GLOBAL", "eu-west-1"}[rng.IntN(3)]
			r.Cloud = append(r.Cloud, CloudRange{Prefix: p, Provider: "aws", Service: svc, Region: reg})
			if i%10 == 0 { // identical prefixes
				r.Cloud = append(r.Cloud, CloudRange{Prefix: p, Provider: "aws", Service: "AMAZON", Region: reg})
			}
		}
		tab, err := NewTable(r)
		if err != nil {
			t.Fatal(err)
		}
		check := func(a netip.Addr) {
			t.Helper()
			if got, want := tab.lookup(a), reference(tab, a); got != want {
				t.Fatalf("round %d: lookup(%s) = %d, scan = %d", round, a, got, want)
			}
		}
		for _, e := range tab.entries {
			p := e.prefix
			s, end := bounds(p)
			for _, x := range []u128{s, end, end.next()} {
				if p.Addr().Is4() {
					if x.lo > 1<<32-1 {
						continue
					}
					v := uint32(x.lo)
					check(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
				} else {
					var b [16]byte
					for i := 0; i < 8; i++ {
						b[i], b[8+i] = byte(x.hi>>(56-8*i)), byte(x.lo>>(56-8*i))
					}
					check(netip.AddrFrom16(b))
				}
			}
		}
		for i := 0; i < 500; i++ {
			check(rand4(32).Addr())
			check(netip.PrefixFrom(rand6().Addr(), 128).Addr())
		}
	}
}

func TestClassifyAllocs(t *testing.T) {
	tab, err := NewTable(testRules())
	if err != nil {
		t.Fatal(err)
	}
	addrs := []netip.Addr{netip.MustParseAddr("52.216.1.1"), netip.MustParseAddr("2600:1f18::1"), netip.MustParseAddr("::ffff:10.0.2.5"), netip.MustParseAddr("8.8.8.8")}
	var sink Dest
	if n := testing.AllocsPerRun(100, func() {
		for _, a := range addrs {
			sink = tab.Classify(a)
		}
	}); n != 0 {
		t.Errorf("Classify allocates %.1f times per run, want 0", n)
	}
	_ = sink
}

// TestDocsListSpecialBlocks keeps docs/egress.md's table of
// special-purpose blocks in step with the code.
func TestDocsListSpecialBlocks(t *testing.T) {
	doc, err := os.ReadFile("../../docs/egress.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range SpecialBlocks() {
		if !strings.Contains(string(doc), "`"+b.Prefix.String()+"`") {
			t.Errorf("docs/egress.md does not list %s (%s)", b.Prefix, b.Name)
		}
	}
}

// TestCloudRangeBeatsSpecialBlock: a ranges file that covers a
// special-purpose block (a lab's 198.18.0.0/15) classes it as the file
// says; the rest of the block stays private.
func TestCloudRangeBeatsSpecialBlock(t *testing.T) {
	tab, err := NewTable(Rules{
		Place: Place{Provider: "aws", Region: "us-east-1"},
		Cloud: []CloudRange{{Prefix: netip.MustParsePrefix("198.19.40.0/24"), Provider: "aws", Service: "S3", Region: "eu-west-1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := tab.Classify(netip.MustParseAddr("198.19.40.9")); d.Kind != KindCloud || d.Class != ClassCrossRegion {
		t.Errorf("198.19.40.9: %v %q, want cloud cross-region", d.Kind, d.Class)
	}
	if d := tab.Classify(netip.MustParseAddr("198.19.41.9")); d.Kind != KindSpecial || d.Class != ClassPrivate {
		t.Errorf("198.19.41.9: %v %q, want special private", d.Kind, d.Class)
	}
}
