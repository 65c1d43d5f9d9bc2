package names

import (
	"crypto/tls"
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func BenchmarkParseDNS(b *testing.B) {
	simple := resp{qname: "www.example.com.", answers: []rr{
		{owner: "www.example.com.", ttl: 300, addr: "198.18.0.10"},
		{owner: "www.example.com.", ttl: 300, addr: "198.18.0.11"}}}.build(b)
	query := resp{hdr: dnsmessage.Header{ID: 1, RecursionDesired: true}, qname: "www.example.com."}.build(b)
	for _, bc := range []struct {
		name string
		msg  []byte
		n    int
	}{
		{"cname-chain", capturedResponse, 2}, // two CNAMEs, two A: allocates the question and the Via
		{"two-A", simple, 2},                 // allocates the question
		{"query", query, 0},                  // skipped on the header
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]Answer, 0, 16)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				dst, err = ParseDNS(dst[:0], bc.msg, false)
				if err != nil || len(dst) != bc.n {
					b.Fatal(len(dst), err)
				}
			}
		})
	}
}

func BenchmarkParseClientHello(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  *tls.Config
	}{
		{"tls13", &tls.Config{ServerName: "api.example.com"}},
		{"tls12", &tls.Config{ServerName: "api.example.com", MaxVersion: tls.VersionTLS12}},
	} {
		h := clientHello(b, bc.cfg)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := ParseClientHello(h); !ok {
					b.Fatal("no name")
				}
			}
		})
	}
}

func BenchmarkLooksLikeClientHello(b *testing.B) {
	h := clientHello(b, &tls.Config{ServerName: "api.example.com"})
	other := []byte("GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if LooksLikeClientHello(h) {
			n++
		}
		if LooksLikeClientHello(other) {
			n--
		}
	}
	if n <= 0 {
		b.Fatal(n)
	}
}

// heapInUse returns the bytes of live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// benchAddr is the i-th of many distinct addresses: three in four IPv4
// (198.18.0.0/15) while they last, the rest IPv6 (fd00:198:18::/64).
func benchAddr(i int) netip.Addr {
	if i < 1<<17 && i%4 != 3 {
		return netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)})
	}
	return netip.AddrFrom16([16]byte{0xfd, 0, 0x01, 0x98, 0, 0x18, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
}

// fillCache adds n answers for distinct addresses, each with its own name
// (and one in three with a Via), at capacity n, and returns the cache's
// heap bytes per entry, names included.
func fillCache(n int) (float64, *Cache) {
	before := heapInUse()
	c := NewCache(n)
	for i := 0; i < n; i++ {
		a := Answer{Name: "host-" + strconv.Itoa(i) + ".svc.example.com", Addr: benchAddr(i), TTL: 300}
		if i%3 == 0 {
			a.Via = "edge-" + strconv.Itoa(i) + ".cdn.example.net"
		}
		c.Add(a, t0)
	}
	after := heapInUse()
	if s := c.Stats(); s.Entries != n || s.Evicted != 0 {
		panic("cache does not hold every entry")
	}
	return float64(after-before) / float64(n), c
}

// maxBytesPerEntry bounds a full cache's memory per address, its names
// included (about 25 bytes each here).
const maxBytesPerEntry = 300

func TestCacheMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a 100,000-entry cache")
	}
	per, c := fillCache(100_000)
	t.Logf("100,000 entries: %.0f heap bytes per entry", per)
	if per > maxBytesPerEntry {
		t.Errorf("%.0f bytes per entry, want ≤ %d", per, maxBytesPerEntry)
	}
	runtime.KeepAlive(c)
}

// BenchmarkCache100k fills a cache of 100,000 addresses and reports its
// heap bytes per entry (B/entry, on lookup-hit); then looks addresses up,
// adds to addresses held, and adds new addresses to the full cache (each
// evicts one).
func BenchmarkCache100k(b *testing.B) {
	const n = 100_000
	per, c := fillCache(n)
	names := make([]string, 4096)
	for i := range names {
		names[i] = "new-" + strconv.Itoa(i) + ".example.com"
	}
	b.Run("lookup-hit", func(b *testing.B) {
		b.ReportAllocs()
		now := t0.Add(time.Second)
		i := 0
		for b.Loop() {
			if _, ok := c.Lookup(benchAddr(i%n), now); !ok {
				b.Fatal("miss")
			}
			i++
		}
		b.ReportMetric(per, "B/entry")
	})
	b.Run("lookup-miss", func(b *testing.B) {
		b.ReportAllocs()
		now := t0.Add(time.Second)
		miss := benchAddr(n)
		for b.Loop() {
			if _, ok := c.Lookup(miss, now); ok {
				b.Fatal("hit")
			}
		}
	})
	b.Run("add-held", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			c.Add(Answer{Name: names[i&4095], Addr: benchAddr(i % n), TTL: 300}, t0)
			i++
		}
	})
	b.Run("add-evict", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			c.Add(Answer{Name: names[i&4095], Addr: benchAddr(n + i), TTL: 300}, t0)
			i++
		}
		if c.Stats().Evicted < uint64(i) {
			b.Fatal("nothing evicted")
		}
	})
	runtime.KeepAlive(c)
}
