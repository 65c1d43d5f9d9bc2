package sockets

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v3/common"
	gnet "github.com/shirou/gopsutil/v3/net"

	"netriage/triage/attrib"
	"netriage/triage/flows"
)

const (
	benchProcs   = 2000
	benchPerProc = 5 // 10,000 sockets
)

// benchTree writes a /proc tree with 2,000 processes holding 5 TCP sockets
// each, the matching /proc/net/tcp for gopsutil, and returns the dumper's
// sockets.
func benchTree(b *testing.B) (string, *fakeDumper) {
	b.Helper()
	dir := b.TempDir()
	var procs []fakeProc
	var socks []attrib.Socket
	var tcp strings.Builder
	tcp.WriteString("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
	local := netip.MustParseAddr("198.18.0.1")
	remote := netip.MustParseAddr("198.18.5.5")
	n := 0
	for p := 0; p < benchProcs; p++ {
		fp := fakeProc{pid: int32(1000 + p), start: uint64(100 + p), uid: uint32(p % 20), comm: "proc", cmdline: []string{"proc", "--n"}, netns: 1, cgroup: "0::/system.slice/x.service\n"}
		for i := 0; i < benchPerProc; i++ {
			n++
			ino := uint32(100000 + n)
			fp.inodes = append(fp.inodes, ino)
			lport := uint16(10000 + n)
			socks = append(socks, attrib.Socket{Proto: flows.ProtoTCP, Netns: 1, Local: local, LocalPort: lport, Remote: remote, RemotePort: 443, State: attrib.StateEstablished, Inode: ino, UID: fp.uid, Cookie: uint64(n)})
			fmt.Fprintf(&tcp, "%4d: 010012C6:%04X 050512C6:01BB 01 00000000:00000000 00:00000000 00000000 %5d        0 %d 1 0000000000000000 20 4 30 10 -1\n", n, lport, fp.uid, ino)
		}
		procs = append(procs, fp)
	}
	writeProcTree(b, dir, procs, 1)
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "net"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "net", "tcp"), []byte(tcp.String()), 0o644))
	hdr := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	for _, f := range []string{"tcp6", "udp", "udp6"} {
		must(os.WriteFile(filepath.Join(dir, "net", f), []byte(hdr), 0o644))
	}
	return dir, &fakeDumper{socks: map[uint64][]attrib.Socket{1: socks}}
}

// BenchmarkRefresh is one steady-state attribution refresh: 10,000 sockets
// across 2,000 processes, inode → PID from the cache (the first, cold
// refresh is outside the timer). The socket dump itself is faked; on the
// kernel it adds 1–5 ms per 2,000 sockets.
func BenchmarkRefresh(b *testing.B) {
	dir, d := benchTree(b)
	s := New(Config{ProcRoot: dir, Dumper: d})
	t := time.Unix(1_700_000_000, 0)
	tab, err := s.Refresh(t)
	if err != nil || len(tab.Processes) != benchProcs {
		b.Fatalf("cold refresh: %v, %d processes", err, len(tab.Processes))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t = t.Add(time.Second)
		if _, err := s.Refresh(t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefreshPerSecond is one second of refreshes on the same tree:
// four, 250 ms apart, every socket established with tcp_info, asked for at
// every refresh (every_refresh) or once a second (once_a_second, the
// others keeping each socket's newest). The fake dump costs nothing either
// way, so this measures the keeping (BenchmarkRefreshLivePerSecond has the
// kernel's side).
func BenchmarkRefreshPerSecond(b *testing.B) {
	dir, d := benchTree(b)
	infos := make([]attrib.TCPInfo, len(d.socks[1]))
	for i := range d.socks[1] {
		sk := &d.socks[1][i]
		sk.Cookie, sk.TCP, sk.HasCounters = uint64(i+1), &infos[i], true
	}
	for _, bc := range []struct {
		name  string
		every time.Duration
	}{{"every_refresh", 0}, {"once_a_second", attrib.MinHealthInterval}} {
		b.Run(bc.name, func(b *testing.B) {
			s := New(Config{ProcRoot: dir, Dumper: d, InfoInterval: bc.every})
			t := time.Unix(1_700_000_000, 0)
			if _, err := s.Refresh(t); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for q := 0; q < 4; q++ {
					t = t.Add(250 * time.Millisecond)
					if _, err := s.Refresh(t); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkRefreshCold is the first refresh: every fd of every process is
// read and metadata fetched for 2,000 processes.
func BenchmarkRefreshCold(b *testing.B) {
	dir, d := benchTree(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := New(Config{ProcRoot: dir, Dumper: d})
		if _, err := s.Refresh(time.Unix(1_700_000_000, 0)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGopsutilConnections is gopsutil's net.Connections("inet") on the
// same tree, for comparison.
func BenchmarkGopsutilConnections(b *testing.B) {
	dir, _ := benchTree(b)
	ctx := context.WithValue(context.Background(), common.EnvKey, common.EnvMap{common.HostProcEnvKey: dir})
	cs, err := gnet.ConnectionsWithContext(ctx, "inet")
	if err != nil || len(cs) != benchProcs*benchPerProc {
		b.Fatalf("gopsutil: %v, %d connections", err, len(cs))
	}
	owned := 0
	for _, c := range cs {
		if c.Pid != 0 {
			owned++
		}
	}
	if owned != len(cs) {
		b.Fatalf("gopsutil found owners for %d of %d", owned, len(cs))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := gnet.ConnectionsWithContext(ctx, "inet"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAttribUpdate is the pure join of 10,000 flows to that table,
// each join's table the next refresh's with no socket changed (its
// Changes empty).
func BenchmarkAttribUpdate(b *testing.B) {
	dir, d := benchTree(b)
	s := New(Config{ProcRoot: dir, Dumper: d})
	tab, _ := s.Refresh(time.Unix(1_700_000_000, 0))
	fl := make([]attrib.FlowStat, 0, len(tab.Sockets))
	for _, sk := range tab.Sockets {
		fl = append(fl, attrib.FlowStat{Key: flows.Key{Proto: sk.Proto, Local: sk.Local, LocalPort: sk.LocalPort, Remote: sk.Remote, RemotePort: sk.RemotePort}, SentBytes: 1000})
	}
	a := attrib.New(attrib.Config{ClosedGrace: 10 * time.Second})
	t := tab.Time
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t = t.Add(time.Second)
		for j := range fl {
			fl[j].SentBytes += 100
		}
		tab2 := *tab
		tab2.Time, tab2.Seq, tab2.Changes = t, tab.Seq+uint64(i)+1, attrib.SocketChanges{Since: tab.Seq + uint64(i)}
		a.Update(t, fl, &tab2)
	}
}
