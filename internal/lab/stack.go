package lab

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The stack scenarios' tools: a UDP flood from one CPU, receive packet
// steering on a lab interface, and the ground truth of the softirq
// backlog and of a namespace's conntrack table, read straight from /proc
// without netriage's own parsers.

// Flood describes one FloodUDP run. It stops at Count datagrams, after
// Duration, or when its context ends, whichever comes first.
type Flood struct {
	// Count is the most datagrams to send (required).
	Count int
	// Size is each datagram's payload (default 18 bytes: 64-byte frames).
	Size int
	// CPU is the CPU the sending thread is pinned to.
	CPU int
	// Duration bounds the run (default 5 s, at most 30 s).
	Duration time.Duration
	// SndBuf is the socket's send buffer (SO_SNDBUFFORCE; default 32 MiB).
	SndBuf int
	// Burst, when set, sends that many datagrams back to back and then
	// sleeps for Pause, so the CPUs have time left for the processes
	// that watch (a flood without pauses keeps its CPU busy throughout).
	Burst int
	Pause time.Duration
}

// FloodResult is what a flood sent, and when.
type FloodResult struct {
	Sent       int
	Start, End time.Time
}

// FloodUDP sends f.Count datagrams from this namespace to dst as fast as
// one thread pinned to f.CPU can, on a socket with a large send buffer.
// The buffer matters: a veth keeps each datagram charged to the sending
// socket until the receiving CPU has processed it, so with the default
// buffer (about 280 small datagrams) the sender blocks long before a
// softirq backlog of net.core.netdev_max_backlog (1000) packets fills.
// Send errors (an ICMP port unreachable reported back, ENOBUFS) are
// counted as sent, as SendUDP does. The pinned thread is discarded when the
// flood ends, so no other goroutine inherits its affinity or namespace.
func (ns *NS) FloodUDP(ctx context.Context, dst netip.AddrPort, f Flood) (FloodResult, error) {
	if f.Count <= 0 {
		return FloodResult{}, fmt.Errorf("lab: flood: Count must be positive")
	}
	if f.Size <= 0 {
		f.Size = 18
	}
	if f.Duration <= 0 {
		f.Duration = 5 * time.Second
	}
	f.Duration = min(f.Duration, 30*time.Second)
	if f.SndBuf <= 0 {
		f.SndBuf = 32 << 20
	}
	if !dst.Addr().Is4() {
		return FloodResult{}, fmt.Errorf("lab: flood: %s is not IPv4", dst)
	}
	type result struct {
		r   FloodResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		// Never unlocked: the thread leaves with its namespace and
		// affinity when this goroutine returns.
		runtime.LockOSThread()
		r, err := ns.flood(ctx, dst, f)
		done <- result{r, err}
	}()
	res := <-done
	return res.r, res.err
}

func (ns *NS) flood(ctx context.Context, dst netip.AddrPort, f Flood) (FloodResult, error) {
	target, err := netns.GetFromPath(ns.Path)
	if err != nil {
		return FloodResult{}, fmt.Errorf("lab: flood: open netns %s: %w", ns.Name, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return FloodResult{}, fmt.Errorf("lab: flood: enter netns %s: %w", ns.Name, err)
	}
	var set unix.CPUSet
	set.Set(f.CPU)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return FloodResult{}, fmt.Errorf("lab: flood: pin to CPU %d: %w", f.CPU, err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return FloodResult{}, fmt.Errorf("lab: flood: socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, f.SndBuf); err != nil {
		return FloodResult{}, fmt.Errorf("lab: flood: SO_SNDBUFFORCE %d: %w", f.SndBuf, err)
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: dst.Addr().As4(), Port: int(dst.Port())}); err != nil {
		return FloodResult{}, fmt.Errorf("lab: flood: connect %s: %w", dst, err)
	}
	buf := make([]byte, f.Size)
	r := FloodResult{Start: time.Now()}
	end := r.Start.Add(f.Duration)
	for r.Sent < f.Count {
		if r.Sent%1024 == 0 && (ctx.Err() != nil || time.Now().After(end)) {
			break
		}
		_, _ = unix.Write(fd, buf)
		r.Sent++
		if f.Burst > 0 && r.Sent%f.Burst == 0 && f.Pause > 0 {
			time.Sleep(f.Pause)
			if ctx.Err() != nil || time.Now().After(end) {
				break
			}
		}
	}
	r.End = time.Now()
	return r, nil
}

// SetRPS steers the packets this interface receives to the given CPUs'
// backlogs (receive packet steering: /sys/class/net/NAME/queues/rx-0/
// rps_cpus, written inside the namespace). Deleting the interface, as lab
// cleanup does, removes the setting. It skips the test on a kernel without
// RPS.
func (k *Link) SetRPS(cpus ...int) {
	k.lab.t.Helper()
	var mask uint64
	for _, c := range cpus {
		if c < 0 || c > 63 {
			k.lab.t.Fatalf("lab: rps: CPU %d out of range", c)
		}
		mask |= 1 << c
	}
	path := "/sys/class/net/" + k.Name + "/queues/rx-0/rps_cpus"
	// `ip netns exec` mounts the namespace's own sysfs; tee writes stdin
	// to the file without a shell.
	c := exec.Command("ip", "netns", "exec", k.NS.Name, "tee", path)
	c.Stdin = strings.NewReader(strconv.FormatUint(mask, 16) + "\n")
	if out, err := c.CombinedOutput(); err != nil {
		if bytes.Contains(out, []byte("No such file")) {
			k.lab.t.Skipf("lab: rps: no %s in %s: a kernel without receive packet steering (CONFIG_RPS)", path, k.NS.Name)
		}
		k.lab.t.Fatalf("lab: rps: write %s in %s: %v: %s", path, k.NS.Name, err, bytes.TrimSpace(out))
	}
}

// SoftnetCPU is one CPU's row of /proc/net/softnet_stat.
type SoftnetCPU struct {
	CPU                             int
	Processed, Dropped, TimeSqueeze uint32
}

// ReadSoftnet reads /proc/net/softnet_stat (the host's, the same in every
// namespace): one row per online CPU, named by its CPU column when the
// kernel prints one (the 13th), else by its row.
func ReadSoftnet() ([]SoftnetCPU, error) {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	return parseSoftnet(string(b))
}

func parseSoftnet(text string) ([]SoftnetCPU, error) {
	var rows []SoftnetCPU
	var err error
	for i, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("lab: softnet_stat row %d has %d columns", i, len(f))
		}
		var v [3]uint64
		for j := range v {
			if v[j], err = strconv.ParseUint(f[j], 16, 32); err != nil {
				return nil, fmt.Errorf("lab: softnet_stat row %d: %w", i, err)
			}
		}
		cpu := i
		if len(f) >= 13 {
			if c, err := strconv.ParseUint(f[12], 16, 32); err == nil {
				cpu = int(c)
			}
		}
		rows = append(rows, SoftnetCPU{CPU: cpu, Processed: uint32(v[0]), Dropped: uint32(v[1]), TimeSqueeze: uint32(v[2])})
	}
	return rows, nil
}

// Conntrack is a namespace's conntrack table: its count, the (global)
// maximum, and /proc/net/stat/nf_conntrack's failure counters summed over
// CPUs.
type Conntrack struct {
	Count, Max                    uint64
	InsertFailed, Drop, EarlyDrop uint64
}

// ReadConntrack reads the namespace's conntrack table (conntrack must be
// loaded, as a ct rule in the namespace does).
func (ns *NS) ReadConntrack() (Conntrack, error) {
	var c Conntrack
	err := ns.Do(func() error {
		// /proc/sys/net resolves the calling thread's namespace;
		// /proc/net is /proc/self/net, the main thread's, so the
		// statistics are read through thread-self.
		for _, v := range []struct {
			path string
			dst  *uint64
		}{{"/proc/sys/net/netfilter/nf_conntrack_count", &c.Count}, {"/proc/sys/net/netfilter/nf_conntrack_max", &c.Max}} {
			b, err := os.ReadFile(v.path)
			if err != nil {
				return err
			}
			if *v.dst, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil {
				return fmt.Errorf("%s: %w", v.path, err)
			}
		}
		f, err := os.Open("/proc/thread-self/net/stat/nf_conntrack")
		if err != nil {
			return err
		}
		defer f.Close()
		return parseConntrackStat(f, &c)
	})
	if err != nil {
		return Conntrack{}, fmt.Errorf("lab: conntrack of %s: %w", ns.Name, err)
	}
	return c, nil
}

// parseConntrackStat sums the failure columns of /proc/net/stat/nf_conntrack
// (a header, then one row of hexadecimal counters per CPU) into c.
func parseConntrackStat(r io.Reader, c *Conntrack) error {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		return fmt.Errorf("nf_conntrack statistics: no header")
	}
	cols := map[string]int{}
	for i, h := range strings.Fields(sc.Text()) {
		cols[h] = i
	}
	want := map[string]*uint64{"insert_failed": &c.InsertFailed, "drop": &c.Drop, "early_drop": &c.EarlyDrop}
	for name := range want {
		if _, ok := cols[name]; !ok {
			return fmt.Errorf("nf_conntrack statistics: no %s column", name)
		}
	}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for name, dst := range want {
			i := cols[name]
			if i >= len(f) {
				return fmt.Errorf("nf_conntrack statistics: short row %q", sc.Text())
			}
			v, err := strconv.ParseUint(f[i], 16, 64)
			if err != nil {
				return fmt.Errorf("nf_conntrack statistics: %s: %w", name, err)
			}
			*dst += v
		}
	}
	return sc.Err()
}

// SlabObjects returns the active objects and the object size of a slab
// cache (/proc/slabinfo, root only), to measure what a scenario costs the
// kernel.
func SlabObjects(cache string) (active, size uint64, err error) {
	b, err := os.ReadFile("/proc/slabinfo")
	if err != nil {
		return 0, 0, fmt.Errorf("lab: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[0] != cache {
			continue
		}
		active, _ = strconv.ParseUint(f[1], 10, 64)
		size, _ = strconv.ParseUint(f[3], 10, 64)
		return active, size, nil
	}
	return 0, 0, fmt.Errorf("lab: no slab cache %s", cache)
}

// MAC returns the interface's hardware address (for tools that write whole
// frames, such as trafgen).
func (k *Link) MAC() string {
	k.lab.t.Helper()
	h, err := k.NS.Handle()
	if err != nil {
		k.lab.t.Fatal(err)
	}
	nl, err := h.LinkByName(k.Name)
	if err != nil {
		k.lab.t.Fatalf("lab: link %s: %v", k.Name, err)
	}
	return nl.Attrs().HardwareAddr.String()
}
