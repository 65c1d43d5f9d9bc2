package views

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netriage/triage/egress"
)

// egressModel is a small model of the Egress view: a host with a named
// network, names from each source, an address without a name, a folded
// row, bytes no flow row holds (unknown) and the flows of the flow table
// behind some of the rows.
func egressModel(t *testing.T) *Model {
	t.Helper()
	tab, err := egress.NewTable(egress.Rules{
		Host:     []netip.Addr{netip.MustParseAddr("198.18.0.2")},
		OnLink:   []netip.Prefix{netip.MustParsePrefix("198.18.0.0/24")},
		Networks: []egress.Network{{Name: "peer", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}, Class: egress.ClassPeering}},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	curl := "curl[1111]"
	nginx := "nginx[1037] docker:web-7f3a"
	m := &Model{EgressTable: tab, EgressPrices: egress.Prices{Unit: egress.UnitGB, Currency: "USD", Classes: map[egress.Class]egress.ClassPrice{
		egress.ClassInternet: {Sent: egress.Known(0.09), Received: egress.Known(0)},
		egress.ClassPeering:  {Sent: egress.Known(0.01), Received: egress.Known(0.01)},
	}}}
	m.Egress = []egress.Row{
		{Remote: a("203.0.114.5"), Process: curl, Name: "api.example.com", NameSource: "dns", Sent: 4e9, Received: 1e6, SentRate: 1e6, ReceivedRate: 1e3},
		{Remote: a("203.0.114.6"), Process: curl, Name: "api.example.com", NameSource: "sni", Sent: 1e9, Received: 1e6, SentRate: 2e5},
		{Remote: a("203.0.114.6"), Process: nginx, Name: "api.example.com", NameSource: "sni", Sent: 2e9, Received: 3e9, SentRate: 5e5, ReceivedRate: 1e6},
		{Remote: a("203.0.114.9"), Process: nginx, Name: "cdn.example.net", NameSource: "ptr", Sent: 5e8, Received: 1e6},
		{Remote: a("203.0.114.10"), Process: "", Sent: 3e8, Received: 2e8},
		{Remote: a("203.0.114.11"), Process: curl, Folded: true, Sent: 1e8, Received: 1e5},
		{Remote: a("10.20.1.1"), Process: nginx, Name: "db.peer.internal", NameSource: "dns", Sent: 7e9, Received: 9e9},
		{Remote: a("192.168.1.9"), Process: curl, Sent: 1e6, Received: 2e6},
		{Sent: 4096, Received: 1024}, // no flow row holds these bytes
	}
	for _, r := range m.Egress {
		m.Totals.SentBytes += r.Sent
		m.Totals.RecvBytes += r.Received
	}
	local := a("198.18.0.2")
	m.Flows = []FlowRow{
		{Proto: "tcp", Local: local, LocalPort: 40000, Remote: a("203.0.114.5"), RemotePort: 443, PID: 1111, Process: "curl", SentBytes: 3e9, RecvBytes: 1e6, Sent: BytesPerSec{W40s: 9e5}},
		{Proto: "tcp", Local: local, LocalPort: 40001, Remote: a("203.0.114.6"), RemotePort: 443, PID: 1111, Process: "curl", SentBytes: 1e9, RecvBytes: 1e6, Sent: BytesPerSec{W40s: 2e5}},
		// Same remote, another owner: not curl's.
		{Proto: "tcp", Local: local, LocalPort: 443, Remote: a("203.0.114.6"), RemotePort: 50000, PID: 1037, Process: "nginx", Container: "docker:web-7f3a", SentBytes: 2e9, RecvBytes: 3e9},
		// curl's flow to a remote without a row of its own: the folded row's.
		{Proto: "udp", Local: local, LocalPort: 5353, Remote: a("203.0.114.11"), RemotePort: 53, PID: 1111, Process: "curl", SentBytes: 1e8, RecvBytes: 1e5},
		// curl's flow to a remote with a row: not the folded row's.
		{Proto: "tcp", Local: local, LocalPort: 40002, Remote: a("192.168.1.9"), RemotePort: 80, PID: 1111, Process: "curl", SentBytes: 1e6, RecvBytes: 2e6},
	}
	return m
}

// egressLevel is what the Egress view's table holds: each row's label
// (and source) and sent bytes, and the total.
type egressLevel struct {
	Rows      []string
	TotalSent uint64
	TotalRecv uint64
}

func egressTableOf(m *Model, st *UIState) egressLevel {
	t := BuildTable(m, st)
	var out egressLevel
	for i := 0; i < t.Len(); i++ {
		ref := t.rows[i].ref
		l, src := t.labels(ref)
		if src != "" {
			l += " (" + src + ")"
		}
		out.Rows = append(out.Rows, fmt.Sprintf("%s %d", l, t.eg.groups[ref].Sent))
	}
	out.TotalSent, out.TotalRecv = t.eg.total.Sent, t.eg.total.Received
	return out
}

func TestEgressLevels(t *testing.T) {
	m := egressModel(t)
	for _, tc := range []struct {
		name string
		path EgressPath
		sort EgressSortKey
		want egressLevel
	}{
		{"classes by cost", EgressPath{}, EgressByCost, egressLevel{
			Rows: []string{"internet 7900000000", "peering 7000000000", "private 1000000", "unknown 4096"},
			// Every byte of the flows, in exactly one class.
			TotalSent: 14_901_004_096, TotalRecv: 12_205_101_024}},
		{"classes by bytes", EgressPath{}, EgressByBytes, egressLevel{
			Rows:      []string{"peering 7000000000", "internet 7900000000", "private 1000000", "unknown 4096"},
			TotalSent: 14_901_004_096, TotalRecv: 12_205_101_024}},
		{"classes by name", EgressPath{}, EgressByName, egressLevel{
			Rows:      []string{"internet 7900000000", "peering 7000000000", "private 1000000", "unknown 4096"},
			TotalSent: 14_901_004_096, TotalRecv: 12_205_101_024}},
		{"internet's names", EgressPath{Level: EgressNames, Class: egress.ClassInternet}, EgressByCost, egressLevel{
			Rows: []string{"api.example.com (dns+sni) 7000000000", "cdn.example.net (ptr) 500000000",
				"203.0.114.10 (address) 300000000", "(other) (-) 100000000"},
			TotalSent: 7_900_000_000, TotalRecv: 3_203_100_000}},
		{"internet's names by name", EgressPath{Level: EgressNames, Class: egress.ClassInternet}, EgressByName, egressLevel{
			Rows: []string{"(other) (-) 100000000", "203.0.114.10 (address) 300000000",
				"api.example.com (dns+sni) 7000000000", "cdn.example.net (ptr) 500000000"},
			TotalSent: 7_900_000_000, TotalRecv: 3_203_100_000}},
		{"internet's names by rate", EgressPath{Level: EgressNames, Class: egress.ClassInternet}, EgressByRate, egressLevel{
			Rows: []string{"api.example.com (dns+sni) 7000000000", "cdn.example.net (ptr) 500000000",
				"203.0.114.10 (address) 300000000", "(other) (-) 100000000"},
			TotalSent: 7_900_000_000, TotalRecv: 3_203_100_000}},
		{"unknown's bytes", EgressPath{Level: EgressNames, Class: egress.ClassUnknown}, EgressByCost, egressLevel{
			Rows: []string{"(no address) (-) 4096"}, TotalSent: 4096, TotalRecv: 1024}},
		{"a name's processes", EgressPath{Level: EgressProcesses, Class: egress.ClassInternet, Name: "api.example.com"}, EgressByCost, egressLevel{
			Rows:      []string{"curl[1111] 5000000000", "nginx[1037] docker:web-7f3a 2000000000"},
			TotalSent: 7_000_000_000, TotalRecv: 3_002_000_000}},
		{"an address's unattributed traffic", EgressPath{Level: EgressProcesses, Class: egress.ClassInternet, Name: "203.0.114.10"}, EgressByCost, egressLevel{
			Rows: []string{"(unattributed) 300000000"}, TotalSent: 300_000_000, TotalRecv: 200_000_000}},
		{"a process's flows to a name", EgressPath{Level: EgressFlows, Class: egress.ClassInternet, Name: "api.example.com", Process: "curl[1111]"}, EgressByCost, egressLevel{
			Rows:      []string{"tcp 203.0.114.5:443 from 198.18.0.2:40000 3000000000", "tcp 203.0.114.6:443 from 198.18.0.2:40001 1000000000"},
			TotalSent: 4_000_000_000, TotalRecv: 2_000_000}},
		{"the folded row's flows", EgressPath{Level: EgressFlows, Class: egress.ClassInternet, Name: egress.FoldedName, Process: "curl[1111]"}, EgressByCost, egressLevel{
			Rows: []string{"udp 203.0.114.11:53 from 198.18.0.2:5353 100000000"}, TotalSent: 100_000_000, TotalRecv: 100_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := NewUIState(ViewEgress)
			st.Egress, st.EgressSort, st.PortNames = tc.path, tc.sort, false
			got := egressTableOf(m, st)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	// The classes' total is the flows' total, exactly.
	st := NewUIState(ViewEgress)
	if got := egressTableOf(m, st); got.TotalSent != m.Totals.SentBytes || got.TotalRecv != m.Totals.RecvBytes {
		t.Errorf("classes' total %d/%d, flows' %d/%d", got.TotalSent, got.TotalRecv, m.Totals.SentBytes, m.Totals.RecvBytes)
	}
}

// TestEgressLevelSumsAreExact: at every level, the rows add up to the
// level's total, and each row to the total of the level below it.
func TestEgressLevelSumsAreExact(t *testing.T) {
	m := Demo(t0, 5)
	var walk func(st *UIState, depth int)
	walk = func(st *UIState, depth int) {
		tab := BuildTable(m, st)
		var sent, recv uint64
		for i := range tab.eg.groups {
			sent += tab.eg.groups[i].Sent
			recv += tab.eg.groups[i].Received
		}
		if st.Egress.Level < EgressFlows && (sent != tab.eg.total.Sent || recv != tab.eg.total.Received) {
			t.Errorf("%+v: rows sum to %d/%d, total %d/%d", st.Egress, sent, recv, tab.eg.total.Sent, tab.eg.total.Received)
		}
		if st.Egress.Level == EgressFlows {
			return
		}
		for i := 0; i < tab.Len(); i++ {
			g := tab.eg.groups[tab.rows[i].ref]
			sub := *st
			k, _ := tab.egressKeyAt(i)
			sub.EgressDown(k)
			below := BuildTable(m, &sub)
			want := below.eg.total
			if sub.Egress.Level == EgressFlows {
				want = below.eg.run
			}
			if want.Sent != g.Sent || want.Received != g.Received {
				t.Errorf("%+v: row %q has %d/%d, its level below %d/%d", st.Egress, tab.Key(i), g.Sent, g.Received, want.Sent, want.Received)
			}
			walk(&sub, depth+1)
		}
	}
	st := NewUIState(ViewEgress)
	if tab := BuildTable(m, st); tab.eg.total.Sent != m.Totals.SentBytes || tab.eg.total.Received != m.Totals.RecvBytes {
		t.Errorf("demo: classes' total %d/%d, flows' %d/%d", tab.eg.total.Sent, tab.eg.total.Received, m.Totals.SentBytes, m.Totals.RecvBytes)
	}
	walk(st, 0)
}

// TestEgressDrillDown: Enter goes down from a class to its names, a
// name's processes and a process's flows, stops there; Esc and Backspace
// go up to the row that was opened; the sort keys set the view's own
// order; the title shows the path.
func TestEgressDrillDown(t *testing.T) {
	m := egressModel(t)
	st := NewUIState(ViewFlows)
	frame := func() *Frame { return BuildFrame(m, st, 120, 40) }
	key := func(k Key) { st.HandleKey(k, frame()) }
	title := func() string { return frame().Title(PaneMain) }

	st.Detail = true
	key(R('E'))
	if st.View != ViewEgress || st.Detail {
		t.Fatalf("E: view %v detail %v, want Egress without the detail", st.View, st.Detail)
	}
	key(R('4')) // bytes: peering first, the selection follows internet
	if got := title(); got != " Egress: by class, row 2 of 4 " {
		t.Errorf("title %q", got)
	}
	key(R('c')) // cost: internet first; the selection follows the row
	if st.EgressSort != EgressByCost || st.Sort != Sort10s {
		t.Errorf("c: egress sort %v, sort %v", st.EgressSort, st.Sort)
	}
	if got := frame().Table().Key(st.Selected()); got != "c|internet" {
		t.Errorf("selected %q after c, want the internet row still", got)
	}
	steps := []struct {
		key   Key
		path  EgressPath
		title string
		sel   string
	}{
		{S(KeyEnter), EgressPath{Level: EgressNames, Class: "internet"}, " Egress > internet: names, row 1 of 4 ", "n|api.example.com"},
		{S(KeyEnter), EgressPath{Level: EgressProcesses, Class: "internet", Name: "api.example.com"}, " Egress > internet > api.example.com: processes, row 1 of 2 ", "p|curl[1111]"},
		{S(KeyDown), EgressPath{Level: EgressProcesses, Class: "internet", Name: "api.example.com"}, " Egress > internet > api.example.com: processes, row 2 of 2 ", "p|nginx[1037] docker:web-7f3a"},
		{S(KeyEnter), EgressPath{Level: EgressFlows, Class: "internet", Name: "api.example.com", Process: "nginx[1037] docker:web-7f3a"},
			" Egress > internet > api.example.com > nginx[1037] docker:web-7f3a: flows, row 1 of 1 ", "f|tcp|198.18.0.2:443|203.0.114.6:50000"},
		// The last level: Enter stays and says so.
		{S(KeyEnter), EgressPath{Level: EgressFlows, Class: "internet", Name: "api.example.com", Process: "nginx[1037] docker:web-7f3a"},
			" Egress > internet > api.example.com > nginx[1037] docker:web-7f3a: flows, row 1 of 1 ", "f|tcp|198.18.0.2:443|203.0.114.6:50000"},
		// Up: the process that was opened is selected again.
		{S(KeyEsc), EgressPath{Level: EgressProcesses, Class: "internet", Name: "api.example.com"}, " Egress > internet > api.example.com: processes, row 2 of 2 ", "p|nginx[1037] docker:web-7f3a"},
		{S(KeyBackspace), EgressPath{Level: EgressNames, Class: "internet"}, " Egress > internet: names, row 1 of 4 ", "n|api.example.com"},
		{S(KeyEsc), EgressPath{}, " Egress: by class, row 1 of 4 ", "c|internet"},
		// At the top Esc and Backspace do nothing more.
		{S(KeyBackspace), EgressPath{}, " Egress: by class, row 1 of 4 ", "c|internet"},
	}
	for i, s := range steps {
		key(s.key)
		f := frame()
		if st.Egress != s.path || f.Title(PaneMain) != s.title || f.Table().Key(st.Selected()) != s.sel {
			t.Errorf("step %d (%s): path %+v title %q selected %q, want %+v %q %q", i, s.key, st.Egress, f.Title(PaneMain), f.Table().Key(st.Selected()), s.path, s.title, s.sel)
		}
		if i == 4 && !strings.Contains(st.Hint, "last level") {
			t.Errorf("Enter on a flow: hint %q", st.Hint)
		}
	}

	// Help first, then the level, then the filter.
	key(S(KeyEnter))
	st.Filter = "api"
	key(R('h'))
	key(S(KeyEsc))
	if st.Help || st.Egress.Level != EgressNames || st.Filter != "api" {
		t.Errorf("Esc with help open: help %v level %v filter %q", st.Help, st.Egress.Level, st.Filter)
	}
	key(S(KeyEsc))
	key(S(KeyEsc))
	if st.Egress.Level != EgressClasses || st.Filter != "" {
		t.Errorf("Esc Esc: level %v filter %q, want the top and no filter", st.Egress.Level, st.Filter)
	}

	// Other views keep their own order; c is the Egress view's; the path
	// stays while away.
	key(S(KeyEnter))
	key(R('F'))
	key(R('c'))
	if st.Sort != Sort10s || !strings.Contains(st.Hint, "Egress") {
		t.Errorf("c in Flows: sort %v hint %q", st.Sort, st.Hint)
	}
	key(R('4'))
	key(R('E'))
	if st.Sort != SortCumulative || st.EgressSort != EgressByCost || st.Egress.Level != EgressNames {
		t.Errorf("back in Egress: sort %v egress sort %v level %v", st.Sort, st.EgressSort, st.Egress.Level)
	}
	// Backspace elsewhere does nothing.
	key(R('F'))
	key(S(KeyBackspace))
	if st.View != ViewFlows || st.Egress.Level != EgressNames {
		t.Errorf("Backspace in Flows: view %v level %v", st.View, st.Egress.Level)
	}
	// With no rows Enter does nothing.
	st2 := NewUIState(ViewEgress)
	st2.HandleKey(S(KeyEnter), BuildFrame(&Model{}, st2, 80, 24))
	if st2.Egress.Level != EgressClasses {
		t.Errorf("Enter on no rows went to %v", st2.Egress.Level)
	}
}

func TestParseViewEgress(t *testing.T) {
	if v, ok := ParseView("egress"); !ok || v != ViewEgress || v.Name() != "Egress" {
		t.Errorf("ParseView(egress) = %v, %v", v, ok)
	}
}

// hostileEgressModel is the demo with the egress rows' names and
// processes replaced by text that would break a terminal, the names
// grouped under hostile network names and currency.
func hostileEgressModel() *Model {
	m := hostileModel()
	evil := []string{
		"evil\x1b[2J\x1b[Hcleared.example",
		"title\x1b]0;pwned\x07set",
		"bidi\u202eexe.txt",
		"bad\xff\xfeutf8",
		"new\nline\rcarriage\ttab",
		"wide日本語名前.example",
		strings.Repeat("verylong", 500),
		"c1\u009b31mred",
	}
	for i := range m.Egress {
		r := &m.Egress[i]
		if r.Remote.IsValid() {
			r.Name, r.NameSource = evil[i%len(evil)], "dns"
			r.Process = FlowProcess(&m.Flows[i]) // the hostile programs
		}
	}
	m.EgressPrices.Currency = "U\x1b[31mSD"
	return m
}

func TestEgressScreens(t *testing.T) {
	demo := func() *Model { return Demo(t0, 3) }
	// down opens the rows of the selected one at each level: the first
	// class with names, its first name, its first process.
	down := func(levels int, sel ...int) func(*UIState, *Model) {
		return func(s *UIState, m *Model) {
			for l := 0; l < levels; l++ {
				if l < len(sel) {
					s.cur[ViewEgress].index = sel[l]
				}
				f := BuildFrame(m, s, 120, 40)
				k, _ := f.Table().egressKeyAt(s.Selected())
				s.EgressDown(k)
			}
		}
	}
	cases := []struct {
		name  string
		model func() *Model
		setup func(*UIState, *Model)
	}{
		{"egress", demo, func(*UIState, *Model) {}},
		{"egress_bytes", demo, func(s *UIState, _ *Model) { s.EgressSort = EgressByBytes; s.Bytes = true }},
		{"egress_names", demo, down(1, 1)},
		{"egress_processes", demo, down(2, 1)},
		{"egress_flows", demo, down(3, 1)},
		{"egress_hostile", hostileEgressModel, func(*UIState, *Model) {}},
		{"egress_hostile_names", hostileEgressModel, down(1, 1)},
		{"egress_hostile_flows", hostileEgressModel, down(3, 1, 1)},
		{"egress_filter_nomatch", demo, func(s *UIState, _ *Model) { s.Filter = "nothing-matches" }},
		{"egress_empty", func() *Model { return &Model{} }, func(*UIState, *Model) {}},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, tc := range cases {
			name := fmt.Sprintf("screen_%s_%dx%d", tc.name, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				m := tc.model()
				st := NewUIState(ViewEgress)
				tc.setup(st, m)
				f := BuildFrame(m, st, size[0], size[1])
				for _, r := range f.Title(PaneMain) {
					if r < 0x20 || r > 0x7e {
						t.Errorf("title %q has %U: gocui places title runes by byte", f.Title(PaneMain), r)
					}
				}
				checkScreen(t, name, f, size[0], size[1])
			})
		}
	}
}
