package capture

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// ring is one AF_PACKET socket with a TPACKET_V3 receive ring, read in
// place. The kernel fills blocks of packets and hands each over by
// setting its status; the reader walks a block's packets without a system
// call or a lock and gives the block back. Waiting for the next block
// goes through the Go runtime's network poller, so a waiting reader holds
// no thread and makes no system call of its own.
type ring struct {
	file      *os.File
	rc        syscall.RawConn
	mem       []byte
	blockSize int
	blocks    int
	next      atomic.Int32 // the block to read next; readBlock's caller serialises writes
	// released counts the blocks readBlock gave back to the kernel.
	released atomic.Uint64
	// pos and left are where readBlock stopped in block next, which it
	// holds: the offset of the first packet not handed over and how many
	// packets remain from there (pos 0: the block is unread). readBlock's
	// caller serialises them.
	pos     int
	left    uint32
	ifindex int
	woken   bool // the poller woke the reader; see wait
	sockErr error
	// fullBlocks counts the blocks the kernel handed over full, not at
	// their time-out (TP_STATUS_BLK_TMO clear), and fullAt is the time of
	// the last packet of the first of them (nanoseconds since the epoch):
	// the sign that load needs a larger ring. fullRun is how many blocks
	// in a row, up to the last one read, the kernel handed over full;
	// longRun is the longest such run so far and longRunAt the time of
	// the last packet of the block that made it that long. readBlock's
	// caller serialises them.
	fullBlocks int
	fullAt     int64
	fullRun    int
	longRun    int
	longRunAt  int64
}

// ringOptions describe one ring.
type ringOptions struct {
	ifindex      int  // 0: every interface
	cooked       bool // SOCK_DGRAM (link header removed)
	blockSize    int
	blocks       int
	blockTimeout time.Duration
	filter       []bpf.RawInstruction
}

// TPACKET_V3 layout (include/uapi/linux/if_packet.h).
const (
	blockStatusOff = 8           // tpacket_block_desc.hdr.bh1.block_status
	blockNumOff    = 12          // .num_pkts
	blockFirstOff  = 16          // .offset_to_first_pkt
	blockTsLastOff = 40          // .ts_last_pkt (seconds, then nanoseconds)
	sllOff         = 48          // TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
	sllIfindexOff  = sllOff + 4  // sockaddr_ll.sll_ifindex
	sllPkttypeOff  = sllOff + 10 // sockaddr_ll.sll_pkttype

	// loopbackIfindex is the loopback interface's index in every network
	// namespace (LOOPBACK_IFINDEX in the kernel).
	loopbackIfindex = 1
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openRing opens the socket, attaches the filter before any packet can
// arrive (the socket is created with protocol 0 and bound last), maps
// the ring and binds it to the interface.
func openRing(o ringOptions) (*ring, error) {
	r, err := prepareRing(o)
	if err != nil {
		return nil, err
	}
	if err := r.start(o); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// prepareRing opens the socket with its filter attached, without a ring
// and unbound: it receives nothing until start. A socket made ahead of
// time belongs to the network namespace of the thread that made it, so
// start may run on any thread later.
func prepareRing(o ringOptions) (*ring, error) {
	typ := unix.SOCK_RAW
	if o.cooked {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(unix.AF_PACKET, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TPACKET_V3: %w", err)
	}
	if err := attachFilter(fd, o.filter); err != nil {
		unix.Close(fd)
		return nil, err
	}
	r := &ring{blockSize: o.blockSize, blocks: o.blocks, ifindex: o.ifindex}
	r.file = os.NewFile(uintptr(fd), "packet")
	if r.rc, err = r.file.SyscallConn(); err != nil {
		r.file.Close()
		return nil, err
	}
	return r, nil
}

// attachFilter attaches (or replaces) the socket's filter; none attaches
// nothing.
func attachFilter(fd int, filter []bpf.RawInstruction) error {
	if len(filter) == 0 {
		return nil
	}
	ins := make([]unix.SockFilter, len(filter))
	for i, in := range filter {
		ins[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog := unix.SockFprog{Len: uint16(len(ins)), Filter: &ins[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		return fmt.Errorf("attach filter: %w", err)
	}
	return nil
}

// start gives a prepared socket its ring of o's geometry, maps it and
// binds the socket to the interface; from then on it receives.
func (r *ring) start(o ringOptions) error {
	req := unix.TpacketReq3{
		Block_size:     uint32(o.blockSize),
		Block_nr:       uint32(o.blocks),
		Frame_size:     liveFrameSize,
		Frame_nr:       uint32(o.blockSize / liveFrameSize * o.blocks),
		Retire_blk_tov: uint32(max(o.blockTimeout/time.Millisecond, 1)),
	}
	var err error
	if cerr := r.rc.Control(func(fd uintptr) {
		if err = unix.SetsockoptTpacketReq3(int(fd), unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
			err = fmt.Errorf("receive ring of %d × %d bytes: %w", o.blocks, o.blockSize, err)
			return
		}
		if r.mem, err = unix.Mmap(int(fd), 0, o.blockSize*o.blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
			r.mem = nil
			err = fmt.Errorf("map the ring: %w", err)
			return
		}
		if err = unix.Bind(int(fd), &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: o.ifindex}); err != nil {
			err = fmt.Errorf("bind: %w", err)
		}
	}); cerr != nil {
		return cerr
	}
	r.blockSize, r.blocks = o.blockSize, o.blocks
	return err
}

// setFilter replaces the socket's filter.
func (r *ring) setFilter(filter []bpf.RawInstruction) error {
	var err error
	if cerr := r.rc.Control(func(fd uintptr) { err = attachFilter(int(fd), filter) }); cerr != nil {
		return cerr
	}
	return err
}

// noFanoutGroup is joinFanout's "no group yet": group ids are 16 bits and
// the kernel's allocator of unique ids starts at 0 after boot and wraps,
// so 0 is a real group.
const noFanoutGroup = -1

// joinFanout adds the ring to a fanout group that spreads packets over its
// rings by flow hash. noFanoutGroup asks the kernel for a new group with an
// id no other socket of the namespace uses; any other value joins that
// group. It returns the group the kernel reports for the ring afterwards,
// the id for the next rings.
func (r *ring) joinFanout(group int) (int, error) {
	return r.joinGroup(unix.PACKET_FANOUT_HASH, group, "")
}

// joinSteered adds the ring to a fanout group whose members a classic BPF
// program chooses (PACKET_FANOUT_CBPF): the program's result, modulo the
// number of members, is the index of the member that gets the packet,
// members being indexed in the order they joined (a member that leaves
// is replaced by the last one). noFanoutGroup makes a new group with a
// unique id; any other value joins that group. Without a program every
// packet goes to member 0. It returns the group's id.
func (r *ring) joinSteered(group int) (int, error) {
	return r.joinGroup(unix.PACKET_FANOUT_CBPF, group, "join a steered fanout group")
}

// joinGroup joins (or, with noFanoutGroup, creates with a unique id) a
// fanout group of mode and returns the group the kernel reports for the
// ring; failed names the failure ("" for the group's own words).
func (r *ring) joinGroup(mode, group int, failed string) (int, error) {
	arg := mode << 16
	if group == noFanoutGroup {
		arg |= unix.PACKET_FANOUT_FLAG_UNIQUEID << 16
	} else {
		arg |= group & 0xffff
	}
	var err error
	if cerr := r.rc.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.SOL_PACKET, unix.PACKET_FANOUT, arg)
	}); cerr != nil {
		return noFanoutGroup, cerr
	}
	if err != nil {
		switch {
		case failed != "":
			return noFanoutGroup, fmt.Errorf("%s: %w", failed, err)
		case group == noFanoutGroup:
			return noFanoutGroup, fmt.Errorf("create a fanout group: %w", err)
		}
		return noFanoutGroup, fmt.Errorf("join fanout group %d: %w", group, err)
	}
	got, err := r.fanoutGroup()
	if err != nil {
		return noFanoutGroup, err
	}
	if group != noFanoutGroup && got != group {
		return noFanoutGroup, fmt.Errorf("joined fanout group %d, but the kernel reports group %d for the ring", group, got)
	}
	return got, nil
}

// steer sets the steering program of the ring's group (PACKET_FANOUT_DATA,
// on any member): every packet goes to member index to (modulo the
// member count).
func (r *ring) steer(to uint32) error {
	ins := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: to}}
	prog := unix.SockFprog{Len: 1, Filter: &ins[0]}
	var err error
	if cerr := r.rc.Control(func(fd uintptr) {
		err = unix.SetsockoptSockFprog(int(fd), unix.SOL_PACKET, unix.PACKET_FANOUT_DATA, &prog)
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("steer the fanout group to member %d: %w", to, err)
	}
	return nil
}

// fanoutGroup returns the id of the ring's fanout group as the kernel
// reports it (getsockopt PACKET_FANOUT: the id in the low 16 bits, the
// type and flags above). A ring in no group reads 0 as well, like one in
// group 0 of type hash, so the answer means something only for a ring
// that joined a group.
func (r *ring) fanoutGroup() (int, error) {
	var v int
	var err error
	if cerr := r.rc.Control(func(fd uintptr) {
		v, err = unix.GetsockoptInt(int(fd), unix.SOL_PACKET, unix.PACKET_FANOUT)
	}); cerr != nil {
		return noFanoutGroup, cerr
	}
	if err != nil {
		return noFanoutGroup, fmt.Errorf("read the fanout group: %w", err)
	}
	return v & 0xffff, nil
}

// addPromisc makes the socket a user of promiscuous mode on its interface
// (PACKET_ADD_MEMBERSHIP with PACKET_MR_PROMISC). The kernel counts such
// users per interface, apart from the administrator's own setting, and
// drops the socket's count when the socket closes, however the process
// ends, so no run can leave an interface promiscuous or undo another's
// setting. A ring on every interface has no interface to name.
func (r *ring) addPromisc() error {
	if r.ifindex == 0 {
		return errors.New("promiscuous mode needs a named interface")
	}
	mreq := unix.PacketMreq{Ifindex: int32(r.ifindex), Type: unix.PACKET_MR_PROMISC}
	var err error
	if cerr := r.rc.Control(func(fd uintptr) {
		err = unix.SetsockoptPacketMreq(int(fd), unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq)
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("promiscuous membership: %w", err)
	}
	return nil
}

// status is the address of block i's status word.
func (r *ring) status(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[i*r.blockSize+blockStatusOff]))
}

// rawPacket is one packet in a block, valid until the block is released.
type rawPacket struct {
	data      []byte // the captured bytes, from the link (or network) header
	sec, nsec uint32
	length    int // on the wire
	ifindex   int
}

// readBlock hands the packets of the next block, if it is ready, to sink,
// from where the last call stopped, as long as they were stamped before
// before (nanoseconds since the epoch; math.MaxInt64 for all of them). At
// the first packet stamped at or after it, it stops and holds the block
// (it stays user space's, and the next call resumes there); once every
// packet is handed over it gives the block back to the kernel. It reports
// whether it gave a block back.
//
// The kernel writes a ring's packets in the order it stamps them (to a
// few microseconds when several CPUs feed one ring), so the packets after
// the first one held are later still, and so are those of the blocks
// after it: holding one block holds nothing that readBlock could count.
func (r *ring) readBlock(sink *blockSink, before int64) bool {
	next := int(r.next.Load())
	st := atomic.LoadUint32(r.status(next))
	if st&unix.TP_STATUS_USER == 0 {
		return false
	}
	base := next * r.blockSize
	b := r.mem[base : base+r.blockSize]
	off, left := r.pos, r.left
	if off == 0 {
		left = *(*uint32)(unsafe.Pointer(&b[blockNumOff]))
		off = int(*(*uint32)(unsafe.Pointer(&b[blockFirstOff])))
		if st&unix.TP_STATUS_BLK_TMO == 0 {
			if r.fullBlocks == 0 {
				r.fullAt = blockTsLast(b)
			}
			r.fullBlocks++
			if r.fullRun++; r.fullRun > r.longRun {
				r.longRun, r.longRunAt = r.fullRun, blockTsLast(b)
			}
		} else {
			r.fullRun = 0
		}
	}
	var p rawPacket
	for ; left > 0; left-- {
		if off <= 0 || off+sllPkttypeOff >= len(b) { // the header and sockaddr_ll up to pkttype
			break
		}
		h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&b[off]))
		if int64(h.Sec)*1e9+int64(h.Nsec) >= before || sink.full() {
			r.pos, r.left = off, left
			return false
		}
		start := off + int(h.Mac)
		end := start + int(h.Snaplen)
		if end > len(b) || start > end {
			break
		}
		p.ifindex = int(*(*int32)(unsafe.Pointer(&b[off+sllIfindexOff])))
		// A packet leaving the loopback interface comes straight back in
		// on it: the kernel shows it twice, and it is counted once, as it
		// arrives (libpcap does the same).
		if p.ifindex != loopbackIfindex || b[off+sllPkttypeOff] != unix.PACKET_OUTGOING {
			p.data = b[start:end:end]
			p.sec, p.nsec = h.Sec, h.Nsec
			p.length = int(h.Len)
			sink.packet(&p)
		}
		if h.Next_offset == 0 {
			break
		}
		off += int(h.Next_offset)
	}
	r.pos, r.left = 0, 0
	atomic.StoreUint32(r.status(next), unix.TP_STATUS_KERNEL)
	r.next.Store(int32((next + 1) % r.blocks))
	r.released.Add(1)
	return true
}

// backlog returns how many blocks, from next on, the kernel has handed
// over and readBlock has not given back, and the time of the newest
// packet in them (ts_last_pkt of the last one, in nanoseconds since the
// epoch; 0 without a block). Its caller serialises it with readBlock.
func (r *ring) backlog() (n int, newest int64) {
	next := int(r.next.Load())
	for n < r.blocks && atomic.LoadUint32(r.status((next+n)%r.blocks))&unix.TP_STATUS_USER != 0 {
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return n, blockTsLast(r.mem[(next+n-1)%r.blocks*r.blockSize:])
}

// blockTsLast is a block's ts_last_pkt in nanoseconds since the epoch.
func blockTsLast(b []byte) int64 {
	sec := *(*uint32)(unsafe.Pointer(&b[blockTsLastOff]))
	nsec := *(*uint32)(unsafe.Pointer(&b[blockTsLastOff+4]))
	return int64(sec)*1e9 + int64(nsec)
}

// openPackets returns how many packets the kernel has written into the
// block it fills now and has not handed over: the packet count of block
// next while the kernel owns it (the kernel resets the count when it
// opens the block). Its caller has read every block handed over before.
func (r *ring) openPackets() uint32 {
	next := int(r.next.Load())
	if atomic.LoadUint32(r.status(next))&unix.TP_STATUS_USER != 0 {
		return 0
	}
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.mem[next*r.blockSize+blockNumOff])))
}

// ready is wait's test: the block whose status is st is handed over, or
// the ring gave back more than mark blocks.
func (r *ring) ready(st *uint32, mark uint64) bool {
	return atomic.LoadUint32(st)&unix.TP_STATUS_USER != 0 || r.released.Load() > mark
}

// errWoken is returned by wait when it was interrupted (wake).
var errWoken = errors.New("woken")

// wait blocks until block want (an index into the ring) is handed over,
// the socket reports an error (returned), or wake is called (errWoken).
// A reader that holds blocks waits for the first one after them, the next
// the kernel hands over. It also returns, at the next hand-over, once the
// ring has given back more than mark blocks in all (drain's count when
// the reader looked, plus the blocks it held): a snapshot then read block
// want as well, and the reader, waiting for that block to be handed over
// again, would otherwise sleep until the kernel came round the whole ring.
func (r *ring) wait(want int, mark uint64) error {
	r.sockErr = nil
	r.woken = false
	st := r.status(want % r.blocks)
	err := r.rc.Read(func(fd uintptr) bool {
		if r.ready(st, mark) {
			return true
		}
		if r.woken {
			// Woken without a block: an error on the socket (the
			// interface went down or away)?
			if e, _ := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR); e != 0 {
				r.sockErr = syscall.Errno(e)
				return true
			}
		}
		r.woken = true
		return false
	})
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			_ = r.file.SetReadDeadline(time.Time{})
			return errWoken
		}
		return err
	}
	return r.sockErr
}

// wake interrupts a wait (from another goroutine).
func (r *ring) wake() { _ = r.file.SetReadDeadline(time.Unix(1, 0)) }

// unbound reports whether the interface the ring was bound to is gone:
// the kernel then reports the socket's interface index as -1. (Looking the
// index up by name would ask the reader thread's network namespace, which
// need not be the ring's.) A ring on every interface is never unbound.
func (r *ring) unbound() bool {
	if r.ifindex == 0 {
		return false
	}
	var sa unix.Sockaddr
	if err := r.rc.Control(func(fd uintptr) { sa, _ = unix.Getsockname(int(fd)) }); err != nil {
		return false
	}
	ll, ok := sa.(*unix.SockaddrLinklayer)
	return ok && ll.Ifindex != r.ifindex
}

// drops returns the kernel's drop counter since the last call (reading
// resets it). It fails once the ring is closed. The getsockopt never
// blocks, so it is made as a raw system call: an ordinary one wakes the
// Go runtime's monitor thread from its sleep, which then polls every 20 µs
// for a while, and on a VM those wake-ups cost far more than the call
// (one context switch fewer per snapshot, measured).
func (r *ring) drops() (uint64, error) {
	var st unix.TpacketStatsV3
	var errno syscall.Errno
	if cerr := r.rc.Control(func(fd uintptr) {
		n := uint32(unsafe.Sizeof(st))
		_, _, errno = unix.RawSyscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_PACKET, unix.PACKET_STATISTICS,
			uintptr(unsafe.Pointer(&st)), uintptr(unsafe.Pointer(&n)), 0)
	}); cerr != nil {
		return 0, cerr
	}
	if errno != 0 {
		return 0, errno
	}
	return uint64(st.Drops), nil
}

// close releases the socket and the ring; no read may be running.
func (r *ring) close() {
	if r.file != nil {
		r.file.Close()
	}
	if r.mem != nil {
		_ = unix.Munmap(r.mem)
		r.mem = nil
	}
}
