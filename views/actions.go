package views

import "slices"

// Apply performs action a on the state, given the frame on screen when the
// key was pressed (for row counts, identities and page size). It reports
// whether the program should quit. ActPause only flips Paused: the host
// decides which model to show.
func (s *UIState) Apply(a Action, f *Frame) (quit bool) {
	n, page := 0, 1
	key := func(int) string { return "" }
	if f != nil && f.t != nil {
		n, page, key = f.t.Len(), f.VisibleRows(), f.t.Key
	}
	if s.Help && s.scrollHelp(a, f) {
		return false
	}
	switch a {
	case ActQuit:
		return true
	case ActHelp:
		s.Help, s.HelpOffset = !s.Help, 0
	case ActViewFlows:
		s.show(ViewFlows, f)
	case ActViewProcs:
		s.show(ViewProcs, f)
	case ActViewConns:
		s.show(ViewConns, f)
	case ActViewRemotes:
		s.show(ViewRemotes, f)
	case ActViewLinks:
		s.show(ViewLinks, f)
	case ActViewEgress:
		s.show(ViewEgress, f)
	case ActBack:
		if s.View == ViewEgress && !s.Help {
			s.EgressUp()
		}
	case ActZoom:
		s.Overview = !s.Overview
	case ActNextView:
		if shown := f.OverviewShown(); s.Overview && len(shown) > 0 {
			i := slices.Index(shown, s.View)
			s.View = shown[(i+1)%len(shown)]
		} else {
			s.NextView(1)
		}
	case ActUp:
		s.Move(-1, n, page, key)
	case ActDown:
		s.Move(1, n, page, key)
	case ActPgUp:
		s.Move(-page, n, page, key)
	case ActPgDn:
		s.Move(page, n, page, key)
	case ActTop:
		s.MoveTo(0, n, page, key)
	case ActBottom:
		s.MoveTo(-1, n, page, key)
	case ActDetail:
		if s.View == ViewEgress {
			s.egressEnter(f)
			break
		}
		s.Detail = !s.Detail
	case ActEscape:
		s.Escape()
	case ActFilter:
		s.StartFilter()
	case ActDNS:
		s.DNS = !s.DNS
	case ActPortNames:
		s.PortNames = !s.PortNames
	case ActPorts:
		s.Ports = !s.Ports
		s.unfreeze()
	case ActSource:
		s.HideLocal = !s.HideLocal
		s.unfreeze()
	case ActDest:
		s.HideRemote = !s.HideRemote
		s.unfreeze()
	case ActLineMode:
		s.CycleLine()
	case ActBytes:
		s.Bytes = !s.Bytes
	case ActIEC:
		s.IEC = !s.IEC
	case ActBarWindow:
		s.CycleBar()
	case ActSort2s, ActSort10s, ActSort40s, ActSortCumulative, ActSortSource, ActSortDest, ActSortCost:
		s.sortBy(a)
	case ActFreeze:
		s.Freeze(n, key)
	case ActPause:
		s.Paused = !s.Paused
	}
	return false
}

// sortBy applies a sort key: the Egress view has its own order (cost,
// bytes, its one 40 s rate, name); c means nothing elsewhere.
func (s *UIState) sortBy(a Action) {
	if s.View == ViewEgress {
		k := map[Action]EgressSortKey{ActSort2s: EgressByRate, ActSort10s: EgressByRate, ActSort40s: EgressByRate,
			ActSortCumulative: EgressByBytes, ActSortSource: EgressByName, ActSortDest: EgressByName, ActSortCost: EgressByCost}[a]
		s.EgressSort, s.Frozen = k, false
		return
	}
	switch a {
	case ActSort2s:
		s.SetSort(Sort2s)
	case ActSort10s:
		s.SetSort(Sort10s)
	case ActSort40s:
		s.SetSort(Sort40s)
	case ActSortCumulative:
		s.SetSort(SortCumulative)
	case ActSortSource:
		s.SetSort(SortSource)
	case ActSortDest:
		s.SetSort(SortDest)
	case ActSortCost:
		s.Hint = "c sorts the Egress view (E) by cost"
	}
}

// egressEnter opens the selected row's level below in the Egress view
// (Enter); on the last level, the flows, it says so.
func (s *UIState) egressEnter(f *Frame) {
	if f == nil || f.t == nil {
		return
	}
	k, ok := f.t.egressKeyAt(s.Selected())
	if !ok {
		return
	}
	if !s.EgressDown(k) {
		s.Hint = "these are the flows, the last level: Esc or Backspace goes up"
	}
}

// scrollHelp moves the help screen for the moving keys while it is open;
// it reports whether a was one of them.
func (s *UIState) scrollHelp(a Action, f *Frame) bool {
	page := 10
	if r, ok := f.rect(PaneHelp); ok {
		page = max(r.H-2, 1)
	}
	switch a {
	case ActUp:
		s.HelpOffset--
	case ActDown:
		s.HelpOffset++
	case ActPgUp:
		s.HelpOffset -= page
	case ActPgDn:
		s.HelpOffset += page
	case ActTop:
		s.HelpOffset = 0
	case ActBottom:
		s.HelpOffset = 1 << 20
	default:
		return false
	}
	s.HelpOffset = max(s.HelpOffset, 0) // the renderer clamps the end
	return true
}

// show focuses view v's pane in the overview when it is on screen there,
// and shows v zoomed otherwise.
func (s *UIState) show(v ViewID, f *Frame) {
	if s.Overview && !slices.Contains(f.OverviewShown(), v) {
		s.Overview = false
	}
	s.SetView(v)
}

// unfreeze drops a frozen order whose row identities no longer exist
// (aggregation changed).
func (s *UIState) unfreeze() {
	s.Frozen = false
	s.frozen = [numViews]map[string]int{}
}

// HandleKey routes one key press: a global binding (Ctrl-C) runs
// everywhere; while a filter is being typed every other key edits it,
// bound or not; otherwise the key runs its binding's action, and a key the
// table does not bind does nothing. f is the frame on screen. It reports
// whether the program should quit.
//
// The decision rests on the state alone, not on which pane the terminal
// library has focused: keys typed in the same read as '/' reach the host
// before any redraw moves the focus to the filter line, and must still go
// to the filter.
func (s *UIState) HandleKey(k Key, f *Frame) (quit bool) {
	if a, ok := bindingOf(k, ScopeGlobal); ok {
		return s.Apply(a, f)
	}
	if s.FilterEditing {
		s.FilterInput(k)
		return false
	}
	if a, ok := bindingOf(k, ScopeMain); ok {
		s.Hint = ""
		return s.Apply(a, f)
	}
	s.Hint = KeyHint(k)
	return false
}

// foreignKeys are keys of iftop and nethogs that mean something else, or
// nothing, here: what to press instead.
var foreignKeys = map[rune]string{
	'S': "iftop's S (source port): p shows ports on both sides",
	'D': "iftop's D (destination port): p shows ports on both sides",
	'T': "iftop's T (cumulative totals): the cum column shows at 100+ columns, 4 sorts by it",
	'L': "iftop's L (log scale): bars are linear here; b picks their window",
	'l': "iftop's l (screen filter) is / here",
	'f': "iftop's f (capture filter): restart with -f 'FILTER'",
	'!': "iftop's ! (shell) is not offered",
	'm': "nethogs' m (units): B bytes/bits, i SI/IEC",
	'r': "nethogs' r (sort by received): 2 sorts by the 10 s rate, o freezes the order",
}

// KeyHint is the status line's answer to a key no binding has.
func KeyHint(k Key) string {
	if k.Special != KeyNone {
		return ""
	}
	if h, ok := foreignKeys[k.Rune]; ok {
		return h
	}
	if k.Rune > 0x20 && k.Rune < 0x7f {
		return "key " + string(k.Rune) + " does nothing here: h shows the keys"
	}
	return ""
}

// bindingOf returns the action the table binds k to in scope.
func bindingOf(k Key, scope Scope) (Action, bool) {
	for _, b := range Bindings {
		if b.Scope != scope {
			continue
		}
		for _, bk := range b.Keys {
			if bk == k {
				return b.Action, true
			}
		}
	}
	return ActNone, false
}
