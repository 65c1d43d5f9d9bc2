package views

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/engine"
	"netriage/triage/flows"
)

// A watched link that is up without a known capacity gets a "!" line with
// the fix; one with a capacity, loopback, or one not watched gets none.
func TestLiveViewSaysUnknownCapacity(t *testing.T) {
	up := func(name string, bps uint64, lo bool) triage.IfaceSample {
		return triage.IfaceSample{Name: name, OperState: "up", AdminUp: true, Loopback: lo, EthtoolSpeedBps: bps}
	}
	tests := []struct {
		name    string
		ifaces  []triage.IfaceSample
		watched []string
		want    string // substring of a degraded line; "" for none
	}{
		{"unknown", []triage.IfaceSample{up("eth0", 0, false)}, []string{"eth0"}, "capacity of eth0 unknown (no utilisation): give it with --link-speed eth0=RATE (e.g. eth0=1G)"},
		{"two unknown", []triage.IfaceSample{up("eth0", 0, false), up("eth1", 0, false)}, []string{"eth0", "eth1"}, "capacity of eth0, eth1 unknown"},
		{"known", []triage.IfaceSample{up("eth0", 1e9, false)}, []string{"eth0"}, ""},
		{"not watched", []triage.IfaceSample{up("eth0", 0, false)}, []string{}, ""},
		{"loopback", []triage.IfaceSample{up("lo", 0, true)}, []string{"lo"}, ""},
		{"down", []triage.IfaceSample{{Name: "eth0", OperState: "down"}}, []string{"eth0"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			smp := &triage.LinksSample{Time: time.Unix(0, 0), Ifaces: tc.ifaces}
			s := &engine.Snapshot{Seq: 1, Links: smp, LinkRows: triage.CompareLinks(nil, smp, nil)}
			v := NewLiveView(time.Second)
			v.Watched = tc.watched
			m := v.Model(s)
			found := ""
			for _, d := range m.Degraded {
				if strings.Contains(d, "capacity of") {
					found = d
				}
			}
			if tc.want == "" && found != "" || tc.want != "" && !strings.Contains(found, tc.want) {
				t.Errorf("degraded %q, want a line with %q", m.Degraded, tc.want)
			}
		})
	}
}

// The Connections view's STATE comes from the socket table (ss's names).
func TestLiveViewConnectionStates(t *testing.T) {
	l, r := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.19.0.9")
	k := flows.Key{Proto: flows.ProtoTCP, Local: l, Remote: r, LocalPort: 40000, RemotePort: 443}
	gone := k
	gone.LocalPort = 40001
	rep := &attrib.Report{Connections: []attrib.ConnRow{{Key: k}, {Key: gone}}}
	tab := &attrib.SocketTable{Sockets: []attrib.Socket{{Proto: flows.ProtoTCP, Local: l, Remote: r, LocalPort: 40000, RemotePort: 443, State: attrib.StateCloseWait}}}
	m := NewLiveView(time.Second).Model(&engine.Snapshot{Seq: 2, Attribution: rep, Sockets: tab})
	if len(m.Conns) != 2 || m.Conns[0].State != "CLOSE-WAIT" || m.Conns[1].State != "" {
		t.Errorf("states %+v, want CLOSE-WAIT and none", m.Conns)
	}
}

// An aggregated row's peak is its busiest second, as the flows
// subcommand's aggregate says, not the sum of its members' peaks: two
// flows of one host pair peak at 20 kB/s (second 1) and 25 kB/s (second
// 2), the pair at 30 kB/s (second 2). The totals line is the flow table's
// own aggregate too.
func TestLiveViewAggregatedPeak(t *testing.T) {
	l, r := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.1.2")
	t0 := time.Unix(1_700_000_000, 0).UTC()
	at := func(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
	tb := flows.NewTable(flows.TableConfig{MaxFlows: 10, Local: flows.NewLocal(netip.MustParsePrefix("198.18.0.1/32"))})
	for _, p := range []struct {
		sec   float64
		lport uint16
		n     uint32
	}{{1.2, 1000, 20_000}, {2.2, 1000, 5_000}, {2.5, 1001, 25_000}, {3.1, 1001, 10_000}} {
		tb.Update(&flows.Packet{Time: at(p.sec), Proto: flows.ProtoTCP, Src: l, SrcPort: p.lport, Dst: r, DstPort: 443, Length: p.n})
	}
	snap := tb.Snapshot(at(4), flows.By5Tuple)
	hosts := tb.Snapshot(at(4), flows.ByHostPair)
	pair, _ := hosts.Find(flows.Key{Local: l, Remote: r})
	if pair.Rates.Peak.SentBytesPerSec != 30_000 {
		t.Fatalf("fixture: the flows package's host-pair peak is %v, want 30000", pair.Rates.Peak.SentBytesPerSec)
	}
	lv := NewLiveView(time.Second)
	lv.Source = "live eth0"
	live := lv.Model(&engine.Snapshot{Seq: 2, Time: at(4.05), Flows: &snap})
	file := NewFileView("lab.pcap", nil).Model(&engine.Snapshot{Seq: 2, Time: at(4), Flows: &snap, Last: true}, nil)
	for _, m := range []*Model{live, file} {
		testAggregatedPeak(t, m, pair)
	}
}

func testAggregatedPeak(t *testing.T, m *Model, pair flows.FlowStat) {
	t.Helper()
	// The detail of the first row: the pair is the flows package's
	// aggregate (2 s 20 kB/s, 10 s 6 kB/s, 40 s 1.5 kB/s, peak 30 kB/s).
	pairLine := "sent           2s 160kb/s  10s 48.0kb/s  40s 12.0kb/s  peak 240kb/s  cum 60.0kB"
	tests := []struct {
		name  string
		setup func(*UIState)
		want  string
	}{
		{"host pairs", func(*UIState) {}, pairLine},
		{"remote only", func(s *UIState) { s.HideLocal = true }, pairLine},
		{"both sides hidden", func(s *UIState) { s.HideLocal, s.HideRemote = true, true }, pairLine},
		{"ports", func(s *UIState) { s.Ports = true }, "sent           2s 140kb/s  10s 28.0kb/s  40s 7.00kb/s  peak 200kb/s  cum 35.0kB"},
	}
	for _, tc := range tests {
		t.Run(m.Source+"/"+tc.name, func(t *testing.T) {
			st := NewUIState(ViewFlows)
			tc.setup(st)
			st.Detail = true
			screen := strings.Join(BuildFrame(m, st, 120, 30).Screen(), "\n")
			if !strings.Contains(screen, tc.want) {
				t.Errorf("detail lacks %q:\n%s", tc.want, screen)
			}
		})
	}
	if r := flowRates(pair.Rates, true); r != (BytesPerSec{W2s: 20_000, W10s: 6_000, W40s: 1_500, Peak: 30_000}) {
		t.Errorf("fixture: host pair %+v", r)
	}
	if m.Totals.Sent.Peak != 30_000 || m.Totals.SentBytes != 60_000 {
		t.Errorf("totals peak %v, %d B; want the table's 30000, 60000 B", m.Totals.Sent.Peak, m.Totals.SentBytes)
	}
}

// Without seconds to merge (socket counters), an aggregated row's peak is
// a lower bound, the largest of its members' peaks and its own window
// rates, never their sum.
func TestAggregatedPeakWithoutSeconds(t *testing.T) {
	l, r := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.1.2")
	m := &Model{Flows: []FlowRow{
		{Proto: "tcp", Local: l, Remote: r, LocalPort: 1000, RemotePort: 443, Sent: BytesPerSec{W2s: 8, W10s: 10, W40s: 4, Peak: 10}},
		{Proto: "tcp", Local: l, Remote: r, LocalPort: 1001, RemotePort: 443, Sent: BytesPerSec{W2s: 9, W10s: 3, W40s: 2, Peak: 9}},
	}}
	tab := BuildTable(m, NewUIState(ViewFlows))
	if got, want := tab.data[0].sent, (BytesPerSec{W2s: 17, W10s: 13, W40s: 6, Peak: 17}); tab.Len() != 1 || got != want {
		t.Errorf("row %+v, want %+v", got, want)
	}
}

// A process that exits keeps its name and cumulative bytes in the
// Processes view, marked exited, after the attribution dropped it (at the
// end of its grace period; its bytes then count in the report's exited
// totals only).
func TestLiveViewKeepsExitedProcesses(t *testing.T) {
	l, r := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.1.2")
	t0 := time.Unix(1_700_000_000, 0).UTC()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	curl, sshd := attrib.ProcKey{PID: 77, StartTicks: 7}, attrib.ProcKey{PID: 22, StartTicks: 2}
	k1 := flows.Key{Proto: flows.ProtoTCP, Local: l, Remote: r, LocalPort: 40000, RemotePort: 443}
	k2 := flows.Key{Proto: flows.ProtoTCP, Local: l, Remote: r, LocalPort: 22, RemotePort: 50000}
	tab := func(s int, procs ...attrib.ProcKey) *attrib.SocketTable {
		tb := &attrib.SocketTable{Time: at(s), HostNetns: 1, Processes: map[attrib.ProcKey]*attrib.Process{}}
		for _, p := range procs {
			k, prog := k2, "sshd"
			if p == curl {
				k, prog = k1, "curl"
			}
			tb.Sockets = append(tb.Sockets, attrib.Socket{Proto: k.Proto, Netns: 1, Local: k.Local, Remote: k.Remote, LocalPort: k.LocalPort,
				RemotePort: k.RemotePort, State: attrib.StateEstablished, Inode: uint32(p.PID), Owner: p})
			tb.Processes[p] = &attrib.Process{Key: p, Program: prog, User: "alice", Cmdline: prog + " -x", Netns: 1}
		}
		return tb
	}
	a := attrib.New(attrib.Config{ClosedGrace: 2 * time.Second})
	v := NewLiveView(time.Second)
	var m *Model
	for s := 0; s <= 8; s++ {
		fl := []attrib.FlowStat{{Key: k2, SentBytes: uint64(s) * 10, RecvBytes: uint64(s) * 10, Rate10s: attrib.Rates{SentBps: 80}}}
		procs := []attrib.ProcKey{sshd}
		if s <= 1 { // curl sends 5000 B, receives 100 B, and exits
			fl = append(fl, attrib.FlowStat{Key: k1, SentBytes: uint64(s+1) * 2500, RecvBytes: uint64(s+1) * 50, Rate10s: attrib.Rates{SentBps: 2000}})
			procs = append(procs, curl)
		}
		rep := a.Update(at(s), fl, tab(s, procs...))
		m = v.Model(&engine.Snapshot{Seq: uint64(s + 1), Time: at(s), Attribution: &rep})
		if s == 8 && (rep.ExitedSentBytes != 5000 || len(rep.Processes) != 1) {
			t.Fatalf("fixture: the report still lists curl or lost its bytes: %+v, exited %d", rep.Processes, rep.ExitedSentBytes)
		}
	}
	var got *ProcRow
	for i := range m.Procs {
		if m.Procs[i].PID == 77 {
			got = &m.Procs[i]
		}
	}
	if got == nil {
		t.Fatalf("curl is gone from the Processes view: %+v", m.Procs)
	}
	if got.Program != "curl (exited)" || got.User != "alice" || got.SentBytes != 5000 || got.RecvBytes != 100 || got.Sent != (BytesPerSec{}) || got.Conns != 0 {
		t.Errorf("curl's row %+v, want curl (exited), 5000/100 bytes, no rates", *got)
	}
	st := NewUIState(ViewProcs)
	screen := strings.Join(BuildFrame(m, st, 120, 30).Screen(), "\n")
	if !strings.Contains(screen, "curl (exited)") || !strings.Contains(screen, "sshd") {
		t.Errorf("the Processes view lacks curl (exited) or sshd:\n%s", screen)
	}
}

// Past the cap, the oldest exited processes fold into one row: none of
// their bytes leave the view.
func TestExitedMemoryCap(t *testing.T) {
	e := newExitedMemory(2)
	row := func(pid int) (attrib.ProcRow, ProcRow) {
		k := attrib.ProcKey{PID: int32(pid), StartTicks: 1}
		return attrib.ProcRow{Process: attrib.Process{Key: k, Program: "job"}, SentBytes: uint64(pid)},
			ProcRow{PID: pid, Program: "job", SentBytes: uint64(pid), Sent: BytesPerSec{W2s: 1}}
	}
	var out []ProcRow
	for step := 1; step <= 6; step++ { // one process per step, gone at the next
		ar, pr := row(step)
		out = e.apply(&attrib.Report{Processes: []attrib.ProcRow{ar}}, []ProcRow{pr})
	}
	// Live: 6; listed exited: 4 and 5; folded: 1+2+3.
	want := []ProcRow{
		{PID: 6, Program: "job", SentBytes: 6, Sent: BytesPerSec{W2s: 1}},
		{PID: 4, Program: "job (exited)", Exited: true, SentBytes: 4},
		{PID: 5, Program: "job (exited)", Exited: true, SentBytes: 5},
		{Unattributed: olderExited, SentBytes: 6},
	}
	if d := cmp.Diff(want, out, addrCmp); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	// A dropped process that comes back (a late join) keeps its bytes and
	// name.
	back := attrib.ProcRow{Process: attrib.Process{Key: attrib.ProcKey{PID: 5, StartTicks: 1}}, Exited: true, SentBytes: 1}
	out = e.apply(&attrib.Report{Processes: []attrib.ProcRow{back}}, []ProcRow{{PID: 5, Program: " (exited)", Exited: true, SentBytes: 1}})
	if out[0].Program != "job (exited)" || out[0].SentBytes != 6 {
		t.Errorf("back: %+v", out[0])
	}
}

// TestLiveViewKeepsNothingOfTheReport: top lets the engine write each
// step's connection rows into the storage of the last step's report
// (engine.Config.ReleaseAttribution), since a model copies what it shows.
// The models of a run with reused storage must equal those without, also
// after the later steps.
func TestLiveViewKeepsNothingOfTheReport(t *testing.T) {
	l := netip.MustParseAddr("198.18.0.1")
	t0 := time.Unix(1_700_000_000, 0).UTC()
	nginx := attrib.ProcKey{PID: 80, StartTicks: 8}
	run := func(release bool) []*Model {
		a := attrib.New(attrib.Config{ClosedGrace: 2 * time.Second})
		v := NewLiveView(time.Second)
		var out []*Model
		var prev *attrib.Report
		for s := range 12 {
			now := t0.Add(time.Duration(s) * time.Second)
			tb := &attrib.SocketTable{Time: now, HostNetns: 1, Processes: map[attrib.ProcKey]*attrib.Process{nginx: {Key: nginx, Program: "nginx", User: "www", Netns: 1}}}
			snap := &flows.Snapshot{Time: now, Aggregation: flows.By5Tuple}
			for i := range 30 + 7*(s%3) {
				k := flows.Key{Proto: flows.ProtoTCP, Local: l, Remote: netip.AddrFrom4([4]byte{198, 19, byte(s % 4), byte(i)}), LocalPort: 443, RemotePort: uint16(40000 + i)}
				if i%2 == 0 {
					tb.Sockets = append(tb.Sockets, attrib.Socket{Proto: k.Proto, Netns: 1, Local: k.Local, Remote: k.Remote, LocalPort: k.LocalPort,
						RemotePort: k.RemotePort, State: attrib.StateEstablished, Inode: uint32(1000 + i), Owner: nginx})
				}
				snap.Flows = append(snap.Flows, flows.FlowStat{Key: k, Counts: flows.Counts{SentBytes: uint64((s + 1) * (i + 1) * 100), SentPackets: uint64(s + 1)},
					Rates: flows.Rates{R10: flows.Rate{SentBytesPerSec: float64(i * 10)}}, Flows: 1})
			}
			if release && prev != nil {
				a.Recycle(prev)
			}
			rep := a.Update(now, attrib.StatsOf(snap), tb)
			prev = &rep
			out = append(out, v.Model(&engine.Snapshot{Seq: uint64(s + 1), Time: now, Flows: snap, Attribution: &rep}))
		}
		return out
	}
	want, got := run(false), run(true)
	for i := range want {
		if !reflect.DeepEqual(want[i], got[i]) {
			t.Fatalf("model %d differs with the reports' storage reused:\nwithout %+v\nwith    %+v", i+1, want[i].Conns, got[i].Conns)
		}
		// The flows' rows are made when read, here after every later step.
		if w, g := want[i].FlowRows(), got[i].FlowRows(); !reflect.DeepEqual(w, g) {
			t.Fatalf("model %d: flow rows differ with the reports' storage reused:\nwithout %+v\nwith    %+v", i+1, w, g)
		}
	}
	last := want[len(want)-1].FlowRows()
	if len(want[len(want)-1].Conns) == 0 || last[0].Process == "" && last[1].Process == "" {
		t.Fatalf("fixture: no connections or owners in the models: %+v", last[:2])
	}
}
