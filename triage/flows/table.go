package flows

import (
	"cmp"
	"encoding/binary"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// TableConfig configures a Table.
type TableConfig struct {
	// MaxFlows caps the number of flows (at least 1). When a new flow
	// arrives at the cap, the least recently seen flow is evicted into the
	// Other bucket.
	MaxFlows int
	// IdleTimeout expires flows that saw no packet for this long when
	// Expire runs; 0 never expires.
	IdleTimeout time.Duration
	// Local decides direction (see Local and Side).
	Local Local
}

const (
	none = -1
	// dead marks a released entry (its prev link) for walks in memory
	// order.
	dead = -2
	// noSec marks an entry's one-second bucket as empty.
	noSec = math.MinInt64
	// noTime is a time not set yet (a zero time.Time in snapshots).
	noTime = math.MinInt64
)

// Address families of an ikey's two addresses (fam bits).
const (
	famLocal4 = 1 << iota // the local address is IPv4
	famRemote4
	famLocalNone // the local address is the zero Addr
	famRemoteNone
)

// ikey is a flow key as the table stores it: the addresses as 16 bytes and
// their families, no pointers (netip.Addr holds a zone pointer), so entries
// are plain memory the collector does not scan and keys compare and hash
// as bytes. Packet addresses carry no zone.
type ikey struct {
	l, r   [16]byte
	lp, rp uint16
	proto  Proto
	fam    uint8
}

func addrFam(a netip.Addr, v4, invalid uint8) uint8 {
	switch {
	case a.Is4():
		return v4
	case !a.IsValid():
		return invalid
	}
	return 0
}

func toIkey(k *Key) ikey {
	return ikey{l: k.Local.As16(), r: k.Remote.As16(), lp: k.LocalPort, rp: k.RemotePort, proto: k.Proto,
		fam: addrFam(k.Local, famLocal4, famLocalNone) | addrFam(k.Remote, famRemote4, famRemoteNone)}
}

func fromFam(b [16]byte, fam, v4, invalid uint8) netip.Addr {
	switch {
	case fam&v4 != 0:
		return netip.AddrFrom16(b).Unmap()
	case fam&invalid != 0:
		return netip.Addr{}
	}
	return netip.AddrFrom16(b)
}

// key returns the Key that k was made from.
func (k *ikey) key() Key {
	return Key{Proto: k.proto, LocalPort: k.lp, RemotePort: k.rp,
		Local: fromFam(k.l, k.fam, famLocal4, famLocalNone), Remote: fromFam(k.r, k.fam, famRemote4, famRemoteNone)}
}

// reverse returns k with the sides swapped.
func (k *ikey) reverse() ikey {
	f := k.fam
	return ikey{l: k.r, r: k.l, lp: k.rp, rp: k.lp, proto: k.proto,
		fam: (f&famLocal4)<<1 | (f&famRemote4)>>1 | (f&famLocalNone)<<1 | (f&famRemoteNone)>>1}
}

// aggregate reduces k to its group's key under a, as Aggregation.Aggregate.
func (k *ikey) aggregate(a Aggregation) ikey {
	switch a {
	case ByHostPair:
		return ikey{l: k.l, r: k.r, fam: k.fam}
	case BySource:
		return ikey{l: k.l, fam: k.fam&(famLocal4|famLocalNone) | famRemoteNone}
	case ByDestination:
		return ikey{r: k.r, fam: k.fam&(famRemote4|famRemoteNone) | famLocalNone}
	}
	return *k
}

// hash is a seeded multiply-fold hash of k (the seed is random per table,
// so a flood cannot aim at the index's probe sequences).
func (k *ikey) hash(seed *[3]uint64) uint64 {
	le := binary.LittleEndian
	a := mix(le.Uint64(k.l[0:])^seed[0], le.Uint64(k.l[8:])^0x9E3779B97F4A7C15)
	b := mix(le.Uint64(k.r[0:])^0xBF58476D1CE4E5B9, le.Uint64(k.r[8:])^seed[1])
	c := uint64(k.lp) | uint64(k.rp)<<16 | uint64(k.proto)<<32 | uint64(k.fam)<<40
	return mix(a^c^seed[2], b^0x94D049BB133111EB)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// entry is one flow. Its rate history is one second kept in the entry
// (sec, sent, recv) until the flow is seen in a second other second of
// the window; then it moves to a full window in the table's pool (win),
// which goes back to the pool once the flow has been quiet for a whole
// window. A flood's one-packet flows never take a full window.
type entry struct {
	key         ikey
	cum         Counts
	first, last int64 // capture times, Unix ns (last: noTime before the first run is added)
	sec         int64 // the second of the entry's own bucket (noSec: none)
	sent, recv  uint64
	win         int32 // the full window in wins (or wides, when wide), none without
	wide        bool
	prev, next  int32 // LRU list: head is most recent
}

// acc is an accumulation of flows: the totals, Other, an aggregate.
type acc struct {
	cum         Counts
	win         window[uint64]
	first, last int64
}

func newAcc() acc { return acc{first: noTime, last: noTime} }

// slot is one cell of an open-addressing index: idx is the entry (or
// group) index + 1, 0 for an empty cell; tag is the low half of the key's
// hash, which gives the home cell and rejects most other keys without
// reading their entries.
type slot struct {
	idx int32
	tag uint32
}

// slotsFor returns an empty index for n keys: a power of two at least
// twice n, so linear probes stay short.
func slotsFor(n int) []slot {
	c := 8
	for c < 2*n {
		c <<= 1
	}
	return make([]slot, c)
}

// pool hands out fixed-size items from chunks that never move, so growing
// it copies nothing, and reuses released items before growing.
type pool[T any] struct {
	chunks [][]T
	n      int32 // items handed out at least once
	free   []int32
}

const (
	poolShift = 10
	poolChunk = 1 << poolShift
)

func (p *pool[T]) at(i int32) *T { return &p.chunks[i>>poolShift][i&(poolChunk-1)] }

// alloc returns the index of an item; its content is the last user's.
func (p *pool[T]) alloc() int32 {
	if n := len(p.free); n > 0 {
		i := p.free[n-1]
		p.free = p.free[:n-1]
		return i
	}
	if int(p.n) == len(p.chunks)*poolChunk {
		p.chunks = append(p.chunks, make([]T, poolChunk))
	}
	p.n++
	return p.n - 1
}

func (p *pool[T]) release(i int32) { p.free = append(p.free, i) }

// live calls fn for every flow of the table in memory order (which
// reads the entries sequentially, unlike the LRU list), with its index.
func (t *Table) live(fn func(i int32, e *entry)) {
	for c, chunk := range t.entries.chunks {
		base := int32(c) * poolChunk
		n := min(poolChunk, t.entries.n-base)
		for k := range chunk[:max(n, 0)] {
			if e := &chunk[k]; e.prev != dead {
				fn(base+int32(k), e)
			}
		}
	}
}

// Table is the bounded flow table. It is not safe for concurrent use: the
// capture engine serialises Update, Expire and Snapshot calls.
//
// Update allocates nothing at the cap, and nothing for packets of flows
// already in the table. Its index is sized for MaxFlows up front (8 bytes
// a cell, two cells a flow; memory the kernel maps only as flows use it),
// so a new flow never rehashes it; entries and windows come from pools
// that grow a chunk at a time (1,024 items) without moving what they
// hold. Eviction removes the LRU tail in O(1).
type Table struct {
	cfg     TableConfig
	seed    [3]uint64
	index   []slot
	mask    uint32
	n       int // flows in the table
	entries pool[entry]
	// shown holds, by entry index in chunks of poolChunk (one made with
	// each of the entries' pool), each flow's bytes at the last snapshot,
	// for the next one's Since: beside the entries, not in them, so that
	// the packet path's entry stays two cache lines (128 bytes).
	shown [][][2]uint64
	wins  pool[window[uint32]]
	wides pool[window[uint64]] // flows past uint32 in a second
	head  int32
	tail  int32
	loc   *time.Location // the packets' time zone, for snapshot times

	// last is the previous packet's flow: a run of packets of one flow
	// (a bulk transfer, a flood) skips classification and the index.
	last lastFlow
	// run holds the counts of the latest packets of last's flow within
	// one second, not yet added to the flow and the totals: it is added
	// (flush) when another flow or second comes and before anything reads
	// the table, so a run costs one update, not one per packet.
	run run

	other   acc // evicted and expired flows
	totals  acc
	evicted uint64
	expired uint64
	started bool
	start   time.Time

	scratch groupScratch // Snapshot's aggregation, kept for the next one

	// spare is the flows and Seconds of the newest snapshot once Release
	// said it is no longer read, for the next Snapshot to fill instead of
	// allocating; slab is the newest snapshot's Seconds, kept only once
	// the consumer has released a snapshot (so a consumer that never does
	// is not made to keep two).
	spare     []FlowStat
	spareSlab []Second
	slab      []Second
	releasing bool
	taken     uint64 // snapshots taken
	// seconds is how many Seconds the previous snapshot had: the next
	// one's array is made that size at once, not grown a copy at a time.
	seconds int
}

// lastFlow caches where the previous packet went. Direction depends on the
// addresses and, when they cannot decide, on the packet's hint, so both
// are part of the match.
type lastFlow struct {
	valid    bool
	sent     bool
	proto    Proto
	hint     Side
	sp, dp   uint16
	src, dst netip.Addr
	i        int32
}

func (c *lastFlow) match(p *Packet) bool {
	return c.valid && c.src == p.Src && c.dst == p.Dst && c.sp == p.SrcPort && c.dp == p.DstPort &&
		c.proto == p.Proto && c.hint == p.Hint
}

// NewTable returns an empty table.
func NewTable(cfg TableConfig) *Table {
	if cfg.MaxFlows < 1 {
		cfg.MaxFlows = 1
	}
	t := &Table{cfg: cfg, head: none, tail: none, loc: time.UTC, other: newAcc(), totals: newAcc(),
		seed: [3]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64()}}
	t.index = slotsFor(min(cfg.MaxFlows, math.MaxInt32/4))
	t.mask = uint32(len(t.index) - 1)
	return t
}

// Len returns the number of flows in the table.
func (t *Table) Len() int { return t.n }

// Evicted returns how many flows were evicted because the table was full.
func (t *Table) Evicted() uint64 { return t.evicted }

// Expired returns how many flows expired idle.
func (t *Table) Expired() uint64 { return t.expired }

// Start returns the timestamp of the first packet counted (zero before).
func (t *Table) Start() time.Time { return t.start }

func (t *Table) unlink(i int32) {
	e := t.entries.at(i)
	if e.prev != none {
		t.entries.at(e.prev).next = e.next
	} else {
		t.head = e.next
	}
	if e.next != none {
		t.entries.at(e.next).prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = none, none
}

func (t *Table) pushFront(i int32) {
	e := t.entries.at(i)
	e.prev, e.next = none, t.head
	if t.head != none {
		t.entries.at(t.head).prev = i
	}
	t.head = i
	if t.tail == none {
		t.tail = i
	}
}

// remove folds entry i into Other and frees its slot.
func (t *Table) remove(i int32) {
	e := t.entries.at(i)
	t.other.cum.Add(e.cum)
	t.mergeInto(&t.other.win, e)
	if t.other.first == noTime || e.first < t.other.first {
		t.other.first = e.first
	}
	t.other.last = max(t.other.last, e.last)
	t.dropWindow(e)
	t.unlink(i)
	t.unindex(&e.key, i)
	if t.last.i == i {
		t.last.valid = false
	}
	e.prev = dead
	t.entries.release(i)
	t.n--
}

// lookup returns the index of the entry with key k, whose hash is h, or
// none.
func (t *Table) lookup(k *ikey, h uint64) int32 {
	tag := uint32(h)
	for c := tag & t.mask; ; c = (c + 1) & t.mask {
		s := t.index[c]
		if s.idx == 0 {
			return none
		}
		if s.tag == tag && t.entries.at(s.idx-1).key == *k {
			return s.idx - 1
		}
	}
}

// unindex removes entry i, of key k, from the index, moving later cells
// of the probe run back (linear probing needs no tombstones).
func (t *Table) unindex(k *ikey, i int32) {
	c := uint32(k.hash(&t.seed)) & t.mask
	for t.index[c].idx != i+1 {
		c = (c + 1) & t.mask
	}
	for j := c; ; {
		j = (j + 1) & t.mask
		s := t.index[j]
		if s.idx == 0 {
			break
		}
		// s may fill the hole at c unless its home is cyclically in (c, j].
		if (j-s.tag)&t.mask >= (j-c)&t.mask {
			t.index[c] = s
			c = j
		}
	}
	t.index[c] = slot{}
}

func (t *Table) insert(k *ikey, h uint64, ns int64) int32 {
	if t.n >= t.cfg.MaxFlows && t.tail != none {
		t.remove(t.tail)
		t.evicted++
	}
	i := t.entries.alloc()
	*t.entries.at(i) = entry{key: *k, first: ns, last: noTime, sec: noSec, win: none, prev: none, next: none}
	for int(i>>poolShift) >= len(t.shown) {
		t.shown = append(t.shown, make([][2]uint64, poolChunk)) // as the entries' pool grew
	}
	t.shown[i>>poolShift][i&(poolChunk-1)] = [2]uint64{}
	tag := uint32(h)
	c := tag & t.mask
	for t.index[c].idx != 0 {
		c = (c + 1) & t.mask
	}
	t.index[c] = slot{idx: i + 1, tag: tag}
	t.n++
	t.pushFront(i)
	return i
}

// since returns the bytes of entry i (e) since the last snapshot and
// makes this one the last.
func (t *Table) since(i int32, e *entry) Since {
	sh := &t.shown[i>>poolShift][i&(poolChunk-1)]
	d := Since{SentBytes: e.cum.SentBytes - sh[0], RecvBytes: e.cum.RecvBytes - sh[1]}
	*sh = [2]uint64{e.cum.SentBytes, e.cum.RecvBytes}
	return d
}

// addWindow counts n bytes of the second sec in e's rate history.
func (t *Table) addWindow(e *entry, sec int64, sent bool, n uint64) {
	if e.win == none {
		switch {
		case e.sec == sec || e.sec == noSec || sec >= e.sec+WindowSeconds:
			// The same second, the first, or one after the kept second
			// left the window.
			if e.sec != sec {
				e.sec, e.sent, e.recv = sec, 0, 0
			}
			if sent {
				e.sent += n
			} else {
				e.recv += n
			}
			return
		case sec <= e.sec-WindowSeconds: // before the window: as Window.Add
			return
		}
		t.fullWindow(e)
	}
	if e.wide {
		w := t.wides.at(e.win)
		if sec >= w.head+WindowSeconds {
			t.dropWindow(e)
			t.addWindow(e, sec, sent, n)
			return
		}
		w.add(sec, sent, n)
		return
	}
	w := t.wins.at(e.win)
	if sec >= w.head+WindowSeconds {
		t.dropWindow(e)
		t.addWindow(e, sec, sent, n)
		return
	}
	if !w.add(sec, sent, n) {
		t.widen(e)
		t.wides.at(e.win).add(sec, sent, n)
	}
}

// fullWindow moves e's one-second history into a full window.
func (t *Table) fullWindow(e *entry) {
	if e.sent > math.MaxUint32 || e.recv > math.MaxUint32 {
		i := t.wides.alloc()
		w := t.wides.at(i)
		*w = window[uint64]{}
		w.add(e.sec, true, e.sent)
		w.add(e.sec, false, e.recv)
		e.win, e.wide = i, true
	} else {
		i := t.wins.alloc()
		w := t.wins.at(i)
		*w = window[uint32]{}
		w.add(e.sec, true, e.sent)
		w.add(e.sec, false, e.recv)
		e.win, e.wide = i, false
	}
	e.sec, e.sent, e.recv = noSec, 0, 0
}

// widen moves e's window to a uint64 one.
func (t *Table) widen(e *entry) {
	o := t.wins.at(e.win)
	i := t.wides.alloc()
	w := t.wides.at(i)
	*w = window[uint64]{head: o.head, hs: o.hs, used: o.used}
	for s := range o.b {
		w.b[s] = bucket[uint64]{uint64(o.b[s].sent), uint64(o.b[s].recv)}
	}
	t.wins.release(e.win)
	e.win, e.wide = i, true
}

// dropWindow gives e's full window back to its pool; e's history is then
// empty.
func (t *Table) dropWindow(e *entry) {
	if e.win == none {
		return
	}
	if e.wide {
		t.wides.release(e.win)
	} else {
		t.wins.release(e.win)
	}
	e.win, e.wide = none, false
	e.sec, e.sent, e.recv = noSec, 0, 0
}

// dropStale gives back e's full window when nothing in it can show in the
// rates at end (the first incomplete second) or later.
func (t *Table) dropStale(e *entry, end int64) {
	if e.win == none {
		return
	}
	head := t.wins.at(e.win).head
	if e.wide {
		head = t.wides.at(e.win).head
	}
	if head < end-WindowSeconds {
		t.dropWindow(e)
	}
}

// mergeInto adds e's rate history into w.
func (t *Table) mergeInto(w *window[uint64], e *entry) {
	switch {
	case e.win == none:
		if e.sec != noSec {
			w.add(e.sec, true, e.sent)
			w.add(e.sec, false, e.recv)
		}
	case e.wide:
		merge(w, t.wides.at(e.win))
	default:
		merge(w, t.wins.at(e.win))
	}
}

// rates returns e's rates at the first incomplete second end.
func (t *Table) rates(e *entry, end int64) Rates {
	switch {
	case e.win == none:
		if e.sec == noSec {
			return Rates{}
		}
		return oneSecondRates(end, e.sec, e.sent, e.recv)
	case e.wide:
		return t.wides.at(e.win).rates(end)
	}
	return t.wins.at(e.win).rates(end)
}

// run is a run of packets of one flow, one direction, one second.
type run struct {
	packets, bytes uint64 // packets 0: no run
	sec            int64
	lastNs         int64 // the newest packet's time
}

// flush adds the pending run to its flow (last's) and to the totals.
func (t *Table) flush() {
	r := &t.run
	if r.packets == 0 {
		return
	}
	e, sent := t.entries.at(t.last.i), t.last.sent
	if sent {
		e.cum.SentBytes += r.bytes
		e.cum.SentPackets += r.packets
		t.totals.cum.SentBytes += r.bytes
		t.totals.cum.SentPackets += r.packets
	} else {
		e.cum.RecvBytes += r.bytes
		e.cum.RecvPackets += r.packets
		t.totals.cum.RecvBytes += r.bytes
		t.totals.cum.RecvPackets += r.packets
	}
	t.addWindow(e, r.sec, sent, r.bytes)
	t.totals.win.add(r.sec, sent, r.bytes)
	e.last = max(e.last, r.lastNs)
	t.totals.last = max(t.totals.last, r.lastNs)
	r.packets = 0
}

// Update counts one packet. Direction follows Local: a packet from a local
// address to a non-local one is sent, the reverse is received. When both or
// neither address is local, the packet's Hint decides when the capture gave
// one; otherwise the conversation's first packet seen decides:
// its source becomes the local side (the initiator, for TCP), and later
// packets of either direction join that flow.
func (t *Table) Update(p *Packet) {
	ns, sec, n := p.Time.UnixNano(), p.Time.Unix(), uint64(p.Length)
	if !t.started {
		t.started, t.start, t.loc = true, p.Time, p.Time.Location()
		t.totals.first = ns
	}
	if t.last.match(p) {
		if r := &t.run; r.packets > 0 && r.sec == sec {
			r.packets++
			r.bytes += n
			r.lastNs = max(r.lastNs, ns)
			return
		}
		t.flush()
	} else {
		t.flush()
		i, sent := t.find(p, ns)
		t.last = lastFlow{valid: true, sent: sent, proto: p.Proto, hint: p.Hint, sp: p.SrcPort, dp: p.DstPort, src: p.Src, dst: p.Dst, i: i}
	}
	if i := t.last.i; t.head != i {
		t.unlink(i)
		t.pushFront(i)
	}
	t.run = run{packets: 1, bytes: n, sec: sec, lastNs: ns}
}

// find returns the flow of p, inserting it when new, and whether p was
// sent (see Update for the direction rules).
func (t *Table) find(p *Packet, ns int64) (i int32, sent bool) {
	fwd := ikey{l: p.Src.As16(), r: p.Dst.As16(), lp: p.SrcPort, rp: p.DstPort, proto: p.Proto,
		fam: addrFam(p.Src, famLocal4, famLocalNone) | addrFam(p.Dst, famRemote4, famRemoteNone)}
	side := t.cfg.Local.Classify(p.Src, p.Dst)
	if side == SideUnknown {
		side = p.Hint
	}
	switch side {
	case SideSent:
		h := fwd.hash(&t.seed)
		if i = t.lookup(&fwd, h); i == none {
			i = t.insert(&fwd, h, ns)
		}
		return i, true
	case SideRecv:
		rev := fwd.reverse()
		h := rev.hash(&t.seed)
		if i = t.lookup(&rev, h); i == none {
			i = t.insert(&rev, h, ns)
		}
		return i, false
	}
	h := fwd.hash(&t.seed)
	if i = t.lookup(&fwd, h); i != none {
		return i, true
	}
	rev := fwd.reverse()
	if i = t.lookup(&rev, rev.hash(&t.seed)); i != none {
		return i, false
	}
	return t.insert(&fwd, h, ns), true
}

// Expire removes the flows idle for longer than IdleTimeout at now, folding
// them into Other. It returns how many expired.
func (t *Table) Expire(now time.Time) int {
	if t.cfg.IdleTimeout <= 0 {
		return 0
	}
	t.flush()
	limit := now.Add(-t.cfg.IdleTimeout).UnixNano()
	n := 0
	for t.tail != none && t.entries.at(t.tail).last < limit {
		t.remove(t.tail)
		t.expired++
		n++
	}
	return n
}

// Totals returns the cumulative totals.
func (t *Table) Totals() Counts {
	t.flush()
	return t.totals.cum
}

// time returns the capture time ns in the packets' zone.
func (t *Table) time(ns int64) time.Time {
	if ns == noTime {
		return time.Time{}
	}
	return time.Unix(0, ns).In(t.loc)
}

// Snapshot returns the table's state at now, grouped by agg (by the rules
// of Group). The result shares nothing with the table (until Release
// hands its flows back); the flows' Seconds share one array, read-only.
// Seq numbers the table's snapshots from 1 (Release knows the newest by
// it); Capture is left for the caller (the engine) to fill, except
// Capture.EvictedFlows, ExpiredFlows and Bytes.
//
// Snapshots are taken at non-decreasing times: a flow's full window goes
// back to the pool once none of its seconds can show in the rates at now,
// and Seconds leave out the seconds before now − WindowSeconds. Each
// snapshot's Since counts from the one before, whoever took it: a table
// has one snapshotter (the engine), and a consumer of Since checks that
// Seq follows the snapshot it saw last.
func (t *Table) Snapshot(now time.Time, agg Aggregation) Snapshot {
	return t.snapshot(now, agg, nil)
}

// SnapshotTop is Snapshot with only the first n flows of Sort's order by k
// (all of them, sorted, when n ≤ 0 or n is more than there are): the same
// flows, in the order, that Top(Snapshot(now, agg).Flows, k, n) gives,
// with Omitted the number left out (their bytes are in Totals). It holds
// n flows, not one per flow or group, however many the table has: a flood
// of 200,000 host pairs written 50 at a time is 50 FlowStats a record,
// not 50 MB.
func (t *Table) SnapshotTop(now time.Time, agg Aggregation, k SortKey, n int) Snapshot {
	if n <= 0 {
		s := t.snapshot(now, agg, nil)
		Sort(s.Flows, k)
		return s
	}
	return t.snapshot(now, agg, &topSink{k: k, n: n, h: make([]topItem, 0, min(n, 4096))})
}

func (t *Table) snapshot(now time.Time, agg Aggregation, top *topSink) Snapshot {
	t.flush()
	s := Snapshot{Time: now, Start: t.start, Aggregation: agg}
	end := now.Unix()
	var spare []FlowStat
	sec := secondsBuilder{from: end - WindowSeconds, offs: t.scratch.offs[:0]}
	if top != nil {
		// The seconds of every flow go to the table's own array; the
		// chosen flows' are copied out at the end.
		sec.slab = t.scratch.slab[:0]
	} else {
		spare, sec.slab = t.takeSpare(), t.takeSpareSlab()
	}
	if top != nil && (agg == By5Tuple || agg == ByHostPort) {
		ord := int32(0)
		t.live(func(i int32, e *entry) {
			t.dropStale(e, end)
			t.appendSeconds(&sec, e)
			top.offer(FlowStat{Key: e.key.key(), Counts: e.cum, Since: t.since(i, e), Rates: t.rates(e, end),
				First: t.time(e.first), Last: t.time(e.last), Flows: 1}, ord)
			ord++
		})
	} else if agg == By5Tuple || agg == ByHostPort {
		s.Flows = spare
		if cap(s.Flows) < t.n {
			s.Flows = make([]FlowStat, 0, t.grown(t.n))
		}
		t.live(func(i int32, e *entry) {
			t.dropStale(e, end)
			s.Flows = append(s.Flows, FlowStat{Key: e.key.key(), Counts: e.cum, Since: t.since(i, e), Rates: t.rates(e, end),
				First: t.time(e.first), Last: t.time(e.last), Flows: 1})
			t.appendSeconds(&sec, e)
		})
	} else {
		s.Flows = t.aggregate(agg, end, &sec, spare, top)
	}
	stat := func(a *acc, flows int) FlowStat {
		sec.slab = a.win.appendSeconds(sec.slab, sec.from)
		sec.offs = append(sec.offs, int32(len(sec.slab)))
		return FlowStat{Counts: a.cum, Rates: a.win.rates(end), First: t.time(a.first), Last: t.time(a.last), Flows: flows}
	}
	s.Since = true
	s.Other = stat(&t.other, int(t.evicted+t.expired))
	s.Totals = stat(&t.totals, t.n+int(t.evicted+t.expired))
	t.scratch.offs = sec.offs
	t.taken++
	s.Seq = t.taken
	s.Capture.EvictedFlows = t.evicted
	s.Capture.ExpiredFlows = t.expired
	s.Capture.Bytes = t.totals.cum.Bytes()
	if top != nil {
		t.scratch.slab = sec.slab
		top.fill(&s, &sec)
		return s
	}
	// The seconds array is complete: hand out its parts.
	lo := int32(0)
	for j, hi := range sec.offs {
		if hi > lo {
			ss := sec.slab[lo:hi:hi]
			switch j {
			case len(s.Flows):
				s.Other.Seconds = ss
			case len(s.Flows) + 1:
				s.Totals.Seconds = ss
			default:
				s.Flows[j].Seconds = ss
			}
		}
		lo = hi
	}
	t.seconds = len(sec.slab)
	if t.releasing {
		t.slab = sec.slab
	}
	return s
}

// topSink keeps the first n flows of Sort's order by k of those offered,
// each with its position among them (which breaks Sort's ties).
type topSink struct {
	k       SortKey
	n       int
	offered int32
	h       []topItem // a heap: the last of the first n on top
}

type topItem struct {
	fs  FlowStat
	ord int32
}

func (p *topSink) before(a, b *topItem) bool {
	return cmp.Or(compareFlows(&a.fs, &b.fs, p.k), cmp.Compare(a.ord, b.ord)) < 0
}

// offer considers the flow at position ord (offered in order).
func (p *topSink) offer(fs FlowStat, ord int32) {
	p.offered++
	it := topItem{fs: fs, ord: ord}
	h := p.h
	if len(h) < p.n {
		h = append(h, it)
		for c := len(h) - 1; c > 0 && p.before(&h[(c-1)/2], &h[c]); c = (c - 1) / 2 {
			h[c], h[(c-1)/2] = h[(c-1)/2], h[c]
		}
		p.h = h
		return
	}
	if !p.before(&it, &h[0]) {
		return
	}
	h[0] = it
	for i := 0; ; {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if c+1 < len(h) && p.before(&h[c], &h[c+1]) {
			c++
		}
		if !p.before(&h[i], &h[c]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// fill puts the chosen flows in s in Sort's order, with copies of their
// Seconds and of Other's and the totals' (sec holds every flow's, then
// those two).
func (p *topSink) fill(s *Snapshot, sec *secondsBuilder) {
	slices.SortFunc(p.h, func(a, b topItem) int {
		return cmp.Or(compareFlows(&a.fs, &b.fs, p.k), cmp.Compare(a.ord, b.ord))
	})
	span := func(j int32) []Second {
		lo := int32(0)
		if j > 0 {
			lo = sec.offs[j-1]
		}
		return sec.slab[lo:sec.offs[j]]
	}
	n := len(span(p.offered)) + len(span(p.offered+1))
	for i := range p.h {
		n += len(span(p.h[i].ord))
	}
	slab := make([]Second, 0, n)
	cut := func(ss []Second) []Second {
		if len(ss) == 0 {
			return nil
		}
		lo := len(slab)
		slab = append(slab, ss...)
		return slab[lo:len(slab):len(slab)]
	}
	s.Flows = make([]FlowStat, len(p.h))
	for i := range p.h {
		s.Flows[i] = p.h[i].fs
		s.Flows[i].Seconds = cut(span(p.h[i].ord))
	}
	s.Other.Seconds = cut(span(p.offered))
	s.Totals.Seconds = cut(span(p.offered + 1))
	s.Omitted = int(p.offered) - len(p.h)
}

// Release tells the table that nothing reads the flows of snapshot s any
// more, so the next Snapshot may write its flows over them instead of
// allocating: a consumer that writes each snapshot and keeps nothing of
// it (a record a second of a flood's 100,000 host pairs) then does not
// make a snapshot's worth of garbage a second. Only the newest snapshot
// (by Seq) is taken back; Release of an older one does nothing.
func (t *Table) Release(s *Snapshot) {
	if s.Seq != t.taken {
		return
	}
	if cap(s.Flows) > 0 {
		t.spare = s.Flows[:0]
	}
	t.spareSlab, t.slab, t.releasing = t.slab, nil, true
}

// grown is the capacity of a snapshot's new flows array for n flows: n,
// and a quarter more once the consumer releases its snapshots, so that
// while a flood fills the table each snapshot does not need a new array
// a little larger than the last.
func (t *Table) grown(n int) int {
	if t.releasing {
		return n + n/4
	}
	return n
}

// takeSpareSlab returns the released Seconds array, or a new one the size
// the previous snapshot needed (made at once, not grown a copy at a time).
func (t *Table) takeSpareSlab() []Second {
	sp := t.spareSlab
	t.spareSlab = nil
	if cap(sp) < t.seconds || cap(sp) > 4*(t.seconds+1024) {
		return make([]Second, 0, t.grown(t.seconds)+64)
	}
	return sp[:0]
}

// takeSpare returns the released flows (none after a flood has passed:
// flows for four times what the table holds now are left to the
// collector).
func (t *Table) takeSpare() []FlowStat {
	sp := t.spare
	t.spare = nil
	if cap(sp) > 4*max(t.n, 1024) {
		return nil
	}
	return sp
}

// secondsBuilder collects a snapshot's Seconds in one array: the end
// offset of each flow's seconds, in the order of the snapshot's flows,
// then Other's and the totals'.
type secondsBuilder struct {
	from int64 // the first second kept
	slab []Second
	offs []int32
}

// appendSeconds adds e's seconds as the next flow's.
func (t *Table) appendSeconds(b *secondsBuilder, e *entry) {
	switch {
	case e.win == none:
		if e.sec != noSec && e.sec >= b.from && (e.sent != 0 || e.recv != 0) {
			b.slab = append(b.slab, Second{Unix: e.sec, Sent: e.sent, Recv: e.recv})
		}
	case e.wide:
		b.slab = t.wides.at(e.win).appendSeconds(b.slab, b.from)
	default:
		b.slab = t.wins.at(e.win).appendSeconds(b.slab, b.from)
	}
	b.offs = append(b.offs, int32(len(b.slab)))
}

// groupScratch is the working memory of an aggregated snapshot, kept by the
// table so that the next snapshot allocates only its result: about 40
// bytes per flow.
type groupScratch struct {
	index []slot  // group keys, open addressing
	rep   []int32 // per group: its first flow (whose key gives the group's)
	start []int32 // per group: its flows' offset in order
	of    []int32 // per flow in LRU order: its group
	order []int32 // flows by group, LRU order within a group
	win   window[uint64]
	offs  []int32 // the Seconds offsets of a snapshot's flows
	slab  []Second
}

// aggregate returns the flows grouped by agg, groups in the memory order of
// their first flow, each with the counts, rates and times of its flows.
// Its only allocation is the result (and the scratch, when the table grew).
func (t *Table) aggregate(agg Aggregation, end int64, sec *secondsBuilder, spare []FlowStat, top *topSink) []FlowStat {
	g := &t.scratch
	if len(g.index) < 2*t.n || len(g.index) > 16*max(t.n, 64) {
		// Sized for this table (after a flood the table may have shrunk,
		// and so does the scratch).
		*g = groupScratch{index: slotsFor(t.n), rep: make([]int32, 0, t.n), start: make([]int32, 0, t.n),
			of: make([]int32, t.n), order: make([]int32, t.n), offs: sec.offs}
	} else {
		clear(g.index)
	}
	if len(g.of) < t.n {
		g.of, g.order = make([]int32, t.n), make([]int32, t.n)
	}
	mask := uint32(len(g.index) - 1)
	g.rep, g.start = g.rep[:0], g.start[:0]
	j := 0
	t.live(func(i int32, e *entry) {
		t.dropStale(e, end)
		k := e.key.aggregate(agg)
		tag := uint32(k.hash(&t.seed))
		c := tag & mask
		gi := int32(none)
		for ; g.index[c].idx != 0; c = (c + 1) & mask {
			if s := g.index[c]; s.tag == tag && t.entries.at(g.rep[s.idx-1]).key.aggregate(agg) == k {
				gi = s.idx - 1
				break
			}
		}
		if gi == none {
			gi = int32(len(g.rep))
			g.rep = append(g.rep, i)
			g.start = append(g.start, 0)
			g.index[c] = slot{idx: gi + 1, tag: tag}
		}
		g.start[gi]++
		g.of[j] = gi
		j++
	})
	// Counting sort of the flows by group, walking them again.
	off := int32(0)
	for gi, n := range g.start {
		g.start[gi] = off
		off += n
	}
	j = 0
	t.live(func(i int32, _ *entry) {
		gi := g.of[j]
		g.order[g.start[gi]] = i
		g.start[gi]++
		j++
	})
	var out []FlowStat
	if top == nil {
		out = spare[:0]
		if cap(out) < len(g.rep) {
			out = make([]FlowStat, 0, t.grown(len(g.rep)))
		}
		out = out[:len(g.rep)]
	}
	lo := int32(0)
	for gi := range g.rep {
		hi := g.start[gi] // the next group's offset, after the fill above
		members := g.order[lo:hi]
		a := acc{first: noTime, last: noTime}
		var since Since
		for _, i := range members {
			e := t.entries.at(i)
			a.cum.Add(e.cum)
			d := t.since(i, e)
			since.SentBytes += d.SentBytes
			since.RecvBytes += d.RecvBytes
			if a.first == noTime || e.first < a.first {
				a.first = e.first
			}
			a.last = max(a.last, e.last)
		}
		var r Rates
		if len(members) == 1 {
			e := t.entries.at(members[0])
			r = t.rates(e, end)
			t.appendSeconds(sec, e)
		} else {
			g.win = window[uint64]{}
			for _, i := range members {
				t.mergeInto(&g.win, t.entries.at(i))
			}
			r = g.win.rates(end)
			sec.slab = g.win.appendSeconds(sec.slab, sec.from)
			sec.offs = append(sec.offs, int32(len(sec.slab)))
		}
		rk := t.entries.at(g.rep[gi]).key
		fs := FlowStat{Key: agg.Aggregate(rk.key()), Counts: a.cum, Since: since, Rates: r,
			First: t.time(a.first), Last: t.time(a.last), Flows: len(members)}
		if top != nil {
			top.offer(fs, int32(gi))
		} else {
			out[gi] = fs
		}
		lo = hi
	}
	return out
}
