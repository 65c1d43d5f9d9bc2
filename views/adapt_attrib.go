package views

import (
	"net/netip"
	"slices"
	"strconv"

	"netriage/triage/attrib"
)

// This file adapts an attribution report (triage/attrib) to the Processes,
// Connections and Remotes views, and, in socket-counter mode, builds Flows
// rows from the connections so the iftop view is not empty without
// capture.

// rates converts attrib's three windows (bits per second) to BytesPerSec.
// attrib keeps no peak: Peak is the largest of the three windows, a lower
// bound of the true 40 s peak.
func rates(r2, r10, r40 attrib.Rates, sent bool) BytesPerSec {
	pick := func(r attrib.Rates) float64 {
		if sent {
			return r.SentBps / 8
		}
		return r.RecvBps / 8
	}
	b := BytesPerSec{W2s: pick(r2), W10s: pick(r10), W40s: pick(r40)}
	b.Peak = max(b.W2s, b.W10s, b.W40s)
	return b
}

// unattributedLabel is the display form of an attrib.Reason (the views
// and their detail text use "other protocols").
func unattributedLabel(r attrib.Reason) string {
	switch r {
	case attrib.ReasonOtherProto:
		return "other protocols"
	case "":
		return string(attrib.ReasonUnknown)
	}
	return string(r)
}

// containerLabel names a process's container, pod or systemd unit with
// the one spelling of attrib.Label; "" when none.
func containerLabel(p *attrib.Process) string { return p.Label() }

// netnsLabel is "host" for the namespace the UI runs in, "net:[INODE]"
// (as /proc/PID/ns/net reads) for another one, "" when unknown.
func netnsLabel(ino, host uint64) string {
	switch {
	case ino == 0:
		return ""
	case ino == host:
		return "host"
	}
	return "net:[" + strconv.FormatUint(ino, 10) + "]"
}

// AdaptAttrib converts an attribution report to the Processes,
// Connections and Remotes rows. hostNetns is the inode of the namespace
// the UI runs in (attrib.SocketTable.HostNetns), used to label each
// process's namespace. Unattributed reasons without traffic are left out.
// Text stays raw: the renderers sanitise it.
func AdaptAttrib(rep *attrib.Report, hostNetns uint64) (procs []ProcRow, conns []ConnRow, remotes []RemoteRow) {
	if rep == nil {
		return nil, nil, nil
	}
	names := make(map[attrib.ProcKey]string, len(rep.Processes))
	procs = make([]ProcRow, 0, len(rep.Processes)+len(rep.Unattributed))
	for i := range rep.Processes {
		p := &rep.Processes[i]
		prog := p.Process.Program
		if p.Exited {
			prog += exitedSuffix
		}
		names[p.Process.Key] = p.Process.Program
		ns := p.Netns
		if ns == 0 {
			ns = p.Process.Netns
		}
		procs = append(procs, ProcRow{
			PID: int(p.Process.Key.PID), User: p.Process.User, Program: prog, Cmdline: p.Process.Cmdline,
			Container: containerLabel(&p.Process), Netns: netnsLabel(ns, hostNetns), Exited: p.Exited,
			Sent: rates(p.Rate2s, p.Rate10s, p.Rate40s, true), Recv: rates(p.Rate2s, p.Rate10s, p.Rate40s, false),
			SentBytes: p.SentBytes, RecvBytes: p.RecvBytes, Conns: p.Connections,
		})
	}
	for i := range rep.Unattributed {
		u := &rep.Unattributed[i]
		if u.Flows == 0 && u.SentBytes == 0 && u.RecvBytes == 0 {
			continue
		}
		procs = append(procs, ProcRow{
			Unattributed: unattributedLabel(u.Reason),
			Sent:         rates(u.Rate2s, u.Rate10s, u.Rate40s, true), Recv: rates(u.Rate2s, u.Rate10s, u.Rate40s, false),
			SentBytes: u.SentBytes, RecvBytes: u.RecvBytes, Conns: u.Flows,
		})
	}
	conns = make([]ConnRow, 0, len(rep.Connections))
	for i := range rep.Connections {
		c := &rep.Connections[i]
		row := ConnRow{
			Proto: c.Key.Proto.String(), Local: c.Key.Local, Remote: c.Key.Remote,
			LocalPort: c.Key.LocalPort, RemotePort: c.Key.RemotePort,
			Sent: rates(c.Rate2s, c.Rate10s, c.Rate40s, true), Recv: rates(c.Rate2s, c.Rate10s, c.Rate40s, false),
			SentBytes: c.SentBytes, RecvBytes: c.RecvBytes, TCP: c.TCP,
		}
		if !c.Owner.Proc.IsZero() {
			row.PID = int(c.Owner.Proc.PID)
			row.Process = c.Program
			if row.Process == "" {
				row.Process = names[c.Owner.Proc]
			}
		}
		conns = append(conns, row)
	}
	remoteNames := make(map[netip.Addr]string, len(rep.Remotes))
	alone := make(map[string][]string, len(rep.Processes))
	remotes = make([]RemoteRow, 0, len(rep.Remotes))
	for i := range rep.Remotes {
		r := &rep.Remotes[i]
		row := RemoteRow{
			Addr: r.Addr, Name: r.Name,
			Sent: rates(r.Rate2s, r.Rate10s, r.Rate40s, true), Recv: rates(r.Rate2s, r.Rate10s, r.Rate40s, false),
			SentBytes: r.SentBytes, RecvBytes: r.RecvBytes, Conns: r.Connections,
		}
		for _, k := range r.Procs {
			n := names[k]
			switch {
			case n == "" || slices.Contains(row.Processes, n):
			case row.Processes == nil:
				// A remote of one program shares that program's slice
				// (capacity 1: a second name copies it).
				if row.Processes = alone[n]; row.Processes == nil {
					row.Processes = []string{n}
					alone[n] = row.Processes
				}
			default:
				row.Processes = append(row.Processes, n)
			}
		}
		if r.Name != "" {
			remoteNames[r.Addr] = r.Name
		}
		remotes = append(remotes, row)
	}
	for i := range conns {
		conns[i].RemoteName = remoteNames[conns[i].Remote]
	}
	return procs, conns, remotes
}

// FlowsFromConns builds Flows rows from connections, for socket-counter
// mode where there is no capture: each TCP connection becomes one flow
// with its socket counters (payload bytes, no headers). keep, when not
// nil, selects the connections whose local side is in the namespace the
// UI watches, so the two ends of a connection between two namespaces of
// the host are not both shown as traffic of the watched interfaces.
func FlowsFromConns(conns []ConnRow, keep func(local netip.Addr) bool) []FlowRow {
	out := make([]FlowRow, 0, len(conns))
	for i := range conns {
		c := &conns[i]
		if keep != nil && !keep(c.Local) {
			continue
		}
		out = append(out, FlowRow{
			Proto: c.Proto, Local: c.Local, Remote: c.Remote, LocalPort: c.LocalPort, RemotePort: c.RemotePort,
			RemoteName: c.RemoteName, Sent: c.Sent, Recv: c.Recv, SentBytes: c.SentBytes, RecvBytes: c.RecvBytes,
			PID: c.PID, Process: c.Process,
		})
	}
	return out
}

// TotalsOf sums the flows. Window rates add; the peaks come from hist
// (the series "totals/sent" and "totals/recv", which PushTotals feeds with
// the 2 s rate each tick) when hist is not nil, else they are the sum of
// the flows' peaks.
func TotalsOf(flows []FlowRow, hist *History) Totals {
	var t Totals
	for i := range flows {
		f := &flows[i]
		t.Sent, t.Recv = t.Sent.Add(f.Sent), t.Recv.Add(f.Recv)
		t.SentBytes += f.SentBytes
		t.RecvBytes += f.RecvBytes
	}
	if hist != nil {
		t.Sent.Peak = max(hist.Max(totalsSentKey), t.Sent.W2s)
		t.Recv.Peak = max(hist.Max(totalsRecvKey), t.Recv.W2s)
	}
	return t
}

// History keys of the totals (interface names never contain '/').
const (
	totalsSentKey = "totals/sent"
	totalsRecvKey = "totals/recv"
)

// PushTotals appends the totals' 2 s rates to hist, for TotalsOf's peaks.
// Keep hist as long as the peak window (40 samples at a 1 s interval).
func (h *History) PushTotals(t Totals) {
	h.Push(totalsSentKey, t.Sent.W2s)
	h.Push(totalsRecvKey, t.Recv.W2s)
}
