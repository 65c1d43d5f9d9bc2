package metrics

import (
	"net/netip"
	"testing"

	"netriage/triage/egress"
)

// TestEgressClasses: the rows sum by class, both ways, with a cost only
// where the class has a price.
func TestEgressClasses(t *testing.T) {
	tab, err := egress.NewTable(egress.Rules{Networks: []egress.Network{{Name: "vpc", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}, Class: "peering"}}})
	if err != nil {
		t.Fatal(err)
	}
	p := egress.Prices{Unit: egress.UnitGB, Currency: "USD", Classes: map[egress.Class]egress.ClassPrice{"internet": {Sent: egress.Known(0.09), Received: egress.Known(0)}}}
	rows := []egress.Row{
		{Remote: netip.MustParseAddr("93.184.216.34"), Sent: 2e9, Received: 1e6},
		{Remote: netip.MustParseAddr("151.101.1.69"), Sent: 1e9},
		{Remote: netip.MustParseAddr("10.20.1.1"), Sent: 5, Received: 7},
		{Sent: 3},
	}
	got := egressClasses(rows, tab, p)
	want := map[string]EgressClass{
		"internet": {Bytes: Dir[uint64]{1e6, 3e9}},
		"peering":  {Bytes: Dir[uint64]{7, 5}},
		"unknown":  {Bytes: Dir[uint64]{0, 3}},
	}
	if len(got) != len(tab.Classes()) {
		t.Fatalf("%d classes, want the table's %d (unknown included): %+v", len(got), len(tab.Classes()), got)
	}
	for _, c := range got {
		w := want[c.Class] // zero for the classes without bytes
		if c.Bytes != w.Bytes {
			t.Errorf("%s: bytes %v, want %v", c.Class, c.Bytes, w.Bytes)
		}
		if (c.Class == "internet") != (c.Cost != nil) {
			t.Errorf("%s: cost %v", c.Class, c.Cost)
		}
		if c.Class == "internet" && (*c.Cost < 0.2699 || *c.Cost > 0.2701) {
			t.Errorf("internet cost %v, want 0.27", *c.Cost)
		}
	}
}
