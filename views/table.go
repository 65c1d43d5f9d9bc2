package views

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"netriage/triage/flows"
)

// trow is one displayed row: a reference into the view's items and the
// number it sorts by. The name it sorts by and its frozen key, when the
// order needs them, are in the Table's names and fkeys, by ref.
type trow struct {
	ref int
	v   float64 // the sort value (rates and cumulative sorts)
}

// rowData holds a row's numbers (Table.rowOf): in Table.data for the
// Egress view (by trow.ref) and for a Flows row of several flows (by
// flowAgg.data: the sums of its members); read from the model's item for
// the others.
type rowData struct {
	sent, recv           BytesPerSec
	sentBytes, recvBytes uint64
}

// flowAgg is flows aggregated to the display granularity (host pairs, host
// and port, one side only).
// Its key is its first member's (Table.aggKeyAt): a table of a flood's
// 200,000 host pairs keeps 24 bytes a row here.
type flowAgg struct {
	first   int32 // index in the model's flows of the first member (names come from it)
	members int32
	data    int32 // index in Table.data of the members' sums; -1 for one member (its own numbers)
	owner   int32 // index in the model's flows of the first member with an owner, -1 if none
	pid     int32 // that member's PID
	owners  int32 // owning PIDs seen (counts changes of PID)
	merged  bool  // rowRates replaced the summed rates with the flows' Group
}

type aggKey struct {
	proto         string
	local, remote netip.Addr
	lport, rport  uint16
}

// Table is the current view's rows after aggregation, filtering and sorting.
// Building it reads the model and the UI state; it never changes the model.
type Table struct {
	view ViewID
	m    *Model
	st   *UIState
	rows []trow
	data []rowData
	// names and fkeys are each ref's sort name and frozen key, made only
	// when the order sorts by name or is frozen.
	names, fkeys []string
	flows        []flowAgg
	// gran is the Flows view's granularity at build (UIState's Ports,
	// HideLocal, HideRemote): a row's key is its first member's at it.
	gran struct{ ports, hideLocal, hideRemote bool }
	// eg holds the Egress view's rows (nil in the other views).
	eg *egressRows
	// barMax is the largest value of the bar window among rows, the bar's
	// full scale.
	barMax float64
	// limit, when above 0, keeps only the first limit rows of the order
	// (an overview pane without the focus shows its top rows only); total
	// is the number of rows before that.
	limit, total int
}

// Len returns the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// Total returns the number of rows the view has, also those a limit left
// out.
func (t *Table) Total() int { return max(t.total, len(t.rows)) }

// BuildTable aggregates, filters and sorts the current view's rows.
func BuildTable(m *Model, st *UIState) *Table { return buildTable(m, st, 0) }

// buildTable is BuildTable keeping only the first limit rows (0: all):
// selecting them costs O(rows) instead of a sort of every row.
func buildTable(m *Model, st *UIState, limit int) *Table {
	t := &Table{view: st.View, m: m, st: st, limit: limit}
	t.gran.ports, t.gran.hideLocal, t.gran.hideRemote = st.Ports, st.HideLocal, st.HideRemote
	switch st.View {
	case ViewFlows:
		t.buildFlows()
	case ViewEgress:
		t.buildEgress()
	}
	if st.View != ViewFlows {
		t.rows = make([]trow, t.items())
		for i := range t.rows {
			t.rows[i].ref = i
		}
	}
	for ref, n := 0, t.items(); ref < n; ref++ {
		d := t.rowOf(ref)
		if v := t.value(&d, st.BarWindow); v > t.barMax {
			t.barMax = v
		}
	}
	t.filter()
	t.sort()
	return t
}

// items is the number of rows the view has before filtering.
func (t *Table) items() int {
	m := t.m
	switch t.view {
	case ViewProcs:
		return len(m.Procs)
	case ViewConns:
		return len(m.Conns)
	case ViewRemotes:
		return len(m.Remotes)
	case ViewLinks:
		return len(m.Links)
	case ViewFlows:
		return len(t.flows)
	}
	return len(t.data)
}

// rowOf returns row ref's numbers: the sums Table.data holds for the
// Egress view and for Flows rows of several flows, the model item's own
// for the others.
func (t *Table) rowOf(ref int) rowData {
	m := t.m
	switch t.view {
	case ViewFlows:
		a := &t.flows[ref]
		if a.data < 0 {
			return m.flowNumbers(int(a.first))
		}
		return t.data[a.data]
	case ViewProcs:
		p := &m.Procs[ref]
		return rowData{p.Sent, p.Recv, p.SentBytes, p.RecvBytes}
	case ViewConns:
		c := &m.Conns[ref]
		return rowData{c.Sent, c.Recv, c.SentBytes, c.RecvBytes}
	case ViewRemotes:
		r := &m.Remotes[ref]
		return rowData{r.Sent, r.Recv, r.SentBytes, r.RecvBytes}
	case ViewLinks:
		l := &m.Links[ref]
		tx := BytesPerSec{l.TxBytesPerSec, l.TxBytesPerSec, l.TxBytesPerSec, l.TxBytesPerSec}
		rx := BytesPerSec{l.RxBytesPerSec, l.RxBytesPerSec, l.RxBytesPerSec, l.RxBytesPerSec}
		return rowData{tx, rx, l.TxBytes, l.RxBytes}
	}
	return t.data[ref]
}

func (t *Table) buildFlows() {
	n := t.m.NumFlows()
	idx := make(map[aggKey]int32, n)
	t.flows = make([]flowAgg, 0, n)
	var buf FlowRow
	for i := range n {
		f := t.m.flowAt(i, &buf)
		k := t.aggKeyOf(f.Proto, f.Local, f.Remote, f.LocalPort, f.RemotePort)
		j, ok := idx[k]
		if !ok {
			j = int32(len(t.flows))
			idx[k] = j
			t.flows = append(t.flows, flowAgg{first: int32(i), owner: -1, data: -1})
		}
		a := &t.flows[j]
		a.members++
		if f.PID != 0 {
			switch {
			case a.owner < 0:
				a.owner, a.pid, a.owners = int32(i), int32(f.PID), 1
			case a.pid != int32(f.PID):
				a.owners++
			}
		}
		if a.members == 1 {
			continue
		}
		if a.data < 0 {
			a.data = int32(len(t.data))
			t.data = append(t.data, t.m.flowNumbers(int(a.first)))
		}
		r := &t.data[a.data]
		r.sent, r.recv = addLower(r.sent, f.Sent), addLower(r.recv, f.Recv)
		r.sentBytes += f.SentBytes
		r.recvBytes += f.RecvBytes
	}
	t.rows = make([]trow, len(t.flows))
	for i := range t.rows {
		t.rows[i].ref = i
	}
}

// aggKeyAt is the key of Flows row ref: its first member's.
func (t *Table) aggKeyAt(ref int) aggKey { return t.aggKeyOfFlow(int(t.flows[ref].first)) }

// aggKeyOfFlow is the row flow i of the model belongs to, read from its
// key alone (no row made).
func (t *Table) aggKeyOfFlow(i int) aggKey {
	if s := t.m.flowSrc; s != nil {
		k := &s.snap.Flows[i].Key
		return t.aggKeyOf(k.Proto.String(), k.Local, k.Remote, k.LocalPort, k.RemotePort)
	}
	f := &t.m.Flows[i]
	return t.aggKeyOf(f.Proto, f.Local, f.Remote, f.LocalPort, f.RemotePort)
}

// aggKeyOf is the row a flow belongs to at the display's granularity.
// The granularity is the one the table was built with (keys pressed
// before the next frame may change the UI state's).
func (t *Table) aggKeyOf(proto string, local, remote netip.Addr, lport, rport uint16) aggKey {
	g := &t.gran
	k := aggKey{local: local, remote: remote}
	if g.ports {
		k.proto, k.lport, k.rport = proto, lport, rport
	}
	if g.hideLocal {
		k.local, k.lport = netip.Addr{}, 0
	}
	if g.hideRemote {
		k.remote, k.rport = netip.Addr{}, 0
	}
	return k
}

// rowRates returns row ref's numbers with its exact peaks. A row of
// several flows that carry their seconds (capture, Model.FlowsTime set)
// is the flows package's aggregate of them (flows.Group): its rates, and
// its peak, are those of the summed seconds, as the flows subcommand
// aggregates. It is computed on demand, once per table, because only the
// detail shows a row's peak and merging every row's seconds costs
// milliseconds per frame at 10,000 flows; the rates BuildTable sums for
// sorting and the columns are the same numbers. Without seconds (socket
// counters, the demo) the rates add and the peak is a lower bound: the
// largest of the members' peaks and the row's own window rates.
func (t *Table) rowRates(ref int) *rowData {
	switch {
	case t.view == ViewEgress:
		return &t.data[ref]
	case t.view != ViewFlows || t.flows[ref].data < 0:
		d := t.rowOf(ref)
		return &d
	}
	a := &t.flows[ref]
	d := &t.data[a.data]
	if t.m.FlowsTime.IsZero() || a.merged {
		return d
	}
	var g flows.Group
	var buf FlowRow
	key := t.aggKeyAt(ref)
	for i, n := int(a.first), t.m.NumFlows(); i < n; i++ {
		if t.aggKeyOfFlow(i) == key {
			g.Add(flowStatOf(t.m.flowAt(i, &buf)))
		}
	}
	r := g.Rates(t.m.FlowsTime)
	d.sent, d.recv = flowRates(r, true), flowRates(r, false)
	a.merged = true
	return d
}

// flowStatOf is what flows.Group needs of a row: its bytes and seconds.
func flowStatOf(f *FlowRow) *flows.FlowStat {
	return &flows.FlowStat{Counts: flows.Counts{SentBytes: f.SentBytes, RecvBytes: f.RecvBytes}, Seconds: f.Seconds, Flows: 1}
}

// addLower adds o to r when there are no seconds to merge: the window
// rates add, and the peak becomes the lower bound max(peaks, window rates)
// (the busiest second of a sum is at least each member's and at least
// every average of the sum; adding peaks would give an upper bound that
// counts seconds the members did not share).
func addLower(r, o BytesPerSec) BytesPerSec {
	s := BytesPerSec{W2s: r.W2s + o.W2s, W10s: r.W10s + o.W10s, W40s: r.W40s + o.W40s}
	s.Peak = max(r.Peak, o.Peak, s.W2s, s.W10s, s.W40s)
	return s
}

// quantity picks what a row's rate means for sorting and the bar: sent,
// received or both, following the flows line mode.
func (t *Table) value(r *rowData, w Window) float64 {
	if t.view == ViewFlows {
		switch t.st.Line {
		case LineSent:
			return r.sent.Window(w)
		case LineRecv:
			return r.recv.Window(w)
		}
	}
	return r.sent.Window(w) + r.recv.Window(w)
}

func (t *Table) cumulative(r *rowData) uint64 {
	if t.view == ViewFlows {
		switch t.st.Line {
		case LineSent:
			return r.sentBytes
		case LineRecv:
			return r.recvBytes
		}
	}
	return r.sentBytes + r.recvBytes
}

func (t *Table) filter() {
	if t.st.Filter == "" {
		return
	}
	f := []byte(strings.ToLower(t.st.Filter))
	out := t.rows[:0]
	var buf []byte
	for _, r := range t.rows {
		buf = t.appendFilterText(buf[:0], r.ref)
		if bytes.Contains(lowerInPlace(buf), f) {
			out = append(out, r)
		}
	}
	t.rows = out
}

// lowerInPlace lower-cases b; ASCII in place, anything else through
// bytes.ToLower.
func lowerInPlace(b []byte) []byte {
	for i, c := range b {
		if c >= utf8.RuneSelf {
			return bytes.ToLower(b)
		}
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}

func (t *Table) sort() {
	st := t.st
	byName := st.Sort == SortSource || st.Sort == SortDest
	if t.view == ViewEgress {
		byName = st.EgressSort == EgressByName
	}
	if byName {
		t.names = make([]string, t.items())
		for _, r := range t.rows {
			src, dst := t.labels(r.ref)
			if st.Sort == SortSource || t.view == ViewEgress {
				t.names[r.ref] = src
			} else {
				t.names[r.ref] = dst
			}
		}
	}
	var ranks map[string]int
	if st.Frozen && st.frozen[t.view] != nil {
		ranks = st.frozen[t.view]
		t.fkeys = make([]string, t.items())
		for _, r := range t.rows {
			t.fkeys[r.ref] = t.key(r.ref)
		}
	}
	w := Win10s
	switch st.Sort {
	case Sort2s:
		w = Win2s
	case Sort40s:
		w = Win40s
	}
	for i := range t.rows {
		d := t.rowOf(t.rows[i].ref)
		if t.view == ViewEgress {
			t.rows[i].v = t.egressValue(t.rows[i].ref)
			continue
		}
		switch st.Sort {
		case SortCumulative:
			t.rows[i].v = float64(t.cumulative(&d))
		case SortSource, SortDest:
		default:
			t.rows[i].v = t.value(&d, w)
		}
	}
	// Stable tie-breaks keep equal rows from swapping between frames.
	base := func(a, b *trow) int {
		if byName {
			if c := cmp.Compare(t.names[a.ref], t.names[b.ref]); c != 0 {
				return c
			}
		} else if c := cmp.Compare(b.v, a.v); c != 0 {
			return c
		}
		return cmp.Compare(a.ref, b.ref)
	}
	order := func(a, b trow) int { return base(&a, &b) }
	if ranks != nil {
		rank := func(r *trow) (int, bool) {
			v, ok := ranks[t.fkeys[r.ref]]
			return v, ok
		}
		order = func(a, b trow) int {
			ra, oka := rank(&a)
			rb, okb := rank(&b)
			switch {
			case oka && okb:
				return cmp.Compare(ra, rb)
			case oka:
				return -1
			case okb:
				return 1
			}
			return base(&a, &b)
		}
	}
	if t.limit > 0 && len(t.rows) > t.limit {
		t.total = len(t.rows)
		t.rows = topRows(t.rows, t.limit, order)
		return
	}
	slices.SortFunc(t.rows, order)
}

// topRows returns the first k rows of rows in order, sorted: one pass
// that keeps the best k so far, so most rows cost one comparison.
func topRows(rows []trow, k int, order func(a, b trow) int) []trow {
	top := make([]trow, 0, k+1)
	for _, r := range rows {
		if len(top) == k && order(r, top[k-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, r, order)
		top = slices.Insert(top, i, r)
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}

// Key returns the identity of displayed row i: stable across frames while
// the row exists.
func (t *Table) Key(i int) string {
	if i < 0 || i >= len(t.rows) {
		return ""
	}
	return t.key(t.rows[i].ref)
}

// find returns the displayed index of the row with identity key, or -1.
func (t *Table) find(key string, hint int) int {
	if hint >= 0 && hint < len(t.rows) && t.Key(hint) == key {
		return hint
	}
	for i := range t.rows {
		if t.Key(i) == key {
			return i
		}
	}
	return -1
}

func (t *Table) key(ref int) string {
	m := t.m
	switch t.view {
	case ViewFlows:
		k := t.aggKeyAt(ref)
		return k.proto + "|" + k.local.String() + "|" + strconv.Itoa(int(k.lport)) + "|" + k.remote.String() + "|" + strconv.Itoa(int(k.rport))
	case ViewProcs:
		p := &m.Procs[ref]
		switch {
		case p.PID == 0:
			return "u|" + p.Unattributed
		case p.Exited:
			return "x|" + strconv.Itoa(p.PID)
		}
		return "p|" + strconv.Itoa(p.PID)
	case ViewConns:
		c := &m.Conns[ref]
		return c.Proto + "|" + netip.AddrPortFrom(c.Local, c.LocalPort).String() + "|" + netip.AddrPortFrom(c.Remote, c.RemotePort).String()
	case ViewRemotes:
		return m.Remotes[ref].Addr.String()
	case ViewLinks:
		return m.Links[ref].Name
	case ViewEgress:
		return t.egressKey(ref)
	}
	return ""
}

// labels returns the source and destination text of a row (what < and >
// sort by).
func (t *Table) labels(ref int) (src, dst string) {
	m := t.m
	switch t.view {
	case ViewFlows:
		var buf FlowRow
		f := m.flowAt(int(t.flows[ref].first), &buf)
		k := t.aggKeyOf(f.Proto, f.Local, f.Remote, f.LocalPort, f.RemotePort)
		return t.flowSide(k.local, k.lport, f.LocalName, f.LocalService, k.proto, t.st.HideLocal),
			t.flowSide(k.remote, k.rport, f.RemoteName, f.RemoteService, k.proto, t.st.HideRemote)
	case ViewProcs:
		p := &m.Procs[ref]
		if p.PID == 0 {
			return "[" + p.Unattributed + "]", ""
		}
		return p.Program, p.User
	case ViewConns:
		c := &m.Conns[ref]
		return t.endpoint(c.Local, c.LocalPort, "", "", c.Proto), t.endpoint(c.Remote, c.RemotePort, c.RemoteName, "", c.Proto)
	case ViewRemotes:
		r := &m.Remotes[ref]
		return t.host(r.Addr, r.Name), strings.Join(r.Processes, ",")
	case ViewLinks:
		l := &m.Links[ref]
		return l.Name, l.Qdisc
	case ViewEgress:
		return t.egressLabels(ref)
	}
	return "", ""
}

// appendFilterText appends the text a filter matches for one row: the
// shown labels, then the row's other searchable fields.
func (t *Table) appendFilterText(b []byte, ref int) []byte {
	src, dst := t.labels(ref)
	b = append(append(append(b, src...), ' '), dst...)
	m := t.m
	sp := func(s string) { b = append(append(b, ' '), s...) }
	switch t.view {
	case ViewFlows:
		a := &t.flows[ref]
		proc, cont := t.flowOwner(a)
		var buf FlowRow
		f := m.flowAt(int(a.first), &buf)
		k := t.aggKeyOf(f.Proto, f.Local, f.Remote, f.LocalPort, f.RemotePort)
		sp(f.Proto)
		sp(proc)
		sp(cont)
		b = k.local.AppendTo(append(b, ' '))
		b = k.remote.AppendTo(append(b, ' '))
	case ViewProcs:
		p := &m.Procs[ref]
		b = strconv.AppendInt(append(b, ' '), int64(p.PID), 10)
		sp(p.Cmdline)
		sp(p.Container)
	case ViewConns:
		c := &m.Conns[ref]
		sp(c.Process)
		sp(c.State)
		b = c.Remote.AppendTo(append(b, ' '))
	case ViewRemotes:
		b = m.Remotes[ref].Addr.AppendTo(append(b, ' '))
	}
	return b
}

// host shows a name when names are on and known, else the address.
func (t *Table) host(a netip.Addr, name string) string {
	if t.st.DNS && name != "" {
		return name
	}
	if !a.IsValid() {
		return "*"
	}
	return a.String()
}

func (t *Table) port(p uint16, service, proto string) string {
	if t.st.PortNames && service != "" {
		return service
	}
	return strconv.Itoa(int(p))
}

func (t *Table) endpoint(a netip.Addr, p uint16, name, service, proto string) string {
	h := t.host(a, name)
	if p == 0 && !(proto == "tcp" || proto == "udp") {
		return h
	}
	if a.Is6() && !(t.st.DNS && name != "") {
		h = "[" + h + "]"
	}
	return h + ":" + t.port(p, service, proto)
}

func (t *Table) flowSide(a netip.Addr, p uint16, name, service, proto string, hidden bool) string {
	if hidden {
		return "*"
	}
	if !t.st.Ports {
		return t.host(a, name)
	}
	return t.endpoint(a, p, name, service, proto)
}

// flowOwner returns the owning process and container of an aggregated row.
func (t *Table) flowOwner(a *flowAgg) (process, container string) {
	if a.owner < 0 {
		return "", ""
	}
	var buf FlowRow
	f := t.m.flowAt(int(a.owner), &buf)
	return f.Process, f.Container
}
