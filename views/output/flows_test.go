package output

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"netriage/triage"
	"netriage/triage/flows"
	"netriage/views/format"
)

// flowsTestSnapshot is a snapshot with IPv4 TCP, IPv6 UDP and ICMP flows,
// an evicted bucket and an interface error.
func flowsTestSnapshot(agg flows.Aggregation) flows.Snapshot {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	mk := func(k flows.Key, sent, recv, sp, rp uint64, r2 float64) flows.FlowStat {
		return flows.FlowStat{
			Key:    k,
			Counts: flows.Counts{SentBytes: sent, RecvBytes: recv, SentPackets: sp, RecvPackets: rp},
			Rates: flows.Rates{
				R2:   flows.Rate{SentBytesPerSec: r2, RecvBytesPerSec: r2 * 2},
				R10:  flows.Rate{SentBytesPerSec: r2 / 5, RecvBytesPerSec: r2 / 2.5},
				R40:  flows.Rate{SentBytesPerSec: r2 / 20, RecvBytesPerSec: r2 / 10},
				Peak: flows.Rate{SentBytesPerSec: r2 * 1.5, RecvBytesPerSec: r2 * 3},
			},
			First: t0, Last: t0.Add(9 * time.Second), Flows: 1,
		}
	}
	s := flows.Snapshot{
		Seq: 3, Time: t0.Add(10 * time.Second), Start: t0, Aggregation: agg,
		Flows: []flows.FlowStat{
			mk(flows.Key{Proto: flows.ProtoTCP, Local: netip.MustParseAddr("198.18.0.1"), LocalPort: 40000, Remote: netip.MustParseAddr("198.19.0.10"), RemotePort: 443}, 12000, 240000, 100, 180, 5000),
			mk(flows.Key{Proto: flows.ProtoUDP, Local: netip.MustParseAddr("fd00:198:18::1"), LocalPort: 5353, Remote: netip.MustParseAddr("fd00:198:18::99"), RemotePort: 53}, 700, 1400, 7, 7, 100),
			mk(flows.Key{Proto: flows.ProtoICMP, Local: netip.MustParseAddr("198.18.0.1"), Remote: netip.MustParseAddr("198.19.0.20")}, 84, 84, 1, 1, 0),
		},
		Other: mk(flows.Key{}, 300, 0, 3, 0, 30),
		Capture: flows.Health{
			Packets: 299, Bytes: 254568, LinkHeaderBytes: 4186, KernelDrops: 2, EvictedFlows: 1, ExpiredFlows: 4,
			NonIP: 5, Truncated: 1, Fragments: 2, Filter: "not port 22\x1b[2J", LocalNet: "198.18.0.0/15",
			Interfaces: []flows.IfaceHealth{
				{Name: "veth0", Packets: 200, KernelDrops: 2, RingBytes: 32 << 20, GrewAt: t0.Add(3 * time.Second)},
				{Name: "veth1", Packets: 99, Err: "interface removed", Stopped: true, RingBytes: 2 << 20},
			},
			Warnings: []string{"-p not honoured on veth0: promiscuous mode could not be set\x1b[2J"},
		},
	}
	s.Totals.Flows = len(s.Flows)
	for i := range s.Flows {
		s.Totals.Counts.Add(s.Flows[i].Counts)
	}
	s.Totals.Counts.Add(s.Other.Counts)
	if agg == flows.ByHostPair {
		for i := range s.Flows {
			k := &s.Flows[i].Key
			k.LocalPort, k.RemotePort = 0, 0
			k.Proto = 0
		}
	}
	return s
}

// hostileSnapshot is flowsTestSnapshot with escape sequences, newlines
// and invalid UTF-8 in every string that comes from outside.
func hostileSnapshot() flows.Snapshot {
	s := flowsTestSnapshot(flows.By5Tuple)
	s.Capture.Interfaces[0].Name = "veth\x1b[31m0"
	s.Capture.Interfaces[1].Name = "veth\x9b1"
	s.Capture.Interfaces[1].Err = "removed\nfake: line\r\x1b[2K"
	s.Capture.LocalNet = "198.18.0.0/15"
	return s
}

func hostileNames(a netip.Addr) string {
	switch a.String() {
	case "198.19.0.10":
		return "web.example"
	case "fd00:198:18::1":
		return "evil\x1b]0;title\x07.example"
	case "198.19.0.20":
		return "bad\xff\xfe\u202eutf8.example"
	}
	return ""
}

// testPorts names the ports of the fixtures, as the service table would.
func testPorts(proto flows.Proto, p uint16) string {
	switch p {
	case 443:
		return "https"
	case 53:
		return "domain"
	case 5353:
		return "mdns\x1b[1m"
	}
	return strconv.Itoa(int(p))
}

func TestFlowsRecordGolden(t *testing.T) {
	names := func(a netip.Addr) string {
		switch a.String() {
		case "198.19.0.10":
			return "web.example"
		case "fd00:198:18::1":
			return "evil\x1b]0;title\x07.example"
		}
		return ""
	}
	tests := []struct {
		name  string
		agg   flows.Aggregation
		names func(netip.Addr) string
		limit int
	}{
		{"5tuple-names", flows.By5Tuple, names, 0},
		{"hosts-limit", flows.ByHostPair, nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := FlowsRecordOf(flowsTestSnapshot(tc.agg), tc.names, tc.limit)
			got, err := json.MarshalIndent(rec, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			if bytes.ContainsAny(got, "\x1b\x07") {
				t.Error("control characters in the JSON record")
			}
			golden(t, "flows_"+tc.name+".golden", got)
		})
	}
}

// TestFlowsRecordFields checks the documented invariants: bps are bits,
// ports null without ports or when aggregated away.
func TestFlowsRecordFields(t *testing.T) {
	rec := FlowsRecordOf(flowsTestSnapshot(flows.By5Tuple), nil, 0)
	f := rec.Flows[0]
	if f.Rate2s.SentBps != 5000*8 || f.Rate2s.RecvBps != 10000*8 {
		t.Errorf("rate_2s = %+v, want bits per second", f.Rate2s)
	}
	if f.LocalPort == nil || *f.LocalPort != 40000 || f.RemotePort == nil || *f.RemotePort != 443 {
		t.Errorf("tcp ports = %v/%v", f.LocalPort, f.RemotePort)
	}
	if icmp := rec.Flows[2]; icmp.LocalPort != nil || icmp.RemotePort != nil {
		t.Error("icmp flow has ports")
	}
	for _, f := range FlowsRecordOf(flowsTestSnapshot(flows.ByHostPair), nil, 0).Flows {
		if f.LocalPort != nil || f.RemotePort != nil || f.Proto != nil {
			t.Errorf("host-pair flow keeps ports or protocol: %+v", f)
		}
	}
	if rec.Capture.Drops != 2 || rec.Capture.EvictedFlows != 1 || len(rec.Capture.Interfaces) != 2 || !rec.Capture.Interfaces[1].Stopped {
		t.Errorf("capture = %+v", rec.Capture)
	}
	if len(rec.Capture.Warnings) != 1 || !strings.HasPrefix(rec.Capture.Warnings[0], "-p not honoured on veth0") {
		t.Errorf("capture warnings = %q", rec.Capture.Warnings)
	}
	if b, err := json.Marshal(FlowsRecordOf(flows.Snapshot{}, nil, 0)); err != nil || bytes.Contains(b, []byte(`"warnings"`)) {
		t.Errorf("a record without warnings has a warnings field (%v): %s", err, b)
	}
}

// TestFlowsTable checks the text table: health line, interface errors,
// totals, the evicted bucket and port names.
func TestFlowsTable(t *testing.T) {
	var b bytes.Buffer
	fw := NewFlowsWriter(&b, FlowsOptions{Format: "table", Ports: testPorts})
	if err := fw.Write(flowsTestSnapshot(flows.By5Tuple), false, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"2 kernel drops", "1 evicted flows", "5 non-IP", "1 truncated",
		"veth1: interface removed", "198.19.0.10:https", "[fd00:198:18::99]:domain",
		"TOTAL", "OTHER", "warning: -p not honoured on veth0: promiscuous mode could not be set",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b") {
		t.Errorf("control characters in the table:\n%q", out)
	}
}

// TestFlowsGolden renders the same snapshots in every format, including a
// hostile one, an empty one and narrow cases (a limit, bytes and IEC
// units, a final record with notes, two records in one CSV stream).
func TestFlowsGolden(t *testing.T) {
	type rec struct {
		s     flows.Snapshot
		final bool
		notes []string
	}
	tests := []struct {
		name string
		o    FlowsOptions
		recs []rec
	}{
		{"5tuple", FlowsOptions{Ports: testPorts}, []rec{{s: flowsTestSnapshot(flows.By5Tuple)}}},
		{"5tuple-numbers", FlowsOptions{}, []rec{{s: flowsTestSnapshot(flows.By5Tuple)}}},
		{"hosts-limit-bytes-iec", FlowsOptions{Limit: 1, Units: format.Units{Bytes: true, IEC: true}}, []rec{{s: flowsTestSnapshot(flows.ByHostPair)}}},
		{"hostile", FlowsOptions{Names: hostileNames, Ports: testPorts}, []rec{{s: hostileSnapshot(), final: true, notes: []string{"incomplete: bad\x1b[2Jfile"}}}},
		{"empty", FlowsOptions{}, []rec{{s: flows.Snapshot{Time: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)}}}},
		{"two-records", FlowsOptions{Limit: 2}, []rec{{s: flowsTestSnapshot(flows.By5Tuple)}, {s: flowsTestSnapshot(flows.ByHostPort), final: true}}},
	}
	for _, tc := range tests {
		for _, f := range []string{"table", "json", "csv"} {
			t.Run(tc.name+"/"+f, func(t *testing.T) {
				var b bytes.Buffer
				o := tc.o
				o.Format = f
				fw := NewFlowsWriter(&b, o)
				for _, r := range tc.recs {
					if err := fw.Write(r.s, r.final, r.notes); err != nil {
						t.Fatal(err)
					}
				}
				golden(t, "flows_"+tc.name+"."+f, b.Bytes())
			})
		}
	}
}

// TestFlowsWriteTop checks that WriteTop writes what sorting a copy of the
// snapshot and writing it did, in every format and limit, and leaves the
// snapshot's flows as they were.
func TestFlowsWriteTop(t *testing.T) {
	for _, f := range []string{"table", "json", "csv"} {
		for _, limit := range []int{0, 1, 2, 3, 5} {
			for _, k := range []flows.SortKey{flows.Sort2s, flows.SortSource, flows.SortBytes} {
				s := flowsTestSnapshot(flows.By5Tuple)
				before := s.Clone()
				var got, want bytes.Buffer
				o := FlowsOptions{Format: f, Limit: limit}
				if err := NewFlowsWriter(&got, o).WriteTop(s, k, false, nil); err != nil {
					t.Fatal(err)
				}
				c := s.Clone()
				flows.SortTop(c.Flows, k, limit)
				if err := NewFlowsWriter(&want, o).Write(c, false, nil); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Errorf("%s, -L %d, key %d: WriteTop wrote\n%s\nsorting a copy wrote\n%s", f, limit, k, got.String(), want.String())
				}
				for i := range s.Flows {
					if s.Flows[i].Key != before.Flows[i].Key {
						t.Fatalf("%s, -L %d, key %d: WriteTop reordered the snapshot", f, limit, k)
					}
				}
			}
		}
	}
}

// TestFlowsOmitted: the flows a top-n snapshot left out count in the
// record's flows_total and the table's "(N more)" line.
func TestFlowsOmitted(t *testing.T) {
	s := flowsTestSnapshot(flows.By5Tuple)
	s.Flows = s.Flows[:2]
	s.Omitted = 40
	if rec := FlowsRecordOf(s, nil, 2); rec.Total != 42 || rec.Shown != 2 {
		t.Errorf("flows_total %d, shown %d; want 42, 2", rec.Total, rec.Shown)
	}
	var b bytes.Buffer
	if err := NewFlowsWriter(&b, FlowsOptions{Limit: 2}).WriteTop(s, flows.Sort2s, false, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "(40 more)") {
		t.Errorf("the table does not say (40 more):\n%s", b.String())
	}
}

// TestFlowsSelf: a live record carries what netriage itself costs, its
// share of a CPU null when the step before had none; a writer never told
// carries none (replay), in JSON and in the table's first line.
func TestFlowsSelf(t *testing.T) {
	s := flowsTestSnapshot(flows.By5Tuple)
	for _, tc := range []struct {
		name      string
		self      *triage.SelfStep
		json, txt string
	}{
		{"none", nil, "", ""},
		{"no CPU share", &triage.SelfStep{RSS: 48_200_000, PeakRSS: 61_000_000},
			`"self":{"cpu_cores":null,"rss_bytes":48200000,"peak_rss_bytes":61000000}`, "  netriage: 48.2MB resident\n"},
		{"later record", &triage.SelfStep{CPU: 0.0213456, HasCPU: true, RSS: 48_200_000, PeakRSS: 61_000_000},
			`"self":{"cpu_cores":0.0213,"rss_bytes":48200000,"peak_rss_bytes":61000000}`, "  netriage: 2.1% CPU, 48.2MB resident\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var j, txt bytes.Buffer
			jw, tw := NewFlowsWriter(&j, FlowsOptions{Format: "json"}), NewFlowsWriter(&txt, FlowsOptions{Format: "table"})
			jw.SetSelf(tc.self)
			tw.SetSelf(tc.self)
			if err := jw.Write(s, false, nil); err != nil {
				t.Fatal(err)
			}
			if err := tw.Write(s, false, nil); err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(txt.String(), "\n")
			switch {
			case tc.json == "" && (strings.Contains(j.String(), `"self"`) || strings.Contains(first, "netriage:")):
				t.Errorf("no self cost, yet:\n%s\n%s", j.String(), first)
			case tc.json != "" && !strings.Contains(j.String(), tc.json):
				t.Errorf("JSON lacks %s:\n%s", tc.json, j.String())
			case tc.txt != "" && !strings.HasSuffix(first+"\n", tc.txt):
				t.Errorf("table's first line %q, want it to end with %q", first, tc.txt)
			}
		})
	}
}
