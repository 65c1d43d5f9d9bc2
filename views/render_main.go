package views

import (
	"strconv"
	"strings"

	"netriage/triage/attrib"
	"netriage/views/format"
)

// rateW is the width of a rate column ("999.9Mb/s").
const rateW = 9

func (f *Frame) rate(v float64) string { return format.FitRight(format.Rate(v, f.u), rateW) }

func (f *Frame) bytes(n uint64) string { return format.FitRight(format.Bytes(n, f.u.IEC), 8) }

func (f *Frame) bar(v float64, width int) string {
	if width <= 0 {
		return ""
	}
	r := 0.0
	if f.t.barMax > 0 {
		r = v / f.t.barMax
	}
	return format.Bar(r, width, ' ')
}

// marker is the selection marker column: it shows the selection without
// colour too.
func marker(sel bool) string {
	if sel {
		return "> "
	}
	return "  "
}

func (f *Frame) main(w, h int) []Line {
	foot := f.footerLines(h)
	vis := f.VisibleRows()
	first := f.st.Offset()
	last := min(f.t.Len(), first+vis)
	var out []Line
	switch f.st.View {
	case ViewFlows:
		out = f.flowsPane(w, first, last)
	case ViewProcs:
		out = f.procsPane(w, first, last)
	case ViewConns:
		out = f.connsPane(w, first, last)
	case ViewRemotes:
		out = f.remotesPane(w, first, last)
	case ViewLinks:
		out = f.linksPane(w, first, last)
	case ViewEgress:
		out = f.egressPane(w, first, last)
	}
	if f.t.Len() == 0 {
		msg := "no rows"
		switch {
		case f.st.Filter != "":
			msg = "no rows match the filter \"" + format.Cell(f.st.Filter) + "\" (Esc clears it)"
		case f.st.View == ViewProcs && len(f.m.Procs) == 0:
			msg = "no process data: attribution needs capture or socket counters (see the header)"
		case f.st.View == ViewFlows && f.m.NumFlows() == 0:
			msg = "no flows yet"
		case f.st.View == ViewEgress && f.egressEmpty() != "":
			msg = f.egressEmpty()
		}
		out = append(out, Line{Text: format.Fit("  "+msg, w)})
	}
	if foot > 0 {
		for len(out) < h-foot {
			out = append(out, Line{})
		}
		if f.st.View == ViewEgress {
			out = append(out[:h-foot], f.egressTotals(w)...)
		} else {
			out = append(out[:h-foot], f.flowTotals(w)...)
		}
	}
	return out
}

// flowCols computes the flows pane column widths for content width w.
func flowCols(w int) (side, barW, procW int) {
	barW = 6
	switch {
	case w >= 120:
		barW = 16
	case w >= 90:
		barW = 10
	}
	if w >= 140 {
		procW = 18
	}
	fixed := 2 + 3*(rateW+1) + barW + 1 + 4
	if w >= 100 {
		fixed += 9 // cumulative column
	}
	if procW > 0 {
		fixed += procW + 1
	}
	side = max((w-fixed)/2, 6)
	return
}

func (f *Frame) flowsPane(w, first, last int) []Line {
	st := f.st
	side, barW, procW := flowCols(w)
	showCum := w >= 100
	lh, rh := "local (source)", "remote (destination)"
	if side < 20 {
		lh, rh = "local", "remote"
	}
	hd := "  " + format.Fit(lh, side) + "    " + format.Fit(rh, side) +
		" " + format.FitRight(f.winHead(0), rateW) + " " + format.FitRight(f.winHead(1), rateW) + " " + format.FitRight(f.winHead(2), rateW)
	if showCum {
		hd += " " + format.FitRight("cum", 8)
	}
	hd += " " + format.Fit("bar "+st.BarWindow.String(), barW)
	if procW > 0 {
		hd += " " + format.Fit("process", procW)
	}
	out := []Line{{Text: format.Fit(hd, w), Style: StyleHeading}}
	blank := strings.Repeat(" ", side)
	for i := first; i < last; i++ {
		ref := f.t.rows[i].ref
		r := f.t.rowOf(ref)
		a := &f.t.flows[ref]
		src, dst := f.t.labels(ref)
		sel := i == st.Selected()
		style := StyleNormal
		if sel {
			style = StyleSelected
		}
		proc := ""
		if procW > 0 {
			p, _ := f.t.flowOwner(a)
			if a.owner >= 0 {
				p += "(" + strconv.Itoa(int(a.pid)) + ")"
			}
			if a.owners > 1 {
				p += " +" + strconv.Itoa(int(a.owners-1))
			}
			proc = " " + format.Fit(p, procW)
		}
		line := func(mark, left, arrow, right string, rates BytesPerSec, cum uint64, p string) Line {
			var b strings.Builder
			b.Grow(w + 32)
			b.WriteString(mark)
			b.WriteString(left)
			b.WriteString(arrow)
			b.WriteString(right)
			for _, v := range [3]float64{rates.W2s, rates.W10s, rates.W40s} {
				b.WriteByte(' ')
				b.WriteString(f.rate(v))
			}
			if showCum {
				b.WriteByte(' ')
				b.WriteString(f.bytes(cum))
			}
			b.WriteByte(' ')
			b.WriteString(f.bar(rates.Window(st.BarWindow), barW))
			b.WriteString(p)
			return Line{Text: b.String(), Style: style}
		}
		srcF, dstF := format.FitMiddle(src, side), format.FitMiddle(dst, side)
		switch st.Line {
		case LineTwo:
			out = append(out,
				line(marker(sel), srcF, " => ", dstF, r.sent, r.sentBytes, proc),
				line("  ", blank, " <= ", blank, r.recv, r.recvBytes, strings.Repeat(" ", len([]rune(proc)))))
		case LineSent:
			out = append(out, line(marker(sel), srcF, " => ", dstF, r.sent, r.sentBytes, proc))
		case LineRecv:
			out = append(out, line(marker(sel), srcF, " <= ", dstF, r.recv, r.recvBytes, proc))
		default:
			out = append(out, line(marker(sel), srcF, " <=>", dstF, r.sent.Add(r.recv), r.sentBytes+r.recvBytes, proc))
		}
	}
	return out
}

// winHead is the heading of rate column i (2s, 10s, 40s), marked with *
// while the run is younger than the window and the rate is the mean since
// start (the totals line says over how long).
func (f *Frame) winHead(i int) string {
	name := [3]string{"2s", "10s", "40s"}[i]
	if s := f.m.Totals.RateSeconds[i]; s > 0 && s < [3]int{2, 10, 40}[i] {
		return name + "*"
	}
	return name
}

func (f *Frame) flowTotals(w int) []Line {
	side, _, _ := flowCols(w)
	tot := f.m.Totals
	mk := func(tag string, r BytesPerSec, cum uint64) Line {
		left := format.Fit(tag+"  cum "+format.Bytes(cum, f.u.IEC)+"  peak "+format.Rate(r.Peak, f.u), 2+2*side+4)
		return Line{Text: format.Fit(left+" "+f.rate(r.W2s)+" "+f.rate(r.W10s)+" "+f.rate(r.W40s), w), Style: StyleHeading}
	}
	out := []Line{mk("TX", tot.Sent, tot.SentBytes), mk("RX", tot.Recv, tot.RecvBytes)}
	if s := tot.RateSeconds[2]; s > 0 && s < 40 {
		// The marked columns are means over the run so far.
		out[1].Text = format.Fit(out[1].Text+"   * over the "+strconv.Itoa(s)+" s since start", w)
	}
	return out
}

func (f *Frame) procsPane(w, first, last int) []Line {
	st := f.st
	userW, contW, barW, cmdW := 0, 0, 0, 0
	if w >= 100 {
		userW, barW = 9, 10
	}
	if w >= 120 {
		contW = 14
	}
	if w >= 180 {
		// Wide: container IDs and unit names whole (the command line
		// still gets the rest).
		contW = 32
	}
	fixed := 2 + 7 + 1 + 2*(rateW+1) + 9 + 6
	if userW > 0 {
		fixed += userW + 1
	}
	if contW > 0 {
		fixed += contW + 1
	}
	if barW > 0 {
		fixed += barW + 1
	}
	progW := max(w-fixed, 8)
	if w >= 140 {
		progW = 20
		cmdW = max(w-fixed-progW-1, 0)
	}
	win := st.BarWindow.String()
	cols := func(mark, pid, user, prog, cont, sent, recv, cum, conns, bar, cmd string) string {
		var b strings.Builder
		b.WriteString(mark + format.FitRight(pid, 7) + " ")
		if userW > 0 {
			b.WriteString(format.Fit(user, userW) + " ")
		}
		b.WriteString(format.Fit(prog, progW) + " ")
		if contW > 0 {
			b.WriteString(format.Fit(cont, contW) + " ")
		}
		b.WriteString(format.FitRight(sent, rateW) + " " + format.FitRight(recv, rateW) + " " + format.FitRight(cum, 8) + " " + format.FitRight(conns, 5))
		if barW > 0 {
			b.WriteString(" " + bar)
		}
		if cmdW > 0 {
			b.WriteString(" " + format.FitMiddle(cmd, cmdW))
		}
		return b.String()
	}
	out := []Line{{Text: format.Fit(cols("  ", "PID", "USER", "PROGRAM", "CONTAINER", "SENT "+win, "RECV "+win, "CUM", "CONNS", format.Fit("bar", barW), "COMMAND"), w), Style: StyleHeading}}
	for i := first; i < last; i++ {
		ref := f.t.rows[i].ref
		r := f.t.rowOf(ref)
		p := &f.m.Procs[ref]
		sel := i == st.Selected()
		pid, prog := strconv.Itoa(p.PID), p.Program
		if p.PID == 0 {
			pid, prog = "-", "["+p.Unattributed+"]"
		}
		line := cols(marker(sel), pid, p.User, prog, p.Container,
			format.Rate(r.sent.Window(st.BarWindow), f.u), format.Rate(r.recv.Window(st.BarWindow), f.u),
			format.Bytes(r.sentBytes+r.recvBytes, f.u.IEC), strconv.Itoa(p.Conns),
			f.bar(f.t.value(&r, st.BarWindow), barW), p.Cmdline)
		out = append(out, selLine(line, w, sel))
	}
	return out
}

func selLine(s string, w int, sel bool) Line {
	l := Line{Text: format.Fit(s, w)}
	if sel {
		l.Style = StyleSelected
	}
	return l
}

func (f *Frame) connsPane(w, first, last int) []Line {
	st := f.st
	procW, stateW := 12, 0
	if w >= 100 {
		procW = 16
	}
	if w >= 120 {
		stateW = 11
	}
	showCum := w >= 100
	// LIMIT, the TCP word, from 100 columns (the detail has it always).
	limitW := 0
	if w >= 100 {
		limitW = 11
	}
	fixed := 2 + 6 + procW + 1 + 2*(rateW+1)
	if limitW > 0 {
		fixed += limitW + 1
	}
	if showCum {
		fixed += 9
	}
	if stateW > 0 {
		fixed += stateW + 1
	}
	// The remote side (often a name) gets what an even split leaves over.
	side := max((w-fixed-2)/2, 8)
	rside := max(w-fixed-2-side, 8)
	win := st.BarWindow.String()
	cols := func(mark, proto, local, remote, state, proc, sent, recv, cum, limit string) string {
		s := mark + format.Fit(proto, 5) + " " + format.FitMiddle(local, side) + " " + format.FitMiddle(remote, rside) + " "
		if stateW > 0 {
			s += format.Fit(state, stateW) + " "
		}
		s += format.Fit(proc, procW) + " " + format.FitRight(sent, rateW) + " " + format.FitRight(recv, rateW)
		if showCum {
			s += " " + format.FitRight(cum, 8)
		}
		if limitW > 0 {
			s += " " + format.Fit(limit, limitW)
		}
		return s
	}
	out := []Line{{Text: format.Fit(cols("  ", "PROTO", "LOCAL", "REMOTE", "STATE", "PROCESS", "SENT "+win, "RECV "+win, "CUM", "LIMIT"), w), Style: StyleHeading}}
	for i := first; i < last; i++ {
		ref := f.t.rows[i].ref
		r := f.t.rowOf(ref)
		c := &f.m.Conns[ref]
		src, dst := f.t.labels(ref)
		proc := c.Process
		if c.PID != 0 {
			proc += "(" + strconv.Itoa(c.PID) + ")"
		} else if proc == "" {
			proc = "-"
		}
		sel := i == st.Selected()
		out = append(out, selLine(cols(marker(sel), c.Proto, src, dst, c.State, proc,
			format.Rate(r.sent.Window(st.BarWindow), f.u), format.Rate(r.recv.Window(st.BarWindow), f.u),
			format.Bytes(r.sentBytes+r.recvBytes, f.u.IEC), limitWord(c.TCP)), w, sel))
	}
	return out
}

// limitWord is a connection's LIMIT cell: its word, blank when unknown.
func limitWord(h *attrib.TCPHealth) string {
	if h == nil || h.Limit == attrib.LimitUnknown {
		return ""
	}
	return string(h.Limit)
}

func (f *Frame) remotesPane(w, first, last int) []Line {
	st := f.st
	hostW := 25
	if w >= 120 {
		hostW = 40
	}
	win := st.BarWindow.String()
	// Narrow panes (the overview's) drop PROCESSES, then CONNS, then CUM,
	// then narrow the host column, rather than cut a column in two.
	showCum, showConns, procW := true, true, 0
	rest := w - (2 + hostW + 2*(rateW+1))
	switch {
	case rest >= 9+6+1+8:
		procW = rest - 9 - 6 - 1
	case rest >= 9+6:
	case rest >= 9:
		showConns = false
	default:
		showCum, showConns = false, false
		hostW = max(w-2-2*(rateW+1), 8)
	}
	cols := func(mark, host, sent, recv, cum, conns, procs string) string {
		s := mark + format.FitMiddle(host, hostW) + " " + format.FitRight(sent, rateW) + " " + format.FitRight(recv, rateW)
		if showCum {
			s += " " + format.FitRight(cum, 8)
		}
		if showConns {
			s += " " + format.FitRight(conns, 5)
		}
		if procW > 0 {
			s += " " + format.Fit(procs, procW)
		}
		return s
	}
	out := []Line{{Text: format.Fit(cols("  ", "REMOTE", "SENT "+win, "RECV "+win, "CUM", "CONNS", "PROCESSES"), w), Style: StyleHeading}}
	for i := first; i < last; i++ {
		ref := f.t.rows[i].ref
		r := f.t.rowOf(ref)
		rm := &f.m.Remotes[ref]
		host, procs := f.t.labels(ref)
		sel := i == st.Selected()
		out = append(out, selLine(cols(marker(sel), host, format.Rate(r.sent.Window(st.BarWindow), f.u), format.Rate(r.recv.Window(st.BarWindow), f.u),
			format.Bytes(r.sentBytes+r.recvBytes, f.u.IEC), strconv.Itoa(rm.Conns), procs), w, sel))
	}
	return out
}

func utilText(bytesPerSec float64, capBps uint64) string {
	if capBps == 0 {
		return "-"
	}
	return strconv.Itoa(int(bytesPerSec*8/float64(capBps)*100+0.5)) + "%"
}

func (f *Frame) linksPane(w, first, last int) []Line {
	wide := w >= 120
	// Wide panes give names their kernel maximum (15 characters).
	nameW := 10
	if wide {
		nameW = 15
	}
	cols := func(mark, name, state, rx, tx, util, errs, qd, qdps, backlog, capa, src, over, qdisc string) string {
		s := mark + format.Fit(name, nameW) + " " + format.Fit(state, 5) + " " + format.FitRight(rx, rateW) + " " + format.FitRight(tx, rateW) + " " +
			format.FitRight(util, 10) + " " + format.FitRight(errs, 9) + " " + format.FitRight(qdps, 8) + " " + format.FitRight(backlog, 8)
		if wide {
			s += " " + format.FitRight(qd, 8) + " " + format.FitRight(over, 10) + " " + format.Fit(qdisc, 8) + " " + format.FitRight(capa, 9) + " " + format.Fit(src, 10)
		}
		return s
	}
	out := []Line{{Text: format.Fit(cols("  ", "IFACE", "STATE", "RX", "TX", "UTIL rx/tx", "ERR+DROP", "QDROPS", "QDROP/s", "BACKLOG", "CAPACITY", "SOURCE", "OVERLIMITS", "QDISC"), w), Style: StyleHeading}}
	for i := first; i < last; i++ {
		ref := f.t.rows[i].ref
		l := &f.m.Links[ref]
		capa := "unknown"
		if l.CapacityBps > 0 {
			capa = format.Rate(float64(l.CapacityBps)/8, format.Units{IEC: f.u.IEC})
		}
		util := utilText(l.RxBytesPerSec, l.RxCap()) + "/" + utilText(l.TxBytesPerSec, l.CapacityBps)
		sel := i == f.st.Selected()
		out = append(out, selLine(cols(marker(sel), l.Name, l.OperState, format.Rate(l.RxBytesPerSec, f.u), format.Rate(l.TxBytesPerSec, f.u), util,
			format.Count(l.RxErrors+l.TxErrors+l.RxDropped+l.TxDropped), format.Count(l.QdiscDrops), format.Count(uint64(l.QdiscDropsPerSec+0.5))+"/s",
			format.Bytes(l.QdiscBacklogBytes, f.u.IEC), capa, l.CapacitySource, format.Count(l.QdiscOverlimits), l.Qdisc), w, sel))
	}
	return out
}
