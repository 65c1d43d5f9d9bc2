package engine

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/egress"
	"netriage/triage/flows"
	"netriage/triage/verdict"
)

// Tick is one point of a Timeline.
type Tick struct {
	// Time is the step's time: wall time for live inputs, capture time for
	// a file.
	Time time.Time
	// Last marks the final tick (the end of a file); the engine emits it
	// as a step whatever the sub-step count, then returns.
	Last bool
}

// Timeline paces the engine.
type Timeline interface {
	// Next blocks until the next tick is due and returns it; ok is false
	// when ctx is done or the timeline has ended.
	Next(ctx context.Context) (t Tick, ok bool)
}

// LinksReader reads the interface and qdisc counters of one namespace.
// The engine stamps each sample with the tick's time.
type LinksReader interface {
	Read() (triage.LinksSample, error)
}

// StackReader reads the namespace's stack counters (softirq backlog,
// protocol counters, conntrack) and, for each interface of ifaces, its
// driver statistics and byte queue limits. The engine stamps each sample
// with the tick's time.
type StackReader interface {
	ReadStack(ifaces []string) (triage.StackSample, error)
}

// BurstReader is the burst sampler: the watched interfaces' byte counters
// read twice per check.burst_interval, and their root qdisc once, on a
// goroutine of its own. Take returns what it saw since the previous Take,
// stamped now.
type BurstReader interface {
	Take(now time.Time) triage.BurstSample
}

// FlowSource is a flow table fed by a packet capture: live rings or a
// capture file. Snapshot returns the table as of now.
type FlowSource interface {
	Snapshot(now time.Time) flows.Snapshot
}

// FlowReleaser is a FlowSource that takes a snapshot's flows back once
// nothing reads them, to fill them again at the next step instead of
// allocating (capture.Live; see Config.ReleaseFlows).
type FlowReleaser interface {
	Release(*flows.Snapshot)
}

// TopFlowSource is a FlowSource that can take a snapshot of only the
// first n flows of an order (capture.Live; see Config.TopFlows).
type TopFlowSource interface {
	SnapshotTop(now time.Time, k flows.SortKey, n int) flows.Snapshot
}

// SelfReader reads netriage's own cost so far (sources/selfcost).
type SelfReader interface {
	ReadSelf() (triage.SelfSample, error)
}

// SocketReader reads the socket table with its owners.
type SocketReader interface {
	Refresh(now time.Time) (*attrib.SocketTable, error)
}

// InfoWanter is a SocketReader that can read the tcp_info of named
// sockets only (sockets.Source): the engine names them before each step's
// refresh in capture mode.
type InfoWanter interface {
	WantInfo(refs []attrib.SocketRef)
}

// Inputs are what the engine steps. Only Timeline is required.
type Inputs struct {
	Timeline Timeline
	// Links, when set, gives the interface counters (none for a file).
	Links LinksReader
	// FirstLinks, when set, is a sample Links gave just before the run (to
	// check the interfaces): the first step uses it instead of reading.
	FirstLinks *triage.LinksSample
	// Stack, when set, gives the stack counters of the watched interfaces'
	// namespace, read at every step.
	Stack StackReader
	// Bursts, when set, gives the sub-second peaks of the watched
	// interfaces, taken at every step (with Links).
	Bursts BurstReader
	// Flows, when set, gives the captured flows; without it and with
	// Sockets, flows come from the sockets' own byte counters (TCP only).
	Flows FlowSource
	// Sockets, when set, attributes flows to processes.
	Sockets SocketReader
	// Names names remote addresses for the attribution (may be nil).
	Names func(netip.Addr) string
	// Destinations names remote addresses for the egress stage: the
	// passive names (DNS answers, TLS server names) and reverse DNS (may be
	// nil).
	Destinations func(netip.Addr) egress.NameInfo
	// Absent lists inputs the command could not build, with why, so they
	// show in every snapshot's Health (e.g. capture without CAP_NET_RAW).
	Absent []Health
	// Self, when set, gives the process's own CPU time and memory, read at
	// the end of every step (live runs).
	Self SelfReader
}

// Config holds the engine's settings; the command converts flags and the
// config file to it.
type Config struct {
	// Watched are the interfaces the verdict judges (named, or every one
	// that is up). Empty: no verdict over link counters.
	Watched []string
	// UserBps are capacity overrides by interface name.
	UserBps map[string]uint64
	// Window is the verdict's window (check.window).
	Window time.Duration
	// Thresholds are the verdict's settings.
	Thresholds verdict.Thresholds
	// Judge asks for the verdict: the window's flows and the Report. Off,
	// the engine keeps no flow baselines (flows, procs, replay).
	Judge bool
	// Hold keeps the verdict from flapping between steps (the TUI banner).
	Hold bool
	// SubSteps is the number of Timeline ticks per step (1 when 0).
	SubSteps int
	// Attribution configures the flow → owner join.
	Attribution attrib.Config
	// CaptureInterfaces are the captured interfaces as the verdict names
	// them ("any" when empty); one interface means every flow was seen on it.
	CaptureInterfaces []string
	// File names the capture file when Flows reads one (replay): the
	// window then covers the whole file and names it. The engine gives no
	// verdict for a file (it has no counters); replay --check judges the
	// last snapshot with verdict.FileWindow.
	File string
	// MaxBaselineFlows bounds the memory of the flow window: above it a
	// baseline is kept only every quarter window (default 20,000).
	MaxBaselineFlows int
	// Egress, when set, runs the egress stage: every step's flows summed
	// into (remote, process) rows for the run (Snapshot.Egress), at most
	// EgressMaxRows of them (egress.DefaultMaxRows when 0); the table is
	// what their users class them with.
	Egress        *egress.Table
	EgressMaxRows int
	// ReleaseFlows says the emit function keeps nothing of a snapshot's
	// Flows once it returns (a writer of records): the engine, which
	// keeps copies only, then hands them back to a FlowReleaser source,
	// so a flood's 100,000 flows a second are not 20 MB of garbage a
	// record. Snapshots stay immutable while the emit function runs.
	ReleaseFlows bool
	// ReleaseAttribution says the emit function keeps nothing of a
	// snapshot's Attribution (rows, slices, nor a copy of the Report)
	// once it returns (a writer of records): the next join then writes
	// its rows into the storage of the report it replaces, instead of
	// 10,000 connection rows of garbage a step. Without it an emitted
	// report is never written again. A report no step emitted (a
	// sub-step's, in socket-counter mode) is reused either way.
	ReleaseAttribution bool
	// TopFlows, when N > 0, asks a TopFlowSource for the first N flows of
	// Sort's order by Key only (Snapshot.Flows.Omitted counts the rest):
	// for a writer that shows N and needs nothing else of the flows (no
	// attribution, verdict or egress, which take every flow).
	TopFlows struct {
		Key flows.SortKey
		N   int
	}
}

// State is an input's condition.
type State string

// Input states.
const (
	StateOK       State = "ok"
	StateDegraded State = "degraded"
	StateAbsent   State = "absent"
)

// Health is one input's condition at a step.
type Health struct {
	// Input names the input: "links", "capture", "sockets".
	Input string
	State State
	// Why says what is wrong and, where there is one, the fix.
	Why string
}

// Snapshot is the engine's output for one step. It is immutable: emit
// functions may keep it, and must not modify it.
type Snapshot struct {
	// Seq numbers steps from 1.
	Seq uint64
	// Time is the step's time; Start the first step's.
	Time, Start time.Time
	// Last is set on the final step of a file.
	Last bool
	// Links is the newest interface sample (nil without Links or before
	// the first successful read); LinkRows are rates against the previous
	// one (counters only on the first step).
	Links    *triage.LinksSample
	LinkRows []triage.LinkRow
	// LinksRead reports that Links was read at this step (false when the
	// read failed and Links is the previous sample).
	LinksRead bool
	// Bursts is what the burst sampler saw since the previous step (nil
	// without Bursts); when Links was read at this step, Links.Bursts is
	// the same, so the verdict's window carries it.
	Bursts *triage.BurstSample
	// Stack is this step's stack sample with its rates against the
	// previous step's (nil without Stack or when the read failed); when
	// Links was read at this step, Links.Stack is the same.
	Stack *triage.StackStep
	// Flows is the capture's snapshot: cumulative per-flow counts and
	// rates (nil without capture).
	Flows *flows.Snapshot
	// Joined are the flows the attribution joined in socket-counter mode,
	// the sockets' own counters (nil with a capture: the join reads
	// Flows).
	Joined []attrib.FlowStat
	// Sockets is the newest socket table (nil without Sockets).
	Sockets *attrib.SocketTable
	// Attribution is the join's report (nil without Sockets).
	Attribution *attrib.Report
	// Window is what the verdict judged: the link samples of the window,
	// the window's flows with owners, the capture's health over it (zero
	// unless Config.Judge).
	Window verdict.Window
	// WindowFull reports that the window spans Config.Window.
	WindowFull bool
	// Missing are watched interfaces that left the window's samples.
	Missing []string
	// Verdict is nil until two link samples exist, and without Links.
	Verdict *verdict.Report
	// Egress are the egress stage's rows (nil unless Config.Egress): each
	// (remote, process) pair's bytes since the start, unclassed (class
	// them with Config.Egress); their sums equal Flows.Totals exactly.
	// EgressFolded counts the flows folded into their class's row.
	Egress       []egress.Row
	EgressFolded uint64
	// Health has an entry per input, and one more per warning of an input
	// that runs but cannot do all it was asked (e.g. -p on "any").
	Health []Health
	// Self is what netriage itself cost at this step, read once the step's
	// work was done (nil without Self or when the read failed).
	Self *triage.SelfStep

	// rows finds a flow's connection row in Attribution, owners are the
	// rows' owners (verdict.Owners, made for the window's verdict).
	rows   *attrib.Rows
	owners []*verdict.Owner
}

// Owner returns the owner of flow k, the i-th of Flows, as the verdict
// has it (nil when unknown or not judged). Not safe for concurrent use.
func (s *Snapshot) Owner(i int, k flows.Key) *verdict.Owner {
	if s.owners == nil {
		return nil
	}
	if j := s.rows.Index(i, k); j >= 0 {
		return s.owners[j]
	}
	return nil
}

// Degraded returns the Health entries that are not ok.
func (s *Snapshot) Degraded() []Health {
	var out []Health
	for _, h := range s.Health {
		if h.State != StateOK {
			out = append(out, h)
		}
	}
	return out
}

// Why returns why input is degraded or absent, "" when it is ok (or not
// in the snapshot).
func (s *Snapshot) Why(input string) string {
	for _, h := range s.Health {
		if h.Input == input && h.State != StateOK {
			return h.Why
		}
	}
	return ""
}

// Engine steps inputs. Create it with New; Run it once.
type Engine struct {
	in  Inputs
	cfg Config

	seq   uint64
	sub   int
	start time.Time
	// selfPrev is the own cost read at the last step (when selfHas).
	selfPrev triage.SelfSample
	selfHas  bool
	prev     *triage.LinksSample
	linkWin  []triage.LinksSample
	stack    *triage.StackSample
	stackWin []triage.StackStep
	// endWin are the endpoint sockets at the steps of stackWin.
	endWin   []endpointSample
	stackErr error
	bases    baselines
	at       *attrib.Attributor
	counters *attrib.Counters
	tab      *attrib.SocketTable
	joined   []attrib.FlowStat
	rep      *attrib.Report // the newest attribution report
	// repShown is set once a snapshot carried rep.
	repShown bool
	prevRep  *verdict.Report
	sockErr  error
	linkErr  error
	egress   *egress.Tracker
}

// New returns an engine over in with cfg.
func New(in Inputs, cfg Config) *Engine {
	if cfg.SubSteps < 1 {
		cfg.SubSteps = 1
	}
	if cfg.MaxBaselineFlows <= 0 {
		cfg.MaxBaselineFlows = 20000
	}
	e := &Engine{in: in, cfg: cfg}
	if cfg.Egress != nil {
		e.egress = egress.NewTracker(cfg.Egress, cfg.EgressMaxRows)
	}
	if in.Sockets != nil {
		acfg := cfg.Attribution
		if acfg.Name == nil {
			acfg.Name = in.Names
		}
		e.at = attrib.New(acfg)
		if in.Flows == nil {
			e.counters = attrib.NewCounters()
		}
	}
	return e
}

// Run steps the engine until the Timeline ends, ctx is done, or emit
// returns false, and returns the number of steps emitted. emit runs on the
// engine's goroutine; the engine waits for it.
func (e *Engine) Run(ctx context.Context, emit func(*Snapshot) bool) int {
	n := 0
	for {
		t, ok := e.in.Timeline.Next(ctx)
		if !ok {
			return n
		}
		s := e.Step(t)
		if s == nil {
			continue
		}
		n++
		if !emit(s) || t.Last {
			return n
		}
		if r, ok := e.in.Flows.(FlowReleaser); ok && e.cfg.ReleaseFlows && s.Flows != nil {
			r.Release(s.Flows)
		}
	}
}

// Step runs one tick and returns the step's snapshot, or nil for a
// sub-step. Run calls it; tests may call it directly.
func (e *Engine) Step(t Tick) *Snapshot {
	now := t.Time
	if e.start.IsZero() {
		e.start = now
	}
	first := e.seq == 0
	e.sub++
	if !first && !t.Last && e.sub < e.cfg.SubSteps {
		e.refreshSockets(now)
		return nil
	}
	e.sub = 0
	e.seq++
	s := &Snapshot{Seq: e.seq, Time: now, Start: e.start, Last: t.Last}
	// The counters, then the capture, before anything else: a live
	// capture's snapshot counts the packets up to a fixed span before the
	// step's time (its Lag), so every step's flows trail its counters by
	// that same span only if the two are read right at the tick, one after
	// the other. A socket refresh in between would move the counters' read
	// by its own time, milliseconds, and tens for the first (a full /proc
	// scan), which is what a window's coverage saw as 1% more flow bytes
	// than counter bytes.
	// The stack counters too: their rates are over the ticks' times, so a
	// read after the capture's drain and the socket refresh (up to a
	// second late under a flood of the receiving CPU) made a window count
	// less than its duration held.
	e.stepLinks(s)
	stack, stackErr := e.readStack()
	fs := e.captureFlows(s)
	e.wantInfo(fs)
	e.refreshSockets(now)
	s.Sockets = e.tab
	e.stepStack(s, stack, stackErr)
	e.stepFlows(s, fs)
	e.stepEgress(s)
	e.stepVerdict(s)
	s.Health = e.health(s)
	e.stepSelf(s)
	return s
}

// stepSelf reads the process's own cost once the step's work is done, so
// that the share of a CPU from the previous step's read to this one
// counts this step's work (over the reads' own moments).
func (e *Engine) stepSelf(s *Snapshot) {
	if e.in.Self == nil {
		return
	}
	cur, err := e.in.Self.ReadSelf()
	if err != nil {
		e.selfHas = false
		return
	}
	var prev *triage.SelfSample
	if e.selfHas {
		prev = &e.selfPrev
	}
	st := triage.CompareSelf(prev, cur)
	s.Self = &st
	e.selfPrev, e.selfHas = cur, true
}

// wantInfo tells a socket reader that can read tcp_info of some sockets
// only (InfoWanter) which ones the step's refresh should read: the
// connections of the capture's flows that carry bytes, and those without a
// word (attrib.WantInfo). Not in socket-counter mode, whose flows are
// every socket's counters, nor before the first table.
func (e *Engine) wantInfo(fs *flows.Snapshot) {
	w, ok := e.in.Sockets.(InfoWanter)
	if !ok || fs == nil || e.counters != nil || e.tab == nil {
		return
	}
	w.WantInfo(e.at.WantInfo(fs, attrib.MaxInfoSockets))
}

func (e *Engine) refreshSockets(now time.Time) {
	if e.in.Sockets == nil {
		return
	}
	tab, err := e.in.Sockets.Refresh(now)
	e.sockErr = err
	if err != nil {
		return
	}
	e.tab = tab
	if e.counters != nil {
		// The sockets' own counters are the flows: join every refresh, so
		// the bytes of a connection that closes before the step count.
		e.joined = e.counters.Update(tab)
		e.join(now, tab, nil)
		return
	}
	e.at.Observe(now, tab)
}

func (e *Engine) stepLinks(s *Snapshot) {
	if e.in.Links == nil {
		return
	}
	var cur triage.LinksSample
	var err error
	if f := e.in.FirstLinks; f != nil && e.prev == nil {
		cur = *f
	} else {
		cur, err = e.in.Links.Read()
	}
	cur.Time = s.Time
	e.linkErr = err
	if e.in.Bursts != nil {
		b := e.in.Bursts.Take(s.Time)
		s.Bursts, cur.Bursts = &b, &b
	}
	if err != nil {
		if e.prev != nil {
			s.Links = e.prev
			s.LinkRows = triage.CompareLinks(nil, e.prev, e.cfg.UserBps)
		}
		return
	}
	s.Links, s.LinksRead = &cur, true
	s.LinkRows = triage.CompareLinks(e.prev, &cur, e.cfg.UserBps)
	e.prev = &cur
	e.linkWin = append(e.linkWin, cur)
	e.linkWin = trimWindow(e.linkWin, cur.Time, e.cfg.Window, func(x triage.LinksSample) time.Time { return x.Time })
}

// readStack reads the stack counters (nothing without a Stack input).
func (e *Engine) readStack() (triage.StackSample, error) {
	if e.in.Stack == nil {
		return triage.StackSample{}, nil
	}
	return e.in.Stack.ReadStack(e.cfg.Watched)
}

// stepStack adds the step's stack sample cur, read at the tick, with its
// rates; the endpoint sockets come from the step's socket table.
func (e *Engine) stepStack(s *Snapshot, cur triage.StackSample, err error) {
	if e.in.Stack == nil {
		return
	}
	e.stackErr = err
	if err != nil {
		return
	}
	cur.Time = s.Time
	st := &triage.StackStep{Sample: cur, Rates: triage.CompareStack(e.stack, &cur)}
	e.stack = &st.Sample
	s.Stack = st
	if s.LinksRead {
		s.Links.Stack = st
	}
	if !e.cfg.Judge {
		return
	}
	e.stackWin = append(e.stackWin, *st)
	e.stackWin = trimWindow(e.stackWin, cur.Time, e.cfg.Window, func(x triage.StackStep) time.Time { return x.Sample.Time })
	if e.in.Sockets != nil {
		e.endWin = append(e.endWin, endpointSampleOf(cur.Time, e.tab))
		e.endWin = trimWindow(e.endWin, cur.Time, e.cfg.Window, func(x endpointSample) time.Time { return x.at })
	}
}

// trimWindow drops the oldest samples while the next one still starts a
// window of the full length (so a check's window is its whole duration),
// keeping at least two.
func trimWindow[T any](win []T, now time.Time, window time.Duration, at func(T) time.Time) []T {
	i := 0
	for i < len(win)-2 && now.Sub(at(win[i+1])) >= window {
		i++
	}
	if i > 0 {
		return append(win[:0:0], win[i:]...)
	}
	return win
}

// captureFlows returns the flow source's snapshot at the step's time (nil
// without a flow source).
func (e *Engine) captureFlows(s *Snapshot) *flows.Snapshot {
	if e.in.Flows == nil {
		return nil
	}
	if ts, ok := e.in.Flows.(TopFlowSource); ok && e.cfg.TopFlows.N > 0 && e.at == nil && e.egress == nil && !e.cfg.Judge {
		fs := ts.SnapshotTop(s.Time, e.cfg.TopFlows.Key, e.cfg.TopFlows.N)
		return &fs
	}
	fs := e.in.Flows.Snapshot(s.Time)
	return &fs
}

// stepFlows adds the capture's snapshot fs (nil without a flow source) to
// the step, with the attribution join.
func (e *Engine) stepFlows(s *Snapshot, fs *flows.Snapshot) {
	if fs != nil {
		// The rates average over the time since the start until the
		// windows are full: the run's start live, the first packet's time
		// for a file.
		start := e.start
		if e.cfg.File != "" {
			start = fs.Start
		}
		flows.Warmup(fs, start)
		s.Flows = fs
	}
	s.Joined = e.joined
	// The join uses the newest table the sockets gave (kept through a
	// failed refresh, whose error shows in Health). In socket-counter mode
	// every refresh joined already.
	if e.at != nil && e.tab != nil && e.counters == nil {
		if fs != nil && fs.Since {
			e.at.Since(fs.Seq)
		}
		e.join(s.Time, nil, fs)
	}
	s.Attribution = e.rep
	if e.rep != nil {
		s.rows = e.rep.Rows()
	}
	e.repShown = e.repShown || e.rep != nil
}

// join runs the attribution of the step's capture fs or, in
// socket-counter mode (fs nil), e.joined to tab (nil: the latest) at now,
// and makes its report the newest. The one it replaces goes back to the
// Attributor for its storage when nothing can read it any more: no step
// emitted it, or the emit function keeps nothing (ReleaseAttribution; it
// has returned, as the engine waits for it).
func (e *Engine) join(now time.Time, tab *attrib.SocketTable, fs *flows.Snapshot) {
	if e.rep != nil && (!e.repShown || e.cfg.ReleaseAttribution) {
		e.at.Recycle(e.rep)
	}
	var r attrib.Report
	if fs != nil {
		r = e.at.UpdateSnapshot(now, fs, tab)
	} else {
		r = e.at.Update(now, e.joined, tab)
	}
	e.rep, e.repShown = &r, false
}

// stepEgress adds the step's flows to the egress rows, each flow under
// its owner's label when the join knows it.
func (e *Engine) stepEgress(s *Snapshot) {
	if e.egress == nil || s.Flows == nil {
		return
	}
	var processOf func(int, flows.Key) string
	if s.Attribution != nil {
		labels := ProcessLabels(s.Attribution)
		processOf = func(i int, k flows.Key) string {
			if c := s.rows.Of(i, k); c != nil {
				return labels[c.Owner.Proc]
			}
			return ""
		}
	}
	s.Egress = e.egress.Update(s.Flows, processOf, e.in.Destinations)
	s.EgressFolded = e.egress.FoldedFlows()
}

// ProcessLabels are the processes' labels the egress rows use: "PROGRAM
// [PID]", with the container or unit after it when there is one. Texts are
// raw: sanitise before output.
func ProcessLabels(r *attrib.Report) map[attrib.ProcKey]string {
	out := make(map[attrib.ProcKey]string, len(r.Processes))
	for i := range r.Processes {
		p := &r.Processes[i].Process
		out[p.Key] = ProcessLabel(p.Program, int(p.Key.PID), p.Label())
	}
	return out
}

// ProcessLabel is one process's label in the egress rows: "PROGRAM[PID]",
// then the container or unit label (attrib.Label) when there is one. The
// TUI builds the same label from a flow's owner to find its flows.
func ProcessLabel(program string, pid int, container string) string {
	l := program + "[" + strconv.Itoa(pid) + "]"
	if container != "" {
		l += " " + container
	}
	return l
}

// windowStart is where the verdict's window begins: the first link sample
// of the window, or Window before now.
func (e *Engine) windowStart(now time.Time) time.Time {
	if len(e.linkWin) > 0 {
		return e.linkWin[0].Time
	}
	return now.Add(-e.cfg.Window)
}

func (e *Engine) stepVerdict(s *Snapshot) {
	if !e.cfg.Judge {
		return
	}
	w := verdict.Window{Replay: e.cfg.File}
	if e.in.Links != nil {
		if len(e.linkWin) > 0 {
			w.Start, w.End = e.linkWin[0].Time, e.linkWin[len(e.linkWin)-1].Time
		}
		w.Samples, w.Counters = len(e.linkWin), true
		w.Interfaces, s.Missing = verdict.FromLinks(e.linkWin, e.cfg.Watched, e.cfg.UserBps)
		if e.in.Stack != nil {
			w.Stack = verdict.FromStack(e.stackWin, e.cfg.Watched)
			if w.Stack != nil {
				w.Stack.Sockets = endpointSockets(e.endWin)
			}
		}
	} else {
		w.Start, w.End = e.start, s.Time
		if s.Flows != nil {
			w.Start = s.Flows.Start
		}
	}
	if s.Flows != nil {
		start := e.windowStart(s.Time)
		if e.in.Links == nil {
			start = time.Time{} // a file's window is all of it
		}
		base := e.bases.at(s.Flows, start, e.cfg.Window, e.cfg.MaxBaselineFlows)
		ifaces := e.cfg.CaptureInterfaces
		if s.Attribution != nil {
			s.owners = verdict.Owners(*s.Attribution)
		}
		w.Flows, w.Capture = windowFlows(s.Flows, base, ifaces, s.Owner)
		if s.Attribution != nil {
			names := verdict.RemoteNames(*s.Attribution)
			for i := range w.Flows {
				if w.Flows[i].RemoteName == "" {
					w.Flows[i].RemoteName = names[w.Flows[i].Key.Remote]
				}
			}
		}
		perIf := len(ifaces) == 1
		for i := range w.Interfaces {
			w.Interfaces[i].FlowsPerInterface = perIf
			w.Interfaces[i].Captured = capturedOn(w.Capture.Interfaces, w.Interfaces[i].Name)
		}
	}
	s.Window = w
	s.WindowFull = w.Duration() >= e.cfg.Window
	if e.in.Links == nil || len(e.cfg.Watched) == 0 || len(e.linkWin) < 2 {
		return
	}
	r := verdict.Evaluate(w, e.cfg.Thresholds)
	if e.cfg.Hold && e.prevRep != nil {
		r = verdict.Hold(*e.prevRep, r, e.cfg.Thresholds)
	}
	e.prevRep = &r
	s.Verdict = &r
}

func (e *Engine) health(s *Snapshot) []Health {
	out := append([]Health(nil), e.in.Absent...)
	if e.in.Links != nil {
		h := Health{Input: "links", State: StateOK}
		switch {
		case e.linkErr != nil:
			h.State, h.Why = StateDegraded, "interface counters: "+e.linkErr.Error()
		case s.Links != nil && len(s.Links.Warnings) > 0:
			h.State, h.Why = StateDegraded, "interface counters: "+s.Links.Warnings[0]
		}
		out = append(out, h)
	}
	if s.Bursts != nil {
		h := Health{Input: "bursts", State: StateOK}
		for _, b := range s.Bursts.Ifaces {
			if b.Err != "" {
				h.State, h.Why = StateDegraded, fmt.Sprintf("burst sampler: %s (%d failed reads)", b.Err, b.Errors)
				break
			}
		}
		out = append(out, h)
	}
	if e.in.Stack != nil {
		h := Health{Input: "stack", State: StateOK}
		switch {
		case e.stackErr != nil:
			h.State, h.Why = StateDegraded, "stack counters: "+e.stackErr.Error()
		case s.Stack != nil && len(s.Stack.Sample.Errors) > 0:
			h.State, h.Why = StateDegraded, "stack counters: "+firstOf(s.Stack.Sample.Errors)
		}
		out = append(out, h)
	}
	if s.Flows != nil {
		h := Health{Input: "capture", State: StateOK}
		for _, i := range s.Flows.Capture.Interfaces {
			if i.Err != "" {
				h.State, h.Why = StateDegraded, fmt.Sprintf("capture on %s: %s", i.Name, i.Err)
				break
			}
		}
		out = append(out, h)
		for _, w := range s.Flows.Capture.Warnings {
			out = append(out, Health{Input: "capture", State: StateDegraded, Why: "capture: " + w})
		}
	}
	if e.in.Sockets != nil {
		h := Health{Input: "sockets", State: StateOK}
		switch {
		case e.sockErr != nil:
			h.State, h.Why = StateDegraded, "process attribution: "+e.sockErr.Error()
		case e.tab != nil && len(e.tab.Health.Errors) > 0:
			h.State, h.Why = StateDegraded, "sockets: "+firstOf(e.tab.Health.Errors)
		}
		out = append(out, h)
	}
	return out
}

func capturedOn(capIfaces []string, name string) bool {
	for _, c := range capIfaces {
		if c == name || c == "any" {
			return true
		}
	}
	return false
}

// firstOf is the first of errs, with how many more there are.
func firstOf(errs []string) string {
	if len(errs) > 1 {
		return fmt.Sprintf("%s (+%d more)", errs[0], len(errs)-1)
	}
	return errs[0]
}
