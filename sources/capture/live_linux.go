package capture

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"netriage/triage/flows"
)

const (
	// liveBlockTimeout is how long the kernel fills a ring block before
	// handing it over when traffic is light; it bounds how stale a
	// snapshot can be.
	liveBlockTimeout = 10 * time.Millisecond
	// liveRetry is how often a reader whose interface is down checks
	// whether it came back or went away.
	liveRetry = time.Second
	// liveSnapLen is how much of each frame the kernel copies into the
	// ring (the filter program's return value). Byte counts come from the
	// IP header and the kernel's frame length, never from the copy, so
	// only headers are needed: Ethernet with two VLAN tags (22) + IPv6
	// (40) + 134 bytes of extension headers + a TCP header with options
	// (60). A smaller copy is less kernel work per packet and more
	// packets per ring.
	liveSnapLen = 256
	// liveFrameSize is the ring's nominal frame size; TPACKET_V3 packs
	// frames of any length into blocks, so it only sets the geometry.
	liveFrameSize = 4096
	// liveBlockSize is the largest ring block. A reader wakes once per
	// block, and a wake-up costs far more than a packet, so blocks are
	// large (1 MiB: about 5,000 small packets); a ring keeps at least 8
	// of them (see ringGeometry).
	liveBlockSize = 1 << 20
)

// Live is a running capture: one TPACKET_V3 ring per interface, one reader
// goroutine per ring, all feeding one Accountant.
type Live struct {
	acc     *Accountant
	handles []*liveHandle
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
	promisc []netlink.Link
}

type liveHandle struct {
	idx  int
	name string
	ring *ring
	dec  *Decoder
	// drain asks the reader to empty the ring now; it closes the
	// channel it receives when done.
	drain chan chan struct{}
	// stopped is set when the reader has returned.
	stopped atomic.Bool
	// drops accumulates the kernel's drop counter (reading resets it).
	drops atomic.Uint64
}

// StartLive opens the rings and starts the readers; it returns at once.
// Packet timestamps come from the kernel, bytes from the IP length.
func StartLive(ctx context.Context, o LiveOptions) (*Live, error) {
	names := o.Interfaces
	if len(names) == 0 || (len(names) == 1 && names[0] == "any") {
		names = []string{"any"}
	}
	raw, err := filterProgram(LinkEthernet, o.Filter)
	if err != nil {
		return nil, err
	}
	rawDgram, err := filterProgram(LinkRawAlt, o.Filter)
	if err != nil {
		return nil, err
	}
	ringMiB := o.RingMiB
	if ringMiB <= 0 {
		ringMiB = DefaultRingMiB
	}
	l := &Live{acc: NewAccountant(o.Table, o.Aggregation, o.Filter, o.LocalNet)}
	for i, name := range names {
		h, err := openHandle(i, name, ringMiB, raw, rawDgram)
		if err != nil {
			l.closeHandles()
			return nil, err
		}
		l.handles = append(l.handles, h)
		if o.Promisc && name != "any" {
			if link, err := netlink.LinkByName(name); err == nil && link.Attrs().Promisc == 0 {
				if netlink.SetPromiscOn(link) == nil {
					l.promisc = append(l.promisc, link)
				}
			}
		}
	}
	l.acc.SetInterfaces(names)
	ctx, l.cancel = context.WithCancel(ctx)
	for _, h := range l.handles {
		l.wg.Add(1)
		go l.read(ctx, h)
	}
	context.AfterFunc(ctx, func() {
		for _, h := range l.handles {
			h.ring.wake()
		}
	})
	return l, nil
}

// filterProgram returns the socket filter for one link type: the user's
// tcpdump expression compiled by libpcap (exact tcpdump semantics), or,
// without one, a program that accepts everything. Either returns
// liveSnapLen, which the kernel takes as the number of bytes to copy.
func filterProgram(lt LinkType, expr string) ([]bpf.RawInstruction, error) {
	if expr == "" {
		return bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: liveSnapLen}})
	}
	ins, err := pcap.CompileBPFFilter(layers.LinkType(lt), liveSnapLen, expr)
	if err != nil {
		return nil, &FilterError{Expr: expr, Err: err}
	}
	return toRaw(ins), nil
}

func toRaw(ins []pcap.BPFInstruction) []bpf.RawInstruction {
	out := make([]bpf.RawInstruction, len(ins))
	for i, in := range ins {
		out[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return out
}

// openHandle opens one ring. Interfaces with an Ethernet-style header
// (Ethernet, veth, bridges, loopback) are read raw, so link headers are
// counted as captured; others (tun, WireGuard, "any") are read cooked and
// decoded as raw IP.
func openHandle(idx int, name string, ringMiB int, raw, rawDgram []bpf.RawInstruction) (*liveHandle, error) {
	cooked := true
	link := LinkRawAlt
	ifindex := 0
	var mac net.HardwareAddr
	if name != "any" {
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("capture on %q: %w (interfaces: %s)", name, ErrNoInterface, existingInterfaces())
		}
		ifindex = ifc.Index
		mac = ifc.HardwareAddr
		if len(ifc.HardwareAddr) == 6 || ifc.Flags&net.FlagLoopback != 0 {
			cooked, link = false, LinkEthernet
		}
	}
	prog := raw
	if cooked {
		prog = rawDgram
	}
	bs, nb := ringGeometry(ringMiB << 20)
	r, err := openRing(ringOptions{
		ifindex: ifindex, cooked: cooked,
		blockSize: bs, blocks: nb,
		blockTimeout: liveBlockTimeout, filter: prog,
	})
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			exe, _ := os.Executable()
			if exe == "" {
				exe = "netriage"
			}
			return nil, fmt.Errorf("%w on %s: CAP_NET_RAW is missing; run with sudo, or grant it once with: sudo setcap cap_net_raw,cap_net_admin+ep %s", ErrPermission, name, exe)
		}
		return nil, fmt.Errorf("capture on %s: %w", name, err)
	}
	dec, err := NewDecoder(link)
	if err != nil {
		r.close()
		return nil, err
	}
	if link == LinkEthernet && realMAC(mac) {
		dec.SetLocalMAC(mac)
	}
	return &liveHandle{idx: idx, name: name, ring: r, dec: dec, drain: make(chan chan struct{}, 1)}, nil
}

// ringGeometry splits a ring of the given size into blocks: as large as
// liveBlockSize, but at least 8 of them (down to 64 KiB blocks), so that a
// reader that falls behind for a moment has blocks left.
func ringGeometry(bytes int) (blockSize, blocks int) {
	blockSize = liveBlockSize
	for blockSize > 64<<10 && bytes/blockSize < 8 {
		blockSize >>= 1
	}
	return blockSize, max(bytes/blockSize, 2)
}

// realMAC reports whether mac is a real address (loopback's is
// all zeros, and both directions carry it).
func realMAC(mac net.HardwareAddr) bool {
	for _, b := range mac {
		if b != 0 {
			return true
		}
	}
	return false
}

func existingInterfaces() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return "unknown"
	}
	names := make([]string, 0, len(ifs))
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// read is one handle's reader loop. It allocates nothing per packet: each
// ring block is read in place, and its packets are decoded and counted
// one by one under a single hold of the accountant's lock.
func (l *Live) read(ctx context.Context, h *liveHandle) {
	defer l.wg.Done()
	defer h.stopped.Store(true)
	sink := &blockSink{dec: h.dec, acc: l.acc}
	drain := func() bool {
		got := false
		for h.ring.ready() {
			l.acc.mu.Lock()
			h.ring.readBlock(sink)
			l.acc.countInterface(h.idx, sink.n)
			l.acc.mu.Unlock()
			sink.n = 0
			got = true
		}
		return got
	}
	failing := false
	var pending chan struct{} // a snapshot's drain request to answer
	for ctx.Err() == nil {
		if pending == nil {
			select {
			case pending = <-h.drain:
			default:
			}
		}
		got := drain()
		if pending != nil {
			close(pending)
			pending = nil
		}
		if failing && got {
			failing = false // packets again: the interface is back
			l.acc.UpdateInterface(h.idx, func(ih *flows.IfaceHealth) { ih.Err = "" })
		}
		if failing {
			// The interface is down: look once a second whether it came
			// back (packets again, above) or went away.
			if h.ring.unbound() {
				l.acc.UpdateInterface(h.idx, func(ih *flows.IfaceHealth) { ih.Err, ih.Stopped = "interface removed", true })
				return
			}
			t := time.NewTimer(liveRetry)
			select {
			case <-ctx.Done():
			case <-t.C:
			case pending = <-h.drain:
			}
			t.Stop()
			continue
		}
		err := h.ring.wait()
		if err == nil || errors.Is(err, errWoken) {
			continue
		}
		// An error on the socket: the interface went down or away.
		failing = true
		msg := err.Error()
		gone := h.ring.unbound()
		if gone {
			msg = "interface removed"
		}
		l.acc.UpdateInterface(h.idx, func(ih *flows.IfaceHealth) { ih.Err, ih.Stopped = msg, gone })
		if gone {
			return
		}
	}
	if pending != nil {
		close(pending)
	}
}

// blockSink decodes and counts the packets of a ring block; the caller
// holds the accountant's lock.
type blockSink struct {
	dec *Decoder
	acc *Accountant
	m   Meta
	ci  gopacket.CaptureInfo
	n   int // packets since the caller last reset it
}

func (s *blockSink) packet(p *rawPacket) {
	s.ci.Timestamp = time.Unix(int64(p.sec), int64(p.nsec))
	s.ci.Length, s.ci.CaptureLength, s.ci.InterfaceIndex = p.length, len(p.data), p.ifindex
	s.dec.Decode(p.data, &s.ci, &s.m)
	s.acc.count(&s.m)
	s.n++
}

// drainAll asks every reader to empty its ring and waits (at most a
// moment: a reader that stopped does not answer).
func (l *Live) drainAll() {
	t := time.NewTimer(200 * time.Millisecond)
	defer t.Stop()
	for _, h := range l.handles {
		if h.stopped.Load() {
			continue
		}
		done := make(chan struct{})
		select {
		case h.drain <- done:
		default:
			continue // a drain is already queued
		}
		h.ring.wake()
		select {
		case <-done:
		case <-t.C:
			return
		}
	}
}

// Snapshot reads the kernel drop counters, expires idle flows at now and
// returns the snapshot at now.
func (l *Live) Snapshot(now time.Time) flows.Snapshot {
	l.drainAll()
	for _, h := range l.handles {
		drops, err := h.ring.drops()
		if err != nil {
			continue
		}
		d := h.drops.Add(drops)
		l.acc.UpdateInterface(h.idx, func(ih *flows.IfaceHealth) { ih.KernelDrops = d })
	}
	l.acc.Expire(now)
	return l.acc.Snapshot(now)
}

// SetAggregation changes the grouping of later snapshots.
func (l *Live) SetAggregation(a flows.Aggregation) { l.acc.SetAggregation(a) }

// Close stops the readers, closes the rings and restores promiscuous
// mode; it is safe to call more than once.
func (l *Live) Close() error {
	l.once.Do(func() {
		l.cancel()
		l.wg.Wait()
		l.closeHandles()
		for _, link := range l.promisc {
			_ = netlink.SetPromiscOff(link)
		}
	})
	return nil
}

func (l *Live) closeHandles() {
	for _, h := range l.handles {
		h.ring.close()
	}
}

// HostLocal returns the host's own addresses (every interface of the
// current network namespace) as the local boundary.
func HostLocal() (flows.Local, error) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return flows.Local{}, fmt.Errorf("list host addresses: %w", err)
	}
	var ps []netip.Prefix
	for _, a := range addrs {
		if a.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		ps = append(ps, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return flows.NewLocal(ps...), nil
}
