package ranges

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// synthAWS returns an ip-ranges.json of n IPv4 prefixes.
func synthAWS(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"syncToken": "1", "prefixes": [`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"ip_prefix": "%d.%d.%d.0/24", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"}`,
			1+i>>16&0xff, i>>8&0xff, i&0xff)
	}
	b.WriteString(`], "ipv6_prefixes": []}`)
	return []byte(b.String())
}

// TestHostileInputBounded checks that a file far over the prefix cap is
// refused after allocating about what the cap allows, not what the file
// holds.
func TestHostileInputBounded(t *testing.T) {
	data := synthAWS(100_000) // about 10 MB
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	_, err := Parse("big.json", AWS, data, Limits{MaxFileBytes: 32 << 20, MaxPrefixes: 1000})
	runtime.ReadMemStats(&m1)
	if err == nil || !strings.Contains(err.Error(), "more than 1000 prefixes") {
		t.Fatalf("err = %v", err)
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 2<<20 {
		t.Errorf("allocated %d bytes for 1,000 prefixes of a %d-byte file", alloc, len(data))
	}
}

// BenchmarkParseAWS parses an ip-ranges.json of 10,000 prefixes.
func BenchmarkParseAWS(b *testing.B) {
	data := synthAWS(10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse("bench.json", AWS, data, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}
