package flows

import "testing"

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
