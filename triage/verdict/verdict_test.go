package verdict

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netriage/triage/flows"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// brief is the part of a direction's report the table test checks.
type brief struct {
	Verdict  string
	Status   string
	Util     string
	Coverage string
	Explain  int
}

func briefOf(d DirReport) brief {
	b := brief{Verdict: d.Verdict.String(), Status: d.Status.String(), Util: "-", Coverage: "-", Explain: len(d.ExplainedBy)}
	if d.Utilization != nil {
		b.Util = pct(*d.Utilization)
	}
	if d.Coverage.Ratio != nil {
		b.Coverage = pct(*d.Coverage.Ratio)
	}
	return b
}

func TestEvaluate(t *testing.T) {
	fx := fixtures()
	tests := []struct {
		name     string
		wantExit int
		want     map[string]brief // "eth0 tx" → brief
		contains []string         // substrings of the JSON report
	}{
		{"saturated_shaper", 2, map[string]brief{
			"eth0 tx": {"saturated", "CRITICAL", "96.4%", "100.0%", 1},
			"eth0 rx": {"unknown", "UNKNOWN", "-", "100.0%", 1},
		}, []string{`"capacity_source": "shaper"`, `"program": "iperf3"`, "tcp_retransmits\": 1180"}},
		{"saturated_twenty", 2, map[string]brief{"eth0 tx": {"saturated", "CRITICAL", "97.5%", "100.0%", 12}}, nil},
		{"saturated_queue_near_capacity", 2, map[string]brief{"eth0 tx": {"saturated", "CRITICAL", "86.8%", "100.0%", 1}}, []string{"queue shows it"}},
		{"ok_60pct", 0, map[string]brief{"eth0 tx": {"ok", "OK", "59.0%", "100.0%", 1}}, nil},
		{"warning_85pct", 1, map[string]brief{"eth0 tx": {"ok", "WARNING", "84.0%", "100.0%", 1}}, []string{"above the warning threshold"}},
		{"congested_bursts", 1, map[string]brief{"eth0 tx": {"congested", "WARNING", "3.2%", "100.0%", 1}}, []string{"tbf queue dropped 240 packets (24.0/s"}},
		{"bursty_shaper", 2, map[string]brief{"eth0 tx": {"congested", "WARNING", "42.0%", "98.0%", 1}}, []string{
			`"rule": "bursty"`, "CRITICAL: eth0 tx bursty: 100 ms peaks of 100.0% while the average is 42.0%, 400 qdisc drops",
			`"peak_utilization": 1,`, `"above_crit_s": 4.02`, "bursty: 100 ms peaks reached 100.0%"}},
		{"steady_shaper", 0, map[string]brief{"eth0 tx": {"ok", "OK", "42.0%", "98.0%", 1}}, []string{`"findings": []`, `"peak_utilization": 0.42,`}},
		{"unknown_capacity", 3, map[string]brief{"eth0 tx": {"unknown", "UNKNOWN", "-", "100.0%", 1}}, []string{"--link-speed eth0=RATE"}},
		{"congested_unknown_capacity", 1, map[string]brief{"eth0 tx": {"congested", "WARNING", "-", "100.0%", 1}}, []string{"capacity is unknown"}},
		{"congested_backlog", 1, map[string]brief{"eth0 tx": {"congested", "WARNING", "0.1%", "100.0%", 1}}, []string{"backlog in 9 of 11 samples"}},
		{"congested_errors", 1, map[string]brief{"eth0 rx": {"congested", "WARNING", "0.1%", "100.0%", 1}, "eth0 tx": {"ok", "OK", "0.1%", "100.0%", 1}}, []string{"5000 rx errors"}},
		{"idle_known", 0, map[string]brief{"eth0 tx": {"ok", "OK", "0.0%", "-", 0}}, []string{"no traffic"}},
		{"idle_unknown", 0, map[string]brief{"eth0 tx": {"ok", "OK", "-", "-", 0}}, []string{"no traffic in the window"}},
		{"too_short", 3, map[string]brief{"eth0 tx": {"unknown", "UNKNOWN", "20.2%", "100.0%", 1}}, []string{"too short for a verdict"}},
		{"one_sample", 3, map[string]brief{"eth0 tx": {"unknown", "UNKNOWN", "0.8%", "100.0%", 1}}, []string{"only 1 counter sample"}},
		{"counter_reset", 0, map[string]brief{"eth0 tx": {"ok", "OK", "24.2%", "166.7%", 1}}, []string{"went backwards", "\"counter_reset\": true"}},
		{"coverage_filter", 0, map[string]brief{"eth0 tx": {"ok", "OK", "6.5%", "50.0%", 1}}, []string{`active filter: the capture filter \"host 198.18.1.2\"`}},
		{"coverage_drops", 0, map[string]brief{"eth0 tx": {"ok", "OK", "8.1%", "90.1%", 1}}, []string{"kernel dropped 667 packets", "12 non-IP frames"}},
		{"coverage_offload", 0, map[string]brief{"eth0 tx": {"ok", "OK", "7.3%", "99.1%", 1}}, []string{"offload effects"}},
		{"replay", 2, map[string]brief{"replay tx": {"saturated", "CRITICAL", "98.5%", "-", 1}}, []string{"coverage n/a", "a capture file has no interface counters"}},
		{"two_interfaces", 2, map[string]brief{"eth0 tx": {"saturated", "CRITICAL", "96.9%", "100.0%", 1}, "eth1 rx": {"unknown", "UNKNOWN", "-", "-", 0}}, []string{"did not listen on eth1"}},
		{"removed_interface", 2, map[string]brief{
			"eth1 tx": {"removed", "CRITICAL", "24.2%", "-", 1}, "eth1 rx": {"removed", "CRITICAL", "0.1%", "-", 1},
			"eth0 tx": {"ok", "OK", "0.0%", "-", 0},
		}, []string{"eth1 was removed during the window: its counters cover 4.0 s of the 10.0 s window", "CRITICAL: eth1 removed during the window", "removed during the window\""}},
		{"removed_netns", 2, map[string]brief{"eth0 tx": {"removed", "CRITICAL", "-", "-", 0}},
			[]string{"the network namespace of eth0 was deleted during the window", "no counter sample pair is left"}},
		{"hostile_names", 2, map[string]brief{"eth0 tx": {"saturated", "CRITICAL", "96.9%", "100.0%", 1}}, nil},
		{"nic_drops", 2, map[string]brief{"eth0 tx": {"ok", "OK", "59.0%", "100.0%", 1}}, []string{
			`"rule": "nic-drops"`, "CRITICAL: eth0 NIC lost 300 packets (30.0/s: rx_missed_errors +300, rx_queue_0_drops +40, rx_queue_1_drops +20)",
			"the ixgbe driver of eth0 counted 300 lost packets", "no free receive descriptor", "15 pause frames"}},
		{"softirq_drops", 2, map[string]brief{"eth0 tx": {"ok", "OK", "59.0%", "100.0%", 1}}, []string{
			`"rule": "softirq-drops"`, "softirq backlog dropped 5000 packets (500.0/s; CPU 1: 5000)", "1000 of them by the flow limit", "803 times"}},
		{"conntrack_full", 2, map[string]brief{}, []string{`"rule": "conntrack-full"`, "conntrack table at 99.9% of 262144 entries, 4000 drops, 100 early drops, 7 insert failures",
			"held 262000 of 262144 entries", "(410.7/s together"}},
		{"conntrack_at_threshold", 2, map[string]brief{}, []string{`"rule": "conntrack-full"`, "held 900 of 1000 entries (90.0%, threshold 90.0%)"}},
		{"endpoint_drops", 1, map[string]brief{}, []string{`"rule": "endpoint-drops"`, `"status": "WARNING"`,
			"WARNING: endpoints dropped 2055 packets (205.5/s: TCP listen drops +55, UDP receive buffer errors +2000)", "50 of them because its accept queue overflowed"}},
		{"losses_in_order", 2, map[string]brief{"eth0 tx": {"saturated", "CRITICAL", "96.4%", "100.0%", 1}}, []string{
			"CRITICAL: eth0 tx saturated: 96.4% of 50.0Mb/s (shaper), qdisc drops 120.0/s, 1 flow explains 99.5%; eth0 NIC lost 300 packets (30.0/s: rx_missed_errors +300, rx_queue_0_drops +40, rx_queue_1_drops +20); softirq backlog dropped 5000 packets (500.0/s; CPU 1: 5000); conntrack table at 99.9% of 262144 entries, 4000 drops, 100 early drops, 7 insert failures\"",
			`"rule": "endpoint-drops"`}},
		{"stack_quiet", 0, map[string]brief{"eth0 tx": {"ok", "OK", "59.0%", "100.0%", 1}}, []string{`"findings": []`, "not loaded", `"inflight_max_bytes": 4542`}},
	}
	seen := map[string]bool{}
	cfg := DefaultThresholds()
	for _, tc := range tests {
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			w, ok := fx[tc.name]
			if !ok {
				t.Fatalf("no fixture %q", tc.name)
			}
			r := Evaluate(w, cfg)
			if r.ExitCode != tc.wantExit {
				t.Errorf("exit code %d, want %d (summary %q)", r.ExitCode, tc.wantExit, r.Summary)
			}
			got := map[string]brief{}
			for _, ir := range r.Interfaces {
				for _, d := range []Direction{RX, TX} {
					k := ir.Name + " " + d.String()
					if _, want := tc.want[k]; want {
						got[k] = briefOf(*ir.Dir(d))
					}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("directions (-want +got):\n%s", diff)
			}
			js := marshal(t, r)
			for _, s := range tc.contains {
				if !strings.Contains(string(js), s) {
					t.Errorf("report does not contain %q", s)
				}
			}
		})
	}
	for name := range fx {
		if !seen[name] {
			t.Errorf("fixture %q has no table entry", name)
		}
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestGolden writes every fixture's input and report as JSON under
// testdata/<name>/ (with -update) and compares them otherwise.
func TestGolden(t *testing.T) {
	cfg := DefaultThresholds()
	names := make([]string, 0)
	fx := fixtures()
	for n := range fx {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			w := fx[name]
			r := Evaluate(w, cfg)
			golden(t, filepath.Join("testdata", name, "input.json"), marshal(t, w))
			golden(t, filepath.Join("testdata", name, "want.json"), marshal(t, r))
			// The input round-trips, so the renderers' tests can read it.
			var back Window
			if err := json.Unmarshal(marshal(t, w), &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r, Evaluate(back, cfg)); diff != "" {
				t.Errorf("input.json does not round-trip (-want +got):\n%s", diff)
			}
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./triage/verdict -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}

// TestExplainSmallestSet checks the explaining set against brute force:
// no smaller set of flows reaches the share.
func TestExplainSmallestSet(t *testing.T) {
	sizes := [][]uint64{
		{100},
		{50, 50},
		{10, 10, 10, 10, 10, 10, 10, 10, 10, 10},
		{80, 10, 10},
		{79, 11, 10},
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
		{0, 0, 5},
	}
	for _, share := range []float64{0.5, 0.8, 0.9, 1} {
		for _, sz := range sizes {
			t.Run(fmt.Sprint(share, sz), func(t *testing.T) {
				var fs []Flow
				var dfs []dirFlow
				var total uint64
				for i, b := range sz {
					fs = append(fs, tcp(uint16(1000+i), "198.18.1.2", b, 0))
					total += b
				}
				for i := range fs {
					if fs[i].SentBytes > 0 {
						dfs = append(dfs, dirFlow{f: &fs[i], bytes: fs[i].SentBytes})
					}
				}
				got, covered := explainFlows(dfs, total, share, 10)
				var sum uint64
				for _, e := range got {
					sum += e.Bytes
				}
				if !reached(sum, total, share) {
					t.Fatalf("set of %d holds %d of %d, below %v", len(got), sum, total, share)
				}
				if covered != round(float64(sum)/float64(total), 4) {
					t.Errorf("covered %v, want %v", covered, float64(sum)/float64(total))
				}
				// The best set of size len(got)-1 is the largest flows.
				desc := slices.Clone(sz)
				slices.Sort(desc)
				slices.Reverse(desc)
				var best uint64
				for _, b := range desc[:len(got)-1] {
					best += b
				}
				if reached(best, total, share) {
					t.Errorf("a set of %d flows would do (%d of %d), got %d", len(got)-1, best, total, len(got))
				}
			})
		}
	}
}

func TestExplainTieBreakAndGroups(t *testing.T) {
	fs := []Flow{
		owned(tcp(2, "198.18.1.3", 100, 0), 1, "a"),
		owned(tcp(1, "198.18.1.2", 100, 0), 1, "a"),
		owned(tcp(3, "198.18.1.2", 100, 0), 2, "b"),
		{Key: flows.Key{Proto: flows.ProtoICMP, Local: netip.MustParseAddr("198.18.0.1"), Remote: netip.MustParseAddr("198.18.1.9")}, SentBytes: 100, SentPackets: 1, Owner: &Owner{Unattributed: "other protocol"}},
	}
	fs[0].RemoteName = "three.example"
	var dfs []dirFlow
	for i := range fs {
		dfs = append(dfs, dirFlow{f: &fs[i], bytes: fs[i].SentBytes})
	}
	got, _ := explainFlows(dfs, 400, 0.5, 1)
	var keys []string
	for _, e := range got {
		p := "-"
		if e.LocalPort != nil {
			p = fmt.Sprint(*e.LocalPort)
		}
		keys = append(keys, e.Proto+" "+p)
	}
	if diff := cmp.Diff([]string{"icmp -", "tcp 1"}, keys); diff != "" {
		t.Errorf("tie order (-want +got):\n%s", diff)
	}
	procs := explainByProcess(dfs, 400, 0.5, 1)
	wantP := []Group{{Name: "a (pid 1)", Bytes: 200, RateBps: 1600, Share: 0.5, Flows: 2}}
	if diff := cmp.Diff(wantP, procs); diff != "" {
		t.Errorf("by process (-want +got):\n%s", diff)
	}
	remotes := explainByRemote(dfs, 400, 1, 1)
	var names []string
	for _, g := range remotes {
		names = append(names, fmt.Sprintf("%s=%d", g.Name, g.Bytes))
	}
	if diff := cmp.Diff([]string{"198.18.1.2=200", "198.18.1.9=100", "three.example (198.18.1.3)=100"}, names); diff != "" {
		t.Errorf("by remote (-want +got):\n%s", diff)
	}
}

func TestOwnerLabel(t *testing.T) {
	tests := []struct {
		in   *Owner
		want string
	}{
		{nil, "(no process data)"},
		{&Owner{PID: 5, Program: "nginx"}, "nginx (pid 5)"},
		{&Owner{PID: 5, Program: "nginx", Container: "docker:abc"}, "nginx (pid 5) [docker:abc]"},
		{&Owner{Unattributed: "forwarded"}, "unattributed: forwarded"},
		{&Owner{}, "unattributed: unknown"},
	}
	for _, tc := range tests {
		if got := OwnerLabel(tc.in); got != tc.want {
			t.Errorf("OwnerLabel(%+v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEnums(t *testing.T) {
	for _, v := range []Verdict{OK, Congested, Saturated, Unknown} {
		b, _ := v.MarshalText()
		var back Verdict
		if err := back.UnmarshalText(b); err != nil || back != v {
			t.Errorf("verdict %v round trip: %v %v", v, back, err)
		}
	}
	for _, s := range []Status{StatusOK, StatusWarning, StatusCritical, StatusUnknown} {
		b, _ := s.MarshalText()
		var back Status
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("status %v round trip: %v %v", s, back, err)
		}
	}
	var v Verdict
	if v.UnmarshalText([]byte("bogus")) == nil {
		t.Error("bogus verdict accepted")
	}
	codes := map[Status]int{StatusOK: 0, StatusWarning: 1, StatusCritical: 2, StatusUnknown: 3}
	for s, c := range codes {
		if s.ExitCode() != c {
			t.Errorf("%v exit %d, want %d", s, s.ExitCode(), c)
		}
	}
	worse := []struct{ a, b, want Verdict }{
		{OK, Unknown, Unknown}, {Unknown, Congested, Congested}, {Saturated, Congested, Saturated}, {OK, OK, OK},
	}
	for _, tc := range worse {
		if got := tc.a.Worse(tc.b); got != tc.want {
			t.Errorf("%v.Worse(%v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := tc.b.Worse(tc.a); got != tc.want {
			t.Errorf("%v.Worse(%v) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
	if StatusUnknown.Worse(StatusWarning) != StatusWarning || StatusOK.Worse(StatusUnknown) != StatusUnknown {
		t.Error("status order")
	}
}

// TestLoopbackCoverage: on lo every packet is sent and received, and the
// counters hold IP bytes, so each direction is covered by all the flow
// bytes with no link header; an Ethernet interface with the same numbers
// is not.
func TestLoopbackCoverage(t *testing.T) {
	fs := []Flow{tcp(40000, "127.0.0.1", 600_000, 30_000), tcp(40001, "127.0.0.1", 90_000, 1_500)}
	var all, pkts uint64
	for _, f := range fs {
		all += f.SentBytes + f.RecvBytes
		pkts += f.SentPackets + f.RecvPackets
	}
	for _, loopback := range []bool{true, false} {
		w := Window{
			Start: t0, End: t0.Add(10e9), Samples: 11, Counters: true,
			Interfaces: []Interface{{
				Name: "lo", Captured: true, Loopback: loopback,
				RX: DirCounters{Bytes: all, Packets: pkts}, TX: DirCounters{Bytes: all, Packets: pkts},
			}},
			Flows:   fs,
			Capture: Capture{Active: true, Interfaces: []string{"lo"}, Packets: pkts},
		}
		r := Evaluate(w, DefaultThresholds())
		for _, d := range []Direction{RX, TX} {
			c := r.Interfaces[0].Dir(d).Coverage
			full := c.Ratio != nil && *c.Ratio == 1 && c.LinkHeaderBytes == 0 && c.FlowLinkBytes == all
			if full != loopback {
				t.Errorf("loopback=%v %v: coverage %+v (ratio %v), want full coverage only on loopback", loopback, d, c, c.Ratio)
			}
		}
	}
}

func TestNoInterfaces(t *testing.T) {
	r := Evaluate(Window{Start: t0, End: t0.Add(10e9), Samples: 3, Counters: true}, DefaultThresholds())
	if r.Verdict != Unknown || r.ExitCode != 3 {
		t.Errorf("got %v exit %d", r.Verdict, r.ExitCode)
	}
}

func TestCaptureWarningsBecomeNotes(t *testing.T) {
	w := Window{Start: t0, End: t0.Add(10e9), Samples: 3, Counters: true,
		Capture: Capture{Active: true, Warnings: []string{"-p not honoured on any: promiscuous mode applies only to named interfaces"}}}
	r := Evaluate(w, DefaultThresholds())
	if !slices.Contains(r.Notes, w.Capture.Warnings[0]) {
		t.Errorf("notes %q lack the capture's warning", r.Notes)
	}
}

func TestHold(t *testing.T) {
	cfg := DefaultThresholds() // warn 0.80, crit 0.95, hysteresis 0.05
	mk := func(util float64) Report {
		// util of a 10 Mb/s link over 10 s, flows matching.
		b := uint64(util * 10_000_000 / 8 * 10)
		w := window(nil, 10_000_000, "ethtool")
		w.Interfaces[0].TX.Bytes, w.Interfaces[0].TX.Packets = b, b/1500
		return Evaluate(w, cfg)
	}
	tests := []struct {
		name        string
		prev, next  float64
		wantVerdict Verdict
		wantStatus  Status
	}{
		{"stays saturated above crit-h", 0.97, 0.92, Saturated, StatusCritical},
		{"clears below crit-h", 0.97, 0.89, OK, StatusWarning},
		{"warning held above warn-h", 0.85, 0.77, OK, StatusWarning},
		{"warning clears below warn-h", 0.85, 0.70, OK, StatusOK},
		{"no hold from ok", 0.50, 0.78, OK, StatusOK},
		{"rises freely", 0.50, 0.96, Saturated, StatusCritical},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := mk(tc.next)
			nextJSON := marshal(t, next)
			got := Hold(mk(tc.prev), next, cfg)
			d := got.Interfaces[0].TX
			if d.Verdict != tc.wantVerdict || d.Status != tc.wantStatus {
				t.Errorf("got %v/%v, want %v/%v (reasons %q)", d.Verdict, d.Status, tc.wantVerdict, tc.wantStatus, d.Reasons)
			}
			if got.Status != got.Status.Worse(d.Status) {
				t.Errorf("top-level status %v below direction %v", got.Status, d.Status)
			}
			if !bytes.Equal(nextJSON, marshal(t, next)) {
				t.Error("Hold modified its input")
			}
		})
	}
}

// TestJudgeAgreesWithEvaluate: the rule Judge states is the one Evaluate
// applies, across utilisations and with or without queue drops.
func TestJudgeAgreesWithEvaluate(t *testing.T) {
	cfg := DefaultThresholds()
	const capBps = 100_000_000
	for _, util := range []float64{0.10, 0.50, 0.78, 0.80, 0.85, 0.92, 0.95, 0.99} {
		for _, drops := range []uint64{0, 500} {
			sent := uint64(util * capBps / 8 * 10 / 1.0093) // IP bytes whose link bytes give util over 10 s
			w := window([]Flow{tcp(40000, "198.18.1.2", sent, 1000)}, capBps, "user")
			w.Interfaces[0].TX.Queue.Drops = drops
			d := Evaluate(w, cfg).Interfaces[0].TX
			got := Judge(*d.Utilization, true, drops > 0, cfg)
			if got != d.Verdict {
				t.Errorf("util %.2f (measured %.4f), drops %d: Judge %v, Evaluate %v", util, *d.Utilization, drops, got, d.Verdict)
			}
		}
	}
}

func TestPacketsWord(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 packets", 1: "1 packet", 2: "2 packets", 13309: "13309 packets"} {
		if got := packets(n); got != want {
			t.Errorf("packets(%d) = %q, want %q", n, got, want)
		}
	}
}
