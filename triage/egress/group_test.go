package egress

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"testing/quick"

	"github.com/google/go-cmp/cmp"
)

func testPrices() Prices {
	return Prices{Unit: UnitGB, Currency: "USD", Classes: map[Class]ClassPrice{
		ClassInternet:    {Sent: Known(0.09), Received: Known(0)},
		ClassCrossRegion: {Sent: Known(0.02), Received: Known(0)},
		ClassSameRegion:  {Sent: Known(0), Received: Known(0)},
		ClassCrossZone:   {Sent: Known(0.01), Received: Known(0.01)},
	}}
}

func TestAggregate(t *testing.T) {
	tab, err := NewTable(testRules())
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	rows := []Row{
		{Remote: a("8.8.8.8"), Process: "curl", Name: "dns.google", Sent: 3e9, Received: 1e9, SentRate: 1e6},
		{Remote: a("8.8.4.4"), Process: "backup", Name: "dns.google", Sent: 1e9, SentRate: 2e6},
		{Remote: a("3.250.0.1"), Process: "backup", Sent: 5e9, SentRate: 1e6},
		{Remote: a("10.0.2.5"), Process: "db", Sent: 2e9, Received: 2e9},
		{Remote: a("52.216.1.1"), Process: "backup", Name: "s3.amazonaws.com", Sent: 7e9},
		{Remote: a("10.20.0.1"), Process: "db", Sent: 1e9},
		{Remote: netip.Addr{}, Process: "curl", Sent: 5},
	}
	sum := Aggregate(rows, tab, testPrices(), []Field{ByClass}, SortCost)
	got := make([]string, 0, len(sum.Groups))
	for _, g := range sum.Groups {
		got = append(got, string(g.Key.Class))
	}
	// internet 0.36, cross-region 0.10, cross-zone 0.04, then at no priced
	// cost peering and unknown by their unpriced bytes, then same-region
	// (free).
	if want := []string{"internet", "cross-region", "cross-zone", "peering", "unknown", "same-region"}; !slices.Equal(got, want) {
		t.Errorf("classes by cost = %v, want %v", got, want)
	}
	g := sum.Groups[0]
	if g.Sent != 4e9 || g.Received != 1e9 || g.Rows != 2 || !near(g.Cost.Amount, 0.36) || !g.Cost.Known() ||
		!near(g.SentRate, 3e6) || !near(g.PerHour.Amount, 3e6*3600/1e9*0.09) {
		t.Errorf("internet group = %+v", g)
	}
	if sum.Total.Sent != 19e9+5 || sum.Total.Rows != len(rows) || sum.Total.Cost.UnpricedBytes != 1e9+5 {
		t.Errorf("total = %+v", sum.Total)
	}
	u := sum.Groups[4]
	if u.Key.Class != ClassUnknown || u.Sent != 5 || u.Cost.Known() {
		t.Errorf("unknown group = %+v", u)
	}

	byName := Aggregate(rows, tab, testPrices(), []Field{ByName, ByClass}, SortSent)
	var keys []Key
	for _, g := range byName.Groups {
		keys = append(keys, g.Key)
	}
	want := []Key{
		{Class: ClassSameRegion, Name: "s3.amazonaws.com"},
		{Class: ClassCrossRegion, Name: "3.250.0.1"},
		{Class: ClassInternet, Name: "dns.google"},
		{Class: ClassCrossZone, Name: "10.0.2.5"},
		{Class: ClassPeering, Name: "10.20.0.1"},
		{Class: ClassUnknown},
	}
	if d := cmp.Diff(want, keys); d != "" {
		t.Errorf("by name,class (-want +got):\n%s", d)
	}

	byProc := Aggregate(rows, tab, testPrices(), []Field{ByProcess}, SortBytes)
	if g := byProc.Groups[0]; g.Key.Process != "backup" || g.Sent != 13e9 || g.Cost.Known() != true || !near(g.Cost.Amount, 0.09+0.10) {
		t.Errorf("top process = %+v", g)
	}
	byNet := Aggregate(rows, tab, testPrices(), []Field{ByNetwork}, SortSent)
	if g := byNet.Groups[0]; g.Key.Network != "aws/S3/us-east-1" {
		t.Errorf("top network = %+v", g.Key)
	}
	one := Aggregate(rows, tab, testPrices(), nil, SortCost)
	if len(one.Groups) != 1 || one.Groups[0].Sent != one.Total.Sent {
		t.Errorf("no fields: %+v", one.Groups)
	}
	if none := Aggregate(nil, tab, testPrices(), []Field{ByClass}, SortCost); len(none.Groups) != 0 || none.Total.Rows != 0 {
		t.Errorf("no rows: %+v", none)
	}
}

// TestAggregateSumsExactly checks, over random rows (invalid addresses
// included) and every grouping, that Σ over groups of each byte counter and
// of the rows equals the totals of the rows themselves: nothing is dropped
// or counted twice.
func TestAggregateSumsExactly(t *testing.T) {
	tab, err := NewTable(testRules())
	if err != nil {
		t.Fatal(err)
	}
	pool := []netip.Addr{{}, netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("198.18.0.2"), netip.MustParseAddr("198.18.0.9"),
		netip.MustParseAddr("10.0.2.5"), netip.MustParseAddr("::ffff:52.216.0.1"), netip.MustParseAddr("2600:1f18::5"),
		netip.MustParseAddr("fe80::1"), netip.MustParseAddr("34.1.208.9"), netip.MustParseAddr("100.64.0.1"), netip.MustParseAddr("2001:db8::1")}
	groupings := [][]Field{nil, {ByClass}, {ByName}, {ByProcess}, {ByNetwork}, {ByClass, ByName}, {ByProcess, ByClass}, {ByClass, ByNetwork, ByName, ByProcess}}
	prop := func(seed uint64, n uint8) bool {
		rng := rand.New(rand.NewPCG(seed, 1))
		rows := make([]Row, n)
		var sent, recv uint64
		for i := range rows {
			rows[i] = Row{Remote: pool[rng.IntN(len(pool))], Process: []string{"", "a", "b"}[rng.IntN(3)],
				Name: []string{"", "x.example", "y.example"}[rng.IntN(3)], Sent: rng.Uint64N(1 << 50), Received: rng.Uint64N(1 << 50),
				SentRate: float64(rng.IntN(1e6))}
			sent += rows[i].Sent
			recv += rows[i].Received
		}
		for _, by := range groupings {
			for _, k := range []SortKey{SortCost, SortSent, SortBytes} {
				s := Aggregate(rows, tab, testPrices(), by, k)
				var gs, gr, unpriced uint64
				var nrows int
				for _, g := range s.Groups {
					gs += g.Sent
					gr += g.Received
					unpriced += g.Cost.UnpricedBytes
					nrows += g.Rows
				}
				if gs != sent || gr != recv || s.Total.Sent != sent || s.Total.Received != recv || nrows != len(rows) ||
					unpriced != s.Total.Cost.UnpricedBytes {
					t.Logf("by %v: Σsent %d (total %d) want %d, Σreceived %d want %d, rows %d want %d", by, gs, s.Total.Sent, sent, gr, recv, nrows, len(rows))
					return false
				}
			}
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 300}); err != nil {
		t.Error(err)
	}
}

func TestParseGroupBy(t *testing.T) {
	got, err := ParseGroupBy("process, class")
	if err != nil || !slices.Equal(got, []Field{ByProcess, ByClass}) {
		t.Errorf("ParseGroupBy = %v, %v", got, err)
	}
	for _, bad := range []string{"", "class,class", "class,,name", "owner"} {
		if _, err := ParseGroupBy(bad); err == nil {
			t.Errorf("ParseGroupBy(%q) accepted", bad)
		}
	}
	for _, s := range []string{"cost", "sent", "bytes"} {
		if _, err := ParseSortKey(s); err != nil {
			t.Errorf("ParseSortKey(%s): %v", s, err)
		}
	}
	if _, err := ParseSortKey("rate"); err == nil {
		t.Error("ParseSortKey(rate) accepted")
	}
}
