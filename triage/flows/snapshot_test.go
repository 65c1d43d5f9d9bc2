package flows

import (
	"testing"
	"time"
)

func TestParseAggregation(t *testing.T) {
	for _, tc := range []struct {
		in    string
		ports bool
		want  Aggregation
		ok    bool
	}{
		{"", false, ByHostPair, true}, {"hosts", false, ByHostPair, true}, {"pairs", false, ByHostPair, true},
		{"", true, ByHostPort, true}, {"Hosts", true, ByHostPort, true}, {"ports", false, ByHostPort, true},
		{"5tuple", false, By5Tuple, true}, {"flows", true, By5Tuple, true},
		{"source", false, BySource, true}, {"S", false, BySource, true}, {"src", false, BySource, true},
		{"destination", false, ByDestination, true}, {"d", false, ByDestination, true}, {"DST", false, ByDestination, true},
		{"nope", false, 0, false},
	} {
		got, ok := ParseAggregation(tc.in, tc.ports)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseAggregation(%q, %v) = %v, %v; want %v, %v", tc.in, tc.ports, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSnapshotFromFile(t *testing.T) {
	zone := time.FixedZone("X", 3600)
	s := Snapshot{Time: time.Date(2024, 1, 2, 4, 0, 0, 0, zone), Start: time.Date(2024, 1, 2, 3, 0, 0, 0, zone),
		Capture: Health{Packets: 7, Interfaces: []IfaceHealth{{Name: "pcap", Packets: 3}}}}
	s.FromFile("x.pcap")
	if s.Time != time.Date(2024, 1, 2, 3, 0, 0, 0, time.UTC) || s.Start != time.Date(2024, 1, 2, 2, 0, 0, 0, time.UTC) {
		t.Errorf("times %v, %v: want them in UTC", s.Time, s.Start)
	}
	if got := s.Capture.Interfaces[0]; got.Name != "x.pcap" || got.Packets != 7 {
		t.Errorf("interface %+v, want x.pcap with every packet", got)
	}
}
