package output

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// whoTestReport is an attribution report with a containerised process, a
// systemd service, an exited process with hostile names, unattributed
// traffic, TCP/UDP/ICMP connections (one without an owner) and remotes,
// and the socket table it came from.
func whoTestReport() (attrib.Report, *attrib.SocketTable) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	rates := func(bps float64) (r2, r10, r40 attrib.Rates) {
		return attrib.Rates{SentBps: bps, RecvBps: bps * 2.0004}, attrib.Rates{SentBps: bps / 3, RecvBps: bps / 7}, attrib.Rates{SentBps: bps / 11, RecvBps: bps / 13}
	}
	web := attrib.ProcKey{PID: 4242, StartTicks: 100}
	db := attrib.ProcKey{PID: 77, StartTicks: 50}
	evil := attrib.ProcKey{PID: 31337, StartTicks: 9}
	proc := func(k attrib.ProcKey, user, prog, cmd string, c *attrib.Container, unit string, bps float64, sent, recv uint64, conns int, exited bool) attrib.ProcRow {
		r2, r10, r40 := rates(bps)
		return attrib.ProcRow{Process: attrib.Process{Key: k, StartTime: t0.Add(-time.Hour), UID: 1000, User: user, Program: prog, Cmdline: cmd, Container: c, Unit: unit, Netns: 4026531840},
			Exited: exited, Netns: 4026531840, SentBytes: sent, RecvBytes: recv, Rate2s: r2, Rate10s: r10, Rate40s: r40, Connections: conns}
	}
	conn := func(k flows.Key, owner attrib.Owner, prog string, bps float64) attrib.ConnRow {
		r2, r10, r40 := rates(bps)
		return attrib.ConnRow{Key: k, Owner: owner, Program: prog, SentBytes: uint64(bps), RecvBytes: uint64(bps * 3), Rate2s: r2, Rate10s: r10, Rate40s: r40}
	}
	remote := func(a, name string, bps float64, conns int, procs ...attrib.ProcKey) attrib.RemoteRow {
		r2, r10, r40 := rates(bps)
		return attrib.RemoteRow{Addr: netip.MustParseAddr(a), Name: name, SentBytes: uint64(bps * 5), RecvBytes: uint64(bps * 9), Rate2s: r2, Rate10s: r10, Rate40s: r40, Connections: conns, Procs: procs}
	}
	ur2, ur10, ur40 := rates(1234.5678)
	r := attrib.Report{
		Time: t0.Add(10 * time.Second),
		Processes: []attrib.ProcRow{
			proc(db, "postgres", "postgres", "postgres -D /var/lib/postgresql", nil, "postgresql.service", 200_000, 1_000_000, 50_000, 3, false),
			proc(web, "www-data", "nginx", "nginx: worker process", &attrib.Container{Runtime: "docker", ID: "0123456789abcdef0123"}, "", 1_500_000.4567, 90_000_000, 1_200_000, 12, false),
			proc(evil, "ev\x1b[1mil", "x\x1b]0;pwn\x07y", "sh -c 'printf \x1b[2J'\ttab\nnewline "+strings.Repeat("A", 80), &attrib.Container{Runtime: "containerd", PodUID: "pod\x9bid"}, "", 10, 100, 0, 1, true),
		},
		Unattributed: []attrib.UnattributedRow{
			{Reason: attrib.ReasonForwarded, SentBytes: 5000, RecvBytes: 6000, Rate2s: ur2, Rate10s: ur10, Rate40s: ur40, Flows: 4},
			{Reason: attrib.ReasonClosed, SentBytes: 10, RecvBytes: 0, Flows: 1},
		},
		Connections: []attrib.ConnRow{
			conn(flows.Key{Proto: flows.ProtoTCP, Local: netip.MustParseAddr("198.18.0.1"), LocalPort: 443, Remote: netip.MustParseAddr("198.19.0.10"), RemotePort: 51000},
				attrib.Owner{Proc: web, Netns: 4026531840, Match: attrib.MatchExact}, "nginx", 1_000_000),
			conn(flows.Key{Proto: flows.ProtoUDP, Local: netip.MustParseAddr("fd00:198:18::1"), LocalPort: 5353, Remote: netip.MustParseAddr("fd00:198:18::99"), RemotePort: 53},
				attrib.Owner{Proc: evil, Netns: 4026531840, Match: attrib.MatchBound}, "", 300),
			conn(flows.Key{Proto: flows.ProtoICMP, Local: netip.MustParseAddr("198.18.0.1"), Remote: netip.MustParseAddr("198.19.0.20")},
				attrib.Owner{Reason: attrib.ReasonOtherProto}, "", 50),
			conn(flows.Key{Proto: flows.ProtoTCP, Local: netip.MustParseAddr("198.18.0.1"), LocalPort: 5432, Remote: netip.MustParseAddr("198.18.0.7"), RemotePort: 40000},
				attrib.Owner{Proc: db, Netns: 4026531840, Match: attrib.MatchGrace}, "postgres", 200_000),
		},
		Remotes: []attrib.RemoteRow{
			remote("198.19.0.10", "client.example", 1_000_000, 2, web),
			remote("fd00:198:18::99", "dns\x1b[31m.example\u202e", 300, 1, evil, evil),
			remote("198.18.0.7", "", 200_000, 5, db, web),
		},
		ExitedSentBytes: 123, ExitedRecvBytes: 456,
	}
	// The nginx connection is limited by its receiver; postgres's has one
	// sample of a kernel without busy times.
	r.Connections[0].TCP = &attrib.TCPHealth{Limit: attrib.LimitReceiver, Rule: attrib.RuleRwnd, RTT: 1745 * time.Microsecond, RTTVar: 28 * time.Microsecond,
		MinRTT: 30 * time.Microsecond, Cwnd: 16, Retrans: 0, TotalRetrans: 3, DeliveryBps: 228_031_340, PacingBps: 288_036_695,
		BusyShare: 0.328, RwndShare: 0.8902, SndbufShare: 0, Interval: time.Second}
	r.Connections[3].TCP = &attrib.TCPHealth{RTT: 250 * time.Microsecond, Cwnd: 10, BusyShare: -1, RwndShare: -1, SndbufShare: -1, RetransShare: -1}
	tab := &attrib.SocketTable{Time: r.Time, Sockets: make([]attrib.Socket, 7), Processes: map[attrib.ProcKey]*attrib.Process{web: nil, db: nil},
		Namespaces: []attrib.Namespace{{Inode: 4026531840}},
		Health:     attrib.Health{UnresolvedInodes: 2, UnreadablePIDs: 1, FullScans: 3, DumpsInterrupted: 1, Errors: []string{"netns 9: dump failed\x1b[2J", "a: first"}}}
	return r, tab
}

func TestWhoGolden(t *testing.T) {
	r, tab := whoTestReport()
	programs := ProgramsOf(&r)
	tests := []struct {
		name string
		r    attrib.Report
		tab  *attrib.SocketTable
		o    WhoOptions
	}{
		{"capture", r, tab, WhoOptions{Sort: "10s", Mode: "capture"}},
		{"sockets-by-pid", r, nil, WhoOptions{Sort: "pid", Mode: "sockets"}},
		{"by-name-bytes", r, tab, WhoOptions{Sort: "name", Mode: "capture"}},
		{"pid-4242-total", r, tab, WhoOptions{Sort: "total", Mode: "capture", PIDs: []int{4242}}},
		{"empty", attrib.Report{Time: r.Time}, nil, WhoOptions{Sort: "2s", Mode: "capture"}},
	}
	tests[2].o.Units.Bytes = true
	for _, tc := range tests {
		for _, view := range []WhoView{ViewProcs, ViewConns, ViewRemotes} {
			for _, f := range []string{"table", "json", "csv"} {
				t.Run(tc.name+"/"+string(view)+"/"+f, func(t *testing.T) {
					var b bytes.Buffer
					o := tc.o
					o.Format = f
					w := NewWhoWriter(&b, view, o)
					// Two records: the CSV header comes once.
					for range 2 {
						if err := w.Write(tc.r, tc.tab, programs); err != nil {
							t.Fatal(err)
						}
					}
					golden(t, "who_"+tc.name+"_"+string(view)+"."+f, b.Bytes())
				})
			}
		}
	}
}

// TestWhoWriteKeepsReport checks that sorting for output leaves the
// report's own slices (an engine snapshot's) in their order.
func TestWhoWriteKeepsReport(t *testing.T) {
	r, tab := whoTestReport()
	before := []int32{r.Processes[0].Process.Key.PID, r.Processes[1].Process.Key.PID, r.Processes[2].Process.Key.PID}
	for _, view := range []WhoView{ViewProcs, ViewConns, ViewRemotes} {
		for _, by := range WhoSorts {
			if err := NewWhoWriter(&bytes.Buffer{}, view, WhoOptions{Sort: by}).Write(r, tab, ProgramsOf(&r)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, p := range before {
		if r.Processes[i].Process.Key.PID != p {
			t.Fatalf("the report's processes were reordered: %d at %d, want %d", r.Processes[i].Process.Key.PID, i, p)
		}
	}
	if r.Connections[0].Owner.Proc.PID != 4242 || r.Remotes[0].Addr.String() != "198.19.0.10" {
		t.Error("the report's connections or remotes were reordered")
	}
}

func TestFilterPIDs(t *testing.T) {
	r, _ := whoTestReport()
	got := FilterPIDs(r, map[int32]bool{77: true})
	if len(got.Processes) != 1 || got.Processes[0].Process.Key.PID != 77 {
		t.Errorf("processes = %+v", got.Processes)
	}
	if len(got.Unattributed) != 0 {
		t.Errorf("unattributed rows kept: %+v", got.Unattributed)
	}
	if len(got.Connections) != 1 || got.Connections[0].Key.LocalPort != 5432 {
		t.Errorf("connections = %+v", got.Connections)
	}
	if len(got.Remotes) != 1 || got.Remotes[0].Addr.String() != "198.18.0.7" {
		t.Errorf("remotes = %+v", got.Remotes)
	}
	if all := FilterPIDs(r, nil); len(all.Processes) != 3 || len(all.Unattributed) != 2 {
		t.Error("an empty PID set filtered rows")
	}
}

// TestWhoNoteWithProcAccess: with the capabilities to read other users'
// fds, the table's note does not ask for them.
func TestWhoNoteWithProcAccess(t *testing.T) {
	r, tab := whoTestReport()
	for _, access := range []bool{false, true} {
		var b strings.Builder
		w := NewWhoWriter(&b, ViewProcs, WhoOptions{Format: "table", Sort: "10s", Mode: "capture", ProcAccess: access})
		if err := w.Write(r, tab, nil); err != nil {
			t.Fatal(err)
		}
		if asks := strings.Contains(b.String(), "need CAP_DAC_READ_SEARCH"); asks == access {
			t.Errorf("ProcAccess %v: note %q", access, b.String())
		}
	}
}

// TestWhoNoteCounts: the note names only what is non-zero, singular for
// one.
func TestWhoNoteCounts(t *testing.T) {
	r, tab := whoTestReport()
	tests := []struct {
		inodes, pids int
		want         string // "" for no note
	}{
		{0, 0, ""},
		{1, 0, "note: 1 socket without a known process\n"},
		{0, 1, "note: 1 process whose fds are unreadable (need CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE)\n"},
		{3, 2, "note: 3 sockets without a known process, 2 processes whose fds are unreadable (need CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE)\n"},
	}
	for _, tc := range tests {
		tab.Health.UnresolvedInodes, tab.Health.UnreadablePIDs = tc.inodes, tc.pids
		var b strings.Builder
		if err := NewWhoWriter(&b, ViewRemotes, WhoOptions{Format: "table", Sort: "10s", Mode: "capture"}).Write(r, tab, ProgramsOf(&r)); err != nil {
			t.Fatal(err)
		}
		note := ""
		if _, rest, ok := strings.Cut(b.String(), "note: "); ok {
			line, _, _ := strings.Cut(rest, "\n")
			note = "note: " + line + "\n"
		}
		if want := tc.want; note != want {
			t.Errorf("%d unresolved inodes, %d unreadable PIDs: note %q, want %q", tc.inodes, tc.pids, note, want)
		}
	}
}
