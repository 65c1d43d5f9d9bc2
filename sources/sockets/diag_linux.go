package sockets

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// Dumper returns the TCP and UDP sockets and the local addresses of one
// network namespace. nsPath is a path to the namespace (/proc/PID/ns/net);
// info asks for the established TCP sockets' tcp_info (without it their
// TCP is nil and HasCounters false). Tests and benchmarks substitute their
// own.
type Dumper interface {
	Dump(netnsInode uint64, nsPath string, info bool) (socks []attrib.Socket, addrs []netip.Addr, interrupted int, err error)
	// Forget closes what is held for namespaces not in keep.
	Forget(keep map[uint64]bool)
	Close()
}

// netlinkDumper dumps with one route handle (addresses) and one
// NETLINK_INET_DIAG socket (sock_diag, read and parsed here) per namespace.
type netlinkDumper struct {
	conns map[uint64]*nsConn
	buf   []byte
	seq   uint32
	// noInfo leaves tcp_info out of the TCP dumps (benchmarks).
	noInfo bool
}

type nsConn struct {
	h    *netlink.Handle
	diag *nl.NetlinkSocket
	// last is how many sockets the previous dump returned: the next one
	// allocates for as many.
	last int
}

// NewNetlinkDumper returns the sock_diag Dumper.
func NewNetlinkDumper() Dumper { return &netlinkDumper{conns: map[uint64]*nsConn{}} }

func (d *netlinkDumper) conn(ino uint64, nsPath string) (*nsConn, error) {
	if c := d.conns[ino]; c != nil {
		return c, nil
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", nsPath, err)
	}
	defer ns.Close()
	// Our own namespace needs no setns (which requires CAP_SYS_ADMIN), so an
	// unprivileged user still sees its own namespace's sockets.
	cur, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("current netns: %w", err)
	}
	defer cur.Close()
	var h *netlink.Handle
	if cur.Equal(ns) {
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	} else {
		h, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	}
	if err != nil {
		return nil, fmt.Errorf("netlink handle in netns %d: %w", ino, err)
	}
	// In our own namespace the socket is made without any setns (both
	// namespaces None): the library's own test does not skip it for every
	// handle, and setns needs CAP_SYS_ADMIN.
	at, back := ns, cur
	if cur.Equal(ns) {
		at, back = netns.None(), netns.None()
	}
	diag, err := nl.GetNetlinkSocketAt(at, back, unix.NETLINK_INET_DIAG)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("sock_diag socket in netns %d: %w", ino, err)
	}
	c := &nsConn{h: h, diag: diag}
	d.conns[ino] = c
	return c, nil
}

const dumpRetries = 3

// Extensions asked of sock_diag: tcp_info for TCP (the parser keeps it for
// established sockets only), sk_meminfo (drops) for UDP.
const (
	extTCP = 1 << (inetDiagInfo - 1)
	extUDP = 1 << (inetDiagMemInfo - 1)
)

// dump runs one sock_diag dump of family and protocol on fd, appending the
// sockets to p.socks, and retries (at most dumpRetries times) a dump the
// kernel marked interrupted, keeping the last, possibly partial, result.
func (d *netlinkDumper) dump(fd int, p *diagParser, family, protocol, ext uint8) (interrupted bool, err error) {
	if d.buf == nil {
		// A dump's datagrams are at most 32 KiB (netlink_dump's cap).
		d.buf = make([]byte, 64<<10)
	}
	n0, i0 := len(p.socks), len(p.infos)
	for try := 0; try < dumpRetries; try++ {
		p.socks, p.infos = p.socks[:n0], p.infos[:i0]
		d.seq++
		p.seq, p.intr, p.done = d.seq, false, false
		if err := unix.Sendto(fd, diagRequest(d.seq, family, protocol, ext), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return false, fmt.Errorf("sock_diag request: %w", err)
		}
		for !p.done {
			n, _, rflags, _, err := unix.Recvmsg(fd, d.buf, nil, 0)
			if err != nil {
				if errors.Is(err, unix.EINTR) {
					continue
				}
				return false, fmt.Errorf("sock_diag receive: %w", err)
			}
			if rflags&unix.MSG_TRUNC != 0 {
				return false, fmt.Errorf("sock_diag receive: %w", errTruncated)
			}
			if n == 0 {
				return false, fmt.Errorf("sock_diag receive: %w", errTruncated)
			}
			if err := p.parse(d.buf[:n]); err != nil {
				return false, err
			}
		}
		if !p.intr {
			return false, nil
		}
	}
	return true, nil
}

func (d *netlinkDumper) Dump(ino uint64, nsPath string, info bool) ([]attrib.Socket, []netip.Addr, int, error) {
	c, err := d.conn(ino, nsPath)
	if err != nil {
		return nil, nil, 0, err
	}
	p := diagParser{netns: ino, socks: make([]attrib.Socket, 0, c.last+c.last/8+16)}
	fd := c.diag.GetFd()
	interrupted := 0
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		for _, pr := range []struct {
			proto    flows.Proto
			ipproto  uint8
			ext      uint8
			protoTxt string
		}{{flows.ProtoTCP, unix.IPPROTO_TCP, extTCP, "tcp"}, {flows.ProtoUDP, unix.IPPROTO_UDP, extUDP, "udp"}} {
			p.proto = pr.proto
			ext := pr.ext
			if (d.noInfo || !info) && pr.proto == flows.ProtoTCP {
				ext = 0
			}
			intr, err := d.dump(fd, &p, fam, pr.ipproto, ext)
			if err != nil {
				d.drop(ino)
				return nil, nil, interrupted, fmt.Errorf("sock_diag %s in netns %d: %w", pr.protoTxt, ino, err)
			}
			if intr {
				interrupted++
			}
		}
	}
	var addrs []netip.Addr
	if al, err := c.h.AddrList(nil, netlink.FAMILY_ALL); err == nil || errors.Is(err, netlink.ErrDumpInterrupted) {
		for _, a := range al {
			if a.IPNet == nil {
				continue
			}
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				addrs = append(addrs, ip.Unmap())
			}
		}
	}
	c.last = len(p.socks)
	return p.socks, addrs, interrupted, nil
}

func (d *netlinkDumper) drop(ino uint64) {
	if c := d.conns[ino]; c != nil {
		c.h.Close()
		c.diag.Close()
		delete(d.conns, ino)
	}
}

func (d *netlinkDumper) Forget(keep map[uint64]bool) {
	for ino := range d.conns {
		if !keep[ino] {
			d.drop(ino)
		}
	}
}

func (d *netlinkDumper) Close() { d.Forget(nil) }
