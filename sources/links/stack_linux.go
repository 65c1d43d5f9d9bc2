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

	"golang.org/x/sys/unix"

	"netriage/sources/rawio"
	"netriage/triage"
)

// stackPaths are the files of one namespace's stack counters. They are
// fixed by the code: the caller's namespace reads /proc/net, another one
// /proc/thread-self/net on a thread inside it. Tests point them at
// fixtures.
type stackPaths struct {
	softnet, snmp, netstat, snmp6 string
	ctCount, ctMax, ctStat        string
}

func procStackPaths(netDir string) stackPaths {
	return stackPaths{
		softnet: netDir + "/softnet_stat", snmp: netDir + "/snmp", netstat: netDir + "/netstat", snmp6: netDir + "/snmp6",
		ctCount: "/proc/sys/net/netfilter/nf_conntrack_count", ctMax: "/proc/sys/net/netfilter/nf_conntrack_max",
		ctStat: netDir + "/stat/nf_conntrack",
	}
}

// stackFile is one open counter file, read again from offset 0 at every
// sample (the kernel regenerates /proc and sysctl files on a read from
// offset 0). The open file keeps the namespace it was opened in.
type stackFile struct {
	path string
	fd   int // -1 when absent
	err  error
}

func openStackFile(path string) stackFile {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return stackFile{path: path, fd: -1, err: err}
	}
	return stackFile{path: path, fd: fd}
}

func (f *stackFile) close() {
	if f.fd >= 0 {
		unix.Close(f.fd)
		f.fd = -1
	}
}

// read reads the whole file into buf (grown as needed) and returns the
// bytes read.
func (f *stackFile) read(buf *[]byte) ([]byte, error) {
	if f.fd < 0 {
		return nil, f.err
	}
	b := *buf
	if cap(b) < 4096 {
		b = make([]byte, 0, 16384)
	}
	b = b[:cap(b)]
	n := 0
	for {
		if n == len(b) {
			b = append(b, make([]byte, len(b))...)
			b = b[:cap(b)]
		}
		m, err := rawio.Pread(f.fd, b[n:], int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			*buf = b[:0]
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
		if n > 4<<20 {
			*buf = b[:0]
			return nil, errors.New("larger than 4 MiB")
		}
	}
	*buf = b[:0]
	return b[:n], nil
}

// stackReader holds the open files and per-interface caches of
// Reader.ReadStack.
type stackReader struct {
	own                           bool // the caller's namespace: absent files are tried again
	paths                         stackPaths
	softnet, snmp, netstat, snmp6 stackFile
	ctCount, ctMax, ctStat        stackFile
	buf, buf2, buf3               []byte
	nic                           map[string]*nicCache
}

// openStack opens the files of paths in the calling thread's namespace.
func openStack(paths stackPaths, own bool) *stackReader {
	s := &stackReader{own: own, paths: paths, nic: map[string]*nicCache{}}
	s.softnet = openStackFile(paths.softnet)
	s.snmp = openStackFile(paths.snmp)
	s.netstat = openStackFile(paths.netstat)
	s.snmp6 = openStackFile(paths.snmp6)
	s.ctCount = openStackFile(paths.ctCount)
	s.ctMax = openStackFile(paths.ctMax)
	s.ctStat = openStackFile(paths.ctStat)
	return s
}

func (s *stackReader) files() []*stackFile {
	return []*stackFile{&s.softnet, &s.snmp, &s.netstat, &s.snmp6, &s.ctCount, &s.ctMax, &s.ctStat}
}

func (s *stackReader) close() {
	for _, f := range s.files() {
		f.close()
	}
}

// retry opens again, in the caller's namespace only, the files that were
// absent (a module loaded since, IPv6 enabled since).
func (s *stackReader) retry() {
	if !s.own {
		return
	}
	for _, f := range s.files() {
		if f.fd < 0 && errors.Is(f.err, unix.ENOENT) {
			*f = openStackFile(f.path)
		}
	}
}

// why describes a failed open or read without quoting any file content.
func why(path string, err error) string {
	if errors.Is(err, unix.ENOENT) {
		return "no " + path
	}
	return path + ": " + err.Error()
}

// readNamespace reads the namespace-wide parts into out.
func (s *stackReader) readNamespace(out *triage.StackSample) {
	s.retry()
	if b, err := s.softnet.read(&s.buf); err != nil {
		out.Errors = append(out.Errors, "softnet: "+why(s.softnet.path, err))
	} else if rows, err := parseSoftnet(b, nil); err != nil {
		out.Errors = append(out.Errors, err.Error())
	} else {
		out.Softnet = rows
	}
	s.readProto(out)
	s.readConntrack(out)
}

func (s *stackReader) readProto(out *triage.StackSample) {
	snmp, err := s.snmp.read(&s.buf)
	if err != nil {
		out.Errors = append(out.Errors, "snmp: "+why(s.snmp.path, err))
		return
	}
	var netstat, snmp6 []byte
	if netstat, err = s.netstat.read(&s.buf2); err != nil {
		out.Errors = append(out.Errors, "netstat: "+why(s.netstat.path, err))
		return
	}
	if snmp6, err = s.snmp6.read(&s.buf3); err != nil {
		if !errors.Is(err, unix.ENOENT) {
			out.Errors = append(out.Errors, "snmp6: "+why(s.snmp6.path, err))
			return
		}
		snmp6 = nil
		out.Absent = append(out.Absent, "IPv6 counters: no "+s.snmp6.path+" (IPv6 disabled)")
	}
	p := &triage.ProtoCounters{}
	if err := parseProto(snmp, netstat, snmp6, p); err != nil {
		out.Errors = append(out.Errors, err.Error())
		return
	}
	out.Proto = p
}

func (s *stackReader) readConntrack(out *triage.StackSample) {
	b, err := s.ctCount.read(&s.buf)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			out.Absent = append(out.Absent, "conntrack: not loaded (no "+s.ctCount.path+")")
		} else {
			out.Errors = append(out.Errors, "conntrack: "+why(s.ctCount.path, err))
		}
		return
	}
	c := &triage.ConntrackSample{}
	if c.Count, err = parseSysctlUint("nf_conntrack_count", b); err != nil {
		out.Errors = append(out.Errors, "conntrack: "+err.Error())
		return
	}
	if b, err = s.ctMax.read(&s.buf); err == nil {
		if c.Max, err = parseSysctlUint("nf_conntrack_max", b); err != nil {
			out.Errors = append(out.Errors, "conntrack: "+err.Error())
		}
	} else {
		out.Absent = append(out.Absent, "conntrack: the table's size is unknown ("+why(s.ctMax.path, err)+")")
	}
	if b, err = s.ctStat.read(&s.buf); err != nil {
		c.NoStats = why(s.ctStat.path, err)
		out.Absent = append(out.Absent, "conntrack: no per-CPU statistics ("+c.NoStats+")")
	} else if err := parseConntrackStat(b, c); err != nil {
		c.NoStats = err.Error()
		out.Errors = append(out.Errors, "conntrack: "+err.Error())
	}
	out.Conntrack = c
}

// ----- NIC statistics (ethtool -S) ------------------------------------

// ethtool string set and commands (linux/ethtool.h).
const (
	ethSSStats      = 1
	ethtoolGStrings = 0x1b
	ethtoolGStats   = 0x1d
	ethtoolGSsetInf = 0x37
)

// nicCache is what one interface's statistics need between samples: the
// driver's names (read again when the ifindex or the count changes).
type nicCache struct {
	index   int
	driver  string
	names   []string
	classes []triage.NICClass
}

// headroom is the room left beyond the count the driver just gave: the
// kernel writes as many values as the driver has at the time of each
// ioctl, whatever length the caller said, so a set that grew between two
// ioctls (channels added) must still fit.
func headroom(n int) int { return n/2 + 64 }

func ethtoolIoctl(fd int, name string, data unsafe.Pointer) error {
	if len(name) >= unix.IFNAMSIZ || name == "" {
		return unix.ENODEV
	}
	var ifr ifreqData
	copy(ifr.Name[:], name)
	ifr.Data = data
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), siocEthtool, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(&ifr)
	if errno != 0 {
		return errno
	}
	return nil
}

// ssetInfo is struct ethtool_sset_info with room for one count.
type ssetInfo struct {
	Cmd, Reserved uint32
	Mask          uint64
	Data          [1]uint32
	_             uint32
}

// nicCount returns how many statistics the driver of name has now.
func nicCount(fd int, name string) (int, error) {
	si := ssetInfo{Cmd: ethtoolGSsetInf, Mask: 1 << ethSSStats}
	err := ethtoolIoctl(fd, name, unsafe.Pointer(&si))
	runtime.KeepAlive(&si)
	if err != nil {
		return 0, err
	}
	if si.Mask&(1<<ethSSStats) == 0 {
		return 0, nil
	}
	return int(si.Data[0]), nil
}

// nicStrings reads the n names of the driver's statistics.
func nicStrings(fd int, name string, n int) ([]string, []triage.NICClass, error) {
	room := n + headroom(n)
	buf := make([]byte, 12+room*ethGStringLen)
	*(*uint32)(unsafe.Pointer(&buf[0])) = ethtoolGStrings
	*(*uint32)(unsafe.Pointer(&buf[4])) = ethSSStats
	*(*uint32)(unsafe.Pointer(&buf[8])) = uint32(n)
	err := ethtoolIoctl(fd, name, unsafe.Pointer(&buf[0]))
	runtime.KeepAlive(buf)
	if err != nil {
		return nil, nil, err
	}
	got := int(*(*uint32)(unsafe.Pointer(&buf[8])))
	if got != n {
		return nil, nil, errStatsChanged
	}
	return parseNICStrings(buf[12:], n)
}

var errStatsChanged = errors.New("the driver's statistics changed while read")

// nicValues reads the n values of the driver's statistics into a new
// slice (the sample owns it).
func nicValues(fd int, name string, n int) ([]uint64, error) {
	buf := make([]uint64, 1+n+headroom(n))
	*(*uint32)(unsafe.Pointer(&buf[0])) = ethtoolGStats
	*(*uint32)(unsafe.Add(unsafe.Pointer(&buf[0]), 4)) = uint32(n)
	err := ethtoolIoctl(fd, name, unsafe.Pointer(&buf[0]))
	runtime.KeepAlive(buf)
	if err != nil {
		return nil, err
	}
	if got := int(*(*uint32)(unsafe.Add(unsafe.Pointer(&buf[0]), 4))); got != n {
		return nil, errStatsChanged
	}
	return buf[1 : 1+n : 1+n], nil
}

// readNIC reads interface name's driver statistics; index is its current
// ifindex (0 when unknown), which decides whether the cached names still
// apply.
func (s *stackReader) readNIC(fd int, name string, index int, out *triage.StackIface) {
	if fd < 0 {
		out.NICNote = "no ethtool socket"
		return
	}
	n, err := nicCount(fd, name)
	switch {
	case errors.Is(err, unix.EOPNOTSUPP) || err == nil && n == 0:
		out.NICNote = "the driver exposes no statistics"
		delete(s.nic, name)
		return
	case errors.Is(err, unix.ENODEV):
		out.NICNote = "no such interface"
		delete(s.nic, name)
		return
	case err != nil:
		out.NICNote = "ethtool statistics: " + err.Error()
		return
	}
	c := s.nic[name]
	if c == nil || c.index != index || len(c.names) != n {
		names, classes, err := nicStrings(fd, name, n)
		if err != nil {
			out.NICNote = "ethtool statistics: " + err.Error()
			delete(s.nic, name)
			return
		}
		c = &nicCache{index: index, names: names, classes: classes}
		if info, err := unix.IoctlGetEthtoolDrvinfo(fd, name); err == nil {
			c.driver = unix.ByteSliceToString(info.Driver[:])
		}
		s.nic[name] = c
	}
	vals, err := nicValues(fd, name, n)
	if err != nil {
		out.NICNote = "ethtool statistics: " + err.Error()
		delete(s.nic, name)
		return
	}
	out.NIC = &triage.NICStats{Driver: c.driver, Names: c.names, Classes: c.classes, Values: vals}
}

// ----- byte queue limits -------------------------------------------------

// readBQL reads the byte queue limits of every transmit queue of name
// under root (a sysfs mount of the caller's namespace).
func readBQL(root, name string, buf *[]byte, out *triage.StackIface) {
	if name == "" || strings.ContainsAny(name, "/") || name == "." || name == ".." {
		out.BQLNote = "not a sysfs name"
		return
	}
	dir := filepath.Join(root, "class", "net", name, "queues")
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			out.BQLNote = "no such interface in sysfs"
		} else {
			out.BQLNote = "sysfs: " + dir + ": cannot list"
		}
		return
	}
	var qs []triage.BQLQueue
	sawTx := false
	for _, e := range ents {
		q, ok := strings.CutPrefix(e.Name(), "tx-")
		if !ok {
			continue
		}
		sawTx = true
		qn, err := strconv.Atoi(q)
		if err != nil || qn < 0 {
			continue
		}
		base := filepath.Join(dir, e.Name(), "byte_queue_limits")
		inflight, err1 := readSysfsUint(base+"/inflight", buf)
		limit, err2 := readSysfsUint(base+"/limit", buf)
		if err1 != nil || err2 != nil {
			continue // no byte_queue_limits: the driver does not use BQL
		}
		qs = append(qs, triage.BQLQueue{Queue: qn, Inflight: inflight, Limit: limit})
	}
	switch {
	case !sawTx:
		out.BQLNote = "no transmit queues in sysfs"
	case len(qs) == 0:
		out.BQLNote = "the driver does not use BQL"
	default:
		sortBQL(qs)
		out.BQL = qs
	}
}

func sortBQL(qs []triage.BQLQueue) {
	for i := 1; i < len(qs); i++ {
		for j := i; j > 0 && qs[j].Queue < qs[j-1].Queue; j-- {
			qs[j], qs[j-1] = qs[j-1], qs[j]
		}
	}
}

func readSysfsUint(path string, buf *[]byte) (uint64, error) {
	f := openStackFile(path)
	defer f.close()
	b, err := f.read(buf)
	if err != nil {
		return 0, err
	}
	v, err := parseSysctlUint(filepath.Base(path), b)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// ReadStack reads the namespace's stack counters and, for each interface
// of ifaces, its driver statistics and (in the caller's own namespace,
// the only one sysfs describes) its byte queue limits. Time is left for
// the sampler. Parts that cannot be read are recorded in the sample
// (Absent, Errors); the error is for a Reader that is closed.
func (r *Reader) ReadStack(ifaces []string) (triage.StackSample, error) {
	var out triage.StackSample
	if r.nsGone == "" && r.ns.path != "" {
		if r.nsGone = r.ns.gone(); r.nsGone != "" {
			r.Close()
		}
	}
	if r.nsGone != "" {
		out.Absent = []string{r.nsGone}
		return out, nil
	}
	if r.stack == nil {
		return out, errors.New("links: read after Close")
	}
	if r.still != nil {
		if again, ok := r.still.stackAgain(r.stack, ifaces); ok {
			return again, nil
		}
		defer func() { r.still.fullStack(out, ifaces) }()
	}
	r.stack.readNamespace(&out)
	if len(ifaces) > 0 {
		out.Ifaces = make([]triage.StackIface, len(ifaces))
	}
	for i, name := range ifaces {
		si := &out.Ifaces[i]
		si.Name = name
		r.stack.readNIC(r.ethFd, name, r.index[name], si)
		if r.sysfsRoot == "" {
			si.BQLNote = "sysfs describes only the namespace it was mounted in"
			continue
		}
		readBQL(r.sysfsRoot, name, &r.stack.buf, si)
	}
	return out, nil
}
