package views

import "netriage/triage/attrib"

// exitedSuffix marks the program of an exited process in the views.
const exitedSuffix = " (exited)"

// defaultMaxExited is how many exited processes the Processes view keeps
// by name; older ones fold into one row.
const defaultMaxExited = 1000

// olderExited is the label of the row that holds the exited processes
// past the cap.
const olderExited = "older exited processes"

// exitedMemory keeps the Processes view's rows of the processes the
// attribution dropped. attrib lists an exited process while its flows are
// in the flow table and for the grace period after (it must bound its
// memory, and the procs writer's records already showed the process); the
// TUI keeps the process's name and cumulative bytes, marked exited with
// no rates, for the rest of the run, up to max rows, then folds the
// oldest into one olderExited row, so no bytes leave the view.
type exitedMemory struct {
	max   int
	prev  map[attrib.ProcKey]ProcRow // the previous report's process rows
	gone  map[attrib.ProcKey]ProcRow // dropped processes, as last shown
	order []attrib.ProcKey           // gone's keys, oldest drop first (with stale ones)
	older ProcRow                    // the folded row
}

func newExitedMemory(max int) *exitedMemory {
	return &exitedMemory{max: max, prev: map[attrib.ProcKey]ProcRow{}, gone: map[attrib.ProcKey]ProcRow{},
		older: ProcRow{Unattributed: olderExited}}
}

// apply returns procs (AdaptAttrib's rows of rep: its processes first, in
// order, then the unattributed rows) with the remembered rows after them,
// and remembers the processes rep dropped since the previous report.
func (e *exitedMemory) apply(rep *attrib.Report, procs []ProcRow) []ProcRow {
	cur := make(map[attrib.ProcKey]ProcRow, len(rep.Processes))
	for i := range rep.Processes {
		k := rep.Processes[i].Process.Key
		if g, ok := e.gone[k]; ok {
			// Dropped and back (a flow joined it again through the grace
			// memory): attrib counts its bytes from zero and may have lost
			// its name.
			p := &procs[i]
			p.SentBytes += g.SentBytes
			p.RecvBytes += g.RecvBytes
			if rep.Processes[i].Process.Program == "" {
				p.Program, p.User, p.Cmdline, p.Container, p.Netns = g.Program, g.User, g.Cmdline, g.Container, g.Netns
			}
			delete(e.gone, k)
		}
		cur[k] = procs[i]
	}
	for k, p := range e.prev {
		if _, ok := cur[k]; ok {
			continue
		}
		if !p.Exited {
			p.Program += exitedSuffix
			p.Exited = true
		}
		p.Sent, p.Recv, p.Conns = BytesPerSec{}, BytesPerSec{}, 0
		e.gone[k] = p
		e.order = append(e.order, k)
	}
	e.prev = cur
	for len(e.gone) > e.max && len(e.order) > 0 {
		k := e.order[0]
		e.order = e.order[1:]
		if g, ok := e.gone[k]; ok {
			e.older.SentBytes += g.SentBytes
			e.older.RecvBytes += g.RecvBytes
			delete(e.gone, k)
		}
	}
	if len(e.order) > 2*len(e.gone)+16 { // drop the stale keys now and then
		live := e.order[:0]
		for _, k := range e.order {
			if _, ok := e.gone[k]; ok {
				live = append(live, k)
			}
		}
		e.order = live
	}
	for _, k := range e.order {
		if g, ok := e.gone[k]; ok {
			procs = append(procs, g)
		}
	}
	if e.older.SentBytes+e.older.RecvBytes > 0 {
		procs = append(procs, e.older)
	}
	return procs
}
