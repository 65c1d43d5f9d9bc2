package views

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"netriage/views/format"
)

// The overview: the header (verdict banner and link lines) on top, then
// the Flows, Processes, Remotes and Connections panes together, as many as
// the terminal holds. The focused pane takes the keys (its view is
// st.View); z zooms it to the whole area and back.

// paneKind says which tool's screen a pane is, for its title.
var paneKind = map[ViewID]string{ViewFlows: "iftop", ViewProcs: "nethogs", ViewRemotes: "bandwhich", ViewConns: "bandwhich"}

// paneTitle is an overview pane's frame title: its view, what it is like,
// and the row count; the focused pane is marked and says which row is
// selected. Titles are ASCII: gocui places a title's characters by byte
// offset, so a multi-byte rune would leave gaps in the frame.
func (f *Frame) paneTitle(pf *Frame) string {
	v := pf.st.View
	n := pf.t.Total()
	if v == f.st.View {
		sel := 0
		if n > 0 {
			sel = f.st.Selected() + 1
		}
		return fmt.Sprintf(" >> %s (%s), row %d of %d, z zooms ", v.Name(), paneKind[v], sel, n)
	}
	return fmt.Sprintf(" %s (%s), %s ", v.Name(), paneKind[v], format.Plural(n, "row"))
}

// overviewTabs is the tab line of the overview: the panes on screen with
// the focused one marked, the views not shown at this size with the key
// that zooms to each, and how to move focus.
func (f *Frame) overviewTabs(w int) []Line {
	var b strings.Builder
	from, to := 0, 0
	b.WriteString(" Overview: ")
	for i, v := range f.shown {
		if i > 0 {
			b.WriteString(" ")
		}
		label := tabKeys[v] + " " + v.Name()
		if v == f.st.View {
			from = utf8.RuneCountInString(b.String())
			b.WriteString("[" + label + "]")
			to = utf8.RuneCountInString(b.String())
		} else {
			b.WriteString(" " + label + " ")
		}
	}
	var hidden, keys []string
	for v := ViewID(0); v < numViews; v++ {
		if !contains(f.shown, v) {
			hidden = append(hidden, tabKeys[v]+" "+v.Name())
			keys = append(keys, tabKeys[v])
		}
	}
	// The views not shown here, by name when the line holds them, else
	// by key.
	more := "  │ full screen: " + strings.Join(hidden, ", ") + "  │ Tab focus  z zoom"
	if utf8.RuneCountInString(b.String()+more) > w {
		more = " │ " + strings.Join(keys, " ") + " full screen │ Tab z"
	}
	return []Line{{Text: format.Fit(b.String()+more, w), Style: StyleSelected, From: from, To: to}}
}

func contains(vs []ViewID, v ViewID) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}
