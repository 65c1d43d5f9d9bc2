package fleet

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func s(v float64, kv ...string) Sample {
	l := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return Sample{Labels: l, Value: v, T: t0}
}

func link(inst, iface, dir string, kv ...string) []string {
	return append([]string{"instance", inst, "interface", iface, "direction", dir}, kv...)
}

func TestQueries(t *testing.T) {
	qs := Queries(Options{Window: 90 * time.Minute, TopK: 50})
	byName := map[string]string{}
	for _, q := range qs {
		if _, dup := byName[q.Name]; dup {
			t.Errorf("query %s twice", q.Name)
		}
		byName[q.Name] = q.PromQL
	}
	for name, want := range map[string]string{
		QSaturated: "increase(netriage_link_saturated_seconds_total[5400s]) > 0",
		QCongested: "increase(netriage_link_congested_seconds_total[5400s]) > 0",
		QProcesses: `topk by (instance, interface, direction) (20, (instance_interface_direction_process:netriage_process_bytes:rate5m or rate(netriage_process_bytes_total{process!="other"}[5m])) > 0)`,
		QRemotes:   `topk by (instance, interface, direction) (20, (instance_interface_direction_remote:netriage_remote_bytes:rate5m or rate(netriage_remote_bytes_total{remote!="other"}[5m])) > 0)`,
	} {
		if got := byName[name]; got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	if qs[0].Name != QHosts {
		t.Errorf("first query %s, want %s (it tells whether the server answers)", qs[0].Name, QHosts)
	}
	def := Queries(Options{})
	for _, q := range def {
		if q.Name == QPeak && !strings.Contains(q.PromQL, "[3600s]") {
			t.Errorf("default window: %s", q.PromQL)
		}
	}
}

func TestBuild(t *testing.T) {
	answers := map[string][]Sample{
		QHosts:  {s(1, "instance", "b:10099"), s(1, "instance", "a:10099"), s(1, "instance", "c:10099")},
		QSilent: {s(1, "instance", "gone:10099")},
		QState: {
			s(1, link("a:10099", "eth0", "tx", "state", "saturated")...),
			s(1, link("a:10099", "eth0", "rx", "state", "ok")...),
			s(1, link("b:10099", "eth1", "tx", "state", "congested")...),
			s(1, link("b:10099", "eth1", "rx", "state", "ok")...),
			s(1, link("c:10099", "eth0", "tx", "state", "ok")...),
			s(1, link("c:10099", "eth0", "rx", "state", "unknown")...),
		},
		QUtil: {s(0.99, link("a:10099", "eth0", "tx")...), s(0.5, link("c:10099", "eth0", "tx")...), s(0.1, link("a:10099", "eth0", "rx")...)},
		QPeak: {s(1.01, link("a:10099", "eth0", "tx")...), s(0.97, link("c:10099", "eth0", "tx")...)},
		// c was saturated earlier in the window; a for longer.
		QSaturated: {s(1200, link("a:10099", "eth0", "tx")...), s(300, link("c:10099", "eth0", "tx")...)},
		QCongested: {s(40, link("b:10099", "eth1", "tx")...)},
		QFlows:     {s(1000, link("a:10099", "eth0", "tx")...), s(500, link("c:10099", "any", "tx")...)},
		QProcesses: {
			s(600, link("a:10099", "eth0", "tx", "process", "nginx", "container", "docker:0123")...),
			s(300, link("a:10099", "eth0", "tx", "process", "iperf3", "container", "")...),
			s(50, link("a:10099", "eth0", "tx", "process", "curl", "container", "")...),
			s(20, link("a:10099", "eth0", "tx", "process", "ssh", "container", "")...), // beyond TopK 3
			s(999, link("a:10099", "eth0", "rx", "process", "rx-only", "container", "")...),
			s(400, link("c:10099", "any", "tx", "process", "backup", "container", "")...),
		},
		QRemotes: {
			s(900, link("a:10099", "eth0", "tx", "remote", "198.18.0.9")...),
			s(400, link("c:10099", "any", "tx", "remote", "198.18.0.7")...),
		},
		QNames: {s(1, "instance", "a:10099", "remote", "198.18.0.9", "name", "sink.example")},
	}
	got := Build(answers, Options{})
	share := func(v float64) *float64 { return &v }
	want := Report{
		Time: t0, Window: time.Hour,
		Hosts: []string{"a:10099", "b:10099", "c:10099"}, Silent: []string{"gone:10099"},
		Links: 3 * 2, Saturated: 1, Congested: 1,
		Problems: []Link{
			{Instance: "a:10099", Interface: "eth0", Direction: "tx", Now: StateSaturated, Utilization: share(0.99), Peak: share(1.01),
				SaturatedSeconds: 1200, FlowBytesPerSec: share(1000),
				Processes: []Talker{
					{Name: "nginx", Container: "docker:0123", Scope: "eth0", BytesPerSec: 600, Share: share(0.6)},
					{Name: "iperf3", Scope: "eth0", BytesPerSec: 300, Share: share(0.3)},
					{Name: "curl", Scope: "eth0", BytesPerSec: 50, Share: share(0.05)},
				},
				Remotes: []Talker{{Name: "198.18.0.9", Host: "sink.example", Scope: "eth0", BytesPerSec: 900, Share: share(0.9)}}},
			{Instance: "b:10099", Interface: "eth1", Direction: "tx", Now: StateCongested, CongestedSeconds: 40},
			{Instance: "c:10099", Interface: "eth0", Direction: "tx", Now: StateOK, Utilization: share(0.5), Peak: share(0.97),
				SaturatedSeconds: 300, FlowBytesPerSec: share(500),
				Processes: []Talker{{Name: "backup", Scope: "any", BytesPerSec: 400, Share: share(0.8)}},
				Remotes:   []Talker{{Name: "198.18.0.7", Scope: "any", BytesPerSec: 400, Share: share(0.8)}}},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Build (-want +got):\n%s", d)
	}
}

func TestBuildEmpty(t *testing.T) {
	got := Build(nil, Options{})
	if d := cmp.Diff(Report{Window: time.Hour}, got); d != "" {
		t.Errorf("empty (-want +got):\n%s", d)
	}
}

func TestOrder(t *testing.T) {
	u := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		a, b Link // a must come first
	}{
		{"saturated before congested", Link{Now: StateSaturated}, Link{Now: StateCongested, SaturatedSeconds: 3000}},
		{"congested before ok", Link{Now: StateCongested}, Link{Now: StateOK, SaturatedSeconds: 3000}},
		{"more saturated seconds", Link{Now: StateOK, SaturatedSeconds: 20}, Link{Now: StateOK, SaturatedSeconds: 10, CongestedSeconds: 900}},
		{"more congested seconds", Link{CongestedSeconds: 20}, Link{CongestedSeconds: 10}},
		{"higher utilisation", Link{Now: StateSaturated, Utilization: u(1.1)}, Link{Now: StateSaturated, Utilization: u(0.96)}},
		{"known utilisation first", Link{Now: StateCongested, Utilization: u(0)}, Link{Now: StateCongested}},
		{"by host", Link{Instance: "a", Interface: "z"}, Link{Instance: "b", Interface: "a"}},
		{"by interface", Link{Instance: "a", Interface: "a", Direction: "tx"}, Link{Instance: "a", Interface: "b", Direction: "rx"}},
		{"by direction", Link{Instance: "a", Interface: "a", Direction: "rx"}, Link{Instance: "a", Interface: "a", Direction: "tx"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c := compare(&tc.a, &tc.b); c >= 0 {
				t.Errorf("compare = %d, want < 0", c)
			}
			if c := compare(&tc.b, &tc.a); c <= 0 {
				t.Errorf("reversed compare = %d, want > 0", c)
			}
		})
	}
}

func TestInScope(t *testing.T) {
	tests := []struct {
		scope, iface string
		want         bool
	}{
		{"eth0", "eth0", true}, {"any", "eth0", true}, {"eth0,eth1", "eth1", true},
		{"eth0,eth1", "eth", false}, {"eth10", "eth1", false}, {"eth0", "eth0,eth1", false},
	}
	for _, tc := range tests {
		if got := inScope(tc.scope, tc.iface); got != tc.want {
			t.Errorf("inScope(%q, %q) = %v", tc.scope, tc.iface, got)
		}
	}
}
