package flows

import (
	"math"
	"net/netip"
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

const none = -1

// ikey is the table's internal map key: Key without netip.Addr's zone
// pointer, so the map hashes plain memory (measurably faster per packet).
type ikey struct {
	l, r   [16]byte
	lp, rp uint16
	proto  Proto
	v4     bool
}

func toIkey(k *Key) ikey {
	return ikey{l: k.Local.As16(), r: k.Remote.As16(), lp: k.LocalPort, rp: k.RemotePort, proto: k.Proto, v4: k.Local.Is4()}
}

type entry struct {
	key         Key
	cum         Counts
	win         Window
	first, last time.Time
	lastNs      int64 // last as Unix nanoseconds (math.MinInt64: none yet)
	prev, next  int32 // LRU list: head is most recent
}

// Table is the bounded flow table. It is not safe for concurrent use: the
// capture engine serialises Update, Expire and Snapshot calls.
//
// Update allocates nothing for packets of flows already in the table; a new
// flow may grow the table's map and slice until the cap is reached, after
// which slots are reused.
type Table struct {
	cfg     TableConfig
	index   map[ikey]int32
	entries []entry
	free    []int32
	head    int32
	tail    int32

	// last is the previous packet's flow: a run of packets of one flow
	// (a bulk transfer, a flood) skips classification and the map.
	last lastFlow
	// run holds the counts of the latest packets of last's flow within
	// one second, not yet added to the flow and the totals: it is added
	// (flush) when another flow or second comes and before anything reads
	// the table, so a run costs one update, not one per packet.
	run run

	other   entry // evicted and expired flows
	totals  entry
	evicted uint64
	expired uint64
	started bool
	start   time.Time
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
	t := &Table{cfg: cfg, index: make(map[ikey]int32, min(cfg.MaxFlows, 4096)), head: none, tail: none}
	t.totals.lastNs = math.MinInt64
	return t
}

// Len returns the number of flows in the table.
func (t *Table) Len() int { return len(t.index) }

// Evicted returns how many flows were evicted because the table was full.
func (t *Table) Evicted() uint64 { return t.evicted }

// Expired returns how many flows expired idle.
func (t *Table) Expired() uint64 { return t.expired }

// Start returns the timestamp of the first packet counted (zero before).
func (t *Table) Start() time.Time { return t.start }

func (t *Table) unlink(i int32) {
	e := &t.entries[i]
	if e.prev != none {
		t.entries[e.prev].next = e.next
	} else {
		t.head = e.next
	}
	if e.next != none {
		t.entries[e.next].prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = none, none
}

func (t *Table) pushFront(i int32) {
	e := &t.entries[i]
	e.prev, e.next = none, t.head
	if t.head != none {
		t.entries[t.head].prev = i
	}
	t.head = i
	if t.tail == none {
		t.tail = i
	}
}

// remove folds entry i into Other and frees its slot.
func (t *Table) remove(i int32) {
	e := &t.entries[i]
	t.other.cum.Add(e.cum)
	t.other.win.Merge(&e.win)
	if t.other.first.IsZero() || e.first.Before(t.other.first) {
		t.other.first = e.first
	}
	if e.last.After(t.other.last) {
		t.other.last = e.last
	}
	t.unlink(i)
	delete(t.index, toIkey(&e.key))
	if t.last.i == i {
		t.last.valid = false
	}
	t.free = append(t.free, i)
}

// lookup returns the index of k or none.
func (t *Table) lookup(k *Key) int32 {
	if i, ok := t.index[toIkey(k)]; ok {
		return i
	}
	return none
}

func (t *Table) insert(k Key, ts time.Time) int32 {
	if len(t.index) >= t.cfg.MaxFlows && t.tail != none {
		t.remove(t.tail)
		t.evicted++
	}
	var i int32
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		t.entries = append(t.entries, entry{})
		i = int32(len(t.entries) - 1)
	}
	t.entries[i] = entry{key: k, first: ts, lastNs: math.MinInt64, prev: none, next: none}
	t.index[toIkey(&k)] = i
	t.pushFront(i)
	return i
}

// run is a run of packets of one flow, one direction, one second.
type run struct {
	packets, bytes uint64 // packets 0: no run
	sec            int64
	lastNs         int64 // the newest packet's time
	last           time.Time
}

// addTo adds the run to e.
func (r *run) addTo(e *entry, sent bool) {
	if sent {
		e.cum.SentBytes += r.bytes
		e.cum.SentPackets += r.packets
	} else {
		e.cum.RecvBytes += r.bytes
		e.cum.RecvPackets += r.packets
	}
	e.win.Add(r.sec, sent, r.bytes)
	if r.lastNs > e.lastNs {
		e.last, e.lastNs = r.last, r.lastNs
	}
}

// flush adds the pending run to its flow (last's) and to the totals.
func (t *Table) flush() {
	if t.run.packets == 0 {
		return
	}
	t.run.addTo(&t.entries[t.last.i], t.last.sent)
	t.run.addTo(&t.totals, t.last.sent)
	t.run.packets = 0
}

// Update counts one packet. Direction follows Local: a packet from a local
// address to a non-local one is sent, the reverse is received. When both or
// neither address is local, the packet's Hint decides when the capture gave
// one; otherwise the conversation's first packet seen decides:
// its source becomes the local side (the initiator, for TCP), and later
// packets of either direction join that flow.
func (t *Table) Update(p *Packet) {
	if !t.started {
		t.started, t.start = true, p.Time
		t.totals.first = p.Time
	}
	ns, sec, n := p.Time.UnixNano(), p.Time.Unix(), uint64(p.Length)
	if t.last.match(p) {
		if r := &t.run; r.packets > 0 && r.sec == sec {
			r.packets++
			r.bytes += n
			if ns > r.lastNs {
				r.last, r.lastNs = p.Time, ns
			}
			return
		}
		t.flush()
	} else {
		t.flush()
		i, sent := t.find(p)
		t.last = lastFlow{valid: true, sent: sent, proto: p.Proto, hint: p.Hint, sp: p.SrcPort, dp: p.DstPort, src: p.Src, dst: p.Dst, i: i}
	}
	if i := t.last.i; t.head != i {
		t.unlink(i)
		t.pushFront(i)
	}
	t.run = run{packets: 1, bytes: n, sec: sec, lastNs: ns, last: p.Time}
}

// find returns the flow of p, inserting it when new, and whether p was
// sent (see Update for the direction rules).
func (t *Table) find(p *Packet) (i int32, sent bool) {
	fwd := Key{Proto: p.Proto, Local: p.Src, Remote: p.Dst, LocalPort: p.SrcPort, RemotePort: p.DstPort}
	side := t.cfg.Local.Classify(p.Src, p.Dst)
	if side == SideUnknown {
		side = p.Hint
	}
	switch side {
	case SideSent:
		if i = t.lookup(&fwd); i == none {
			i = t.insert(fwd, p.Time)
		}
		return i, true
	case SideRecv:
		rev := Key{Proto: p.Proto, Local: p.Dst, Remote: p.Src, LocalPort: p.DstPort, RemotePort: p.SrcPort}
		if i = t.lookup(&rev); i == none {
			i = t.insert(rev, p.Time)
		}
		return i, false
	}
	if i = t.lookup(&fwd); i != none {
		return i, true
	}
	rev := Key{Proto: p.Proto, Local: p.Dst, Remote: p.Src, LocalPort: p.DstPort, RemotePort: p.SrcPort}
	if i = t.lookup(&rev); i != none {
		return i, false
	}
	return t.insert(fwd, p.Time), true
}

// Expire removes the flows idle for longer than IdleTimeout at now, folding
// them into Other. It returns how many expired.
func (t *Table) Expire(now time.Time) int {
	if t.cfg.IdleTimeout <= 0 {
		return 0
	}
	t.flush()
	limit := now.Add(-t.cfg.IdleTimeout)
	n := 0
	for t.tail != none && t.entries[t.tail].last.Before(limit) {
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

// Snapshot returns the table's state at now, grouped by agg (with Group).
// The result shares nothing with the table; the flows' Seconds share one
// array, read-only. Seq and Capture are left for the caller (the engine)
// to fill, except Capture.EvictedFlows, ExpiredFlows and Bytes.
func (t *Table) Snapshot(now time.Time, agg Aggregation) Snapshot {
	t.flush()
	s := Snapshot{Time: now, Start: t.start, Aggregation: agg}
	busy := t.other.win.busy() + t.totals.win.busy()
	var groups []Group
	perFlow := agg == By5Tuple || agg == ByHostPort
	if perFlow {
		s.Flows = make([]FlowStat, 0, len(t.index))
		for i := t.head; i != none; i = t.entries[i].next {
			e := &t.entries[i]
			s.Flows = append(s.Flows, statOf(e.key, e.cum, &e.win, e.first, e.last, 1, now))
			busy += e.win.busy()
		}
	} else {
		index := make(map[Key]int, len(t.index)/2+1)
		var keys []Key
		for i := t.head; i != none; i = t.entries[i].next {
			e := &t.entries[i]
			k := agg.Aggregate(e.key)
			j, ok := index[k]
			if !ok {
				j = len(groups)
				index[k] = j
				groups = append(groups, Group{})
				keys = append(keys, k)
			}
			groups[j].addEntry(e)
		}
		s.Flows = make([]FlowStat, len(groups))
		for j := range groups {
			g := &groups[j]
			s.Flows[j] = statOf(keys[j], g.counts, &g.win, g.first, g.last, g.flows, now)
			busy += g.win.busy()
		}
	}
	s.Other = statOf(Key{}, t.other.cum, &t.other.win, t.other.first, t.other.last, int(t.evicted+t.expired), now)
	s.Totals = statOf(Key{}, t.totals.cum, &t.totals.win, t.totals.first, t.totals.last, len(t.index)+int(t.evicted+t.expired), now)

	// Every window's seconds go into one array sized to fit, so the
	// sub-slices handed out never move.
	slab := make([]Second, 0, busy)
	attach := func(f *FlowStat, w *Window) {
		o := len(slab)
		if slab = w.AppendSeconds(slab); len(slab) > o {
			f.Seconds = slab[o:len(slab):len(slab)]
		}
	}
	if perFlow {
		j := 0
		for i := t.head; i != none; i = t.entries[i].next {
			attach(&s.Flows[j], &t.entries[i].win)
			j++
		}
	} else {
		for j := range groups {
			attach(&s.Flows[j], &groups[j].win)
		}
	}
	attach(&s.Other, &t.other.win)
	attach(&s.Totals, &t.totals.win)
	s.Capture.EvictedFlows = t.evicted
	s.Capture.ExpiredFlows = t.expired
	s.Capture.Bytes = t.totals.cum.Bytes()
	return s
}
