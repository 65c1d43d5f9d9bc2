package sockets

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"netriage/triage/attrib"
	"netriage/triage/flows"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func tcpSock(ns uint64, ino uint32, uid uint32, lport uint16) attrib.Socket {
	return attrib.Socket{Proto: flows.ProtoTCP, Netns: ns, Local: netip.MustParseAddr("198.18.0.1"), LocalPort: lport,
		Remote: netip.MustParseAddr("198.18.0.2"), RemotePort: 443, State: attrib.StateEstablished, Inode: ino, UID: uid}
}

func ownerOf(tab *attrib.SocketTable, ino uint32) attrib.ProcKey {
	for _, s := range tab.Sockets {
		if s.Inode == ino {
			return s.Owner
		}
	}
	return attrib.ProcKey{}
}

func TestRefreshFixture(t *testing.T) {
	dir := t.TempDir()
	writeProcTree(t, dir, []fakeProc{
		{pid: 100, start: 5000, uid: 0, comm: "nginx", cmdline: []string{"nginx", "-g", "daemon off;"}, netns: 1, cgroup: "0::/system.slice/nginx.service\n", inodes: []uint32{11, 12}},
		{pid: 200, start: 6000, uid: 1000, comm: "app", cmdline: []string{"/app", "--x"}, netns: 2, cgroup: "0::/system.slice/docker-" + cid + ".scope\n", inodes: []uint32{21}},
		{pid: 300, start: 7000, uid: 1000, comm: "idle", netns: 2},
	}, 1)
	d := &fakeDumper{socks: map[uint64][]attrib.Socket{
		1: {tcpSock(1, 11, 0, 1000), tcpSock(1, 12, 0, 1001), tcpSock(1, 0, 0, 1002) /* TIME_WAIT */},
		2: {tcpSock(2, 21, 1000, 2000), tcpSock(2, 99, 1000, 2001) /* nobody */},
	}, addrs: map[uint64][]netip.Addr{1: {netip.MustParseAddr("198.18.0.1")}, 2: {netip.MustParseAddr("198.18.1.1")}}}
	s := New(Config{ProcRoot: dir, Dumper: d, FullScanInterval: time.Minute})
	defer s.Close()
	tab, err := s.Refresh(t0)
	if err != nil {
		t.Fatal(err)
	}
	if tab.HostNetns != 1 || len(tab.Namespaces) != 2 || len(tab.Sockets) != 5 {
		t.Fatalf("host %d, namespaces %+v, %d sockets", tab.HostNetns, tab.Namespaces, len(tab.Sockets))
	}
	if got := ownerOf(tab, 12); got != (attrib.ProcKey{PID: 100, StartTicks: 5000}) {
		t.Errorf("owner of 12 = %+v", got)
	}
	if got := ownerOf(tab, 21); got != (attrib.ProcKey{PID: 200, StartTicks: 6000}) {
		t.Errorf("owner of 21 = %+v", got)
	}
	if tab.Health.UnresolvedInodes != 1 {
		t.Errorf("unresolved = %d, want 1 (inode 99)", tab.Health.UnresolvedInodes)
	}
	p := tab.Processes[attrib.ProcKey{PID: 200, StartTicks: 6000}]
	if p == nil {
		t.Fatal("no metadata for pid 200")
	}
	if p.Program != "app" || p.Cmdline != "/app --x" || p.Container == nil || p.Container.ID != cid || p.Netns != 2 || p.UID != 1000 {
		t.Errorf("metadata = %+v (container %+v)", p, p.Container)
	}
	if n := tab.Processes[attrib.ProcKey{PID: 100, StartTicks: 5000}]; n == nil || n.Unit != "nginx.service" || n.Container != nil || n.Cmdline != "nginx -g daemon off;" {
		t.Errorf("nginx metadata = %+v", n)
	}
	if len(tab.LocalAddrs) != 2 {
		t.Errorf("local addrs = %v", tab.LocalAddrs)
	}

	// A new socket of an existing process (uid 1000) is found by the UID
	// rescan without a full scan.
	if err := os.Symlink("socket:[22]", filepath.Join(dir, "200", "fd", "9")); err != nil {
		t.Fatal(err)
	}
	d.socks[2] = append(d.socks[2], tcpSock(2, 22, 1000, 2002))
	tab, _ = s.Refresh(t0.Add(time.Second))
	if got := ownerOf(tab, 22); got.PID != 200 {
		t.Errorf("new socket of pid 200: owner %+v", got)
	}
	full := tab.Health.FullScans

	// A socket whose UID says 0 but which is held by a uid-1000 process is
	// only found by the full scan, which is rate-limited.
	if err := os.Symlink("socket:[23]", filepath.Join(dir, "300", "fd", "9")); err != nil {
		t.Fatal(err)
	}
	d.socks[2] = append(d.socks[2], tcpSock(2, 23, 0, 2003))
	tab, _ = s.Refresh(t0.Add(2 * time.Second))
	if !ownerOf(tab, 23).IsZero() || tab.Health.FullScans != full {
		t.Errorf("inside the full-scan interval: owner of 23 %+v, full scans %d → %d", ownerOf(tab, 23), full, tab.Health.FullScans)
	}
	tab, _ = s.Refresh(t0.Add(2 * time.Minute))
	if got := ownerOf(tab, 23); got.PID != 300 {
		t.Errorf("after the full-scan interval, owner of 23 = %+v", got)
	}

	// PID 200 exits and PID 200 is reused by a different process: the new
	// one must not inherit the old metadata.
	if err := os.RemoveAll(filepath.Join(dir, "200")); err != nil {
		t.Fatal(err)
	}
	tab, _ = s.Refresh(t0.Add(3 * time.Minute))
	if _, ok := tab.Processes[attrib.ProcKey{PID: 200, StartTicks: 6000}]; ok {
		t.Error("exited process still listed")
	}
	writeProc(t, dir, fakeProc{pid: 200, start: 9999, uid: 1000, comm: "other", netns: 2, inodes: []uint32{21}})
	tab, _ = s.Refresh(t0.Add(4 * time.Minute))
	k := attrib.ProcKey{PID: 200, StartTicks: 9999}
	if got := ownerOf(tab, 21); got != k {
		t.Errorf("reused pid: owner %+v, want %+v", got, k)
	}
	if p := tab.Processes[k]; p == nil || p.Program != "other" {
		t.Errorf("reused pid metadata %+v", p)
	}
}

func TestRefreshNamespaceGone(t *testing.T) {
	dir := t.TempDir()
	writeProcTree(t, dir, []fakeProc{
		{pid: 1, start: 1, comm: "init", netns: 1, inodes: []uint32{5}},
		{pid: 2, start: 2, comm: "c", netns: 2},
	}, 1)
	d := &fakeDumper{socks: map[uint64][]attrib.Socket{1: {tcpSock(1, 5, 0, 1)}}, errs: map[uint64]error{2: errors.New("open netns: no such file")}}
	s := New(Config{ProcRoot: dir, Dumper: d})
	tab, err := s.Refresh(t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Health.Errors) != 1 || len(tab.Sockets) != 1 || ownerOf(tab, 5).PID != 1 {
		t.Fatalf("errors %v sockets %d", tab.Health.Errors, len(tab.Sockets))
	}
}

func TestHostileMetadataKeptRaw(t *testing.T) {
	// Metadata is raw here; output code sanitises it. The parse must not
	// choke on control characters or invalid UTF-8.
	dir := t.TempDir()
	writeProcTree(t, dir, []fakeProc{{pid: 7, start: 1, comm: "ev\x1b[31mil", cmdline: []string{"\xff\xfe", "\x1b]0;pwned\x07"}, netns: 1, inodes: []uint32{3}}}, 1)
	d := &fakeDumper{socks: map[uint64][]attrib.Socket{1: {tcpSock(1, 3, 0, 1)}}}
	tab, err := New(Config{ProcRoot: dir, Dumper: d}).Refresh(t0)
	if err != nil {
		t.Fatal(err)
	}
	p := tab.Processes[attrib.ProcKey{PID: 7, StartTicks: 1}]
	if p == nil || p.Cmdline == "" {
		t.Fatalf("metadata %+v", p)
	}
}

func TestUnreadableFDs(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every directory; permission cannot be simulated")
	}
	dir := t.TempDir()
	writeProcTree(t, dir, []fakeProc{{pid: 9, start: 1, netns: 1, inodes: []uint32{3}}}, 1)
	if err := os.Chmod(filepath.Join(dir, strconv.Itoa(9), "fd"), 0); err != nil {
		t.Fatal(err)
	}
	tab, _ := New(Config{ProcRoot: dir, Dumper: &fakeDumper{socks: map[uint64][]attrib.Socket{1: {tcpSock(1, 3, 0, 1)}}}}).Refresh(t0)
	if tab.Health.UnreadablePIDs != 1 {
		t.Errorf("unreadable = %d", tab.Health.UnreadablePIDs)
	}
}

// TestRefreshInfoInterval: with an InfoInterval the source asks for
// tcp_info on one refresh a second (of four); the others keep each
// established socket's newest tcp_info, a socket new since has none, and
// the table says its tcp_info is stale. Without one it asks every time.
func TestRefreshInfoInterval(t *testing.T) {
	dir := t.TempDir()
	writeProcTree(t, dir, []fakeProc{{pid: 100, start: 5000, comm: "app", netns: 1, inodes: []uint32{11, 12}}}, 1)
	sk := func(ino uint32, cookie uint64, rtt uint32) attrib.Socket {
		s := tcpSock(1, ino, 0, uint16(1000+ino))
		s.Cookie, s.TCP, s.HasCounters = cookie, &attrib.TCPInfo{Size: 232, RTT: rtt}, true
		return s
	}
	d := &fakeDumper{socks: map[uint64][]attrib.Socket{1: {sk(11, 1, 100)}}}
	s := New(Config{ProcRoot: dir, Dumper: d, FullScanInterval: time.Minute, InfoInterval: attrib.MinHealthInterval})
	defer s.Close()
	rttOf := func(tab *attrib.SocketTable, ino uint32) int64 {
		for _, x := range tab.Sockets {
			if x.Inode == ino {
				if x.TCP == nil {
					return -1
				}
				return int64(x.TCP.RTT)
			}
		}
		t.Fatalf("no socket %d", ino)
		return 0
	}
	var stale []bool
	for q := 0; q <= 8; q++ {
		if q == 2 {
			// The kernel's tcp_info changes and a new socket appears: the
			// stale tables keep the old one and have none for the new.
			d.socks[1] = []attrib.Socket{sk(11, 1, 200), sk(12, 2, 300)}
		}
		tab, err := s.Refresh(t0.Add(time.Duration(q) * 250 * time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		stale = append(stale, tab.InfoStale)
		switch q {
		case 2, 3:
			if r11, r12 := rttOf(tab, 11), rttOf(tab, 12); r11 != 100 || r12 != -1 {
				t.Errorf("refresh %d: rtt %d and %d, want the kept 100 and none", q, r11, r12)
			}
		case 4:
			if r11, r12 := rttOf(tab, 11), rttOf(tab, 12); r11 != 200 || r12 != 300 {
				t.Errorf("refresh %d: rtt %d and %d, want the fresh 200 and 300", q, r11, r12)
			}
		case 5:
			if r11, r12 := rttOf(tab, 11), rttOf(tab, 12); r11 != 200 || r12 != 300 {
				t.Errorf("refresh %d: rtt %d and %d, want the kept 200 and 300", q, r11, r12)
			}
		}
	}
	want := []bool{false, true, true, true, false, true, true, true, false}
	for i := range want {
		if stale[i] != want[i] {
			t.Fatalf("stale tables %v, want %v", stale, want)
		}
	}
	if d.infos != 3 || d.calls != 9 {
		t.Errorf("%d of %d dumps asked for tcp_info, want 3 of 9", d.infos, d.calls)
	}
	s2 := New(Config{ProcRoot: dir, Dumper: d, FullScanInterval: time.Minute})
	defer s2.Close()
	d.infos, d.calls = 0, 0
	for q := 0; q < 4; q++ {
		if tab, _ := s2.Refresh(t0.Add(time.Duration(q) * 250 * time.Millisecond)); tab.InfoStale {
			t.Errorf("refresh %d without an interval is stale", q)
		}
	}
	if d.infos != 4 {
		t.Errorf("%d of 4 dumps asked for tcp_info without an interval", d.infos)
	}
}

// TestRefreshWantInfo: once WantInfo named sockets, a refresh due for
// tcp_info asks it of those only (at most MaxInfo, the first first), and
// only right after a WantInfo; the table says so (InfoSelected).
// Socket-counter mode ignores WantInfo.
func TestRefreshWantInfo(t *testing.T) {
	dir := t.TempDir()
	writeProcTree(t, dir, []fakeProc{{pid: 100, start: 5000, comm: "app", netns: 1, inodes: []uint32{11, 12, 13}}}, 1)
	sk := func(ino uint32, cookie uint64) attrib.Socket {
		s := tcpSock(1, ino, 0, uint16(1000+ino))
		s.Cookie, s.TCP, s.HasCounters = cookie, &attrib.TCPInfo{Size: 232, RTT: uint32(ino)}, true
		return s
	}
	d := &fakeDumper{socks: map[uint64][]attrib.Socket{1: {sk(11, 1), sk(12, 2), sk(13, 3)}}}
	s := New(Config{ProcRoot: dir, Dumper: d, FullScanInterval: time.Minute, InfoInterval: attrib.MinHealthInterval, MaxInfo: 2})
	defer s.Close()
	infoOf := func(tab *attrib.SocketTable) (got []uint32) {
		for _, x := range tab.Sockets {
			if x.TCP != nil {
				got = append(got, x.Inode)
			}
		}
		return got
	}
	at := func(q int) time.Time { return t0.Add(time.Duration(q) * 250 * time.Millisecond) }
	// The first refresh, before any WantInfo, reads every socket's.
	tab, _ := s.Refresh(at(0))
	if tab.InfoStale || tab.InfoSelected || len(infoOf(tab)) != 3 || d.infos != 1 {
		t.Fatalf("first refresh: stale %v selected %v, tcp_info of %v, %d full dumps", tab.InfoStale, tab.InfoSelected, infoOf(tab), d.infos)
	}
	steps := []struct {
		q       int
		want    []uint64 // WantInfo before the refresh; nil: no call
		stale   bool
		infoOf  []uint32
		selects int // dumps with a Want set so far
	}{
		{1, []uint64{3}, true, []uint32{11, 12, 13}, 0},   // not due: the kept ones
		{4, nil, true, []uint32{11, 12, 13}, 0},           // due, but no WantInfo right before
		{5, []uint64{3, 9, 1, 2}, false, []uint32{13}, 1}, // MaxInfo 2: cookies 3 and 9 only
		{6, []uint64{2}, true, []uint32{13}, 1},           // not due
		{9, nil, true, []uint32{13}, 1},
		{10, []uint64{2, 1}, false, []uint32{11, 12}, 2},
	}
	for _, st := range steps {
		if st.want != nil {
			var refs []attrib.SocketRef
			for _, c := range st.want {
				refs = append(refs, attrib.SocketRef{Netns: 1, Cookie: c})
			}
			s.WantInfo(refs)
		}
		tab, err := s.Refresh(at(st.q))
		if err != nil {
			t.Fatal(err)
		}
		if tab.InfoStale != st.stale || tab.InfoSelected != !st.stale || !slices.Equal(infoOf(tab), st.infoOf) || d.selected != st.selects {
			t.Errorf("refresh %d: stale %v selected %v, tcp_info of %v, %d selected dumps; want stale %v, %v, %d", st.q, tab.InfoStale, tab.InfoSelected, infoOf(tab), d.selected, st.stale, st.infoOf, st.selects)
		}
	}
	if d.infos != 1 || d.wanted != 4 {
		t.Errorf("%d full dumps and %d sockets named, want 1 and 2+2", d.infos, d.wanted)
	}

	// Socket-counter mode: every refresh reads every socket's.
	s2 := New(Config{ProcRoot: dir, Dumper: d, FullScanInterval: time.Minute})
	defer s2.Close()
	d.infos = 0
	for q := 0; q < 3; q++ {
		s2.WantInfo([]attrib.SocketRef{{Netns: 1, Cookie: 1}})
		if tab, _ := s2.Refresh(at(q)); tab.InfoStale || tab.InfoSelected || len(infoOf(tab)) != 3 {
			t.Errorf("counter mode refresh %d: stale %v selected %v, tcp_info of %v", q, tab.InfoStale, tab.InfoSelected, infoOf(tab))
		}
	}
	if d.infos != 3 {
		t.Errorf("%d of 3 counter-mode dumps read every socket's", d.infos)
	}
}
