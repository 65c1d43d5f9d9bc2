package sockets

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"netriage/triage/attrib"
)

// fakeProc describes one process of a fixture /proc tree.
type fakeProc struct {
	pid     int32
	start   uint64
	uid     uint32
	comm    string
	cmdline []string
	netns   uint64
	cgroup  string
	inodes  []uint32
}

// writeProcTree writes a /proc tree under dir: root/PID/{stat,status,
// cmdline,comm,cgroup}, fd/N symlinks "socket:[INODE]", an ns/net symlink
// "net:[INODE]", and root/stat with btime for gopsutil.
func writeProcTree(tb testing.TB, dir string, procs []fakeProc, selfNetns uint64) {
	tb.Helper()
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "self", "ns"), 0o755))
	must(os.Symlink(fmt.Sprintf("net:[%d]", selfNetns), filepath.Join(dir, "self", "ns", "net")))
	must(os.WriteFile(filepath.Join(dir, "stat"), []byte("cpu  1 2 3 4\nbtime 1700000000\n"), 0o644))
	for _, p := range procs {
		writeProc(tb, dir, p)
	}
}

func writeProc(tb testing.TB, dir string, p fakeProc) {
	tb.Helper()
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	pd := filepath.Join(dir, strconv.Itoa(int(p.pid)))
	must(os.MkdirAll(filepath.Join(pd, "fd"), 0o755))
	must(os.MkdirAll(filepath.Join(pd, "ns"), 0o755))
	stat := fmt.Sprintf("%d (%s) S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %d 1000000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n", p.pid, p.comm, p.start)
	must(os.WriteFile(filepath.Join(pd, "stat"), []byte(stat), 0o644))
	status := fmt.Sprintf("Name:\t%s\nState:\tS (sleeping)\nPid:\t%d\nPPid:\t1\nUid:\t%d\t%d\t%d\t%d\nGid:\t0\t0\t0\t0\n", p.comm, p.pid, p.uid, p.uid, p.uid, p.uid)
	must(os.WriteFile(filepath.Join(pd, "status"), []byte(status), 0o644))
	must(os.WriteFile(filepath.Join(pd, "comm"), []byte(p.comm+"\n"), 0o644))
	must(os.WriteFile(filepath.Join(pd, "cmdline"), []byte(strings.Join(p.cmdline, "\x00")+"\x00"), 0o644))
	must(os.WriteFile(filepath.Join(pd, "cgroup"), []byte(p.cgroup), 0o644))
	must(os.Symlink(fmt.Sprintf("net:[%d]", p.netns), filepath.Join(pd, "ns", "net")))
	for i, ino := range p.inodes {
		must(os.Symlink(fmt.Sprintf("socket:[%d]", ino), filepath.Join(pd, "fd", strconv.Itoa(i+3))))
	}
	// A non-socket fd, as every process has.
	must(os.Symlink("/dev/null", filepath.Join(pd, "fd", "0")))
}

// fakeDumper returns fixed sockets per namespace.
type fakeDumper struct {
	socks   map[uint64][]attrib.Socket
	addrs   map[uint64][]netip.Addr
	errs    map[uint64]error
	intr    int
	calls   int
	forgets int
	// infos counts the dumps that asked every socket's tcp_info, selected
	// those that asked it of some (InfoQuery.Want), wanted the sockets
	// they named.
	infos, selected, wanted int
}

func (d *fakeDumper) Dump(ino uint64, nsPath string, info InfoQuery) ([]attrib.Socket, []netip.Addr, int, error) {
	d.calls++
	if info.All {
		d.infos++
	} else if info.Want != nil {
		d.selected++
		d.wanted += info.Want.Len()
	}
	if err := d.errs[ino]; err != nil {
		return nil, nil, 0, err
	}
	// Return a copy: the source writes owners into it.
	out := append([]attrib.Socket(nil), d.socks[ino]...)
	if !info.All {
		for i := range out {
			if s := &out[i]; s.State != attrib.StateEstablished || !info.Want.Has(s.Cookie) {
				s.TCP, s.HasCounters = nil, false
			}
		}
	}
	return out, d.addrs[ino], d.intr, nil
}

func (d *fakeDumper) Forget(map[uint64]bool) { d.forgets++ }
func (d *fakeDumper) Close()                 {}
