package views

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// rowKeys is the identities of a table's rows in order.
func rowKeys(t *Table) []string {
	out := make([]string, t.Len())
	for i := range out {
		out[i] = t.Key(i)
	}
	return out
}

// A frozen order keeps the rows where they were when frozen, in every
// view, after the rates change under them; new rows go below; sorting by
// name orders by the shown label.
func TestTableFrozenAndByName(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC()
	for _, v := range []ViewID{ViewFlows, ViewProcs, ViewConns, ViewRemotes} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			st := NewUIState(v)
			m := Demo(t0, 3)
			before := BuildTable(m, st)
			if before.Len() < 3 {
				t.Fatalf("fixture: %d rows", before.Len())
			}
			st.Freeze(before.Len(), before.Key)
			// Later models reorder by rate: the frozen order stays.
			reordered := false
			for tick := 4; tick < 40; tick += 7 {
				later := Demo(t0.Add(time.Duration(tick)*time.Second), tick)
				after := rowKeys(BuildTable(later, st))
				free := *st
				free.Frozen = false
				if !slices.Equal(rowKeys(BuildTable(later, &free)), after) {
					reordered = true
				}
				var kept []string
				for _, k := range after {
					if slices.Contains(rowKeys(before), k) {
						kept = append(kept, k)
					}
				}
				var want []string
				for _, k := range rowKeys(before) {
					if slices.Contains(after, k) {
						want = append(want, k)
					}
				}
				if !slices.Equal(kept, want) {
					t.Fatalf("tick %d: frozen rows reordered:\nwant %v\ngot  %v", tick, want, kept)
				}
				if len(kept) > 0 && !slices.Equal(after[:len(kept)], kept) {
					t.Fatalf("tick %d: a new row above the frozen ones: %v", tick, after)
				}
			}
			if !reordered {
				t.Fatal("fixture: the later models' rates never reorder the rows")
			}
			st.Freeze(0, nil) // unfreeze
			st.SetSort(SortSource)
			byName := BuildTable(m, st)
			var labels []string
			for i := range byName.Len() {
				src, _ := byName.labels(byName.rows[i].ref)
				labels = append(labels, src)
			}
			if !slices.IsSortedFunc(labels, strings.Compare) {
				t.Fatalf("sorted by source, labels out of order: %v", labels)
			}
		})
	}
}
