package views

import (
	"fmt"
	"strings"
	"testing"
)

func TestLayoutGolden(t *testing.T) {
	cases := []struct {
		name   string
		w, h   int
		header int
		setup  func(*UIState)
	}{
		{"plain", 80, 24, 3, func(*UIState) {}},
		{"detail", 80, 24, 3, func(s *UIState) { s.Detail = true }},
		{"detail_short", 80, 16, 2, func(s *UIState) { s.Detail = true }},
		{"detail_wide", 200, 50, 4, func(s *UIState) { s.Detail = true }},
		{"help", 80, 24, 3, func(s *UIState) { s.Help = true }},
		{"help_wide", 200, 50, 4, func(s *UIState) { s.Help = true }},
		{"filter", 80, 24, 3, func(s *UIState) { s.FilterEditing = true }},
		{"many_ifaces", 100, 30, 40, func(*UIState) {}},
		{"minimum", MinWidth, MinHeight, 5, func(*UIState) {}},
		{"toosmall", MinWidth - 1, MinHeight, 2, func(*UIState) {}},
		{"overview", 80, 24, 3, func(s *UIState) { s.Overview = true }},
		{"overview_120x40", 120, 40, 3, func(s *UIState) { s.Overview = true }},
		{"overview_wide", 200, 50, 3, func(s *UIState) { s.Overview = true }},
		{"overview_minimum", MinWidth, MinHeight, 2, func(s *UIState) { s.Overview = true }},
		{"overview_detail", 120, 40, 3, func(s *UIState) { s.Overview = true; s.Detail = true }},
	}
	var all strings.Builder
	for _, tc := range cases {
		st := NewUIState(ViewFlows)
		tc.setup(st)
		rects := Layout(tc.w, tc.h, *st, tc.header)
		checkRects(t, tc.name, tc.w, tc.h, rects)
		fmt.Fprintf(&all, "== %s %dx%d header=%d\n%s\n\n", tc.name, tc.w, tc.h, tc.header, strings.Join(LayoutBoxes(tc.w, tc.h, rects), "\n"))
	}
	golden(t, "layout", all.String())
}

// checkRects verifies that every pane (with its frame) is on screen and
// that non-overlay panes do not overlap.
func checkRects(t *testing.T, name string, w, h int, rects map[string]Rect) {
	t.Helper()
	type box struct {
		n              string
		x0, y0, x1, y1 int
	}
	var boxes []box
	for n, r := range rects {
		if r.W <= 0 || r.H <= 0 {
			t.Errorf("%s: pane %s is empty: %+v", name, n, r)
		}
		x0, y0, x1, y1 := r.X, r.Y, r.X+r.W-1, r.Y+r.H-1
		if r.Framed {
			x0, y0, x1, y1 = r.Outer()
		}
		if x0 < 0 || y0 < 0 || x1 >= w || y1 >= h {
			t.Errorf("%s: pane %s off screen: %d,%d-%d,%d in %dx%d", name, n, x0, y0, x1, y1, w, h)
		}
		if n != PaneHelp {
			boxes = append(boxes, box{n, x0, y0, x1, y1})
		}
	}
	for i := range boxes {
		for j := i + 1; j < len(boxes); j++ {
			a, b := boxes[i], boxes[j]
			if a.x0 <= b.x1 && b.x0 <= a.x1 && a.y0 <= b.y1 && b.y0 <= a.y1 {
				t.Errorf("%s: panes %s and %s overlap", name, a.n, b.n)
			}
		}
	}
}

func TestLayoutAllSizes(t *testing.T) {
	for w := 1; w <= 220; w += 7 {
		for h := 1; h <= 60; h += 3 {
			for _, detail := range []bool{false, true} {
				st := NewUIState(ViewFlows)
				st.Detail, st.Help = detail, detail
				rects := Layout(w, h, *st, 6)
				checkRects(t, fmt.Sprintf("%dx%d", w, h), w, h, rects)
				f := BuildFrame(Demo(t0, 1), st, w, h)
				if got := len(f.Screen()); got != h {
					t.Fatalf("%dx%d: %d lines", w, h, got)
				}
			}
		}
	}
}
