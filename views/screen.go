package views

import "strings"

// Screen composes the whole terminal as plain text, w×h cells, the way the
// gocui host draws it: frames (─│┌┐└┘) around framed panes with their
// titles, then each pane's text. Styles are dropped. It is what the golden
// tests compare, and matches tmux capture-pane of the real program.
func (f *Frame) Screen() []string {
	return composeScreen(f.W, f.H, PaneOrder, f.Rects, f.Title, f.Pane)
}

// composeScreen draws the panes of order that rects places, bottom first,
// on a w×h grid: frames with their title, then each pane's lines.
func composeScreen(w, h int, order []string, rects map[string]Rect, title func(string) string, pane func(string) []Line) []string {
	grid := make([][]rune, h)
	for y := range grid {
		grid[y] = []rune(strings.Repeat(" ", w))
	}
	set := func(x, y int, r rune) {
		if x >= 0 && y >= 0 && x < w && y < h {
			grid[y][x] = r
		}
	}
	for _, name := range order {
		r, ok := rects[name]
		if !ok {
			continue
		}
		x0, y0, x1, y1 := r.Outer()
		if r.Framed {
			// Overlays clear what is below them.
			for y := y0; y <= y1; y++ {
				for x := x0; x <= x1; x++ {
					set(x, y, ' ')
				}
			}
			for x := x0 + 1; x < x1; x++ {
				set(x, y0, '─')
				set(x, y1, '─')
			}
			for y := y0 + 1; y < y1; y++ {
				set(x0, y, '│')
				set(x1, y, '│')
			}
			set(x0, y0, '┌')
			set(x1, y0, '┐')
			set(x0, y1, '└')
			set(x1, y1, '┘')
			for i, ch := range []rune(title(name)) {
				x := x0 + i + 2
				if x > x1-2 {
					break
				}
				set(x, y0, ch)
			}
		}
		for i, l := range pane(name) {
			x := r.X
			for _, ch := range l.Text {
				if x >= r.X+r.W {
					break
				}
				set(x, r.Y+i, ch)
				x++
			}
		}
	}
	out := make([]string, h)
	for y := range grid {
		out[y] = strings.TrimRight(string(grid[y]), " ")
	}
	return out
}

// LayoutBoxes draws a layout as ASCII boxes labelled with the pane names,
// for the layout golden tests.
func LayoutBoxes(w, h int, rects map[string]Rect) []string {
	grid := make([][]byte, h)
	for y := range grid {
		grid[y] = []byte(strings.Repeat(".", w))
	}
	set := func(x, y int, c byte) {
		if x >= 0 && y >= 0 && x < w && y < h {
			grid[y][x] = c
		}
	}
	for _, name := range PaneOrder {
		r, ok := rects[name]
		if !ok {
			continue
		}
		for y := r.Y; y < r.Y+r.H; y++ {
			for x := r.X; x < r.X+r.W; x++ {
				set(x, y, ' ')
			}
		}
		if r.Framed {
			x0, y0, x1, y1 := r.Outer()
			for x := x0; x <= x1; x++ {
				set(x, y0, '-')
				set(x, y1, '-')
			}
			for y := y0; y <= y1; y++ {
				set(x0, y, '|')
				set(x1, y, '|')
			}
			set(x0, y0, '+')
			set(x1, y0, '+')
			set(x0, y1, '+')
			set(x1, y1, '+')
		}
		for i := 0; i < len(name) && i < r.W; i++ {
			set(r.X+i, r.Y, name[i])
		}
	}
	out := make([]string, h)
	for y := range grid {
		out[y] = string(grid[y])
	}
	return out
}
