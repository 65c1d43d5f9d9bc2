package views

import (
	"net/netip"
	"strings"
	"testing"
	"time"

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
