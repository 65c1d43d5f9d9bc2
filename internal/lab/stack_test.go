package lab

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseSoftnet(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []SoftnetCPU
		err      bool
	}{
		{"cpu column", "04efae87 000037b8 00000007 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n" +
			"04c56cc1 000047fa 00000009 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000002 00000000 00000000\n",
			[]SoftnetCPU{{0, 0x04efae87, 0x37b8, 7}, {2, 0x04c56cc1, 0x47fa, 9}}, false},
		{"old kernel, rows", "00000010 00000001 00000002\n00000020 00000003 00000004\n", []SoftnetCPU{{0, 16, 1, 2}, {1, 32, 3, 4}}, false},
		{"short row", "00000010 00000001\n", nil, true},
		{"not hex", "0000001g 00000001 00000002\n", nil, true},
	} {
		got, err := parseSoftnet(tc.in)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, %v; want %v (error %v)", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestParseConntrackStat(t *testing.T) {
	const hdr = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n"
	const row = "00000000  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 %08x %08x %08x 00000000  00000000 00000000 00000000 00000000\n"
	var c Conntrack
	if err := parseConntrackStat(strings.NewReader(hdr+fmt.Sprintf(row, 1, 2, 0x10)+fmt.Sprintf(row, 3, 4, 0x20)), &c); err != nil {
		t.Fatal(err)
	}
	if c.InsertFailed != 4 || c.Drop != 6 || c.EarlyDrop != 0x30 {
		t.Errorf("got %+v, want insert_failed 4, drop 6, early_drop 48", c)
	}
	for _, bad := range []string{"", "entries found\n00000000 00000000\n", hdr + "00000000 00000001\n", hdr + strings.Replace(fmt.Sprintf(row, 1, 2, 3), "00000001", "zz", 1)} {
		if err := parseConntrackStat(strings.NewReader(bad), &Conntrack{}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The ground-truth parsers never panic, and what they accept is
// consistent: one row per line of softnet_stat.
func FuzzParseSoftnet(f *testing.F) {
	f.Add("04efae87 000037b8 00000007 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000\n")
	f.Add("00000010 00000001 00000002\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := parseSoftnet(in)
		if err == nil && len(rows) != len(strings.Split(strings.TrimSpace(in), "\n")) {
			t.Errorf("%d rows from %q", len(rows), in)
		}
	})
}

func FuzzParseConntrackStat(f *testing.F) {
	f.Add("entries insert_failed drop early_drop\n00000000 00000001 00000002 00000003\n")
	f.Add("insert_failed drop early_drop\nffffffff ffffffff\n")
	f.Fuzz(func(t *testing.T, in string) {
		_ = parseConntrackStat(strings.NewReader(in), &Conntrack{})
	})
}
