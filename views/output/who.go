package output

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"netriage/triage/attrib"
	"netriage/triage/flows"
	"netriage/views/format"
)

// WhoView is one of the three attribution views: procs, conns, remotes.
type WhoView string

// The attribution views.
const (
	ViewProcs   WhoView = "procs"
	ViewConns   WhoView = "conns"
	ViewRemotes WhoView = "remotes"
)

// SocketModeNote is the label every output carries in socket-counter mode.
const SocketModeNote = "socket-counter mode: TCP payload bytes from tcp_info (bytes_acked, bytes_received); UDP and connections shorter than one refresh are not counted"

// Caps of untrusted text in every format of the attribution views.
const (
	maxCmdline = 4096
	maxText    = 256
)

func san(s string) string { return format.Sanitize(s, maxText) }

// WhoRates is a sent/received rate pair in bits per second, rounded to
// three decimals.
type WhoRates struct {
	SentBps float64 `json:"sent_bps"`
	RecvBps float64 `json:"recv_bps"`
}

// jr rounds rates to three decimals, as every format shows them.
func jr(r attrib.Rates) WhoRates {
	return WhoRates{SentBps: round3(r.SentBps), RecvBps: round3(r.RecvBps)}
}

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

// WhoContainer is a process's container.
type WhoContainer struct {
	Runtime string `json:"runtime"`
	ID      string `json:"id"`
	PodUID  string `json:"pod_uid,omitempty"`
}

// WhoProc is one process of a WhoRecord.
type WhoProc struct {
	PID         int32         `json:"pid"`
	StartTime   *string       `json:"start_time"`
	User        string        `json:"user"`
	UID         uint32        `json:"uid"`
	Program     string        `json:"program"`
	Cmdline     string        `json:"cmdline"`
	Container   *WhoContainer `json:"container"`
	Unit        *string       `json:"unit"`
	Netns       uint64        `json:"netns"`
	Exited      bool          `json:"exited"`
	Incomplete  string        `json:"incomplete,omitempty"`
	SentBytes   uint64        `json:"sent_bytes"`
	RecvBytes   uint64        `json:"recv_bytes"`
	Rate2s      WhoRates      `json:"rate_2s"`
	Rate10s     WhoRates      `json:"rate_10s"`
	Rate40s     WhoRates      `json:"rate_40s"`
	Connections int           `json:"connections"`
}

// WhoUnattributed is the traffic of one reason without an owner.
type WhoUnattributed struct {
	Reason    string   `json:"reason"`
	SentBytes uint64   `json:"sent_bytes"`
	RecvBytes uint64   `json:"recv_bytes"`
	Rate2s    WhoRates `json:"rate_2s"`
	Rate10s   WhoRates `json:"rate_10s"`
	Rate40s   WhoRates `json:"rate_40s"`
	Flows     int      `json:"flows"`
}

// WhoConn is one connection of conns' WhoRecord.
type WhoConn struct {
	Proto      string   `json:"proto"`
	LocalAddr  string   `json:"local_addr"`
	LocalPort  *uint16  `json:"local_port"`
	RemoteAddr string   `json:"remote_addr"`
	RemotePort *uint16  `json:"remote_port"`
	PID        *int32   `json:"pid"`
	Program    string   `json:"program,omitempty"`
	Netns      uint64   `json:"netns,omitempty"`
	Match      string   `json:"match,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	SentBytes  uint64   `json:"sent_bytes"`
	RecvBytes  uint64   `json:"recv_bytes"`
	Rate2s     WhoRates `json:"rate_2s"`
	Rate10s    WhoRates `json:"rate_10s"`
	Rate40s    WhoRates `json:"rate_40s"`
	// TCP is the connection's health from its socket's tcp_info, absent
	// when unknown.
	TCP *WhoTCP `json:"tcp,omitempty"`
}

// WhoTCP is a connection's TCP health (attrib.TCPHealth) in a WhoConn.
type WhoTCP struct {
	// Limit is network, receiver, sender, application, idle or unknown.
	Limit string `json:"limit"`
	// Why is the rule's evidence.
	Why            string   `json:"why"`
	RTTMicros      int64    `json:"rtt_us"`
	RTTVarMicros   int64    `json:"rttvar_us"`
	MinRTTMicros   *int64   `json:"min_rtt_us"`
	Cwnd           uint32   `json:"cwnd"`
	Retrans        uint32   `json:"retrans"`
	TotalRetrans   uint32   `json:"total_retrans"`
	DeliveryBps    *uint64  `json:"delivery_bps"`
	PacingBps      *uint64  `json:"pacing_bps"`
	BusyShare      *float64 `json:"busy_share"`
	RwndShare      *float64 `json:"rwnd_limited_share"`
	SndbufShare    *float64 `json:"sndbuf_limited_share"`
	IntervalSecond float64  `json:"interval_seconds"`
}

// whoTCP converts h; rates become bits per second, unknowns null.
func whoTCP(h *attrib.TCPHealth) *WhoTCP {
	if h == nil {
		return nil
	}
	share := func(v float64) *float64 {
		if v < 0 {
			return nil
		}
		r := math.Round(v*1e4) / 1e4
		return &r
	}
	bits := func(v uint64) *uint64 {
		if v == 0 {
			return nil
		}
		b := v * 8
		return &b
	}
	j := &WhoTCP{Limit: h.Limit.String(), Why: h.Why(), RTTMicros: h.RTT.Microseconds(), RTTVarMicros: h.RTTVar.Microseconds(),
		Cwnd: h.Cwnd, Retrans: h.Retrans, TotalRetrans: h.TotalRetrans, DeliveryBps: bits(h.DeliveryBps), PacingBps: bits(h.PacingBps),
		BusyShare: share(h.BusyShare), RwndShare: share(h.RwndShare), SndbufShare: share(h.SndbufShare), IntervalSecond: h.Interval.Seconds()}
	if h.MinRTT > 0 {
		m := h.MinRTT.Microseconds()
		j.MinRTTMicros = &m
	}
	return j
}

// limitCell is the LIMIT column of the conns table: the word, "-" without.
func limitCell(h *attrib.TCPHealth) string {
	if h == nil {
		return "-"
	}
	return h.Limit.String()
}

// WhoRemote is one remote host of remotes' WhoRecord.
type WhoRemote struct {
	Addr        string   `json:"addr"`
	Name        *string  `json:"name"`
	SentBytes   uint64   `json:"sent_bytes"`
	RecvBytes   uint64   `json:"recv_bytes"`
	Rate2s      WhoRates `json:"rate_2s"`
	Rate10s     WhoRates `json:"rate_10s"`
	Rate40s     WhoRates `json:"rate_40s"`
	Connections int      `json:"connections"`
	PIDs        []int32  `json:"pids"`
	Programs    []string `json:"programs"`
}

// WhoSockets is the socket table's health in a WhoRecord.
type WhoSockets struct {
	Namespaces       int      `json:"namespaces"`
	Sockets          int      `json:"sockets"`
	Processes        int      `json:"processes"`
	UnresolvedInodes int      `json:"unresolved_inodes"`
	UnreadablePIDs   int      `json:"unreadable_pids"`
	DumpsInterrupted uint64   `json:"dumps_interrupted"`
	FullScans        uint64   `json:"full_scans"`
	Errors           []string `json:"errors"`
}

// WhoRecord is one NDJSON record of procs, conns and remotes (docs/json.md,
// section "Procs, conns, remotes").
type WhoRecord struct {
	Time            time.Time         `json:"time"`
	View            string            `json:"view"`
	Mode            string            `json:"mode"`
	Bytes           string            `json:"bytes"`
	Note            string            `json:"note,omitempty"`
	Processes       []WhoProc         `json:"processes"`
	Unattributed    []WhoUnattributed `json:"unattributed"`
	Connections     *[]WhoConn        `json:"connections,omitempty"`
	Remotes         *[]WhoRemote      `json:"remotes,omitempty"`
	ExitedSentBytes uint64            `json:"exited_sent_bytes"`
	ExitedRecvBytes uint64            `json:"exited_recv_bytes"`
	Sockets         WhoSockets        `json:"sockets"`
}

// procLabel is the process's container or unit with attrib.Label's
// spelling, made of the sanitised parts.
func procLabel(m *attrib.Process) string {
	var c *attrib.Container
	if m.Container != nil {
		c = &attrib.Container{Runtime: san(m.Container.Runtime), ID: san(m.Container.ID), PodUID: san(m.Container.PodUID)}
	}
	return attrib.Label(c, san(m.Unit))
}

// connProgram is the sanitised program of an owned connection: its own,
// else its owner's by programs.
func connProgram(c *attrib.ConnRow, programs func(attrib.ProcKey) string) string {
	if p := san(c.Program); p != "" {
		return p
	}
	return san(programs(c.Owner.Proc))
}

// remotePrograms are the distinct sanitised programs talking to a remote,
// in its order.
func remotePrograms(rr *attrib.RemoteRow, programs func(attrib.ProcKey) string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, k := range rr.Procs {
		if p := san(programs(k)); p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// WhoRecordOf builds the NDJSON record of view from a report; tab (may be
// nil) gives the socket table's health, programs names processes by key
// (for a connection without a program of its own and a remote's talkers),
// mode is "capture" or "sockets".
func WhoRecordOf(r attrib.Report, tab *attrib.SocketTable, programs func(attrib.ProcKey) string, view WhoView, mode string) WhoRecord {
	rec := WhoRecord{Time: r.Time.UTC(), View: string(view), Mode: mode, Bytes: "ip", Processes: []WhoProc{}, Unattributed: []WhoUnattributed{},
		ExitedSentBytes: r.ExitedSentBytes, ExitedRecvBytes: r.ExitedRecvBytes}
	if mode == "sockets" {
		rec.Bytes = "tcp_payload"
		rec.Note = SocketModeNote
	}
	for _, p := range r.Processes {
		m := p.Process
		jp := WhoProc{PID: m.Key.PID, User: san(m.User), UID: m.UID, Program: san(m.Program), Cmdline: format.Sanitize(m.Cmdline, maxCmdline),
			Netns: p.Netns, Exited: p.Exited, Incomplete: san(m.Incomplete), SentBytes: p.SentBytes, RecvBytes: p.RecvBytes,
			Rate2s: jr(p.Rate2s), Rate10s: jr(p.Rate10s), Rate40s: jr(p.Rate40s), Connections: p.Connections}
		if !m.StartTime.IsZero() {
			s := m.StartTime.UTC().Format(time.RFC3339)
			jp.StartTime = &s
		}
		if m.Container != nil {
			jp.Container = &WhoContainer{Runtime: san(m.Container.Runtime), ID: san(m.Container.ID), PodUID: san(m.Container.PodUID)}
		}
		if m.Unit != "" {
			u := san(m.Unit)
			jp.Unit = &u
		}
		rec.Processes = append(rec.Processes, jp)
	}
	for _, u := range r.Unattributed {
		rec.Unattributed = append(rec.Unattributed, WhoUnattributed{Reason: string(u.Reason), SentBytes: u.SentBytes, RecvBytes: u.RecvBytes,
			Rate2s: jr(u.Rate2s), Rate10s: jr(u.Rate10s), Rate40s: jr(u.Rate40s), Flows: u.Flows})
	}
	if view == ViewConns {
		conns := []WhoConn{}
		for i := range r.Connections {
			c := &r.Connections[i]
			jc := WhoConn{Proto: c.Key.Proto.String(), LocalAddr: c.Key.Local.String(), RemoteAddr: c.Key.Remote.String(),
				SentBytes: c.SentBytes, RecvBytes: c.RecvBytes, Rate2s: jr(c.Rate2s), Rate10s: jr(c.Rate10s), Rate40s: jr(c.Rate40s),
				Match: string(c.Owner.Match), Reason: string(c.Owner.Reason), TCP: whoTCP(c.TCP)}
			if c.Key.Proto.HasPorts() {
				lp, rp := c.Key.LocalPort, c.Key.RemotePort
				jc.LocalPort, jc.RemotePort = &lp, &rp
			}
			if !c.Owner.Proc.IsZero() {
				pid := c.Owner.Proc.PID
				jc.PID, jc.Program, jc.Netns = &pid, connProgram(c, programs), c.Owner.Netns
			}
			conns = append(conns, jc)
		}
		rec.Connections = &conns
	}
	if view == ViewRemotes {
		rems := []WhoRemote{}
		for i := range r.Remotes {
			rr := &r.Remotes[i]
			jm := WhoRemote{Addr: rr.Addr.String(), SentBytes: rr.SentBytes, RecvBytes: rr.RecvBytes, Rate2s: jr(rr.Rate2s), Rate10s: jr(rr.Rate10s), Rate40s: jr(rr.Rate40s),
				Connections: rr.Connections, PIDs: []int32{}, Programs: remotePrograms(rr, programs)}
			if rr.Name != "" {
				n := san(rr.Name)
				jm.Name = &n
			}
			for _, k := range rr.Procs {
				jm.PIDs = append(jm.PIDs, k.PID)
			}
			rems = append(rems, jm)
		}
		rec.Remotes = &rems
	}
	if tab != nil {
		rec.Sockets = WhoSockets{Namespaces: len(tab.Namespaces), Sockets: len(tab.Sockets), Processes: len(tab.Processes),
			UnresolvedInodes: tab.Health.UnresolvedInodes, UnreadablePIDs: tab.Health.UnreadablePIDs,
			DumpsInterrupted: tab.Health.DumpsInterrupted, FullScans: tab.Health.FullScans, Errors: []string{}}
		for _, e := range tab.Health.Errors {
			rec.Sockets.Errors = append(rec.Sockets.Errors, san(e))
		}
		sort.Strings(rec.Sockets.Errors)
	}
	return rec
}

// ProgramsOf names the processes of a report by key, for rows that refer
// to processes (a remote's talkers).
func ProgramsOf(r *attrib.Report) func(attrib.ProcKey) string {
	names := make(map[attrib.ProcKey]string, len(r.Processes))
	for _, p := range r.Processes {
		names[p.Process.Key] = p.Process.Program
	}
	return func(k attrib.ProcKey) string { return names[k] }
}

// FilterPIDs keeps only the processes in pids (all when empty), and the
// connections and remotes they own; unattributed rows go.
func FilterPIDs(r attrib.Report, pids map[int32]bool) attrib.Report {
	if len(pids) == 0 {
		return r
	}
	out := r
	out.Processes = nil
	for _, p := range r.Processes {
		if pids[p.Process.Key.PID] {
			out.Processes = append(out.Processes, p)
		}
	}
	out.Unattributed = nil
	out.Connections = nil
	for _, c := range r.Connections {
		if pids[c.Owner.Proc.PID] {
			out.Connections = append(out.Connections, c)
		}
	}
	out.Remotes = nil
	for _, rr := range r.Remotes {
		for _, k := range rr.Procs {
			if pids[k.PID] {
				out.Remotes = append(out.Remotes, rr)
				break
			}
		}
	}
	return out
}

// WhoSorts are the -o values of the attribution views.
var WhoSorts = []string{"2s", "10s", "40s", "total", "pid", "name"}

// WhoOptions configures a WhoWriter.
type WhoOptions struct {
	// Format is "table" (the default), "json" (NDJSON) or "csv".
	Format string
	// Units of the table's rates.
	Units format.Units
	// Sort is one of WhoSorts: rows by rate (descending, 10s by default),
	// cumulative bytes, PID or program name.
	Sort string
	// Mode is "capture" or "sockets" (socket-counter mode).
	Mode string
	// ProcAccess says the process may read other users' fds: a process
	// whose fds could not be read then exited while being read, and the
	// table's note does not ask for capabilities it has.
	ProcAccess bool
	// PIDs are --pid: only these processes are written, with what they own
	// (see FilterPIDs); all when empty.
	PIDs []int
}

// WhoWriter writes attribution reports of one view as a table, NDJSON or
// CSV. The CSV header comes once, before the first record.
type WhoWriter struct {
	w      io.Writer
	view   WhoView
	o      WhoOptions
	pids   map[int32]bool
	csv    *csv.Writer
	headed bool
	enc    *json.Encoder
}

// NewWhoWriter returns a writer of view's reports to w.
func NewWhoWriter(w io.Writer, view WhoView, o WhoOptions) *WhoWriter {
	ww := &WhoWriter{w: w, view: view, o: o, pids: map[int32]bool{}}
	for _, p := range o.PIDs {
		ww.pids[int32(p)] = true
	}
	switch o.Format {
	case "csv":
		ww.csv = csv.NewWriter(w)
	case "json":
		ww.enc = json.NewEncoder(w)
		ww.enc.SetEscapeHTML(false)
	}
	return ww
}

// sortRate returns the value rows are sorted by (descending) for -o.
func sortRate(r2, r10, r40 attrib.Rates, cum uint64, by string) float64 {
	switch by {
	case "2s":
		return r2.SentBps + r2.RecvBps
	case "40s":
		return r40.SentBps + r40.RecvBps
	case "total":
		return float64(cum)
	}
	return r10.SentBps + r10.RecvBps
}

// sorted returns r with its rows in the writer's order, in new slices: the
// report (an engine snapshot's) is not modified.
func (w *WhoWriter) sorted(r attrib.Report) attrib.Report {
	by := w.o.Sort
	r.Processes = slices.Clone(r.Processes)
	r.Connections = slices.Clone(r.Connections)
	r.Remotes = slices.Clone(r.Remotes)
	sort.SliceStable(r.Processes, func(i, j int) bool {
		a, b := &r.Processes[i], &r.Processes[j]
		switch by {
		case "pid":
			return a.Process.Key.PID < b.Process.Key.PID
		case "name":
			return a.Process.Program < b.Process.Program
		}
		return sortRate(a.Rate2s, a.Rate10s, a.Rate40s, a.SentBytes+a.RecvBytes, by) > sortRate(b.Rate2s, b.Rate10s, b.Rate40s, b.SentBytes+b.RecvBytes, by)
	})
	sort.SliceStable(r.Connections, func(i, j int) bool {
		a, b := &r.Connections[i], &r.Connections[j]
		switch by {
		case "pid":
			return a.Owner.Proc.PID < b.Owner.Proc.PID
		case "name":
			return a.Program < b.Program
		}
		return sortRate(a.Rate2s, a.Rate10s, a.Rate40s, a.SentBytes+a.RecvBytes, by) > sortRate(b.Rate2s, b.Rate10s, b.Rate40s, b.SentBytes+b.RecvBytes, by)
	})
	sort.SliceStable(r.Remotes, func(i, j int) bool {
		a, b := &r.Remotes[i], &r.Remotes[j]
		switch by {
		case "pid", "name":
			return a.Addr.Less(b.Addr)
		}
		return sortRate(a.Rate2s, a.Rate10s, a.Rate40s, a.SentBytes+a.RecvBytes, by) > sortRate(b.Rate2s, b.Rate10s, b.Rate40s, b.SentBytes+b.RecvBytes, by)
	})
	return r
}

// Write writes one report, only WhoOptions.PIDs' part of it when they
// are given; tab (may be nil) is the socket table it was joined with,
// programs names processes by key (ProgramsOf of the whole report).
func (w *WhoWriter) Write(r attrib.Report, tab *attrib.SocketTable, programs func(attrib.ProcKey) string) error {
	r = w.sorted(FilterPIDs(r, w.pids))
	switch {
	case w.enc != nil:
		return w.enc.Encode(WhoRecordOf(r, tab, programs, w.view, w.o.Mode))
	case w.csv != nil:
		return w.writeCSV(r, programs)
	}
	return w.writeTable(r, tab, programs)
}

// rates is the table's six rate columns.
func (w *WhoWriter) rates(r2, r10, r40 attrib.Rates) string {
	c := func(bps float64) string { return format.Rate(round3(bps)/8, w.o.Units) }
	return c(r2.SentBps) + "\t" + c(r2.RecvBps) + "\t" + c(r10.SentBps) + "\t" + c(r10.RecvBps) + "\t" + c(r40.SentBps) + "\t" + c(r40.RecvBps)
}

// endpoint is addr:port (or the address alone without a port).
func endpoint(a netip.Addr, proto flows.Proto, port uint16) string {
	if !proto.HasPorts() {
		return a.String()
	}
	if !a.IsValid() {
		return a.String() + ":" + strconv.Itoa(int(port))
	}
	return netip.AddrPortFrom(a, port).String()
}

func (w *WhoWriter) writeTable(r attrib.Report, tab *attrib.SocketTable, programs func(attrib.ProcKey) string) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "%s  %s", r.Time.UTC().Format("15:04:05"), w.view)
	if w.o.Mode == "sockets" {
		b.WriteString("  [" + SocketModeNote + "]")
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	switch w.view {
	case ViewProcs:
		fmt.Fprintln(tw, "PID\tUSER\tPROGRAM\tCONTAINER/UNIT\tNETNS\tSENT 2s\tRECV 2s\tSENT 10s\tRECV 10s\tSENT 40s\tRECV 40s\tSENT\tRECV\tCONNS\tCOMMAND")
		for i := range r.Processes {
			p := &r.Processes[i]
			m := &p.Process
			where := "-"
			if l := procLabel(m); l != "" {
				where = l
			}
			prog := san(m.Program)
			if p.Exited {
				prog += " (exited)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\n", m.Key.PID, format.Fit(san(m.User), 12), format.Fit(prog, 16), format.Fit(where, 24), p.Netns,
				w.rates(p.Rate2s, p.Rate10s, p.Rate40s), format.Bytes(p.SentBytes, false), format.Bytes(p.RecvBytes, false), p.Connections,
				format.Fit(format.Sanitize(m.Cmdline, maxCmdline), 60))
		}
		for _, u := range r.Unattributed {
			fmt.Fprintf(tw, "-\t-\t[%s]\t-\t-\t%s\t%s\t%s\t%d\t\n", u.Reason, w.rates(u.Rate2s, u.Rate10s, u.Rate40s), format.Bytes(u.SentBytes, false), format.Bytes(u.RecvBytes, false), u.Flows)
		}
	case ViewConns:
		fmt.Fprintln(tw, "PROTO\tLOCAL\tREMOTE\tPID\tPROGRAM\tSENT 2s\tRECV 2s\tSENT 10s\tRECV 10s\tSENT 40s\tRECV 40s\tSENT\tRECV\tLIMIT\tRTT\tRETR\tCWND\tDELIVERY")
		for i := range r.Connections {
			c := &r.Connections[i]
			pid, prog := "-", "["+string(c.Owner.Reason)+"]"
			if !c.Owner.Proc.IsZero() {
				pid, prog = strconv.Itoa(int(c.Owner.Proc.PID)), connProgram(c, programs)
			}
			k := c.Key
			rtt, retr, cwnd, deliv := "-", "-", "-", "-"
			if h := c.TCP; h != nil {
				rtt = fmt.Sprintf("%.1fms", float64(h.RTT.Microseconds())/1000)
				retr, cwnd = strconv.FormatUint(uint64(h.Retrans), 10), strconv.FormatUint(uint64(h.Cwnd), 10)
				if h.DeliveryBps > 0 {
					deliv = format.Rate(float64(h.DeliveryBps), w.o.Units)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Proto, endpoint(k.Local, k.Proto, k.LocalPort), endpoint(k.Remote, k.Proto, k.RemotePort), pid, format.Fit(prog, 16),
				w.rates(c.Rate2s, c.Rate10s, c.Rate40s), format.Bytes(c.SentBytes, false), format.Bytes(c.RecvBytes, false), limitCell(c.TCP), rtt, retr, cwnd, deliv)
		}
	case ViewRemotes:
		fmt.Fprintln(tw, "REMOTE\tNAME\tSENT 2s\tRECV 2s\tSENT 10s\tRECV 10s\tSENT 40s\tRECV 40s\tSENT\tRECV\tCONNS\tPROCESSES")
		for i := range r.Remotes {
			rr := &r.Remotes[i]
			name := "-"
			if rr.Name != "" {
				name = san(rr.Name)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", rr.Addr, format.Fit(name, 40), w.rates(rr.Rate2s, rr.Rate10s, rr.Rate40s), format.Bytes(rr.SentBytes, false), format.Bytes(rr.RecvBytes, false), rr.Connections,
				format.Fit(strings.Join(remotePrograms(rr, programs), ","), 40))
		}
	}
	tw.Flush()
	if tab != nil {
		if h := tab.Health; h.UnreadablePIDs > 0 || h.UnresolvedInodes > 0 {
			var notes []string
			if n := h.UnresolvedInodes; n > 0 {
				notes = append(notes, format.Plural(n, "socket")+" without a known process")
			}
			if n := h.UnreadablePIDs; n > 0 {
				why := "need CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE"
				if w.o.ProcAccess {
					why = "they exited while being read"
				}
				notes = append(notes, fmt.Sprintf("%s unreadable (%s)", format.Plural(n, "process whose fds are", "processes whose fds are"), why))
			}
			fmt.Fprintf(b, "note: %s\n", strings.Join(notes, ", "))
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w.w, b.String())
	return err
}

func (w *WhoWriter) writeCSV(r attrib.Report, programs func(attrib.ProcKey) string) error {
	ts, mode := r.Time.UTC().Format(time.RFC3339Nano), w.o.Mode
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	rt := func(r2, r10, r40 attrib.Rates) []string {
		f := func(v float64) string { return strconv.FormatFloat(round3(v), 'f', 0, 64) }
		return []string{f(r2.SentBps), f(r2.RecvBps), f(r10.SentBps), f(r10.RecvBps), f(r40.SentBps), f(r40.RecvBps)}
	}
	rateCols := []string{"sent_bps_2s", "recv_bps_2s", "sent_bps_10s", "recv_bps_10s", "sent_bps_40s", "recv_bps_40s"}
	var rows [][]string
	switch w.view {
	case ViewProcs:
		if !w.headed {
			rows = append(rows, append(append([]string{"time", "mode", "pid", "start_time", "user", "program", "container", "unit", "netns", "reason"}, rateCols...), "sent_bytes", "recv_bytes", "connections", "cmdline"))
		}
		for i := range r.Processes {
			p := &r.Processes[i]
			m := &p.Process
			ctr, st := "", ""
			if m.Container != nil {
				ctr = san(m.Container.Runtime) + ":" + san(m.Container.ID)
			}
			if !m.StartTime.IsZero() {
				st = m.StartTime.UTC().Format(time.RFC3339)
			}
			row := []string{ts, mode, strconv.Itoa(int(m.Key.PID)), st, san(m.User), san(m.Program), ctr, san(m.Unit), u(p.Netns), ""}
			row = append(append(row, rt(p.Rate2s, p.Rate10s, p.Rate40s)...), u(p.SentBytes), u(p.RecvBytes), strconv.Itoa(p.Connections), format.Sanitize(m.Cmdline, maxCmdline))
			rows = append(rows, row)
		}
		for _, x := range r.Unattributed {
			row := []string{ts, mode, "", "", "", "", "", "", "", string(x.Reason)}
			row = append(append(row, rt(x.Rate2s, x.Rate10s, x.Rate40s)...), u(x.SentBytes), u(x.RecvBytes), strconv.Itoa(x.Flows), "")
			rows = append(rows, row)
		}
	case ViewConns:
		if !w.headed {
			rows = append(rows, append(append([]string{"time", "mode", "proto", "local_addr", "local_port", "remote_addr", "remote_port", "pid", "program", "netns", "match", "reason"}, rateCols...),
				"sent_bytes", "recv_bytes", "limit", "rtt_us", "retrans", "total_retrans", "cwnd", "delivery_bps"))
		}
		for i := range r.Connections {
			c := &r.Connections[i]
			k := c.Key
			lp, rp, pid, prog, netns := "", "", "", "", uint64(0)
			if k.Proto.HasPorts() {
				lp, rp = strconv.Itoa(int(k.LocalPort)), strconv.Itoa(int(k.RemotePort))
			}
			if !c.Owner.Proc.IsZero() {
				pid, prog, netns = strconv.Itoa(int(c.Owner.Proc.PID)), connProgram(c, programs), c.Owner.Netns
			}
			row := []string{ts, mode, k.Proto.String(), k.Local.String(), lp, k.Remote.String(), rp, pid, prog, u(netns), string(c.Owner.Match), string(c.Owner.Reason)}
			lim, rtt, retr, tot, cwnd, deliv := "", "", "", "", "", ""
			if h := c.TCP; h != nil {
				lim, rtt = h.Limit.String(), strconv.FormatInt(h.RTT.Microseconds(), 10)
				retr, tot, cwnd = strconv.FormatUint(uint64(h.Retrans), 10), strconv.FormatUint(uint64(h.TotalRetrans), 10), strconv.FormatUint(uint64(h.Cwnd), 10)
				if h.DeliveryBps > 0 {
					deliv = u(h.DeliveryBps * 8)
				}
			}
			rows = append(rows, append(append(row, rt(c.Rate2s, c.Rate10s, c.Rate40s)...), u(c.SentBytes), u(c.RecvBytes), lim, rtt, retr, tot, cwnd, deliv))
		}
	case ViewRemotes:
		if !w.headed {
			rows = append(rows, append(append([]string{"time", "mode", "addr", "name"}, rateCols...), "sent_bytes", "recv_bytes", "connections", "pids", "programs"))
		}
		for i := range r.Remotes {
			rr := &r.Remotes[i]
			pids := make([]string, len(rr.Procs))
			for i, k := range rr.Procs {
				pids[i] = strconv.Itoa(int(k.PID))
			}
			row := append([]string{ts, mode, rr.Addr.String(), san(rr.Name)}, rt(rr.Rate2s, rr.Rate10s, rr.Rate40s)...)
			rows = append(rows, append(row, u(rr.SentBytes), u(rr.RecvBytes), strconv.Itoa(rr.Connections), strings.Join(pids, " "), strings.Join(remotePrograms(rr, programs), " ")))
		}
	}
	w.headed = true
	if err := w.csv.WriteAll(rows); err != nil {
		return err
	}
	return w.csv.Error()
}
