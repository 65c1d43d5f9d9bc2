package views

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"netriage/triage/fleet"
	"netriage/views/format"
)

// The fleet screen's own panes; the header, detail, status, help and
// too-small panes are top's.
const (
	PaneFleetLinks   = "fleet-links"
	PaneFleetTalkers = "fleet-talkers"
)

// FleetPaneOrder lists the fleet screen's panes from bottom to top.
var FleetPaneOrder = []string{PaneTooSmall, PaneHeader, PaneFleetLinks, PaneFleetTalkers, PaneDetail, PaneStatus, PaneHelp}

// FleetLayout places the fleet screen's panes on a w×h terminal: the
// header (headerLines, as many as the height allows), the list of links
// and, when talkerLines > 0, the selected link's talkers beside it (160
// columns and more) or below it (talkerLines tall at most, half the area
// at most); or, with the detail open, the detail over the whole area; the
// status line; the help over everything. Below MinWidth×MinHeight only
// the "toosmall" pane is returned.
func FleetLayout(w, h int, st FleetState, headerLines, talkerLines int) map[string]Rect {
	if w < MinWidth || h < MinHeight {
		return map[string]Rect{PaneTooSmall: {X: 0, Y: 0, W: max(w, 1), H: max(h, 1)}}
	}
	out := make(map[string]Rect, 5)
	hdr := clamp(headerLines, 1, headerCap(h))
	out[PaneHeader] = Rect{X: 0, Y: 0, W: w, H: hdr}
	out[PaneStatus] = Rect{X: 0, Y: h - 1, W: w, H: 1}
	top := hdr
	areaH := h - 1 - top // rows between the header and the status line, frames included
	switch {
	case st.Detail:
		out[PaneDetail] = Rect{X: 1, Y: top + 1, W: w - 2, H: areaH - 2, Framed: true}
	case talkerLines <= 0:
		out[PaneFleetLinks] = Rect{X: 1, Y: top + 1, W: w - 2, H: areaH - 2, Framed: true}
	case w >= 160:
		lw := w * 3 / 5
		out[PaneFleetLinks] = Rect{X: 1, Y: top + 1, W: lw - 2, H: areaH - 2, Framed: true}
		out[PaneFleetTalkers] = Rect{X: lw + 1, Y: top + 1, W: w - lw - 2, H: areaH - 2, Framed: true}
	default:
		th := max(min(talkerLines+2, areaH/2), 3)
		lh := areaH - th
		out[PaneFleetLinks] = Rect{X: 1, Y: top + 1, W: w - 2, H: lh - 2, Framed: true}
		out[PaneFleetTalkers] = Rect{X: 1, Y: top + lh + 1, W: w - 2, H: th - 2, Framed: true}
	}
	if st.Help {
		mx := 0
		if w >= 120 {
			mx = w / 8
		}
		out[PaneHelp] = Rect{X: mx + 1, Y: 2, W: w - 2*mx - 2, H: h - 5, Framed: true}
	}
	return out
}

// FleetFrame is one rendering of the fleet screen.
type FleetFrame struct {
	// W and H are the terminal size.
	W, H int
	// Rects is the layout.
	Rects map[string]Rect
	m     *FleetModel
	st    *FleetState
	// rep is the model's report, an empty one before the first answer.
	rep *fleet.Report
	now time.Time
	u   format.Units
	hdr []Line
}

// BuildFleetFrame lays out a w×h fleet screen for m and st at time now
// (for the ages on screen). It re-anchors st's selection on m's links (the
// selected link keeps its identity) and closes the detail when there is
// no link, the only changes it makes to st.
func BuildFleetFrame(m *FleetModel, st *FleetState, w, h int, now time.Time) *FleetFrame {
	if m == nil {
		m = &FleetModel{}
	}
	f := &FleetFrame{W: w, H: h, m: m, st: st, now: now, u: format.Units{Bytes: st.Bytes}, rep: m.Report}
	if f.rep == nil {
		f.rep = &fleet.Report{}
	}
	if len(f.rep.Problems) == 0 {
		st.Detail = false
	}
	f.hdr = f.headerLines(w)
	talkers := 0
	if len(f.rep.Problems) > 0 {
		talkers = f.talkerLines(w - 2)
	}
	f.Rects = FleetLayout(w, h, *st, len(f.hdr), talkers)
	if _, small := f.Rects[PaneTooSmall]; small {
		return f
	}
	st.sync(f.rep, f.listRows())
	return f
}

// links is the number of links listed (0 on a nil frame).
func (f *FleetFrame) links() int {
	if f == nil {
		return 0
	}
	return len(f.rep.Problems)
}

// listRows is the number of links the list shows at once.
func (f *FleetFrame) listRows() int { return f.page(PaneFleetLinks, 1) }

// page is the named pane's height less reserve lines (headings, the
// scroll line), at least 1; 10 when it is not on screen.
func (f *FleetFrame) page(name string, reserve int) int {
	if f == nil {
		return 10
	}
	r, ok := f.Rects[name]
	if !ok {
		return 10
	}
	return max(r.H-reserve, 1)
}

// Screen composes the whole terminal as plain text, as the host draws it
// (see Frame.Screen).
func (f *FleetFrame) Screen() []string {
	return composeScreen(f.W, f.H, FleetPaneOrder, f.Rects, f.Title, f.Pane)
}

// Pane returns the content of the named pane, exactly as many lines as its
// rect is high, each exactly as wide.
func (f *FleetFrame) Pane(name string) []Line {
	r, ok := f.Rects[name]
	if !ok {
		return nil
	}
	var lines []Line
	switch name {
	case PaneTooSmall:
		lines = (&Frame{W: f.W, H: f.H}).tooSmall(r.W)
	case PaneHeader:
		lines = f.hdr
	case PaneFleetLinks:
		lines = f.linksPane(r.W, r.H)
	case PaneFleetTalkers:
		lines = f.talkersPane(r.W, r.H)
	case PaneDetail:
		lines = f.detailPane(r.W, r.H)
	case PaneStatus:
		lines = f.status(r.W)
	case PaneHelp:
		lines = f.help(r.W, r.H)
	}
	if len(lines) > r.H {
		lines = lines[:r.H]
	}
	out := make([]Line, r.H)
	copy(out, lines)
	for i := range out {
		out[i].Text = padTo(out[i].Text, r.W)
	}
	return out
}

// Title returns the frame title of a framed pane.
func (f *FleetFrame) Title(name string) string {
	win := shortDur(f.rep.Window)
	switch name {
	case PaneFleetLinks:
		switch n := len(f.rep.Problems); {
		case f.m.Report == nil:
			return " Problem links "
		case n == 0:
			return " Problem links: none in the last " + win + " "
		default:
			return fmt.Sprintf(" Problem links: saturated or congested now or in the last %s, row %d of %d ", win, f.st.Selected()+1, n)
		}
	case PaneFleetTalkers:
		if l := f.selected(); l != nil {
			return fmt.Sprintf(" Talkers of %s %s %s (rates over %s) ", l.Instance, l.Interface, l.Direction, fleet.TalkerRange)
		}
		return " Talkers "
	case PaneDetail:
		if l := f.selected(); l != nil {
			return fmt.Sprintf(" Link %d of %d: %s %s %s (Esc back) ", f.st.Selected()+1, len(f.rep.Problems), l.Instance, l.Interface, l.Direction)
		}
		return " Link (Esc back) "
	case PaneHelp:
		return " Help: keys of the fleet screen (? or Esc closes) "
	}
	return ""
}

// selected is the selected link, nil when none is listed.
func (f *FleetFrame) selected() *fleet.Link {
	i := f.st.Selected()
	if i < 0 || i >= len(f.rep.Problems) {
		return nil
	}
	return &f.rep.Problems[i]
}

// --- header ---

// headerLines are every line the header wants, the most useful first
// (a short terminal shows the first two): the banner, the answer's time
// and age or STALE, the error when the status line cannot hold it, the
// hosts and the server, then warnings (silent hosts, no host at all).
func (f *FleetFrame) headerLines(w int) []Line {
	m, rep := f.m, f.m.Report
	win := shortDur(f.rep.Window)
	word, style, text := " FLEET ", StyleUnknown, "asking Prometheus…"
	switch {
	case rep == nil && m.Err != "":
		word, style, text = " NO ANSWER ", StyleSaturated, "Prometheus has not answered yet: the error is in the status line"
	case rep != nil:
		word, style = " OK ", StyleOK
		switch {
		case rep.Saturated > 0:
			word, style = " SATURATED ", StyleSaturated
		case rep.Congested > 0:
			word, style = " CONGESTED ", StyleCongested
		}
		switch n := len(rep.Problems); {
		case rep.Saturated+rep.Congested > 0:
			text = fmt.Sprintf("%s saturated now, %d congested; %s in the last %s", format.Plural(rep.Saturated, "link"), rep.Congested, format.Plural(n, "problem link"), win)
		case n > 0:
			text = fmt.Sprintf("none saturated or congested now; %s in the last %s", format.Plural(n, "link was", "links were"), win)
		default:
			text = "no link saturated or congested in the last " + win
		}
	}
	out := []Line{{Text: format.Fit(word+" "+text, w), Style: style, From: 0, To: utf8.RuneCountInString(word)}, f.answerLine(w)}
	if left, right := f.statusError(); left != "" && utf8.RuneCountInString(left)+utf8.RuneCountInString(right)+1 > w {
		for _, part := range wrapWords(strings.TrimSpace(left), w-2) {
			out = append(out, Line{Text: format.Fit("! "+part, w), Style: StyleWarn})
		}
	}
	hosts := "Prometheus " + m.Server
	if rep != nil {
		n := format.Plural(len(rep.Hosts), "host reporting", "hosts reporting")
		if len(rep.Silent) > 0 {
			n += fmt.Sprintf(", %d silent", len(rep.Silent))
		}
		hosts = n + " │ " + hosts
	}
	out = append(out, Line{Text: format.Fit(hosts, w)})
	if rep != nil && len(rep.Silent) > 0 {
		out = append(out, Line{Text: format.Fit("! silent now, seen in the last "+win+": "+strings.Join(rep.Silent, ", "), w), Style: StyleWarn})
	}
	if rep != nil && len(rep.Hosts) == 0 {
		out = append(out, Line{Text: format.Fit("! no host reports netriage_build_info now: does this Prometheus scrape netriage serve? (docs/fleet.md, section 2)", w), Style: StyleWarn})
	}
	return out
}

// answerLine says when the report was answered and when the next query
// is due, or that the report is stale.
func (f *FleetFrame) answerLine(w int) Line {
	m := f.m
	next := "next in " + shortDur(max(m.NextAt.Sub(f.now), 0))
	switch {
	case m.Asking:
		next = "asking now…"
	case m.NextAt.IsZero():
		next = "r asks now"
	}
	every := " (every " + shortDur(m.Every) + ")"
	if m.Report == nil {
		return Line{Text: format.Fit("no answer yet │ "+next+every, w)}
	}
	at := "without samples"
	if !m.Report.Time.IsZero() {
		at = "of " + m.Report.Time.UTC().Format(time.RFC3339)
	}
	age := shortDur(max(f.now.Sub(m.AnsweredAt), 0))
	if m.Stale() {
		return Line{Text: format.Fit(fmt.Sprintf("STALE: %s failed, %s%s │ last answer %s ago, %s │ window %s",
			format.Plural(m.Failures, "refresh", "refreshes"), next, every, age, at, shortDur(f.rep.Window)), w), Style: StyleWarn}
	}
	return Line{Text: format.Fit(fmt.Sprintf("answer %s, %s ago │ window %s │ %s%s", at, age, shortDur(f.rep.Window), next, every), w)}
}

// shortDur is d rounded to the second without its zero tails: 30s, 1h,
// 1h30m, 2m5s.
func shortDur(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// --- the list of links ---

// fleetCols are the widths of the list's columns for a content width.
type fleetCols struct {
	host, iface, dir, now, util, peak, sat, cong, flows int
	// long headings (SATURATED, CONGESTED) fit.
	long bool
}

func fleetColumns(w int) fleetCols {
	c := fleetCols{dir: 3, now: 9, util: 6, peak: 6, sat: 6, cong: 6, flows: rateW}
	if w >= 100 {
		c.sat, c.cong, c.long = 9, 9, true
	}
	fixed := 2 + c.dir + 1 + c.now + 1 + c.util + 1 + c.peak + 1 + c.sat + 1 + c.cong + 1 + c.flows + 2
	rest := max(w-fixed, 12)
	c.iface = clamp(rest/3, 6, 24)
	c.host = clamp(rest-c.iface, 6, 48)
	return c
}

// nowWord is a link's state as the list shows it.
func nowWord(s fleet.State) string {
	if s == fleet.StateNone {
		return "none"
	}
	return string(s)
}

// stateStyle colours a state word.
func stateStyle(s fleet.State) Style {
	switch s {
	case fleet.StateSaturated:
		return StyleSaturated
	case fleet.StateCongested:
		return StyleCongested
	case fleet.StateOK:
		return StyleOK
	case fleet.StateUnknown, fleet.StateRemoved, fleet.StateNone:
	}
	return StyleNormal
}

func optPct(p *float64) string {
	if p == nil {
		return "-"
	}
	return format.Percent(*p)
}

// compactSeconds is a count of seconds in at most 6 cells: 42s, 12m05s,
// 3h12m, 150h.
func compactSeconds(v float64) string {
	s := int64(v + 0.5)
	switch {
	case s < 60:
		return strconv.FormatInt(s, 10) + "s"
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 100*3600:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return strconv.FormatInt(s/3600, 10) + "h"
}

func (f *FleetFrame) optRate(v *float64) string {
	if v == nil {
		return "-"
	}
	return format.Rate(*v, f.u)
}

func (f *FleetFrame) linksPane(w, h int) []Line {
	rep := f.m.Report
	switch {
	case rep == nil && f.m.Err == "":
		return []Line{{Text: format.Fit("  asking Prometheus at "+f.m.Server+"…", w)}}
	case rep == nil:
		return []Line{{Text: format.Fit("  no answer from Prometheus yet; r asks again now", w)}}
	case len(rep.Problems) == 0:
		msg := fmt.Sprintf("  no link saturated or congested in the last %s (%s)", shortDur(rep.Window), format.Plural(len(rep.Hosts), "host reporting", "hosts reporting"))
		return []Line{{Text: format.Fit(msg, w)}}
	}
	c := fleetColumns(w)
	sat, cong := "SAT", "CONG"
	if c.long {
		sat, cong = "SATURATED", "CONGESTED"
	}
	iface := "INTERFACE"
	if c.iface < len(iface) {
		iface = "IFACE"
	}
	hd := "  " + format.Fit("HOST", c.host) + " " + format.Fit(iface, c.iface) + " " + format.Fit("DIR", c.dir) + " " +
		format.Fit("NOW", c.now) + " " + format.FitRight("UTIL", c.util) + " " + format.FitRight("PEAK", c.peak) + " " +
		format.FitRight(sat, c.sat) + " " + format.FitRight(cong, c.cong) + " " + format.FitRight("FLOWS", c.flows)
	out := []Line{{Text: format.Fit(hd, w), Style: StyleHeading}}
	first := f.st.Offset()
	last := min(len(rep.Problems), first+max(h-1, 1))
	nowAt := 2 + c.host + 1 + c.iface + 1 + c.dir + 1
	for i := first; i < last; i++ {
		l := &rep.Problems[i]
		sel := i == f.st.Selected()
		word := nowWord(l.Now)
		var b strings.Builder
		b.Grow(w + 16)
		b.WriteString(marker(sel))
		b.WriteString(format.FitMiddle(l.Instance, c.host))
		b.WriteByte(' ')
		b.WriteString(format.Fit(l.Interface, c.iface))
		b.WriteByte(' ')
		b.WriteString(format.Fit(l.Direction, c.dir))
		b.WriteByte(' ')
		b.WriteString(format.Fit(word, c.now))
		b.WriteByte(' ')
		b.WriteString(format.FitRight(optPct(l.Utilization), c.util))
		b.WriteByte(' ')
		b.WriteString(format.FitRight(optPct(l.Peak), c.peak))
		b.WriteByte(' ')
		b.WriteString(format.FitRight(compactSeconds(l.SaturatedSeconds), c.sat))
		b.WriteByte(' ')
		b.WriteString(format.FitRight(compactSeconds(l.CongestedSeconds), c.cong))
		b.WriteByte(' ')
		b.WriteString(format.FitRight(f.optRate(l.FlowBytesPerSec), c.flows))
		line := Line{Text: format.Fit(b.String(), w)}
		switch st := stateStyle(l.Now); {
		case sel:
			line.Style = StyleSelected
		case st != StyleNormal && nowAt < w:
			line.Style, line.From, line.To = st, nowAt, min(nowAt+min(utf8.RuneCountInString(word), c.now), w)
		}
		out = append(out, line)
	}
	return out
}

// --- the talkers of the selected link ---

// talkerSide reports whether a talkers pane of content width w shows
// processes and remotes side by side.
func talkerSide(w int) bool { return w >= 100 }

// talkerLines is how many lines a talkers pane of width w below the list
// wants: enough for the link with the most talkers.
func (f *FleetFrame) talkerLines(w int) int {
	p, r := 1, 1
	for i := range f.rep.Problems {
		l := &f.rep.Problems[i]
		p, r = max(p, len(l.Processes)), max(r, len(l.Remotes))
	}
	if talkerSide(w) {
		return 1 + max(p, r)
	}
	return 2 + p + r
}

// talkerText is a talker's name as the lists show it: a process with its
// container, a remote with its DNS name.
func talkerText(t *fleet.Talker) string {
	switch {
	case t.Container != "":
		return t.Name + " (" + t.Container + ")"
	case t.Host != "":
		return t.Name + " (" + t.Host + ")"
	}
	return t.Name
}

// talkerColumn renders one family's heading and up to n rows (the last
// one says how many more there are when they do not fit) in width w.
func (f *FleetFrame) talkerColumn(head string, ts []fleet.Talker, n, w int) []Line {
	nameW := max(w-rateW-8, 6)
	out := []Line{{Text: format.Fit(format.Fit(head, nameW)+" "+format.FitRight("RATE", rateW)+" "+format.FitRight("SHARE", 6), w), Style: StyleHeading}}
	if len(ts) == 0 {
		return append(out, Line{Text: format.Fit("  none: no capture on the host, or no traffic in "+fleet.TalkerRange, w)})
	}
	for i := range ts {
		if i == n-1 && len(ts) > n {
			out = append(out, Line{Text: format.Fit(fmt.Sprintf("  … %d more: Enter shows them all", len(ts)-i), w)})
			break
		}
		t := &ts[i]
		out = append(out, Line{Text: format.Fit(format.Fit("  "+talkerText(t), nameW)+" "+format.FitRight(format.Rate(t.BytesPerSec, f.u), rateW)+" "+format.FitRight(optPct(t.Share), 6), w)})
	}
	return out
}

func (f *FleetFrame) talkersPane(w, h int) []Line {
	l := f.selected()
	if l == nil {
		return nil
	}
	if talkerSide(w) {
		lw := (w - 1) / 2
		rows := max(h-1, 1)
		left := f.talkerColumn("PROCESS", l.Processes, rows, lw)
		right := f.talkerColumn("REMOTE", l.Remotes, rows, w-lw-1)
		out := make([]Line, max(len(left), len(right)))
		for i := range out {
			a, b := "", ""
			if i < len(left) {
				a = left[i].Text
			}
			if i < len(right) {
				b = right[i].Text
			}
			out[i] = Line{Text: padTo(a, lw) + " " + b}
			if i == 0 {
				out[i].Style = StyleHeading
			}
		}
		return out
	}
	// Stacked: the processes get their share of the rows, the remotes
	// the rest.
	avail := max(h-2, 2)
	np, nr := max(len(l.Processes), 1), max(len(l.Remotes), 1)
	showP := min(np, max(avail-nr, (avail+1)/2))
	showR := max(avail-showP, 1)
	out := f.talkerColumn("PROCESS", l.Processes, showP, w)
	return append(out, f.talkerColumn("REMOTE", l.Remotes, showR, w)...)
}

// --- detail ---

// detailLines are the selected link's detail: every field and talker.
func (f *FleetFrame) detailLines(w int) []Line {
	l := f.selected()
	if l == nil {
		return []Line{{Text: format.Fit("no link selected", w)}}
	}
	win := shortDur(f.rep.Window)
	var out []Line
	kv := func(k, v string) {
		for i, part := range wrapWords(v, max(w-19, 10)) {
			if i > 0 {
				k = ""
			}
			out = append(out, Line{Text: format.Fit(format.Fit(k, 18)+" "+part, w)})
		}
	}
	head := func(s string) { out = append(out, Line{Text: format.Fit(s, w), Style: StyleHeading}) }
	dir := l.Direction
	switch dir {
	case "tx":
		dir += " (sent by the host)"
	case "rx":
		dir += " (received by the host)"
	}
	kv("host", l.Instance)
	kv("interface", l.Interface)
	kv("direction", dir)
	kv("verdict now", nowWord(l.Now)+nowNote(l.Now))
	util := "unknown (the link's capacity is unknown)"
	if l.Utilization != nil {
		util = optPct(l.Utilization)
	}
	kv("utilisation now", util)
	kv("peak in "+win, optPct(l.Peak))
	kv("saturated", time.Duration(l.SaturatedSeconds*float64(time.Second)).Round(time.Second).String()+" of the last "+win)
	kv("congested", time.Duration(l.CongestedSeconds*float64(time.Second)).Round(time.Second).String()+" of the last "+win)
	flows := "none: no capture series for this direction"
	if l.FlowBytesPerSec != nil {
		flows = f.optRate(l.FlowBytesPerSec) + " (the capture's IP bytes in this direction, over " + fleet.TalkerRange + ")"
	}
	kv("flow rate", flows)
	talkers := func(title, nameHead, extraHead string, ts []fleet.Talker, extra func(*fleet.Talker) string) {
		out = append(out, Line{})
		head(fmt.Sprintf("%s (%d), rates over %s, share of the link's flow bytes", title, len(ts), fleet.TalkerRange))
		if len(ts) == 0 {
			out = append(out, Line{Text: format.Fit("  none: no capture on the host, or no traffic in "+fleet.TalkerRange, w)})
			return
		}
		nameW := clamp((w-2-rateW-7-2)/3, 10, 40)
		extraW := clamp((w-2-rateW-7-2-nameW)/2, 6, 40)
		line := func(name, ex, rate, share, scope string) string {
			return "  " + format.Fit(name, nameW) + " " + format.Fit(ex, extraW) + " " + format.FitRight(rate, rateW) + " " + format.FitRight(share, 6) + " " + scope
		}
		out = append(out, Line{Text: format.Fit(line(nameHead, extraHead, "RATE", "SHARE", "SCOPE"), w)})
		for i := range ts {
			t := &ts[i]
			out = append(out, Line{Text: format.Fit(line(t.Name, orNone(extra(t), "-"), format.Rate(t.BytesPerSec, f.u), optPct(t.Share), t.Scope), w)})
		}
	}
	talkers("Top processes", "PROCESS", "CONTAINER", l.Processes, func(t *fleet.Talker) string { return t.Container })
	talkers("Top remotes", "REMOTE", "NAME", l.Remotes, func(t *fleet.Talker) string { return t.Host })
	return out
}

// nowNote explains a state word.
func nowNote(s fleet.State) string {
	switch s {
	case fleet.StateNone:
		return " (the host has no verdict now: it went silent, or its verdict is not ready)"
	case fleet.StateSaturated, fleet.StateCongested, fleet.StateOK, fleet.StateUnknown, fleet.StateRemoved:
		return " (netriage_verdict_state of the host's serve)"
	}
	return ""
}

// scrolled shows the lines from off that fit in h, with a last line that
// says where they are when they do not all fit; it returns the clamped
// offset too.
func scrolled(lines []Line, off, w, h int, what string) ([]Line, int) {
	if len(lines) <= h {
		return lines, 0
	}
	shown := max(h-1, 1)
	off = clamp(off, 0, max(len(lines)-shown, 0))
	end := min(off+shown, len(lines))
	res := append(lines[off:end:end], Line{Text: format.Fit(fmt.Sprintf("-- lines %d-%d of %d: j/k or PgUp/PgDn scroll, %s --", off+1, end, len(lines), what), w), Style: StyleHeading})
	return res, off
}

func (f *FleetFrame) detailPane(w, h int) []Line {
	lines, off := scrolled(f.detailLines(w), f.st.DetailOffset, w, h, "Esc back")
	f.st.DetailOffset = off
	return lines
}

// --- status and help ---

// statusError is the status line's error text and its right-hand keys,
// "" when the last query set was answered.
func (f *FleetFrame) statusError() (left, right string) {
	if f.m.Err == "" {
		return "", ""
	}
	what := " STALE: "
	if f.m.Report == nil {
		what = " NO ANSWER: "
	}
	return what + f.m.Err, "r retry  ? help  q quit "
}

func (f *FleetFrame) status(w int) []Line {
	m, st := f.m, f.st
	right := "Enter detail  r refresh  ? help  q quit "
	switch {
	case st.Help:
		right = "Esc closes help  q quit "
	case st.Detail:
		right = "j/k scroll  Esc back  r refresh  q quit "
	}
	style := StyleSelected
	left := ""
	switch el, er := f.statusError(); {
	case el != "":
		style, left, right = StyleSaturated, el, er
	case st.Hint != "":
		left = " " + st.Hint
	default:
		unit := "bits/s"
		if st.Bytes {
			unit = "bytes/s"
		}
		parts := []string{"Fleet"}
		if m.Report != nil {
			parts = append(parts, format.Plural(len(f.rep.Problems), "problem link"))
		}
		left = " " + strings.Join(append(parts, unit), " · ")
	}
	if utf8.RuneCountInString(left)+utf8.RuneCountInString(right)+2 > w {
		right = "q quit "
	}
	gap := w - utf8.RuneCountInString(left) - utf8.RuneCountInString(right)
	if gap < 1 {
		return []Line{{Text: format.Fit(left, max(w-utf8.RuneCountInString(right)-1, w/2)) + " " + right, Style: style}}
	}
	return []Line{{Text: left + strings.Repeat(" ", gap) + right, Style: style}}
}

func (f *FleetFrame) help(w, h int) []Line {
	entries := bindingLines(FleetBindings)
	longest := 0
	for _, e := range entries {
		longest = max(longest, utf8.RuneCountInString(e))
	}
	cols := clamp(w/(longest+2), 1, 2)
	if cols == 1 {
		// Narrow: without the section titles the keys fit 80×24.
		var e2 []string
		for _, e := range entries {
			if !strings.HasSuffix(e, ":") {
				e2 = append(e2, e)
			}
		}
		entries = e2
	}
	rows := (len(entries) + cols - 1) / cols
	colW := w / cols
	out := []Line{{Text: format.Fit("Keys of the fleet screen (they mean what they mean in top).", w), Style: StyleHeading}}
	for r := 0; r < rows; r++ {
		var b strings.Builder
		for c := 0; c < cols; c++ {
			if i := c*rows + r; i < len(entries) {
				b.WriteString(format.Fit(entries[i], colW))
			}
		}
		out = append(out, Line{Text: b.String()})
	}
	out = append(out, Line{})
	notes := []string{
		fmt.Sprintf("Prometheus is asked again %s after each answer (--refresh), and now with r.", shortDur(f.m.Every)),
		"A failed query keeps the last answer, marked STALE; its error is in the status line.",
		"Label values from the server are sanitised: control characters show as ?.",
	}
	for _, n := range notes {
		for _, part := range wrapWords(n, w) {
			out = append(out, Line{Text: format.Fit(part, w)})
		}
	}
	if len(out) <= h {
		return out
	}
	body, off := scrolled(out[1:], f.st.HelpOffset, w, h-1, "Esc closes")
	f.st.HelpOffset = off
	return append([]Line{out[0]}, body...)
}
