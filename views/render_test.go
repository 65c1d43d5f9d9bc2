package views

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"netriage/triage"
)

var update = flag.Bool("update", false, "rewrite golden files (and docs/keybindings.md)")

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./views -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden (go test ./views -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// hostileModel is the demo with every untrusted string replaced by
// something that would break a terminal if printed raw.
func hostileModel() *Model {
	m := Demo(t0, 3)
	evil := []string{
		"evil\x1b[2J\x1b[Hcleared",
		"title\x1b]0;pwned\x07set",
		"bidi\u202eexe.txt",
		"bad\xff\xfeutf8",
		"new\nline\rcarriage\ttab",
		"wide日本語名前",
		strings.Repeat("verylong", 500),
		"c1\u009b31mred",
	}
	for i := range m.Flows {
		m.Flows[i].Process = evil[i%len(evil)]
		m.Flows[i].RemoteName = evil[(i+1)%len(evil)]
		m.Flows[i].Container = evil[(i+2)%len(evil)]
	}
	for i := range m.Procs {
		m.Procs[i].Program = evil[i%len(evil)]
		m.Procs[i].Cmdline = evil[(i+3)%len(evil)]
		m.Procs[i].User = evil[(i+4)%len(evil)]
		m.Procs[i].Container = evil[(i+5)%len(evil)]
	}
	for i := range m.Conns {
		m.Conns[i].Process = evil[i%len(evil)]
		m.Conns[i].RemoteName = evil[(i+6)%len(evil)]
	}
	for i := range m.Remotes {
		m.Remotes[i].Name = evil[i%len(evil)]
		m.Remotes[i].Processes = []string{evil[(i+1)%len(evil)], evil[(i+2)%len(evil)]}
	}
	m.Links[0].Explain[0].Owner = evil[0]
	m.Links[0].Explain[0].Label = evil[1]
	m.Header[1].Name = evil[0]
	m.Links[1].Name = evil[6]
	m.Verdict.Summary = evil[1]
	m.Degraded = []string{evil[4]}
	m.Source = evil[2]
	return m
}

// degradedModel is what an unprivileged start shows: links and socket
// counters only.
func degradedModel() *Model {
	m := Demo(t0, 3)
	m.Flows = nil
	m.Remotes = nil
	m.Mode = "socket counters (TCP only)"
	m.Verdict = Verdict{Level: VerdictUnknown, Summary: "no capture: verdict from counters only"}
	m.CoverageKnown = false
	m.Degraded = []string{
		"capture unavailable: CAP_NET_RAW missing. Run with sudo, or: sudo setcap cap_net_raw,cap_net_admin+ep $(which netriage)",
		"other users' processes unreadable: CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE missing; their rows are incomplete",
	}
	return m
}

type screenCase struct {
	name  string
	model func() *Model
	setup func(*UIState)
}

func screenCases() []screenCase {
	demo := func() *Model { return Demo(t0, 3) }
	return []screenCase{
		{"flows", demo, func(*UIState) {}},
		{"flows_total_ports", demo, func(s *UIState) { s.Line = LineTotal; s.Ports = true; s.PortNames = false; s.DNS = false }},
		{"flows_by_remote_bytes", demo, func(s *UIState) { s.HideLocal = true; s.Bytes = true; s.IEC = true; s.Line = LineRecv }},
		{"flows_detail", demo, func(s *UIState) { s.Detail = true; s.cur[ViewFlows].index = 2 }},
		{"procs", demo, func(s *UIState) { s.View = ViewProcs }},
		{"procs_detail", demo, func(s *UIState) { s.View = ViewProcs; s.Detail = true }},
		{"conns", demo, func(s *UIState) { s.View = ViewConns; s.SetSort(SortDest) }},
		{"conns_detail", demo, func(s *UIState) { s.View = ViewConns; s.Detail = true }},
		{"flows_detail_tcp", demo, func(s *UIState) { s.Ports = true; s.Detail = true; s.cur[ViewFlows].index = 1 }},
		{"remotes", demo, func(s *UIState) { s.View = ViewRemotes; s.SetSort(Sort2s) }},
		{"remotes_detail", demo, func(s *UIState) { s.View = ViewRemotes; s.Detail = true }},
		{"links", demo, func(s *UIState) { s.View = ViewLinks }},
		{"links_detail", demo, func(s *UIState) { s.View = ViewLinks; s.Detail = true }},
		{"help", demo, func(s *UIState) { s.Help = true }},
		{"filter_typing", demo, func(s *UIState) { s.StartFilter(); s.FilterDraft = "rsync" }},
		{"filtered_paused", demo, func(s *UIState) { s.Filter = "backup"; s.Paused = true }},
		{"filter_nomatch", demo, func(s *UIState) { s.View = ViewConns; s.Filter = "nothing-matches" }},
		{"hostile_flows", hostileModel, func(s *UIState) { s.Detail = true; s.Ports = true }},
		{"hostile_procs", hostileModel, func(s *UIState) { s.View = ViewProcs; s.Detail = true }},
		{"hostile_remotes", hostileModel, func(s *UIState) { s.View = ViewRemotes }},
		{"hostile_links", hostileModel, func(s *UIState) { s.View = ViewLinks; s.Detail = true }},
		{"degraded", degradedModel, func(*UIState) {}},
		{"degraded_procs", degradedModel, func(s *UIState) { s.View = ViewProcs }},
		{"empty", func() *Model { return &Model{} }, func(*UIState) {}},
		{"flows_self", func() *Model {
			m := demo()
			m.Self = &triage.SelfStep{CPU: 0.021, HasCPU: true, RSS: 48_200_000, PeakRSS: 61_000_000}
			return m
		}, func(*UIState) {}},
	}
}

// TestSelfCostWord: the status line's own cost, as top shows %CPU (100 is
// one CPU), the memory in the screen's units.
func TestSelfCostWord(t *testing.T) {
	for _, tc := range []struct {
		c    triage.SelfStep
		iec  bool
		want string
	}{
		{triage.SelfStep{RSS: 48_200_000}, false, "netriage 48.2MB"},
		{triage.SelfStep{CPU: 0.021, HasCPU: true, RSS: 48_200_000}, false, "netriage 2.1% CPU 48.2MB"},
		{triage.SelfStep{CPU: 0, HasCPU: true, RSS: 20 << 20}, true, "netriage 0.0% CPU 20.0MiB"},
		{triage.SelfStep{CPU: 0.0996, HasCPU: true, RSS: 1e9}, false, "netriage 10% CPU 1.00GB"},
		{triage.SelfStep{CPU: 1.734, HasCPU: true, RSS: 741e6}, false, "netriage 173% CPU 741MB"},
	} {
		if got := selfCost(&tc.c, tc.iec); got != tc.want {
			t.Errorf("selfCost(%+v, iec %v) = %q, want %q", tc.c, tc.iec, got, tc.want)
		}
	}
}

func TestScreens(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		for _, tc := range screenCases() {
			name := fmt.Sprintf("screen_%s_%dx%d", tc.name, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				st := NewUIState(ViewFlows)
				tc.setup(st)
				checkScreen(t, name, BuildFrame(tc.model(), st, size[0], size[1]), size[0], size[1])
			})
		}
	}
}

// checkScreen checks a frame's screen against the golden name: exactly h
// lines, none wider than w, no control character in any pane.
func checkScreen(t *testing.T, name string, f *Frame, w, h int) {
	t.Helper()
	lines := f.Screen()
	if len(lines) != h {
		t.Fatalf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n > w {
			t.Errorf("line %d is %d cells wide, more than %d: %q", i, n, w, l)
		}
	}
	checkSafe(t, f)
	golden(t, name, strings.Join(lines, "\n")+"\n")
}

// checkSafe verifies that the styled output of every pane holds no control
// character other than newlines and the styles' own SGR sequences.
func checkSafe(t *testing.T, f *Frame) {
	t.Helper()
	for name := range f.Rects {
		var buf bytes.Buffer
		if err := WriteANSI(&buf, f.Pane(name)); err != nil {
			t.Fatal(err)
		}
		s := buf.String()
		for _, seq := range sgr {
			if seq != "" {
				s = strings.ReplaceAll(s, seq, "")
			}
		}
		s = strings.ReplaceAll(s, "\x1b[0m", "")
		if !utf8.ValidString(s) {
			t.Errorf("pane %s: invalid UTF-8", name)
		}
		for _, r := range s {
			if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e') {
				t.Errorf("pane %s: control character %U reaches the terminal", name, r)
				break
			}
		}
	}
}

func TestTooSmall(t *testing.T) {
	for _, size := range [][2]int{{59, 24}, {80, 11}, {30, 5}, {1, 1}} {
		st := NewUIState(ViewFlows)
		f := BuildFrame(Demo(t0, 1), st, size[0], size[1])
		if _, ok := f.Rects[PaneTooSmall]; !ok || len(f.Rects) != 1 {
			t.Fatalf("%v: rects %v, want only %s", size, f.Rects, PaneTooSmall)
		}
		got := strings.Join(f.Screen(), "\n")
		if size[0] >= 20 && !strings.Contains(got, "too") {
			t.Errorf("%v: no too-small message: %q", size, got)
		}
		st.Apply(ActDown, f) // must not panic
		st.Apply(ActFreeze, f)
	}
	f := BuildFrame(Demo(t0, 1), NewUIState(ViewFlows), 40, 10)
	golden(t, "screen_toosmall_40x10", strings.Join(f.Screen(), "\n")+"\n")
}

func TestWriteANSI(t *testing.T) {
	var b bytes.Buffer
	lines := []Line{{Text: "plain"}, {Text: "all", Style: StyleSelected}, {Text: "ab SAT cd", Style: StyleSaturated, From: 3, To: 6}, {Text: "end", Style: StyleOK, From: 1, To: 3}}
	if err := WriteANSI(&b, lines); err != nil {
		t.Fatal(err)
	}
	want := "plain\n\x1b[7mall\x1b[0m\nab \x1b[37;41mSAT\x1b[0m cd\ne\x1b[30;42mnd\x1b[0m"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestSelectionFollowsRow(t *testing.T) {
	st := NewUIState(ViewRemotes)
	m := Demo(t0, 1)
	f := BuildFrame(m, st, 80, 24)
	st.Apply(ActDown, f)
	st.Apply(ActDown, f)
	key := f.Table().Key(st.Selected())
	// Reverse the model's order: the selected row must keep its identity.
	m2 := *m
	m2.Remotes = append([]RemoteRow(nil), m.Remotes...)
	m2.Remotes[len(m2.Remotes)-1].Sent.W10s = 1e12
	f2 := BuildFrame(&m2, st, 80, 24)
	if got := f2.Table().Key(st.Selected()); got != key {
		t.Errorf("selection moved from %q to %q", key, got)
	}
	if st.Selected() != 3 {
		t.Errorf("selected index %d, want 3 (one row moved above)", st.Selected())
	}
}

func TestFreezeOrder(t *testing.T) {
	st := NewUIState(ViewConns)
	m := Demo(t0, 1)
	f := BuildFrame(m, st, 80, 24)
	var before []string
	for i := 0; i < f.Table().Len(); i++ {
		before = append(before, f.Table().Key(i))
	}
	st.Apply(ActFreeze, f)
	m2 := *m
	m2.Conns = append([]ConnRow(nil), m.Conns...)
	m2.Conns[len(m2.Conns)-1].Sent.W10s = 1e12 // would jump to the top
	m2.Conns = append(m2.Conns, ConnRow{Proto: "udp", Local: netip.MustParseAddr("198.18.0.2"), Remote: netip.MustParseAddr("198.18.9.9"), LocalPort: 1, RemotePort: 2, Sent: BytesPerSec{W10s: 1e13}})
	f2 := BuildFrame(&m2, st, 80, 24)
	for i, k := range before {
		if got := f2.Table().Key(i); got != k {
			t.Fatalf("row %d: %q, want frozen %q", i, got, k)
		}
	}
	if got := f2.Table().Key(len(before)); !strings.Contains(got, "198.18.9.9") {
		t.Errorf("new row not appended: %q", got)
	}
	st.Apply(ActFreeze, f2)
	f3 := BuildFrame(&m2, st, 80, 24)
	if got := f3.Table().Key(0); !strings.Contains(got, "198.18.9.9") {
		t.Errorf("after unfreeze the biggest row is not first: %q", got)
	}
}

// TestOverviewScreens: the overview at the three sizes the end-to-end
// tests use, with the focus moved, a filter, hostile strings, a detail
// opened from a pane and nothing at all.
func TestOverviewScreens(t *testing.T) {
	demo := func() *Model { return Demo(t0, 3) }
	cases := []screenCase{
		{"overview", demo, func(*UIState) {}},
		{"overview_focus_procs", demo, func(s *UIState) { s.View = ViewProcs; s.cur[ViewProcs].index = 1 }},
		{"overview_filter", demo, func(s *UIState) { s.Filter = "backup" }},
		{"overview_detail", demo, func(s *UIState) { s.View = ViewRemotes; s.Detail = true }},
		{"overview_hostile", hostileModel, func(s *UIState) { s.Ports = true }},
		{"overview_empty", func() *Model { return &Model{} }, func(*UIState) {}},
		{"overview_self", func() *Model {
			m := demo()
			m.Self = &triage.SelfStep{CPU: 0.734, HasCPU: true, RSS: 741_000_000, PeakRSS: 775_000_000}
			return m
		}, func(*UIState) {}},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		for _, tc := range cases {
			name := fmt.Sprintf("screen_%s_%dx%d", tc.name, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				st := NewUIState(ViewOverview)
				tc.setup(st)
				checkScreen(t, name, BuildFrame(tc.model(), st, size[0], size[1]), size[0], size[1])
			})
		}
	}
}

// TestDemoVerdictFollowsTheRules: the demo's eth0 always drops in its
// queue, so by the documented rules it is saturated at or above the
// warning threshold and congested below it, never ok.
func TestDemoVerdictFollowsTheRules(t *testing.T) {
	seen := map[VerdictLevel]bool{}
	for tick := 0; tick < 60; tick++ {
		m := Demo(t0, tick)
		util := m.Header[0].TxBytesPerSec * 8 / float64(m.Header[0].CapacityBps)
		want := VerdictCongested
		if util >= 0.80 {
			want = VerdictSaturated
		}
		if m.Verdict.Level != want {
			t.Errorf("tick %d: eth0 tx at %.0f%% with queue drops reads %v, want %v", tick, util*100, m.Verdict.Level, want)
		}
		seen[m.Verdict.Level] = true
	}
	t.Logf("levels over a minute of demo: %v", seen)
}

func TestWrapWords(t *testing.T) {
	for _, tc := range []struct {
		s     string
		width int
		want  []string
	}{
		{"", 10, []string{""}},
		{"2s 1Mb/s  10s 2Mb/s", 10, []string{"2s 1Mb/s", "10s 2Mb/s"}},
		{"2s 1Mb/s  10s", 20, []string{"2s 1Mb/s  10s"}},
		{"abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}},
		{"a bcdefghijkl", 5, []string{"a", "bcdef", "ghijk", "l"}},
	} {
		if got := wrapWords(tc.s, tc.width); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrapWords(%q, %d) = %q, want %q", tc.s, tc.width, got, tc.want)
		}
	}
}
