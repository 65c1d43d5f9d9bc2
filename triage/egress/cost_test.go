package egress

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestCost(t *testing.T) {
	gb := Prices{Unit: UnitGB, Currency: "USD", Classes: map[Class]ClassPrice{
		ClassInternet:    {Sent: Known(0.09), Received: Known(0)},
		ClassCrossRegion: {Sent: Known(0.02)},
	}}
	gib := gb
	gib.Unit = UnitGiB
	tests := []struct {
		name           string
		p              Prices
		class          Class
		sent, received uint64
		want           Cost
	}{
		{"decimal GB", gb, ClassInternet, 2e9, 5e9, Cost{Amount: 0.18}},
		{"binary GiB", gib, ClassInternet, 2 << 30, 0, Cost{Amount: 0.18}},
		{"GB price on GiB bytes", gb, ClassInternet, 1 << 30, 0, Cost{Amount: 0.09 * 1.073741824}},
		{"received unpriced", gb, ClassCrossRegion, 1e9, 3e9, Cost{Amount: 0.02, UnpricedBytes: 3e9}},
		{"no bytes in the unpriced direction", gb, ClassCrossRegion, 1e9, 0, Cost{Amount: 0.02}},
		{"class without prices", gb, ClassSameRegion, 1, 2, Cost{UnpricedBytes: 3}},
		{"no unit", Prices{Classes: gb.Classes}, ClassInternet, 1e9, 0, Cost{UnpricedBytes: 1e9}},
		{"nothing", gb, ClassInternet, 0, 0, Cost{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.p.Cost(tc.class, tc.sent, tc.received)
			if !near(got.Amount, tc.want.Amount) || got.UnpricedBytes != tc.want.UnpricedBytes {
				t.Errorf("Cost = %+v, want %+v", got, tc.want)
			}
			if got.Known() != (tc.want.UnpricedBytes == 0) {
				t.Errorf("Known = %v", got.Known())
			}
		})
	}
}

func TestPerHour(t *testing.T) {
	p := Prices{Unit: UnitGB, Classes: map[Class]ClassPrice{ClassInternet: {Sent: Known(0.09)}}}
	// 1 MB/s sent is 3.6 GB per hour: 0.324 per hour at 0.09 per GB.
	h := p.PerHour(ClassInternet, 1e6, 0)
	if !near(h.Amount, 0.324) || !h.Known() {
		t.Errorf("PerHour = %+v, want 0.324 known", h)
	}
	h = p.PerHour(ClassInternet, 1e6, 2e6)
	if !near(h.Amount, 0.324) || !near(h.UnpricedBytesPerHr, 7.2e9) || h.Known() {
		t.Errorf("PerHour with unpriced received = %+v", h)
	}
	if h := p.PerHour(ClassInternet, math.NaN(), -1); h != (HourlyCost{}) {
		t.Errorf("PerHour of no rate = %+v", h)
	}
}

func TestUnit(t *testing.T) {
	for _, tc := range []struct {
		s     string
		u     Unit
		bytes float64
	}{{"GB", UnitGB, 1e9}, {"GiB", UnitGiB, 1073741824}} {
		u, ok := ParseUnit(tc.s)
		if !ok || u != tc.u || u.Bytes() != tc.bytes || u.String() != tc.s {
			t.Errorf("ParseUnit(%s) = %v %v (%v bytes)", tc.s, u, ok, u.Bytes())
		}
	}
	for _, bad := range []string{"", "gb", "Gb", "GIB", "TB"} {
		if _, ok := ParseUnit(bad); ok {
			t.Errorf("ParseUnit(%q) accepted", bad)
		}
	}
}
