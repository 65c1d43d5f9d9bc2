package flows

import (
	"cmp"
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"netriage/triage/rank"
)

// Aggregation is how flows are grouped in a Snapshot, as iftop's views.
type Aggregation uint8

// Aggregations.
const (
	// ByHostPair groups by (local address, remote address): iftop's
	// default. Proto and ports are zero in the keys.
	ByHostPair Aggregation = iota
	// ByHostPort groups by protocol, addresses and ports (iftop -P).
	// Equivalent to By5Tuple, kept separate for the user-facing name.
	ByHostPort
	// By5Tuple keeps every flow of the table.
	By5Tuple
	// BySource groups by the local address only (iftop's 's' view, which
	// shows the source side): Remote, Proto and ports are zero.
	BySource
	// ByDestination groups by the remote address only (iftop's 'd').
	ByDestination
)

// String returns the aggregation's flag-style name.
func (a Aggregation) String() string {
	switch a {
	case ByHostPair:
		return "hosts"
	case ByHostPort:
		return "ports"
	case By5Tuple:
		return "5tuple"
	case BySource:
		return "source"
	case ByDestination:
		return "destination"
	}
	return "unknown"
}

// Aggregate reduces k to the grouping key of a.
func (a Aggregation) Aggregate(k Key) Key {
	switch a {
	case ByHostPair:
		return Key{Local: k.Local, Remote: k.Remote}
	case BySource:
		return Key{Local: k.Local}
	case ByDestination:
		return Key{Remote: k.Remote}
	}
	return k
}

// FlowStat is one (possibly aggregated) flow in a snapshot.
type FlowStat struct {
	// Key is the flow's key, reduced by the snapshot's Aggregation.
	Key Key
	// Counts are cumulative since the capture started (or since the flow
	// was first seen, if it was expired or evicted before).
	Counts
	// Since is what the flow counted since the table's previous snapshot
	// (Seq − 1), all of Counts' bytes for a flow new since; set when the
	// snapshot's Since is. A consumer that saw that snapshot adds it
	// instead of keeping every flow's counters to subtract.
	Since Since
	// Rates are the windowed rates at the snapshot's Time.
	Rates Rates
	// First and Last are the capture timestamps of the first and last
	// packet counted in the flow.
	First, Last time.Time
	// Flows is how many table flows were aggregated into this one (1 for
	// By5Tuple).
	Flows int
	// Seconds are the non-empty seconds of the flow's rate window, oldest
	// first, so a consumer that groups flows further (the TUI) merges them
	// with Group as the table does; nil when the window is empty. A
	// table's snapshot leaves out the seconds before its Time −
	// WindowSeconds, which no rate at Time or later reads. The flows of
	// one snapshot share the array: read-only.
	Seconds []Second
}

// Since is what a flow counted between two snapshots.
type Since struct {
	SentBytes, RecvBytes uint64
}

// Health is the capture's own state: what it saw, what it could not count
// per flow, what the kernel dropped. Counters are cumulative since start.
type Health struct {
	// Packets and Bytes count every captured frame and the IP bytes
	// accounted to flows (equal to the totals' bytes).
	Packets uint64
	Bytes   uint64
	// LinkHeaderBytes is the link-layer header bytes of the captured
	// frames (14 per Ethernet frame, 18 with one VLAN tag...), so coverage
	// can compare IP bytes + link headers with interface counters.
	LinkHeaderBytes uint64
	// KernelDrops is what the kernel could not queue to the capture
	// (PACKET_STATISTICS tp_drops, summed over interfaces).
	KernelDrops uint64
	// EvictedFlows left the table because it was full; ExpiredFlows left it
	// idle. Their bytes stay in Snapshot.Other.
	EvictedFlows uint64
	ExpiredFlows uint64
	// NonIP counts frames that are not IPv4/IPv6 (ARP, LLDP...);
	// Truncated counts IP packets whose headers were cut by the snap
	// length or are malformed; Fragments counts IP fragments.
	NonIP     uint64
	Truncated uint64
	Fragments uint64
	// Interfaces is one entry per capture handle, in the order given.
	Interfaces []IfaceHealth
	// Filter is the tcpdump-syntax filter, "" if none; LocalNet describes
	// the local boundary ("host addresses", or the -F network).
	Filter   string
	LocalNet string
	// Warnings are what the capture was asked for and could not do while
	// it runs on (such as promiscuous mode on "any" or without the
	// privilege), one sentence each.
	Warnings []string
}

// IfaceHealth is one capture handle's state.
type IfaceHealth struct {
	// Name is the interface name, "any", or the file name of a replay.
	Name string
	// Packets and KernelDrops are cumulative.
	Packets     uint64
	KernelDrops uint64
	// Err is the last error of the handle ("" when it is healthy), such as
	// an interface gone down or removed; the other handles keep running.
	Err string
	// Stopped is true when the handle no longer captures.
	Stopped bool
	// RingBytes is the size of the interface's capture rings now (summed
	// over its fanout rings), 0 for a file. A ring that grows on demand
	// starts small and grows in stages to its configured size; RingBytes
	// is the stage it has reached, from GrewAt on.
	RingBytes uint64
	// GrewAt is the capture time of the load that made the ring grow last
	// (the last packet of the first block the kernel handed over full, or
	// the newest packet when the ring was more than half waiting); zero
	// while it has not grown.
	GrewAt time.Time
}

// Snapshot is one immutable view of the flow table: every slice is freshly
// allocated, nothing points into buffers the engine reuses. Consumers must
// not modify it.
type Snapshot struct {
	// Seq numbers snapshots from 1.
	Seq uint64
	// Time is the reference time of the rates: the engine's tick for live
	// captures, the capture time reached for replays. Rates use the complete
	// seconds before it.
	Time time.Time
	// Start is when the accounting started (first packet of a replay).
	Start time.Time
	// RateSeconds are the seconds the 2 s, 10 s and 40 s rates are
	// averaged over: the windows' lengths, or the time since the start
	// while it is shorter (see Warmup); zero before Warmup ran.
	RateSeconds [3]int
	// Aggregation is the grouping of Flows.
	Aggregation Aggregation
	// Flows are the flows in the table, aggregated, in no particular order
	// (use Sort).
	Flows []FlowStat
	// Since says the flows' Since are set: the table's snapshots carry
	// them, every flow's bytes since the snapshot numbered Seq − 1, taken
	// whole or top-n (the flows a top-n snapshot left out count from it
	// too).
	Since bool
	// Other holds the flows evicted or expired from the table (zero Key);
	// Totals = sum(Flows) + Other, always, in a full snapshot.
	Other FlowStat
	// Omitted is the number of flows (groups, when aggregated) a top-n
	// snapshot (Table.SnapshotTop) left out of Flows: their bytes are in
	// Totals, not in Flows or Other. 0 in a full snapshot.
	Omitted int
	// Totals are all IP bytes and packets counted.
	Totals FlowStat
	// Capture is the capture's health.
	Capture Health
}

// SortKey orders flows, with iftop's choices.
type SortKey uint8

// Sort keys.
const (
	// Sort2s, Sort10s, Sort40s: descending total (sent + received) rate
	// over that window, then cumulative bytes.
	Sort2s SortKey = iota
	Sort10s
	Sort40s
	// SortSource: ascending local address, then remote.
	SortSource
	// SortDestination: ascending remote address, then local.
	SortDestination
	// SortBytes: descending cumulative bytes.
	SortBytes
)

// FromFile makes the snapshot of a capture file independent of the
// machine it is read on: times in UTC (the packets' timestamps carry no
// zone), and the one capture "interface" is the file, named path, with
// every packet.
func (s *Snapshot) FromFile(path string) {
	s.Time, s.Start = s.Time.UTC(), s.Start.UTC()
	s.Capture.Interfaces = slices.Clone(s.Capture.Interfaces) // s may share them
	for i := range s.Capture.Interfaces {
		s.Capture.Interfaces[i].Name = path
		s.Capture.Interfaces[i].Packets = s.Capture.Packets
	}
}

// Clone returns a copy of s that shares no slice with it, for a consumer
// that sorts or relabels what it was handed (Snapshot values are shared
// and must not be modified).
func (s *Snapshot) Clone() Snapshot {
	c := *s
	c.Flows = slices.Clone(s.Flows)
	c.Capture.Interfaces = slices.Clone(s.Capture.Interfaces)
	c.Capture.Warnings = slices.Clone(s.Capture.Warnings)
	return c
}

// ParseAggregation reads --aggregate: "hosts" (also "pairs" and ""),
// "ports", "5tuple" ("flows"), "source" ("s", "src") or "destination"
// ("d", "dst"), in any case; hosts is host:port pairs when ports (-P).
func ParseAggregation(s string, ports bool) (Aggregation, bool) {
	switch strings.ToLower(s) {
	case "", "hosts", "pairs":
		if ports {
			return ByHostPort, true
		}
		return ByHostPair, true
	case "ports":
		return ByHostPort, true
	case "5tuple", "flows":
		return By5Tuple, true
	case "source", "s", "src":
		return BySource, true
	case "destination", "d", "dst":
		return ByDestination, true
	}
	return 0, false
}

// ParseSortKey reads "2s", "10s", "40s", "source", "destination" or "bytes".
func ParseSortKey(s string) (SortKey, bool) {
	switch s {
	case "2s":
		return Sort2s, true
	case "10s":
		return Sort10s, true
	case "40s":
		return Sort40s, true
	case "source", "src":
		return SortSource, true
	case "destination", "dst":
		return SortDestination, true
	case "bytes", "total":
		return SortBytes, true
	}
	return 0, false
}

// CompareKeys orders keys by local address, remote address, protocol and
// ports.
func CompareKeys(a, b Key) int {
	if c := a.Local.Compare(b.Local); c != 0 {
		return c
	}
	if c := a.Remote.Compare(b.Remote); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.LocalPort, b.LocalPort), cmp.Compare(a.RemotePort, b.RemotePort))
}

// sortItem is what Sort compares of one flow, as words compared in order:
// the rate and bytes the sort key asks for (complemented: descending), the
// local address (bit length, then its 16-byte form), the remote address,
// the protocol and ports, the position. Comparisons read one small array
// instead of the flows themselves.
type sortItem struct {
	w     [9]uint64
	zoned bool // an address has a zone, which the words leave out
}

// sortBuf is Sort's working memory, reused from call to call (a snapshot
// of a flood sorts 100,000 flows or more every second).
type sortBuf struct {
	items []sortItem
	order []int32
}

var sortBufs = sync.Pool{New: func() any { return new(sortBuf) }}

// rateWord maps a rate to a word whose order is the rate's descending
// order (as cmp.Compare orders floats, NaN lowest).
func rateWord(r float64) uint64 {
	if math.IsNaN(r) {
		return math.MaxUint64
	}
	if r == 0 {
		r = 0 // -0 is 0
	}
	b := math.Float64bits(r)
	if b>>63 != 0 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return ^b
}

func addrWords(a netip.Addr) (bitLen, hi, lo uint64) {
	b := a.As16()
	return uint64(a.BitLen()), binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// Sort orders fl in place by k; ties are broken by key (and by position,
// for equal keys), so the order is deterministic and the same as a stable
// sort's.
func Sort(fl []FlowStat, k SortKey) {
	if len(fl) < 2 {
		return
	}
	buf := sortBufs.Get().(*sortBuf)
	defer sortBufs.Put(buf)
	if cap(buf.items) < len(fl) {
		buf.items, buf.order = make([]sortItem, len(fl)), make([]int32, len(fl))
	}
	items, order := buf.items[:len(fl)], buf.order[:len(fl)]
	for i := range fl {
		f := &fl[i]
		it := &items[i]
		var rate float64
		switch k {
		case Sort2s:
			rate = f.Rates.R2.Total()
		case Sort10s:
			rate = f.Rates.R10.Total()
		case Sort40s:
			rate = f.Rates.R40.Total()
		}
		it.w[0], it.w[1] = rateWord(rate), 0
		if k != SortSource && k != SortDestination {
			it.w[1] = ^f.Bytes()
		}
		it.w[2], it.w[3], it.w[4] = addrWords(f.Key.Local)
		it.w[5], it.w[6], it.w[7] = addrWords(f.Key.Remote)
		it.w[8] = uint64(f.Key.Proto)<<32 | uint64(f.Key.LocalPort)<<16 | uint64(f.Key.RemotePort)
		it.zoned = f.Key.Local.Zone() != "" || f.Key.Remote.Zone() != ""
	}
	// The address sorts put their address first.
	first := 0
	switch k {
	case SortSource:
		first = 2
	case SortDestination:
		first = 5
	}
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int {
		a, b := &items[x], &items[y]
		if a.zoned || b.zoned {
			return cmp.Or(compareFlows(&fl[x], &fl[y], k), cmp.Compare(x, y))
		}
		for j := first; j < first+3; j++ {
			if a.w[j] != b.w[j] {
				return cmp.Compare(a.w[j], b.w[j])
			}
		}
		for j := range a.w {
			if a.w[j] != b.w[j] {
				return cmp.Compare(a.w[j], b.w[j])
			}
		}
		return cmp.Compare(x, y)
	})
	// Put fl in that order in place, one cycle of the permutation at a
	// time: position j gets the flow that was at order[j].
	for start := range order {
		if order[start] < 0 {
			continue
		}
		tmp := fl[start]
		for j := start; ; {
			src := int(order[j])
			order[j] = -1
			if src == start {
				fl[j] = tmp
				break
			}
			fl[j] = fl[src]
			j = src
		}
	}
}

// SortTop puts the first n flows of Sort's order by k at the start of fl,
// in that order, and the other flows after them in their previous order;
// n ≤ 0 (no limit) sorts them all.
// It is for a writer that shows n of many flows: a selection over the
// flows and a sort of n, not a sort of all of them.
func SortTop(fl []FlowStat, k SortKey, n int) {
	if n <= 0 || n >= len(fl) { // a limit of 0 shows all
		Sort(fl, k)
		return
	}
	h := topPositions(fl, k, n)
	top := make([]FlowStat, n)
	chosen := slices.Clone(h)
	for r, p := range h {
		top[r] = fl[p]
	}
	// The others move back, in their order, over the chosen positions.
	slices.Sort(chosen)
	w, c := len(fl)-1, len(chosen)-1
	for j := len(fl) - 1; j >= 0; j-- {
		if c >= 0 && int(chosen[c]) == j {
			c--
			continue
		}
		fl[w] = fl[j]
		w--
	}
	copy(fl, top)
}

// Top returns a new slice of the first n flows of Sort's order by k (all
// of them, sorted, for n ≤ 0), leaving fl as it was: a writer of n of a
// shared snapshot's many flows copies n, not all of them.
func Top(fl []FlowStat, k SortKey, n int) []FlowStat {
	if n <= 0 || n >= len(fl) {
		all := slices.Clone(fl)
		Sort(all, k)
		return all
	}
	top := make([]FlowStat, n)
	for r, p := range topPositions(fl, k, n) {
		top[r] = fl[p]
	}
	return top
}

// topPositions returns the positions in fl of the first n flows (0 < n <
// len(fl)) of Sort's order by k, in that order (positions break ties, as
// there).
func topPositions(fl []FlowStat, k SortKey, n int) []int32 {
	return rank.Top(fl, n, func(a, b *FlowStat) int { return compareFlows(a, b, k) })
}

// compareFlows is Sort's order of two flows (before their positions).
func compareFlows(a, b *FlowStat, k SortKey) int {
	switch k {
	case SortSource:
		if c := a.Key.Local.Compare(b.Key.Local); c != 0 {
			return c
		}
	case SortDestination:
		if c := a.Key.Remote.Compare(b.Key.Remote); c != 0 {
			return c
		}
	case Sort2s:
		if c := cmp.Compare(b.Rates.R2.Total(), a.Rates.R2.Total()); c != 0 {
			return c
		}
	case Sort10s:
		if c := cmp.Compare(b.Rates.R10.Total(), a.Rates.R10.Total()); c != 0 {
			return c
		}
	case Sort40s:
		if c := cmp.Compare(b.Rates.R40.Total(), a.Rates.R40.Total()); c != 0 {
			return c
		}
	}
	if k != SortSource && k != SortDestination {
		if c := cmp.Compare(b.Bytes(), a.Bytes()); c != 0 {
			return c
		}
	}
	return CompareKeys(a.Key, b.Key)
}

// Find returns the flow with key k (already aggregated), if present.
func (s *Snapshot) Find(k Key) (FlowStat, bool) {
	for _, f := range s.Flows {
		if f.Key == k {
			return f, true
		}
	}
	return FlowStat{}, false
}
