package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// EnvGate is the environment variable that must be "1" for New to run a lab.
const EnvGate = "NETRIAGE_INTEGRATION"

// Lab owns the namespaces, links and processes of one test. Create it with
// New; its setup methods (Netns, Veth, Router, TBF...) must be called from
// the test goroutine because they call t.Fatal on failure.
type Lab struct {
	t   testing.TB
	tag string

	mu      sync.Mutex
	nsSeq   int
	vethSeq int
	nss     []*NS
	closers []func()
	cmds    []*exec.Cmd
}

// New returns an empty lab and registers a cleanup that removes everything
// the lab creates. It skips the test unless running as root with
// NETRIAGE_INTEGRATION=1.
func New(t testing.TB) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("lab: needs root (network namespaces)")
	}
	if os.Getenv(EnvGate) != "1" {
		t.Skipf("lab: set %s=1 to run integration tests (make integration)", EnvGate)
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("lab: %s not found (install iproute2): %v", tool, err)
		}
	}
	sweepStale()
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("lab: random tag: %v", err)
	}
	l := &Lab{t: t, tag: hex.EncodeToString(b[:])}
	t.Cleanup(l.cleanup)
	return l
}

// Tag returns the lab's random tag, part of every name it creates.
func (l *Lab) Tag() string { return l.tag }

// OnCleanup registers fn to run when the lab is torn down, before its
// namespaces are deleted (e.g. to close sockets or stop generators).
func (l *Lab) OnCleanup(fn func()) {
	l.mu.Lock()
	l.closers = append(l.closers, fn)
	l.mu.Unlock()
}

func (l *Lab) track(c *exec.Cmd) {
	l.mu.Lock()
	l.cmds = append(l.cmds, c)
	l.mu.Unlock()
}

// cleanup stops processes and generators, then deletes every namespace;
// deleting a namespace deletes the veth ends inside it.
func (l *Lab) cleanup() {
	l.mu.Lock()
	closers, cmds, nss := l.closers, l.cmds, l.nss
	l.closers, l.cmds, l.nss = nil, nil, nil
	l.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	for _, c := range cmds {
		if c.Process != nil {
			// Only processes this lab started, by PID; an exited one
			// returns os.ErrProcessDone.
			_ = c.Process.Kill()
		}
	}
	for _, ns := range nss {
		ns.closeHandles()
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			l.t.Logf("lab cleanup: ip netns del %s: %v: %s", ns.Name, err, bytes.TrimSpace(out))
		}
	}
}

// run executes a command and fails the test with its output on error.
func (l *Lab) run(name string, args ...string) {
	l.t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		l.t.Fatalf("lab: %s %v: %v: %s", name, args, err, bytes.TrimSpace(out))
	}
}

// Netns creates a network namespace with lo up.
func (l *Lab) Netns() *NS {
	l.t.Helper()
	l.mu.Lock()
	l.nsSeq++
	name := fmt.Sprintf("nrt%d-%s-%d", os.Getpid(), l.tag, l.nsSeq)
	l.mu.Unlock()
	l.run("ip", "netns", "add", name)
	ns := &NS{Name: name, Path: "/run/netns/" + name, lab: l}
	l.mu.Lock()
	l.nss = append(l.nss, ns)
	l.mu.Unlock()
	// A quiet namespace: no router solicitations, no DAD probes, no
	// link-local addresses (so fewer MLD reports); only the few MLD reports
	// sent when an interface comes up remain (see (*Link).WaitQuiet).
	l.run("ip", "netns", "exec", name, "sysctl", "-q", "-w",
		"net.ipv6.conf.all.router_solicitations=0", "net.ipv6.conf.default.router_solicitations=0",
		"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
		"net.ipv6.conf.all.addr_gen_mode=1", "net.ipv6.conf.default.addr_gen_mode=1")
	l.run("ip", "-n", name, "link", "set", "lo", "up")
	return ns
}

// Veth creates a veth pair with one end in a and the other in b, gives both
// ends IPv4 and IPv6 addresses (see the package doc) and brings them up.
// The first returned Link is in a, the second in b; each is the other's Peer.
func (l *Lab) Veth(a, b *NS) (*Link, *Link) {
	l.t.Helper()
	l.mu.Lock()
	l.vethSeq++
	n := l.vethSeq
	l.mu.Unlock()
	if n > 250 {
		l.t.Fatalf("lab: too many veth pairs in one lab")
	}
	na := fmt.Sprintf("nr%sv%da", l.tag, n)
	nb := fmt.Sprintf("nr%sv%db", l.tag, n)
	l.run("ip", "-n", a.Name, "link", "add", na, "type", "veth", "peer", "name", nb, "netns", b.Name)
	la := &Link{Name: na, NS: a, lab: l,
		IPv4: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(n), 1}), 24),
		IPv6: netip.PrefixFrom(v6(n, 1), 112)}
	lb := &Link{Name: nb, NS: b, lab: l,
		IPv4: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(n), 2}), 24),
		IPv6: netip.PrefixFrom(v6(n, 2), 112)}
	la.Peer, lb.Peer = lb, la
	for _, k := range []*Link{la, lb} {
		l.run("ip", "-n", k.NS.Name, "addr", "add", k.IPv4.String(), "dev", k.Name)
		l.run("ip", "-n", k.NS.Name, "-6", "addr", "add", k.IPv6.String(), "dev", k.Name, "nodad")
		l.run("ip", "-n", k.NS.Name, "link", "set", k.Name, "up")
	}
	la.waitOperUp()
	lb.waitOperUp()
	// Static neighbour entries: no ARP/ND delay or loss at the start of a
	// test, and no resolution packets in the counters.
	for _, k := range []*Link{la, lb} {
		h, err := k.Peer.NS.Handle()
		if err != nil {
			l.t.Fatal(err)
		}
		nl, err := h.LinkByName(k.Peer.Name)
		if err != nil {
			l.t.Fatalf("lab: link %s: %v", k.Peer.Name, err)
		}
		mac := nl.Attrs().HardwareAddr.String()
		for _, ip := range []netip.Addr{k.Peer.IPv4.Addr(), k.Peer.IPv6.Addr()} {
			l.run("ip", "-n", k.NS.Name, "neigh", "replace", ip.String(), "lladdr", mac, "dev", k.Name, "nud", "permanent")
		}
	}
	return la, lb
}

// v6 returns fd00:198:18::n:host.
func v6(n, host int) netip.Addr {
	return netip.AddrFrom16([16]byte{0xfd, 0x00, 0x01, 0x98, 0x00, 0x18, 0, 0, 0, 0, 0, 0, byte(n >> 8), byte(n), 0, byte(host)})
}

// Router is a three-namespace topology a — r — b where r forwards IPv4 and
// IPv6 between its two links, and a and b route everything through r.
type Router struct {
	A, R, B *NS
	// AtoR is a's end of the a—r link, RtoA r's end of it.
	AtoR, RtoA *Link
	// RtoB is r's end of the r—b link (shape it to make r the bottleneck),
	// BtoR b's end.
	RtoB, BtoR *Link
}

// Router builds an a — r — b topology with forwarding enabled in r.
func (l *Lab) Router() *Router {
	l.t.Helper()
	r := &Router{A: l.Netns(), R: l.Netns(), B: l.Netns()}
	r.AtoR, r.RtoA = l.Veth(r.A, r.R)
	r.RtoB, r.BtoR = l.Veth(r.R, r.B)
	l.run("ip", "netns", "exec", r.R.Name, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	l.run("ip", "netns", "exec", r.R.Name, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1")
	l.run("ip", "-n", r.A.Name, "route", "add", "default", "via", r.RtoA.IPv4.Addr().String())
	l.run("ip", "-n", r.A.Name, "-6", "route", "add", "default", "via", r.RtoA.IPv6.Addr().String())
	l.run("ip", "-n", r.B.Name, "route", "add", "default", "via", r.RtoB.IPv4.Addr().String())
	l.run("ip", "-n", r.B.Name, "-6", "route", "add", "default", "via", r.RtoB.IPv6.Addr().String())
	return r
}

var staleName = regexp.MustCompile(`^nrt(\d+)-[0-9a-f]{6}-\d+$`)

// sweepStale deletes lab namespaces whose creating process no longer exists.
// Namespaces of running test processes are left alone.
func sweepStale() {
	ents, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range ents {
		m := staleName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			continue
		}
		_ = exec.Command("ip", "netns", "del", e.Name()).Run()
	}
}

// Context returns a context for a traffic generator: ctx bounded by d when
// it has no earlier deadline.
func boundCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = 30 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

// DeleteNetns deletes ns now (its name; the namespace itself ends when its
// last process or socket does), as an administrator or a container runtime
// would mid-run. Cleanup then skips it.
func (l *Lab) DeleteNetns(ns *NS) {
	l.t.Helper()
	ns.closeHandles()
	l.mu.Lock()
	for i, n := range l.nss {
		if n == ns {
			l.nss = append(l.nss[:i], l.nss[i+1:]...)
			break
		}
	}
	l.mu.Unlock()
	l.run("ip", "netns", "del", ns.Name)
}
