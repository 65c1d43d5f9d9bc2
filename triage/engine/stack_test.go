package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/flows"
	"netriage/triage/verdict"
)

// stack is a scripted StackReader: every read adds dropsPerRead to CPU 1's
// softnet drops and listenPerRead to the listen drops; eth0's driver loses
// nicPerRead packets per read; failAt fails that read (from 1), errAt
// reports an error inside the sample.
type stack struct {
	n                                       int
	dropsPerRead, listenPerRead, nicPerRead uint64
	failAt, errAt                           int
	asked                                   [][]string
}

func (s *stack) ReadStack(ifaces []string) (triage.StackSample, error) {
	s.n++
	s.asked = append(s.asked, ifaces)
	if s.n == s.failAt {
		return triage.StackSample{}, errors.New("links: read after Close")
	}
	k := uint64(s.n)
	out := triage.StackSample{
		Softnet:   []triage.SoftnetCPU{{CPU: 0, Processed: k * 1000}, {CPU: 1, Processed: k * 1000, Dropped: k * s.dropsPerRead}},
		Proto:     &triage.ProtoCounters{ListenDrops: k * s.listenPerRead, ListenOverflows: k * s.listenPerRead},
		Conntrack: &triage.ConntrackSample{Count: 10, Max: 1000},
		Absent:    []string{"IPv6 counters: no /proc/net/snmp6 (IPv6 disabled)"},
	}
	for _, name := range ifaces {
		out.Ifaces = append(out.Ifaces, triage.StackIface{Name: name, NIC: &triage.NICStats{Driver: "ixgbe",
			Names: []string{"rx_missed_errors"}, Classes: []triage.NICClass{triage.NICRxMissed}, Values: []uint64{k * s.nicPerRead}}})
	}
	if s.n == s.errAt {
		out.Errors = []string{"softnet_stat: row 1 has 2 columns, want at least 9", "snmp: line 3 has no section name"}
		out.Softnet = nil
	}
	return out, nil
}

func TestStackRatesWindowAndVerdict(t *testing.T) {
	l := &links{tx: 1000, speedBps: 1e9}
	st := &stack{dropsPerRead: 50, listenPerRead: 3, nicPerRead: 20}
	e := New(Inputs{Timeline: every(time.Second, 4), Links: l, Stack: st},
		Config{Judge: true, Watched: []string{"eth0"}, Window: 3 * time.Second, Thresholds: verdict.DefaultThresholds()})
	snaps := collect(e)
	first, last := snaps[0], snaps[3]
	if first.Stack == nil || first.Stack.Rates.Valid || first.Links.Stack != first.Stack {
		t.Fatalf("first step: %+v", first.Stack)
	}
	r := last.Stack.Rates
	if !r.Valid || r.SoftnetTotal.Dropped != 50 || r.PerSec(r.SoftnetTotal.Dropped) != 50 || r.Proto.ListenDrops != 3 {
		t.Errorf("rates: %+v", r)
	}
	if n := r.Ifaces[0]; n.Name != "eth0" || n.Loss() != 20 {
		t.Errorf("NIC rates: %+v", n)
	}
	if !last.Stack.Sample.Time.Equal(last.Time) {
		t.Errorf("the sample is stamped %s, want the step's %s", last.Stack.Sample.Time, last.Time)
	}
	for i, a := range st.asked {
		if len(a) != 1 || a[0] != "eth0" {
			t.Errorf("read %d asked for %q, want the watched interfaces", i+1, a)
		}
	}
	ws := last.Window.Stack
	if ws == nil || ws.Samples != 4 || ws.Duration != 3*time.Second || ws.Softnet.Dropped != 150 || ws.Proto.ListenDrops != 9 {
		t.Fatalf("window stack: %+v", ws)
	}
	v := last.Verdict
	if v == nil || v.Status != verdict.StatusCritical || len(v.Findings) != 3 {
		t.Fatalf("verdict: %+v", v)
	}
	for i, want := range []string{verdict.RuleNICDrops, verdict.RuleSoftirqDrops, verdict.RuleEndpointDrops} {
		if v.Findings[i].Rule != want {
			t.Errorf("finding %d: %s, want %s", i, v.Findings[i].Rule, want)
		}
	}
	if !strings.Contains(v.Summary, "eth0 NIC lost 60 packets") || !strings.Contains(v.Summary, "softirq backlog dropped 150 packets") {
		t.Errorf("summary: %s", v.Summary)
	}
	if h := healthOf(last, "stack"); h.State != StateOK {
		t.Errorf("stack health: %+v", h)
	}
	// Without the verdict (links), no window is kept, the rates still are.
	e = New(Inputs{Timeline: every(time.Second, 3), Links: &links{tx: 1000}, Stack: &stack{dropsPerRead: 5}}, Config{Watched: []string{"eth0"}, Window: 3 * time.Second})
	snaps = collect(e)
	if s := snaps[2]; s.Stack.Rates.SoftnetTotal.Dropped != 5 || s.Links.Stack == nil || e.stackWin != nil {
		t.Errorf("links-style run: %+v, window %d", s.Stack.Rates, len(e.stackWin))
	}
}

func TestStackReadErrorsAreHealth(t *testing.T) {
	st := &stack{failAt: 2, errAt: 3, dropsPerRead: 10}
	e := New(Inputs{Timeline: every(time.Second, 5), Links: &links{tx: 1000, speedBps: 1e9}, Stack: st},
		Config{Judge: true, Watched: []string{"eth0"}, Window: 10 * time.Second, Thresholds: verdict.DefaultThresholds()})
	snaps := collect(e)
	if h := healthOf(snaps[1], "stack"); h.State != StateDegraded || !strings.Contains(h.Why, "read after Close") || snaps[1].Stack != nil {
		t.Errorf("failed read: %+v, stack %v", h, snaps[1].Stack)
	}
	if snaps[1].Links.Stack != nil {
		t.Error("a failed stack read left a stack on the links sample")
	}
	h := healthOf(snaps[2], "stack")
	if h.State != StateDegraded || h.Why != "stack counters: softnet_stat: row 1 has 2 columns, want at least 9 (+1 more)" {
		t.Errorf("errors in the sample: %+v", h)
	}
	if h := healthOf(snaps[4], "stack"); h.State != StateOK {
		t.Errorf("recovered: %+v", h)
	}
	// The sample without softnet rows breaks the softnet pairs around it;
	// the others still count (reads 1, 4, 5: 4→5 gives 10 drops, and the
	// softnet of read 1 pairs with nothing).
	if ws := snaps[4].Window.Stack; ws == nil || ws.Samples != 4 || ws.Softnet.Dropped != 10 {
		t.Errorf("window after errors: %+v", ws)
	}
	// No stack input: no stack health, no stack in the window.
	e = New(Inputs{Timeline: every(time.Second, 2), Links: &links{tx: 1000}}, Config{Judge: true, Watched: []string{"eth0"}, Window: time.Second})
	snaps = collect(e)
	if h := healthOf(snaps[1], "stack"); h.Input != "" || snaps[1].Window.Stack != nil || snaps[1].Stack != nil {
		t.Errorf("without a stack input: %+v", snaps[1])
	}
}

// TestEndpointSocketsNamed: with socket tables beside the stack counters,
// the endpoint-drops finding names the UDP sockets whose drop counts rose
// over the window (most first, at most three; one of another namespace
// and one that dropped only before the window are not named) and the
// listener whose accept queue was full.
func TestEndpointSocketsNamed(t *testing.T) {
	owner := attrib.ProcKey{PID: 1234, StartTicks: 9}
	udp := func(port uint16, cookie uint64, drops uint32, netns uint64) attrib.Socket {
		return attrib.Socket{Proto: flows.ProtoUDP, Netns: netns, Local: local, LocalPort: port, State: attrib.StateClose, Cookie: cookie, Owner: owner,
			Mem: attrib.SockMem{Known: true, RcvBuf: 2304, RmemAlloc: 2300, Drops: drops}}
	}
	listener := func(queue uint32) attrib.Socket {
		return attrib.Socket{Proto: flows.ProtoTCP, Netns: 1, Local: local, LocalPort: 8080, State: attrib.StateListen, Cookie: 99, RecvQ: queue, SendQ: 1}
	}
	var tabs []*attrib.SocketTable
	for i := uint32(0); i < 4; i++ {
		tab := tableWith(
			udp(5000, 1, 100+271*i, 1), // +813 over the window
			udp(5001, 2, 50+10*i, 1),
			udp(5002, 3, 7, 1),      // dropped before the window only
			udp(5003, 4, 1000*i, 2), // another namespace
			udp(5004, 5, 1+i, 1),
			udp(5005, 6, 1+2*i, 1),
			listener(min(i, 2)),
		)
		tab.Processes[owner] = &attrib.Process{Key: owner, Program: "receiver"}
		tabs = append(tabs, tab)
	}
	st := &stack{listenPerRead: 3}
	e := New(Inputs{Timeline: every(time.Second, 4), Links: &links{tx: 1000, speedBps: 1e9}, Stack: st, Sockets: &socks{tables: tabs}},
		Config{Judge: true, Watched: []string{"eth0"}, Window: 3 * time.Second, Thresholds: verdict.DefaultThresholds()})
	snaps := collect(e)
	last := snaps[len(snaps)-1]
	var got []string
	for _, s := range last.Window.Stack.Sockets {
		got = append(got, fmt.Sprintf("%s %s %d %v %d/%d", s.Proto, s.Local, s.Drops, s.BufferFull, s.FullSamples, s.Samples))
	}
	want := []string{"udp 198.18.0.1:5000 813 true 0/0", "udp 198.18.0.1:5001 30 true 0/0", "udp 198.18.0.1:5005 6 true 0/0",
		"udp 198.18.0.1:5004 3 true 0/0", "tcp 198.18.0.1:8080 0 false 2/4"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("window sockets -want +got:\n%s", d)
	}
	f := finding(last.Verdict, verdict.RuleEndpointDrops)
	if f == nil {
		t.Fatalf("no endpoint-drops finding: %+v", last.Verdict.Findings)
	}
	if !strings.HasSuffix(f.Summary, ": udp 198.18.0.1:5000 (receiver[1234]) dropped 813 datagrams (buffer full) and 3 more") {
		t.Errorf("summary %q", f.Summary)
	}
	wantReasons := []string{
		"udp 198.18.0.1:5000 (receiver[1234]) dropped 813 datagrams (buffer full)",
		"udp 198.18.0.1:5001 (receiver[1234]) dropped 30 datagrams (buffer full)",
		"udp 198.18.0.1:5005 (receiver[1234]) dropped 6 datagrams (buffer full)",
		"tcp 198.18.0.1:8080 (owner unknown) accept queue full at 2 of 4 samples (2 queued, backlog 1)",
	}
	if d := cmp.Diff(wantReasons, f.Reasons[len(f.Reasons)-4:]); d != "" {
		t.Errorf("reasons -want +got:\n%s", d)
	}
	if len(f.Sockets) != 4 || f.Sockets[0].PID != 1234 || f.Sockets[0].Program != "receiver" || f.Sockets[0].Drops != 813 || !f.Sockets[3].Listener || f.Sockets[3].AcceptQueueFull != 2 {
		t.Errorf("sockets %+v", f.Sockets)
	}
}

func finding(r *verdict.Report, rule string) *verdict.Finding {
	if r == nil {
		return nil
	}
	for i := range r.Findings {
		if r.Findings[i].Rule == rule {
			return &r.Findings[i]
		}
	}
	return nil
}

// order records which input each read was of, in order.
type order struct{ reads []string }

type orderLinks struct {
	links
	o *order
}

func (l *orderLinks) Read() (triage.LinksSample, error) {
	l.o.reads = append(l.o.reads, "links")
	return l.links.Read()
}

type orderStack struct {
	stack
	o *order
}

func (s *orderStack) ReadStack(ifaces []string) (triage.StackSample, error) {
	s.o.reads = append(s.o.reads, "stack")
	return s.stack.ReadStack(ifaces)
}

type orderFlows struct {
	flowsAt
	o *order
}

func (f *orderFlows) Snapshot(now time.Time) flows.Snapshot {
	f.o.reads = append(f.o.reads, "flows")
	return f.flowsAt.Snapshot(now)
}

type orderSocks struct {
	socks
	o *order
}

func (s *orderSocks) Refresh(now time.Time) (*attrib.SocketTable, error) {
	s.o.reads = append(s.o.reads, "sockets")
	return s.socks.Refresh(now)
}

// The stack counters are stamped with the tick's time, so they are read
// at the tick with the link counters, before the capture's drain and the
// socket refresh (which can take most of a second under a flood).
func TestStackReadAtTheTick(t *testing.T) {
	o := &order{}
	e := New(Inputs{Timeline: every(time.Second, 2), Links: &orderLinks{links{tx: 1000, speedBps: 1e9}, o}, Stack: &orderStack{o: o},
		Flows: &orderFlows{flowsAt{perStep: 10}, o}, Sockets: &orderSocks{socks{tables: []*attrib.SocketTable{{}}}, o}},
		Config{Judge: true, Watched: []string{"eth0"}, Window: time.Second, Thresholds: verdict.DefaultThresholds(), SubSteps: 1})
	collect(e)
	want := []string{"links", "stack", "flows", "sockets", "links", "stack", "flows", "sockets"}
	if diff := cmp.Diff(want, o.reads); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
}
