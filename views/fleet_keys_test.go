package views

import (
	"strings"
	"testing"
	"time"

	"netriage/triage/fleet"
)

// TestFleetKeys: each key of the fleet screen, from a given state, on the
// 500-link report at 80×24 (7 links a page): the action the host gets and
// the state after it.
func TestFleetKeys(t *testing.T) {
	type want struct {
		act                 Action
		sel, off            int
		detail, help, bytes bool
		detailOff, helpOff  int
		hint                string
	}
	tests := []struct {
		name  string
		setup func(*FleetState)
		keys  []Key
		want  want
	}{
		{"q quits", nil, []Key{R('q')}, want{act: ActQuit}},
		{"Ctrl-C quits", nil, []Key{S(KeyCtrlC)}, want{act: ActQuit}},
		{"Ctrl-C quits from the help", func(s *FleetState) { s.Help = true }, []Key{S(KeyCtrlC)}, want{act: ActQuit, help: true}},
		{"r refreshes", nil, []Key{R('r')}, want{act: ActRefresh}},
		{"r refreshes from the detail", func(s *FleetState) { s.Detail = true }, []Key{R('r')}, want{act: ActRefresh, detail: true}},
		{"j moves down", nil, []Key{R('j'), R('j')}, want{sel: 2}},
		{"Down moves down", nil, []Key{S(KeyDown)}, want{sel: 1}},
		{"k at the top stays", nil, []Key{R('k'), S(KeyUp)}, want{}},
		{"k moves up", func(s *FleetState) { s.cur = cursor{index: 3} }, []Key{R('k')}, want{sel: 2}},
		{"a page down scrolls", nil, []Key{S(KeyPgDn)}, want{sel: 7, off: 1}},
		{"Space is a page down", nil, []Key{S(KeySpace)}, want{sel: 7, off: 1}},
		{"PgUp back", nil, []Key{S(KeyPgDn), S(KeyPgDn), S(KeyPgUp)}, want{sel: 7, off: 7}},
		{"End is the last link", nil, []Key{S(KeyEnd)}, want{sel: 499, off: 493}},
		{"G is the last link", nil, []Key{R('G')}, want{sel: 499, off: 493}},
		{"Home is the first", func(s *FleetState) { s.cur = cursor{index: 40, offset: 34} }, []Key{S(KeyHome)}, want{}},
		{"g is the first", func(s *FleetState) { s.cur = cursor{index: 40, offset: 34} }, []Key{R('g')}, want{}},
		{"Enter opens the detail", nil, []Key{S(KeyEnter)}, want{detail: true}},
		{"Enter again closes it", nil, []Key{S(KeyEnter), S(KeyEnter)}, want{}},
		{"Esc closes the detail", nil, []Key{S(KeyEnter), S(KeyEsc)}, want{}},
		{"j scrolls the detail, not the list", nil, []Key{S(KeyEnter), R('j'), R('j')}, want{detail: true, detailOff: 2}},
		{"End scrolls the detail to its end", nil, []Key{S(KeyEnter), S(KeyEnd)}, want{detail: true, detailOff: 1 << 20}},
		{"reopened detail starts at the top", nil, []Key{S(KeyEnter), R('j'), S(KeyEsc), R('j'), S(KeyEnter)}, want{sel: 1, detail: true}},
		{"? opens the help", nil, []Key{R('?')}, want{help: true}},
		{"h opens the help", nil, []Key{R('h')}, want{help: true}},
		{"? closes it", nil, []Key{R('?'), R('?')}, want{}},
		{"Esc closes the help first", nil, []Key{S(KeyEnter), R('?'), S(KeyEsc)}, want{detail: true}},
		{"j scrolls the help", nil, []Key{R('?'), R('j'), S(KeyPgDn)}, want{help: true, helpOff: 1 + 17}},
		{"k in the help stops at 0", nil, []Key{R('?'), R('k')}, want{help: true}},
		{"B toggles bytes", nil, []Key{R('B')}, want{bytes: true}},
		{"an unbound key says so", nil, []Key{R('x')}, want{hint: "key x does nothing here: ? shows the keys"}},
		{"a bound key clears the hint", nil, []Key{R('x'), R('j')}, want{sel: 1}},
		{"an unbound special key is quiet", nil, []Key{S(KeyTab)}, want{}},
	}
	m := fleetAnswered(fleetLarge(500))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewFleetState(false)
			if tc.setup != nil {
				tc.setup(st)
			}
			var act Action
			for _, k := range tc.keys {
				f := BuildFleetFrame(m, st, 80, 24, fleetT0)
				act = st.HandleKey(k, f)
			}
			got := want{act: act, sel: st.Selected(), off: st.Offset(), detail: st.Detail, help: st.Help, bytes: st.Bytes,
				detailOff: st.DetailOffset, helpOff: st.HelpOffset, hint: st.Hint}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestFleetKeysWithoutLinks: before the first answer and on a healthy
// fleet the keys do nothing harmful: Enter says why there is no detail,
// the moving keys keep the selection at 0, a nil frame is safe.
func TestFleetKeysWithoutLinks(t *testing.T) {
	for _, m := range []*FleetModel{nil, NewFleetModel(fleetServer, time.Minute), fleetAnswered(fleet.Report{Window: time.Hour, Hosts: []string{"a"}})} {
		st := NewFleetState(false)
		for _, k := range []Key{R('j'), S(KeyEnd), S(KeyPgDn), R('k'), S(KeyEnter)} {
			st.HandleKey(k, BuildFleetFrame(m, st, 80, 24, fleetT0))
		}
		if st.Detail || st.Selected() != 0 || !strings.Contains(st.Hint, "no link to open") {
			t.Errorf("%+v", st)
		}
		st.HandleKey(R('j'), nil)
		st.HandleKey(S(KeyEnter), nil)
		if st.HandleKey(R('q'), nil) != ActQuit {
			t.Error("q without a frame does not quit")
		}
	}
}

// TestFleetSelectionFollowsLink: a new answer that reorders the links
// keeps the selected link selected; one without it keeps the index,
// clamped; an answer with none closes the detail.
func TestFleetSelectionFollowsLink(t *testing.T) {
	rep := fleetReport()
	st := NewFleetState(false)
	f := BuildFleetFrame(fleetAnswered(rep), st, 120, 40, fleetT0)
	st.HandleKey(R('j'), f)
	st.HandleKey(S(KeyEnter), f)
	want := rep.Problems[1].Interface
	rep2 := fleetReport()
	rep2.Problems = append([]fleet.Link{rep2.Problems[3], rep2.Problems[2]}, rep2.Problems[:2]...)
	BuildFleetFrame(fleetAnswered(rep2), st, 120, 40, fleetT0)
	if st.Selected() != 3 || !st.Detail {
		t.Fatalf("selected %d (detail %v), want the link now at 3", st.Selected(), st.Detail)
	}
	f = BuildFleetFrame(fleetAnswered(rep2), st, 120, 40, fleetT0)
	if !strings.Contains(f.Title(PaneDetail), AdaptFleet(fleet.Report{Problems: []fleet.Link{{Interface: want}}}).Problems[0].Interface) {
		t.Errorf("detail of another link: %q", f.Title(PaneDetail))
	}
	rep3 := fleetReport()
	rep3.Problems = rep3.Problems[:1]
	BuildFleetFrame(fleetAnswered(rep3), st, 120, 40, fleetT0)
	if st.Selected() != 0 {
		t.Errorf("selected %d, want the index clamped to 0", st.Selected())
	}
	BuildFleetFrame(fleetAnswered(fleet.Report{}), st, 120, 40, fleetT0)
	if st.Detail {
		t.Error("the detail stays open without links")
	}
}

// TestFleetStateColour: the NOW word of a row that is not selected is
// coloured by its state, exactly over the word; the selected row is
// reversed as a whole.
func TestFleetStateColour(t *testing.T) {
	st := NewFleetState(false)
	f := BuildFleetFrame(fleetAnswered(fleetReport()), st, 120, 40, fleetT0)
	lines := f.Pane(PaneFleetLinks)
	if lines[1].Style != StyleSelected || lines[1].To != 0 {
		t.Errorf("selected row %+v", lines[1])
	}
	l := lines[2]
	if l.Style != StyleCongested || string([]rune(l.Text)[l.From:l.To]) != "congested" {
		t.Errorf("congested row %+v", l)
	}
	if l := lines[4]; l.Style != StyleNormal {
		t.Errorf("a link without a verdict now is coloured: %+v", l)
	}
}

// TestFleetLayout: the talkers go beside the list from 160 columns, below
// it otherwise, sized to the talkers up to half the area; the detail
// takes the whole area; the help is on top; a small terminal gets only
// the message.
func TestFleetLayout(t *testing.T) {
	st := FleetState{}
	r := FleetLayout(200, 50, st, 3, 9)
	if r[PaneFleetTalkers].X <= r[PaneFleetLinks].X || r[PaneFleetTalkers].H != r[PaneFleetLinks].H {
		t.Errorf("200x50: talkers not beside the list: %v", r)
	}
	r = FleetLayout(120, 40, st, 3, 4)
	if r[PaneFleetTalkers].Y <= r[PaneFleetLinks].Y || r[PaneFleetTalkers].H != 4 {
		t.Errorf("120x40: talkers not below the list, 4 lines: %v", r)
	}
	if r := FleetLayout(120, 40, st, 3, 100); r[PaneFleetTalkers].H > (40-1-3)/2 {
		t.Errorf("talkers over half the area: %v", r)
	}
	if r := FleetLayout(80, 24, st, 2, 0); len(r) != 3 || r[PaneFleetLinks].H != 24-1-2-2 {
		t.Errorf("no talkers: %v", r)
	}
	st.Detail, st.Help = true, true
	r = FleetLayout(80, 24, st, 9, 5)
	if _, ok := r[PaneFleetLinks]; ok || r[PaneDetail].H != 24-1-5-2 || r[PaneHelp].W == 0 || r[PaneHeader].H != 5 {
		t.Errorf("detail and help: %v", r)
	}
	for _, size := range [][2]int{{59, 24}, {80, 11}, {1, 1}} {
		if r := FleetLayout(size[0], size[1], st, 3, 3); len(r) != 1 || r[PaneTooSmall].W == 0 {
			t.Errorf("%v: %v", size, r)
		}
		f := BuildFleetFrame(fleetAnswered(fleetReport()), NewFleetState(false), size[0], size[1], fleetT0)
		if got := strings.Join(f.Screen(), "\n"); size[0] >= 20 && !strings.Contains(got, "too small") {
			t.Errorf("%v: %q", size, got)
		}
		st := NewFleetState(false)
		st.HandleKey(R('j'), f) // must not panic
		st.HandleKey(S(KeyEnter), f)
	}
}

// TestFleetBindings: every key is bound once, every binding has its help,
// and the help screen shows every key at 80×24 without scrolling.
func TestFleetBindings(t *testing.T) {
	seen := map[Key]bool{}
	for _, b := range FleetBindings {
		if b.Help == "" || b.Section == "" || len(b.Keys) == 0 {
			t.Errorf("incomplete binding %+v", b)
		}
		for _, k := range b.Keys {
			if seen[k] {
				t.Errorf("key %s bound twice", k)
			}
			seen[k] = true
			if a, ok := fleetBindingOf(k); !ok || a != b.Action {
				t.Errorf("key %s: action %v, want %v", k, a, b.Action)
			}
		}
	}
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		st := NewFleetState(false)
		st.Help = true
		f := BuildFleetFrame(fleetAnswered(fleetReport()), st, size[0], size[1], fleetT0)
		help := f.Pane(PaneHelp)
		var text strings.Builder
		for _, l := range help {
			text.WriteString(l.Text + "\n")
		}
		if strings.Contains(text.String(), "scroll") {
			t.Errorf("%v: the help scrolls:\n%s", size, text.String())
		}
		for _, b := range FleetBindings {
			for _, k := range b.Keys {
				if !strings.Contains(text.String(), " "+k.String()) {
					t.Errorf("%v: help lacks key %s", size, k)
				}
			}
		}
	}
}
