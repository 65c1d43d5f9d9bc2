package engine

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/flows"
	"netriage/triage/verdict"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

// ticks is a scripted Timeline.
type ticks struct{ ts []Tick }

func (k *ticks) Next(ctx context.Context) (Tick, bool) {
	if len(k.ts) == 0 || ctx.Err() != nil {
		return Tick{}, false
	}
	t := k.ts[0]
	k.ts = k.ts[1:]
	return t, true
}

func every(d time.Duration, n int) *ticks {
	k := &ticks{}
	for i := 0; i < n; i++ {
		k.ts = append(k.ts, Tick{Time: t0.Add(time.Duration(i) * d)})
	}
	return k
}

// links is a scripted LinksReader: eth0's counters grow by rx/tx bytes per
// read; err, when set, is returned by the read of that number (from 1).
type links struct {
	n          int
	rx, tx     uint64
	speedBps   uint64
	drops      uint64
	failAt     int
	shaperDrop uint64
}

func (l *links) Read() (triage.LinksSample, error) {
	l.n++
	if l.n == l.failAt {
		return triage.LinksSample{}, errors.New("netlink: no buffer space")
	}
	k := uint64(l.n)
	return triage.LinksSample{Ifaces: []triage.IfaceSample{{
		Name: "eth0", Index: 2, OperState: "up", AdminUp: true, MTU: 1500,
		Counters:        triage.IfaceCounters{RxBytes: k * l.rx, TxBytes: k * l.tx, RxPackets: k * 100, TxPackets: k * 100},
		Qdisc:           &triage.QdiscStats{Kind: "fq_codel", Drops: k * l.drops},
		EthtoolSpeedBps: l.speedBps,
	}}}, nil
}

// flowsAt is a scripted FlowSource: one flow whose bytes grow by perStep
// each snapshot.
type flowsAt struct {
	n       int
	key     flows.Key
	perStep uint64
}

func (f *flowsAt) Snapshot(now time.Time) flows.Snapshot {
	f.n++
	c := flows.Counts{SentBytes: uint64(f.n) * f.perStep, SentPackets: uint64(f.n) * 10}
	fs := flows.FlowStat{Key: f.key, Counts: c, Flows: 1}
	return flows.Snapshot{Seq: uint64(f.n), Time: now, Start: t0, Flows: []flows.FlowStat{fs}, Totals: fs,
		Capture: flows.Health{Packets: c.SentPackets, Bytes: c.SentBytes, Interfaces: []flows.IfaceHealth{{Name: "eth0", Packets: c.SentPackets}}}}
}

// socks is a scripted SocketReader: tables[i] is returned by refresh i
// (the last one repeats); errAt fails that refresh.
type socks struct {
	n      int
	tables []*attrib.SocketTable
	errAt  int
}

func (s *socks) Refresh(now time.Time) (*attrib.SocketTable, error) {
	s.n++
	if s.n == s.errAt {
		return nil, errors.New("list processes: permission denied")
	}
	t := s.tables[min(s.n-1, len(s.tables)-1)]
	return t, nil
}

var (
	local  = netip.MustParseAddr("198.18.0.1")
	remote = netip.MustParseAddr("198.19.0.9")
	key    = flows.Key{Proto: flows.ProtoTCP, Local: local, Remote: remote, LocalPort: 40000, RemotePort: 443}
)

func tableWith(sk ...attrib.Socket) *attrib.SocketTable {
	return &attrib.SocketTable{HostNetns: 1, Sockets: sk, LocalAddrs: map[netip.Addr]uint64{local: 1},
		Processes: map[attrib.ProcKey]*attrib.Process{{PID: 42}: {Key: attrib.ProcKey{PID: 42}, Program: "curl", Netns: 1}}}
}

func conn(k flows.Key) attrib.Socket {
	return attrib.Socket{Proto: k.Proto, Netns: 1, Local: k.Local, Remote: k.Remote, LocalPort: k.LocalPort, RemotePort: k.RemotePort,
		State: 1, Inode: 7, Owner: attrib.ProcKey{PID: 42}}
}

func collect(e *Engine) []*Snapshot {
	var out []*Snapshot
	e.Run(context.Background(), func(s *Snapshot) bool { out = append(out, s); return true })
	return out
}

func healthOf(s *Snapshot, input string) Health {
	for _, h := range s.Health {
		if h.Input == input {
			return h
		}
	}
	return Health{}
}

func TestLinksRatesAndVerdict(t *testing.T) {
	// 12.5 MB/s = 100 Mbit/s of tx on a 100 Mbit/s link: saturated.
	l := &links{rx: 1000, tx: 12_500_000, speedBps: 100_000_000}
	e := New(Inputs{Timeline: every(time.Second, 4), Links: l},
		Config{Judge: true, Watched: []string{"eth0"}, Window: 3 * time.Second, Thresholds: verdict.DefaultThresholds()})
	snaps := collect(e)
	if len(snaps) != 4 {
		t.Fatalf("%d snapshots, want 4", len(snaps))
	}
	if s := snaps[0]; s.Seq != 1 || s.Verdict != nil || s.LinkRows[0].Rates.Valid {
		t.Errorf("first step: seq %d, verdict %v, rates valid %v", s.Seq, s.Verdict, s.LinkRows[0].Rates.Valid)
	}
	last := snaps[3]
	if got := last.LinkRows[0].Rates.TxBps; got != 100e6 {
		t.Errorf("tx rate %v bit/s, want 1e8", got)
	}
	if last.Verdict == nil || last.Verdict.Verdict != verdict.Saturated {
		t.Fatalf("verdict %+v, want saturated", last.Verdict)
	}
	if !last.WindowFull || snaps[2].WindowFull {
		t.Errorf("window full: step 3 %v, step 4 %v; want false, true", snaps[2].WindowFull, last.WindowFull)
	}
	if last.Window.Samples != 4 || !last.Window.Start.Equal(t0) {
		t.Errorf("window %d samples from %s", last.Window.Samples, last.Window.Start)
	}
	if h := healthOf(last, "links"); h.State != StateOK {
		t.Errorf("links health %+v", h)
	}
}

// The window slides: samples older than Window drop out, so the verdict
// judges the newest Window only; a tick a little late keeps the window
// whole rather than a step short.
func TestWindowSlides(t *testing.T) {
	l := &links{tx: 1000, speedBps: 1e9}
	e := New(Inputs{Timeline: every(time.Second, 10), Links: l}, Config{Judge: true, Watched: []string{"eth0"}, Window: 3 * time.Second})
	snaps := collect(e)
	last := snaps[len(snaps)-1]
	if d := last.Window.Duration(); d != 3*time.Second || last.Window.Samples != 4 {
		t.Errorf("window %s with %d samples, want 3s with 4", d, last.Window.Samples)
	}
	late := &ticks{ts: []Tick{{Time: t0}, {Time: t0.Add(time.Second)}, {Time: t0.Add(2*time.Second + time.Millisecond)}}}
	e = New(Inputs{Timeline: late, Links: &links{tx: 1000, speedBps: 1e9}}, Config{Judge: true, Watched: []string{"eth0"}, Window: 2 * time.Second})
	snaps = collect(e)
	if w := snaps[2].Window; w.Duration() != 2*time.Second+time.Millisecond || !snaps[2].WindowFull {
		t.Errorf("late tick: window %s (full %v), want 2.001s", w.Duration(), snaps[2].WindowFull)
	}
}

func TestLinkReadErrorIsHealth(t *testing.T) {
	l := &links{tx: 1000, failAt: 2}
	e := New(Inputs{Timeline: every(time.Second, 3), Links: l}, Config{Judge: true, Watched: []string{"eth0"}, Window: 10 * time.Second})
	snaps := collect(e)
	h := healthOf(snaps[1], "links")
	if h.State != StateDegraded || !strings.Contains(h.Why, "no buffer space") {
		t.Errorf("health after a failed read: %+v", h)
	}
	if snaps[1].Links == nil || snaps[1].Links.Time != t0 {
		t.Errorf("a failed read keeps the previous sample: %+v", snaps[1].Links)
	}
	if h := healthOf(snaps[2], "links"); h.State != StateOK {
		t.Errorf("health after recovery: %+v", h)
	}
}

func TestCaptureWindowAndOwners(t *testing.T) {
	l := &links{tx: 1000, speedBps: 1e9}
	f := &flowsAt{key: key, perStep: 500}
	s := &socks{tables: []*attrib.SocketTable{tableWith(conn(key))}}
	e := New(Inputs{Timeline: every(time.Second, 5), Links: l, Flows: f, Sockets: s},
		Config{Judge: true, Watched: []string{"eth0"}, Window: 2 * time.Second, CaptureInterfaces: []string{"eth0"}})
	snaps := collect(e)
	last := snaps[4]
	if last.Flows == nil || last.Flows.Totals.SentBytes != 2500 {
		t.Fatalf("capture snapshot %+v", last.Flows)
	}
	// The window covers the last 2 s: 2 steps of 500 bytes.
	if len(last.Window.Flows) != 1 || last.Window.Flows[0].SentBytes != 1000 {
		t.Fatalf("window flows %+v, want one flow of 1000 bytes", last.Window.Flows)
	}
	wf := last.Window.Flows[0]
	if wf.Owner == nil || wf.Owner.PID != 42 || wf.Interface != "eth0" {
		t.Errorf("window flow owner %+v, interface %q", wf.Owner, wf.Interface)
	}
	if o := last.Owner(0, key); o == nil || o.PID != 42 {
		t.Errorf("Owner(0, key) = %+v", o)
	}
	if last.Attribution == nil || len(last.Attribution.Processes) != 1 || last.Attribution.Processes[0].SentBytes != 2500 {
		t.Errorf("attribution %+v", last.Attribution)
	}
	if !last.Window.Interfaces[0].Captured || !last.Window.Interfaces[0].FlowsPerInterface {
		t.Errorf("window interface %+v", last.Window.Interfaces[0])
	}
	for _, in := range []string{"links", "capture", "sockets"} {
		if h := healthOf(last, in); h.State != StateOK {
			t.Errorf("%s health %+v", in, h)
		}
	}
}

// A connection that lives between two steps is seen by a sub-step's socket
// refresh and still owns its flow at the next step: every command sees
// short connections the same way.
func TestShortConnectionSeenBySubStep(t *testing.T) {
	f := &flowsAt{key: key, perStep: 500}
	// Refreshes 1..4 (step 1 is refresh 1, step 2 is refresh 5): the
	// connection exists only at refresh 3.
	s := &socks{tables: []*attrib.SocketTable{tableWith(), tableWith(), tableWith(conn(key)), tableWith(), tableWith()}}
	cfg := Config{Window: time.Second, SubSteps: 4, Attribution: attrib.Config{ClosedGrace: 5 * time.Second}}
	e := New(Inputs{Timeline: every(250*time.Millisecond, 5), Flows: f, Sockets: s}, cfg)
	snaps := collect(e)
	if len(snaps) != 2 || s.n != 5 {
		t.Fatalf("%d steps over %d refreshes, want 2 over 5", len(snaps), s.n)
	}
	rep := snaps[1].Attribution
	if rep == nil || len(rep.Processes) != 1 || rep.Processes[0].Process.Key.PID != 42 {
		t.Fatalf("short connection not attributed: %+v", rep)
	}
	// With one refresh per step it is missed: the sub-steps are what see it.
	s2 := &socks{tables: []*attrib.SocketTable{tableWith(), tableWith(), tableWith(conn(key)), tableWith(), tableWith()}}
	cfg.SubSteps = 1
	e2 := New(Inputs{Timeline: every(time.Second, 2), Flows: &flowsAt{key: key, perStep: 500}, Sockets: s2}, cfg)
	if r := collect(e2)[1].Attribution; len(r.Processes) != 0 {
		t.Errorf("one refresh per step attributed a connection it never saw: %+v", r.Processes)
	}
}

func TestSocketErrorIsHealthAndKeepsTable(t *testing.T) {
	f := &flowsAt{key: key, perStep: 500}
	s := &socks{tables: []*attrib.SocketTable{tableWith(conn(key))}, errAt: 2}
	e := New(Inputs{Timeline: every(time.Second, 3), Flows: f, Sockets: s}, Config{Window: time.Second})
	snaps := collect(e)
	h := healthOf(snaps[1], "sockets")
	if h.State != StateDegraded || !strings.Contains(h.Why, "permission denied") {
		t.Errorf("health %+v", h)
	}
	if snaps[1].Attribution == nil || len(snaps[1].Attribution.Processes) != 1 {
		t.Errorf("a failed refresh drops the attribution: %+v", snaps[1].Attribution)
	}
	if h := healthOf(snaps[2], "sockets"); h.State != StateOK {
		t.Errorf("health after recovery %+v", h)
	}
}

// Without a capture the sockets' own byte counters are the flows.
func TestSocketCounterMode(t *testing.T) {
	sk := conn(key)
	sk.HasCounters, sk.BytesAcked = true, 1000
	sk2 := sk
	sk2.BytesAcked = 3000
	s := &socks{tables: []*attrib.SocketTable{tableWith(sk), tableWith(sk2)}}
	e := New(Inputs{Timeline: every(time.Second, 2), Sockets: s}, Config{Window: time.Second})
	snaps := collect(e)
	last := snaps[1]
	if last.Flows != nil {
		t.Error("a capture snapshot without a capture")
	}
	if len(last.Joined) != 1 || last.Attribution == nil || len(last.Attribution.Processes) != 1 {
		t.Fatalf("joined %+v, attribution %+v", last.Joined, last.Attribution)
	}
}

// A file has no counters: its window is the whole file, named, and the
// engine gives no verdict for it (replay --check judges the last snapshot).
func TestFileWindowOnLastTick(t *testing.T) {
	f := &flowsAt{key: key, perStep: 12_500_000}
	tl := every(time.Second, 3)
	tl.ts = append(tl.ts, Tick{Time: t0.Add(3 * time.Second), Last: true})
	e := New(Inputs{Timeline: tl, Flows: f}, Config{Judge: true, File: "capture.pcap", Window: 10 * time.Second})
	snaps := collect(e)
	if len(snaps) != 4 || !snaps[3].Last {
		t.Fatalf("%d snapshots, last %v", len(snaps), snaps[len(snaps)-1].Last)
	}
	for _, s := range snaps {
		if s.Verdict != nil {
			t.Errorf("step %d: a verdict for a file", s.Seq)
		}
	}
	w := snaps[3].Window
	if w.Counters || w.Replay != "capture.pcap" || len(w.Flows) != 1 || w.Flows[0].SentBytes != 50_000_000 || !w.Start.Equal(t0) {
		t.Errorf("file window %+v", w)
	}
}

// In socket-counter mode every refresh joins: the bytes of a connection
// that a sub-step saw grow and that is gone by the step still count.
func TestSocketCounterModeCountsSubSteps(t *testing.T) {
	c1 := conn(key)
	c1.HasCounters, c1.BytesAcked = true, 1000
	c2 := c1
	c2.BytesAcked = 3000
	s := &socks{tables: []*attrib.SocketTable{tableWith(c1), tableWith(c2), tableWith(), tableWith(), tableWith()}}
	e := New(Inputs{Timeline: every(250*time.Millisecond, 5), Sockets: s}, Config{SubSteps: 4})
	snaps := collect(e)
	if len(snaps) != 2 {
		t.Fatalf("%d steps, want 2", len(snaps))
	}
	r := snaps[1].Attribution
	// The first sighting is the socket's baseline: 3000 - 1000 bytes.
	if r == nil || len(r.Processes) != 1 || r.Processes[0].SentBytes != 2000 {
		t.Fatalf("attribution %+v, want PID 42 with the 2000 bytes a sub-step saw", r)
	}
}

func TestAbsentInputsInHealth(t *testing.T) {
	e := New(Inputs{Timeline: every(time.Second, 1), Links: &links{},
		Absent: []Health{{Input: "capture", State: StateAbsent, Why: "no capture (CAP_NET_RAW missing)"}}}, Config{})
	s := collect(e)[0]
	d := s.Degraded()
	if len(d) != 1 || d[0].Input != "capture" || d[0].State != StateAbsent {
		t.Errorf("degraded %+v", d)
	}
}

func TestEmitStopsAndContextEnds(t *testing.T) {
	e := New(Inputs{Timeline: every(time.Second, 10), Links: &links{}}, Config{})
	n := e.Run(context.Background(), func(s *Snapshot) bool { return s.Seq < 3 })
	if n != 3 {
		t.Errorf("emitted %d, want 3", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n := New(Inputs{Timeline: every(time.Second, 10)}, Config{}).Run(ctx, func(*Snapshot) bool { return true }); n != 0 {
		t.Errorf("emitted %d after cancel", n)
	}
}

// Hold keeps a saturated banner from flapping on a dip just below the
// critical threshold.
func TestHold(t *testing.T) {
	run := func(hold bool) verdict.Verdict {
		l := &dipLinks{}
		e := New(Inputs{Timeline: every(time.Second, 4), Links: l},
			Config{Judge: true, Watched: []string{"eth0"}, Window: time.Second, Thresholds: verdict.DefaultThresholds(), Hold: hold})
		snaps := collect(e)
		return snaps[3].Verdict.Verdict
	}
	if got := run(true); got != verdict.Saturated {
		t.Errorf("held verdict %v, want saturated", got)
	}
	if got := run(false); got == verdict.Saturated {
		t.Errorf("unheld verdict %v, want below saturated", got)
	}
}

// dipLinks carries 97% of 100 Mbit/s for two seconds, then 93%.
type dipLinks struct {
	n  int
	tx uint64
}

func (l *dipLinks) Read() (triage.LinksSample, error) {
	l.n++
	switch {
	case l.n == 1:
	case l.n <= 3:
		l.tx += 12_125_000
	default:
		l.tx += 11_625_000
	}
	return triage.LinksSample{Ifaces: []triage.IfaceSample{{Name: "eth0", Index: 2, OperState: "up", AdminUp: true,
		Counters: triage.IfaceCounters{TxBytes: l.tx}, EthtoolSpeedBps: 100_000_000}}}, nil
}

// A sample read before the run (to check the interfaces) is the first
// step's: the counters are not read twice at start.
func TestFirstLinksUsed(t *testing.T) {
	l := &links{tx: 1000}
	first, _ := l.Read()
	e := New(Inputs{Timeline: every(time.Second, 2), Links: l, FirstLinks: &first}, Config{})
	snaps := collect(e)
	if l.n != 2 || snaps[1].LinkRows[0].Rates.TxBps != 8000 {
		t.Errorf("%d reads, tx %v bit/s; want 2 reads and 8000", l.n, snaps[1].LinkRows[0].Rates.TxBps)
	}
}

// wantSocks is socks that records the WantInfo calls: the number of the
// refresh each came before, and the sockets named.
type wantSocks struct {
	socks
	before []int
	named  [][]attrib.SocketRef
}

func (w *wantSocks) WantInfo(refs []attrib.SocketRef) {
	w.before = append(w.before, w.n+1)
	w.named = append(w.named, append([]attrib.SocketRef(nil), refs...))
}

// In capture mode the engine names the sockets whose tcp_info each step's
// refresh reads (attrib.WantInfo), from the second step on; never at a
// sub-step, nor in socket-counter mode.
func TestWantInfoBeforeStepRefresh(t *testing.T) {
	c := conn(key)
	c.Cookie = 9
	w := &wantSocks{socks: socks{tables: []*attrib.SocketTable{tableWith(c)}}}
	cfg := Config{Window: time.Second, SubSteps: 4, Attribution: attrib.Config{ClosedGrace: 5 * time.Second}}
	e := New(Inputs{Timeline: every(250*time.Millisecond, 9), Flows: &flowsAt{key: key, perStep: 500}, Sockets: w}, cfg)
	if n := len(collect(e)); n != 3 {
		t.Fatalf("%d steps, want 3", n)
	}
	if want := []int{5, 9}; len(w.before) != 2 || w.before[0] != want[0] || w.before[1] != want[1] {
		t.Errorf("WantInfo before refreshes %v, want %v (the second and third steps')", w.before, want)
	}
	for i, refs := range w.named {
		if len(refs) != 1 || refs[0] != (attrib.SocketRef{Netns: 1, Cookie: 9}) {
			t.Errorf("call %d named %v, want the connection's socket", i, refs)
		}
	}
	// Socket-counter mode: the flows are every socket's counters.
	w2 := &wantSocks{socks: socks{tables: []*attrib.SocketTable{tableWith(c)}}}
	collect(New(Inputs{Timeline: every(250*time.Millisecond, 9), Sockets: w2}, cfg))
	if len(w2.before) != 0 {
		t.Errorf("socket-counter mode called WantInfo before refreshes %v", w2.before)
	}
}

// releasing is a flowsAt that records the snapshots handed back.
type releasing struct {
	flowsAt
	released []uint64 // their Seq
	emitting bool     // set by the test's emit function while it runs
	early    bool     // a release came while a snapshot was being emitted
}

func (r *releasing) Release(s *flows.Snapshot) {
	if r.emitting {
		r.early = true
	}
	r.released = append(r.released, s.Seq)
}

// TestReleaseFlows: with Config.ReleaseFlows the engine hands each step's
// flows back to a FlowReleaser once the emit function has returned, never
// while it runs; without it, never.
func TestReleaseFlows(t *testing.T) {
	for _, release := range []bool{false, true} {
		f := &releasing{flowsAt: flowsAt{key: flows.Key{Proto: flows.ProtoTCP, Local: netip.MustParseAddr("198.18.0.1"), Remote: netip.MustParseAddr("198.18.0.2")}, perStep: 100}}
		e := New(Inputs{Timeline: every(time.Second, 4), Flows: f}, Config{ReleaseFlows: release})
		n := e.Run(context.Background(), func(s *Snapshot) bool {
			f.emitting = true
			defer func() { f.emitting = false }()
			return s.Flows != nil
		})
		want := []uint64(nil)
		if release {
			want = []uint64{1, 2, 3, 4}
		}
		if n != 4 || !slices.Equal(f.released, want) || f.early {
			t.Errorf("ReleaseFlows %v: %d steps, released %v (want %v), released while emitting: %v", release, n, f.released, want, f.early)
		}
	}
}

// topping is a flowsAt that can take top-n snapshots, and counts them.
type topping struct {
	flowsAt
	tops int
	key  flows.SortKey
	n    int
}

func (f *topping) SnapshotTop(now time.Time, k flows.SortKey, n int) flows.Snapshot {
	f.tops, f.key, f.n = f.tops+1, k, n
	s := f.Snapshot(now)
	s.Omitted = 7
	return s
}

// TestTopFlows: Config.TopFlows takes top-n snapshots from a source that
// has them when nothing else of the engine reads the flows, and full ones
// when the verdict does.
func TestTopFlows(t *testing.T) {
	for _, judge := range []bool{false, true} {
		f := &topping{flowsAt: flowsAt{key: flows.Key{Proto: flows.ProtoUDP, Local: netip.MustParseAddr("198.18.0.1"), Remote: netip.MustParseAddr("198.18.0.2")}, perStep: 10}}
		cfg := Config{Judge: judge, Window: time.Second}
		cfg.TopFlows.Key, cfg.TopFlows.N = flows.Sort40s, 5
		omitted := 0
		New(Inputs{Timeline: every(time.Second, 3), Flows: f}, cfg).Run(context.Background(), func(s *Snapshot) bool {
			omitted += s.Flows.Omitted
			return true
		})
		want := map[bool]int{false: 3, true: 0}[judge]
		if f.tops != want || omitted != 7*want || (want > 0 && (f.key != flows.Sort40s || f.n != 5)) {
			t.Errorf("judge %v: %d top snapshots (key %d, n %d), omitted %d; want %d", judge, f.tops, f.key, f.n, omitted, want)
		}
	}
}

// An emitted report is never written again unless the emit function keeps
// nothing of it (ReleaseAttribution): then the next step's rows reuse its
// storage. Sub-step reports of socket-counter mode that no step emitted
// are reused either way, and never reach a snapshot changed.
func TestReleaseAttribution(t *testing.T) {
	counted := conn(key)
	counted.HasCounters, counted.BytesAcked = true, 1000
	for _, tc := range []struct {
		name    string
		release bool
		flows   bool
	}{{"capture", false, true}, {"capture_released", true, true}, {"counters", false, false}, {"counters_released", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			in := Inputs{Timeline: every(250*time.Millisecond, 16), Sockets: &socks{tables: []*attrib.SocketTable{tableWith(counted)}}}
			if tc.flows {
				in.Flows = &flowsAt{key: key, perStep: 500}
			}
			e := New(in, Config{SubSteps: 4, ReleaseAttribution: tc.release})
			var kept []*attrib.Report
			var copies []attrib.Report
			var rows []*attrib.ConnRow
			e.Run(context.Background(), func(s *Snapshot) bool {
				if s.Attribution == nil || len(s.Attribution.Connections) != 1 {
					t.Fatalf("step %d: attribution %+v", s.Seq, s.Attribution)
				}
				kept = append(kept, s.Attribution)
				copies = append(copies, deepCopy(*s.Attribution))
				rows = append(rows, &s.Attribution.Connections[0])
				return true
			})
			if len(kept) != 4 {
				t.Fatalf("%d steps", len(kept))
			}
			reused := 0
			for i := 1; i < len(rows); i++ {
				if rows[i] == rows[i-1] {
					reused++
				}
			}
			if tc.release {
				if reused != len(rows)-1 {
					t.Errorf("released: %d of %d steps reused the previous report's rows", reused, len(rows)-1)
				}
				return
			}
			if reused != 0 {
				t.Errorf("kept: %d steps wrote into an emitted report's rows", reused)
			}
			for i := range kept {
				if !reflect.DeepEqual(*kept[i], copies[i]) {
					t.Errorf("step %d's report changed after it was emitted", i+1)
				}
			}
		})
	}
}

func deepCopy(r attrib.Report) attrib.Report {
	r.Processes = slices.Clone(r.Processes)
	r.Connections = slices.Clone(r.Connections)
	r.Remotes = slices.Clone(r.Remotes)
	for i := range r.Remotes {
		r.Remotes[i].Procs = slices.Clone(r.Remotes[i].Procs)
	}
	r.Unattributed = slices.Clone(r.Unattributed)
	return r
}
