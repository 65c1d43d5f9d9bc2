package selfcost

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

const status = "Name:\tnetriage\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t  3060 kB\nVmSize:\t    3060 kB\nVmHWM:\t    1800 kB\nVmRSS:\t    1764 kB\nRssAnon:\t     112 kB\nThreads:\t7\n"

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        string
		rss, peak uint64
		err       bool
	}{
		{"a status file", status, 1764 << 10, 1800 << 10, false},
		{"the peak read below now: now", "VmRSS:\t 20 kB\nVmHWM:\t 10 kB\n", 20 << 10, 20 << 10, false},
		{"no trailing newline", "VmHWM:\t5 kB\nVmRSS:\t4 kB", 4 << 10, 5 << 10, false},
		{"largest that fits", "VmHWM:\t18014398509481983 kB\nVmRSS:\t1 kB\n", 1 << 10, (1<<54 - 1) << 10, false},
		{"overflows", "VmHWM:\t18014398509481984 kB\nVmRSS:\t1 kB\n", 0, 0, true},
		{"empty", "", 0, 0, true},
		{"no VmHWM", "VmRSS:\t 4 kB\n", 0, 0, true},
		{"no unit", "VmRSS:\t 4\nVmHWM:\t 4 kB\n", 0, 0, true},
		{"not a number", "VmRSS:\t 4x kB\nVmHWM:\t 4 kB\n", 0, 0, true},
		{"negative", "VmRSS:\t -4 kB\nVmHWM:\t 4 kB\n", 0, 0, true},
		{"no digits", "VmRSS:\t kB\nVmHWM:\t 4 kB\n", 0, 0, true},
		{"another file", "1000 250 100 50 0 300 0\n", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rss, peak, err := ParseStatus([]byte(tc.in))
			if (err != nil) != tc.err || rss != tc.rss || peak != tc.peak {
				t.Errorf("ParseStatus = %d, %d, %v; want %d, %d, error %v", rss, peak, err, tc.rss, tc.peak, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "4x") {
				t.Errorf("the error quotes the file's value: %v", err)
			}
		})
	}
}

// TestReadSelf reads this process's own cost: some CPU spent, a resident
// size of at least a megabyte within the peak, a clock that moves on.
func TestReadSelf(t *testing.T) {
	r, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a, err := r.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	if a.CPU <= 0 || a.RSS < 1<<20 || a.PeakRSS < a.RSS || a.At <= 0 {
		t.Errorf("ReadSelf = %+v: want CPU > 0, RSS ≥ 1 MiB, the peak no less, a monotonic time", a)
	}
	// The same figures as the status file read the ordinary way.
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if _, hwm, err := ParseStatus(b); err != nil || hwm < a.PeakRSS {
		t.Errorf("VmHWM %d (%v) after a read of %d", hwm, err, a.PeakRSS)
	}
	for i := 0; i < 1e6; i++ { // spend some CPU
		_ = strconv.Itoa(i)
	}
	c, err := r.ReadSelf()
	if err != nil || c.At <= a.At || c.CPU <= a.CPU {
		t.Errorf("second read %+v (%v) after %+v: want later, more CPU", c, err, a)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadSelf(); err == nil {
		t.Error("ReadSelf after Close: no error")
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

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(status))
	f.Add([]byte("VmRSS:\t4 kB\nVmHWM:\t5 kB"))
	f.Add([]byte("VmRSS: 99999999999999999999 kB\nVmHWM: 1 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rss, peak, err := ParseStatus(b)
		if err != nil {
			if rss != 0 || peak != 0 {
				t.Fatalf("error %v with values %d, %d", err, rss, peak)
			}
			return
		}
		if peak < rss || rss%1024 != 0 || peak%1024 != 0 {
			t.Fatalf("ParseStatus(%q) = %d, %d: want whole kilobytes, the peak no less", b, rss, peak)
		}
		if !bytes.Contains(b, []byte("VmRSS:")) || !bytes.Contains(b, []byte("VmHWM:")) {
			t.Fatalf("ParseStatus(%q) parsed without both lines", b)
		}
	})
}
