package views

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"netriage/triage/fleet"
)

func fp(v float64) *float64 { return &v }

// fleetEvil are label values a hostile or broken exporter could put in
// Prometheus: escape sequences, bidirectional overrides, invalid UTF-8,
// very long and wide names.
var fleetEvil = []string{
	"evil\x1b[2J\x1b[Hcleared",
	"title\x1b]0;pwned\x07set",
	"bidi\u202eexe.txt",
	"bad\xff\xfeutf8",
	"new\nline\rcarriage\ttab",
	"wide日本語名前ホスト",
	strings.Repeat("verylong", 500),
	"c1\u009b31mred",
}

// fleetReport is a fleet with three problem links, one of each kind, on
// hosts whose labels are hostile, and one silent host.
func fleetReport() fleet.Report {
	return fleet.Report{
		Time:   time.Date(2026, 12, 2, 7, 53, 11, 0, time.UTC),
		Window: time.Hour,
		Hosts:  []string{"198.18.1.1:10099", "198.18.2.1:10099", fleetEvil[5], fleetEvil[0]},
		Silent: []string{"198.18.9.9:10099", fleetEvil[1]},
		Links:  9, Saturated: 1, Congested: 1,
		Problems: []fleet.Link{
			{Instance: "198.18.1.1:10099", Interface: "eth0", Direction: "tx", Now: fleet.StateSaturated,
				Utilization: fp(0.962), Peak: fp(1.029), SaturatedSeconds: 611, CongestedSeconds: 12, FlowBytesPerSec: fp(92_875),
				Processes: []fleet.Talker{
					{Name: "iperf3", Scope: "eth0", BytesPerSec: 92_500, Share: fp(0.996)},
					{Name: fleetEvil[0], Container: fleetEvil[1], Scope: "any", BytesPerSec: 300, Share: fp(0.0032)},
					{Name: "unattributed:forwarded", Scope: "eth0", BytesPerSec: 75},
				},
				Remotes: []fleet.Talker{
					{Name: "198.18.1.2", Host: "sink.lab.example", Scope: "eth0", BytesPerSec: 92_600, Share: fp(0.997)},
					{Name: "fd00:198:18::7", Host: fleetEvil[6], Scope: "eth0,eth1", BytesPerSec: 275, Share: fp(0.003)},
				}},
			{Instance: fleetEvil[5], Interface: fleetEvil[2], Direction: "rx", Now: fleet.StateCongested,
				Utilization: fp(0.71), Peak: fp(0.88), CongestedSeconds: 4000, FlowBytesPerSec: fp(1.25e6),
				Processes: []fleet.Talker{{Name: fleetEvil[3], Container: fleetEvil[4], Scope: fleetEvil[2], BytesPerSec: 1.2e6, Share: fp(0.96)}},
				Remotes:   []fleet.Talker{{Name: "198.18.5.5", Host: fleetEvil[7], Scope: fleetEvil[2], BytesPerSec: 1.2e6, Share: fp(0.96)}}},
			{Instance: fleetEvil[6], Interface: fleetEvil[6], Direction: fleetEvil[0], Now: fleet.State(fleetEvil[1]),
				SaturatedSeconds: 400_000, Processes: nil, Remotes: nil},
			{Instance: fleetEvil[0], Interface: "wg0", Direction: "tx", Now: fleet.StateNone,
				Peak: fp(0.99), SaturatedSeconds: 30},
		},
	}
}

// fleetLarge is a report of n problem links with three talkers each.
func fleetLarge(n int) fleet.Report {
	rep := fleetReport()
	rep.Problems = nil
	for i := range n {
		l := fleet.Link{Instance: fmt.Sprintf("node-%03d.prod.example.net:10099", i), Interface: fmt.Sprintf("eth%d", i%4),
			Direction: []string{"tx", "rx"}[i%2], Now: []fleet.State{fleet.StateSaturated, fleet.StateCongested, fleet.StateOK}[i%3],
			Utilization: fp(float64(i%100) / 100), Peak: fp(1), SaturatedSeconds: float64(i), FlowBytesPerSec: fp(1e6)}
		for j := range 3 {
			l.Processes = append(l.Processes, fleet.Talker{Name: fmt.Sprintf("proc-%d", j), BytesPerSec: 1e5, Share: fp(0.1), Scope: "any"})
			l.Remotes = append(l.Remotes, fleet.Talker{Name: fmt.Sprintf("198.18.%d.%d", i%250, j), BytesPerSec: 1e5, Share: fp(0.1), Scope: "any"})
		}
		rep.Problems = append(rep.Problems, l)
	}
	return rep
}

const fleetServer = "http://prometheus.example.net:9090"

var fleetT0 = time.Date(2026, 12, 2, 7, 53, 12, 0, time.UTC)

// fleetAnswered is the model of one answer received at fleetT0.
func fleetAnswered(rep fleet.Report) *FleetModel {
	return NewFleetModel(fleetServer, 30*time.Second).Answered(rep, fleetT0, fleetT0.Add(30*time.Second))
}

func TestFleetScreens(t *testing.T) {
	healthy := fleetReport()
	healthy.Problems, healthy.Silent, healthy.Saturated, healthy.Congested = nil, nil, 0, 0
	recent := fleetReport()
	recent.Problems, recent.Saturated, recent.Congested = recent.Problems[3:], 0, 0
	stale := fleetAnswered(fleetReport()).Ask().
		Failed("Prometheus at "+fleetServer+" answered an error to query hosts: server_error: server error: 503 \x1b[31mred", fleetT0.Add(40*time.Second), fleetT0.Add(70*time.Second))
	noHosts := fleet.Report{Window: time.Hour}
	cases := []struct {
		name  string
		m     *FleetModel
		setup func(*FleetState)
	}{
		{"problems", fleetAnswered(fleetReport()), func(*FleetState) {}},
		{"problems_second", fleetAnswered(fleetReport()), func(s *FleetState) { s.cur.index = 1; s.Bytes = true }},
		{"healthy", fleetAnswered(healthy), func(*FleetState) {}},
		{"recent", fleetAnswered(recent), func(*FleetState) {}},
		{"no_hosts", fleetAnswered(noHosts), func(*FleetState) {}},
		{"stale", stale, func(*FleetState) {}},
		{"asking", NewFleetModel(fleetServer, 30*time.Second).Ask(), func(*FleetState) {}},
		{"first_failed", NewFleetModel(fleetServer, 30*time.Second).Failed("cannot reach Prometheus at "+fleetServer+": dial tcp 198.18.0.9:9090: connect: connection refused", fleetT0.Add(40*time.Second), fleetT0.Add(70*time.Second)), func(*FleetState) {}},
		{"detail", fleetAnswered(fleetReport()), func(s *FleetState) { s.Detail = true }},
		{"detail_hostile", fleetAnswered(fleetReport()), func(s *FleetState) { s.Detail = true; s.cur.index = 1 }},
		{"detail_scrolled", fleetAnswered(fleetReport()), func(s *FleetState) { s.Detail = true; s.DetailOffset = 8 }},
		{"help", fleetAnswered(fleetReport()), func(s *FleetState) { s.Help = true }},
		{"large", fleetAnswered(fleetLarge(500)), func(s *FleetState) { s.cur.index = 250 }},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		for _, tc := range cases {
			name := fmt.Sprintf("fleet_%s_%dx%d", tc.name, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				st := NewFleetState(false)
				tc.setup(st)
				// 12 s after the answer; the failure came 40 s after it.
				now := fleetT0.Add(12 * time.Second)
				if tc.m.Err != "" {
					now = fleetT0.Add(45 * time.Second)
				}
				f := BuildFleetFrame(tc.m, st, size[0], size[1], now)
				checkFleetScreen(t, name, f, size[0], size[1])
			})
		}
	}
}

// checkFleetScreen is checkScreen for the fleet screen.
func checkFleetScreen(t *testing.T, name string, f *FleetFrame, w, h int) {
	t.Helper()
	lines := f.Screen()
	if len(lines) != h {
		t.Fatalf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := len([]rune(l)); n > w {
			t.Errorf("line %d is %d cells wide, more than %d: %q", i, n, w, l)
		}
	}
	for pane := range f.Rects {
		checkSafeLines(t, pane, f.Pane(pane))
		if strings.Contains(f.Title(pane), "\x1b") {
			t.Errorf("pane %s: escape in the title", pane)
		}
	}
	golden(t, name, strings.Join(lines, "\n")+"\n")
}

// TestFleetHealthyLine: a fleet with no problem says so in the words the
// docs give, with the number of hosts, and has no talkers pane.
func TestFleetHealthyLine(t *testing.T) {
	rep := fleet.Report{Window: 90 * time.Minute, Hosts: []string{"a", "b", "c"}, Links: 6}
	f := BuildFleetFrame(fleetAnswered(rep), NewFleetState(false), 120, 40, fleetT0)
	scr := strings.Join(f.Screen(), "\n")
	if !strings.Contains(scr, "no link saturated or congested in the last 1h30m (3 hosts reporting)") {
		t.Errorf("no healthy line:\n%s", scr)
	}
	if _, ok := f.Rects[PaneFleetTalkers]; ok {
		t.Error("a talkers pane without links")
	}
}

// TestFleetModelTransitions: an answer replaces the report and clears the
// error; a failure keeps the report, marks it stale and counts; the next
// answer clears the mark. Published models are never changed.
func TestFleetModelTransitions(t *testing.T) {
	m0 := NewFleetModel("http://p:9090\x1b[2J", time.Minute)
	if m0.Server != "http://p:9090?[2J" || m0.Stale() {
		t.Fatalf("new model %+v", m0)
	}
	a := m0.Ask()
	if !a.Asking || m0.Asking {
		t.Fatal("Ask changed the model or did not mark asking")
	}
	m1 := a.Answered(fleetReport(), fleetT0, fleetT0.Add(time.Minute))
	if m1.Asking || m1.Report == nil || m1.Stale() || len(m1.Report.Problems) != 4 {
		t.Fatalf("answered %+v", m1)
	}
	m2 := m1.Ask().Failed("boom\x1b[31m", fleetT0.Add(time.Minute), fleetT0.Add(2*time.Minute))
	m3 := m2.Failed(errors.New("again").Error(), fleetT0.Add(2*time.Minute), fleetT0.Add(3*time.Minute))
	if !m3.Stale() || m3.Failures != 2 || m3.Report != m1.Report || m2.Err != "boom?[31m" || m1.Err != "" {
		t.Fatalf("failures: %+v / %+v", m2, m3)
	}
	m4 := m3.Answered(fleet.Report{}, fleetT0.Add(3*time.Minute), fleetT0.Add(4*time.Minute))
	if m4.Stale() || m4.Failures != 0 || m4.Err != "" {
		t.Fatalf("after an answer %+v", m4)
	}
	if f := NewFleetModel("x", time.Minute).Failed("", fleetT0, fleetT0); f.Err == "" {
		t.Error("an empty error reads as an answer")
	}
}

// TestAdaptFleet: every string of the report is terminal-safe, capped and
// copied, the numbers are kept.
func TestAdaptFleet(t *testing.T) {
	in := fleetReport()
	out := AdaptFleet(in)
	var all []string
	all = append(all, out.Hosts...)
	all = append(all, out.Silent...)
	for _, l := range out.Problems {
		all = append(all, l.Instance, l.Interface, l.Direction, string(l.Now))
		for _, tk := range append(append([]fleet.Talker{}, l.Processes...), l.Remotes...) {
			all = append(all, tk.Name, tk.Container, tk.Host, tk.Scope)
		}
	}
	for _, s := range all {
		checkSafeLines(t, "adapted", []Line{{Text: s}})
		if n := len([]rune(s)); n > fleetHostCap {
			t.Errorf("%d runes, over the cap: %q", n, s)
		}
		if strings.ContainsRune(s, '日') {
			t.Errorf("a wide rune is left: %q", s)
		}
	}
	if out.Problems[0].Processes[0].BytesPerSec != 92_500 || *out.Problems[0].Utilization != 0.962 || out.Saturated != 1 {
		t.Error("numbers changed")
	}
	if in.Problems[1].Instance != fleetEvil[5] || in.Hosts[3] != fleetEvil[0] {
		t.Error("the input was changed")
	}
}

// checkSafeLines fails when text on its way to the terminal holds a
// control character, invalid UTF-8 or a bidirectional override.
func checkSafeLines(t *testing.T, what string, lines []Line) {
	t.Helper()
	for _, l := range lines {
		for _, r := range l.Text {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' {
				t.Errorf("%s: control character %U in %q", what, r, l.Text)
				break
			}
		}
	}
}

// BenchmarkFleetRedraw measures one redraw of the fleet screen as the host
// does it (build the frame, render every pane with styles) with 500
// problem links, at 200×50, in the list and in the detail.
func BenchmarkFleetRedraw(b *testing.B) {
	m := fleetAnswered(fleetLarge(500))
	for _, bc := range []struct {
		name  string
		setup func(*FleetState)
	}{
		{"list", func(s *FleetState) { s.cur.index = 250 }},
		{"detail", func(s *FleetState) { s.cur.index = 250; s.Detail = true }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := NewFleetState(false)
			bc.setup(st)
			now := fleetT0.Add(10 * time.Second)
			b.ReportAllocs()
			for b.Loop() {
				f := BuildFleetFrame(m, st, 200, 50, now)
				for name := range f.Rects {
					_ = WriteANSI(io.Discard, f.Pane(name))
				}
			}
		})
	}
}
