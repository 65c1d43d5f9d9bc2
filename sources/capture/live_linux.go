package capture

import (
	"context"
	"errors"
	"fmt"
	"math"
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
	// snapshot can be. Each hand-over wakes the reader, and a wake-up
	// costs as much as a few hundred packets (about 70 µs on the lab VM):
	// at 22 kpps, 50 ms made 20 hand-overs a second and cost 1.15–1.31 ×
	// iftop's CPU, 200 ms 0.88–0.92 ×; at 100 kpps and more a 1 MiB block
	// fills before either (see docs/benchmarks.md, "Quiet link").
	liveBlockTimeout = 200 * time.Millisecond
	// liveHorizonMargin is how much later than liveBlockTimeout after a
	// packet the kernel may hand its block over: the kernel starts a
	// block's timer when it opens the block (before its first packet),
	// in whole jiffies (13 of 4 ms, 52 ms, at HZ=250), and runs it in a
	// softirq, which a busy CPU may run late.
	liveHorizonMargin = 20 * time.Millisecond
	// liveHorizon is how far a snapshot's flows trail the wire, exactly:
	// a snapshot at T counts the packets the kernel stamped before
	// T − liveHorizon, every one of which is in a block the kernel has
	// handed over by T, and none after, which it holds for the next
	// snapshot. The engine reads the interface counters at T, so every
	// step's flows cover the same span relative to its counters (the
	// counters' window [T0, T1] against the flows' [T0, T1] − liveHorizon),
	// whatever the blocks' hand-overs did in between. Rates take the
	// seconds that ended before T − liveHorizon.
	liveHorizon = liveBlockTimeout + liveHorizonMargin
	// liveReaderSlack is how long after a tick's time the engine may take
	// the snapshot of that tick (it refreshes the sockets and reads the
	// links first). The reader between snapshots knows no tick: it counts
	// the packets stamped before the newest packet handed over minus
	// liveHorizon and this, which the next snapshot counts too, unless it
	// comes later than this after its tick.
	liveReaderSlack = 50 * time.Millisecond
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
	// large (1 MiB: about 5,000 small packets); a ring keeps at least
	// liveMinBlocks of them (see ringGeometry).
	liveBlockSize = 1 << 20
	// liveMinBlocks is the fewest blocks in a ring. At low rates the
	// kernel hands a block over at each block time-out, however few
	// packets it holds, so the block count, not the ring's size, bounds
	// how long the reader may stall before packets are lost: 32 blocks
	// × 200 ms = 6.4 s, so a stall of a second or more (a slow terminal,
	// a paused process, a long garbage collection) loses nothing.
	liveMinBlocks = 32
	// namesSnapLen is the names ring's snap length: a DNS response over
	// UDP is at most 512 bytes without EDNS and 1,232 with the usual EDNS
	// size, a ClientHello's server name comes in its first few hundred
	// bytes (Chrome's post-quantum key share makes hellos of 1,800
	// bytes, whose SNI still comes before it).
	namesSnapLen = 2048
	// namesBlockSize and namesBlocks are the names ring's geometry: 16
	// blocks of 16 KiB (256 KiB). Its packets are a trickle (DNS answers,
	// ClientHellos), a block holds 7 frames of the full snap length and
	// some 40 DNS answers, and 16 blocks are 3.2 s of block time-outs.
	namesBlockSize = 16 << 10
	namesBlocks    = 16
	// growFirstBytes is the size a growing ring opens at (32 blocks of
	// 64 KiB, see ringGeometry): a ring is resident in full from the
	// start, so an idle capture holds 2 MiB, not capture.ring_mib.
	growFirstBytes = 2 << 20
	// growFactor is how much larger the stage after the first ring is
	// (8 MiB): the kernel's first allocation of a ring costs about 1.5 ms
	// of CPU per MiB on the lab VM (memory the guest has not touched
	// lately), so a link whose load fills the 2 MiB ring's 64 KiB blocks
	// but not the 8 MiB ring's 1 MiB ones (about 27,000 small packets a
	// second) pays for 8 MiB, not 32.
	growFactor = 4
	// growLateFactor is how much larger each later stage is than the one
	// before (the last capped at capture.ring_mib): 2, 8, 16, 32 MiB for
	// the default. A ring's allocation is one system call the kernel does
	// not preempt (no preemption point in it on a server kernel), which
	// takes one of the CPUs for its whole length: 98–205 ms for 32 MiB
	// on the lab VM under a flood, faulting in memory the host took back.
	// Meanwhile the ring read now must hold what the reader, left with
	// the other CPUs, cannot read: an 8 MiB ring often filled in that
	// time (docs/benchmarks.md, "Growing under a flood"). The
	// allocation grows with the next stage's size and the room with the
	// current one's, so a ring at most twice the one before keeps their
	// ratio the same at every size: 8 → 16 MiB leaves half the room
	// 8 → 32 did.
	growLateFactor = 2
	// growLateFrom is the stage size from which the stages grow by
	// growLateFactor.
	growLateFrom = 8 << 20
	// growLaterRun is how many blocks in a row the kernel must hand over
	// full before a ring of a later stage grows on (the first, small
	// ring grows at its first full block). A later stage's 1 MiB block
	// holds about 270 ms of a 20,000-packet-a-second link, and a sender
	// that stalls and catches up, or a softirq run late, fills one now
	// and then; three in a row are more than 800 ms of such a link in a
	// burst, and about 80 ms of a 200,000-packet-a-second flood.
	growLaterRun = 3
	// growPoll is how often a reader whose old ring is handing over
	// looks at it (it waits on the new ring).
	growPoll = 50 * time.Millisecond
	// growRetire is how long after the switch the old ring may still hand
	// a block over: a packet the kernel steered to it before the switch
	// is in a block handed over liveHorizon after its stamp; twice that
	// leaves room for a busy CPU's late softirq.
	growRetire = 2 * liveHorizon
	// growRetireMax is when the old ring closes even if its open block
	// still reports packets (a count the kernel left from before, when
	// the ring was once full and the block was not reopened).
	growRetireMax = 5 * time.Second
	// namesFilter passes DNS responses and TLS ClientHellos (a handshake
	// record whose first message is a ClientHello) at the start of a TCP
	// payload. libpcap's tcp[] indexing is IPv4's only: the IPv6 form
	// reads the TCP header right after the fixed header (no extension
	// headers), as a ClientHello's packet has.
	namesFilter = "udp src port 53 or tcp src port 53" +
		" or (ip and tcp[((tcp[12:1] & 0xf0) >> 2):1] = 0x16 and tcp[((tcp[12:1] & 0xf0) >> 2) + 5:1] = 0x01)" +
		" or (ip6 and ip6[6] = 6 and ip6[40 + ((ip6[52] & 0xf0) >> 2)] = 0x16 and ip6[45 + ((ip6[52] & 0xf0) >> 2)] = 0x01)"
)

// Live is a running capture: one TPACKET_V3 ring per interface (or a
// fanout group of several), one reader goroutine per ring, all feeding one
// Accountant.
type Live struct {
	acc     *Accountant
	ifaces  int           // interfaces captured on
	handles []*liveHandle // fanout rings per interface, in interface order
	named   []*liveHandle // the names rings, one per interface (LiveOptions.Names)
	names   *NameTap
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
	// closed is set as Close begins: the rings of removed interfaces,
	// which snapshots still drain, are about to be unmapped.
	closed atomic.Bool
}

type liveHandle struct {
	idx  int
	name string
	ring *ring
	// mu serialises reading the ring. The reader goroutine and Snapshot
	// both empty it under mu, so a snapshot never waits for the reader
	// to be scheduled.
	mu   sync.Mutex
	sink blockSink // guarded by mu
	// pending holds the packets the reader decoded while a snapshot held
	// the accountant (see lockAccount), oldest first; guarded by mu.
	pending []Meta
	// failing is set while the socket reports an error (the interface
	// is down); packets the kernel hands over after it clear it. Guarded
	// by mu.
	failing bool
	// failedAt is when failing was set (nanoseconds since the epoch):
	// packets stamped before it, which the kernel may hand over and a
	// snapshot count later, are no sign that the interface is back.
	// Guarded by mu.
	failedAt int64
	// read counts the packets read from this ring.
	read atomic.Uint64
	// stopped is set when the reader has returned; removed when it
	// returned because the interface went away, its ring still mapped
	// and holding the packets of its last moments, which snapshots drain
	// (their horizon, liveHorizon, had not passed them yet).
	stopped, removed atomic.Bool
	// drops accumulates the kernel's drop counter (reading resets it).
	drops atomic.Uint64
	// old is the ring of the stage before while it hands over to ring
	// after the ring grew (nil otherwise); grow is the growth of a ring opened small (nil
	// for one opened at its configured size). The reader alone changes
	// ring and old, under mu; it reads them without.
	old  *ring
	grow *growth
}

// growStage is one stage of a growing ring: a socket prepared at start
// (filter passing nothing, no ring, unbound) and the geometry it gets.
type growStage struct {
	spare *ring
	opts  ringOptions
}

// growth is the state of a ring that opens small and grows in stages
// (growPlan: 2, 8, 16, then 32 MiB by default) to its configured size as
// load needs it, without a gap and without counting a packet twice:
//
//   - the small ring is the only member of a fanout group of its own
//     (PACKET_FANOUT_CBPF) whose steering program returns 0;
//   - when the kernel hands a block of it over full, or its backlog
//     passes half its blocks (needsGrowth), a goroutine gives the
//     stage's spare socket, made at start with a filter that passes
//     nothing, its ring of the stage's size and binds it while the reader
//     reads on; then the reader steers the group to member 0 (the ring
//     it reads), joins the spare to the group (member 1), gives it the
//     capture's filter and steers the group to member 1: every packet
//     from then on goes to the new ring only;
//   - the reader reads both rings until the old one has handed its last
//     block over (handedOver), adds its kernel drops to the handle's and
//     closes it; the new ring is then member 0 of one, and the next
//     stage, if any, watches it as the first stage watched the small
//     ring.
//
// The steering to 0 before a join matters from the second stage on: the
// group's program then returns 1, with one member (1 % 1 = 0), and a
// spare joining as member 1 would get every packet at once and its
// filter would drop them all.
type growth struct {
	spare   *ring       // the next stage's, prepared, no ring yet; nil once used or given up
	opts    ringOptions // the spare's geometry and interface
	later   []growStage // the stages after it, their spares prepared at start
	stage   int         // how many switches the ring has made (0: the first ring is read)
	filter  []bpf.RawInstruction
	group   int  // the steered fanout group
	promisc bool // the spare takes a promiscuous membership too
	// state is guarded by the handle's mu; retire and retireMax, started
	// at the switch, are the reader's.
	state     growState
	retire    <-chan time.Time
	retireMax <-chan time.Time
	started   <-chan error // the spare's start, once growStarting
	// early is the next stage's start begun during a hand-over, when the
	// new ring needed it before the old one was gone (the reader's).
	early <-chan error
	due   bool  // set by drain (under mu) when needsGrowth, also during a hand-over with a stage to come
	dueAt int64 // the capture time that made it due (nanoseconds since the epoch)
}

// growState is where a growing ring is.
type growState uint8

const (
	growWatching growState = iota // small; the reader watches for load
	growStarting                  // the spare's ring is being allocated
	growHandover                  // switched; the old ring hands over
	growDone                      // grown, or the growth failed
)

// fanoutJoinHook, when set (tests), is called with the ring's position
// before a ring of a hash fanout joins the group, the ring open and bound.
var fanoutJoinHook func(ring int)

// growHook, when set (tests), is called by the reader at the trigger and
// at the switch of a growth.
var growHook func(growState)

// growPlan returns the ring size to open first and the sizes of the
// stages to grow to later, smallest first (none: the ring has its
// configured size from the start): a single ring per interface larger
// than growFirstBytes starts at it and grows by growFactor to the first
// stage, then by growLateFactor a stage, the last stage capped at the
// configured size (a last step under a quarter of the stage before is
// folded into the step before it). Rings of a hash fanout, and
// configured sizes of growFirstBytes or less, open at their configured
// size.
func growPlan(ringBytes, fanout int) (first int, stages []int) {
	if fanout > 1 || ringBytes <= growFirstBytes {
		return ringBytes, nil
	}
	for size := growFirstBytes; size < ringBytes; {
		f := growFactor
		if size >= growLateFrom {
			f = growLateFactor
		}
		size = min(size*f, ringBytes)
		stages = append(stages, size)
	}
	if n := len(stages); n >= 2 && stages[n-1] < stages[n-2]+stages[n-2]/4 {
		// A last step of less than a quarter of the stage before costs a
		// spare, an allocation and a switch for little: grow to the
		// configured size from the stage before that.
		stages = append(stages[:n-2], stages[n-1])
	}
	return growFirstBytes, stages
}

// stageGeometry returns the blocks of a growth stage of size bytes on the
// way to final bytes. The last stage has the configured ring's geometry
// (ringGeometry). One before it has liveBlockSize blocks, however few:
// ringGeometry would cut 8 MiB into 32 blocks of 256 KiB, which a link
// of 22,000 small packets a second fills in 70 ms, 14 hand-overs (and
// wake-ups) a second instead of the 5 of the block time-out, and a block
// handed over full would grow the ring on at once; 1 MiB blocks hold
// 5,400 small packets, more than 200 ms of such a link, so it stays at
// 8 MiB, and a load that fills them grows it on. Eight blocks still
// cover 1.6 s of a stalled reader at any rate below that.
func stageGeometry(size, final int) (blockSize, blocks int) {
	if size >= final || size < 2*liveBlockSize {
		return ringGeometry(size)
	}
	return liveBlockSize, size / liveBlockSize
}

// needsGrowth reports whether a growing ring needs its next stage: the
// kernel handed run blocks in a row over full rather than at their
// time-out (longRun is the longest run so far), or the blocks handed
// over and not yet read are more than half the ring.
func needsGrowth(longRun, run, backlog, blocks int) bool {
	return longRun >= run || backlog > blocks/2
}

// handedOver reports whether the old ring of a growth may close: the
// retire time after the switch has passed (due), every block it handed
// over is read (backlog 0, none held) and the block the kernel fills
// holds no packet; or the longest wait has passed (late).
func handedOver(due, late bool, backlog int, held bool, open uint32) bool {
	switch {
	case late:
		return true
	case !due:
		return false
	}
	return backlog == 0 && !held && open == 0
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
	fanout := max(o.Fanout, 1)
	first, stages := growPlan(ringMiB<<20, fanout)
	l := &Live{acc: NewAccountant(o.Table, o.Aggregation, o.Filter, o.LocalNet), ifaces: len(names)}
	var warnings []string
	for i, name := range names {
		group := noFanoutGroup // the interface's fanout group, once the first ring made it
		var promiscErr error
		promiscOK := false
		for range fanout {
			var h *liveHandle
			var err error
			if len(stages) > 0 {
				var warn string
				h, warn, err = openGrowing(i, name, first, stages, raw, rawDgram, o.Promisc)
				if warn != "" {
					warnings = append(warnings, warn)
				}
			} else if fanout > 1 {
				// The rings of a hash fanout pass nothing until every one
				// is in the group (below): a ring bound but not yet joined
				// receives every packet on its own, which the rings
				// already in the group count too.
				h, err = openHandle(i, name, ringMiB, passNothing, passNothing)
			} else {
				h, err = openHandle(i, name, ringMiB, raw, rawDgram)
			}
			if err == nil && fanout > 1 {
				if fanoutJoinHook != nil {
					fanoutJoinHook(len(l.handles))
				}
				if group, err = h.ring.joinFanout(group); err != nil {
					h.ring.close()
					err = fmt.Errorf("capture on %s with %d rings: %w", name, fanout, err)
				}
			}
			if err != nil {
				l.closeHandles()
				return nil, err
			}
			l.handles = append(l.handles, h)
			if o.Promisc && name != "any" {
				// Every ring holds its own membership, so the interface
				// stays promiscuous while any of them is open.
				if err := h.ring.addPromisc(); err != nil {
					promiscErr = err
				} else {
					promiscOK = true
				}
			}
		}
		if fanout > 1 {
			if err := sameFanoutGroup(l.handles[len(l.handles)-fanout:]); err != nil {
				l.closeHandles()
				return nil, fmt.Errorf("capture on %s with %d rings: %w", name, fanout, err)
			}
			// Every ring is in the group: each packet reaches one of
			// them. Now they take the capture's filter.
			ro, _, _, err := ringOn(name, 0, 0, raw, rawDgram)
			for _, h := range l.handles[len(l.handles)-fanout:] {
				if err == nil {
					err = h.ring.setFilter(ro.filter)
				}
			}
			if err != nil {
				l.closeHandles()
				return nil, fmt.Errorf("capture on %s with %d rings: %w", name, fanout, err)
			}
		}
		switch {
		case o.Promisc && name == "any":
			warnings = append(warnings, "-p not honoured on any: promiscuous mode applies only to named interfaces (name them with -i)")
		case promiscErr != nil && !promiscOK:
			warnings = append(warnings, fmt.Sprintf("-p not honoured on %s: promiscuous mode could not be set (%v); only frames addressed to this host are seen", name, promiscErr))
		}
	}
	if o.Names != nil {
		if err := l.openNames(names, o.Names); err != nil {
			l.closeHandles()
			return nil, err
		}
	}
	l.acc.SetInterfaces(names)
	l.acc.SetWarnings(warnings)
	for _, h := range l.handles {
		size := uint64(h.ring.blockSize * h.ring.blocks)
		l.acc.UpdateInterface(h.idx, func(ih *flows.IfaceHealth) { ih.RingBytes += size })
	}
	ctx, l.cancel = context.WithCancel(ctx)
	for _, h := range l.handles {
		h.sink.acc = l.acc
		l.wg.Add(1)
		go l.read(ctx, h)
	}
	for _, h := range l.named {
		l.wg.Add(1)
		go l.readNames(ctx, h)
	}
	context.AfterFunc(ctx, func() {
		for _, h := range append(l.handles[:len(l.handles):len(l.handles)], l.named...) {
			h.mu.Lock() // the reader may be switching rings
			h.ring.wake()
			h.mu.Unlock()
		}
	})
	return l, nil
}

// sameFanoutGroup checks that the kernel reports one fanout group for every
// ring of an interface: rings in two groups would each count every packet.
func sameFanoutGroup(hs []*liveHandle) error {
	first := noFanoutGroup
	for k, h := range hs {
		g, err := h.ring.fanoutGroup()
		if err != nil {
			return fmt.Errorf("ring %d: %w", k+1, err)
		}
		if k == 0 {
			first = g
		} else if g != first {
			return fmt.Errorf("ring %d is in fanout group %d but ring 1 in group %d: every packet would be counted once per group", k+1, g, first)
		}
	}
	return nil
}

// filterProgram returns the socket filter for one link type: the user's
// tcpdump expression compiled by libpcap (exact tcpdump semantics), or,
// without one, a program that accepts everything. Either returns
// liveSnapLen, which the kernel takes as the number of bytes to copy.
func filterProgram(lt LinkType, expr string) ([]bpf.RawInstruction, error) {
	return bpfProgram(lt, expr, liveSnapLen)
}

// bpfProgram compiles expr for link type lt with snap length snap.
func bpfProgram(lt LinkType, expr string, snap uint32) ([]bpf.RawInstruction, error) {
	if expr == "" {
		return bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: snap}})
	}
	ins, err := pcap.CompileBPFFilter(layers.LinkType(lt), int(snap), expr)
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
	bs, nb := ringGeometry(ringMiB << 20)
	return openRingOn(idx, name, bs, nb, raw, rawDgram)
}

// ringOn returns the options of a ring of nb blocks of bs bytes on
// interface name with the filter for its link type, the link type and the
// interface's hardware address.
func ringOn(name string, bs, nb int, raw, rawDgram []bpf.RawInstruction) (ringOptions, LinkType, net.HardwareAddr, error) {
	cooked := true
	link := LinkRawAlt
	ifindex := 0
	var mac net.HardwareAddr
	if name != "any" {
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			return ringOptions{}, 0, nil, fmt.Errorf("capture on %q: %w (interfaces: %s)", name, ErrNoInterface, existingInterfaces())
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
	return ringOptions{
		ifindex: ifindex, cooked: cooked,
		blockSize: bs, blocks: nb,
		blockTimeout: liveBlockTimeout, filter: prog,
	}, link, mac, nil
}

// openRingOn opens a ring of nb blocks of bs bytes on interface name with
// the filter for its link type.
func openRingOn(idx int, name string, bs, nb int, raw, rawDgram []bpf.RawInstruction) (*liveHandle, error) {
	ro, link, mac, err := ringOn(name, bs, nb, raw, rawDgram)
	if err != nil {
		return nil, err
	}
	r, err := openRing(ro)
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
	return &liveHandle{idx: idx, name: name, ring: r, sink: blockSink{dec: dec}}, nil
}

// passNothing is the spare socket's filter until it is in the group: a
// bound socket receives on its own until it joins, and the old ring
// counts those packets.
var passNothing = []bpf.RawInstruction{{Op: unix.BPF_RET | unix.BPF_K, K: 0}}

// openGrowing opens a ring of first bytes on interface name in a steered
// fanout group of its own, with a spare socket for each stage to grow it
// to (stages, in bytes, smallest first; see growth). Every spare is made
// here, in the network namespace the capture starts in: a socket belongs
// to the namespace of the thread that makes it, and the reader's may be
// another. When the kernel refuses the group it opens the ring at the
// last stage's size instead, and says why in warn.
func openGrowing(idx int, name string, first int, stages []int, raw, rawDgram []bpf.RawInstruction, promisc bool) (h *liveHandle, warn string, err error) {
	bs, nb := ringGeometry(first)
	if h, err = openRingOn(idx, name, bs, nb, raw, rawDgram); err != nil {
		return nil, "", err
	}
	final := stages[len(stages)-1]
	g := &growth{promisc: promisc, state: growWatching}
	g.group, err = h.ring.joinSteered(noFanoutGroup)
	if err == nil {
		err = h.ring.steer(0)
	}
	var made []growStage
	for _, size := range stages {
		if err != nil {
			break
		}
		var st growStage
		gbs, gnb := stageGeometry(size, final)
		st.opts, _, _, err = ringOn(name, gbs, gnb, raw, rawDgram)
		g.filter = st.opts.filter
		st.opts.filter = passNothing
		if err == nil {
			st.spare, err = prepareRing(st.opts)
		}
		if err == nil {
			made = append(made, st)
		}
	}
	if err == nil {
		g.spare, g.opts, g.later = made[0].spare, made[0].opts, made[1:]
		h.grow = g
		return h, "", nil
	}
	for _, st := range made {
		st.spare.close()
	}
	h.ring.close()
	warn = fmt.Sprintf("the capture ring on %s has its full %d MiB from the start: it cannot start small and grow (%v)", name, final>>20, err)
	h, err = openHandle(idx, name, final>>20, raw, rawDgram)
	return h, warn, err
}

// growRing is the reader's step of a growing ring, after each drain: it
// switches to the next stage's ring once drain found the one it reads
// needs it, and closes the old ring once it has handed everything over.
// It reports whether the reader must drain and step again before it waits
// (it switched, and the block to wait for changed; or the old ring closed
// and a next stage is to come).
func (l *Live) growRing(h *liveHandle) bool {
	g := h.grow
	h.mu.Lock()
	state, due := g.state, g.due
	h.mu.Unlock()
	switch state {
	case growWatching:
		if !due {
			return false
		}
		if growHook != nil {
			growHook(growWatching)
		}
		g.started = l.startSpare(h, g.spare, g.opts)
		h.mu.Lock()
		g.state = growStarting
		h.mu.Unlock()
		return false
	case growStarting:
		var err error
		select {
		case err = <-g.started:
		default:
			return false
		}
		if err == nil {
			err = l.switchRing(h)
		}
		if err != nil {
			h.mu.Lock()
			// Done: the ring holds blocks for the next record again (drain
			// holds none while a growth is due).
			g.state, g.due = growDone, false
			size := h.ring.blockSize * h.ring.blocks
			to := g.opts.blockSize * g.opts.blocks
			g.closeSpares()
			h.mu.Unlock()
			l.acc.AddWarning(fmt.Sprintf("the capture ring on %s could not grow from %d to %d MiB (%v): capture goes on in the %d MiB ring, which drops packets when load outruns it", h.name, size>>20, to>>20, err, size>>20))
			return false
		}
		if growHook != nil {
			growHook(growHandover)
		}
		return true
	case growHandover:
		if due && g.early == nil && len(g.later) > 0 {
			// The new ring needs the next stage already (a flood):
			// allocate it now, and switch once the old ring is gone.
			if growHook != nil {
				growHook(growWatching)
			}
			g.early = l.startSpare(h, g.later[0].spare, g.later[0].opts)
		}
		// The longest wait first: once retire is due too, a select of
		// both would pick either.
		late := false
		select {
		case <-g.retireMax:
			late = true
		default:
			select {
			case <-g.retire:
			default:
				return false
			}
		}
		g.retire = closedChan // due from now on
		h.mu.Lock()
		old := h.old
		// Every packet of the old ring was stamped before the switch, so
		// before any snapshot's horizon from now on: count them all.
		l.drainRing(h, old, math.MaxInt64, 0)
		n, _ := old.backlog()
		if !handedOver(true, late, n, old.pos != 0, old.openPackets()) {
			h.mu.Unlock()
			return false
		}
		if d, err := old.drops(); err == nil {
			h.drops.Add(d)
		}
		h.old = nil
		g.state = growDone
		more := len(g.later) > 0
		if more {
			// The next stage watches the new ring; its full blocks
			// since the switch count (drain looks at them next).
			g.spare, g.opts, g.later = g.later[0].spare, g.later[0].opts, g.later[1:]
			g.state = growWatching
			if g.early != nil {
				g.state, g.started, g.early = growStarting, g.early, nil
			}
		}
		h.mu.Unlock()
		old.close() // about 20 ms (the kernel waits for readers of its hooks): outside mu
		// A next stage's spare may be allocated already (its wake-up was
		// spent while the old ring handed over) or due: look at it before
		// waiting, which on a link gone quiet would not end.
		return more
	}
	return false
}

// spareReady reports whether the spare being started for the next stage
// has its ring (its start's result waits in started). The caller holds
// the handle's mu.
func (g *growth) spareReady() bool {
	return g.state == growStarting && g.started != nil && len(g.started) > 0
}

// more reports whether a stage is still to come after the ring read now
// (its spare prepared, or later ones). The caller holds the handle's mu.
func (g *growth) more() bool { return g.spare != nil || len(g.later) > 0 }

// run is how many full blocks in a row make the ring read now grow: the
// first ring (the state before the first switch, or its hand-over)
// grows at its first, a later stage's at growLaterRun. The caller holds
// the handle's mu.
func (g *growth) run() int {
	if g.stage == 0 {
		return 1
	}
	return growLaterRun
}

// closeSpares closes the spare sockets of the stages not reached (the
// reader's, or Close's once the readers are done).
func (g *growth) closeSpares() {
	if g.spare != nil {
		g.spare.close()
		g.spare = nil
	}
	for _, st := range g.later {
		st.spare.close()
	}
	g.later = nil
}

// startSpare gives the spare sp its ring of opts in a goroutine of its
// own and returns the result's channel. The kernel's allocation of a ring
// and its mapping take 10 to 70 ms for 32 MiB on a quiet lab VM and up to
// 205 ms under a flood (memory the host took back is faulted in; 3 ms when
// it was touched just before): they run beside the reader, which goes on
// reading the ring it has (see growLateFactor).
func (l *Live) startSpare(h *liveHandle, sp *ring, opts ringOptions) <-chan error {
	started := make(chan error, 1)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		started <- sp.start(opts)
		h.mu.Lock()
		h.ring.wake() // the reader may wait on a quiet ring
		h.mu.Unlock()
	}()
	return started
}

// closedChan is a channel that is always ready.
var closedChan = func() chan time.Time { c := make(chan time.Time); close(c); return c }()

// switchRing puts the spare socket, its ring started, in the group and
// steers every packet to it; the old ring then hands over. The group has
// one member, the ring read now; from the second stage on its program
// returns 1, which would pick the spare the moment it joins, so the
// group is steered to member 0 first.
func (l *Live) switchRing(h *liveHandle) error {
	g := h.grow
	sp := g.spare
	// The first ring's program returns 0 already (set at start): steering
	// it again would cost the first switch, the one with the least room
	// (a 2 MiB ring under a flood), a wait for an RCU grace period
	// (the kernel's fanout program swap calls synchronize_net).
	if g.stage > 0 {
		if err := h.ring.steer(0); err != nil {
			return err
		}
	}
	if _, err := sp.joinSteered(g.group); err != nil {
		return err
	}
	if err := sp.setFilter(g.filter); err != nil {
		return err
	}
	if g.promisc {
		if err := sp.addPromisc(); err != nil {
			l.acc.AddWarning(fmt.Sprintf("-p not honoured on %s after the capture ring grew: promiscuous mode could not be set (%v); only frames addressed to this host are seen", h.name, err))
		}
	}
	if err := sp.steer(1); err != nil {
		return err
	}
	h.mu.Lock()
	h.old, h.ring = h.ring, sp
	g.spare = nil
	g.state = growHandover
	g.due = false // the next stage's trigger is the new ring's
	g.stage++
	grewAt := time.Unix(0, g.dueAt)
	added := uint64(sp.blockSize*sp.blocks - h.old.blockSize*h.old.blocks)
	h.mu.Unlock()
	g.retire, g.retireMax = time.After(growRetire), time.After(growRetireMax)
	l.acc.UpdateInterface(h.idx, func(ih *flows.IfaceHealth) { ih.RingBytes += added; ih.GrewAt = grewAt })
	return nil
}

// openNames opens a names ring per interface, feeding tap.
func (l *Live) openNames(ifaces []string, tap *NameTap) error {
	raw, err := bpfProgram(LinkEthernet, namesFilter, namesSnapLen)
	if err != nil {
		return err
	}
	rawDgram, err := bpfProgram(LinkRawAlt, namesFilter, namesSnapLen)
	if err != nil {
		return err
	}
	for i, name := range ifaces {
		h, err := openRingOn(i, name, namesBlockSize, namesBlocks, raw, rawDgram)
		if err != nil {
			return fmt.Errorf("names ring: %w", err)
		}
		h.sink.tap = tap
		l.named = append(l.named, h)
	}
	l.names = tap
	return nil
}

// readNames is a names ring's reader: it hands every packet to the tap.
// An interface that goes down is looked at again every liveRetry; one
// that goes away ends it.
func (l *Live) readNames(ctx context.Context, h *liveHandle) {
	defer l.wg.Done()
	for ctx.Err() == nil {
		h.mu.Lock()
		for h.ring.readBlock(&h.sink, math.MaxInt64) {
		}
		next := int(h.ring.next.Load())
		h.mu.Unlock()
		if err := h.ring.wait(next, math.MaxUint64); err == nil || errors.Is(err, errWoken) {
			continue
		}
		if h.ring.unbound() {
			return
		}
		t := time.NewTimer(liveRetry)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// ringGeometry splits a ring of the given size into blocks: as large as
// liveBlockSize, but at least liveMinBlocks of them (down to 32 KiB
// blocks, which a ring of 1 MiB, the smallest, divides into 32), so that
// a reader that stalls for a second at a low packet rate has blocks left.
func ringGeometry(bytes int) (blockSize, blocks int) {
	blockSize = liveBlockSize
	for blockSize > 32<<10 && bytes/blockSize < liveMinBlocks {
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

// read is one handle's reader loop: count what the next snapshot would
// count (readerHorizon), wait for the next block, again. It allocates
// nothing per packet.
func (l *Live) read(ctx context.Context, h *liveHandle) {
	defer l.wg.Done()
	defer h.stopped.Store(true)
	for ctx.Err() == nil {
		want, mark := l.drain(h, readerHorizon)
		if h.grow != nil && l.growRing(h) {
			continue // a new ring, or a next stage to look at: drain and step first
		}
		h.mu.Lock()
		failing := h.failing
		h.mu.Unlock()
		if failing {
			// The interface is down: look once a second whether it went
			// away. Packets again (drained here or by a snapshot) clear
			// the error.
			if h.ring.unbound() {
				h.removed.Store(true)
				l.acc.UpdateInterface(h.idx, func(ih *flows.IfaceHealth) { ih.Err, ih.Stopped = "interface removed", true })
				return
			}
			t := time.NewTimer(liveRetry)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		var err error
		if h.old != nil {
			// The old ring hands over: wake up in time to read it too.
			t := time.AfterFunc(growPoll, h.ring.wake)
			err = h.ring.wait(want, mark)
			t.Stop()
		} else {
			err = h.ring.wait(want, mark)
		}
		if err == nil || errors.Is(err, errWoken) {
			continue
		}
		// An error on the socket: the interface went down or away.
		h.mu.Lock()
		h.failing = true
		// Packets stamped before now (the kernel stamps them with the
		// same clock) came before the failure, even those of a block it
		// hands over only later: no sign that the interface is back.
		h.failedAt = time.Now().UnixNano()
		h.mu.Unlock()
		msg := err.Error()
		gone := h.ring.unbound()
		if gone {
			msg = "interface removed"
			h.removed.Store(true)
		}
		l.acc.UpdateInterface(h.idx, func(ih *flows.IfaceHealth) { ih.Err, ih.Stopped = msg, gone })
		if gone {
			return
		}
	}
}

// readerHorizon is drain's "before" for the reader goroutine: the time
// of the newest packet the kernel has handed over, minus liveHorizon and
// liveReaderSlack. That packet came before now, and the next snapshot's
// tick is later than now (or less than liveReaderSlack earlier), so
// whatever the reader counts the next snapshot would count too.
const readerHorizon = -1

// drain counts the packets the kernel has handed over that were stamped
// before before (nanoseconds since the epoch, or readerHorizon), each
// block under one hold of the accountant's lock, and returns the block
// to wait for, the first one the kernel has not handed over, and the
// ring's count of blocks given back beyond which someone else has read
// that block (see ring.wait). It holds
// the block where it stopped (readBlock), and with it the later ones,
// unless they are more than half the ring (a quarter of a growing ring's
// stage before the last): then it counts the oldest in
// full and goes on, so that holding never fills a ring (the flows then
// trail the counters by less than liveHorizon for that block). Packets the
// kernel hands over after an interface began failing clear its error.
// While a grown ring's old ring hands over, it drains that one first; a
// ring waiting for its successor holds nothing, and the drain that finds
// the need counts the blocks it held at once (the flows then trail the
// counters by less than liveHorizon until the switch, and a record may
// count packets after its horizon: some 10–200 ms, or up to some 600 ms
// for a ring that needs the next stage while the one before still hands
// over). A snapshot's drain that finds the need wakes the reader, which
// starts the growth.
func (l *Live) drain(h *liveHandle, before int64) (want int, mark uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if before != readerHorizon {
		// A snapshot: what the reader decoded aside first, whether or
		// not a block waits (a ring that holds nothing may have none).
		l.flushPending(h)
	}
	latest := int64(0)
	if h.old != nil {
		latest, _ = l.drainRing(h, h.old, before, h.old.blocks/2)
	}
	r := h.ring
	hold := r.blocks / 2
	if g := h.grow; g != nil && g.more() {
		// A stage with a later one to come holds a quarter of its
		// blocks: the 8 MiB stage 2 of its 8, the 270 ms after the
		// reader's horizon at the rates it stays at (its 1 MiB blocks
		// handed over at their 200 ms time-out; three handed over full
		// grow it on). Under a flood its blocks hold 20 ms each and
		// half the ring held would be 80 ms, too little to keep a
		// record exact and the room the ring lacks while the kernel
		// allocates its successor: at the trigger the 8 MiB stage has 6
		// blocks free, not 4 (docs/benchmarks.md, "Growing under a
		// flood").
		hold = r.blocks / 4
	}
	if g := h.grow; g != nil && (g.due || g.state == growStarting) {
		// The ring waits for its successor, which takes the kernel
		// up to some 200 ms to allocate, and, when it is itself new
		// and the old ring still hands over (a flood), the rest of the
		// hand-over: hold nothing, so that all of it is room for the
		// packets until the switch (an 8 MiB stage holding half its
		// blocks has 4 of 1 MiB left, 200 ms of a 100,000-packet-a-
		// second flood, less than a record's work at the flow cap).
		hold = 0
	}
	newest, seen := l.drainRing(h, r, before, hold)
	latest = max(latest, newest)
	if g := h.grow; g != nil && (g.state == growWatching || g.state == growHandover && len(g.later) > 0) &&
		!g.due && needsGrowth(r.longRun, g.run(), seen, r.blocks) {
		g.due = true
		g.dueAt = r.longRunAt
		if r.longRun < g.run() {
			g.dueAt = newest
		}
		if hold > 0 {
			// The blocks just held for the next record are room the
			// ring needs until the switch: count them now, before the
			// allocation takes a CPU (the reader waits for the next
			// block otherwise, a block's time later).
			more, _ := l.drainRing(h, r, before, 0)
			latest = max(latest, more)
		}
		if before != readerHorizon {
			r.wake() // the reader starts the growth
		}
	}
	if h.failing && latest > h.failedAt && !h.removed.Load() {
		h.failing = false
		l.acc.UpdateInterface(h.idx, func(ih *flows.IfaceHealth) { ih.Err = "" })
	}
	n, _ := r.backlog()
	return (int(r.next.Load()) + n) % r.blocks, r.released.Load() + uint64(n)
}

// drainRing is drain's walk over one ring of the handle, whose mu the
// caller holds, holding at most hold blocks. It returns the time of the
// newest packet handed over (0 for none) and the backlog it found.
func (l *Live) drainRing(h *liveHandle, r *ring, before int64, hold int) (latest int64, seen int) {
	n, newest := r.backlog()
	seen = n
	reader := before == readerHorizon
	if reader {
		before = newest - int64(liveHorizon+liveReaderSlack)
	}
	latest = newest // of the blocks handed over
	for n > 0 {
		locked := l.lockAccount(h, reader)
		released := r.readBlock(&h.sink, before)
		if !released && n > hold && !h.sink.full() {
			released = r.readBlock(&h.sink, math.MaxInt64)
		}
		full := h.sink.full()
		if locked {
			l.acc.countInterface(h.idx, h.sink.n)
			l.acc.mu.Unlock()
		} else {
			h.sink.pending = nil // the interface's count comes with the packets
		}
		h.read.Add(uint64(h.sink.n))
		h.sink.n = 0
		if full && !released {
			continue // no room left: wait for the accountant and go on in this block
		}
		if !released {
			break
		}
		if reader && h.grow != nil && h.grow.spareReady() {
			// The next stage's ring is ready: switch to it now (growRing,
			// after this drain) rather than after the blocks a flood keeps
			// handing over, while the small ring fills.
			break
		}
		if n--; n == 0 {
			if n, newest = r.backlog(); n > 0 {
				latest = newest
			}
		}
	}
	return latest, seen
}

// pendingMax is how many packets the readers of a capture may decode
// while a snapshot holds the accountant, shared among its rings (each
// gets its share, at least pendingMinRing): 65,536 packets, 8.9 MB of
// 136-byte Meta. At the flow cap a snapshot holds the accountant 50 ms on
// an idle machine and 220–360 ms on a loaded one (the random-source flood
// beside iftop), some 120,000 packets at 340,000 a second, during which a
// reader that waited would give the kernel no block back.
const (
	pendingMax     = 1 << 16
	pendingMinRing = 4096
)

// lockAccount takes the accountant's lock for a drainRing round and
// counts the handle's pending packets first; it reports whether it holds
// the lock. The reader (reader set), finding the lock held by a snapshot
// copying the flow table (Accountant.copying), does not wait while its
// pending buffer has room: it decodes the block's packets into it (the
// sink's pending) and gives the blocks back, and they are counted at its
// next round that gets the lock, or by the next snapshot's drain before
// that snapshot reads the table. Every packet the reader reads then was
// stamped after the horizon of the snapshot that holds the lock (that
// snapshot's drain counted the earlier ones first), so each lands in the
// snapshot it would have without the buffer, in order. A reader that
// finds another ring's reader there waits, as does a full buffer. The
// caller holds h.mu.
func (l *Live) lockAccount(h *liveHandle, reader bool) bool {
	if !l.acc.mu.TryLock() {
		if reader && l.acc.copying.Load() && (h.pending == nil || len(h.pending) < cap(h.pending)) {
			if h.pending == nil {
				h.pending = make([]Meta, 0, max(pendingMax/max(len(l.handles), 1), pendingMinRing))
			}
			h.sink.pending = &h.pending
			return false
		}
		l.acc.mu.Lock()
	}
	l.applyPending(h)
	return true
}

// applyPending counts the handle's pending packets; the caller holds h.mu
// and the accountant's lock.
func (l *Live) applyPending(h *liveHandle) {
	if len(h.pending) == 0 {
		return
	}
	for i := range h.pending {
		l.acc.count(&h.pending[i])
	}
	l.acc.countInterface(h.idx, len(h.pending))
	clear(h.pending) // no timestamps' locations kept alive
	h.pending = h.pending[:0]
}

// flushPending counts a handle's pending packets, for a snapshot; the
// caller holds h.mu.
func (l *Live) flushPending(h *liveHandle) {
	if len(h.pending) == 0 {
		return
	}
	l.acc.mu.Lock()
	l.applyPending(h)
	l.acc.mu.Unlock()
}

// blockSink decodes and counts the packets of a ring block; the caller
// holds the accountant's lock, unless pending is set: the packets are
// then kept there to be counted later (lockAccount).
type blockSink struct {
	dec *Decoder
	acc *Accountant
	// tap, on a names ring, takes every packet instead of the accountant.
	tap *NameTap
	m   Meta
	ci  gopacket.CaptureInfo
	n   int // packets since the caller last reset it
	// pending, when set, takes the decoded packets instead of the
	// accountant, up to its capacity (full).
	pending *[]Meta
}

// full reports whether the sink keeps packets for later and has no room
// left: readBlock then stops before the next packet, holding the block.
func (s *blockSink) full() bool {
	return s.pending != nil && len(*s.pending) == cap(*s.pending)
}

func (s *blockSink) packet(p *rawPacket) {
	if s.tap != nil {
		s.tap.Packet(s.dec.link, p.data, time.Unix(int64(p.sec), int64(p.nsec)))
		return
	}
	s.ci.Timestamp = time.Unix(int64(p.sec), int64(p.nsec))
	s.ci.Length, s.ci.CaptureLength, s.ci.InterfaceIndex = p.length, len(p.data), p.ifindex
	s.dec.Decode(p.data, &s.ci, &s.m)
	if s.pending != nil {
		*s.pending = append(*s.pending, s.m)
	} else {
		s.acc.count(&s.m)
	}
	s.n++
}

// Snapshot counts the packets stamped before now − liveHorizon (and holds
// the later ones for the next snapshot), reads the kernel drop counters,
// expires idle flows at now and returns the snapshot at now. Its rates
// cover the complete seconds before now − liveHorizon, the seconds it has
// counted in full.
func (l *Live) Snapshot(now time.Time) flows.Snapshot { return l.SnapshotTop(now, 0, 0) }

// SnapshotTop is Snapshot with only the first n flows of Sort's order by
// k (flows.Table.SnapshotTop), for a writer that shows n; n = 0 takes
// every flow.
func (l *Live) SnapshotTop(now time.Time, k flows.SortKey, n int) flows.Snapshot {
	before := now.Add(-liveHorizon).UnixNano()
	for _, h := range l.handles {
		// A removed interface's ring still holds the packets of its last
		// moments: they count once the horizon passes them, as a live
		// ring's do.
		if !h.stopped.Load() || h.removed.Load() && !l.closed.Load() {
			l.drain(h, before)
		} else {
			h.mu.Lock()
			l.flushPending(h)
			h.mu.Unlock()
		}
	}
	drops := make([]uint64, l.ifaces) // per interface, over its rings
	for _, h := range l.handles {
		h.mu.Lock()
		if d, err := h.ring.drops(); err == nil {
			h.drops.Add(d)
		}
		if h.old != nil {
			if d, err := h.old.drops(); err == nil {
				h.drops.Add(d)
			}
		}
		h.mu.Unlock()
		drops[h.idx] += h.drops.Load()
	}
	for i, d := range drops {
		l.acc.UpdateInterface(i, func(ih *flows.IfaceHealth) { ih.KernelDrops = d })
	}
	for _, h := range l.named {
		if d, err := h.ring.drops(); err == nil {
			l.names.drops.Add(d)
		}
	}
	l.acc.Expire(now)
	s := l.acc.SnapshotTop(now.Add(-liveHorizon), k, n)
	s.Time = now
	return s
}

// Release hands the newest snapshot's flows back for the next one to
// fill (flows.Table.Release).
func (l *Live) Release(s *flows.Snapshot) { l.acc.Release(s) }

// Lag is how far the capture's counts trail the wire: a snapshot at T
// counts the packets stamped before T − Lag (see liveHorizon).
func (l *Live) Lag() time.Duration { return liveHorizon }

// SetAggregation changes the grouping of later snapshots.
func (l *Live) SetAggregation(a flows.Aggregation) { l.acc.SetAggregation(a) }

// Close stops the readers and closes the rings (the kernel then drops
// their promiscuous-mode memberships); it is safe to call more than once.
func (l *Live) Close() error {
	l.once.Do(func() {
		l.closed.Store(true)
		l.cancel()
		l.wg.Wait()
		l.closeHandles()
	})
	return nil
}

func (l *Live) closeHandles() {
	for _, h := range l.handles {
		h.ring.close()
		if h.old != nil {
			h.old.close()
		}
		if h.grow != nil {
			h.grow.closeSpares()
		}
	}
	for _, h := range l.named {
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
