package sockets

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// Dumper returns the TCP and UDP sockets and the local addresses of one
// network namespace. nsPath is a path to the namespace (/proc/PID/ns/net).
// Tests and benchmarks substitute their own.
type Dumper interface {
	Dump(netnsInode uint64, nsPath string) (socks []attrib.Socket, addrs []netip.Addr, interrupted int, err error)
	// Forget closes what is held for namespaces not in keep.
	Forget(keep map[uint64]bool)
	Close()
}

// netlinkDumper dumps with one netlink handle per namespace.
type netlinkDumper struct {
	handles map[uint64]*netlink.Handle
}

// NewNetlinkDumper returns the sock_diag Dumper.
func NewNetlinkDumper() Dumper { return &netlinkDumper{handles: map[uint64]*netlink.Handle{}} }

func (d *netlinkDumper) handle(ino uint64, nsPath string) (*netlink.Handle, error) {
	if h := d.handles[ino]; h != nil {
		return h, nil
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", nsPath, err)
	}
	defer ns.Close()
	// Our own namespace needs no setns (which requires CAP_SYS_ADMIN), so an
	// unprivileged user still sees its own namespace's sockets.
	var h *netlink.Handle
	if cur, cerr := netns.Get(); cerr == nil && cur.Equal(ns) {
		cur.Close()
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE, unix.NETLINK_INET_DIAG)
	} else {
		if cerr == nil {
			cur.Close()
		}
		// Without the explicit protocol list, socket-diag requests
		// silently go to the caller's namespace.
		h, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE, unix.NETLINK_INET_DIAG)
	}
	if err != nil {
		return nil, fmt.Errorf("netlink handle in netns %d: %w", ino, err)
	}
	d.handles[ino] = h
	return h, nil
}

const dumpRetries = 3

// retry runs f until it does not report ErrDumpInterrupted (at most
// dumpRetries times) and keeps the last, possibly partial, result.
func retry[T any](f func() ([]T, error)) ([]T, bool, error) {
	var res []T
	var err error
	for i := 0; i < dumpRetries; i++ {
		res, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return res, false, err
		}
	}
	return res, true, nil
}

func (d *netlinkDumper) Dump(ino uint64, nsPath string) ([]attrib.Socket, []netip.Addr, int, error) {
	h, err := d.handle(ino, nsPath)
	if err != nil {
		return nil, nil, 0, err
	}
	var socks []attrib.Socket
	interrupted := 0
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		tcp, intr, err := retry(func() ([]*netlink.InetDiagTCPInfoResp, error) { return h.SocketDiagTCPInfo(fam) })
		if err != nil {
			d.drop(ino)
			return nil, nil, interrupted, fmt.Errorf("sock_diag tcp in netns %d: %w", ino, err)
		}
		if intr {
			interrupted++
		}
		for _, r := range tcp {
			if r == nil || r.InetDiagMsg == nil {
				continue
			}
			s := fromDiag(flows.ProtoTCP, ino, r.InetDiagMsg)
			if ti := r.TCPInfo; ti != nil {
				s.HasCounters = true
				s.BytesAcked, s.BytesReceived = ti.Bytes_acked, ti.Bytes_received
			}
			socks = append(socks, s)
		}
		udp, intr, err := retry(func() ([]*netlink.Socket, error) { return h.SocketDiagUDP(fam) })
		if err != nil {
			d.drop(ino)
			return nil, nil, interrupted, fmt.Errorf("sock_diag udp in netns %d: %w", ino, err)
		}
		if intr {
			interrupted++
		}
		for _, r := range udp {
			if r != nil {
				socks = append(socks, fromDiag(flows.ProtoUDP, ino, r))
			}
		}
	}
	var addrs []netip.Addr
	if al, err := h.AddrList(nil, netlink.FAMILY_ALL); err == nil || errors.Is(err, netlink.ErrDumpInterrupted) {
		for _, a := range al {
			if a.IPNet == nil {
				continue
			}
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				addrs = append(addrs, ip.Unmap())
			}
		}
	}
	return socks, addrs, interrupted, nil
}

func addrOf(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}

// fromDiag converts one sock_diag message.
func fromDiag(p flows.Proto, ino uint64, m *netlink.Socket) attrib.Socket {
	return attrib.Socket{
		Proto: p, Netns: ino,
		Local: addrOf(m.ID.Source), Remote: addrOf(m.ID.Destination),
		LocalPort: m.ID.SourcePort, RemotePort: m.ID.DestinationPort,
		State: m.State, Inode: m.INode, UID: m.UID,
		Cookie: uint64(m.ID.Cookie[0]) | uint64(m.ID.Cookie[1])<<32,
	}
}

func (d *netlinkDumper) drop(ino uint64) {
	if h := d.handles[ino]; h != nil {
		h.Close()
		delete(d.handles, ino)
	}
}

func (d *netlinkDumper) Forget(keep map[uint64]bool) {
	for ino := range d.handles {
		if !keep[ino] {
			d.drop(ino)
		}
	}
}

func (d *netlinkDumper) Close() { d.Forget(nil) }
