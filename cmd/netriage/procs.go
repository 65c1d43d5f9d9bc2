package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"netriage/configs"
	"netriage/sources/privs"
	"netriage/triage/attrib"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/views/format"
)

// whoView is one of the three attribution subcommands.
type whoView string

const (
	viewProcs   whoView = "procs"
	viewConns   whoView = "conns"
	viewRemotes whoView = "remotes"
)

func init() {
	register(&command{name: "procs", summary: "traffic per process (PID, user, program, container), TCP and UDP", run: func(ctx context.Context, env *cmdEnv, args []string) int {
		return runWho(ctx, env, viewProcs, args)
	}})
}

const procsUsage = `Usage: netriage procs [flags]

Traffic per process: PID, user, program, command line, container (or
systemd unit), network namespace, sent and received rates over 2 s, 10 s and
40 s, cumulative bytes and connections. Traffic without an owning process is
shown in rows by reason (forwarded, closed, other_protocol, unknown).

With packet capture the bytes are IP bytes of TCP, UDP and other protocols.
Without capture privileges, or with --source sockets, it runs in
socket-counter mode: TCP payload bytes from the kernel's per-socket counters
(tcp_info bytes_acked / bytes_received); UDP is not counted in that mode.`

// whoFlags are the flags of procs, conns and remotes (flows' flags plus
// --pid and --source).
type whoFlags struct {
	common commonFlags
	filter string
	noDNS  bool
	bytes  bool
	sort   string
	pids   []int
	source string
	replay string
}

func (f *whoFlags) register(view whoView) (*pflag.FlagSet, string) {
	usage := procsUsage
	switch view {
	case viewConns:
		usage = connsUsage
	case viewRemotes:
		usage = remotesUsage
	}
	fs := newFlagSet(string(view))
	f.common.addInterfaces(fs, "interface(s) to capture on, comma separated, or 'any' (capture mode)")
	fs.StringVarP(&f.filter, "filter", "f", "", "tcpdump filter expression (capture mode)")
	fs.BoolVarP(&f.noDNS, "no-dns", "n", false, "do not resolve remote addresses to names")
	fs.BoolVarP(&f.bytes, "bytes", "B", false, "show rates in bytes/s instead of bits/s")
	fs.StringVarP(&f.sort, "sort", "o", "10s", "sort by 2s, 10s, 40s, total (cumulative), pid or name")
	fs.IntSliceVar(&f.pids, "pid", nil, "only this process (repeatable, or comma separated)")
	fs.StringVar(&f.source, "source", "auto", "where bytes come from: auto, capture, or sockets (socket-counter mode)")
	fs.StringVar(&f.replay, "replay", "", "a pcap file: it holds no processes (see docs/procs.md)")
	f.common.addTiming(fs)
	f.common.addOutput(fs, "table", "json", "csv")
	f.common.addFanout(fs)
	f.common.addConfig(fs)
	return fs, usage
}

// runWho runs procs, conns or remotes.
func runWho(ctx context.Context, env *cmdEnv, view whoView, args []string) int {
	var f whoFlags
	fs, usage := f.register(view)
	done, err := parseFlags(env, fs, usage, args)
	if done {
		return exitOK
	}
	if err != nil {
		return fail(env, string(view), err)
	}
	cfg, err := f.common.resolve()
	if err != nil {
		return fail(env, string(view), err)
	}
	if fs.NArg() > 0 {
		return fail(env, string(view), usageErrorf("unexpected argument %q (see 'netriage %s --help')", fs.Arg(0), view))
	}
	switch f.sort {
	case "2s", "10s", "40s", "total", "pid", "name":
	default:
		return fail(env, string(view), usageErrorf("-o %q: sort by 2s, 10s, 40s, total, pid or name", f.sort))
	}
	if f.replay != "" {
		return fail(env, string(view), usageErrorf("%s: a capture file has no processes or sockets, so %s cannot attribute its traffic; use 'netriage replay %s' for its flows and hosts", f.replay, view, f.replay))
	}
	if err := whoCheckInterfaces(f.common.ifaces); err != nil {
		return fail(env, string(view), err)
	}
	mode, note, err := pickWhoSource(f.source)
	if err != nil {
		return fail(env, string(view), err)
	}
	if note != "" {
		fmt.Fprintf(env.stderr, "netriage %s: %s\n", view, note)
	}
	if mode == "sockets" && (len(f.common.ifaces) > 0 || f.filter != "") {
		fmt.Fprintf(env.stderr, "netriage %s: -i and -f apply to capture; socket-counter mode counts every TCP socket of every namespace\n", view)
	}
	return whoLoop(ctx, env, view, &f, cfg, mode)
}

// whoCheckInterfaces refuses -i names that are not interfaces of this
// namespace, in socket-counter mode too (where -i is otherwise unused), so
// a bad name fails the same way with or without capture privileges.
func whoCheckInterfaces(names []string) error {
	if len(names) == 0 {
		return nil
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	have := map[string]bool{"any": true}
	all := make([]string, 0, len(ifs))
	for _, i := range ifs {
		have[i.Name] = true
		all = append(all, format.Sanitize(i.Name, 32))
	}
	sort.Strings(all)
	for _, n := range names {
		if !have[n] {
			return usageErrorf("unknown interface %q (interfaces: %s)", format.Sanitize(n, 40), strings.Join(all, ", "))
		}
	}
	return nil
}

// pickWhoSource decides between capture and socket-counter mode.
func pickWhoSource(src string) (mode, note string, err error) {
	switch src {
	case "sockets":
		return "sockets", "", nil
	case "capture":
		if ok, why := whoCaptureAvailable(); !ok {
			return "", "", fmt.Errorf("--source capture: %s", why)
		}
		return "capture", "", nil
	case "auto", "":
		if ok, why := whoCaptureAvailable(); !ok {
			return "sockets", "socket-counter mode (" + why + "): TCP payload bytes from the kernel's per-socket counters, UDP not counted", nil
		}
		return "capture", "", nil
	}
	return "", "", usageErrorf("--source %q: use auto, capture or sockets", src)
}

// whoCaptureAvailable reports whether packet capture can feed the
// attribution.
func whoCaptureAvailable() (bool, string) {
	if have, err := privs.Have(); err == nil && !have.Has(privs.CapNetRaw) {
		return false, "capture needs CAP_NET_RAW: run with sudo, or setcap cap_net_raw,cap_net_admin+ep on the binary"
	}
	return true, ""
}

func whoLoop(ctx context.Context, env *cmdEnv, view whoView, f *whoFlags, cfg configs.Config, mode string) int {
	in, err := openInputs(ctx, inputOptions{cfg: cfg,
		capture: mode == "capture", ifaces: f.common.ifaces, filter: f.filter, agg: flows.By5Tuple,
		sockets: true, names: !f.noDNS && view == viewRemotes})
	if err != nil {
		return fail(env, string(view), err)
	}
	defer in.Close()
	pidSet := map[int32]bool{}
	for _, p := range f.pids {
		pidSet[int32(p)] = true
	}
	w := newWhoWriter(env.stdout, view, f, mode)
	written := 0
	var lastWhy string
	var writeErr error
	write := func(s *engine.Snapshot) bool {
		if s.Attribution == nil {
			return true
		}
		if err := w.write(filterReport(*s.Attribution, pidSet), s.Sockets, programsOf(s.Attribution)); err != nil {
			writeErr = err
			return false
		}
		written++
		return f.common.count == 0 || written < f.common.count
	}
	var last *engine.Snapshot
	engine.New(in.Inputs, in.cfg).Run(ctx, func(s *engine.Snapshot) bool {
		last = s
		for _, h := range s.Degraded() {
			if h.Input == "sockets" && h.Why != lastWhy {
				lastWhy = h.Why
				fmt.Fprintf(env.stderr, "netriage %s: %s\n", view, format.Sanitize(h.Why, 300))
			}
		}
		// The first step is the start: records come once per interval
		// after it.
		if s.Seq > 1 && !write(s) {
			return false
		}
		return f.common.duration == 0 || s.Time.Sub(s.Start) < f.common.duration
	})
	if writeErr == nil && written == 0 && f.common.duration > 0 && last != nil && ctx.Err() == nil {
		write(last)
	}
	if writeErr != nil {
		return fail(env, string(view), fmt.Errorf("write output: %w", writeErr))
	}
	return exitOK
}

// programsOf names the processes of a report by key, for rows that refer
// to processes (a remote's talkers).
func programsOf(r *attrib.Report) func(attrib.ProcKey) string {
	names := make(map[attrib.ProcKey]string, len(r.Processes))
	for _, p := range r.Processes {
		names[p.Process.Key] = p.Process.Program
	}
	return func(k attrib.ProcKey) string { return names[k] }
}

// filterReport keeps only the processes in pids (all when empty), and the
// connections and remotes they own.
func filterReport(r attrib.Report, pids map[int32]bool) attrib.Report {
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

// ---- output ----

type whoWriter struct {
	w       io.Writer
	view    whoView
	f       *whoFlags
	mode    string
	units   format.Units
	csv     *csv.Writer
	headed  bool
	enc     *json.Encoder
	records int
}

func newWhoWriter(w io.Writer, view whoView, f *whoFlags, mode string) *whoWriter {
	ww := &whoWriter{w: w, view: view, f: f, mode: mode, units: format.Units{Bytes: f.bytes}}
	switch f.common.output {
	case "csv":
		ww.csv = csv.NewWriter(w)
	case "json":
		ww.enc = json.NewEncoder(w)
		ww.enc.SetEscapeHTML(false)
	}
	return ww
}

func (w *whoWriter) rate(bps float64) string { return format.Rate(bps/8, w.units) }

// sortKey returns the value rows are sorted by (descending) for -o.
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

func (w *whoWriter) sortRows(r *attrib.Report) {
	by := w.f.sort
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
}

func (w *whoWriter) write(r attrib.Report, tab *attrib.SocketTable, programs func(attrib.ProcKey) string) error {
	w.sortRows(&r)
	rec := buildWhoRecord(r, tab, programs, w.view, w.mode)
	switch {
	case w.enc != nil:
		return w.enc.Encode(rec)
	case w.csv != nil:
		return w.writeCSV(rec)
	}
	return w.writeTable(rec)
}

// modeNote is the label every output carries in socket-counter mode.
const modeNote = "socket-counter mode: TCP payload bytes from tcp_info (bytes_acked, bytes_received); UDP and connections shorter than one refresh are not counted"

func (w *whoWriter) writeTable(rec whoRecord) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "%s  %s", rec.Time.Format("15:04:05"), w.view)
	if rec.Mode == "sockets" {
		b.WriteString("  [" + modeNote + "]")
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	rates := func(r [3]jsonRates) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", w.rate(r[0].SentBps), w.rate(r[0].RecvBps), w.rate(r[1].SentBps), w.rate(r[1].RecvBps), w.rate(r[2].SentBps), w.rate(r[2].RecvBps))
	}
	switch w.view {
	case viewProcs:
		fmt.Fprintln(tw, "PID\tUSER\tPROGRAM\tCONTAINER/UNIT\tNETNS\tSENT 2s\tRECV 2s\tSENT 10s\tRECV 10s\tSENT 40s\tRECV 40s\tSENT\tRECV\tCONNS\tCOMMAND")
		for _, p := range rec.Processes {
			where := "-"
			if l := p.label(); l != "" {
				where = l
			}
			prog := p.Program
			if p.Exited {
				prog += " (exited)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\n", p.PID, format.Fit(p.User, 12), format.Fit(prog, 16), format.Fit(where, 24), p.Netns,
				rates([3]jsonRates{p.Rate2s, p.Rate10s, p.Rate40s}), format.Bytes(p.SentBytes, false), format.Bytes(p.RecvBytes, false), p.Connections, format.Fit(p.Cmdline, 60))
		}
		for _, u := range rec.Unattributed {
			fmt.Fprintf(tw, "-\t-\t[%s]\t-\t-\t%s\t%s\t%s\t%d\t\n", u.Reason, rates([3]jsonRates{u.Rate2s, u.Rate10s, u.Rate40s}), format.Bytes(u.SentBytes, false), format.Bytes(u.RecvBytes, false), u.Flows)
		}
	case viewConns:
		fmt.Fprintln(tw, "PROTO\tLOCAL\tREMOTE\tPID\tPROGRAM\tSENT 2s\tRECV 2s\tSENT 10s\tRECV 10s\tSENT 40s\tRECV 40s\tSENT\tRECV")
		for _, c := range derefConns(rec.Connections) {
			pid, prog := "-", "["+c.Reason+"]"
			if c.PID != nil {
				pid, prog = strconv.Itoa(int(*c.PID)), c.Program
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Proto, endpointStr(c.LocalAddr, c.LocalPort), endpointStr(c.RemoteAddr, c.RemotePort), pid, format.Fit(prog, 16),
				rates([3]jsonRates{c.Rate2s, c.Rate10s, c.Rate40s}), format.Bytes(c.SentBytes, false), format.Bytes(c.RecvBytes, false))
		}
	case viewRemotes:
		fmt.Fprintln(tw, "REMOTE\tNAME\tSENT 2s\tRECV 2s\tSENT 10s\tRECV 10s\tSENT 40s\tRECV 40s\tSENT\tRECV\tCONNS\tPROCESSES")
		for _, r := range derefRemotes(rec.Remotes) {
			name := "-"
			if r.Name != nil {
				name = *r.Name
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Addr, format.Fit(name, 40), rates([3]jsonRates{r.Rate2s, r.Rate10s, r.Rate40s}), format.Bytes(r.SentBytes, false), format.Bytes(r.RecvBytes, false), r.Connections, format.Fit(strings.Join(r.Programs, ","), 40))
		}
	}
	tw.Flush()
	if s := rec.Sockets; s.UnreadablePIDs > 0 || s.UnresolvedInodes > 0 {
		fmt.Fprintf(b, "note: %d sockets without a known process, %d processes whose fds are unreadable (need CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE)\n", s.UnresolvedInodes, s.UnreadablePIDs)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w.w, b.String())
	return err
}

func endpointStr(addr string, port *uint16) string {
	if port == nil {
		return addr
	}
	a, err := netip.ParseAddr(addr)
	if err == nil {
		return netip.AddrPortFrom(a, *port).String()
	}
	return addr + ":" + strconv.Itoa(int(*port))
}

func (w *whoWriter) writeCSV(rec whoRecord) error {
	ts := rec.Time.Format(time.RFC3339Nano)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	rt := func(r [3]jsonRates) []string {
		return []string{f(r[0].SentBps), f(r[0].RecvBps), f(r[1].SentBps), f(r[1].RecvBps), f(r[2].SentBps), f(r[2].RecvBps)}
	}
	rateCols := []string{"sent_bps_2s", "recv_bps_2s", "sent_bps_10s", "recv_bps_10s", "sent_bps_40s", "recv_bps_40s"}
	var rows [][]string
	switch w.view {
	case viewProcs:
		if !w.headed {
			rows = append(rows, append(append([]string{"time", "mode", "pid", "start_time", "user", "program", "container", "unit", "netns", "reason"}, rateCols...), "sent_bytes", "recv_bytes", "connections", "cmdline"))
		}
		for _, p := range rec.Processes {
			ctr, unit := "", ""
			if p.Container != nil {
				ctr = p.Container.Runtime + ":" + p.Container.ID
			}
			if p.Unit != nil {
				unit = *p.Unit
			}
			st := ""
			if p.StartTime != nil {
				st = *p.StartTime
			}
			row := []string{ts, rec.Mode, strconv.Itoa(int(p.PID)), st, p.User, p.Program, ctr, unit, u(p.Netns), ""}
			row = append(append(row, rt([3]jsonRates{p.Rate2s, p.Rate10s, p.Rate40s})...), u(p.SentBytes), u(p.RecvBytes), strconv.Itoa(p.Connections), p.Cmdline)
			rows = append(rows, row)
		}
		for _, x := range rec.Unattributed {
			row := []string{ts, rec.Mode, "", "", "", "", "", "", "", x.Reason}
			row = append(append(row, rt([3]jsonRates{x.Rate2s, x.Rate10s, x.Rate40s})...), u(x.SentBytes), u(x.RecvBytes), strconv.Itoa(x.Flows), "")
			rows = append(rows, row)
		}
	case viewConns:
		if !w.headed {
			rows = append(rows, append(append([]string{"time", "mode", "proto", "local_addr", "local_port", "remote_addr", "remote_port", "pid", "program", "netns", "match", "reason"}, rateCols...), "sent_bytes", "recv_bytes"))
		}
		for _, c := range derefConns(rec.Connections) {
			lp, rp, pid := "", "", ""
			if c.LocalPort != nil {
				lp, rp = strconv.Itoa(int(*c.LocalPort)), strconv.Itoa(int(*c.RemotePort))
			}
			if c.PID != nil {
				pid = strconv.Itoa(int(*c.PID))
			}
			row := []string{ts, rec.Mode, c.Proto, c.LocalAddr, lp, c.RemoteAddr, rp, pid, c.Program, u(c.Netns), c.Match, c.Reason}
			rows = append(rows, append(append(row, rt([3]jsonRates{c.Rate2s, c.Rate10s, c.Rate40s})...), u(c.SentBytes), u(c.RecvBytes)))
		}
	case viewRemotes:
		if !w.headed {
			rows = append(rows, append(append([]string{"time", "mode", "addr", "name"}, rateCols...), "sent_bytes", "recv_bytes", "connections", "pids", "programs"))
		}
		for _, r := range derefRemotes(rec.Remotes) {
			name := ""
			if r.Name != nil {
				name = *r.Name
			}
			pids := make([]string, len(r.PIDs))
			for i, p := range r.PIDs {
				pids[i] = strconv.Itoa(int(p))
			}
			row := append([]string{ts, rec.Mode, r.Addr, name}, rt([3]jsonRates{r.Rate2s, r.Rate10s, r.Rate40s})...)
			rows = append(rows, append(row, u(r.SentBytes), u(r.RecvBytes), strconv.Itoa(r.Connections), strings.Join(pids, " "), strings.Join(r.Programs, " ")))
		}
	}
	w.headed = true
	if err := w.csv.WriteAll(rows); err != nil {
		return err
	}
	return w.csv.Error()
}

func derefConns(p *[]jsonConn) []jsonConn {
	if p == nil {
		return nil
	}
	return *p
}

func derefRemotes(p *[]jsonRemote) []jsonRemote {
	if p == nil {
		return nil
	}
	return *p
}
