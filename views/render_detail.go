package views

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"netriage/triage/attrib"
	"netriage/views/format"
)

// detail renders the selected row's detail: a flow's process, container,
// remote name and history; a process's connections and remotes; an
// interface's counters and explaining flows.
func (f *Frame) detail(w, h int) []Line {
	if f.t.Len() == 0 {
		return []Line{{Text: format.Fit("nothing selected", w)}}
	}
	ref := f.t.rows[f.st.Selected()].ref
	r := f.t.rowRates(ref)
	var out []Line
	// A value longer than the pane wraps at spaces under itself rather
	// than being cut.
	kv := func(k, v string) {
		for i, part := range wrapWords(format.Cell(v), max(w-15, 10)) {
			if i > 0 {
				k = ""
			}
			out = append(out, Line{Text: format.Fit(format.Fit(k, 14)+" "+part, w)})
		}
	}
	head := func(s string) { out = append(out, Line{Text: format.Fit(s, w), Style: StyleHeading}) }
	rates := func(tag string, b BytesPerSec, cum uint64) {
		kv(tag, fmt.Sprintf("2s %s  10s %s  40s %s  peak %s  cum %s", format.Rate(b.W2s, f.u), format.Rate(b.W10s, f.u),
			format.Rate(b.W40s, f.u), format.Rate(b.Peak, f.u), format.Bytes(cum, f.u.IEC)))
	}
	switch f.st.View {
	case ViewFlows:
		a := &f.t.flows[ref]
		src, dst := f.t.labels(ref)
		head(fmt.Sprintf("%s  <=>  %s", format.Cell(src), format.Cell(dst)))
		var buf FlowRow
		first := f.m.flowAt(int(a.first), &buf)
		if a.members > 1 {
			kv("flows", strconv.Itoa(int(a.members))+" 5-tuples in this row (p shows ports)")
		} else {
			kv("flow", first.Proto+" "+endpointPlain(first.Local, first.LocalPort)+" ⇄ "+endpointPlain(first.Remote, first.RemotePort))
		}
		proc := "unknown (no owning socket seen)"
		process, container := f.t.flowOwner(a)
		if a.owner >= 0 {
			proc = process + " (pid " + strconv.Itoa(int(a.pid)) + ")"
			if a.owners > 1 {
				proc += fmt.Sprintf(" and %d other processes", a.owners-1)
			}
		}
		kv("process", proc)
		rates("sent", r.sent, r.sentBytes)
		rates("received", r.recv, r.recvBytes)
		kv("remote name", orNone(first.RemoteName, "(not resolved)"))
		kv("container", orNone(container, "none"))
		if a.members == 1 && len(first.HistoryBytesPerSec) > 0 {
			kv("history", format.Sparkline(first.HistoryBytesPerSec, max(min(w-16-15, 60), 8), 0)+" (newest right)")
		}
		if a.members == 1 && first.Proto == "tcp" {
			if c := f.connOf(first); c != nil && c.TCP != nil {
				f.tcpDetail(c.TCP, kv)
			}
		}
	case ViewProcs:
		p := &f.m.Procs[ref]
		if p.PID == 0 {
			if p.Unattributed == olderExited {
				head(olderExited)
			} else {
				head("traffic without an owning process: " + format.Cell(p.Unattributed))
			}
			kv("why", unattributedWhy(p.Unattributed))
			rates("sent", r.sent, r.sentBytes)
			rates("received", r.recv, r.recvBytes)
			break
		}
		head(fmt.Sprintf("%s (pid %d, user %s)", format.Cell(p.Program), p.PID, format.Cell(orNone(p.User, "?"))))
		rates("sent", r.sent, r.sentBytes)
		rates("received", r.recv, r.recvBytes)
		kv("command", p.Cmdline)
		kv("container", orNone(p.Container, "none")+"  netns "+orNone(p.Netns, "host"))
		conns := f.connsOf(func(c *ConnRow) bool { return c.PID == p.PID })
		head(fmt.Sprintf("connections (%d)", len(conns)))
		for _, c := range conns {
			out = append(out, Line{Text: format.Fit("  "+f.connText(c), w)})
		}
		rem := map[string]bool{}
		var names []string
		for _, c := range conns {
			n := f.t.host(c.Remote, c.RemoteName)
			if !rem[n] {
				rem[n] = true
				names = append(names, n)
			}
		}
		head(fmt.Sprintf("remotes (%d)", len(names)))
		kv("", strings.Join(names, ", "))
	case ViewConns:
		c := &f.m.Conns[ref]
		head(f.connText(c))
		kv("remote name", orNone(c.RemoteName, "(not resolved)"))
		proc := "unknown"
		if c.PID != 0 {
			proc = c.Process + " (pid " + strconv.Itoa(c.PID) + ")"
		}
		kv("process", proc)
		kv("state", orNone(c.State, "?"))
		rates("sent", r.sent, r.sentBytes)
		rates("received", r.recv, r.recvBytes)
		if c.TCP != nil {
			f.tcpDetail(c.TCP, kv)
		}
	case ViewRemotes:
		rm := &f.m.Remotes[ref]
		head(rm.Addr.String() + "  " + format.Cell(orNone(rm.Name, "(not resolved)")))
		kv("processes", strings.Join(rm.Processes, ", "))
		rates("sent", r.sent, r.sentBytes)
		rates("received", r.recv, r.recvBytes)
		conns := f.connsOf(func(c *ConnRow) bool { return c.Remote == rm.Addr })
		head(fmt.Sprintf("connections (%d)", len(conns)))
		for _, c := range conns {
			out = append(out, Line{Text: format.Fit("  "+f.connText(c), w)})
		}
	case ViewLinks:
		l := &f.m.Links[ref]
		capa := "unknown (set --link-speed " + format.Cell(l.Name) + "=RATE)"
		if l.CapacityBps > 0 {
			capa = format.Rate(float64(l.CapacityBps)/8, format.Units{IEC: f.u.IEC}) + " from " + l.CapacitySource
			if rx := l.RxCap(); rx != l.CapacityBps {
				rxs := "unknown"
				if rx > 0 {
					rxs = format.Rate(float64(rx)/8, format.Units{IEC: f.u.IEC})
				}
				capa = "tx " + capa + ", rx " + rxs + " (a shaper limits egress only)"
			}
		}
		head(fmt.Sprintf("%s  %s  mtu %d  capacity %s", format.Cell(l.Name), format.Cell(l.OperState), l.MTU, format.Cell(capa)))
		kv("rx", fmt.Sprintf("%s  %s  %s pkts  %d errors  %d dropped", format.Rate(l.RxBytesPerSec, f.u), format.Bytes(l.RxBytes, f.u.IEC), format.Count(l.RxPackets), l.RxErrors, l.RxDropped))
		kv("tx", fmt.Sprintf("%s  %s  %s pkts  %d errors  %d dropped", format.Rate(l.TxBytesPerSec, f.u), format.Bytes(l.TxBytes, f.u.IEC), format.Count(l.TxPackets), l.TxErrors, l.TxDropped))
		kv("qdisc "+orNone(l.Qdisc, "?"), fmt.Sprintf("%d drops (%.0f/s)  backlog %s / %d pkts  %d overlimits  %d requeues",
			l.QdiscDrops, l.QdiscDropsPerSec, format.Bytes(l.QdiscBacklogBytes, f.u.IEC), l.QdiscBacklogPackets, l.QdiscOverlimits, l.QdiscRequeues))
		for _, d := range []struct {
			name string
			b    *BurstView
		}{{"tx", l.TxBursts}, {"rx", l.RxBursts}} {
			if b := d.b; b != nil {
				txt := fmt.Sprintf("peak %g ms %s", b.IntervalMs, format.Rate(b.PeakBytesPerSec, f.u))
				if b.PeakUtil != nil {
					txt += fmt.Sprintf(" = %s, %.1f s ≥ %s, %.1f s ≥ %s of %.1f s", format.Percent(*b.PeakUtil),
						b.AboveCritSec, format.Percent(b.Crit), b.AboveWarnSec, format.Percent(b.Warn), b.SampledSec)
				}
				kv("bursts "+d.name, txt)
			}
		}
		head("explained by (" + format.Plural(len(l.Explain), "flow") + ")")
		for _, e := range l.Explain {
			out = append(out, Line{Text: format.Fit(fmt.Sprintf("  %6s  %s  %s  %s", format.Percent(e.Share), format.FitRight(format.Rate(e.BytesPerSec, f.u), rateW),
				format.Cell(e.Label), format.Cell(e.Owner)), w)})
		}
	}
	if len(out) > h && h > 0 {
		out = out[:h]
		out[h-1] = Line{Text: format.Fit("… (more below; enlarge the terminal)", w)}
	}
	return out
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func endpointPlain(a netip.Addr, p uint16) string {
	if p == 0 {
		return a.String()
	}
	return netip.AddrPortFrom(a, p).String()
}

func unattributedWhy(reason string) string {
	switch reason {
	case "forwarded":
		return "routed or bridged through this host: no local socket owns it"
	case "closed":
		return "the socket closed before it was seen"
	case "other protocols":
		return "ICMP and other protocols have no sockets to join"
	case olderExited:
		return "processes that exited before the last " + strconv.Itoa(defaultMaxExited) + " ones listed by name: their bytes"
	}
	return "no socket matched (attribution may lack privileges)"
}

// connsOf returns the model's connections matching keep, largest first,
// at most 50.
func (f *Frame) connsOf(keep func(*ConnRow) bool) []*ConnRow {
	var out []*ConnRow
	for i := range f.m.Conns {
		if c := &f.m.Conns[i]; keep(c) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *ConnRow) int {
		return cmp.Compare(b.Sent.W10s+b.Recv.W10s, a.Sent.W10s+a.Recv.W10s)
	})
	if len(out) > 50 {
		out = out[:50]
	}
	return out
}

// connOf returns the connection of a flow's 5-tuple (either side), or nil.
func (f *Frame) connOf(fl *FlowRow) *ConnRow {
	for i := range f.m.Conns {
		c := &f.m.Conns[i]
		if c.Proto != fl.Proto {
			continue
		}
		if c.Local == fl.Local && c.LocalPort == fl.LocalPort && c.Remote == fl.Remote && c.RemotePort == fl.RemotePort ||
			c.Local == fl.Remote && c.LocalPort == fl.RemotePort && c.Remote == fl.Local && c.RemotePort == fl.LocalPort {
			return c
		}
	}
	return nil
}

// tcpDetail adds a TCP connection's health to a detail: the word and its
// reason, RTT, retransmissions, congestion window, delivery and pacing
// rates, and the busy and limited shares.
func (f *Frame) tcpDetail(h *attrib.TCPHealth, kv func(k, v string)) {
	kv("limited by", h.Limit.String()+": "+h.Why())
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
	}
	rtt := "avg " + ms(h.RTT) + ", var " + ms(h.RTTVar)
	if h.MinRTT > 0 {
		rtt = "min " + ms(h.MinRTT) + ", " + rtt
	}
	kv("RTT", rtt)
	retr := strconv.FormatUint(uint64(h.TotalRetrans), 10) + " segments in all"
	if h.Interval > 0 {
		retr = fmt.Sprintf("%d segments in the last %.1f s, %d in all", h.Retrans, h.Interval.Seconds(), h.TotalRetrans)
	}
	if h.RetransShare >= 0 {
		retr += " (" + format.Percent(h.RetransShare) + " of bytes)"
	}
	kv("retransmits", retr)
	kv("cwnd", strconv.FormatUint(uint64(h.Cwnd), 10)+" segments")
	rate := func(v uint64) string {
		if v == 0 {
			return "unknown"
		}
		return format.Rate(float64(v), f.u)
	}
	kv("delivery", rate(h.DeliveryBps)+", pacing "+rate(h.PacingBps))
	share := func(v float64) string {
		if v < 0 {
			return "?"
		}
		return strconv.FormatFloat(100*v, 'f', 0, 64) + "%"
	}
	busy := "unknown (one sample, or a kernel before 4.10)"
	if h.BusyShare >= 0 {
		busy = share(h.BusyShare) + " of the time; rwnd-limited " + share(h.RwndShare) + ", sndbuf-limited " + share(h.SndbufShare) + " of it"
	}
	kv("busy", busy)
}

func (f *Frame) connText(c *ConnRow) string {
	return fmt.Sprintf("%s %s ⇄ %s  sent %s recv %s", c.Proto, f.t.endpoint(c.Local, c.LocalPort, "", "", c.Proto),
		format.Cell(f.t.endpoint(c.Remote, c.RemotePort, c.RemoteName, "", c.Proto)), format.Rate(c.Sent.W10s, f.u), format.Rate(c.Recv.W10s, f.u))
}

// wrapWords splits s into lines of at most width runes at spaces (a word
// longer than width is cut into pieces).
func wrapWords(s string, width int) []string {
	if utf8.RuneCountInString(s) <= width {
		return []string{s}
	}
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(s) {
		wr := []rune(word)
		switch {
		case len(cur) == 0:
		case len(cur)+1+len(wr) <= width:
			cur = append(cur, ' ')
		default:
			lines = append(lines, string(cur))
			cur = cur[:0]
		}
		for len(cur)+len(wr) > width {
			n := width - len(cur)
			lines = append(lines, string(append(cur, wr[:n]...)))
			cur, wr = cur[:0], wr[n:]
		}
		cur = append(cur, wr...)
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}
