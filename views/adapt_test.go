package views

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/flows"
	"netriage/triage/verdict"
)

func TestHistory(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		push     []float64
		want     []float64
		wantMax  float64
		wantNone bool
	}{
		{name: "empty", n: 3, wantNone: true},
		{name: "partial", n: 3, push: []float64{1, 5}, want: []float64{1, 5}, wantMax: 5},
		{name: "exactly full", n: 3, push: []float64{1, 2, 3}, want: []float64{1, 2, 3}, wantMax: 3},
		{name: "wrapped", n: 3, push: []float64{9, 1, 2, 3, 4}, want: []float64{2, 3, 4}, wantMax: 4},
		{name: "n below one", n: 0, push: []float64{7, 8}, want: []float64{8}, wantMax: 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistory(tc.n)
			for _, v := range tc.push {
				h.Push("k", v)
			}
			got := h.Values("k")
			if tc.wantNone {
				if got != nil {
					t.Fatalf("Values = %v, want nil", got)
				}
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Values (-want +got):\n%s", diff)
			}
			if m := h.Max("k"); m != tc.wantMax {
				t.Errorf("Max = %v, want %v", m, tc.wantMax)
			}
			got[0] = -1 // the caller's copy
			if h.Values("k")[0] == -1 {
				t.Error("Values shares memory with the ring")
			}
		})
	}
}

func TestHistoryRetain(t *testing.T) {
	h := NewHistory(4)
	h.Push("a", 1)
	h.Push("b", 1)
	h.Retain()
	h.Push("a", 2)
	h.Retain()
	if h.Values("b") != nil {
		t.Error("b was not pushed since the last Retain but is kept")
	}
	if diff := cmp.Diff([]float64{1, 2}, h.Values("a")); diff != "" {
		t.Errorf("a (-want +got):\n%s", diff)
	}
}

var tl0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// linkSamples are two samples one second apart: eth0 behind a 100 Mb/s tbf
// sending 10 MB/s (80 Mb/s) with 40 qdisc drops, lo idle, wg0 without a
// known capacity, and veth9 that disappeared.
func linkSamples() (prev, cur triage.LinksSample) {
	eth := func(tx, drops uint64) triage.IfaceSample {
		return triage.IfaceSample{Name: "eth0", Index: 2, Kind: "device", OperState: "up", AdminUp: true, MTU: 1500,
			Counters:        triage.IfaceCounters{RxBytes: 1_000_000 + tx/10, TxBytes: tx, RxPackets: 1000, TxPackets: 9000, TxDropped: 3},
			Qdisc:           &triage.QdiscStats{Kind: "tbf", Drops: drops, Overlimits: 500, BacklogBytes: 30_000, BacklogPackets: 20, ShaperRateBps: 100_000_000},
			EthtoolSpeedBps: 1_000_000_000}
	}
	lo := triage.IfaceSample{Name: "lo", Index: 1, OperState: "unknown", AdminUp: true, Loopback: true, MTU: 65536}
	wg := func(rx uint64) triage.IfaceSample {
		return triage.IfaceSample{Name: "wg0", Index: 3, OperState: "unknown", AdminUp: true, MTU: 1420,
			Counters: triage.IfaceCounters{RxBytes: rx, TxBytes: rx / 2}}
	}
	veth := triage.IfaceSample{Name: "veth9", Index: 9, OperState: "up", AdminUp: true, MTU: 1500}
	prev = triage.LinksSample{Seq: 1, Time: tl0, Ifaces: []triage.IfaceSample{lo, eth(50_000_000, 100), wg(400_000), veth}}
	cur = triage.LinksSample{Seq: 2, Time: tl0.Add(time.Second), Ifaces: []triage.IfaceSample{lo, eth(60_000_000, 140), wg(450_000)}}
	return prev, cur
}

func TestAdaptLinks(t *testing.T) {
	prev, cur := linkSamples()
	hist := NewHistory(8)
	hist.PushLinks(triage.CompareLinks(nil, &prev, nil)) // first sample: nothing pushed
	rows := triage.CompareLinks(&prev, &cur, map[string]uint64{"wg0": 0})
	hist.PushLinks(rows)
	header, links := AdaptLinks(rows, []string{"eth0", "wg0", "ppp0"}, hist)

	wantHeader := []IfaceLine{
		{Name: "eth0", Up: true, RxBytesPerSec: 1_000_000, TxBytesPerSec: 10_000_000, CapacityBps: 100_000_000, RxCapacityBps: 1_000_000_000, CapacitySource: "tbf",
			RxHistoryBytesPerSec: []float64{1_000_000}, TxHistoryBytesPerSec: []float64{10_000_000}, QdiscDropsPerSec: 40},
		{Name: "wg0", Up: true, RxBytesPerSec: 50_000, TxBytesPerSec: 25_000,
			RxHistoryBytesPerSec: []float64{50_000}, TxHistoryBytesPerSec: []float64{25_000}},
		{Name: "ppp0", Gone: true},
	}
	if diff := cmp.Diff(wantHeader, header); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	wantLinks := []LinkRow{
		{Name: "eth0", OperState: "up", MTU: 1500, CapacityBps: 100_000_000, RxCapacityBps: 1_000_000_000, CapacitySource: "tbf",
			RxBytesPerSec: 1_000_000, TxBytesPerSec: 10_000_000, RxBytes: 7_000_000, TxBytes: 60_000_000, RxPackets: 1000, TxPackets: 9000, TxDropped: 3,
			Qdisc: "tbf", QdiscDrops: 140, QdiscBacklogBytes: 30_000, QdiscBacklogPackets: 20, QdiscOverlimits: 500, QdiscDropsPerSec: 40},
		{Name: "lo", OperState: "unknown", MTU: 65536},
		{Name: "veth9", OperState: "gone", MTU: 1500},
		{Name: "wg0", OperState: "unknown", MTU: 1420, RxBytesPerSec: 50_000, TxBytesPerSec: 25_000, RxBytes: 450_000, TxBytes: 225_000},
	}
	if diff := cmp.Diff(wantLinks, links); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
}

func TestAdaptLinksFirstSample(t *testing.T) {
	_, cur := linkSamples()
	header, links := AdaptLinks(triage.CompareLinks(nil, &cur, nil), []string{"eth0"}, nil)
	if len(header) != 1 || header[0].TxBytesPerSec != 0 || header[0].RxHistoryBytesPerSec != nil || header[0].CapacityBps != 100_000_000 {
		t.Errorf("first-sample header = %+v, want no rate, no history, the capacity", header)
	}
	if len(links) != 3 {
		t.Errorf("%d links, want 3", len(links))
	}
}

var (
	aLocal  = netip.MustParseAddr("198.18.0.2")
	aRemote = netip.MustParseAddr("198.18.1.9")
	aOther  = netip.MustParseAddr("fd00:198:18::9")
)

// attribReport is a socket-counter-mode style report: two processes (one
// exited, one in a container of another namespace), one unattributed
// connection, other-protocol traffic, and an empty forwarded row.
func attribReport() *attrib.Report {
	k1 := attrib.ProcKey{PID: 1234, StartTicks: 99}
	k2 := attrib.ProcKey{PID: 77, StartTicks: 5}
	mb := func(sent, recv float64) attrib.Rates { return attrib.Rates{SentBps: sent * 8e6, RecvBps: recv * 8e6} }
	key := func(lp uint16, r netip.Addr, rp uint16) flows.Key {
		return flows.Key{Proto: flows.ProtoTCP, Local: aLocal, Remote: r, LocalPort: lp, RemotePort: rp}
	}
	return &attrib.Report{
		Time: tl0,
		Processes: []attrib.ProcRow{
			{Process: attrib.Process{Key: k1, User: "backup", Program: "rsync", Cmdline: "rsync -a /srv x:/y", Netns: 4026531840,
				Container: &attrib.Container{Runtime: "docker", ID: "0123456789abcdef0123"}},
				Netns: 4026532000, SentBytes: 5_000_000, RecvBytes: 10_000, Rate2s: mb(2, 0.01), Rate10s: mb(1, 0.01), Rate40s: mb(0.5, 0), Connections: 1},
			{Process: attrib.Process{Key: k2, User: "root", Program: "curl", Unit: "cron.service", Netns: 4026531840},
				Exited: true, SentBytes: 100, RecvBytes: 2_000_000, Rate10s: mb(0, 0.2), Connections: 1},
		},
		Unattributed: []attrib.UnattributedRow{
			{Reason: attrib.ReasonForwarded},
			{Reason: attrib.ReasonOtherProto, RecvBytes: 640, Rate10s: mb(0, 0.0001), Flows: 2},
		},
		Connections: []attrib.ConnRow{
			{Key: key(40000, aRemote, 22), Owner: attrib.Owner{Proc: k1, Match: attrib.MatchSocket}, Program: "rsync",
				SentBytes: 5_000_000, RecvBytes: 10_000, Rate2s: mb(2, 0.01), Rate10s: mb(1, 0.01), Rate40s: mb(0.5, 0)},
			{Key: key(40001, aOther, 443), Owner: attrib.Owner{Proc: k2, Match: attrib.MatchSocket},
				SentBytes: 100, RecvBytes: 2_000_000, Rate10s: mb(0, 0.2)},
			{Key: key(40002, aRemote, 80), Owner: attrib.Owner{Reason: attrib.ReasonUnknown}, SentBytes: 1},
		},
		Remotes: []attrib.RemoteRow{
			{Addr: aRemote, Name: "backup-1.lab.example", SentBytes: 5_000_001, RecvBytes: 10_000, Rate10s: mb(1, 0.01), Connections: 2, Procs: []attrib.ProcKey{k1, k1}},
			{Addr: aOther, SentBytes: 100, RecvBytes: 2_000_000, Rate10s: mb(0, 0.2), Connections: 1, Procs: []attrib.ProcKey{k2}},
		},
	}
}

// addrCmp compares netip.Addr values by value.
var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestAdaptAttrib(t *testing.T) {
	procs, conns, remotes := AdaptAttrib(attribReport(), 4026531840)
	bps := func(w2, w10, w40 float64) BytesPerSec {
		return BytesPerSec{W2s: w2, W10s: w10, W40s: w40, Peak: max(w2, w10, w40)}
	}
	wantProcs := []ProcRow{
		{PID: 1234, User: "backup", Program: "rsync", Cmdline: "rsync -a /srv x:/y", Container: "docker:0123456789ab", Netns: "net:[4026532000]",
			Sent: bps(2e6, 1e6, 0.5e6), Recv: bps(1e4, 1e4, 0), SentBytes: 5_000_000, RecvBytes: 10_000, Conns: 1},
		{PID: 77, User: "root", Program: "curl (exited)", Exited: true, Container: "systemd:cron.service", Netns: "host",
			Recv: bps(0, 2e5, 0), SentBytes: 100, RecvBytes: 2_000_000, Conns: 1},
		{Unattributed: "other protocols", Recv: bps(0, 100, 0), RecvBytes: 640, Conns: 2},
	}
	if diff := cmp.Diff(wantProcs, procs); diff != "" {
		t.Errorf("procs (-want +got):\n%s", diff)
	}
	wantConns := []ConnRow{
		{Proto: "tcp", Local: aLocal, Remote: aRemote, LocalPort: 40000, RemotePort: 22, RemoteName: "backup-1.lab.example", PID: 1234, Process: "rsync",
			Sent: bps(2e6, 1e6, 0.5e6), Recv: bps(1e4, 1e4, 0), SentBytes: 5_000_000, RecvBytes: 10_000},
		{Proto: "tcp", Local: aLocal, Remote: aOther, LocalPort: 40001, RemotePort: 443, PID: 77, Process: "curl",
			Recv: bps(0, 2e5, 0), SentBytes: 100, RecvBytes: 2_000_000},
		{Proto: "tcp", Local: aLocal, Remote: aRemote, LocalPort: 40002, RemotePort: 80, RemoteName: "backup-1.lab.example", SentBytes: 1},
	}
	if diff := cmp.Diff(wantConns, conns, addrCmp); diff != "" {
		t.Errorf("conns (-want +got):\n%s", diff)
	}
	wantRemotes := []RemoteRow{
		{Addr: aRemote, Name: "backup-1.lab.example", Sent: bps(0, 1e6, 0), Recv: bps(0, 1e4, 0), SentBytes: 5_000_001, RecvBytes: 10_000, Conns: 2, Processes: []string{"rsync"}},
		{Addr: aOther, Recv: bps(0, 2e5, 0), SentBytes: 100, RecvBytes: 2_000_000, Conns: 1, Processes: []string{"curl"}},
	}
	if diff := cmp.Diff(wantRemotes, remotes, addrCmp); diff != "" {
		t.Errorf("remotes (-want +got):\n%s", diff)
	}

	if fl := FlowsFromConns(conns, func(a netip.Addr) bool { return a != aLocal }); len(fl) != 0 {
		t.Errorf("keep ignored: %d flows", len(fl))
	}
	fl := FlowsFromConns(conns, nil)
	if len(fl) != 3 || fl[0].Process != "rsync" || fl[0].RemoteName != "backup-1.lab.example" || fl[0].Sent != conns[0].Sent {
		t.Errorf("FlowsFromConns = %+v", fl)
	}
	hist := NewHistory(40)
	hist.Push(totalsSentKey, 9e6)
	tot := TotalsOf(fl, hist)
	if tot.SentBytes != 5_000_101 || tot.RecvBytes != 2_010_000 || tot.Sent.W10s != 1e6 || tot.Sent.Peak != 9e6 || tot.Recv.Peak != 1e4 {
		t.Errorf("TotalsOf = %+v", tot)
	}
	if p, c, r := AdaptAttrib(nil, 0); p != nil || c != nil || r != nil {
		t.Error("nil report gives rows")
	}
}

func ptr[T any](v T) *T { return &v }

// verdictReport is eth0 tx saturated by two flows, rx ok, with coverage
// in both directions, and wg0 unknown without coverage.
func verdictReport() *verdict.Report {
	port := func(p uint16) *uint16 { return &p }
	return &verdict.Report{
		Verdict: verdict.Saturated, Status: verdict.StatusCritical, ExitCode: 2,
		Summary: "CRITICAL: eth0 tx saturated: 97% of 100Mb/s (shaper:tbf), 2 flows explain 90%",
		Interfaces: []verdict.IfaceReport{
			{Name: "eth0",
				RX: verdict.DirReport{Direction: verdict.RX, Verdict: verdict.OK, RateBps: 8e6,
					Coverage: verdict.Coverage{Ratio: ptr(1.0), FlowLinkBytes: 1_000_000, InterfaceBytes: 1_000_000}},
				TX: verdict.DirReport{Direction: verdict.TX, Verdict: verdict.Saturated, RateBps: 97e6,
					Coverage: verdict.Coverage{Ratio: ptr(0.98), FlowLinkBytes: 9_800_000, InterfaceBytes: 10_000_000},
					ExplainedBy: []verdict.ExplainedFlow{
						{Proto: "tcp", LocalAddr: "198.18.0.2", LocalPort: port(40000), RemoteAddr: "198.18.1.9", RemotePort: port(22), Share: 0.7, RateBps: 68e6,
							Owner: &verdict.Owner{PID: 1234, Program: "rsync"}},
						{Proto: "icmp6", LocalAddr: "fd00:198:18::2", RemoteAddr: "fd00:198:18::9", Share: 0.2, RateBps: 19e6},
					}}},
			{Name: "wg0", RX: verdict.DirReport{Verdict: verdict.Unknown}, TX: verdict.DirReport{Direction: verdict.TX, Verdict: verdict.Unknown}},
		},
	}
}

func TestAdaptVerdict(t *testing.T) {
	rep := verdictReport()
	if got, want := AdaptVerdict(rep), (Verdict{Level: VerdictSaturated, Summary: "eth0 tx saturated: 97% of 100Mb/s (shaper:tbf), 2 flows explain 90%"}); got != want {
		t.Errorf("AdaptVerdict = %+v, want %+v", got, want)
	}
	if got := AdaptVerdict(nil); got.Level != VerdictNone {
		t.Errorf("nil report: level %v", got.Level)
	}
	unknown := &verdict.Report{Verdict: verdict.Unknown, Status: verdict.StatusUnknown, Summary: "UNKNOWN: x", Notes: []string{"the window is too short"}}
	if got := AdaptVerdict(unknown); got.Level != VerdictUnknown || got.Summary != "the window is too short" {
		t.Errorf("unknown report: %+v", got)
	}
	for v, want := range map[verdict.Verdict]VerdictLevel{verdict.OK: VerdictOK, verdict.Congested: VerdictCongested, verdict.Saturated: VerdictSaturated, verdict.Unknown: VerdictUnknown} {
		if got := VerdictLevelOf(v); got != want {
			t.Errorf("VerdictLevelOf(%v) = %v, want %v", v, got, want)
		}
	}

	ratio, known := CoverageOf(rep)
	if !known || ratio != 10_800_000.0/11_000_000 {
		t.Errorf("CoverageOf = %v, %v", ratio, known)
	}
	if _, known := CoverageOf(&verdict.Report{Interfaces: rep.Interfaces[1:]}); known {
		t.Error("coverage known without any ratio")
	}

	links := []LinkRow{{Name: "eth0"}, {Name: "wg0"}, {Name: "lo"}}
	ApplyExplain(links, rep)
	want := []ExplainRow{
		{Label: "tx tcp 198.18.0.2:40000 ⇄ 198.18.1.9:22", Owner: "rsync (pid 1234)", Share: 0.7, BytesPerSec: 8.5e6},
		{Label: "tx icmp6 fd00:198:18::2 ⇄ fd00:198:18::9", Share: 0.2, BytesPerSec: 19e6 / 8},
	}
	if diff := cmp.Diff(want, links[0].Explain); diff != "" {
		t.Errorf("eth0 explain (-want +got):\n%s", diff)
	}
	if links[1].Explain != nil || links[2].Explain != nil {
		t.Errorf("explain on wg0 or lo: %+v", links[1:])
	}
}

// adaptedModel builds a whole model the way the live engine does, from
// the fixtures above.
func adaptedModel() *Model {
	prev, cur := linkSamples()
	hist := NewHistory(60)
	// A short history so the sparkline has a shape.
	for i := 0; i < 20; i++ {
		hist.Push(rxKey("eth0"), float64(i)*50_000)
		hist.Push(txKey("eth0"), float64(i)*500_000)
	}
	rows := triage.CompareLinks(&prev, &cur, nil)
	hist.PushLinks(rows)
	m := &Model{Now: tl0.Add(time.Second), Seq: 2, Source: "live eth0,wg0", Mode: "socket counters (TCP only)",
		Degraded: []string{"no capture (CAP_NET_RAW missing): run with sudo, or: sudo setcap cap_net_raw,cap_net_admin+ep /usr/bin/netriage"}}
	m.Header, m.Links = AdaptLinks(rows, []string{"eth0", "wg0"}, hist)
	m.Procs, m.Conns, m.Remotes = AdaptAttrib(attribReport(), 4026531840)
	m.Flows = FlowsFromConns(m.Conns, nil)
	m.Totals = TotalsOf(m.Flows, nil)
	rep := verdictReport()
	m.Verdict = AdaptVerdict(rep)
	m.CoverageRatio, m.CoverageKnown = CoverageOf(rep)
	ApplyExplain(m.Links, rep)
	return m
}

func TestAdaptedScreens(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*UIState)
	}{
		{"flows", func(*UIState) {}},
		{"procs", func(s *UIState) { s.View = ViewProcs }},
		{"links_detail", func(s *UIState) { s.View = ViewLinks; s.Detail = true }},
	}
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		for _, tc := range cases {
			name := fmt.Sprintf("screen_adapted_%s_%dx%d", tc.name, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				st := NewUIState(ViewFlows)
				tc.setup(st)
				f := BuildFrame(adaptedModel(), st, size[0], size[1])
				lines := f.Screen()
				for i, l := range lines {
					if n := utf8.RuneCountInString(l); n > size[0] {
						t.Errorf("line %d is %d cells wide: %q", i, n, l)
					}
				}
				checkSafe(t, f)
				golden(t, name, strings.Join(lines, "\n")+"\n")
			})
		}
	}
}

// liveSized is a model as the live engine builds it on a busy host:
// nConns TCP connections of nProcs processes, through the adapters.
func liveSized(nConns, nProcs int) *attrib.Report {
	rep := &attrib.Report{Time: tl0}
	for p := 0; p < nProcs; p++ {
		rep.Processes = append(rep.Processes, attrib.ProcRow{
			Process: attrib.Process{Key: attrib.ProcKey{PID: int32(1000 + p), StartTicks: 1}, User: "u", Program: fmt.Sprintf("prog%d", p), Cmdline: "prog --flag"},
			Rate10s: attrib.Rates{SentBps: float64(p) * 1000}, Connections: nConns / nProcs})
	}
	for c := 0; c < nConns; c++ {
		r := netip.AddrFrom4([4]byte{198, 18, byte(c >> 8), byte(c)})
		rep.Connections = append(rep.Connections, attrib.ConnRow{
			Key:     flows.Key{Proto: flows.ProtoTCP, Local: aLocal, Remote: r, LocalPort: uint16(30000 + c), RemotePort: 443},
			Owner:   attrib.Owner{Proc: attrib.ProcKey{PID: int32(1000 + c%nProcs), StartTicks: 1}},
			Program: fmt.Sprintf("prog%d", c%nProcs), SentBytes: uint64(c) * 1000,
			Rate2s: attrib.Rates{SentBps: float64(c) * 800}, Rate10s: attrib.Rates{SentBps: float64(c) * 700}, Rate40s: attrib.Rates{SentBps: float64(c) * 600}})
		rep.Remotes = append(rep.Remotes, attrib.RemoteRow{Addr: r, Connections: 1, Procs: []attrib.ProcKey{{PID: int32(1000 + c%nProcs), StartTicks: 1}}})
	}
	return rep
}

// BenchmarkLiveTick measures what the live engine spends on the display
// side per tick: adapting an attribution report of 2,000 connections and
// 200 processes plus the links, then one redraw at 120×40 as the host
// does it.
func BenchmarkLiveTick(b *testing.B) {
	rep := liveSized(2000, 200)
	prev, cur := linkSamples()
	rows := triage.CompareLinks(&prev, &cur, nil)
	hist := NewHistory(60)
	st := NewUIState(ViewFlows)
	b.ReportAllocs()
	for b.Loop() {
		hist.PushLinks(rows)
		m := &Model{}
		m.Header, m.Links = AdaptLinks(rows, []string{"eth0", "wg0"}, hist)
		m.Procs, m.Conns, m.Remotes = AdaptAttrib(rep, 0)
		m.Flows = FlowsFromConns(m.Conns, nil)
		m.Totals = TotalsOf(m.Flows, hist)
		f := BuildFrame(m, st, 120, 40)
		for name := range f.Rects {
			_ = WriteANSI(io.Discard, f.Pane(name))
		}
	}
}

func TestAdaptFlows(t *testing.T) {
	rep := attribReport()
	rate := func(s, r float64) flows.Rate { return flows.Rate{SentBytesPerSec: s, RecvBytesPerSec: r} }
	snap := &flows.Snapshot{
		Seq: 3, Time: tl0, Aggregation: flows.By5Tuple,
		Flows: []flows.FlowStat{
			{Key: rep.Connections[0].Key, Counts: flows.Counts{SentBytes: 900, RecvBytes: 90, SentPackets: 9, RecvPackets: 3},
				Rates: flows.Rates{R2: rate(20, 2), R10: rate(10, 1), R40: rate(5, 0.5), Peak: rate(40, 4)}, Flows: 1},
			{Key: flows.Key{Proto: flows.ProtoICMP, Local: aLocal, Remote: aOther}, Counts: flows.Counts{RecvBytes: 84, RecvPackets: 1},
				Rates: flows.Rates{R40: rate(0, 2.1), Peak: rate(0, 84)}, Flows: 1},
		},
		Totals: flows.FlowStat{Counts: flows.Counts{SentBytes: 1900, RecvBytes: 174},
			Rates: flows.Rates{R2: rate(30, 2), R10: rate(12, 1), R40: rate(6, 3), Peak: rate(50, 90)}},
	}
	rows, tot := AdaptFlows(snap, rep, nil)
	want := []FlowRow{
		{Proto: "tcp", Local: aLocal, Remote: aRemote, LocalPort: 40000, RemotePort: 22, RemoteName: "backup-1.lab.example",
			Sent: BytesPerSec{20, 10, 5, 40}, Recv: BytesPerSec{2, 1, 0.5, 4}, SentBytes: 900, RecvBytes: 90,
			PID: 1234, Process: "rsync", Container: "docker:0123456789ab"},
		{Proto: "icmp", Local: aLocal, Remote: aOther, Recv: BytesPerSec{0, 0, 2.1, 84}, RecvBytes: 84},
	}
	if diff := cmp.Diff(want, rows, addrCmp); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	wantTot := Totals{Sent: BytesPerSec{30, 12, 6, 50}, Recv: BytesPerSec{2, 1, 3, 90}, SentBytes: 1900, RecvBytes: 174}
	if tot != wantTot {
		t.Errorf("totals = %+v, want %+v", tot, wantTot)
	}
	if r, _ := AdaptFlows(snap, nil, nil); r[0].PID != 0 || r[0].RemoteName != "" {
		t.Errorf("without attribution: %+v", r[0])
	}
	svc := func(p flows.Proto, port uint16) string {
		if p == flows.ProtoTCP && port == 22 {
			return "ssh"
		}
		return ""
	}
	if r, _ := AdaptFlows(snap, nil, svc); r[0].RemoteService != "ssh" || r[0].LocalService != "" || r[1].RemoteService != "" {
		t.Errorf("services: %+v / %+v", r[0], r[1])
	}
	st := FlowStatsOf(snap)
	if len(st) != 2 || st[0].Rate10s != (attrib.Rates{SentBps: 80, RecvBps: 8}) || st[0].SentPackets != 9 || st[0].Key != snap.Flows[0].Key {
		t.Errorf("FlowStatsOf = %+v", st)
	}
}

// TestRemovedInterfaceBanner follows a watched interface deleted mid-run
// from the link samples to the banner, as the TUI engine does: the banner
// says REMOVED (never OK), shows no coverage for it, and the header line
// says gone. Before, the removal read as a counter reset: OK at 130%+
// coverage, because the flows outlive the counters.
func TestRemovedInterfaceBanner(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	veth := func(n uint64) triage.IfaceSample {
		return triage.IfaceSample{Name: "veth1", Index: 7, Kind: "veth", OperState: "up", AdminUp: true, EthtoolSpeedBps: 10e9,
			Counters: triage.IfaceCounters{RxBytes: n * 100_000, TxBytes: n * 100_000, RxPackets: n * 100, TxPackets: n * 100}}
	}
	smp := func(sec int, ifs ...triage.IfaceSample) triage.LinksSample {
		return triage.LinksSample{Seq: uint64(sec + 1), Time: t0.Add(time.Duration(sec) * time.Second), Ifaces: ifs}
	}
	// 2 s of counters, then gone for 2 s; the capture saw 4 s of flows.
	window := []triage.LinksSample{smp(0, veth(0)), smp(1, veth(1)), smp(2, veth(2)), smp(3), smp(4)}
	flow := verdict.Flow{Key: flows.Key{Proto: flows.ProtoTCP, Local: netip.MustParseAddr("198.18.1.1"), Remote: netip.MustParseAddr("198.18.1.2"), LocalPort: 4000, RemotePort: 5201},
		SentBytes: 4 * 98_600, RecvBytes: 4 * 98_600, SentPackets: 400, RecvPackets: 400}
	build := func(samples []triage.LinksSample, prev *verdict.Report) (*Model, verdict.Report) {
		w := verdict.Window{Start: samples[0].Time, End: samples[len(samples)-1].Time, Samples: len(samples), Counters: true,
			Flows: []verdict.Flow{flow}, Capture: verdict.Capture{Active: true, Interfaces: []string{"veth1"}}}
		w.Interfaces, _ = verdict.FromLinks(samples, []string{"veth1"}, nil)
		for i := range w.Interfaces {
			w.Interfaces[i].Captured = true
		}
		r := verdict.Evaluate(w, verdict.DefaultThresholds())
		if prev != nil {
			r = verdict.Hold(*prev, r, verdict.DefaultThresholds())
		}
		m := &Model{Source: "live veth1", Mode: "capture"}
		last := samples[len(samples)-1]
		m.Header, m.Links = AdaptLinks(triage.CompareLinks(&samples[len(samples)-2], &last, nil), []string{"veth1"}, nil)
		m.Verdict = AdaptVerdict(&r)
		m.CoverageRatio, m.CoverageKnown = CoverageOf(&r)
		return m, r
	}
	_, before := build(window[:3], nil)
	if before.Verdict != verdict.OK {
		t.Fatalf("before the removal: %v (%s)", before.Verdict, before.Summary)
	}
	// Right after the removal, and once the window holds no sample with
	// the interface any more.
	for _, samples := range [][]triage.LinksSample{window, window[3:]} {
		m, r := build(samples, &before)
		if m.Verdict.Level != VerdictRemoved || !strings.Contains(m.Verdict.Summary, "veth1 removed") {
			t.Errorf("banner %v %q, want REMOVED for veth1 (report %s)", m.Verdict.Level, m.Verdict.Summary, r.Summary)
		}
		if m.CoverageKnown {
			t.Errorf("coverage %.1f%% shown for a removed interface", m.CoverageRatio*100)
		}
		if len(m.Header) != 1 || !m.Header[0].Gone {
			t.Errorf("header %+v, want veth1 gone", m.Header)
		}
		f := BuildFrame(m, NewUIState(ViewLinks), 120, 30)
		screen := strings.Join(f.Screen(), "\n")
		for _, want := range []string{" REMOVED ", "coverage n/a", "veth1 removed during the window", "gone (removed while running)"} {
			if !strings.Contains(screen, want) {
				t.Errorf("screen lacks %q:\n%s", want, screen)
			}
		}
		if strings.Contains(screen, " OK ") {
			t.Errorf("screen says OK:\n%s", screen)
		}
	}
}

// The banner says DROPS when a stack finding, not a link, sets the
// report's state, and keeps the link's word when the link is worse.
func TestAdaptVerdictDrops(t *testing.T) {
	nic := verdict.Finding{Rule: verdict.RuleNICDrops, Status: verdict.StatusCritical}
	endpoint := verdict.Finding{Rule: verdict.RuleEndpointDrops, Status: verdict.StatusWarning}
	tests := []struct {
		name     string
		v        verdict.Verdict
		status   verdict.Status
		findings []verdict.Finding
		want     VerdictLevel
	}{
		{"ok link, NIC drops", verdict.OK, verdict.StatusCritical, []verdict.Finding{nic}, VerdictDrops},
		{"congested link, NIC drops", verdict.Congested, verdict.StatusCritical, []verdict.Finding{nic, endpoint}, VerdictDrops},
		{"saturated link, NIC drops", verdict.Saturated, verdict.StatusCritical, []verdict.Finding{nic}, VerdictSaturated},
		{"ok link, endpoint drops", verdict.OK, verdict.StatusWarning, []verdict.Finding{endpoint}, VerdictEndpointDrops},
		{"congested link, endpoint drops", verdict.Congested, verdict.StatusWarning, []verdict.Finding{endpoint}, VerdictCongested},
		{"unknown link, endpoint drops", verdict.Unknown, verdict.StatusWarning, []verdict.Finding{endpoint}, VerdictEndpointDrops},
		{"no findings", verdict.OK, verdict.StatusOK, nil, VerdictOK},
	}
	for _, tc := range tests {
		rep := &verdict.Report{Verdict: tc.v, Status: tc.status, Findings: tc.findings, Summary: tc.status.String() + ": x"}
		if got := AdaptVerdict(rep); got.Level != tc.want || got.Summary != "x" {
			t.Errorf("%s: %+v, want level %s", tc.name, got, tc.want.Word())
		}
	}
	if VerdictDrops.Word() != "DROPS" || VerdictEndpointDrops.Word() != "ENDPOINT DROPS" {
		t.Error("banner words")
	}
}

// A remote's programs are listed once each, in the order seen; remotes of
// one program share its slice, and a remote with more names does not
// change the others'.
func TestAdaptRemoteProcesses(t *testing.T) {
	a, b, c := attrib.ProcKey{PID: 1, StartTicks: 1}, attrib.ProcKey{PID: 2, StartTicks: 1}, attrib.ProcKey{PID: 3, StartTicks: 1}
	rep := &attrib.Report{Time: tl0}
	for _, p := range []struct {
		k    attrib.ProcKey
		name string
	}{{a, "nginx"}, {b, "curl"}, {c, "nginx"}} {
		rep.Processes = append(rep.Processes, attrib.ProcRow{Process: attrib.Process{Key: p.k, Program: p.name}})
	}
	addr := func(i byte) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 5, i}) }
	rep.Remotes = []attrib.RemoteRow{
		{Addr: addr(1), Procs: []attrib.ProcKey{a}},
		{Addr: addr(2), Procs: []attrib.ProcKey{a, c, b, a}},
		{Addr: addr(3), Procs: []attrib.ProcKey{c}},
		{Addr: addr(4)},
		{Addr: addr(5), Procs: []attrib.ProcKey{{PID: 9, StartTicks: 9}, b}},
	}
	_, _, remotes := AdaptAttrib(rep, 0)
	want := [][]string{{"nginx"}, {"nginx", "curl"}, {"nginx"}, nil, {"curl"}}
	for i, r := range remotes {
		if !slices.Equal(r.Processes, want[i]) {
			t.Errorf("remote %s: processes %q, want %q", r.Addr, r.Processes, want[i])
		}
	}
}
