package views

// Minimum terminal size the UI draws in; below it a message says so.
const (
	MinWidth  = 60
	MinHeight = 12
)

// Pane names: the keys of Layout's result and the gocui view names.
const (
	PaneHeader   = "header"
	PaneTabs     = "tabs"
	PaneMain     = "main"
	PaneDetail   = "detail"
	PaneStatus   = "status"
	PaneFilter   = "filter"
	PaneHelp     = "help"
	PaneTooSmall = "toosmall"
	// The overview's panes, one per view of OverviewPanes.
	PaneOvFlows   = "ov-flows"
	PaneOvProcs   = "ov-procs"
	PaneOvRemotes = "ov-remotes"
	PaneOvConns   = "ov-conns"
)

// PaneOrder lists the panes from bottom to top (overlays last).
var PaneOrder = []string{PaneTooSmall, PaneHeader, PaneTabs, PaneMain, PaneOvFlows, PaneOvProcs, PaneOvRemotes, PaneOvConns, PaneDetail, PaneStatus, PaneFilter, PaneHelp}

// OverviewPane is the pane name of an overview view ("" for Links, which
// the overview shows as the header's link lines).
func OverviewPane(v ViewID) string {
	switch v {
	case ViewFlows:
		return PaneOvFlows
	case ViewProcs:
		return PaneOvProcs
	case ViewRemotes:
		return PaneOvRemotes
	case ViewConns:
		return PaneOvConns
	}
	return ""
}

// overviewLayout places the overview's panes in the area of outer rows
// top..top+areaH-1: the widest arrangement the size allows, Flows always
// (it gets the most room), then Processes, Remotes and Connections.
func overviewLayout(out map[string]Rect, w, top, areaH int) {
	place := func(v ViewID, x, y, pw, ph int) {
		out[OverviewPane(v)] = Rect{X: x + 1, Y: y + 1, W: pw - 2, H: ph - 2, Framed: true}
	}
	switch {
	case w >= 160 && areaH >= 24:
		// Flows on the left, the other three stacked on the right.
		lw := w * 11 / 20
		place(ViewFlows, 0, top, lw, areaH)
		h1, h2 := areaH/3, areaH/3
		place(ViewProcs, lw, top, w-lw, h1)
		place(ViewRemotes, lw, top+h1, w-lw, h2)
		place(ViewConns, lw, top+h1+h2, w-lw, areaH-h1-h2)
	case w >= 120 && areaH >= 18:
		// Flows across the top, Processes and Remotes below it.
		fh := areaH * 11 / 20
		place(ViewFlows, 0, top, w, fh)
		place(ViewProcs, 0, top+fh, w/2, areaH-fh)
		place(ViewRemotes, w/2, top+fh, w-w/2, areaH-fh)
	case areaH >= 12:
		fh := areaH * 3 / 5
		place(ViewFlows, 0, top, w, fh)
		place(ViewProcs, 0, top+fh, w, areaH-fh)
	default:
		place(ViewFlows, 0, top, w, areaH)
	}
}

// Rect is a pane's content area in terminal cells: X, Y of the top-left
// cell and the size W×H. A framed pane draws its frame one cell outside the
// content area.
type Rect struct {
	X, Y, W, H int
	// Framed panes have a border (and a title) around the content.
	Framed bool
}

// Outer returns the rectangle including the frame, as x0, y0, x1, y1
// (inclusive), the coordinates gocui's SetView takes. Frameless panes get
// the same one-cell margin off screen, which gocui reserves anyway.
func (r Rect) Outer() (x0, y0, x1, y1 int) {
	return r.X - 1, r.Y - 1, r.X + r.W, r.Y + r.H
}

// headerCap is the most header lines a terminal of height h gets.
func headerCap(h int) int {
	switch {
	case h < 20:
		return 2
	case h < 30:
		return 5
	case h < 45:
		return 8
	}
	return 12
}

// Layout places the panes for a w×h terminal. headerLines is how many lines
// the header wants (banner, one per interface, degraded messages); it gets
// at most what the height allows. Below MinWidth×MinHeight only the
// "toosmall" pane is returned.
func Layout(w, h int, st UIState, headerLines int) map[string]Rect {
	if w < MinWidth || h < MinHeight {
		return map[string]Rect{PaneTooSmall: {X: 0, Y: 0, W: max(w, 1), H: max(h, 1)}}
	}
	out := make(map[string]Rect, 6)
	hdr := clamp(headerLines, 1, headerCap(h))
	out[PaneHeader] = Rect{X: 0, Y: 0, W: w, H: hdr}
	out[PaneTabs] = Rect{X: 0, Y: hdr, W: w, H: 1}
	bottom := PaneStatus
	if st.FilterEditing {
		bottom = PaneFilter
	}
	out[bottom] = Rect{X: 0, Y: h - 1, W: w, H: 1}

	// The area between the tabs and the status line, outer coordinates.
	top := hdr + 1
	areaH := h - 1 - top // rows available, frames included
	if st.Overview && !st.Detail {
		overviewLayout(out, w, top, areaH)
	} else if st.Detail {
		if areaH < 16 && w < 160 {
			// Too short to split: the detail takes the whole area.
			out[PaneDetail] = Rect{X: 1, Y: top + 1, W: w - 2, H: areaH - 2, Framed: true}
		} else if w >= 160 {
			// Wide: detail to the right.
			mainW := w * 3 / 5
			out[PaneMain] = Rect{X: 1, Y: top + 1, W: mainW - 2, H: areaH - 2, Framed: true}
			out[PaneDetail] = Rect{X: mainW + 1, Y: top + 1, W: w - mainW - 2, H: areaH - 2, Framed: true}
		} else {
			detH := max(areaH/2, 8)
			mainH := areaH - detH
			out[PaneMain] = Rect{X: 1, Y: top + 1, W: w - 2, H: mainH - 2, Framed: true}
			out[PaneDetail] = Rect{X: 1, Y: top + mainH + 1, W: w - 2, H: detH - 2, Framed: true}
		}
	} else {
		out[PaneMain] = Rect{X: 1, Y: top + 1, W: w - 2, H: areaH - 2, Framed: true}
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
