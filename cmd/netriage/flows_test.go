package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"netriage/triage/flows"
	"netriage/views/format"
)

func TestFlowsResolveDisplay(t *testing.T) {
	tests := []struct {
		name     string
		f        flowFlags
		wantAgg  flows.Aggregation
		wantSort flows.SortKey
		wantErr  string // substring; "" = no error
	}{
		{"defaults", flowFlags{sort: "10s"}, flows.ByHostPair, flows.Sort10s, ""},
		{"-P", flowFlags{sort: "2s", ports: true}, flows.ByHostPort, flows.Sort2s, ""},
		{"-o 40s", flowFlags{sort: "40s"}, flows.ByHostPair, flows.Sort40s, ""},
		{"-o source", flowFlags{sort: "source"}, flows.ByHostPair, flows.SortSource, ""},
		{"-o destination", flowFlags{sort: "destination"}, flows.ByHostPair, flows.SortDestination, ""},
		{"-o 5s", flowFlags{sort: "5s"}, 0, 0, `-o "5s"`},
		{"-o empty", flowFlags{sort: ""}, 0, 0, `-o ""`},
		{"-F ipv4", flowFlags{sort: "10s", localNet: "198.18.0.0/15"}, flows.ByHostPair, flows.Sort10s, ""},
		{"-F ipv6", flowFlags{sort: "10s", localNet: "fd00:198:18::/64"}, flows.ByHostPair, flows.Sort10s, ""},
		{"-F no length", flowFlags{sort: "10s", localNet: "198.18.0.1"}, 0, 0, `-F "198.18.0.1"`},
		{"-F bad length", flowFlags{sort: "10s", localNet: "198.18.0.0/33"}, 0, 0, `-F "198.18.0.0/33"`},
		{"-F words", flowFlags{sort: "10s", localNet: "lan"}, 0, 0, `-F "lan"`},
		{"-L negative", flowFlags{sort: "10s", limit: -1}, 0, 0, "-L -1"},
		{"aggregate 5tuple", flowFlags{sort: "10s", aggregate: "5tuple"}, flows.By5Tuple, flows.Sort10s, ""},
		{"aggregate s", flowFlags{sort: "10s", aggregate: "s"}, flows.BySource, flows.Sort10s, ""},
		{"aggregate d", flowFlags{sort: "10s", aggregate: "d"}, flows.ByDestination, flows.Sort10s, ""},
		{"aggregate ports", flowFlags{sort: "10s", aggregate: "ports"}, flows.ByHostPort, flows.Sort10s, ""},
		{"aggregate bogus", flowFlags{sort: "10s", aggregate: "bogus"}, 0, 0, `--aggregate "bogus"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			agg, key, err := tc.f.resolveDisplay()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if !errors.Is(err, errUsage) {
					t.Errorf("err = %v is not a usage error (exit 2)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if agg != tc.wantAgg || key != tc.wantSort {
				t.Errorf("got (%v, %v), want (%v, %v)", agg, key, tc.wantAgg, tc.wantSort)
			}
		})
	}
}

// TestFlowsBadInput runs the subcommand with bad flags: exit 2 and a
// message naming the problem, before any capture is opened.
func TestFlowsBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"sort", []string{"-o", "1m"}, `-o "1m"`},
		{"net", []string{"-F", "10.0.0.0"}, `-F "10.0.0.0"`},
		{"aggregate", []string{"--aggregate", "x"}, `--aggregate "x"`},
		{"output", []string{"--output", "xml"}, "xml"},
		{"argument", []string{"extra"}, `unexpected argument "extra"`},
		{"filter", []string{"-n", "-f", "tcp port"}, "tcp port"},
		{"unknown flag", []string{"--bogus"}, "bogus"},
		{"ring memory", []string{"--fanout", "64"}, "capture rings: 2048 MiB (ring_mib 32 × fanout 64 × 1 interface(s)) is over the limit of 1024 MiB"},
		{"ring memory per interface", []string{"--fanout", "20", "-i", "lo,lo"}, "1280 MiB (ring_mib 32 × fanout 20 × 2 interface(s))"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, append([]string{"flows"}, tc.args...)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "goroutine ") {
				t.Errorf("stderr %q does not name %q (or has a stack trace)", stderr, tc.want)
			}
		})
	}
}

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
				{Name: "veth0", Packets: 200, KernelDrops: 2},
				{Name: "veth1", Packets: 99, Err: "interface removed", Stopped: true},
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
			rec := flowsRecord(flowsTestSnapshot(tc.agg), tc.names, tc.limit)
			got, err := json.MarshalIndent(rec, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			if bytes.ContainsAny(got, "\x1b\x07") {
				t.Error("control characters in the JSON record")
			}
			path := filepath.Join("testdata", "flows", tc.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("record differs from %s (run with -update to accept):\n%s", path, got)
			}
		})
	}
}

// TestFlowsRecordFields checks the documented invariants: bps are bits,
// ports null without ports or when aggregated away.
func TestFlowsRecordFields(t *testing.T) {
	rec := flowsRecord(flowsTestSnapshot(flows.By5Tuple), nil, 0)
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
	for _, f := range flowsRecord(flowsTestSnapshot(flows.ByHostPair), nil, 0).Flows {
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
	if b, err := json.Marshal(flowsRecord(flows.Snapshot{}, nil, 0)); err != nil || bytes.Contains(b, []byte(`"warnings"`)) {
		t.Errorf("a record without warnings has a warnings field (%v): %s", err, b)
	}
}

// TestFlowsTable checks the text table: health line, interface errors,
// totals, the evicted bucket and port names.
func TestFlowsTable(t *testing.T) {
	var b bytes.Buffer
	fw := &flowsWriter{w: &b, format: "table", units: format.Units{}, ports: portName}
	if err := fw.write(flowsTestSnapshot(flows.By5Tuple), false, nil); err != nil {
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
