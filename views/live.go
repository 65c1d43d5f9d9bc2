package views

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/egress"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/views/format"
)

// LiveView turns the engine's snapshots into the TUI's models. It keeps
// what the screen needs across steps: the sparklines' history, the
// processes that exited (by name, with their bytes, after the attribution
// dropped them) and, in socket-counter mode (no flow table, so no seconds
// to merge), the totals' 40 s peaks. It is owned by the engine's emit
// function. A model keeps the step's flow snapshot and makes its Flows
// rows from it when they are read, so the engine must not hand the flows
// back (engine.Config.ReleaseFlows); it copies what it shows of the
// attribution, which the engine may reuse (ReleaseAttribution).
type LiveView struct {
	// Source and Mode are shown in the header ("live eth0", "capture").
	Source, Mode string
	// Watched are the header's interfaces.
	Watched []string
	// Services names ports (nil: numbers).
	Services func(p flows.Proto, port uint16) string
	// ProcAccess reports that other users' processes are readable; when
	// false and some are not, a degraded line says what to grant.
	ProcAccess bool
	// EgressTable and EgressPrices class and price the engine's egress
	// rows in the Egress view (the engine's Config.Egress and the
	// config's prices); set once, before the first Model.
	EgressTable  *egress.Table
	EgressPrices egress.Prices

	hist, peaks *History
	exited      *exitedMemory
}

// LiveSource is the header's name of a live run's source: the watched
// interfaces, and the namespace when it is another one.
func LiveSource(watched []string, netns string) string {
	s := "live " + strings.Join(watched, ",")
	if len(watched) == 0 {
		s = "live (no interface up)"
	}
	if netns != "" {
		s += " in netns " + netns
	}
	return s
}

// NewLiveView returns a LiveView whose socket-counter totals' peaks cover
// 40 s of steps of the given interval.
func NewLiveView(interval time.Duration) *LiveView {
	return &LiveView{hist: NewHistory(60), peaks: NewHistory(max(int((40*time.Second)/max(interval, time.Millisecond)), 1)),
		exited: newExitedMemory(defaultMaxExited)}
}

// Model builds the model of one step.
func (v *LiveView) Model(s *engine.Snapshot) *Model {
	m := &Model{Now: s.Time, Seq: s.Seq, Source: v.Source, Mode: v.Mode,
		Egress: s.Egress, EgressTable: v.EgressTable, EgressPrices: v.EgressPrices, EgressFolded: s.EgressFolded, Self: s.Self}
	for _, h := range s.Degraded() {
		m.Degraded = append(m.Degraded, h.Why)
	}
	if s.Links != nil {
		if s.LinksRead && s.Seq > 1 {
			v.hist.PushLinks(s.LinkRows)
			v.hist.Retain()
		}
		m.Header, m.Links = AdaptLinks(s.LinkRows, v.Watched, v.hist)
		if l := unknownCapacity(s.LinkRows, v.Watched); l != "" {
			m.Degraded = append(m.Degraded, l)
		}
	}
	var hostNetns uint64
	if t := s.Sockets; t != nil {
		hostNetns = t.HostNetns
		if t.Health.UnreadablePIDs > 0 && !v.ProcAccess {
			m.Degraded = append(m.Degraded, fmt.Sprintf("%s of other users unreadable (CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE missing: sudo): their traffic is [unknown]", format.Plural(t.Health.UnreadablePIDs, "process", "processes")))
		}
	}
	m.Procs, m.Conns, m.Remotes = AdaptAttrib(s.Attribution, hostNetns)
	if s.Attribution != nil {
		m.Procs = v.exited.apply(s.Attribution, m.Procs)
	}
	fillStates(m.Conns, s.Sockets)
	if s.Flows != nil {
		// The totals are the flow table's own (every flow, evicted and
		// expired ones included; the peak of the summed seconds), as the
		// flows subcommand reports them.
		m.flowSrc = newFlowSource(s.Flows, s.Attribution, v.Services)
		m.Totals = m.flowSrc.totals()
		m.FlowsTime = s.Flows.Time
		m.CaptureDrops = s.Window.Capture.KernelDrops
		m.EvictedFlows = s.Window.Capture.EvictedFlows
	} else {
		var keep func(netip.Addr) bool
		if t := s.Sockets; t != nil {
			keep = func(a netip.Addr) bool {
				ns, ok := t.LocalAddrs[a]
				return !ok || ns == t.HostNetns || a.IsLoopback()
			}
		}
		m.Flows = FlowsFromConns(m.Conns, keep)
		m.Totals = TotalsOf(m.Flows, v.peaks)
		v.peaks.PushTotals(m.Totals)
	}
	if r := s.Verdict; r != nil {
		m.Verdict = AdaptVerdict(r)
		if s.Flows != nil {
			m.CoverageRatio, m.CoverageKnown = CoverageOf(r)
		}
		ApplyExplain(m.Links, r)
	} else {
		m.Verdict = Verdict{Level: VerdictNone, Summary: "first sample: rates after one interval"}
	}
	return m
}

// unknownCapacity says which watched interfaces that are up have no known
// capacity, and how to give it; "" when none. Without a capacity there is
// no utilisation, so the banner could only ever read UNKNOWN for them.
func unknownCapacity(rows []triage.LinkRow, watched []string) string {
	want := make(map[string]bool, len(watched))
	for _, w := range watched {
		want[w] = true
	}
	var names []string
	for _, r := range rows {
		if want[r.Sample.Name] && !r.Gone && r.Sample.IsUp() && !r.Sample.Loopback && !r.Capacity.Known {
			names = append(names, r.Sample.Name)
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		n := names[0]
		return fmt.Sprintf("capacity of %s unknown (no utilisation): give it with --link-speed %s=RATE (e.g. %s=1G) or links.speeds in the config", n, n, n)
	}
	return fmt.Sprintf("capacity of %s unknown (no utilisation): give it with --link-speed IF=RATE per interface or links.speeds in the config", strings.Join(names, ", "))
}

// ssStates are the socket states as ss(8) names them, by kernel number.
var ssStates = [...]string{"", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING"}

// fillStates sets each connection's State from the socket with its 5-tuple
// in tab (left empty when the socket is gone or unknown).
func fillStates(conns []ConnRow, tab *attrib.SocketTable) {
	if tab == nil || len(conns) == 0 {
		return
	}
	type key struct {
		proto         string
		local, remote netip.Addr
		lport, rport  uint16
	}
	states := make(map[key]uint8, len(tab.Sockets))
	for i := range tab.Sockets {
		sk := &tab.Sockets[i]
		states[key{sk.Proto.String(), sk.Local, sk.Remote, sk.LocalPort, sk.RemotePort}] = sk.State
	}
	for i := range conns {
		c := &conns[i]
		if st, ok := states[key{c.Proto, c.Local, c.Remote, c.LocalPort, c.RemotePort}]; ok && int(st) < len(ssStates) {
			c.State = ssStates[st]
		}
	}
}
