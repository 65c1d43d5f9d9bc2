package sockets

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"unsafe"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// Dumper returns the TCP and UDP sockets and the local addresses of one
// network namespace. nsPath is a path to the namespace (/proc/PID/ns/net);
// info says which established TCP sockets get their tcp_info (the others'
// TCP is nil and HasCounters false). Tests and benchmarks substitute their
// own.
type Dumper interface {
	Dump(netnsInode uint64, nsPath string, info InfoQuery) (socks []attrib.Socket, addrs []netip.Addr, interrupted int, err error)
	// Forget closes what is held for namespaces not in keep.
	Forget(keep map[uint64]bool)
	Close()
}

// InfoQuery says which TCP sockets of a dump get their tcp_info.
type InfoQuery struct {
	// All asks it of every TCP socket, in the dump itself.
	All bool
	// Want, without All, names the established TCP sockets to ask it of
	// after a dump without it, by one exact request each (nil: none).
	Want *CookieSet
}

// netlinkDumper dumps with one route handle (addresses) and one
// NETLINK_INET_DIAG socket (sock_diag, read and parsed here) per namespace.
type netlinkDumper struct {
	conns map[uint64]*nsConn
	buf   []byte
	req   []byte
	seq   uint32
	// mbuf, iov and msgs are recvBatch's.
	mbuf []byte
	iov  []unix.Iovec
	msgs []unix.Mmsghdr
	// noInfo leaves tcp_info out of the TCP dumps (benchmarks).
	noInfo bool
	// lost counts exact requests without an answer (other than "no such
	// socket") since the dumper was made: none while batchFor fits the
	// answers in the receive buffer (tests and benchmarks check it).
	lost uint64
}

type nsConn struct {
	h    *netlink.Handle
	diag *nl.NetlinkSocket
	// last is how many sockets the previous dump returned: the next one
	// allocates for as many.
	last int
	// batch is the exact requests per send (batchFor), 0 until needed.
	batch int
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
	n0, i0, e0 := len(p.socks), len(p.infos), len(p.exact)
	for try := 0; try < dumpRetries; try++ {
		p.socks, p.infos, p.exact = p.socks[:n0], p.infos[:i0], p.exact[:e0]
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

// exactBatch is the most exact requests one send carries (parseExact
// marks at most 64 answers). The kernel queues all their answers before
// the send returns, each in a buffer of its own (1.3 KiB of the receive
// buffer with tcp_info on 6.18: 166 fit the default 208 KiB of
// net.core.rmem_default), so a batch is also at most the receive buffer
// over exactRoom: 64 by default, fewer where the buffer is smaller.
const (
	exactBatch = 64
	exactRoom  = 2048
)

// batchFor is the batch size for a sock_diag socket of receive buffer
// rcvbuf bytes (as SO_RCVBUF reads it).
func batchFor(rcvbuf int) int {
	return max(1, min(exactBatch, rcvbuf/exactRoom))
}

// exact asks tcp_info of the sockets p.exact names (their messages are in
// p.socks, from a dump without it), in batches of size requests per send.
// The answers are all queued when the send returns, so they are read
// without waiting, until every request of the batch is answered or the
// queue is empty: an answer the queue had no room for is lost, and
// counted.
func (d *netlinkDumper) exact(fd int, p *diagParser, size int) error {
	p.proto = flows.ProtoTCP
	for ids := p.exact; len(ids) > 0; {
		n := min(len(ids), size)
		batch := ids[:n]
		ids = ids[n:]
		seq := d.seq + 1
		d.seq += uint32(n)
		d.req = exactRequests(d.req[:0], seq, batch, unix.IPPROTO_TCP, extTCP)
		if err := unix.Sendto(fd, d.req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return fmt.Errorf("sock_diag request: %w", err)
		}
		all := uint64(1)<<n - 1
		if n == 64 {
			all = ^uint64(0)
		}
		var answered uint64
		if err := d.recvBatch(fd, p, seq, batch, &answered, all); err != nil {
			return err
		}
	}
	return nil
}

// exactSlot is the room for one answer to an exact request in recvBatch's
// buffer: an inet_diag_msg with tcp_info and the few other attributes the
// kernel adds is about 400 bytes.
const exactSlot = 2048

// recvBatch reads the answers to one batch of exact requests, as many as
// are queued (up to exactBatch) per recvmmsg call: one call rather than
// one recvmsg per answer (which also allocated for each) took a third off
// the requests' time (BenchmarkTCPInfoCost, 512 sockets: 3.0–3.7 ms
// against 2.1–2.3 in one session) and their allocation per answer (1,166
// allocations an op against 142). It does not wait: the batch's answers
// are all queued before its send returns.
func (d *netlinkDumper) recvBatch(fd int, p *diagParser, seq uint32, batch []exactID, answered *uint64, all uint64) error {
	if d.mbuf == nil {
		d.mbuf = make([]byte, exactBatch*exactSlot)
		d.iov = make([]unix.Iovec, exactBatch)
		d.msgs = make([]unix.Mmsghdr, exactBatch)
	}
	for *answered != all {
		for i := range d.msgs {
			d.iov[i].Base = &d.mbuf[i*exactSlot]
			d.iov[i].SetLen(exactSlot)
			d.msgs[i] = unix.Mmsghdr{}
			d.msgs[i].Hdr.Iov = &d.iov[i]
			d.msgs[i].Hdr.SetIovlen(1)
		}
		r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&d.msgs[0])), uintptr(len(d.msgs)), unix.MSG_DONTWAIT, 0, 0)
		if errno != 0 {
			switch errno {
			case unix.EINTR, unix.ENOBUFS:
				continue
			case unix.EAGAIN:
				d.lost += uint64(len(batch) - bits.OnesCount64(*answered))
				return nil
			}
			return fmt.Errorf("sock_diag receive: %w", errno)
		}
		for i := 0; i < int(r); i++ {
			m := &d.msgs[i]
			if m.Hdr.Flags&unix.MSG_TRUNC != 0 || m.Len == 0 {
				return fmt.Errorf("sock_diag receive: %w", errTruncated)
			}
			lost, err := p.parseExact(d.mbuf[i*exactSlot:i*exactSlot+int(m.Len)], seq, batch, answered)
			if err != nil {
				return err
			}
			d.lost += uint64(lost)
		}
	}
	return nil
}

func (d *netlinkDumper) Dump(ino uint64, nsPath string, info InfoQuery) ([]attrib.Socket, []netip.Addr, int, error) {
	c, err := d.conn(ino, nsPath)
	if err != nil {
		return nil, nil, 0, err
	}
	p := diagParser{netns: ino, socks: make([]attrib.Socket, 0, c.last+c.last/8+16)}
	if !info.All && !d.noInfo {
		p.want = info.Want
	}
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
			if (d.noInfo || !info.All) && pr.proto == flows.ProtoTCP {
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
	if len(p.exact) > 0 {
		if c.batch == 0 {
			rb, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
			if err != nil {
				rb = 0
			}
			c.batch = batchFor(rb)
		}
		if err := d.exact(fd, &p, c.batch); err != nil {
			// The table stands without the tcp_info not read; the socket
			// is made again at the next dump.
			d.drop(ino)
			return p.socks, addrs, interrupted, fmt.Errorf("sock_diag tcp_info in netns %d: %w", ino, err)
		}
	}
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
