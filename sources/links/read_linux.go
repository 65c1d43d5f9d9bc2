package links

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netriage/sources/privs"
	"netriage/triage"
)

// Reader reads the links of one network namespace. It is not safe for
// concurrent use; the sampler calls it from one goroutine.
type Reader struct {
	h         *netlink.Handle
	ethFd     int    // socket for SIOCETHTOOL inside the namespace, -1 if none
	sysfsRoot string // "" when sysfs does not describe the namespace
	netns     string
	ns        nsIdentity // the namespace opened, for another one than the caller's
	nsGone    string     // how the namespace disappeared; "" while it exists
	stack     *stackReader
	rt        *rtnlConn      // raw rtnetlink: qdisc extended statistics and classes; nil if it could not open
	index     map[string]int // ifindex by name, from the newest Read
	still     *stillState    // skips the full read of a namespace where nothing moved
	speeds    map[int]cachedSpeed
	// speedReads counts full reads since the speeds were last all read
	// again (see speedOf).
	speedReads int
}

// cachedSpeed is a link speed as read (ethtool and sysfs) with the link
// state it was read in: a speed changes only with the link (a new
// negotiation takes the carrier down and up), so it is read again when the
// name, flags or operational state differ, after any link notification,
// and every speedRefresh full reads in any case.
type cachedSpeed struct {
	sp    speed
	name  string
	flags uint32
	oper  uint8
}

// speedRefresh is how many full reads a cached speed serves at most.
const speedRefresh = 30

// Open returns a Reader for the namespace named in opts.Netns. Errors for a
// namespace that does not exist wrap ErrNetnsNotFound.
func Open(opts Options) (r *Reader, err error) {
	// Another user's /proc/PID/ns/net needs the read capabilities.
	privs.WithProcAccess(func() { r, err = open(opts) })
	return r, err
}

func open(opts Options) (*Reader, error) {
	path, err := nsPath(opts.Netns)
	if err != nil {
		return nil, err
	}
	r := &Reader{ethFd: -1, netns: opts.Netns, index: map[string]int{}}
	if path == "" {
		r.stack = openStack(procStackPaths("/proc/net"), true)
		r.h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return nil, fmt.Errorf("links: open netlink: %w", err)
		}
		r.sysfsRoot = opts.SysfsRoot
		if r.sysfsRoot == "" {
			r.sysfsRoot = "/sys"
		}
		if !opts.NoEthtool {
			r.ethFd = ioctlSocket()
		}
		r.rt, _ = openRtnl() // without it, no classes or extended statistics (a warning per Read)
		r.still = openStill()
		return r, nil
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("links: open namespace %s: %w", opts.Netns, err)
	}
	defer ns.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(ns), &st); err != nil {
		return nil, fmt.Errorf("links: open namespace %s: %w", opts.Netns, err)
	}
	r.ns = nsIdentity{target: opts.Netns, path: path, dev: st.Dev, ino: st.Ino}
	r.h, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("links: enter namespace %s: %w (needs root or CAP_SYS_ADMIN)", opts.Netns, err)
		}
		return nil, fmt.Errorf("links: netlink in namespace %s: %w", opts.Netns, err)
	}
	if !opts.NoEthtool {
		fd, err := socketInNetns(ns)
		if err != nil {
			r.h.Close()
			return nil, fmt.Errorf("links: ethtool socket in namespace %s: %w", opts.Netns, err)
		}
		r.ethFd = fd
	}
	if err := inNetns(ns, func() {
		r.stack = openStack(procStackPaths("/proc/thread-self/net"), false)
		r.rt, _ = openRtnl()
		r.still = openStill()
	}); err != nil {
		r.Close()
		return nil, fmt.Errorf("links: stack counters in namespace %s: %w", opts.Netns, err)
	}
	return r, nil
}

// Close releases the netlink handle and the ioctl socket.
func (r *Reader) Close() error {
	if r.h != nil {
		r.h.Close()
		r.h = nil
	}
	if r.ethFd >= 0 {
		unix.Close(r.ethFd)
		r.ethFd = -1
	}
	if r.stack != nil {
		r.stack.close()
		r.stack = nil
	}
	if r.rt != nil {
		r.rt.close()
		r.rt = nil
	}
	if r.still != nil {
		r.still.close()
		r.still = nil
	}
	return nil
}

// gone says how the namespace disappeared, or "" while target still names
// it. The Reader's own sockets keep a deleted namespace alive, so reading
// it goes on working: what changes is its name. `ip netns del` unmounts
// and removes /run/netns/NAME, `ip netns add` may then create another
// namespace under the same name, and /proc/PID/ns/net vanishes with the
// process.
func (n nsIdentity) gone() string {
	var st unix.Stat_t
	err := unix.Stat(n.path, &st)
	return goneWhy(n, st.Dev, st.Ino, err)
}

// ioctlSocket returns a datagram socket for ioctls in the current
// namespace, or -1.
func ioctlSocket() int {
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6, unix.AF_UNIX} {
		if fd, err := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err == nil {
			return fd
		}
	}
	return -1
}

// socketInNetns creates the ioctl socket inside ns. A socket keeps the
// namespace it was created in.
func socketInNetns(ns netns.NsHandle) (int, error) {
	fd := -1
	if err := inNetns(ns, func() { fd = ioctlSocket() }); err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return -1, err
	}
	if fd < 0 {
		return -1, errors.New("no socket family available")
	}
	return fd, nil
}

// inNetns runs f on a goroutine of its own, locked to its OS thread and
// moved into ns, and waits for it. What f opens (sockets,
// /proc/thread-self/net files, sysctl files) keeps the namespace it was
// opened in. When the thread cannot move back it stays locked, so it ends
// with the goroutine and nothing else ever runs in the wrong namespace.
func inNetns(ns netns.NsHandle, f func()) error {
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, e := netns.Get()
		if e != nil {
			runtime.UnlockOSThread()
			err = fmt.Errorf("current namespace: %w", e)
			return
		}
		defer orig.Close()
		if e := netns.Set(ns); e != nil {
			runtime.UnlockOSThread()
			err = fmt.Errorf("setns: %w", e)
			return
		}
		f()
		if e := netns.Set(orig); e != nil {
			err = fmt.Errorf("setns back: %w", e)
			return // the thread stays locked and ends here
		}
		runtime.UnlockOSThread()
	}()
	<-done
	return err
}

// Read takes one sample of every interface. Seq and Time are left for the
// sampler. A failed link dump is an error; a failed qdisc, class or address
// dump becomes a warning in the sample.
//
// When the namespace given in Options.Netns has been deleted (see
// nsIdentity.gone), Read releases the netlink and ioctl sockets, which
// were the last thing keeping it (and its interfaces) alive, and from then
// on returns a sample with NetnsGone set and no interfaces.
func (r *Reader) Read() (triage.LinksSample, error) {
	var out triage.LinksSample
	if r.nsGone == "" && r.ns.path != "" {
		r.nsGone = r.ns.gone()
		if r.nsGone != "" {
			r.Close()
		}
	}
	if r.nsGone != "" {
		out.NetnsGone = r.nsGone
		out.Warnings = []string{r.nsGone}
		return out, nil
	}
	if r.h == nil {
		return out, errors.New("links: read after Close")
	}
	if r.still != nil && r.still.quiet(r.rt) {
		return r.still.again(), nil
	}
	return r.readFull()
}

// readFull makes the full read: every dump, the speeds (cached, see
// cachedSpeed) and the traffic-control statistics.
func (r *Reader) readFull() (triage.LinksSample, error) {
	var out triage.LinksSample
	if r.speedReads++; r.speeds == nil || r.speedReads > speedRefresh || r.still == nil || r.still.events {
		r.speeds, r.speedReads = map[int]cachedSpeed{}, 1
	}
	links, err := retryDump(func() ([]netlink.Link, error) { return r.h.LinkList() })
	if err != nil {
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			out.Warnings = append(out.Warnings, "link dump interrupted; counters may be inconsistent")
		} else {
			if r.still != nil {
				r.still.last = nil
			}
			return out, fmt.Errorf("links: link dump: %w", err)
		}
	}
	qdiscs, err := retryDump(func() ([]netlink.Qdisc, error) { return r.h.QdiscList(nil) })
	if err != nil {
		out.Warnings = append(out.Warnings, "qdisc dump: "+err.Error())
	}
	rawQ, rawC := r.readTC(qdiscs, &out)
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return r.h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		out.Warnings = append(out.Warnings, "address dump: "+err.Error())
	}
	speeds := make(map[int]speed, len(links))
	clear(r.index)
	for _, l := range links {
		a := l.Attrs()
		r.index[a.Name] = a.Index
		speeds[a.Index] = r.speedOf(a)
	}
	for i := range r.speeds {
		if _, ok := speeds[i]; !ok {
			delete(r.speeds, i)
		}
	}
	out.Ifaces = parseLinks(links, qdiscs, htbClassesOf(rawC), addrs, speeds)
	out.Warnings = append(out.Warnings, attachTC(out.Ifaces, rawQ, rawC)...)
	if r.still != nil {
		r.still.fullRead(out)
	}
	return out, nil
}

// speedOf returns the speed of link a from the cache, or reads it.
func (r *Reader) speedOf(a *netlink.LinkAttrs) speed {
	c, ok := r.speeds[a.Index]
	if ok && c.name == a.Name && c.flags == a.RawFlags && c.oper == uint8(a.OperState) {
		return c.sp
	}
	var sp speed
	if r.ethFd >= 0 {
		sp.ethtoolBps = ethtoolSpeedBps(r.ethFd, a.Name)
	}
	if r.sysfsRoot != "" {
		sp.sysfsBps = readSysfsSpeedBps(r.sysfsRoot, a.Name)
	}
	r.speeds[a.Index] = cachedSpeed{sp: sp, name: a.Name, flags: a.RawFlags, oper: uint8(a.OperState)}
	return sp
}

// readTC dumps, on the raw rtnetlink socket, every qdisc (for the extended
// statistics the library does not decode) and the classes of each htb and
// hfsc root; failures become warnings of out.
func (r *Reader) readTC(qdiscs []netlink.Qdisc, out *triage.LinksSample) (rawQ, rawC []tcObject) {
	if r.rt == nil {
		out.Warnings = append(out.Warnings, "no raw netlink socket: no qdisc classes or extended statistics")
		return nil, nil
	}
	if err := r.rt.dumpTC(false, 0, func(o tcObject) { rawQ = append(rawQ, o) }); err != nil {
		out.Warnings = append(out.Warnings, "qdisc statistics dump: "+err.Error())
	}
	for _, q := range qdiscs {
		a := q.Attrs()
		if (q.Type() != "htb" && q.Type() != "hfsc") || a.Parent != netlink.HANDLE_ROOT {
			continue
		}
		if err := r.rt.dumpTC(true, a.LinkIndex, func(o tcObject) { rawC = append(rawC, o) }); err != nil {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s classes of ifindex %d: %v", q.Type(), a.LinkIndex, err))
		}
	}
	return rawQ, rawC
}

// retryDump retries a dump interrupted by a concurrent change up to three
// times, then returns the partial result with netlink.ErrDumpInterrupted.
func retryDump[T any](f func() ([]T, error)) ([]T, error) {
	var (
		v   []T
		err error
	)
	for range 3 {
		v, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}

// ethtool ioctl numbers (linux/sockios.h, linux/ethtool.h).
const (
	siocEthtool = 0x8946
	ethtoolGSet = 0x1
)

// ethtoolCmd is struct ethtool_cmd (44 bytes).
type ethtoolCmd struct {
	Cmd           uint32
	Supported     uint32
	Advertising   uint32
	Speed         uint16
	Duplex        uint8
	Port          uint8
	PhyAddress    uint8
	Transceiver   uint8
	Autoneg       uint8
	MdioSupport   uint8
	Maxtxpkt      uint32
	Maxrxpkt      uint32
	SpeedHi       uint16
	EthTpMdix     uint8
	EthTpMdixCtrl uint8
	LpAdvertising uint32
	Reserved      [2]uint32
}

// ifreqData is struct ifreq with the ifr_data member.
type ifreqData struct {
	Name [unix.IFNAMSIZ]byte
	Data unsafe.Pointer
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

// ethtoolSpeedBps returns the link speed of name in bits per second from
// ETHTOOL_GSET on fd (whose namespace is the one asked), or 0 when the
// driver does not know or support it.
func ethtoolSpeedBps(fd int, name string) uint64 {
	if len(name) >= unix.IFNAMSIZ {
		return 0
	}
	cmd := ethtoolCmd{Cmd: ethtoolGSet}
	var ifr ifreqData
	copy(ifr.Name[:], name)
	ifr.Data = unsafe.Pointer(&cmd)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), siocEthtool, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(&cmd)
	if errno != 0 {
		return 0
	}
	return parseEthtoolSpeed(cmd.Speed, cmd.SpeedHi)
}

// parseEthtoolSpeed combines ethtool_cmd's speed halves (Mbit/s); 0 and
// SPEED_UNKNOWN (0xffffffff) give 0.
func parseEthtoolSpeed(lo, hi uint16) uint64 {
	mbps := uint32(hi)<<16 | uint32(lo)
	if mbps == 0 || mbps == 0xffffffff || mbps == 0xffff {
		return 0
	}
	return uint64(mbps) * 1_000_000
}

// readSysfsSpeedBps reads ROOT/class/net/NAME/speed (Mbit/s) and returns
// bits per second, or 0 when absent, unreadable (EINVAL for lo) or -1.
func readSysfsSpeedBps(root, name string) uint64 {
	if name == "" || strings.ContainsAny(name, "/") || name == "." || name == ".." {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(root, "class", "net", name, "speed"))
	if err != nil {
		return 0
	}
	return parseSysfsSpeed(string(b))
}

// parseSysfsSpeed parses the speed file's content (Mbit/s).
func parseSysfsSpeed(s string) uint64 {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || v <= 0 || v > 1e9 {
		return 0
	}
	return uint64(v) * 1_000_000
}
