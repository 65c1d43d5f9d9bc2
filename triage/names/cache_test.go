package names

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// addr returns the i-th test address, 198.18.x.y.
func addr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}) }

// checkList walks the use order both ways and the free list: every slot
// is in exactly one, and the index holds the listed ones.
func checkList(t *testing.T, c *Cache) {
	t.Helper()
	seen := map[int32]bool{}
	n := 0
	prev := int32(-1)
	for i := c.head; i >= 0; i = c.slots[i].next {
		if seen[i] || c.slots[i].prev != prev {
			t.Fatalf("use order broken at slot %d", i)
		}
		if j, ok := c.index[c.slots[i].addr]; !ok || j != i {
			t.Fatalf("slot %d (%v) not indexed", i, c.slots[i].addr)
		}
		seen[i] = true
		prev = i
		n++
	}
	if c.tail != prev || n != len(c.index) || n > c.cap {
		t.Fatalf("tail %d (want %d), %d listed, %d indexed, capacity %d", c.tail, prev, n, len(c.index), c.cap)
	}
	for i := c.free; i >= 0; i = c.slots[i].next {
		if seen[i] {
			t.Fatalf("slot %d both used and free", i)
		}
		seen[i] = true
	}
	if len(seen) != len(c.slots) || cap(c.slots) > c.cap {
		t.Fatalf("%d slots accounted of %d (capacity %d, slab %d)", len(seen), len(c.slots), c.cap, cap(c.slots))
	}
}

func TestCacheLifetimes(t *testing.T) {
	tests := []struct {
		name string
		ttl  uint32
		life time.Duration
	}{
		{"TTL 0 raised to the floor", 0, MinTTL},
		{"TTL 5 s raised to the floor", 5, MinTTL},
		{"TTL 300 s kept", 300, 300 * time.Second},
		{"TTL 1 day lowered to the ceiling", 86400, MaxTTL},
		{"largest TTL", 1<<32 - 1, MaxTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCache(4)
			c.Add(Answer{Name: "a.example.com", Via: "edge.example.net", Addr: addr(1), TTL: tt.ttl}, t0)
			e, ok := c.Lookup(addr(1), t0.Add(tt.life-time.Nanosecond))
			want := Entry{Name: "a.example.com", Via: "edge.example.net", Expires: t0.Add(tt.life)}
			if !ok || e != want {
				t.Fatalf("just before expiry: %+v, %v; want %+v", e, ok, want)
			}
			if e, ok := c.Lookup(addr(1), t0.Add(tt.life)); ok {
				t.Fatalf("at expiry: %+v", e)
			}
			if s := c.Stats(); s != (Stats{Added: 1, Expired: 1}) {
				t.Errorf("stats %+v", s)
			}
			checkList(t, c)
		})
	}
}

func TestCacheNamesAndSNI(t *testing.T) {
	c := NewCache(4)
	a := addr(1)
	c.AddSNI(a, "sni.example.com", t0)
	if e, ok := c.Lookup(a, t0); !ok || e.Best() != "sni.example.com" || e.Name != "" || !e.Expires.Equal(t0.Add(SNILifetime)) {
		t.Fatalf("SNI only: %+v, %v", e, ok)
	}
	c.Add(Answer{Name: "dns.example.com", Addr: a, TTL: 60}, t0.Add(time.Second))
	e, ok := c.Lookup(a, t0.Add(2*time.Second))
	if !ok || e.Best() != "dns.example.com" || e.SNI != "sni.example.com" || !e.Expires.Equal(t0.Add(SNILifetime)) {
		t.Fatalf("both: %+v, %v (the DNS name is preferred, both kept)", e, ok)
	}
	// The most recent answer replaces the name and its Via.
	c.Add(Answer{Name: "new.example.com", Addr: a, TTL: 3000}, t0.Add(3*time.Second))
	e, _ = c.Lookup(a, t0.Add(4*time.Second))
	if e.Name != "new.example.com" || e.Via != "" || !e.Expires.Equal(t0.Add(3*time.Second+3000*time.Second)) {
		t.Fatalf("replaced: %+v", e)
	}
	// Past the server name's lifetime, the DNS name alone.
	e, ok = c.Lookup(a, t0.Add(SNILifetime))
	if !ok || e.SNI != "" || e.Best() != "new.example.com" {
		t.Fatalf("after the SNI lifetime: %+v, %v", e, ok)
	}
	// An IPv4-mapped IPv6 address is its IPv4 address; a zone is dropped.
	c.Add(Answer{Name: "v4.example.com", Addr: netip.MustParseAddr("::ffff:198.18.0.2"), TTL: 60}, t0)
	if e, ok := c.Lookup(addr(2), t0); !ok || e.Name != "v4.example.com" {
		t.Fatalf("mapped: %+v, %v", e, ok)
	}
	c.AddSNI(netip.MustParseAddr("fe80::1%eth0"), "ll.example.com", t0)
	if e, ok := c.Lookup(netip.MustParseAddr("fe80::1"), t0); !ok || e.SNI != "ll.example.com" {
		t.Fatalf("zone: %+v, %v", e, ok)
	}
	if s := c.Stats(); s != (Stats{Entries: 3, Added: 5}) {
		t.Errorf("stats %+v", s)
	}
	checkList(t, c)
}

func TestCacheRefused(t *testing.T) {
	c := NewCache(4)
	for _, a := range []Answer{
		{Name: "", Addr: addr(1)},
		{Name: "a.example.com"}, // no address
		{Name: "A.example.com", Addr: addr(1)},
		{Name: "a.example.com.", Addr: addr(1)},
		{Name: "a\x1b.example.com", Addr: addr(1)},
		{Name: "a.example.com", Via: "b\x00.example.net", Addr: addr(1)},
	} {
		c.Add(a, t0)
	}
	c.AddSNI(addr(1), "", t0)
	c.AddSNI(addr(1), "é.example", t0)
	c.AddSNI(netip.Addr{}, "a.example", t0)
	if s := c.Stats(); s != (Stats{Refused: 9}) {
		t.Errorf("stats %+v", s)
	}
	if _, ok := c.Lookup(addr(1), t0); ok {
		t.Error("refused names were kept")
	}
}

func TestCacheEviction(t *testing.T) {
	c := NewCache(3)
	for i := 1; i <= 3; i++ {
		c.Add(Answer{Name: "n.example.com", Addr: addr(i), TTL: 600}, t0)
	}
	// Looking 1 up makes 2 the least recently used.
	if _, ok := c.Lookup(addr(1), t0); !ok {
		t.Fatal("1 missing")
	}
	c.Add(Answer{Name: "n.example.com", Addr: addr(4), TTL: 600}, t0)
	for i, want := range map[int]bool{1: true, 2: false, 3: true, 4: true} {
		if _, ok := c.Lookup(addr(i), t0); ok != want {
			t.Errorf("after evicting: %d present %v, want %v", i, ok, want)
		}
	}
	if s := c.Stats(); s != (Stats{Entries: 3, Added: 4, Evicted: 1}) {
		t.Errorf("stats %+v", s)
	}
	checkList(t, c)

	// Re-adding an address held moves it to the front, evicting nothing.
	c.AddSNI(addr(1), "s.example.com", t0)
	if s := c.Stats(); s.Entries != 3 || s.Evicted != 1 {
		t.Errorf("re-add: %+v", s)
	}
	checkList(t, c)
}

func TestCacheExpiredRemovedOnAdd(t *testing.T) {
	c := NewCache(10)
	for i := 1; i <= 4; i++ {
		c.Add(Answer{Name: "n.example.com", Addr: addr(i), TTL: 30}, t0)
	}
	// Each Add after the four expired removes up to two of them.
	later := t0.Add(time.Minute)
	c.Add(Answer{Name: "n.example.com", Addr: addr(5), TTL: 30}, later)
	if s := c.Stats(); s.Entries != 3 || s.Expired != 2 {
		t.Errorf("after one Add: %+v", s)
	}
	c.Add(Answer{Name: "n.example.com", Addr: addr(6), TTL: 30}, later)
	if s := c.Stats(); s.Entries != 2 || s.Expired != 4 {
		t.Errorf("after two: %+v", s)
	}
	checkList(t, c)

	// At the capacity, a live least recently used entry is evicted; an
	// expired one is removed as expired and makes the room.
	c = NewCache(2)
	c.Add(Answer{Name: "n.example.com", Addr: addr(1), TTL: 30}, t0)
	c.Add(Answer{Name: "n.example.com", Addr: addr(2), TTL: 3000}, t0)
	c.Lookup(addr(1), t0) // 2 is the least recently used
	c.Add(Answer{Name: "n.example.com", Addr: addr(3), TTL: 3000}, t0.Add(time.Minute))
	if s := c.Stats(); s.Evicted != 1 || s.Expired != 0 {
		t.Errorf("live least recently used: %+v", s)
	}
	c.Add(Answer{Name: "n.example.com", Addr: addr(4), TTL: 3000}, t0.Add(time.Minute))
	if s := c.Stats(); s.Evicted != 1 || s.Expired != 1 || s.Entries != 2 {
		t.Errorf("expired least recently used: %+v", s)
	}
	checkList(t, c)
}

// TestCacheChurn streams many addresses through a small cache with mixed
// lifetimes and lookups and checks the structure throughout.
func TestCacheChurn(t *testing.T) {
	c := NewCache(100)
	now := t0
	for i := 0; i < 5000; i++ {
		now = now.Add(100 * time.Millisecond)
		a := addr(i % 317)
		switch i % 5 {
		case 0, 1, 2:
			c.Add(Answer{Name: "n.example.com", Addr: a, TTL: uint32(i % 97)}, now)
		case 3:
			c.AddSNI(a, "s.example.com", now)
		case 4:
			c.Lookup(addr(i%211), now)
		}
		if i%250 == 0 {
			checkList(t, c)
		}
	}
	checkList(t, c)
	s := c.Stats()
	if s.Entries > 100 || s.Added != 4000 {
		t.Errorf("stats %+v", s)
	}
	t.Logf("%+v", s)
}

// TestCacheConcurrent adds on one goroutine while others look up (run
// with -race).
func TestCacheConcurrent(t *testing.T) {
	c := NewCache(256)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := 0; i < 20000; i++ {
			if i%2 == 0 {
				c.Add(Answer{Name: "n.example.com", Addr: addr(i % 1000), TTL: 60}, t0)
			} else {
				c.AddSNI(addr(i%1000), "s.example.com", t0)
			}
		}
	}()
	for g := 0; g < 2; g++ {
		go func() {
			defer wg.Done()
			for i := 0; i < 20000; i++ {
				if e, ok := c.Lookup(addr(i%1000), t0); ok && e.Best() == "" {
					t.Error("entry without a name")
					return
				}
				_ = c.Stats()
			}
		}()
	}
	wg.Wait()
	checkList(t, c)
}
