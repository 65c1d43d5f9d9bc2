package output

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netriage/triage"
)

func doctorTestReport() DoctorReport {
	gbit, shaper := uint64(1_000_000_000), uint64(100_000_000)
	return DoctorReport{
		EUID: 1000,
		Capabilities: []DoctorCap{
			{Name: "CAP_NET_RAW", Have: true, Needs: "packet capture (flows, remotes, per-flow rates; -p too)"},
			{Name: "CAP_NET_ADMIN", Needs: "some netlink queries"},
			{Name: "CAP_DAC_READ_SEARCH", Needs: "reading other users' /proc/PID/fd (process attribution)"},
			{Name: "CAP_SYS_PTRACE", Needs: "reading other users' /proc/PID/fd links (process attribution)"},
		},
		Checks: []DoctorCheck{
			{Name: "interface counters (netlink)", OK: true, Detail: "3 interfaces; 'netriage links' works"},
			{Name: "link capacity", OK: true, Warn: true, Detail: "1 interface up with unknown capacity: no utilisation % for them", Fix: "give it with --link-speed IF=RATE or links.speeds in the config file"},
			{Name: "packet capture (AF_PACKET)", OK: true, Detail: "flows, remotes and per-flow rates work"},
			{Name: "process attribution (/proc/PID/fd)", Detail: "cannot read /proc/1/fd (uid 0): traffic of other users' processes stays unattributed",
				Fix: "run with sudo, or: sudo setcap cap_net_raw,cap_net_admin,cap_dac_read_search,cap_sys_ptrace+ep /usr/local/bin/netriage"},
		},
		Interfaces: []DoctorIface{
			{Name: "eth0", OperState: "up", CapacityBps: &gbit, CapacitySource: "ethtool", Qdisc: "fq_codel"},
			{Name: "veth-lab", OperState: "up", CapacityBps: &shaper, CapacitySource: "shaper:tbf", Qdisc: "tbf"},
			{Name: "wg0", OperState: "unknown", CapacitySource: "unknown", Qdisc: "-"},
		},
	}
}

func TestDoctorGolden(t *testing.T) {
	missing := doctorTestReport()
	allOK := doctorTestReport()
	allOK.Checks = allOK.Checks[:3]
	allOK.AllOK = true
	hostile := doctorTestReport()
	hostile.Checks = []DoctorCheck{{Name: "interface counters (netlink)", Detail: "netns \x1b[2Jlab: " + strings.Repeat("x", 400)},
		{Name: "packet capture (AF_PACKET)", Detail: "cannot open a packet socket (operation not permitted)", Fix: "sudo setcap cap_net_raw+ep /tmp/evil\x1b]0;t\x07/netriage"}}
	hostile.Interfaces = []DoctorIface{{Name: "veth\x1b[31m-" + strings.Repeat("n", 40), OperState: "up", CapacitySource: "unknown", Qdisc: "noqueue"}}
	noIfaces := doctorTestReport()
	noIfaces.Interfaces = nil
	noIfaces.Checks = []DoctorCheck{{Name: "interface counters (netlink)", Detail: "open netns lab: no such file or directory", Fix: "check the --netns value; entering another namespace needs root"}}
	tests := []struct {
		name string
		rep  DoctorReport
	}{
		{"missing", missing}, {"all-ok", allOK}, {"hostile", hostile}, {"no-interfaces", noIfaces},
	}
	for _, tc := range tests {
		for _, f := range []string{"table", "json"} {
			t.Run(tc.name+"/"+f, func(t *testing.T) {
				var b bytes.Buffer
				if err := WriteDoctor(&b, tc.rep, f); err != nil {
					t.Fatal(err)
				}
				golden(t, "doctor_"+tc.name+"."+f, b.Bytes())
			})
		}
	}
}

// TestDoctorInterfaces: a row per interface with its capacity and where it
// comes from, "-" without a qdisc; only interfaces up (not loopback) with
// an unknown capacity are counted.
func TestDoctorInterfaces(t *testing.T) {
	s := &triage.LinksSample{Ifaces: []triage.IfaceSample{
		{Name: "lo", OperState: "unknown", AdminUp: true, Loopback: true, Qdisc: &triage.QdiscStats{Kind: "noqueue"}},
		{Name: "eth0", OperState: "up", AdminUp: true, EthtoolSpeedBps: 1e9, Qdisc: &triage.QdiscStats{Kind: "fq_codel"}},
		{Name: "wg0", OperState: "unknown", AdminUp: true},
		{Name: "veth1", OperState: "down"},
		{Name: "wan", OperState: "up", AdminUp: true},
	}}
	rows, unknown := DoctorInterfaces(s, map[string]uint64{"wan": 100e6})
	gbit, user := uint64(1e9), uint64(100e6)
	want := []DoctorIface{
		{Name: "lo", OperState: "unknown", CapacitySource: "unknown", Qdisc: "noqueue"},
		{Name: "eth0", OperState: "up", CapacityBps: &gbit, CapacitySource: "ethtool", Qdisc: "fq_codel"},
		{Name: "wg0", OperState: "unknown", CapacitySource: "unknown", Qdisc: "-"},
		{Name: "veth1", OperState: "down", CapacitySource: "unknown", Qdisc: "-"},
		{Name: "wan", OperState: "up", CapacityBps: &user, CapacitySource: "user", Qdisc: "-"},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	if unknown != 1 {
		t.Errorf("unknown = %d, want 1 (wg0)", unknown)
	}
}

// TestNewDoctorReport: doctor's judgement of the gathered facts.
func TestNewDoctorReport(t *testing.T) {
	up := &triage.LinksSample{Ifaces: []triage.IfaceSample{{Name: "eth0", OperState: "up", AdminUp: true}}}
	all := map[string]bool{"CAP_NET_RAW": true, "CAP_NET_ADMIN": true, "CAP_DAC_READ_SEARCH": true, "CAP_SYS_PTRACE": true}
	tests := []struct {
		name      string
		facts     DoctorFacts
		allOK     bool
		wantCheck string // a check's name that must fail (or warn)
		wantFix   string
	}{
		{"all ok with a known speed", DoctorFacts{Caps: all, Links: up, UserBps: map[string]uint64{"eth0": 1e9}, ProcFdsOK: true}, true, "", ""},
		{"unknown capacity warns", DoctorFacts{Caps: all, Links: up, ProcFdsOK: true}, true, "link capacity", "--link-speed IF=RATE"},
		{"netns open failed", DoctorFacts{Caps: all, LinksErr: errors.New("no netns x"), OpenFailed: true, ProcFdsOK: true}, false, "interface counters (netlink)", "--netns"},
		{"no packet socket", DoctorFacts{Links: up, UserBps: map[string]uint64{"eth0": 1e9}, PacketErr: errors.New("operation not permitted"), ProcFdsOK: true, Executable: "/usr/bin/netriage"}, false, "packet capture (AF_PACKET)", "setcap cap_net_raw,cap_net_admin,cap_dac_read_search,cap_sys_ptrace+ep /usr/bin/netriage"},
		{"no fd access", DoctorFacts{Caps: all, Links: up, UserBps: map[string]uint64{"eth0": 1e9}, ProcFdsDetail: "cannot list /proc/1/fd"}, false, "process attribution (/proc/PID/fd)", "sudo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := NewDoctorReport(tc.facts)
			if rep.AllOK != tc.allOK {
				t.Errorf("AllOK %v, want %v: %+v", rep.AllOK, tc.allOK, rep.Checks)
			}
			if len(rep.Capabilities) != 4 {
				t.Errorf("%d capabilities, want 4", len(rep.Capabilities))
			}
			if tc.wantCheck == "" {
				return
			}
			for _, c := range rep.Checks {
				if c.Name == tc.wantCheck && (!c.OK || c.Warn) && strings.Contains(c.Fix, tc.wantFix) {
					return
				}
			}
			t.Errorf("no failing or warning check %q with fix %q: %+v", tc.wantCheck, tc.wantFix, rep.Checks)
		})
	}
}
