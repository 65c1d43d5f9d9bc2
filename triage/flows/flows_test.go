package flows

import (
	stdcmp "cmp"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var addrEq = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

var t0 = time.Unix(1_700_000_000, 0).UTC()

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func TestWindowRates(t *testing.T) {
	tests := []struct {
		name string
		adds []struct {
			sec  float64
			sent bool
			n    uint64
		}
		now  float64
		want Rates
	}{
		{name: "empty", now: 10},
		{
			name: "current second excluded",
			adds: []struct {
				sec  float64
				sent bool
				n    uint64
			}{{8.1, true, 100}, {9.5, true, 300}, {10.2, true, 5000}, {9.9, false, 40}},
			now:  10.7,
			want: Rates{R2: Rate{200, 20}, R10: Rate{40, 4}, R40: Rate{10, 1}, Peak: Rate{300, 40}},
		},
		{
			name: "old seconds fall out",
			adds: []struct {
				sec  float64
				sent bool
				n    uint64
			}{{1, true, 4000}, {45, true, 400}},
			now:  46,
			want: Rates{R2: Rate{200, 0}, R10: Rate{40, 0}, R40: Rate{10, 0}, Peak: Rate{400, 0}},
		},
		{
			name: "window 40 includes oldest",
			adds: []struct {
				sec  float64
				sent bool
				n    uint64
			}{{0, false, 4000}},
			now:  40.5,
			want: Rates{R40: Rate{0, 100}, Peak: Rate{0, 4000}},
		},
		{
			name: "late packet into older bucket",
			adds: []struct {
				sec  float64
				sent bool
				n    uint64
			}{{20, true, 10}, {19, true, 10}, {-30, true, 999}},
			now:  21,
			want: Rates{R2: Rate{10, 0}, R10: Rate{2, 0}, R40: Rate{0.5, 0}, Peak: Rate{10, 0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w Window
			for _, a := range tc.adds {
				w.Add(at(a.sec).Unix(), a.sent, a.n)
			}
			if d := cmp.Diff(tc.want, w.Rates(at(tc.now)), addrEq); d != "" {
				t.Errorf("rates (-want +got):\n%s", d)
			}
		})
	}
}

func TestWindowMerge(t *testing.T) {
	var a, b, sum Window
	for s := 0; s < 60; s++ {
		a.Add(at(float64(s)).Unix(), true, uint64(s))
		sum.Add(at(float64(s)).Unix(), true, uint64(s))
	}
	for s := 30; s < 50; s++ {
		b.Add(at(float64(s)).Unix(), false, 7)
		sum.Add(at(float64(s)).Unix(), false, 7)
	}
	a.Merge(&b)
	for _, now := range []float64{45, 55, 60, 61, 80} {
		if d := cmp.Diff(sum.Rates(at(now)), a.Rates(at(now)), addrEq); d != "" {
			t.Errorf("now %v: (-want +got):\n%s", now, d)
		}
	}
	s, r := sum.History(at(60), 3)
	if d := cmp.Diff([]uint64{57, 58, 59}, s, addrEq); d != "" || r[0] != 0 {
		t.Errorf("history %v %v", s, r)
	}
}

var (
	hostA = netip.MustParseAddr("198.18.0.1")
	hostB = netip.MustParseAddr("198.18.1.2")
	hostC = netip.MustParseAddr("198.18.1.3")
	host6 = netip.MustParseAddr("fd00:198:18::1:1")
	rem6  = netip.MustParseAddr("fd00:198:18::1:2")
)

func pkt(sec float64, proto Proto, src netip.Addr, sp uint16, dst netip.Addr, dp uint16, n uint32) *Packet {
	return &Packet{Time: at(sec), Proto: proto, Src: src, SrcPort: sp, Dst: dst, DstPort: dp, Length: n}
}

func TestTableDirection(t *testing.T) {
	local := NewLocal(netip.MustParsePrefix("198.18.0.0/24"), netip.MustParsePrefix("fd00:198:18::1:1/128"))
	tests := []struct {
		name  string
		local Local
		pkts  []*Packet
		want  []FlowStat
	}{
		{
			name:  "local boundary v4",
			local: local,
			pkts: []*Packet{
				pkt(0.1, ProtoTCP, hostB, 443, hostA, 40000, 1500), // received first
				pkt(0.2, ProtoTCP, hostA, 40000, hostB, 443, 52),
			},
			want: []FlowStat{{Key: Key{Proto: ProtoTCP, Local: hostA, LocalPort: 40000, Remote: hostB, RemotePort: 443},
				Counts: Counts{SentBytes: 52, RecvBytes: 1500, SentPackets: 1, RecvPackets: 1}, Seconds: []Second{{t0.Unix(), 52, 1500}}}},
		},
		{
			name:  "local boundary v6",
			local: local,
			pkts:  []*Packet{pkt(0.1, ProtoUDP, rem6, 53, host6, 5353, 100)},
			want: []FlowStat{{Key: Key{Proto: ProtoUDP, Local: host6, LocalPort: 5353, Remote: rem6, RemotePort: 53},
				Counts: Counts{RecvBytes: 100, RecvPackets: 1}, Seconds: []Second{{t0.Unix(), 0, 100}}}},
		},
		{
			name:  "neither local: first source is local",
			local: Local{},
			pkts: []*Packet{
				pkt(0.1, ProtoTCP, hostC, 5000, hostB, 80, 60),
				pkt(0.2, ProtoTCP, hostB, 80, hostC, 5000, 1000),
			},
			want: []FlowStat{{Key: Key{Proto: ProtoTCP, Local: hostC, LocalPort: 5000, Remote: hostB, RemotePort: 80},
				Counts: Counts{SentBytes: 60, RecvBytes: 1000, SentPackets: 1, RecvPackets: 1}, Seconds: []Second{{t0.Unix(), 60, 1000}}}},
		},
		{
			name:  "both local: first source is local",
			local: NewLocal(netip.MustParsePrefix("198.18.0.0/15")),
			pkts: []*Packet{
				pkt(0.1, ProtoICMP, hostB, 0, hostA, 0, 84),
				pkt(0.2, ProtoICMP, hostA, 0, hostB, 0, 84),
			},
			want: []FlowStat{{Key: Key{Proto: ProtoICMP, Local: hostB, Remote: hostA},
				Counts: Counts{SentBytes: 84, RecvBytes: 84, SentPackets: 1, RecvPackets: 1}, Seconds: []Second{{t0.Unix(), 84, 84}}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := NewTable(TableConfig{MaxFlows: 10, Local: tc.local})
			for _, p := range tc.pkts {
				tb.Update(p)
			}
			s := tb.Snapshot(at(1), By5Tuple)
			for i := range s.Flows {
				f := &s.Flows[i]
				if f.Since != (Since{f.SentBytes, f.RecvBytes}) {
					t.Errorf("the first snapshot's %v: since %+v, want all of its bytes", f.Key, f.Since)
				}
				f.Rates, f.First, f.Last, f.Flows, f.Since = Rates{}, time.Time{}, time.Time{}, 0, Since{}
			}
			if d := cmp.Diff(tc.want, s.Flows, addrEq); d != "" {
				t.Errorf("flows (-want +got):\n%s", d)
			}
		})
	}
}

func sumFlows(s Snapshot) Counts {
	var c Counts
	for _, f := range s.Flows {
		c.Add(f.Counts)
	}
	c.Add(s.Other.Counts)
	return c
}

// TestTableEvictionAddsUp floods the table with random sources: the table
// stays at its cap, and flows + other always equal the totals.
func TestTableEvictionAddsUp(t *testing.T) {
	tb := NewTable(TableConfig{MaxFlows: 100, IdleTimeout: 5 * time.Second, Local: NewLocal(netip.MustParsePrefix("198.18.0.1/32"))})
	rng := rand.New(rand.NewPCG(1, 2))
	var want Counts
	for i := 0; i < 20000; i++ {
		src := netip.AddrFrom4([4]byte{198, 19, byte(rng.IntN(256)), byte(rng.IntN(256))})
		n := uint32(rng.IntN(1500) + 20)
		tb.Update(pkt(float64(i)/1000, ProtoUDP, src, uint16(rng.IntN(65535)), hostA, 53, n))
		want.RecvBytes += uint64(n)
		want.RecvPackets++
		if tb.Len() > 100 {
			t.Fatalf("table grew to %d", tb.Len())
		}
	}
	s := tb.Snapshot(at(20), ByHostPair)
	if d := cmp.Diff(want, s.Totals.Counts, addrEq); d != "" {
		t.Errorf("totals (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, sumFlows(s), addrEq); d != "" {
		t.Errorf("flows+other (-want +got):\n%s", d)
	}
	if s.Capture.EvictedFlows == 0 {
		t.Error("no evictions counted")
	}
	// Rates add up too: flows + other = totals for every window.
	var r10 float64
	for _, f := range s.Flows {
		r10 += f.Rates.R10.Total()
	}
	r10 += s.Other.Rates.R10.Total()
	if d := r10 - s.Totals.Rates.R10.Total(); d > 1e-6 || d < -1e-6 {
		t.Errorf("10 s rates: flows+other %v, totals %v", r10, s.Totals.Rates.R10.Total())
	}
	// Everything expires after the idle time; the totals stay.
	tb.Expire(at(60))
	s = tb.Snapshot(at(60), By5Tuple)
	if len(s.Flows) != 0 || s.Capture.ExpiredFlows != 100 {
		t.Errorf("after expiry: %d flows, %d expired", len(s.Flows), s.Capture.ExpiredFlows)
	}
	if d := cmp.Diff(want, sumFlows(s), addrEq); d != "" {
		t.Errorf("after expiry (-want +got):\n%s", d)
	}
}

func TestTableLRU(t *testing.T) {
	tb := NewTable(TableConfig{MaxFlows: 2})
	tb.Update(pkt(0, ProtoUDP, hostA, 1, hostB, 2, 10))
	tb.Update(pkt(1, ProtoUDP, hostA, 3, hostB, 4, 10))
	tb.Update(pkt(2, ProtoUDP, hostA, 1, hostB, 2, 10)) // refresh the first
	tb.Update(pkt(3, ProtoUDP, hostA, 5, hostB, 6, 10)) // evicts port 3
	s := tb.Snapshot(at(4), By5Tuple)
	Sort(s.Flows, SortSource)
	if len(s.Flows) != 2 || s.Flows[0].Key.LocalPort != 1 || s.Flows[1].Key.LocalPort != 5 {
		t.Fatalf("flows %+v", s.Flows)
	}
	if s.Other.SentBytes != 10 || s.Capture.EvictedFlows != 1 {
		t.Errorf("other %+v evicted %d", s.Other.Counts, s.Capture.EvictedFlows)
	}
}

func TestAggregation(t *testing.T) {
	tb := NewTable(TableConfig{MaxFlows: 100, Local: NewLocal(netip.MustParsePrefix("198.18.0.1/32"))})
	for s := 0; s < 5; s++ {
		tb.Update(pkt(float64(s), ProtoTCP, hostA, 1000, hostB, 80, 100))
		tb.Update(pkt(float64(s), ProtoTCP, hostA, 1001, hostB, 80, 100))
		tb.Update(pkt(float64(s), ProtoUDP, hostC, 53, hostA, 2000, 50))
	}
	tests := []struct {
		agg  Aggregation
		want map[Key]Counts
	}{
		{ByHostPair, map[Key]Counts{
			{Local: hostA, Remote: hostB}: {SentBytes: 1000, SentPackets: 10},
			{Local: hostA, Remote: hostC}: {RecvBytes: 250, RecvPackets: 5},
		}},
		{BySource, map[Key]Counts{{Local: hostA}: {SentBytes: 1000, SentPackets: 10, RecvBytes: 250, RecvPackets: 5}}},
		{ByDestination, map[Key]Counts{
			{Remote: hostB}: {SentBytes: 1000, SentPackets: 10},
			{Remote: hostC}: {RecvBytes: 250, RecvPackets: 5},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.agg.String(), func(t *testing.T) {
			s := tb.Snapshot(at(5), tc.agg)
			got := map[Key]Counts{}
			for _, f := range s.Flows {
				got[f.Key] = f.Counts
			}
			if d := cmp.Diff(tc.want, got, addrEq); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	// The host-pair peak is the peak of the summed seconds, not a sum of peaks.
	s := tb.Snapshot(at(5), ByHostPair)
	f, _ := s.Find(Key{Local: hostA, Remote: hostB})
	if f.Rates.Peak.SentBytesPerSec != 200 || f.Rates.R2.SentBytesPerSec != 200 || f.Flows != 2 {
		t.Errorf("host pair rates %+v flows %d", f.Rates, f.Flows)
	}
}

func TestSort(t *testing.T) {
	fl := []FlowStat{
		{Key: Key{Local: hostB, Remote: hostA}, Rates: Rates{R2: Rate{1, 0}, R10: Rate{30, 0}}},
		{Key: Key{Local: hostA, Remote: hostC}, Rates: Rates{R2: Rate{5, 0}, R10: Rate{10, 0}}},
		{Key: Key{Local: hostC, Remote: hostB}, Rates: Rates{R2: Rate{3, 0}, R40: Rate{100, 0}}},
	}
	order := func() []netip.Addr {
		var o []netip.Addr
		for _, f := range fl {
			o = append(o, f.Key.Local)
		}
		return o
	}
	for _, tc := range []struct {
		k    string
		want []netip.Addr
	}{
		{"2s", []netip.Addr{hostA, hostC, hostB}},
		{"10s", []netip.Addr{hostB, hostA, hostC}},
		{"40s", []netip.Addr{hostC, hostA, hostB}},
		{"source", []netip.Addr{hostA, hostB, hostC}},
		{"destination", []netip.Addr{hostB, hostC, hostA}},
	} {
		k, ok := ParseSortKey(tc.k)
		if !ok {
			t.Fatal(tc.k)
		}
		Sort(fl, k)
		if d := cmp.Diff(tc.want, order(), addrEq); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.k, d)
		}
	}
}

func TestUpdateAllocs(t *testing.T) {
	tb := NewTable(TableConfig{MaxFlows: 1000, Local: NewLocal(netip.MustParsePrefix("198.18.0.1/32"))})
	p1 := pkt(1, ProtoTCP, hostA, 1000, hostB, 80, 1500)
	p2 := pkt(1, ProtoTCP, hostB, 80, hostA, 1000, 52)
	p3 := pkt(1, ProtoUDP, hostC, 1, hostB, 2, 52) // unknown side
	tb.Update(p1)
	tb.Update(p3)
	sec := 1.0
	allocs := testing.AllocsPerRun(1000, func() {
		sec += 0.01
		p1.Time, p2.Time, p3.Time = at(sec), at(sec), at(sec)
		tb.Update(p1)
		tb.Update(p2)
		tb.Update(p3)
	})
	if allocs != 0 {
		t.Errorf("Update allocates %v per run, want 0", allocs)
	}
}

func BenchmarkTableUpdate(b *testing.B) {
	tb := NewTable(TableConfig{MaxFlows: 200_000, Local: NewLocal(netip.MustParsePrefix("198.18.0.1/32"))})
	ps := make([]Packet, 1024)
	for i := range ps {
		ps[i] = *pkt(float64(i)/1000, ProtoTCP, hostA, uint16(1000+i%256), hostB, 443, 1500)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := &ps[i&1023]
		p.Time = p.Time.Add(time.Microsecond)
		tb.Update(p)
	}
}

// TestLastFlowCache runs random packets of a few conversations, in runs
// and interleaved, with both directions, hints and a small cap (evictions
// and slot reuse), through a table with the last-flow cache and through
// one whose cache is cleared before every packet: the snapshots must be
// identical.
func TestLastFlowCache(t *testing.T) {
	// The cached table also counts runs of one flow in one second as one
	// update; the plain one sees each packet on its own.
	for _, cfg := range []TableConfig{
		{MaxFlows: 3, IdleTimeout: 2 * time.Second, Local: NewLocal(netip.MustParsePrefix("198.18.0.1/32"))},
		{MaxFlows: 3, IdleTimeout: 2 * time.Second},
		{MaxFlows: 1000},
	} {
		cached, plain := NewTable(cfg), NewTable(cfg)
		rng := rand.New(rand.NewPCG(3, 4))
		addrs := []netip.Addr{hostA, hostB, hostC}
		sec := 0.0
		for i := 0; i < 20000; i++ {
			src, dst := addrs[rng.IntN(3)], addrs[rng.IntN(3)]
			p := pkt(sec, Proto(6+11*rng.IntN(2)), src, uint16(1+rng.IntN(3)), dst, 80, uint32(40+rng.IntN(1500)))
			p.Hint = Side(rng.IntN(3))
			for run := rng.IntN(4); run >= 0; run-- {
				sec += rng.Float64() / 100
				if rng.IntN(300) == 0 { // a pause: everything idles out
					sec += 5
					cached.Expire(at(sec))
					plain.Expire(at(sec))
				}
				p.Time = at(sec)
				cached.Update(p)
				plain.last.valid = false
				plain.Update(p)
			}
			if i%997 == 0 { // readers mid-stream see every packet so far
				if a, b := cached.Totals(), plain.Totals(); a != b {
					t.Fatalf("packet %d: totals cached %+v, uncached %+v", i, a, b)
				}
				a, b := cached.Snapshot(at(sec), By5Tuple), plain.Snapshot(at(sec), By5Tuple)
				if d := cmp.Diff(b, a, addrEq); d != "" {
					t.Fatalf("packet %d: cached vs uncached (-plain +cached):\n%s", i, d)
				}
			}
		}
		a, b := cached.Snapshot(at(sec+1), By5Tuple), plain.Snapshot(at(sec+1), By5Tuple)
		if d := cmp.Diff(b, a, addrEq); d != "" {
			t.Errorf("cached vs uncached (-plain +cached):\n%s", d)
		}
		if a.Capture.EvictedFlows == 0 && cfg.MaxFlows == 3 {
			t.Error("no evictions: the test does not exercise slot reuse")
		}
	}
}

// BenchmarkTableUpdateRun is a bulk transfer: runs of packets of one flow.
func BenchmarkTableUpdateRun(b *testing.B) {
	tb := NewTable(TableConfig{MaxFlows: 200_000, Local: NewLocal(netip.MustParsePrefix("198.18.0.1/32"))})
	p := pkt(0, ProtoTCP, hostA, 40000, hostB, 443, 1500)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Time = p.Time.Add(time.Microsecond)
		tb.Update(p)
	}
}

func TestSnapshotCloneSharesNothing(t *testing.T) {
	s := Snapshot{Flows: []FlowStat{{Flows: 1}, {Flows: 2}}, Capture: Health{Interfaces: []IfaceHealth{{Name: "eth0"}}, Warnings: []string{"w"}}}
	c := s.Clone()
	Sort(c.Flows, Sort2s)
	c.Flows[0].Flows = 9
	c.FromFile("x.pcap")
	c.Capture.Warnings[0] = "changed"
	if s.Flows[0].Flows != 1 || s.Flows[1].Flows != 2 || s.Capture.Interfaces[0].Name != "eth0" || s.Capture.Warnings[0] != "w" {
		t.Errorf("the original changed: %+v", s)
	}
}

// sortStable is Sort as a stable sort with one comparator over the flows
// themselves: the definition Sort must agree with.
func sortStable(fl []FlowStat, k SortKey) {
	rate := func(f *FlowStat) float64 {
		switch k {
		case Sort2s:
			return f.Rates.R2.Total()
		case Sort10s:
			return f.Rates.R10.Total()
		case Sort40s:
			return f.Rates.R40.Total()
		}
		return 0
	}
	slices.SortStableFunc(fl, func(a, b FlowStat) int {
		switch k {
		case SortSource:
			if c := a.Key.Local.Compare(b.Key.Local); c != 0 {
				return c
			}
		case SortDestination:
			if c := a.Key.Remote.Compare(b.Key.Remote); c != 0 {
				return c
			}
		case SortBytes:
		default:
			if c := stdcmp.Compare(rate(&b), rate(&a)); c != 0 {
				return c
			}
		}
		if c := stdcmp.Compare(b.Bytes(), a.Bytes()); c != 0 && k != SortSource && k != SortDestination {
			return c
		}
		return CompareKeys(a.Key, b.Key)
	})
}

// TestSortMatchesStable sorts random flows (few distinct addresses, ports,
// rates and byte counts, so ties are common; repeated keys; IPv4, IPv6,
// IPv4-mapped, zoned and zero addresses) by every key and compares with
// the stable sort of the plain comparator.
func TestSortMatchesStable(t *testing.T) {
	addrs := []netip.Addr{{}, hostA, hostB, host6, rem6, netip.MustParseAddr("::ffff:198.18.0.1"),
		netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::1"), netip.MustParseAddr("::")}
	rng := rand.New(rand.NewPCG(5, 6))
	for round := 0; round < 200; round++ {
		fl := make([]FlowStat, rng.IntN(300))
		for i := range fl {
			f := &fl[i]
			f.Key = Key{Proto: Proto(rng.IntN(3)), Local: addrs[rng.IntN(len(addrs))], Remote: addrs[rng.IntN(len(addrs))],
				LocalPort: uint16(rng.IntN(3)), RemotePort: uint16(rng.IntN(3))}
			f.Rates.R2.SentBytesPerSec = float64(rng.IntN(3))
			f.Rates.R10.RecvBytesPerSec = float64(rng.IntN(3)) / 10
			f.Rates.R40.SentBytesPerSec = float64(rng.IntN(3)) / 40
			f.SentBytes, f.RecvBytes = uint64(rng.IntN(3)), uint64(rng.IntN(2))
			f.Flows = i // tells equal keys apart
		}
		for k := Sort2s; k <= SortBytes; k++ {
			got, want := slices.Clone(fl), slices.Clone(fl)
			Sort(got, k)
			sortStable(want, k)
			if slices.EqualFunc(want, got, sameStat) {
				continue
			}
			if d := cmp.Diff(want, got, addrEq); d != "" {
				t.Fatalf("round %d, sort key %d (-stable +Sort):\n%s", round, k, d)
			}
		}
	}
}

// floodPairs are the host pairs of a flood: 100,000, most with the same
// rate and bytes.
func floodPairs() []FlowStat {
	fl := make([]FlowStat, 100_000)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range fl {
		fl[i] = FlowStat{Key: Key{Local: hostA, Remote: netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)})}, Flows: 1}
		fl[i].SentBytes = uint64(92 * (1 + rng.IntN(3)))
		fl[i].Rates.R10.SentBytesPerSec = float64(fl[i].SentBytes) / 10
	}
	return fl
}

// BenchmarkSort sorts the host pairs of a flood (100,000, most with the
// same rate and bytes) by the 10 s rate.
func BenchmarkSort(b *testing.B) {
	fl := floodPairs()
	work := make([]FlowStat, len(fl))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, fl)
		Sort(work, Sort10s)
	}
}

// TestSortTop checks that SortTop's first n flows are Sort's first n, and
// that the others are the rest, in their previous order; and that Top
// returns the same n without touching its input.
func TestSortTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	addrs := []netip.Addr{hostA, hostB, hostC, host6, rem6}
	for round := 0; round < 300; round++ {
		fl := make([]FlowStat, rng.IntN(200))
		for i := range fl {
			fl[i] = FlowStat{Key: Key{Local: addrs[rng.IntN(len(addrs))], Remote: addrs[rng.IntN(len(addrs))], LocalPort: uint16(rng.IntN(4))}, Flows: i}
			fl[i].SentBytes = uint64(rng.IntN(4))
			fl[i].Rates.R10.SentBytesPerSec = float64(rng.IntN(3))
		}
		for k := Sort2s; k <= SortBytes; k++ {
			n := rng.IntN(len(fl) + 2)
			got, want := slices.Clone(fl), slices.Clone(fl)
			SortTop(got, k, n)
			Sort(want, k)
			m := min(max(n, 0), len(fl))
			if n == 0 {
				m = len(fl) // no limit: every flow in Sort's order
			}
			if !slices.EqualFunc(want[:m], got[:m], sameStat) {
				t.Fatalf("round %d, key %d, n %d: top differs", round, k, n)
			}
			before := slices.Clone(fl)
			if top := Top(fl, k, n); !slices.EqualFunc(want[:m], top, sameStat) {
				t.Fatalf("round %d, key %d, n %d: Top differs from Sort's first %d", round, k, n, m)
			}
			if !slices.EqualFunc(before, fl, sameStat) {
				t.Fatalf("round %d, key %d, n %d: Top changed its input", round, k, n)
			}
			if n == 0 || n >= len(fl) {
				continue
			}
			var rest []FlowStat
			chosen := map[int]bool{}
			for _, f := range got[:m] {
				chosen[f.Flows] = true
			}
			for _, f := range fl {
				if !chosen[f.Flows] {
					rest = append(rest, f)
				}
			}
			if !slices.EqualFunc(rest, got[m:], sameStat) {
				t.Fatalf("round %d, key %d, n %d: the others are not the rest in order", round, k, n)
			}
		}
	}
}

// BenchmarkSortTop is BenchmarkSort's flows with only the first 50 sorted,
// as a writer showing 50 needs.
func BenchmarkSortTop(b *testing.B) {
	fl := floodPairs()
	work := make([]FlowStat, len(fl))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, fl)
		SortTop(work, Sort10s, 50)
	}
}

// BenchmarkTop is BenchmarkSortTop without the copy: the 50 first of a
// shared snapshot's flows, as the flows writer takes them.
func BenchmarkTop(b *testing.B) {
	fl := floodPairs()
	b.ReportAllocs()
	for b.Loop() {
		_ = Top(fl, Sort10s, 50)
	}
}

// BenchmarkTableSnapshot takes the TUI's and the flows writer's snapshot
// of 10,000 flows: bulk flows with 40 busy seconds each, and a flood of
// one-packet flows; "released" hands each back for the next.
func BenchmarkTableSnapshot(b *testing.B) {
	for _, bc := range []struct {
		name    string
		seconds int
	}{{"bulk", 40}, {"flood", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			tb := NewTable(TableConfig{MaxFlows: 200_000, Local: NewLocal(netip.MustParsePrefix("198.18.0.1/32"))})
			for s := 0; s < bc.seconds; s++ {
				for i := range 10_000 {
					dst := netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)})
					tb.Update(pkt(float64(s)+0.5, ProtoTCP, hostA, uint16(1000+i%50000), dst, 443, 1500))
				}
			}
			now := at(float64(bc.seconds) + 1)
			for _, agg := range []Aggregation{By5Tuple, ByHostPair} {
				b.Run(agg.String(), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						_ = tb.Snapshot(now, agg)
					}
				})
				// released: each snapshot's flows handed back (Release)
				// for the next, as a writer of records does.
				b.Run(agg.String()+"/released", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						s := tb.Snapshot(now, agg)
						tb.Release(&s)
					}
				})
			}
		})
	}
}

// TestWarmup: 12 s into a run at 1,000 B/s the 40 s rate reads 1,000 B/s
// (the mean since start), not 300; full windows are left alone.
func TestWarmup(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tb := NewTable(TableConfig{MaxFlows: 10})
	for sec := 0; sec < 12; sec++ {
		tb.Update(&Packet{Time: start.Add(time.Duration(sec) * time.Second), Src: hostA, Dst: hostB, Proto: ProtoUDP, SrcPort: 1, DstPort: 2, Length: 1000})
	}
	now := start.Add(12 * time.Second)
	s := tb.Snapshot(now, By5Tuple)
	if got := s.Flows[0].Rates.R40.Total(); got != 300 {
		t.Fatalf("before Warmup the 40 s rate is %v, want 300 (12 kB / 40 s)", got)
	}
	Warmup(&s, start)
	r := s.Flows[0].Rates
	if r.R40.Total() != 1000 || r.R10.Total() != 1000 || r.R2.Total() != 1000 || s.Totals.Rates.R40.Total() != 1000 {
		t.Errorf("rates after Warmup %+v, totals %+v: want 1000 B/s each", r, s.Totals.Rates)
	}
	if s.RateSeconds != [3]int{2, 10, 12} {
		t.Errorf("RateSeconds %v, want [2 10 12]", s.RateSeconds)
	}
	late := tb.Snapshot(start.Add(50*time.Second), By5Tuple)
	want := late.Flows[0].Rates
	Warmup(&late, start)
	if late.Flows[0].Rates != want || late.RateSeconds != [3]int{2, 10, 40} {
		t.Errorf("full windows changed: %+v vs %+v, %v", late.Flows[0].Rates, want, late.RateSeconds)
	}
}
