package views

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"netriage/triage/egress"
	"netriage/triage/engine"
	"netriage/views/format"
)

// The Egress view: the engine's egress rows (one per remote and process
// for the whole run) aggregated when the frame is built, one level at a
// time: the destination classes, one class's names, the processes that
// send to one name, one process's flows to that name. Enter goes down,
// Esc or Backspace up; UIState.Egress is the path.

// egressRows is the Egress view's rows at its current level.
type egressRows struct {
	level EgressLevel
	// groups are the rows, in the view's order (the Table's refs index
	// them): classes, names or processes as egress.Aggregate sums them,
	// or at the flows level one per flow of the flow table.
	groups []egress.Group
	// source says, on the names level, where each name came from: dns,
	// sni, ptr or address, several joined by "+".
	source []string
	// flow is, on the flows level, each row's index in Model.Flows.
	flow []int
	// total sums the level's rows. On the flows level run is the run's
	// total of the process's traffic to the name (the egress rows), which
	// the flows now in the flow table need not add up to.
	total, run egress.Group
}

// egressSort is the aggregation's order for the view's sort key; the
// rate and name orders are applied over it by Table.sort.
func egressSort(k EgressSortKey) egress.SortKey {
	if k == EgressByBytes {
		return egress.SortBytes
	}
	return egress.SortCost
}

// buildEgress fills the table with the current level's rows.
func (t *Table) buildEgress() {
	m, p := t.m, t.st.Egress
	e := &egressRows{level: p.Level}
	t.eg = e
	key := egressSort(t.st.EgressSort)
	sum := func(rows []egress.Row, by egress.Field) {
		s := egress.Aggregate(rows, m.EgressTable, m.EgressPrices, []egress.Field{by}, key)
		e.groups, e.total = s.Groups, s.Total
	}
	switch p.Level {
	case EgressClasses:
		sum(m.Egress, egress.ByClass)
	case EgressNames:
		rows := t.egressSubset(func(r *egress.Row, c egress.Class) bool { return c == p.Class })
		sum(rows, egress.ByName)
		e.source = nameSources(rows, e.groups)
	case EgressProcesses:
		sum(t.egressSubset(func(r *egress.Row, c egress.Class) bool { return c == p.Class && egress.NameOf(r) == p.Name }), egress.ByProcess)
	case EgressFlows:
		rows := t.egressSubset(func(r *egress.Row, c egress.Class) bool {
			return c == p.Class && egress.NameOf(r) == p.Name && r.Process == p.Process
		})
		e.run = egress.Aggregate(rows, m.EgressTable, m.EgressPrices, nil, key).Total
		t.egressFlows(rows)
	}
	t.data = make([]rowData, len(e.groups))
	for i := range e.groups {
		g := &e.groups[i]
		t.data[i] = rowData{sent: flat(g.SentRate), recv: flat(g.ReceivedRate), sentBytes: g.Sent, recvBytes: g.Received}
	}
}

// flat is a rate known for one window only (the egress rows' 40 s) in
// every window.
func flat(v float64) BytesPerSec { return BytesPerSec{W2s: v, W10s: v, W40s: v, Peak: v} }

// egressSubset returns the model's egress rows that keep accepts, each
// with its class.
func (t *Table) egressSubset(keep func(r *egress.Row, c egress.Class) bool) []egress.Row {
	rows := t.m.Egress
	kept := make([]bool, len(rows))
	n := 0
	for i := range rows {
		if kept[i] = keep(&rows[i], t.m.EgressTable.Classify(rows[i].Remote).Class); kept[i] {
			n++
		}
	}
	out := make([]egress.Row, 0, n)
	for i := range rows {
		if kept[i] {
			out = append(out, rows[i])
		}
	}
	return out
}

// nameSources says for each group of names where its name came from. A
// row without a name is grouped under its address (egress.NameOf), so
// those are looked up by address, without making their text again.
func nameSources(rows []egress.Row, groups []egress.Group) []string {
	const (
		dns = 1 << iota
		sni
		ptr
		addr
	)
	named := make(map[string]uint8)
	var bare map[netip.Addr]bool
	for i := range rows {
		r := &rows[i]
		switch {
		case r.Folded:
		case r.Name == "":
			if r.Remote.IsValid() {
				if bare == nil {
					bare = make(map[netip.Addr]bool)
				}
				bare[r.Remote.Unmap()] = true
			}
		case r.NameSource == "dns":
			named[r.Name] |= dns
		case r.NameSource == "sni":
			named[r.Name] |= sni
		case r.NameSource == "ptr":
			named[r.Name] |= ptr
		}
	}
	out := make([]string, len(groups))
	for i := range groups {
		n := groups[i].Key.Name
		b := named[n]
		if a, err := netip.ParseAddr(n); err == nil && bare[a] {
			b |= addr
		}
		out[i] = sourceNames[b]
	}
	return out
}

// sourceNames are the texts of nameSources' bit sets: dns, sni, ptr and
// address, in that order, joined by "+"; "-" for none.
var sourceNames = func() [16]string {
	var out [16]string
	for b := range out {
		var parts []string
		for j, n := range [...]string{"dns", "sni", "ptr", "address"} {
			if b&(1<<j) != 0 {
				parts = append(parts, n)
			}
		}
		out[b] = strings.Join(parts, "+")
		if out[b] == "" {
			out[b] = "-"
		}
	}
	return out
}()

// FlowProcess is the egress rows' label of a flow's owner
// (engine.ProcessLabel), "" when it has none.
func FlowProcess(f *FlowRow) string {
	if f.PID == 0 {
		return ""
	}
	return engine.ProcessLabel(f.Process, f.PID, f.Container)
}

// egressFlows lists the flows of the flow table behind rows (one process's
// rows to one name): those to the rows' remotes with that process as
// owner. The folded name "(other)" stands for the remotes that have no
// row of their own: its flows are the process's flows of the class to
// any remote without one.
func (t *Table) egressFlows(rows []egress.Row) {
	m, p, e := t.m, t.st.Egress, t.eg
	folded := p.Name == egress.FoldedName
	remotes := make(map[netip.Addr]bool, len(rows))
	if folded {
		for i := range m.Egress {
			if r := &m.Egress[i]; r.Process == p.Process && !r.Folded {
				remotes[r.Remote] = true
			}
		}
	} else {
		for i := range rows {
			remotes[rows[i].Remote] = true
		}
	}
	var buf FlowRow
	for i, n := 0, m.NumFlows(); i < n; i++ {
		f := m.flowAt(i, &buf)
		a := f.Remote.Unmap().WithZone("")
		if remotes[a] == folded || folded && m.EgressTable.Classify(a).Class != p.Class || FlowProcess(f) != p.Process {
			continue
		}
		g := egress.Group{Key: egress.Key{Class: p.Class, Name: p.Name, Process: p.Process}, Rows: 1,
			Sent: f.SentBytes, Received: f.RecvBytes, SentRate: f.Sent.W40s, ReceivedRate: f.Recv.W40s,
			Cost:    m.EgressPrices.Cost(p.Class, f.SentBytes, f.RecvBytes),
			PerHour: m.EgressPrices.PerHour(p.Class, f.Sent.W40s, f.Recv.W40s)}
		e.groups = append(e.groups, g)
		e.flow = append(e.flow, i)
		addGroup(&e.total, &g)
	}
	// One order for the groups and their flows: the aggregation's, then
	// the flow table's.
	idx := make([]int, len(e.groups))
	for i := range idx {
		idx[i] = i
	}
	key := egressSort(t.st.EgressSort)
	slices.SortStableFunc(idx, func(a, b int) int { return egress.CompareGroups(&e.groups[a], &e.groups[b], key) })
	gs, fl := make([]egress.Group, len(idx)), make([]int, len(idx))
	for i, j := range idx {
		gs[i], fl[i] = e.groups[j], e.flow[j]
	}
	e.groups, e.flow = gs, fl
}

// addGroup adds g's numbers to sum.
func addGroup(sum, g *egress.Group) {
	sum.Rows += g.Rows
	sum.Sent += g.Sent
	sum.Received += g.Received
	sum.SentRate += g.SentRate
	sum.ReceivedRate += g.ReceivedRate
	sum.Cost = sum.Cost.Add(g.Cost)
	sum.PerHour = sum.PerHour.Add(g.PerHour)
}

// egressKeyAt returns the key of displayed row i of the Egress view.
func (t *Table) egressKeyAt(i int) (egress.Key, bool) {
	if t == nil || t.eg == nil || i < 0 || i >= len(t.rows) {
		return egress.Key{}, false
	}
	return t.eg.groups[t.rows[i].ref].Key, true
}

// egressKey is the identity of an Egress row on its level.
func (t *Table) egressKey(ref int) string {
	k := t.eg.groups[ref].Key
	switch t.eg.level {
	case EgressClasses:
		return "c|" + string(k.Class)
	case EgressNames:
		return "n|" + k.Name
	case EgressProcesses:
		return "p|" + k.Process
	}
	var buf FlowRow
	f := t.m.flowAt(t.eg.flow[ref], &buf)
	return "f|" + f.Proto + "|" + netip.AddrPortFrom(f.Local, f.LocalPort).String() + "|" + netip.AddrPortFrom(f.Remote, f.RemotePort).String()
}

// egressLabels are an Egress row's text: its class, name (and where the
// name came from), process or flow.
func (t *Table) egressLabels(ref int) (label, detail string) {
	k := t.eg.groups[ref].Key
	switch t.eg.level {
	case EgressClasses:
		return string(k.Class), ""
	case EgressNames:
		return egressName(k.Name), t.eg.source[ref]
	case EgressProcesses:
		return egressProcess(k.Process), ""
	}
	// The remote side first: a narrow pane cuts the local one.
	var buf FlowRow
	f := t.m.flowAt(t.eg.flow[ref], &buf)
	return f.Proto + " " + t.endpoint(f.Remote, f.RemotePort, "", f.RemoteService, f.Proto) + " from " +
		t.endpoint(f.Local, f.LocalPort, "", f.LocalService, f.Proto), ""
}

// egressName is how a name shows: the bytes of no flow row (the unknown
// class) have none.
func egressName(n string) string {
	if n == "" {
		return "(no address)"
	}
	return n
}

// egressProcess is how a process label shows.
func egressProcess(p string) string {
	if p == "" {
		return "(unattributed)"
	}
	return p
}

// egressValue is what the Table's sort orders an Egress row by: the
// rate, or nothing (the rows' own order, the aggregation's).
func (t *Table) egressValue(ref int) float64 {
	if t.st.EgressSort == EgressByRate {
		g := &t.eg.groups[ref]
		return g.SentRate + g.ReceivedRate
	}
	return 0
}

// egressTitle is the main pane's title in the Egress view: the path down
// to the level shown. Titles are ASCII (see paneTitle), so the path is
// joined by ">" and other runes of names become '?'.
func (f *Frame) egressTitle() string {
	p := f.st.Egress
	path := "Egress"
	what := [...]string{"by class", "names", "processes", "flows"}[p.Level]
	if p.Level > EgressClasses {
		path += " > " + asciiTitle(string(p.Class), 32)
	}
	if p.Level > EgressNames {
		path += " > " + asciiTitle(egressName(p.Name), 48)
	}
	if p.Level > EgressProcesses {
		path += " > " + asciiTitle(egressProcess(p.Process), 40)
	}
	n, sel := f.t.Len(), 0
	if n > 0 {
		sel = f.st.Selected() + 1
	}
	return path + ": " + what + ", row " + strconv.Itoa(sel) + " of " + strconv.Itoa(n)
}

// asciiTitle makes untrusted text safe for a frame title: Cell, cut in
// the middle to max runes, and every rune outside printable ASCII '?'.
func asciiTitle(s string, max int) string {
	s = format.FitMiddle(s, max)
	s = strings.TrimRight(s, " ")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// egressCols are the Egress pane's column widths for content width w:
// the label (class, name, process, flow) gets what the numbers leave, and
// narrow panes drop RECV/s, then RECEIVED, then SHARE to keep it readable.
type egressCols struct {
	label, source, money    int
	recv, recvRate, share   bool
	rateSuffix, moneySuffix string
}

func (f *Frame) egressColumns(w int) egressCols {
	// Money is ">=" and up to three significant digits after the zeros
	// of a fraction of a cent (format.AmountText): ">=0.0000394".
	c := egressCols{money: 11, recv: true, recvRate: true, share: true}
	if w >= 100 {
		c.money = 12
	}
	minLabel := 16
	if f.t.eg.level == EgressNames {
		c.source, minLabel = 8, 18
	}
	if f.t.eg.level == EgressFlows {
		minLabel = 30
	}
	width := func() int {
		n := 2 + 9 + rateW + 1 + 2*(c.money+1)
		if c.source > 0 {
			n += c.source + 1
		}
		if c.recv {
			n += 9
		}
		if c.recvRate {
			n += rateW + 1
		}
		if c.share {
			n += 7
		}
		return n
	}
	for _, drop := range []*bool{&c.recvRate, &c.recv, &c.share} {
		if w-width() >= minLabel {
			break
		}
		*drop = false
	}
	c.label = max(w-width(), 8)
	if s := f.m.Totals.RateSeconds[2]; s > 0 && s < 40 {
		c.rateSuffix = "*"
	}
	if cur := format.Sanitize(f.m.EgressPrices.Currency, 4); cur != "" {
		c.moneySuffix = " " + cur
	}
	return c
}

// egressLine is one line of the Egress pane in the columns of c.
func (f *Frame) egressLine(c egressCols, mark, label, source string, g *egress.Group, total *egress.Group) string {
	var b strings.Builder
	b.WriteString(mark)
	if f.t.eg.level == EgressFlows {
		b.WriteString(format.Fit(label, c.label))
	} else {
		b.WriteString(format.FitMiddle(label, c.label))
	}
	if c.source > 0 {
		b.WriteString(" " + format.Fit(source, c.source))
	}
	b.WriteString(" " + format.FitRight(format.Bytes(g.Sent, f.u.IEC), 8))
	if c.recv {
		b.WriteString(" " + format.FitRight(format.Bytes(g.Received, f.u.IEC), 8))
	}
	b.WriteString(" " + f.rate(g.SentRate))
	if c.recvRate {
		b.WriteString(" " + f.rate(g.ReceivedRate))
	}
	b.WriteString(" " + format.FitRight(format.Money(g.Cost.Amount, float64(g.Cost.UnpricedBytes), float64(g.Sent+g.Received), ""), c.money))
	b.WriteString(" " + format.FitRight(format.Money(g.PerHour.Amount, g.PerHour.UnpricedBytesPerHr, (g.SentRate+g.ReceivedRate)*3600, ""), c.money))
	if c.share {
		share := "-"
		if total.Sent > 0 {
			share = format.Percent(float64(g.Sent) / float64(total.Sent))
		}
		b.WriteString(" " + format.FitRight(share, 6))
	}
	return b.String()
}

// egressPane renders the Egress view's rows first..last-1 under their
// heading.
func (f *Frame) egressPane(w, first, last int) []Line {
	c := f.egressColumns(w)
	head := [...]string{"CLASS", "NAME", "PROCESS", "FLOW"}[f.t.eg.level]
	var b strings.Builder
	b.WriteString("  " + format.Fit(head, c.label))
	if c.source > 0 {
		b.WriteString(" " + format.Fit("SOURCE", c.source))
	}
	b.WriteString(" " + format.FitRight("SENT", 8))
	if c.recv {
		b.WriteString(" " + format.FitRight("RECEIVED", 8))
	}
	b.WriteString(" " + format.FitRight("SENT/s"+c.rateSuffix, rateW))
	if c.recvRate {
		b.WriteString(" " + format.FitRight("RECV/s"+c.rateSuffix, rateW))
	}
	b.WriteString(" " + format.FitRight("COST"+c.moneySuffix, c.money) + " " + format.FitRight("COST/H"+c.moneySuffix, c.money))
	if c.share {
		b.WriteString(" " + format.FitRight("SHARE", 6))
	}
	out := []Line{{Text: format.Fit(b.String(), w), Style: StyleHeading}}
	for i := first; i < last; i++ {
		ref := f.t.rows[i].ref
		label, source := f.t.egressLabels(ref)
		sel := i == f.st.Selected()
		out = append(out, selLine(f.egressLine(c, marker(sel), label, source, &f.t.eg.groups[ref], &f.t.eg.total), w, sel))
	}
	return out
}

// egressTotals is the Egress pane's footer: the level's total in the
// columns, and what the numbers mean.
func (f *Frame) egressTotals(w int) []Line {
	e := f.t.eg
	c := f.egressColumns(w)
	label := "TOTAL"
	switch e.level {
	case EgressClasses:
		label = "TOTAL (all flows)"
	case EgressFlows:
		label = "TOTAL of these flows"
	}
	var notes []string
	switch {
	case e.level == EgressFlows:
		notes = append(notes, "flows now in the flow table; over the run: sent "+format.Bytes(e.run.Sent, f.u.IEC)+", received "+format.Bytes(e.run.Received, f.u.IEC))
	case len(f.m.EgressPrices.Classes) == 0:
		notes = append(notes, "no prices configured: costs -, bytes only (egress.prices)")
	default:
		p := "prices per " + f.m.EgressPrices.Unit.String()
		if cur := format.Sanitize(f.m.EgressPrices.Currency, 8); cur != "" {
			p += " in " + cur
		}
		notes = append(notes, p+"; - no price, >= lower bound")
	}
	if c.rateSuffix != "" {
		notes = append(notes, "* over the "+strconv.Itoa(f.m.Totals.RateSeconds[2])+" s since start")
	}
	if f.m.EgressFolded > 0 && e.level != EgressFlows {
		notes = append(notes, format.Count(f.m.EgressFolded)+" flows in (other) rows")
	}
	return []Line{
		{Text: format.Fit(f.egressLine(c, "  ", label, "", &e.total, &e.total), w), Style: StyleHeading},
		{Text: format.Fit("  "+strings.Join(notes, "; "), w), Style: StyleHeading},
	}
}

// egressEmpty says why the Egress view has no rows.
func (f *Frame) egressEmpty() string {
	switch {
	case len(f.m.Egress) == 0:
		return "no egress rows: the Egress view needs packet capture (see the header)"
	case f.st.Egress.Level == EgressFlows && f.st.Filter == "":
		return "none of these flows is in the flow table now (they ended): Esc goes up"
	}
	return ""
}
