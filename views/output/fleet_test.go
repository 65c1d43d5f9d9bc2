package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"netriage/triage/fleet"
	"netriage/views/format"
)

func fleetTestReport() fleet.Report {
	f := func(v float64) *float64 { return &v }
	return fleet.Report{
		Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Window: time.Hour,
		Hosts: []string{"host-a:10099", "host-b:10099", "host-c:10099"}, Links: 12, Saturated: 1, Congested: 1,
		Problems: []fleet.Link{
			{Instance: "host-a:10099", Interface: "eth0", Direction: "tx", Now: fleet.StateSaturated, Utilization: f(0.992), Peak: f(1.004),
				SaturatedSeconds: 1234.4, CongestedSeconds: 12, FlowBytesPerSec: f(12_300_000),
				Processes: []fleet.Talker{
					{Name: "iperf3", Scope: "eth0", BytesPerSec: 11_900_000, Share: f(0.967)},
					{Name: "nginx", Container: "docker:0123456789ab", Scope: "eth0", BytesPerSec: 300_000, Share: f(0.024)},
					{Name: "unattributed:closed", Scope: "eth0", BytesPerSec: 90_000, Share: f(0.007)},
				},
				Remotes: []fleet.Talker{
					{Name: "198.18.1.2", Host: "sink.example.net", Scope: "eth0", BytesPerSec: 11_900_000, Share: f(0.967)},
					{Name: "fd00:198:18::9", Scope: "eth0", BytesPerSec: 100_000, Share: f(0.008)},
				}},
			{Instance: "host-b:10099", Interface: "bond0", Direction: "rx", Now: fleet.StateCongested, CongestedSeconds: 40},
			{Instance: "host-c:10099", Interface: "eth1", Direction: "tx", Now: fleet.StateOK, Utilization: f(0.31), Peak: f(0.97),
				SaturatedSeconds: 300, FlowBytesPerSec: f(1_000_000),
				Processes: []fleet.Talker{{Name: "backup", Scope: "any", BytesPerSec: 800_000, Share: f(0.8)}}},
			{Instance: "host-d:10099", Interface: "eth0", Direction: "tx", Now: fleet.StateNone, SaturatedSeconds: 60},
		},
		Silent: []string{"host-d:10099"},
	}
}

func TestFleetGolden(t *testing.T) {
	quiet := fleet.Report{Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Window: 90 * time.Minute,
		Hosts: []string{"host-a:10099"}, Links: 4}
	hostile := fleetTestReport()
	hostile.Hosts = []string{"host\x1b[2J-a:10099"}
	hostile.Silent = []string{"gone\x07" + strings.Repeat("h", 200)}
	l := &hostile.Problems[0]
	l.Instance, l.Interface = "host\x1b]0;title\x07-a", "eth\u202e0"+strings.Repeat("i", 80)
	l.Processes = []fleet.Talker{{Name: "evil\x1b[31m" + strings.Repeat("p", 100), Container: "docker:\r\nx", Scope: "eth\x000", BytesPerSec: 1}}
	l.Remotes = []fleet.Talker{{Name: "198.18.1.2\n", Host: "a\x1b[1mb." + strings.Repeat("n", 200), Scope: "eth0", BytesPerSec: 1}}
	tests := []struct {
		name string
		rep  fleet.Report
		u    format.Units
	}{
		{"sample", fleetTestReport(), format.Units{}},
		{"sample-bytes", fleetTestReport(), format.Units{Bytes: true}},
		{"quiet", quiet, format.Units{}},
		{"no-samples", fleet.Report{Window: time.Hour}, format.Units{}},
		{"hostile", hostile, format.Units{}},
	}
	for _, tc := range tests {
		for _, f := range []string{"table", "json"} {
			if f == "json" && tc.u.Bytes {
				continue
			}
			t.Run(tc.name+"/"+f, func(t *testing.T) {
				var b bytes.Buffer
				if err := WriteFleet(&b, tc.rep, "http://prometheus.example.net:9090", f, tc.u); err != nil {
					t.Fatal(err)
				}
				if f == "json" {
					var rec FleetRecord
					if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
						t.Fatalf("not JSON: %v", err)
					}
					if rec.Problems == nil || len(rec.Problems) != len(tc.rep.Problems) {
						t.Errorf("problems %v", rec.Problems)
					}
				}
				golden(t, "fleet_"+tc.name+"."+f, b.Bytes())
			})
		}
	}
}
