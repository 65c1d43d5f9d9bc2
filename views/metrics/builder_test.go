package metrics

import (
	"math"
	"testing"
	"time"

	"netriage/triage"
	"netriage/triage/engine"
	"netriage/triage/verdict"
)

// linkStep is a snapshot with one interface sample, compared with the
// previous one as the engine does.
func linkStep(seq uint64, prev *triage.LinksSample, cur triage.LinksSample) *engine.Snapshot {
	cur.Time = t0.Add(time.Duration(seq) * time.Second)
	return &engine.Snapshot{Seq: seq, Time: cur.Time, Links: &cur, LinksRead: true, LinkRows: triage.CompareLinks(prev, &cur, nil)}
}

// Link and qdisc counters only grow: a 32-bit qdisc counter that wraps, a
// re-created interface, a replaced qdisc and a counter reset each add
// what happened since, from zero where the kernel started again.
func TestLinkCountersMonotonic(t *testing.T) {
	sample := func(index int, rx uint64, kind string, drops uint64) triage.LinksSample {
		return triage.LinksSample{Ifaces: []triage.IfaceSample{{Name: "eth0", Index: index, OperState: "up", AdminUp: true,
			Counters: triage.IfaceCounters{RxBytes: rx, TxBytes: 2 * rx},
			Qdisc:    &triage.QdiscStats{Kind: kind, Drops: drops, BacklogBytes: drops % 7}}}}
	}
	steps := []struct {
		name             string
		s                triage.LinksSample
		wantRx, wantDrop uint64
	}{
		{"first: the kernel's values", sample(2, 1000, "fq_codel", math.MaxUint32-9), 1000, math.MaxUint32 - 9},
		{"qdisc drops wrap at 2^32", sample(2, 2000, "fq_codel", 5), 2000, math.MaxUint32 + 6},
		{"interface re-created: from zero", sample(3, 100, "fq_codel", 7), 2100, math.MaxUint32 + 8},
		{"qdisc replaced: from zero", sample(3, 200, "tbf", 3), 2200, math.MaxUint32 + 11},
		{"counter reset: from zero", sample(3, 50, "tbf", 4), 2250, math.MaxUint32 + 12},
	}
	b := NewBuilder(Options{Watched: []string{"eth0"}, Caps: DefaultCaps()})
	var prev *triage.LinksSample
	for i, tc := range steps {
		snap := linkStep(uint64(i+1), prev, tc.s)
		prev = snap.Links
		st := b.Step(snap)
		if len(st.Links) != 1 {
			t.Fatalf("%s: %d links", tc.name, len(st.Links))
		}
		l := st.Links[0]
		if l.Bytes[0] != tc.wantRx || l.Bytes[1] != 2*tc.wantRx {
			t.Errorf("%s: bytes %v, want rx %d, tx %d", tc.name, l.Bytes, tc.wantRx, 2*tc.wantRx)
		}
		if l.Qdisc == nil || l.Qdisc.Drops != tc.wantDrop || l.Qdisc.Kind != tc.s.Ifaces[0].Qdisc.Kind {
			t.Errorf("%s: qdisc %+v, want drops %d", tc.name, l.Qdisc, tc.wantDrop)
		}
	}
}

// Only watched interfaces are exported, and an interface that is gone has
// no counters in the step.
func TestLinksWatchedOnly(t *testing.T) {
	two := triage.LinksSample{Ifaces: []triage.IfaceSample{{Name: "eth0", Index: 2}, {Name: "eth1", Index: 3}}}
	one := triage.LinksSample{Ifaces: []triage.IfaceSample{{Name: "eth1", Index: 3}}}
	b := NewBuilder(Options{Watched: []string{"eth0"}, Caps: DefaultCaps()})
	s1 := linkStep(1, nil, two)
	if st := b.Step(s1); len(st.Links) != 1 || st.Links[0].Interface != "eth0" {
		t.Errorf("links %+v, want eth0 only", st.Links)
	}
	if st := b.Step(linkStep(2, s1.Links, one)); len(st.Links) != 0 {
		t.Errorf("links %+v, want none once eth0 is gone", st.Links)
	}
}

// Seconds of saturation and congestion add the steps' durations while the
// verdict says so, whatever the scrapes; an interface that leaves the
// verdict keeps its seconds.
func TestVerdictSeconds(t *testing.T) {
	rep := func(names []string, tx verdict.Verdict) *verdict.Report {
		r := &verdict.Report{DurationSec: 10}
		for _, n := range names {
			r.Interfaces = append(r.Interfaces, verdict.IfaceReport{Name: n, RX: verdict.DirReport{Verdict: verdict.OK}, TX: verdict.DirReport{Verdict: tx}})
		}
		return r
	}
	steps := []struct {
		at    time.Duration
		names []string
		tx    verdict.Verdict
	}{
		{0, []string{"eth0"}, verdict.Saturated}, // the first step has no duration
		{time.Second, []string{"eth0"}, verdict.Saturated},
		{1500 * time.Millisecond, []string{"eth0"}, verdict.Saturated},
		{2500 * time.Millisecond, []string{"eth0"}, verdict.Congested},
		{3 * time.Second, []string{"eth0"}, verdict.OK},
		{4 * time.Second, []string{"eth1"}, verdict.Saturated},
	}
	b := NewBuilder(Options{Caps: DefaultCaps()})
	var st *State
	for i, s := range steps {
		st = b.Step(&engine.Snapshot{Seq: uint64(i + 1), Time: t0.Add(s.at), Verdict: rep(s.names, s.tx)})
	}
	got := map[string]Verdict{}
	for _, v := range st.Verdicts {
		got[v.Interface+" "+dirNames[v.Direction]] = v
	}
	want := map[string]struct {
		judged     bool
		sat, congd float64
	}{
		"eth0 tx": {false, 1.5, 1}, "eth0 rx": {false, 0, 0},
		"eth1 tx": {true, 1, 0}, "eth1 rx": {true, 0, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("verdicts %+v", st.Verdicts)
	}
	for k, w := range want {
		v := got[k]
		if v.Judged != w.judged || v.SaturatedSeconds != w.sat || v.CongestedSeconds != w.congd {
			t.Errorf("%s: judged %v, saturated %vs, congested %vs; want %v, %v, %v", k, v.Judged, v.SaturatedSeconds, v.CongestedSeconds, w.judged, w.sat, w.congd)
		}
	}
	if got["eth1 tx"].State != verdict.Saturated || st.WindowSeconds != 10 {
		t.Errorf("eth1 tx state %v, window %v", got["eth1 tx"].State, st.WindowSeconds)
	}
}

func TestLabels(t *testing.T) {
	for in, want := range map[string]string{
		"nginx": "nginx", "": "unknown", "other": "process:other", "unattributed:forwarded": "process:unattributed:forwarded",
		"process:x": "process:process:x", "a\x1b[31mb\nc": "a?[31mb c",
	} {
		if got := processLabel(in); got != want {
			t.Errorf("processLabel(%q) = %q, want %q", in, got, want)
		}
	}
	l := newLabeller()
	a, b, c, again := l.label("x\x01"), l.label("x\x02"), l.label("x?"), l.label("x\x01")
	if a != "x?" || b != "x?~2" || c != "x?~3" || again != a {
		t.Errorf("labels %q %q %q %q: want distinct, stable values", a, b, c, again)
	}
	if got := unattributedLabel("other protocol"); got != "unattributed:other_protocol" {
		t.Errorf("unattributedLabel = %q", got)
	}
}
