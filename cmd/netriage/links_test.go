package main

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"netriage/sources/links"
	"netriage/triage"
)

// fakeLinks is a linksReader over a script of samples. Read sleeps for the
// delay its call number has in slow (0 by default), so a test can make the
// run end while a read is in flight. It records a Close that comes while a
// Read runs, or a Read after Close: the races that crashed links at exit.
type fakeLinks struct {
	mu       sync.Mutex
	calls    int
	reading  bool
	closed   bool
	misuse   []string
	slow     map[int]time.Duration
	ifaces   func(call int) []triage.IfaceSample
	warnings []string
}

func (f *fakeLinks) Read() (triage.LinksSample, error) {
	f.mu.Lock()
	f.calls++
	call := f.calls
	if f.closed {
		f.misuse = append(f.misuse, "Read after Close")
		f.mu.Unlock()
		return triage.LinksSample{}, errors.New("reader closed")
	}
	f.reading = true
	d := f.slow[call]
	f.mu.Unlock()
	time.Sleep(d)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reading = false
	return triage.LinksSample{Ifaces: f.ifaces(call), Warnings: f.warnings}, nil
}

func (f *fakeLinks) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reading {
		f.misuse = append(f.misuse, "Close during Read")
	}
	f.closed = true
	return nil
}

// useFakeLinks makes runLinks read from f for the test's duration.
func useFakeLinks(t *testing.T, f *fakeLinks) {
	t.Helper()
	orig := linksOpen
	linksOpen = func(links.Options) (linksReader, error) { return f, nil }
	t.Cleanup(func() { linksOpen = orig })
}

// steadyEth0 is one up interface whose counters grow by 1000 bytes a read.
func steadyEth0(call int) []triage.IfaceSample {
	return []triage.IfaceSample{{Name: "eth0", Index: 2, Kind: "device", OperState: "up", AdminUp: true, MTU: 1500,
		Counters: triage.IfaceCounters{RxBytes: uint64(call) * 1000, TxBytes: uint64(call) * 1000}}}
}

// TestLinksCloseWaitsForSampler ends the run (--duration) while the
// sampler is inside a read: the reader must be closed only after that read
// returned, and never read again. Before the fix runLinks closed the
// netlink handle under the running read (a nil pointer panic at exit, 7 of
// 20 runs of `links --duration 1s --interval 100ms`).
func TestLinksCloseWaitsForSampler(t *testing.T) {
	// Call 1 is the baseline, call 2 the first tick (50 ms), call 3 starts
	// at 100 ms and is still running when the 130 ms duration ends.
	f := &fakeLinks{ifaces: steadyEth0, slow: map[int]time.Duration{3: 150 * time.Millisecond}}
	useFakeLinks(t, f)
	out, errOut, code := runCmd(t, "links", "-i", "eth0", "-O", "json", "--interval", "50ms", "--duration", "130ms")
	if code != exitOK {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.misuse) > 0 || !f.closed {
		t.Errorf("reader misused: %v (closed %v)", f.misuse, f.closed)
	}
	if n := strings.Count(out, "\n"); n != 1 {
		t.Errorf("got %d samples, want 1:\n%s", n, out)
	}
}

// TestLinksShorterThanInterval: a run shorter than one interval prints the
// one sample there is at its end, with rates over the time elapsed, and
// says so on stderr.
func TestLinksShorterThanInterval(t *testing.T) {
	for _, format := range []string{"json", "table", "csv"} {
		t.Run(format, func(t *testing.T) {
			f := &fakeLinks{ifaces: steadyEth0}
			useFakeLinks(t, f)
			out, errOut, code := runCmd(t, "links", "-i", "eth0", "-O", format, "--interval", "1s", "--duration", "200ms")
			if code != exitOK {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if !strings.Contains(errOut, "before the first 1s interval") {
				t.Errorf("stderr does not say why there is a single sample: %q", errOut)
			}
			switch format {
			case "json":
				s := linksParseNDJSON(t, out)
				if len(s) != 1 || s[0].IntervalS < 0.15 || s[0].IntervalS > 0.9 {
					t.Fatalf("want one sample over ~0.2 s: %s", out)
				}
				ifc := s[0].Interfaces[0]
				// 1000 bytes in ~0.2 s: ~40 kbit/s, never the 8 kbit/s of a full second.
				if bps, _ := ifc["rx_bps"].(float64); bps < 8000*1.1 {
					t.Errorf("rx_bps %v is not a rate over the elapsed time", ifc["rx_bps"])
				}
			case "table":
				if strings.Count(out, "IFACE") != 1 || !strings.Contains(out, "eth0") {
					t.Errorf("table:\n%s", out)
				}
			case "csv":
				if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 {
					t.Errorf("csv:\n%s", out)
				}
			}
		})
	}
}
