package views

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"netriage/triage"
	"netriage/views/format"
)

// Style is how a line (or a span of it) is drawn. Every style also reads
// on a monochrome terminal: the words and markers carry the meaning.
type Style int

// Styles.
const (
	StyleNormal Style = iota
	// StyleSelected is the selected row (reverse video).
	StyleSelected
	// StyleHeading is a column heading or totals line (bold).
	StyleHeading
	// StyleOK, StyleCongested, StyleSaturated and StyleUnknown colour the
	// verdict word.
	StyleOK
	StyleCongested
	StyleSaturated
	StyleUnknown
	// StyleWarn marks degraded-mode messages and capture drops.
	StyleWarn
)

// sgr is the ANSI SGR sequence of each style (gocui's 8-colour subset).
var sgr = [...]string{
	StyleNormal:    "",
	StyleSelected:  "\x1b[7m",
	StyleHeading:   "\x1b[1m",
	StyleOK:        "\x1b[30;42m",
	StyleCongested: "\x1b[30;43m",
	StyleSaturated: "\x1b[37;41m",
	StyleUnknown:   "\x1b[7m",
	StyleWarn:      "\x1b[33m",
}

// Line is one line of a pane: plain text (already sanitised and fitted)
// and a style applied to runes [From, To), or to the whole line when To is
// 0.
type Line struct {
	Text     string
	Style    Style
	From, To int
}

// WriteANSI writes lines to w with ANSI styling, one per line, for a
// terminal view. The text itself never contains escape sequences (it was
// sanitised), so the only ones written are the styles'.
func WriteANSI(w io.Writer, lines []Line) error {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		if l.Style == StyleNormal {
			b.WriteString(l.Text)
			continue
		}
		if l.To == 0 {
			b.WriteString(sgr[l.Style])
			b.WriteString(l.Text)
			b.WriteString("\x1b[0m")
			continue
		}
		n := 0
		for _, r := range l.Text {
			if n == l.From {
				b.WriteString(sgr[l.Style])
			}
			if n == l.To {
				b.WriteString("\x1b[0m")
			}
			b.WriteRune(r)
			n++
		}
		if n <= l.To && n > l.From {
			b.WriteString("\x1b[0m")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Frame is one rendering of the screen: the layout, the table of the
// current view and everything needed to draw each pane.
type Frame struct {
	// W and H are the terminal size.
	W, H int
	// Rects is the layout.
	Rects map[string]Rect
	m     *Model
	st    *UIState
	t     *Table
	u     format.Units
	// rowLines is the number of screen lines one table row takes.
	rowLines int
	// In the overview: panes are the frames of the panes on screen (by
	// pane name), shown their views in OverviewPanes order, focus the
	// focused pane's frame (whose table is t).
	panes map[string]*Frame
	shown []ViewID
	focus *Frame
}

// OverviewShown returns the views the overview shows on this frame, in
// order (none outside the overview, or for a nil frame).
func (f *Frame) OverviewShown() []ViewID {
	if f == nil {
		return nil
	}
	return f.shown
}

// buildOverview builds one frame per overview pane on screen, each with
// its own table and selection; the focused pane (st.View, moved to the
// first pane when its view is not shown) is the frame's table.
func (f *Frame) buildOverview() {
	st := f.st
	for _, v := range OverviewPanes {
		if _, ok := f.Rects[OverviewPane(v)]; ok {
			f.shown = append(f.shown, v)
		}
	}
	if !contains(f.shown, st.View) {
		st.View = f.shown[0]
	}
	f.panes = make(map[string]*Frame, len(f.shown))
	for _, v := range f.shown {
		sub := *st
		sub.View = v
		pf := &Frame{W: f.W, H: f.H, Rects: map[string]Rect{PaneMain: f.Rects[OverviewPane(v)]}, m: f.m, st: &sub, u: f.u, rowLines: 1}
		if v == ViewFlows && st.Line == LineTwo {
			pf.rowLines = 2
		}
		if v == st.View {
			pf.t = BuildTable(f.m, &sub)
			c := &sub.cur[v]
			sub.Sync(pf.t.Len(), pf.VisibleRows(), func(k string) int { return pf.t.find(k, c.index) }, pf.t.Key)
			st.cur[v] = sub.cur[v]
			f.t, f.focus = pf.t, pf
		} else {
			// A pane without the focus shows its top rows and no
			// selection; its cursor waits in st for the focus to return.
			pf.t = buildTable(f.m, &sub, pf.VisibleRows())
			sub.cur[v] = cursor{index: -1}
		}
		f.panes[OverviewPane(v)] = pf
	}
}

// BuildFrame lays out a w×h screen for m and st and builds the current
// view's table. It re-anchors st's selection on the new rows (the selected
// row keeps its identity), which is the only change it makes to st.
func BuildFrame(m *Model, st *UIState, w, h int) *Frame {
	if m == nil {
		m = &Model{}
	}
	f := &Frame{W: w, H: h, m: m, st: st, u: format.Units{Bytes: st.Bytes, IEC: st.IEC}, rowLines: 1}
	f.Rects = Layout(w, h, *st, f.headerWanted())
	if _, small := f.Rects[PaneTooSmall]; small {
		return f
	}
	if st.Overview && !st.Detail {
		f.buildOverview()
		return f
	}
	f.t = BuildTable(m, st)
	if st.View == ViewFlows && st.Line == LineTwo {
		f.rowLines = 2
	}
	vis := f.VisibleRows()
	c := &st.cur[st.View]
	st.Sync(f.t.Len(), vis, func(k string) int { return f.t.find(k, c.index) }, f.t.Key)
	return f
}

// Table returns the frame's table (nil when the terminal is too small).
func (f *Frame) Table() *Table { return f.t }

// VisibleRows returns how many table rows the main pane shows.
func (f *Frame) VisibleRows() int {
	if f.focus != nil {
		return f.focus.VisibleRows()
	}
	r, ok := f.Rects[PaneMain]
	if !ok {
		return 1
	}
	return max(1, (r.H-1-f.footerLines(r.H))/f.rowLines)
}

func (f *Frame) footerLines(h int) int {
	if (f.st.View == ViewFlows || f.st.View == ViewEgress) && h >= 12 {
		return 2
	}
	return 0
}

func (f *Frame) headerWanted() int { return 1 + len(f.m.Header) + len(f.m.Degraded) }

// Pane returns the content of the named pane, exactly as many lines as its
// rect is high, each exactly as wide.
func (f *Frame) Pane(name string) []Line {
	r, ok := f.Rects[name]
	if !ok {
		return nil
	}
	var lines []Line
	switch name {
	case PaneTooSmall:
		lines = f.tooSmall(r.W)
	case PaneHeader:
		lines = f.header(r.W, r.H)
	case PaneTabs:
		lines = f.tabs(r.W)
	case PaneMain:
		lines = f.main(r.W, r.H)
	case PaneOvFlows, PaneOvProcs, PaneOvRemotes, PaneOvConns:
		lines = f.panes[name].main(r.W, r.H)
	case PaneDetail:
		lines = f.detail(r.W, r.H)
	case PaneStatus:
		lines = f.status(r.W)
	case PaneFilter:
		lines = []Line{{Text: format.Fit("/"+f.st.FilterDraft+"█", r.W)}}
	case PaneHelp:
		lines = f.help(r.W, r.H)
	}
	for len(lines) < r.H {
		lines = append(lines, Line{})
	}
	lines = lines[:r.H]
	for i := range lines {
		lines[i].Text = padTo(lines[i].Text, r.W)
	}
	return lines
}

// padTo pads or cuts already-safe text to width runes.
func padTo(s string, width int) string {
	n := utf8.RuneCountInString(s)
	if n == width {
		return s
	}
	if n < width {
		return s + strings.Repeat(" ", width-n)
	}
	rs := []rune(s)
	return string(rs[:width])
}

// Title returns the frame title of a framed pane.
func (f *Frame) Title(name string) string {
	switch name {
	case PaneMain:
		return " " + f.mainTitle() + " "
	case PaneOvFlows, PaneOvProcs, PaneOvRemotes, PaneOvConns:
		return f.paneTitle(f.panes[name])
	case PaneDetail:
		return " Detail (Enter/Esc closes) "
	case PaneHelp:
		return " Help: keys (h or Esc closes) "
	}
	return ""
}

func (f *Frame) mainTitle() string {
	st := f.st
	n := f.t.Len()
	what := ""
	switch st.View {
	case ViewFlows:
		switch {
		case st.HideLocal && st.HideRemote:
			what = "all traffic"
		case st.HideLocal:
			what = "by remote host"
		case st.HideRemote:
			what = "by local host"
		case st.Ports:
			what = "host:port pairs"
		default:
			what = "host pairs"
		}
		if st.Ports && (st.HideLocal || st.HideRemote) {
			what += " and port"
		}
		what += ", " + st.Line.String()
	case ViewProcs:
		what = "per process"
	case ViewConns:
		what = "per connection"
	case ViewRemotes:
		what = "per remote host"
	case ViewLinks:
		what = "interfaces and qdiscs"
	case ViewEgress:
		return f.egressTitle()
	}
	sel := 0
	if n > 0 {
		sel = st.Selected() + 1
	}
	return fmt.Sprintf("%s: %s, row %d of %d", st.View.Name(), what, sel, n)
}

func (f *Frame) tooSmall(w int) []Line {
	msg := fmt.Sprintf("Terminal too small (%d×%d): netriage needs at least %d×%d. Enlarge it, or press q to quit.", f.W, f.H, MinWidth, MinHeight)
	var out []Line
	for len(msg) > 0 {
		cut := min(len(msg), w)
		if cut < len(msg) {
			if sp := strings.LastIndexByte(msg[:cut], ' '); sp > 0 {
				cut = sp
			}
		}
		out = append(out, Line{Text: strings.TrimSpace(msg[:cut])})
		msg = strings.TrimSpace(msg[cut:])
	}
	return out
}

// --- header ---

func (f *Frame) header(w, h int) []Line {
	m := f.m
	out := []Line{f.banner(w)}
	room := h - 1
	deg := m.Degraded
	if len(deg) > room {
		deg = deg[:room]
	}
	ifRoom := room - len(deg)
	if ifRoom <= 0 && len(m.Header) > 0 && len(deg) > 0 && room > 0 {
		// Keep at least one interface line; degraded messages go first.
		deg = deg[:room-1]
		ifRoom = 1
	}
	for i, d := range deg {
		_ = i
		out = append(out, Line{Text: format.Fit("! "+d, w), Style: StyleWarn})
	}
	ifs := m.Header
	more := 0
	if len(ifs) > ifRoom {
		more = len(ifs) - ifRoom + 1
		ifs = ifs[:max(ifRoom-1, 0)]
	}
	for i := range ifs {
		out = append(out, Line{Text: f.ifaceLine(&ifs[i], w)})
	}
	if more > 0 && ifRoom > 0 {
		out = append(out, Line{Text: format.Fit(fmt.Sprintf("… %d more interfaces: Links view (I)", more), w)})
	}
	return out
}

func (f *Frame) banner(w int) Line {
	m := f.m
	word := " " + m.Verdict.Level.Word() + " "
	style := StyleUnknown
	switch m.Verdict.Level {
	case VerdictOK:
		style = StyleOK
	case VerdictCongested, VerdictEndpointDrops:
		style = StyleCongested
	case VerdictSaturated, VerdictRemoved, VerdictDrops:
		style = StyleSaturated
	}
	parts := []string{}
	if m.Verdict.Summary != "" {
		parts = append(parts, format.Cell(m.Verdict.Summary))
	}
	if m.CoverageKnown {
		parts = append(parts, "coverage "+format.Percent(m.CoverageRatio))
	} else {
		parts = append(parts, "coverage n/a")
	}
	if m.CaptureDrops > 0 {
		parts = append(parts, "CAPTURE DROPS "+format.Count(m.CaptureDrops))
	}
	if m.EvictedFlows > 0 {
		parts = append(parts, "evicted flows "+format.Count(m.EvictedFlows))
	}
	if m.Mode != "" {
		parts = append(parts, format.Cell(m.Mode))
	}
	if m.Source != "" {
		parts = append(parts, format.Cell(m.Source))
	}
	if f.st.Paused {
		parts = append(parts, "PAUSED")
	}
	text := word + " " + strings.Join(parts, " │ ")
	return Line{Text: format.Fit(text, w), Style: style, From: 0, To: utf8.RuneCountInString(word)}
}

func (f *Frame) ifaceLine(l *IfaceLine, w int) string {
	nameW := 8
	barW, sparkW := 6, 0
	switch {
	case w >= 180:
		nameW, barW, sparkW = 12, 16, 24
	case w >= 120:
		nameW, barW, sparkW = 10, 10, (w-108)/2
	case w >= 100:
		barW, sparkW = 8, (w-86)/2
	}
	var b strings.Builder
	b.WriteString(format.Fit(l.Name, nameW))
	if l.Gone {
		b.WriteString(" gone (removed while running)")
		return format.Fit(b.String(), w)
	}
	if !l.Up {
		b.WriteString(" DOWN")
	}
	dir := func(tag string, bps float64, hist []float64, capBps uint64) {
		b.WriteString(" " + tag + " ")
		b.WriteString(format.FitRight(format.Rate(bps, f.u), 9))
		b.WriteByte(' ')
		if capBps > 0 {
			ratio := bps * 8 / float64(capBps)
			b.WriteString("[" + format.Bar(ratio, barW, '·') + "]")
			b.WriteString(format.FitRight(strconv.Itoa(int(ratio*100+0.5))+"%", 5))
		} else {
			b.WriteString(format.Fit("[cap ?]", barW+2))
			b.WriteString("    -")
		}
		if sparkW > 0 {
			max := 0.0
			if capBps > 0 {
				max = float64(capBps) / 8
			}
			b.WriteString(" " + format.Sparkline(hist, sparkW, max))
		}
	}
	dir("rx", l.RxBytesPerSec, l.RxHistoryBytesPerSec, l.RxCap())
	dir("tx", l.TxBytesPerSec, l.TxHistoryBytesPerSec, l.CapacityBps)
	b.WriteString(" q")
	b.WriteString(format.FitRight(format.Count(uint64(l.QdiscDropsPerSec+0.5))+"/s", 6))
	if w >= 140 && l.CapacityBps > 0 {
		b.WriteString("  cap " + format.Rate(float64(l.CapacityBps)/8, format.Units{IEC: f.u.IEC}) + " (" + format.Cell(l.CapacitySource) + ")")
	}
	return format.Fit(b.String(), w)
}

// --- tabs and status ---

var tabKeys = [numViews]string{"F", "A", "C", "R", "I", "E"}

func (f *Frame) tabs(w int) []Line {
	if f.panes != nil {
		return f.overviewTabs(w)
	}
	var b strings.Builder
	from, to := 0, 0
	b.WriteByte(' ')
	for v := ViewID(0); v < numViews; v++ {
		label := tabKeys[v] + " " + v.Name()
		if v == f.st.View {
			from = utf8.RuneCountInString(b.String())
			b.WriteString("[" + label + "]")
			to = utf8.RuneCountInString(b.String())
		} else {
			b.WriteString(" " + label + " ")
		}
		b.WriteString(" ")
	}
	b.WriteString(" Tab next  z overview")
	return []Line{{Text: format.Fit(b.String(), w), Style: StyleSelected, From: from, To: to}}
}

func (f *Frame) status(w int) []Line {
	st := f.st
	parts := []string{st.View.Name()}
	if f.panes != nil {
		parts = []string{"Overview", "focus " + st.View.Name()}
	}
	if st.Paused {
		parts = append(parts, "PAUSED")
	}
	if st.Frozen {
		parts = append(parts, "order frozen")
	}
	if st.Filter != "" {
		parts = append(parts, "filter \""+format.Cell(st.Filter)+"\"")
	}
	if st.View == ViewEgress {
		parts = append(parts, "sort "+st.EgressSort.String())
	} else {
		parts = append(parts, "sort "+st.Sort.String(), "bar "+st.BarWindow.String())
	}
	unit := "bits/s"
	if st.Bytes {
		unit = "bytes/s"
	}
	if st.IEC {
		unit += " IEC"
	}
	parts = append(parts, unit)
	if !st.DNS {
		parts = append(parts, "no DNS")
	}
	if !st.PortNames {
		parts = append(parts, "port numbers")
	}
	left := " " + strings.Join(parts, " · ")
	if st.Hint != "" {
		left = " " + st.Hint
	}
	right := "Enter detail  / filter  h help  q quit "
	if st.View == ViewEgress {
		right = "Enter open  Esc up  / filter  h help  q quit "
	}
	if f.panes != nil {
		right = "Tab focus  z zoom  Enter detail  / filter  h help  q quit "
	}
	const short = "h help  q quit "
	// netriage's own cost comes after the settings, in room for its widest
	// form, if that fits beside the full key hint, else beside the short
	// one (which stays: it is how to get help); else it is left out.
	room := utf8.RuneCountInString(left)
	if c := f.m.Self; c != nil && st.Hint == "" {
		if with := room + 3 + selfCostWidth(st.IEC); with+len(short)+2 <= w {
			left, room = left+" · "+selfCost(c, st.IEC), with
		}
	}
	if room+utf8.RuneCountInString(right)+2 > w {
		right = short
	}
	gap := w - utf8.RuneCountInString(left) - utf8.RuneCountInString(right)
	if gap < 1 {
		return []Line{{Text: format.Fit(left, w), Style: StyleSelected}}
	}
	return []Line{{Text: left + strings.Repeat(" ", gap) + right, Style: StyleSelected}}
}

// selfCost is the status line's word on what netriage itself costs: its
// share of one CPU since the last step (as top's %CPU: 100% is one CPU's
// whole time) and its resident memory.
func selfCost(c *triage.SelfStep, iec bool) string {
	mem := format.Bytes(c.RSS, iec)
	if !c.HasCPU {
		return "netriage " + mem
	}
	return "netriage " + format.CPU(c.CPU) + " CPU " + mem
}

// selfCostWidth is the width of the widest selfCost short of ten CPUs'
// worth (format.Bytes keeps three digits): the status line makes room for
// it whatever the figures, so that a figure that grows a digit does not
// push the key hint out and back from one step to the next.
func selfCostWidth(iec bool) int {
	if iec {
		return utf8.RuneCountInString("netriage 999% CPU 99.9MiB")
	}
	return utf8.RuneCountInString("netriage 999% CPU 99.9MB")
}

// --- help ---

func (f *Frame) help(w, h int) []Line {
	entries := helpLines()
	// As many columns as fit without cutting an entry (at most three);
	// what does not fit scrolls.
	longest := 0
	for _, e := range entries {
		longest = max(longest, utf8.RuneCountInString(e))
	}
	cols := clamp(w/(longest+2), 1, 3)
	if cols < 3 {
		// Narrow: drop section titles to fit 80×24.
		var e2 []string
		for _, e := range entries {
			if !strings.HasSuffix(e, ":") {
				e2 = append(e2, e)
			}
		}
		entries = e2
	}
	out := []Line{{Text: format.Fit("Keys work like iftop's. Tab: next pane, z: zoom, Enter: open a row.", w), Style: StyleHeading}}
	rows := (len(entries) + cols - 1) / cols
	colW := w / cols
	for r := 0; r < rows; r++ {
		var b strings.Builder
		for c := 0; c < cols; c++ {
			i := c*rows + r
			if i < len(entries) {
				b.WriteString(format.Fit(entries[i], colW))
			}
		}
		out = append(out, Line{Text: b.String()})
	}
	if len(out) <= h {
		return out
	}
	// Too long for the pane: it scrolls, the last line says where it is.
	body := out[1:]
	shown := max(h-2, 1)
	off := clamp(f.st.HelpOffset, 0, max(len(body)-shown, 0))
	f.st.HelpOffset = off
	end := min(off+shown, len(body))
	res := append([]Line{out[0]}, body[off:end]...)
	res = append(res, Line{Text: format.Fit(fmt.Sprintf("-- lines %d-%d of %d: j/k or PgUp/PgDn scroll (docs/keybindings.md) --", off+1, end, len(body)), w), Style: StyleHeading})
	return res[:min(len(res), h)]
}

// rect returns the named pane's rect on a frame (none on a nil frame).
func (f *Frame) rect(name string) (Rect, bool) {
	if f == nil {
		return Rect{}, false
	}
	r, ok := f.Rects[name]
	return r, ok
}
