package selfcost

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseStatm(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		err  bool
	}{
		{"1000 250 100 50 0 300 0\n", 250, false},
		{"1000 250", 250, false},
		{"  1000   250 100\n", 250, false},
		{"18446744073709551615 18446744073709551615 0\n", 1<<64 - 1, false},
		{"1 18446744073709551616 0\n", 0, true}, // overflows
		{"", 0, true},
		{"1000\n", 0, true},
		{"1000 ", 0, true},
		{"1000 -5 1\n", 0, true},
		{"1000 25x 1\n", 0, true},
		{"abc 250 1\n", 0, true},
		{"1000\t250 1\n", 0, true},
	} {
		got, err := ParseStatm([]byte(tc.in))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseStatm(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestReadSelf reads this process's own cost: some CPU spent, a resident
// size between a megabyte and the peak.
func TestReadSelf(t *testing.T) {
	r, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, err := r.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU <= 0 || s.RSS < 1<<20 || s.PeakRSS < s.RSS/2 {
		t.Errorf("ReadSelf = %+v: want CPU > 0, RSS ≥ 1 MiB and a peak near or above it", s)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadSelf(); err == nil || strings.Contains(err.Error(), "%") {
		t.Errorf("ReadSelf after Close: %v, want an error", err)
	}
}

func BenchmarkReadSelf(b *testing.B) {
	r, err := Open()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadSelf(); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParseStatm(f *testing.F) {
	f.Add([]byte("1000 250 100 50 0 300 0\n"))
	f.Add([]byte("1 2"))
	f.Add([]byte(" 99999999999999999999 1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseStatm(b)
		if err != nil {
			if v != 0 {
				t.Fatalf("error %v with value %d", err, v)
			}
			return
		}
		// A value parsed is the second field's number.
		fields := strings.Fields(string(b))
		if len(fields) < 2 {
			t.Fatalf("ParseStatm(%q) = %d with fewer than two fields", b, v)
		}
		if w, err := strconv.ParseUint(fields[1], 10, 64); err != nil || w != v {
			t.Fatalf("ParseStatm(%q) = %d, second field %q", b, v, fields[1])
		}
	})
}
