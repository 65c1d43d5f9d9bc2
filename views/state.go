package views

import (
	"strings"

	"netriage/triage/egress"
)

// ViewID names a main-pane view.
type ViewID int

// The main-pane views, in Tab order.
const (
	ViewFlows ViewID = iota
	ViewProcs
	ViewConns
	ViewRemotes
	ViewLinks
	ViewEgress
	numViews
)

// ViewOverview is the start value for NewUIState and ParseView's answer
// for "overview": the overview layout with the Flows pane focused.
const ViewOverview ViewID = -1

// OverviewPanes are the views the overview shows side by side, the most
// useful first: a small terminal shows the first two.
var OverviewPanes = []ViewID{ViewFlows, ViewProcs, ViewRemotes, ViewConns}

// Name returns the view's name as shown on screen.
func (v ViewID) Name() string {
	switch v {
	case ViewProcs:
		return "Processes"
	case ViewConns:
		return "Connections"
	case ViewRemotes:
		return "Remotes"
	case ViewLinks:
		return "Links"
	case ViewEgress:
		return "Egress"
	}
	return "Flows"
}

// ParseView maps a config/flag name (overview, flows, procs, conns,
// remotes, links, egress) to a view; ok is false for an unknown name.
func ParseView(s string) (ViewID, bool) {
	switch strings.ToLower(s) {
	case "overview", "":
		return ViewOverview, true
	case "flows":
		return ViewFlows, true
	case "procs", "processes":
		return ViewProcs, true
	case "conns", "connections":
		return ViewConns, true
	case "remotes":
		return ViewRemotes, true
	case "links", "interfaces":
		return ViewLinks, true
	case "egress":
		return ViewEgress, true
	}
	return ViewFlows, false
}

// Window is one of iftop's averaging windows.
type Window int

// The windows.
const (
	Win2s Window = iota
	Win10s
	Win40s
)

// String returns "2s", "10s" or "40s".
func (w Window) String() string {
	switch w {
	case Win2s:
		return "2s"
	case Win40s:
		return "40s"
	}
	return "10s"
}

// SortKey orders the rows of the main pane.
type SortKey int

// Sort keys. Rates sort descending, names ascending.
const (
	// Sort2s, Sort10s and Sort40s sort by the rate over that window.
	Sort2s SortKey = iota
	Sort10s
	Sort40s
	// SortCumulative sorts by bytes since start.
	SortCumulative
	// SortSource sorts by the first (local, source) column.
	SortSource
	// SortDest sorts by the second (remote, destination) column.
	SortDest
)

// String names the sort key for the status line.
func (s SortKey) String() string {
	switch s {
	case Sort2s:
		return "2s"
	case Sort40s:
		return "40s"
	case SortCumulative:
		return "cumulative"
	case SortSource:
		return "source"
	case SortDest:
		return "destination"
	}
	return "10s"
}

// LineMode is iftop's line display mode (key t).
type LineMode int

// Line modes, in the order t cycles through them.
const (
	// LineTwo shows two lines per flow: sent (=>) and received (<=).
	LineTwo LineMode = iota
	// LineSent shows one line per flow with the sent rates.
	LineSent
	// LineRecv shows one line per flow with the received rates.
	LineRecv
	// LineTotal shows one line per flow with sent+received.
	LineTotal
)

// String names the line mode.
func (l LineMode) String() string {
	switch l {
	case LineSent:
		return "sent"
	case LineRecv:
		return "received"
	case LineTotal:
		return "total"
	}
	return "two-line"
}

// cursor is the selection and scroll position of one view.
type cursor struct {
	// key identifies the selected row, so the selection follows the row
	// when the order changes.
	key string
	// index is the selected row's last known position.
	index int
	// offset is the first visible row.
	offset int
}

// UIState is everything the user changed with keys. It is a plain value
// with methods: no terminal, no model. The host applies actions to it and
// renders from it.
type UIState struct {
	// View is the main pane's view; in the overview, the focused pane's.
	View ViewID
	// Overview shows the overview's panes together (z zooms the focused
	// one to the whole area and back).
	Overview bool
	// Sort orders the rows.
	Sort SortKey
	// BarWindow is the window the bar (and single-window columns) show.
	BarWindow Window
	// Line is the flows line mode.
	Line LineMode
	// Bytes shows bytes per second instead of bits per second.
	Bytes bool
	// IEC uses 1024-based prefixes.
	IEC bool
	// DNS shows host names instead of addresses when known (key n).
	DNS bool
	// PortNames shows service names instead of port numbers (key N).
	PortNames bool
	// Ports aggregates flows by host and port instead of host pairs (p).
	Ports bool
	// HideLocal and HideRemote aggregate away one side (iftop's s and d).
	HideLocal, HideRemote bool
	// Paused keeps the shown model (P).
	Paused bool
	// Frozen keeps the row order as it was when o was pressed.
	Frozen bool
	// Filter keeps rows whose text contains it (case-insensitive).
	Filter string
	// FilterEditing is true while the user types a filter after '/'.
	FilterEditing bool
	// FilterDraft is the filter being typed.
	FilterDraft string
	// Detail shows the detail pane for the selected row (Enter, Esc).
	Detail bool
	// Help shows the help screen (h, ?); HelpOffset is its first line
	// shown when it does not fit (the moving keys scroll it).
	Help       bool
	HelpOffset int
	// Hint is what the status line says about the last key when it does
	// nothing here (an iftop or nethogs key with another name); the next
	// bound key clears it.
	Hint string

	// Egress is the Egress view's drill-down path: the level shown and
	// what was chosen on the way down (Enter goes down, Esc or Backspace
	// up). EgressSort orders that view's rows.
	Egress     EgressPath
	EgressSort EgressSortKey

	cur    [numViews]cursor
	frozen [numViews]map[string]int
	// egressUp holds the Egress view's cursor of each level above the
	// one shown, so going up selects the row that was opened.
	egressUp [numEgressLevels]cursor
}

// EgressLevel is how deep the Egress view has drilled.
type EgressLevel int

// The Egress view's levels, top first.
const (
	// EgressClasses lists the destination classes.
	EgressClasses EgressLevel = iota
	// EgressNames lists one class's destination names.
	EgressNames
	// EgressProcesses lists the processes sending to one name.
	EgressProcesses
	// EgressFlows lists one process's flows to one name.
	EgressFlows
	numEgressLevels
)

// EgressPath is where the Egress view is: its level, and the class, name
// and process chosen above it (each set only below its own level). An
// empty Process is the unattributed traffic; an empty Name, bytes with no
// address (the unknown class).
type EgressPath struct {
	Level   EgressLevel
	Class   egress.Class
	Name    string
	Process string
}

// EgressSortKey orders the Egress view's rows. It is the view's own: the
// other views' sort stays as it was.
type EgressSortKey int

// Egress orders: largest first, names ascending.
const (
	// EgressByCost: cost so far, then unpriced bytes, then bytes sent (c).
	EgressByCost EgressSortKey = iota
	// EgressByBytes: bytes sent and received so far (4).
	EgressByBytes
	// EgressByRate: sent and received per second over 40 s (1, 2, 3: the
	// egress rows have the 40 s rate only).
	EgressByRate
	// EgressByName: the row's class, name, process or flow (< and >).
	EgressByName
)

// String names the order for the status line.
func (k EgressSortKey) String() string {
	switch k {
	case EgressByBytes:
		return "bytes"
	case EgressByRate:
		return "40s rate"
	case EgressByName:
		return "name"
	}
	return "cost"
}

// EgressDown opens the row with key k of the Egress view's current level:
// a class's names, a name's processes, a process's flows. It reports
// whether there was a level below.
func (s *UIState) EgressDown(k egress.Key) bool {
	p := &s.Egress
	switch p.Level {
	case EgressClasses:
		p.Class = k.Class
	case EgressNames:
		p.Name = k.Name
	case EgressProcesses:
		p.Process = k.Process
	default:
		return false
	}
	s.egressUp[p.Level] = s.cur[ViewEgress]
	p.Level++
	s.cur[ViewEgress] = cursor{}
	s.unfreeze()
	return true
}

// EgressUp goes up one level of the Egress view, to the row it came from;
// it reports whether there was a level above.
func (s *UIState) EgressUp() bool {
	p := &s.Egress
	switch p.Level {
	case EgressClasses:
		return false
	case EgressNames:
		p.Class = ""
	case EgressProcesses:
		p.Name = ""
	case EgressFlows:
		p.Process = ""
	}
	p.Level--
	s.cur[ViewEgress] = s.egressUp[p.Level]
	s.unfreeze()
	return true
}

// NewUIState returns the state at start: the given view (ViewOverview:
// the overview, Flows focused), iftop's defaults (two-line, sorted by
// 10 s, names and port names shown, host pairs).
func NewUIState(view ViewID) *UIState {
	s := &UIState{View: view, Sort: Sort10s, BarWindow: Win10s, Line: LineTwo, DNS: true, PortNames: true}
	if view == ViewOverview {
		s.View, s.Overview = ViewFlows, true
	}
	return s
}

// Selected returns the selected row's index in the current view.
func (s *UIState) Selected() int { return s.cur[s.View].index }

// Offset returns the first visible row of the current view.
func (s *UIState) Offset() int { return s.cur[s.View].offset }

// SetView switches the main pane, keeping each view's selection.
func (s *UIState) SetView(v ViewID) {
	if v >= 0 && v < numViews {
		s.View = v
		s.closeEgressDetail()
	}
}

// closeEgressDetail closes the detail pane in the Egress view, where
// Enter goes down a level instead of opening a detail.
func (s *UIState) closeEgressDetail() {
	if s.View == ViewEgress {
		s.Detail = false
	}
}

// NextView cycles through the views (Tab); delta -1 goes back.
func (s *UIState) NextView(delta int) {
	s.View = ViewID((int(s.View) + delta + int(numViews)) % int(numViews))
	s.closeEgressDetail()
}

// SetSort sets the sort key; a window sort also sets the bar window so the
// shown column matches the order.
func (s *UIState) SetSort(k SortKey) {
	s.Sort = k
	switch k {
	case Sort2s:
		s.BarWindow = Win2s
	case Sort10s:
		s.BarWindow = Win10s
	case Sort40s:
		s.BarWindow = Win40s
	}
	s.Frozen = false
}

// CycleBar moves the bar window 2s → 10s → 40s → 2s.
func (s *UIState) CycleBar() { s.BarWindow = (s.BarWindow + 1) % 3 }

// CycleLine moves to the next line mode (t).
func (s *UIState) CycleLine() { s.Line = (s.Line + 1) % 4 }

// Freeze toggles the frozen order (o); key(i) is the identity of the
// current view's row i of n, in the order on screen (only read when
// freezing). Rows that appear later go below the frozen ones.
func (s *UIState) Freeze(n int, key func(int) string) {
	if s.Frozen {
		s.unfreeze()
		return
	}
	s.unfreeze()
	s.Frozen = true
	m := make(map[string]int, n)
	for i := 0; i < n; i++ {
		m[key(i)] = i
	}
	s.frozen[s.View] = m
}

// Move moves the selection by delta rows within n rows, keeping it visible
// in a pane of height rows; key returns the identity of row i.
func (s *UIState) Move(delta, n, height int, key func(int) string) {
	c := &s.cur[s.View]
	if n == 0 {
		*c = cursor{}
		return
	}
	c.index = clamp(c.index+delta, 0, n-1)
	c.key = key(c.index)
	c.offset = visibleOffset(c.index, c.offset, n, height)
}

// MoveTo selects row i (use -1 for the last row).
func (s *UIState) MoveTo(i, n, height int, key func(int) string) {
	if i < 0 {
		i = n - 1
	}
	c := &s.cur[s.View]
	s.Move(i-c.index, n, height, key)
}

// Sync re-anchors the selection after the rows changed: the selected row
// keeps its identity when it still exists (find returns its index or -1),
// else the index is clamped. height is the number of visible rows.
func (s *UIState) Sync(n, height int, find func(key string) int, key func(int) string) {
	c := &s.cur[s.View]
	if n == 0 {
		c.index, c.offset = 0, 0
		return
	}
	if c.key != "" {
		if i := find(c.key); i >= 0 {
			c.index = i
		}
	}
	c.index = clamp(c.index, 0, n-1)
	c.key = key(c.index)
	c.offset = visibleOffset(c.index, c.offset, n, height)
}

func visibleOffset(index, offset, n, height int) int {
	if height < 1 {
		height = 1
	}
	if index < offset {
		offset = index
	}
	if index >= offset+height {
		offset = index - height + 1
	}
	return clamp(offset, 0, max(0, n-height))
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// StartFilter begins typing a filter ('/'), starting from the current one.
func (s *UIState) StartFilter() {
	s.FilterEditing = true
	s.FilterDraft = s.Filter
}

// FilterInput handles one key while typing a filter: printable runes are
// appended, backspace deletes, enter applies, esc cancels. It reports
// whether editing goes on.
func (s *UIState) FilterInput(k Key) bool {
	switch k.Special {
	case KeyEnter:
		s.Filter = strings.TrimSpace(s.FilterDraft)
		s.FilterEditing = false
		s.resetCursor()
	case KeyEsc:
		s.FilterEditing = false
	case KeyBackspace:
		if r := []rune(s.FilterDraft); len(r) > 0 {
			s.FilterDraft = string(r[:len(r)-1])
		}
	case KeyCtrlU:
		s.FilterDraft = ""
	case KeySpace:
		s.FilterDraft += " "
	case KeyNone:
		if k.Rune >= 0x20 && k.Rune != 0x7f && len(s.FilterDraft) < 200 {
			s.FilterDraft += string(k.Rune)
		}
	}
	return s.FilterEditing
}

func (s *UIState) resetCursor() { s.cur[s.View] = cursor{} }

// Escape closes, in order, the help, the detail pane, goes up a level of
// the Egress view, then clears the filter (Esc).
func (s *UIState) Escape() {
	switch {
	case s.Help:
		s.Help = false
	case s.Detail:
		s.Detail = false
	case s.View == ViewEgress && s.EgressUp():
	case s.Filter != "":
		s.Filter = ""
		s.resetCursor()
	}
}
