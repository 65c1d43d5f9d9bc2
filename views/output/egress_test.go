package output

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"netriage/triage/egress"
	"netriage/triage/names"
	"netriage/views/format"
)

func egressFixture(t *testing.T) (*egress.Table, egress.Prices, []egress.Row) {
	t.Helper()
	tab, err := egress.NewTable(egress.Rules{
		Host:     []netip.Addr{netip.MustParseAddr("198.18.1.2")},
		OnLink:   []netip.Prefix{netip.MustParsePrefix("198.18.1.0/24")},
		Place:    egress.Place{Provider: "aws", Region: "us-east-1"},
		Networks: []egress.Network{{Name: "peer-vpc", Prefixes: []netip.Prefix{netip.MustParsePrefix("198.18.20.0/24")}, Class: egress.ClassPeering}},
		Cloud:    []egress.CloudRange{{Prefix: netip.MustParsePrefix("198.19.40.0/24"), Provider: "aws", Service: "S3", Region: "eu-west-1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := egress.Prices{Unit: egress.UnitGB, Currency: "USD", Classes: map[egress.Class]egress.ClassPrice{
		egress.ClassInternet:    {Sent: egress.Known(0.09), Received: egress.Known(0)},
		egress.ClassCrossRegion: {Sent: egress.Known(0.02)},
		egress.ClassPeering:     {Sent: egress.Known(0.01), Received: egress.Known(0.01)},
	}}
	rows := []egress.Row{
		{Remote: netip.MustParseAddr("93.184.216.34"), Process: "curl[41] docker:0123456789ab", Name: "api.example.com", NameSource: "dns", Sent: 3_000_000_000, Received: 40_000_000, SentRate: 2_500_000, ReceivedRate: 10_000},
		{Remote: netip.MustParseAddr("151.101.1.69"), Process: "curl[41] docker:0123456789ab", Name: "cdn.example.net", NameSource: "sni", Sent: 500_000, Received: 90_000_000},
		{Remote: netip.MustParseAddr("198.19.40.7"), Process: "backup[7]", Name: "bucket.s3.eu-west-1.example", NameSource: "dns", Sent: 7_000_000_000, SentRate: 1_000_000},
		{Remote: netip.MustParseAddr("198.18.20.5"), Process: "db[99]", Sent: 1_000_000, Received: 2_000_000},
		{Remote: netip.MustParseAddr("198.18.1.1"), Process: "", Sent: 1200, Received: 800},
		{Remote: netip.MustParseAddr("2001:db8::7"), Process: "evil\x1b[2J[3]", Name: "x\x07.example", NameSource: "dns", Sent: 10, Received: 10},
		{Remote: netip.MustParseAddr("198.51.100.1"), Process: "scan[5]", Folded: true, Sent: 900, Received: 100},
		{Sent: 4000, Received: 50},
	}
	return tab, p, rows
}

func TestEgressGolden(t *testing.T) {
	tab, prices, rows := egressFixture(t)
	start := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		by    []egress.Field
		sort  egress.SortKey
		limit int
		p     egress.Prices
	}{
		{"by-class", []egress.Field{egress.ByClass}, egress.SortCost, 0, prices},
		{"by-class-name", []egress.Field{egress.ByClass, egress.ByName}, egress.SortCost, 4, prices},
		{"by-process-class", []egress.Field{egress.ByProcess, egress.ByClass}, egress.SortBytes, 0, prices},
		{"no-prices", []egress.Field{egress.ByNetwork}, egress.SortSent, 0, egress.Prices{Unit: egress.UnitGB}},
	}
	for _, tc := range cases {
		for _, f := range []string{"table", "json", "csv"} {
			t.Run(tc.name+"."+f, func(t *testing.T) {
				var buf bytes.Buffer
				w := NewEgressWriter(&buf, EgressOptions{Format: f, Units: format.Units{Bytes: true}, By: tc.by, Sort: tc.sort, Limit: tc.limit, Table: tab, Prices: tc.p})
				for i, rs := range [][]egress.Row{rows[:2], rows} {
					in := EgressInput{Seq: uint64(i + 1), Time: start.Add(time.Duration(i+1) * 30 * time.Second), Start: start, RateSecond: 30 + 10*i, Rows: rs, FoldedFlows: uint64(3 * i)}
					if i == 1 {
						in.Names = &EgressNames{Tap: names.TapStats{Messages: 12, Answers: 20, Hellos: 4, SNIs: 3, Drops: 3}, Cache: names.Stats{Entries: 18, Evicted: 2}}
					}
					if err := w.Write(in); err != nil {
						t.Fatal(err)
					}
				}
				golden(t, "egress_"+tc.name+"."+f, buf.Bytes())
			})
		}
	}
}

// TestEgressTotalsExact: the groups of any grouping sum to the total, and the
// total is every row's bytes.
func TestEgressTotalsExact(t *testing.T) {
	tab, prices, rows := egressFixture(t)
	var want uint64
	for _, r := range rows {
		want += r.Sent
	}
	w := NewEgressWriter(nil, EgressOptions{Table: tab, Prices: prices, By: []egress.Field{egress.ByClass, egress.ByProcess}})
	sum := w.Summary(EgressInput{Rows: rows})
	var got uint64
	for _, g := range sum.Groups {
		got += g.Sent
	}
	if got != want || sum.Total.Sent != want {
		t.Errorf("groups sum to %d, total %d, rows %d", got, sum.Total.Sent, want)
	}
}
