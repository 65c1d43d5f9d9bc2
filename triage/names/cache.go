package names

import (
	"net/netip"
	"sync"
	"time"
)

// Lifetimes of the Cache's names.
const (
	// MinTTL is the shortest a DNS name is kept: answers with TTLs of a
	// few seconds (or 0) still name the connection made right after them.
	MinTTL = 30 * time.Second
	// MaxTTL is the longest a DNS name is kept, whatever its TTL: an
	// address may have been given to another name since.
	MaxTTL = time.Hour
	// SNILifetime is how long a server name is kept after the ClientHello
	// that carried it.
	SNILifetime = 10 * time.Minute
)

// Entry is what the Cache knows of an address.
type Entry struct {
	Name string // the question of the DNS answer most recently added, "" when none is current
	Via  string // that answer's last CNAME target, if any
	SNI  string // the server name most recently seen towards the address, "" when none is current
	// Expires is when the later of the entry's current names expires.
	Expires time.Time
}

// Best is the name to show for the address: the DNS name, else the server
// name.
func (e Entry) Best() string {
	if e.Name != "" {
		return e.Name
	}
	return e.SNI
}

// Stats are the Cache's counts.
type Stats struct {
	Entries int    // addresses held (those expired and not yet removed included)
	Added   uint64 // answers and server names accepted
	Evicted uint64 // addresses with a current name removed to make room (capacity)
	Expired uint64 // addresses removed because all their names had expired
	Refused uint64 // answers and server names refused: a name that is not a ValidName, or an invalid address
}

// Cache maps an address to the name most recently answered for it and to
// the server name most recently seen towards it, each until it expires,
// for at most capacity addresses. Adding an address when the cache is full
// evicts the least recently added or looked-up one (O(1): a list over a
// slab, indexed by a map). An entry whose names have all expired is
// removed when looked up, or on an Add when it is among the two least
// recently used. It is
// pure: the caller passes the time (packet time). All methods are safe for
// concurrent use (one sync.Mutex): the capture goroutine adds while the
// engine looks up.
type Cache struct {
	mu    sync.Mutex
	index map[netip.Addr]int32
	slots []slot // up to capacity; a free slot is on the free list
	head  int32  // most recently used, -1 when empty
	tail  int32  // least recently used
	free  int32  // first free slot, -1 when none
	cap   int
	st    Stats
}

// slot is one address's entry, linked in use order (or on the free list,
// through next).
type slot struct {
	addr       netip.Addr
	name, via  string
	sni        string
	dnsExp     int64 // Unix nanoseconds; 0: no DNS name
	sniExp     int64 // 0: no server name
	prev, next int32
}

// NewCache returns an empty cache holding at most capacity addresses (at
// least 1).
func NewCache(capacity int) *Cache {
	capacity = max(capacity, 1)
	return &Cache{index: make(map[netip.Addr]int32), head: -1, tail: -1, free: -1, cap: capacity}
}

// key is the form addresses are held in: IPv4-mapped IPv6 as IPv4, no
// zone.
func key(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// Add records the answer's name for its address, replacing the one held,
// for its TTL within MinTTL and MaxTTL from now. An answer whose Name (or
// Via, when set) is not a ValidName, or whose Addr is invalid, is refused
// and counted.
func (c *Cache) Add(a Answer, now time.Time) {
	ok := a.Addr.IsValid() && ValidName(a.Name) && (a.Via == "" || ValidName(a.Via))
	ttl := min(max(time.Duration(a.TTL)*time.Second, MinTTL), MaxTTL)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		c.st.Refused++
		return
	}
	s := c.slotFor(key(a.Addr), now)
	s.name, s.via = a.Name, a.Via
	s.dnsExp = now.Add(ttl).UnixNano()
	c.st.Added++
}

// AddSNI records the server name seen in a ClientHello towards addr,
// replacing the one held, for SNILifetime. A name that is not a ValidName
// (ParseClientHello's "" for a refused one) or an invalid address is
// refused and counted.
func (c *Cache) AddSNI(addr netip.Addr, sni string, now time.Time) {
	ok := addr.IsValid() && ValidName(sni)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		c.st.Refused++
		return
	}
	s := c.slotFor(key(addr), now)
	s.sni = sni
	s.sniExp = now.Add(SNILifetime).UnixNano()
	c.st.Added++
}

// Lookup returns the current names of addr. ok is false when it has none;
// an entry whose names have all expired is removed.
func (c *Cache) Lookup(addr netip.Addr, now time.Time) (Entry, bool) {
	k := key(addr)
	t := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	i, found := c.index[k]
	if !found {
		return Entry{}, false
	}
	s := &c.slots[i]
	var e Entry
	exp := int64(0)
	if s.dnsExp > t {
		e.Name, e.Via = s.name, s.via
		exp = s.dnsExp
	}
	if s.sniExp > t {
		e.SNI = s.sni
		exp = max(exp, s.sniExp)
	}
	if exp == 0 {
		c.remove(i)
		c.st.Expired++
		return Entry{}, false
	}
	c.toFront(i)
	e.Expires = time.Unix(0, exp).In(now.Location())
	return e, true
}

// Stats returns the counts so far.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.st
	s.Entries = len(c.index)
	return s
}

// slotFor returns k's slot, moved to the front of the use order: the one
// held, or a new one, made room for by removing the least recently used
// entry when the cache is full. It first removes up to two expired entries
// from the back, so that dead entries do not wait for eviction.
func (c *Cache) slotFor(k netip.Addr, now time.Time) *slot {
	if i, ok := c.index[k]; ok {
		c.toFront(i)
		return &c.slots[i]
	}
	t := now.UnixNano()
	for j := 0; j < 2 && c.tail >= 0 && c.slots[c.tail].expired(t); j++ {
		c.remove(c.tail)
		c.st.Expired++
	}
	if len(c.index) >= c.cap {
		// The sweep above found the tail alive: this loses a name.
		c.remove(c.tail)
		c.st.Evicted++
	}
	var i int32
	if c.free >= 0 {
		i = c.free
		c.free = c.slots[i].next
	} else {
		if len(c.slots) == cap(c.slots) {
			// Grow by doubling, never past the capacity.
			grown := make([]slot, len(c.slots), min(max(2*cap(c.slots), 64), c.cap))
			copy(grown, c.slots)
			c.slots = grown
		}
		c.slots = append(c.slots, slot{})
		i = int32(len(c.slots) - 1)
	}
	c.slots[i] = slot{addr: k, prev: -1, next: c.head}
	if c.head >= 0 {
		c.slots[c.head].prev = i
	}
	c.head = i
	if c.tail < 0 {
		c.tail = i
	}
	c.index[k] = i
	return &c.slots[i]
}

func (s *slot) expired(t int64) bool { return s.dnsExp <= t && s.sniExp <= t }

// unlink takes slot i out of the use order.
func (c *Cache) unlink(i int32) {
	s := &c.slots[i]
	if s.prev >= 0 {
		c.slots[s.prev].next = s.next
	} else {
		c.head = s.next
	}
	if s.next >= 0 {
		c.slots[s.next].prev = s.prev
	} else {
		c.tail = s.prev
	}
}

// toFront makes slot i the most recently used.
func (c *Cache) toFront(i int32) {
	if c.head == i {
		return
	}
	c.unlink(i)
	s := &c.slots[i]
	s.prev, s.next = -1, c.head
	c.slots[c.head].prev = i
	c.head = i
}

// remove drops slot i's entry and puts the slot on the free list.
func (c *Cache) remove(i int32) {
	c.unlink(i)
	delete(c.index, c.slots[i].addr)
	c.slots[i] = slot{next: c.free}
	c.free = i
}

// TapStats are the counts of what fed a Cache from a capture.
type TapStats struct {
	// Messages are the DNS responses parsed; Malformed those refused
	// (cut by the snap length, split over TCP segments, hostile);
	// Answers the addresses they named.
	Messages, Malformed, Answers uint64
	// Hellos are the TLS ClientHellos seen, SNIs those with a server name.
	Hellos, SNIs uint64
	// Drops are packets the names rings' kernel side dropped.
	Drops uint64
}
