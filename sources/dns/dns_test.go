package dns

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// eventually polls cond for up to 2 s.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met within 2 s")
}

func TestResolverNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	calls := map[string]int{}
	lookup := func(ctx context.Context, addr string) ([]string, error) {
		mu.Lock()
		calls[addr]++
		mu.Unlock()
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		switch addr {
		case "198.18.0.1":
			return []string{"host-a.example."}, nil
		case "fd00:198:18::1":
			return []string{"host\x1b[31m-b.example"}, nil
		}
		return nil, errors.New("no such host")
	}
	r := New(context.Background(), Options{Lookup: lookup, Timeout: 5 * time.Second})
	a := netip.MustParseAddr("198.18.0.1")
	b := netip.MustParseAddr("fd00:198:18::1")
	c := netip.MustParseAddr("198.18.0.2")
	start := time.Now()
	for i := 0; i < 3; i++ {
		for _, x := range []netip.Addr{a, b, c} {
			if n := r.Name(x); n != "" {
				t.Fatalf("Name(%v) = %q before the lookup finished", x, n)
			}
		}
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("Name blocked for %v", d)
	}
	close(release)
	eventually(t, func() bool { return r.Stats().InFlight == 0 })
	if got := r.Name(a); got != "host-a.example" {
		t.Errorf("Name(a) = %q, want host-a.example", got)
	}
	if got := r.Name(b); got != "host31m-b.example" {
		t.Errorf("Name(b) = %q, want control characters removed", got)
	}
	if got := r.Name(c); got != "" {
		t.Errorf("Name(c) = %q, want empty (failed lookup)", got)
	}
	mu.Lock()
	for addr, n := range calls {
		if n != 1 {
			t.Errorf("%s looked up %d times, want once (cache, also of failures)", addr, n)
		}
	}
	mu.Unlock()
	st := r.Stats()
	if st.Lookups != 3 || st.Failures != 1 || st.Entries != 3 {
		t.Errorf("stats = %+v, want 3 lookups, 1 failure, 3 entries", st)
	}
	r.Close()
}

func TestResolverTimeoutAndBounds(t *testing.T) {
	lookup := func(ctx context.Context, addr string) ([]string, error) {
		<-ctx.Done() // a resolver that never answers
		return nil, ctx.Err()
	}
	r := New(context.Background(), Options{Lookup: lookup, Timeout: 50 * time.Millisecond, MaxInFlight: 2, MaxEntries: 4})
	for i := 1; i <= 10; i++ {
		r.Name(netip.AddrFrom4([4]byte{198, 18, 0, byte(i)}))
	}
	if st := r.Stats(); st.InFlight != 2 || st.Lookups != 2 {
		t.Fatalf("stats = %+v, want 2 lookups in flight (bounded)", st)
	}
	eventually(t, func() bool { return r.Stats().InFlight == 0 })
	for round := 0; round < 10; round++ {
		for i := 1; i <= 10; i++ {
			r.Name(netip.AddrFrom4([4]byte{198, 18, 0, byte(i)}))
		}
		eventually(t, func() bool { return r.Stats().InFlight == 0 })
	}
	if st := r.Stats(); st.Entries > 4 {
		t.Errorf("cache holds %d entries, bound is 4", st.Entries)
	}
	r.Close()
}

func TestResolverCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := New(ctx, Options{Lookup: func(ctx context.Context, _ string) ([]string, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	a := netip.MustParseAddr("198.18.0.1")
	r.Name(a)
	cancel()
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return after cancel")
	}
	if r.Name(a) != "" || r.Stats().Lookups != 1 {
		t.Errorf("lookups after cancel: %+v", r.Stats())
	}
}

func TestNameInvalid(t *testing.T) {
	r := New(context.Background(), Options{Lookup: func(context.Context, string) ([]string, error) {
		t.Error("lookup called")
		return nil, nil
	}})
	r.Name(netip.Addr{})
	r.Name(netip.IPv4Unspecified())
	r.Name(netip.IPv6Unspecified())
	r.Close()
}

func TestPorts(t *testing.T) {
	services := `# comment line
ssh		22/tcp				# SSH Remote Login Protocol
domain		53/tcp
domain		53/udp
http		80/tcp		www		# WorldWideWeb HTTP
bad		x/tcp
odd		80
customsvc	5201/udp
first	7000/tcp
second	7000/tcp
sctpsvc	9899/sctp
`
	p, err := ParseServices(strings.NewReader(services))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		proto uint8
		port  uint16
		name  string
		label string
	}{
		{6, 22, "ssh", "ssh"},
		{17, 22, "", "22"},
		{17, 53, "domain", "domain"},
		{6, 80, "http", "http"},
		{17, 5201, "customsvc", "customsvc"},
		{6, 7000, "first", "first"},
		{132, 9899, "sctpsvc", "sctpsvc"},
		{1, 22, "", "22"},
	}
	for _, tc := range tests {
		if got := p.Name(tc.proto, tc.port); got != tc.name {
			t.Errorf("Name(%d, %d) = %q, want %q", tc.proto, tc.port, got, tc.name)
		}
		if got := p.Label(tc.proto, tc.port); got != tc.label {
			t.Errorf("Label(%d, %d) = %q, want %q", tc.proto, tc.port, got, tc.label)
		}
	}
	var nilPorts *Ports
	if nilPorts.Label(6, 22) != "22" {
		t.Error("nil Ports must label with numbers")
	}
}

func TestLoadPorts(t *testing.T) {
	p, err := LoadPorts(filepath.Join(t.TempDir(), "missing"))
	if err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if p.Name(6, 443) != "https" || p.Name(17, 53) != "domain" {
		t.Errorf("built-in table: 443/tcp=%q 53/udp=%q", p.Name(6, 443), p.Name(17, 53))
	}
	path := filepath.Join(t.TempDir(), "services")
	if err := os.WriteFile(path, []byte("myhttps 443/tcp\nlocal 40000/udp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err = LoadPorts(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name(6, 443) != "myhttps" || p.Name(17, 40000) != "local" || p.Name(6, 22) != "ssh" {
		t.Errorf("overlay: 443/tcp=%q 40000/udp=%q 22/tcp=%q", p.Name(6, 443), p.Name(17, 40000), p.Name(6, 22))
	}
}

func BenchmarkNameCached(b *testing.B) {
	r := New(context.Background(), Options{Lookup: func(context.Context, string) ([]string, error) { return []string{"x.example"}, nil }})
	a := netip.MustParseAddr("198.18.0.1")
	r.Name(a)
	for r.Stats().InFlight > 0 {
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		r.Name(a)
	}
}

func TestSettle(t *testing.T) {
	slow := netip.MustParseAddr("198.18.0.2")
	fast := netip.MustParseAddr("198.18.0.1")
	r := New(context.Background(), Options{Lookup: func(ctx context.Context, a string) ([]string, error) {
		if a == slow.String() {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return []string{"fast.example."}, nil
	}, Timeout: time.Minute})
	defer r.Close()
	r.Settle(context.Background(), []netip.Addr{fast}, 5*time.Second)
	if got := r.Name(fast); got != "fast.example" {
		t.Errorf("after Settle: %q", got)
	}
	done := make(chan struct{})
	go func() { r.Settle(context.Background(), []netip.Addr{fast, slow}, 50*time.Millisecond); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Settle did not keep to its budget")
	}
}
