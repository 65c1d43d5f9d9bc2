package egress

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
)

// benchRules returns n cloud prefixes (three quarters IPv4 /12../28, one
// quarter IPv6 /29../64), random but fixed, with overlaps, over the
// built-in rules and a few named networks.
func benchRules(n int) Rules {
	rng := rand.New(rand.NewPCG(7, 11))
	r := testRules()
	r.Cloud = r.Cloud[:0]
	regions := []string{"us-east-1", "eu-west-1", "ap-south-1", "GLOBAL"}
	services := []string{"AMAZON", "EC2", "S3", "CLOUDFRONT"}
	for i := 0; i < n; i++ {
		var p netip.Prefix
		if i%4 == 3 {
			var b [16]byte
			b[0], b[1] = 0x26, byte(rng.IntN(16))
			for j := 2; j < 8; j++ {
				b[j] = byte(rng.IntN(256))
			}
			p = netip.PrefixFrom(netip.AddrFrom16(b), 29+rng.IntN(36)).Masked()
		} else {
			a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0})
			p = netip.PrefixFrom(a, 12+rng.IntN(17)).Masked()
		}
		r.Cloud = append(r.Cloud, CloudRange{Prefix: p, Provider: "aws", Service: services[rng.IntN(4)], Region: regions[rng.IntN(4)]})
	}
	return r
}

// benchAddrs returns addresses that hit loaded prefixes and miss them,
// IPv4 and IPv6 in equal numbers.
func benchAddrs(r Rules, n int) []netip.Addr {
	rng := rand.New(rand.NewPCG(3, 5))
	out := make([]netip.Addr, 0, n)
	for len(out) < n {
		switch len(out) % 4 {
		case 0: // inside a loaded prefix
			p := r.Cloud[rng.IntN(len(r.Cloud))].Prefix
			b := p.Addr().As16()
			b[15] ^= byte(rng.IntN(256))
			a := netip.AddrFrom16(b)
			if p.Addr().Is4() {
				a = a.Unmap()
			}
			out = append(out, a)
		case 1:
			out = append(out, netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}))
		case 2:
			var b [16]byte
			b[0], b[1] = 0x26, byte(rng.IntN(16))
			for j := 2; j < 16; j++ {
				b[j] = byte(rng.IntN(256))
			}
			out = append(out, netip.AddrFrom16(b))
		case 3:
			out = append(out, netip.MustParseAddr("::ffff:10.0.2.5"))
		}
	}
	return out
}

// BenchmarkClassify is one lookup with 10,000 cloud prefixes loaded (plus
// the built-in blocks and the test rules); it reports the table's size.
func BenchmarkClassify(b *testing.B) {
	r := benchRules(10000)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	tab, err := NewTable(r)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	addrs := benchAddrs(r, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	var sink Dest
	for i := 0; i < b.N; i++ {
		sink = tab.Classify(addrs[i&4095])
	}
	_ = sink
	v4, v6 := tab.Ranges()
	b.ReportMetric(float64(tab.Len()), "prefixes")
	b.ReportMetric(float64(v4+v6), "ranges")
	b.ReportMetric(float64(tab.SizeBytes()), "table-B")
	b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc), "heap-B")
	runtime.KeepAlive(tab)
}

// BenchmarkNewTable is one build of the table of 10,000 cloud prefixes.
func BenchmarkNewTable(b *testing.B) {
	r := benchRules(10000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := NewTable(r); err != nil {
			b.Fatal(err)
		}
	}
}
