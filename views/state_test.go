package views

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func keyOf(i int) string { return "row" + strconv.Itoa(i) }

func TestMoveAndScroll(t *testing.T) {
	tests := []struct {
		name               string
		start, delta       int
		n, height          int
		wantIndex, wantOff int
	}{
		{"down", 0, 1, 10, 5, 1, 0},
		{"down past page scrolls", 4, 1, 10, 5, 5, 1},
		{"clamped at end", 8, 5, 10, 5, 9, 5},
		{"clamped at start", 2, -5, 10, 5, 0, 0},
		{"page down", 0, 5, 20, 5, 5, 1},
		{"empty", 3, 1, 0, 5, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewUIState(ViewFlows)
			s.cur[ViewFlows] = cursor{index: tc.start, offset: max(0, tc.start-tc.height+1)}
			s.Move(tc.delta, tc.n, tc.height, keyOf)
			if s.Selected() != tc.wantIndex || s.Offset() != tc.wantOff {
				t.Errorf("index %d offset %d, want %d %d", s.Selected(), s.Offset(), tc.wantIndex, tc.wantOff)
			}
		})
	}
}

func TestSyncKeepsIdentity(t *testing.T) {
	s := NewUIState(ViewProcs)
	s.Move(3, 10, 5, keyOf) // selects row3
	// row3 is now at index 7.
	find := func(k string) int {
		if k == "row3" {
			return 7
		}
		return -1
	}
	s.Sync(10, 5, find, func(i int) string {
		if i == 7 {
			return "row3"
		}
		return keyOf(i + 100)
	})
	if s.Selected() != 7 || s.Offset() != 3 {
		t.Errorf("index %d offset %d, want 7 3", s.Selected(), s.Offset())
	}
	// The row vanished: the index is kept, clamped.
	s.Sync(4, 5, func(string) int { return -1 }, keyOf)
	if s.Selected() != 3 {
		t.Errorf("index %d, want 3", s.Selected())
	}
}

func TestViewsKeepTheirCursor(t *testing.T) {
	s := NewUIState(ViewFlows)
	s.Move(2, 10, 5, keyOf)
	s.NextView(1)
	if s.View != ViewProcs || s.Selected() != 0 {
		t.Fatalf("view %v selected %d", s.View, s.Selected())
	}
	s.NextView(-1)
	if s.Selected() != 2 {
		t.Errorf("flows cursor lost: %d", s.Selected())
	}
	for i := 0; i < int(numViews); i++ {
		s.NextView(1)
	}
	if s.View != ViewFlows {
		t.Errorf("Tab does not cycle: %v", s.View)
	}
}

func TestFilterEditing(t *testing.T) {
	s := NewUIState(ViewFlows)
	s.Move(4, 10, 5, keyOf)
	s.StartFilter()
	for _, r := range "ngix" {
		s.FilterInput(R(r))
	}
	s.FilterInput(S(KeyBackspace))
	s.FilterInput(S(KeyBackspace))
	s.FilterInput(R('n'))
	s.FilterInput(R('x'))
	s.FilterInput(R('\x1b')) // control characters are ignored
	if s.FilterDraft != "ngnx" {
		t.Fatalf("draft %q", s.FilterDraft)
	}
	if s.FilterInput(S(KeyEnter)) {
		t.Error("editing continues after Enter")
	}
	if s.Filter != "ngnx" || s.Selected() != 0 {
		t.Errorf("filter %q selected %d", s.Filter, s.Selected())
	}
	s.StartFilter()
	s.FilterInput(S(KeyCtrlU))
	s.FilterInput(R('z'))
	s.FilterInput(S(KeyEsc))
	if s.Filter != "ngnx" || s.FilterEditing {
		t.Errorf("Esc changed the filter: %q editing %v", s.Filter, s.FilterEditing)
	}
}

func TestEscapeOrder(t *testing.T) {
	s := NewUIState(ViewFlows)
	s.Help, s.Detail, s.Filter = true, true, "x"
	s.Escape()
	if s.Help || !s.Detail {
		t.Fatal("first Esc must close help only")
	}
	s.Escape()
	if s.Detail || s.Filter == "" {
		t.Fatal("second Esc must close detail only")
	}
	s.Escape()
	if s.Filter != "" {
		t.Fatal("third Esc must clear the filter")
	}
}

func TestApplyToggles(t *testing.T) {
	s := NewUIState(ViewFlows)
	toggles := []struct {
		a   Action
		get func() bool
	}{
		{ActDNS, func() bool { return s.DNS }},
		{ActPortNames, func() bool { return s.PortNames }},
		{ActPorts, func() bool { return s.Ports }},
		{ActSource, func() bool { return s.HideLocal }},
		{ActDest, func() bool { return s.HideRemote }},
		{ActBytes, func() bool { return s.Bytes }},
		{ActIEC, func() bool { return s.IEC }},
		{ActPause, func() bool { return s.Paused }},
		{ActHelp, func() bool { return s.Help }},
		{ActDetail, func() bool { return s.Detail }},
	}
	for _, tg := range toggles {
		before := tg.get()
		s.Apply(tg.a, nil)
		if tg.get() == before {
			t.Errorf("action %d did not toggle", tg.a)
		}
		s.Apply(tg.a, nil)
		if tg.get() != before {
			t.Errorf("action %d did not toggle back", tg.a)
		}
	}
	s.Apply(ActSort2s, nil)
	if s.Sort != Sort2s || s.BarWindow != Win2s {
		t.Errorf("sort 1: %v %v", s.Sort, s.BarWindow)
	}
	s.Apply(ActBarWindow, nil)
	if s.BarWindow != Win10s {
		t.Errorf("bar cycles to %v", s.BarWindow)
	}
	for i := 0; i < 4; i++ {
		s.Apply(ActLineMode, nil)
	}
	if s.Line != LineTwo {
		t.Errorf("line mode does not cycle back: %v", s.Line)
	}
	if !s.Apply(ActQuit, nil) {
		t.Error("quit does not quit")
	}
}

// TestKeysAfterSlashGoToTheFilter: every key after '/' edits the filter,
// however fast it comes (the host hands them over before any redraw):
// "/psql" must not quit, "/nginx" must not toggle names or units.
func TestKeysAfterSlashGoToTheFilter(t *testing.T) {
	tests := []struct {
		name      string
		keys      []Key
		wantDraft string
		wantQuit  bool
		editing   bool
		filter    string
	}{
		{"psql", keysOf("/psql"), "psql", false, true, ""},
		{"nginx", keysOf("/nginx"), "nginx", false, true, ""},
		{"every bound key", keysOf("/qhPFACRIjkgG1234<>onNpsdtBbi/"), "qhPFACRIjkgG1234<>onNpsdtBbi/", false, true, ""},
		{"enter applies", append(keysOf("/psql"), S(KeyEnter)), "psql", false, false, "psql"},
		{"esc cancels", append(keysOf("/psql"), S(KeyEsc)), "psql", false, false, ""},
		{"space, tab and arrows while typing", append(keysOf("/a"), S(KeySpace), S(KeyTab), S(KeyUp), S(KeyPgDn), R('b')), "a b", false, true, ""},
		{"ctrl-c quits from the filter", append(keysOf("/ps"), S(KeyCtrlC)), "ps", true, true, ""},
		{"q quits outside the filter", keysOf("q"), "", true, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewUIState(ViewFlows)
			before := *s
			quit := false
			for _, k := range tc.keys {
				if s.HandleKey(k, nil) {
					quit = true
					break
				}
			}
			if quit != tc.wantQuit {
				t.Errorf("quit %v, want %v", quit, tc.wantQuit)
			}
			if s.FilterDraft != tc.wantDraft || s.FilterEditing != tc.editing || s.Filter != tc.filter {
				t.Errorf("draft %q editing %v filter %q, want %q %v %q", s.FilterDraft, s.FilterEditing, s.Filter, tc.wantDraft, tc.editing, tc.filter)
			}
			if tc.wantDraft != "" {
				after := *s
				after.FilterDraft, after.FilterEditing, after.Filter = before.FilterDraft, before.FilterEditing, before.Filter
				after.cur = before.cur
				if !reflect.DeepEqual(after, before) {
					t.Errorf("typing the filter changed other state:\nbefore %+v\nafter  %+v", before, after)
				}
			}
		})
	}
}

// TestHandleKeyRunsBindings: outside the filter, HandleKey runs the
// table's action for the key, and ignores keys the table does not bind.
func TestHandleKeyRunsBindings(t *testing.T) {
	s := NewUIState(ViewFlows)
	for _, k := range []Key{R('n'), R('B'), R('A'), R('z'), S(KeyF5)} {
		if s.HandleKey(k, nil) {
			t.Fatalf("%s quit", k)
		}
	}
	if s.DNS || !s.Bytes || s.View != ViewLinks || s.FilterEditing {
		t.Errorf("state after n B A z F5: DNS %v Bytes %v view %v editing %v", s.DNS, s.Bytes, s.View, s.FilterEditing)
	}
}

func keysOf(s string) []Key {
	var out []Key
	for _, r := range s {
		out = append(out, R(r))
	}
	return out
}

// TestOverviewKeys: in the overview Tab moves the focus through the panes
// on screen, a view's key focuses its pane or zooms to a view not shown,
// z zooms and comes back, Enter opens the focused row's detail in the
// zoomed layout and Esc returns to the overview.
func TestOverviewKeys(t *testing.T) {
	m := Demo(t0, 3)
	st := NewUIState(ViewOverview)
	frame := func(w, h int) *Frame { return BuildFrame(m, st, w, h) }
	press := func(k Key, w, h int) { st.HandleKey(k, frame(w, h)) }

	f := frame(80, 24)
	if got := f.OverviewShown(); len(got) != 2 || got[0] != ViewFlows || got[1] != ViewProcs {
		t.Fatalf("80x24 shows %v, want Flows and Processes", got)
	}
	if got := frame(200, 50).OverviewShown(); len(got) != 4 {
		t.Fatalf("200x50 shows %v, want the four panes", got)
	}
	press(S(KeyTab), 80, 24)
	if !st.Overview || st.View != ViewProcs {
		t.Fatalf("after Tab: overview %v view %v, want the overview with Processes focused", st.Overview, st.View)
	}
	press(S(KeyDown), 80, 24)
	if st.cur[ViewProcs].index != 1 || st.cur[ViewFlows].index != 0 {
		t.Errorf("Down moved procs to %d, flows to %d: want only the focused pane's selection to move", st.cur[ViewProcs].index, st.cur[ViewFlows].index)
	}
	press(S(KeyTab), 80, 24)
	if st.View != ViewFlows {
		t.Errorf("second Tab focuses %v, want Flows again", st.View)
	}
	press(R('C'), 80, 24) // Connections is not on an 80x24 overview: zoom to it
	if st.Overview || st.View != ViewConns {
		t.Errorf("C at 80x24: overview %v view %v, want Connections zoomed", st.Overview, st.View)
	}
	press(R('z'), 80, 24)
	if !st.Overview {
		t.Fatal("z does not return to the overview")
	}
	if f := frame(80, 24); st.View != ViewFlows || f.focus == nil {
		t.Errorf("back in the overview the focus is %v, want Flows (Connections is not shown)", st.View)
	}
	press(R('A'), 200, 50)
	if !st.Overview || st.View != ViewProcs {
		t.Errorf("A in the overview: overview %v view %v, want Processes focused", st.Overview, st.View)
	}
	press(S(KeyEnter), 200, 50)
	f = frame(200, 50)
	if _, ok := f.Rects[PaneDetail]; !ok || f.Rects[PaneMain].W == 0 {
		t.Fatalf("Enter in the overview: panes %v, want the main pane and the detail", f.Rects)
	}
	if !strings.Contains(strings.Join(f.Screen(), "\n"), "nginx") {
		t.Errorf("the detail does not show the selected process (nginx)")
	}
	press(S(KeyEsc), 200, 50)
	if f := frame(200, 50); f.panes == nil || st.View != ViewProcs {
		t.Errorf("Esc after the detail: overview panes %v, focus %v, want the overview with Processes focused", f.panes != nil, st.View)
	}
}

// TestKeyHints: an iftop or nethogs key this UI spells another way gets a
// one-line hint on the status line; the next bound key clears it.
func TestKeyHints(t *testing.T) {
	st := NewUIState(ViewFlows)
	f := BuildFrame(Demo(t0, 3), st, 120, 40)
	for _, tc := range []struct {
		key  Key
		want string
	}{
		{R('l'), "iftop's l (screen filter) is / here"},
		{R('S'), "p shows ports"},
		{R('T'), "4 sorts by it"},
		{R('L'), "bars are linear"},
		{R('f'), "-f 'FILTER'"},
		{R('!'), "not offered"},
		{R('x'), "key x does nothing here: h shows the keys"},
	} {
		st.HandleKey(tc.key, f)
		status := BuildFrame(Demo(t0, 3), st, 120, 40).Pane(PaneStatus)[0].Text
		if !strings.Contains(status, tc.want) {
			t.Errorf("after %s the status line is %q, want %q", tc.key, status, tc.want)
		}
	}
	st.HandleKey(R('t'), f)
	if st.Hint != "" {
		t.Errorf("a bound key left the hint %q", st.Hint)
	}
}
