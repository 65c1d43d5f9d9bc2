package main

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"netriage/sources/inputs"
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
	orig := inputs.OpenLinks
	inputs.OpenLinks = func(links.Options) (inputs.LinksReader, error) { return f, nil }
	t.Cleanup(func() { inputs.OpenLinks = orig })
}

// steadyEth0 is one up interface whose counters grow by 1000 bytes a read.
func steadyEth0(call int) []triage.IfaceSample {
	return []triage.IfaceSample{{Name: "eth0", Index: 2, Kind: "device", OperState: "up", AdminUp: true, MTU: 1500,
		Counters: triage.IfaceCounters{RxBytes: uint64(call) * 1000, TxBytes: uint64(call) * 1000}}}
}

// TestLinksCloseWaitsForSampler ends the run (--duration) while the
// engine is inside a read: the reader must be closed only after that read
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
	// The ticks at 50 and 100 ms are inside the 130 ms run: both are
	// printed (the second's read ends after the deadline, but the engine
	// finishes a step before it stops), nothing after them.
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("got %d samples, want 2:\n%s", n, out)
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

// twoVeths has veth0 always and veth1 until call gone (0: never).
func twoVeths(gone int) func(int) []triage.IfaceSample {
	return func(call int) []triage.IfaceSample {
		mk := func(name string, idx int) triage.IfaceSample {
			return triage.IfaceSample{Name: name, Index: idx, Kind: "veth", OperState: "up", AdminUp: true, MTU: 1500,
				Counters: triage.IfaceCounters{RxBytes: uint64(call) * 1000, TxBytes: uint64(call) * 500}}
		}
		out := []triage.IfaceSample{mk("veth0", 5)}
		if gone == 0 || call < gone {
			out = append(out, mk("veth1", 6))
		}
		return out
	}
}

// TestLinksRemovedInterface: an interface deleted mid-run is reported in
// every later sample (gone, oper_state gone, gone_since, null rates),
// named once on stderr, and the exit code says so when it was asked for.
func TestLinksRemovedInterface(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		gone      int // read call from which veth1 is missing
		wantCode  int
		wantLines int // samples printed
		wantStop  bool
	}{
		{"named with -i", []string{"-i", "veth0,veth1"}, 3, exitFailure, 5, false},
		{"default selection", nil, 3, exitOK, 5, false},
		{"the only one named", []string{"-i", "veth1"}, 3, exitFailure, 2, true},
		{"none removed", []string{"-i", "veth0,veth1"}, 0, exitOK, 5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			useFakeLinks(t, &fakeLinks{ifaces: twoVeths(tc.gone)})
			args := append([]string{"links", "-O", "json", "--interval", "10ms", "--count", "5"}, tc.args...)
			out, errOut, code := runCmd(t, args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.wantCode, errOut)
			}
			samples := linksParseNDJSON(t, out)
			if len(samples) != tc.wantLines {
				t.Fatalf("%d samples, want %d:\n%s", len(samples), tc.wantLines, out)
			}
			// Call 1 is the baseline: sample i is read call i+2.
			for i, s := range samples {
				for _, ifc := range s.Interfaces {
					wantGone := ifc["name"] == "veth1" && tc.gone > 0 && i+2 >= tc.gone
					if ifc["gone"] != wantGone {
						t.Errorf("sample %d %v: gone=%v, want %v", i, ifc["name"], ifc["gone"], wantGone)
					}
					if wantGone && (ifc["oper_state"] != "gone" || ifc["rx_bps"] != nil || ifc["gone_since"] == nil) {
						t.Errorf("sample %d: gone row %v", i, ifc)
					}
					if !wantGone && (ifc["gone_since"] != nil || ifc["rx_bps"] == nil) {
						t.Errorf("sample %d: live row %v", i, ifc)
					}
				}
			}
			if tc.gone > 0 {
				if n := strings.Count(errOut, "interface veth1 was removed"); n != 1 {
					t.Errorf("stderr names the removal %d times, want once: %q", n, errOut)
				}
				first := samples[tc.gone-2].Interfaces
				last := samples[len(samples)-1].Interfaces
				if first[len(first)-1]["gone_since"] != last[len(last)-1]["gone_since"] {
					t.Errorf("gone_since moved: %v then %v", first[len(first)-1]["gone_since"], last[len(last)-1]["gone_since"])
				}
			}
			if got := strings.Contains(errOut, "no interface left"); got != tc.wantStop {
				t.Errorf("stopped early %v, want %v: %q", got, tc.wantStop, errOut)
			}
		})
	}
}

// netnsGoneReader is a reader whose namespace is deleted from read call
// gone on, as links.Reader reports it.
type netnsGoneReader struct {
	fakeLinks
	gone int
}

func (r *netnsGoneReader) Read() (triage.LinksSample, error) {
	s, err := r.fakeLinks.Read()
	if r.calls >= r.gone {
		why := `network namespace "web1" was deleted: no /run/netns/web1 any more`
		s = triage.LinksSample{NetnsGone: why, Warnings: []string{why}}
	}
	return s, err
}

// TestLinksNetnsGone: a deleted --netns namespace ends the run with one
// sample that marks it (netns_gone, every row gone) and exit code 1.
func TestLinksNetnsGone(t *testing.T) {
	for _, format := range []string{"json", "table"} {
		t.Run(format, func(t *testing.T) {
			r := &netnsGoneReader{fakeLinks: fakeLinks{ifaces: twoVeths(0)}, gone: 3}
			orig := inputs.OpenLinks
			inputs.OpenLinks = func(links.Options) (inputs.LinksReader, error) { return r, nil }
			t.Cleanup(func() { inputs.OpenLinks = orig })
			out, errOut, code := runCmd(t, "links", "-O", format, "--interval", "10ms", "--count", "10")
			if code != exitFailure || !strings.Contains(errOut, `"web1" was deleted`) || !strings.Contains(errOut, "no interface left") {
				t.Errorf("exit %d, stderr %q", code, errOut)
			}
			if format == "table" {
				goneRows := 0
				for _, l := range strings.Split(out, "\n") {
					if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[0], "veth") && f[1] == "gone" {
						goneRows++
					}
				}
				if strings.Count(out, "IFACE") != 2 || goneRows != 2 || !strings.Contains(out, "warning: network namespace") {
					t.Errorf("table:\n%s", out)
				}
				return
			}
			samples := linksParseNDJSON(t, out)
			if len(samples) != 2 {
				t.Fatalf("%d samples, want 2:\n%s", len(samples), out)
			}
			if !strings.Contains(out, `"netns_gone":true`) || strings.Count(out, `"netns_gone":false`) != 1 {
				t.Errorf("netns_gone:\n%s", out)
			}
			for _, ifc := range samples[1].Interfaces {
				if ifc["gone"] != true || ifc["gone_since"] == nil {
					t.Errorf("row %v", ifc)
				}
			}
		})
	}
}
