package views

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"netriage/triage/attrib"
	"netriage/triage/engine"
	"netriage/triage/flows"
)

// flowSourceFixture is one live step of 60 flows (TCP, UDP and ICMP, v4
// and v6, several 5-tuples per host pair), two thirds of the TCP ones
// owned by two processes, some remotes named, joined by the attribution
// as the engine does.
func flowSourceFixture(t *testing.T) (*flows.Snapshot, *attrib.Report) {
	t.Helper()
	now := time.Unix(1_700_000_000, 0).UTC()
	l4, l6 := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("fd00:198:18::1")
	nginx, curl := attrib.ProcKey{PID: 80, StartTicks: 8}, attrib.ProcKey{PID: 90, StartTicks: 9}
	tb := &attrib.SocketTable{Time: now, HostNetns: 1, Processes: map[attrib.ProcKey]*attrib.Process{
		nginx: {Key: nginx, Program: "nginx", User: "www", Netns: 1, Container: &attrib.Container{Runtime: "docker", ID: "0123456789abcdef0123"}},
		curl:  {Key: curl, Program: "curl", User: "root", Netns: 1},
	}}
	snap := &flows.Snapshot{Time: now, Aggregation: flows.By5Tuple}
	for i := range 60 {
		k := flows.Key{Proto: []flows.Proto{flows.ProtoTCP, flows.ProtoUDP, flows.ProtoICMP}[i%3], Local: l4,
			Remote: netip.AddrFrom4([4]byte{198, 19, 0, byte(i % 7)}), LocalPort: uint16(40000 + i), RemotePort: 443}
		if i%5 == 0 {
			k.Local, k.Remote = l6, netip.AddrFrom16([16]byte{0xfd, 0, 1, 0x98, 0, 0x18, 15: byte(i % 4)})
		}
		if k.Proto == flows.ProtoICMP { // one flow a host pair
			k.LocalPort, k.RemotePort = 0, 0
			if k.Local == l4 {
				k.Remote = netip.AddrFrom4([4]byte{198, 19, 1, byte(i)})
			} else {
				k.Remote = netip.AddrFrom16([16]byte{0xfd, 0, 1, 0x98, 0, 0x18, 14: 1, 15: byte(i)})
			}
		}
		if k.Proto == flows.ProtoTCP && i%9 != 0 {
			owner := nginx
			if i%2 == 0 {
				owner = curl
			}
			tb.Sockets = append(tb.Sockets, attrib.Socket{Proto: k.Proto, Netns: 1, Local: k.Local, Remote: k.Remote, LocalPort: k.LocalPort,
				RemotePort: k.RemotePort, State: attrib.StateEstablished, Inode: uint32(1000 + i), Owner: owner})
		}
		snap.Flows = append(snap.Flows, flows.FlowStat{Key: k, Counts: flows.Counts{SentBytes: uint64((i + 1) * 100), RecvBytes: uint64(i * 7), SentPackets: 1},
			Rates: flows.Rates{R2: flows.Rate{SentBytesPerSec: float64(i)}, R10: flows.Rate{SentBytesPerSec: float64(i * 10), RecvBytesPerSec: float64(60 - i)}}, Flows: 1})
	}
	a := attrib.New(attrib.Config{ClosedGrace: 2 * time.Second})
	rep := a.Update(now, attrib.StatsOf(snap), tb)
	for i := range rep.Remotes {
		if r := &rep.Remotes[i]; r.Addr.As16()[15]%2 == 1 {
			r.Name = fmt.Sprintf("host-%d.example", r.Addr.As16()[15])
		}
	}
	return snap, &rep
}

func fixtureServices(p flows.Proto, port uint16) string {
	if port == 443 {
		return "https"
	}
	return ""
}

// A live model makes its flow rows when they are read: the rows are
// AdaptFlows', and every view of the flows draws the same frames as from
// the model holding those rows.
func TestLiveFlowsMadeWhenRead(t *testing.T) {
	snap, rep := flowSourceFixture(t)
	v := NewLiveView(time.Second)
	v.Services = fixtureServices
	m := v.Model(&engine.Snapshot{Seq: 2, Time: snap.Time, Flows: snap, Attribution: rep})
	if m.Flows != nil || m.NumFlows() != len(snap.Flows) {
		t.Fatalf("live model: %d rows held, %d flows; want none held and %d", len(m.Flows), m.NumFlows(), len(snap.Flows))
	}
	want, _ := AdaptFlows(snap, rep, fixtureServices)
	got := m.FlowRows()
	if len(got) != len(want) {
		t.Fatalf("%d rows made when read, AdaptFlows has %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(want[i], got[i]) {
			t.Fatalf("row %d made when read differs from AdaptFlows':\nwant %+v\ngot  %+v", i, want[i], got[i])
		}
	}
	owned, named := 0, 0
	for i := range got {
		if got[i].Process != "" {
			owned++
		}
		if got[i].RemoteName != "" {
			named++
		}
	}
	if owned == 0 || owned == len(got) || named == 0 || got[0].Container != "" && got[1].Container != "" {
		t.Fatalf("fixture: %d of %d rows owned, %d named", owned, len(got), named)
	}
	held := *m
	held.flowSrc, held.Flows = nil, want
	states := []struct {
		name string
		set  func(*UIState)
		want string // drawn in the frame
	}{
		{"host pairs", func(*UIState) {}, "nginx(80) +1"},
		{"ports", func(s *UIState) { s.Ports = true }, "host-5.example:https"},
		{"remote only", func(s *UIState) { s.HideLocal = true }, "198.19.0.6"},
		{"by source", func(s *UIState) { s.Sort = SortSource }, "198.19.1.2 "},
		{"filter", func(s *UIState) { s.Filter = "nginx" }, "nginx(80)"},
		{"filter name", func(s *UIState) { s.Filter = "host-3" }, "host-3.example"},
		{"detail", func(s *UIState) { s.Detail = true }, "nginx (pid 80)"},
		{"detail ports", func(s *UIState) { s.Detail, s.Ports, s.Filter = true, true, "curl" }, "curl (pid 90)"},
		{"overview", func(s *UIState) { s.Overview = true }, "curl(90)"},
	}
	for _, tc := range states {
		t.Run(tc.name, func(t *testing.T) {
			st := NewUIState(ViewFlows)
			tc.set(st)
			a := strings.Join(BuildFrame(&held, st, 160, 50).Screen(), "\n")
			b := strings.Join(BuildFrame(m, st, 160, 50).Screen(), "\n")
			if a != b {
				t.Errorf("frames differ:\nrows held\n%s\nmade when read\n%s", a, b)
			}
			if !strings.Contains(b, tc.want) {
				t.Errorf("%q not drawn:\n%s", tc.want, b)
			}
		})
	}
}

// The live model keeps no row per flow: what it holds beside the
// snapshot is an index per flow and one entry per owner.
func TestLiveFlowsHoldNoRows(t *testing.T) {
	snap, rep := flowSourceFixture(t)
	s := newFlowSource(snap, rep, nil)
	if len(s.owner) != len(snap.Flows) || len(s.owners) != 2 {
		t.Fatalf("owners: %d indexes for %d flows, %d owners (%+v); want one index a flow and 2 owners", len(s.owner), len(snap.Flows), len(s.owners), s.owners)
	}
	if s := newFlowSource(snap, nil, nil); s.owner != nil {
		t.Fatalf("no report, yet %d owner indexes", len(s.owner))
	}
}
