// Package links reads interface and queue counters of one network
// namespace: netlink link statistics (64-bit), root qdisc statistics, the
// configured rate of tbf/htb shapers, the ethtool link speed and the
// interface addresses. It produces triage.LinksSample values.
//
// # Structure
//
// read* functions do the syscalls (netlink dumps, the SIOCETHTOOL ioctl,
// sysfs reads) and return the library's decoded values; parse* functions are
// pure and turn them into triage.IfaceSample. Tests feed parse* with
// fixtures under testdata/.
//
// # Namespaces
//
// Open with Options.Netns set to an `ip netns` name (/run/netns/NAME) or a
// PID (/proc/PID/ns/net) reads another namespace: the netlink socket and the
// socket used for the ethtool ioctl are created inside it (on a locked OS
// thread, with setns), so every later call answers for that namespace.
// Entering another namespace needs CAP_SYS_ADMIN. sysfs describes only the
// namespace it was mounted in, so it is read only for the caller's own
// namespace.
//
// The Reader's sockets keep that namespace alive after `ip netns del`, so
// Read checks each time that Options.Netns still names the namespace it
// opened (same nsfs device and inode). When it does not, the Reader closes
// its sockets, letting the namespace and its interfaces end, and every
// later sample has triage.LinksSample.NetnsGone set and no interfaces.
//
// # Capacity inputs
//
// EthtoolSpeedBps comes from ETHTOOL_GSET (speed in Mbit/s; unknown and -1
// become 0). SysfsSpeedBps is /sys/class/net/NAME/speed under the injectable
// Options.SysfsRoot. Qdisc.ShaperRateBps is a tbf root's rate or the summed
// ceil of an htb root's top-level classes. triage.ResolveCapacity chooses
// between them.
//
// # Stack counters
//
// Reader.ReadStack reads where the namespace loses or queues packets
// outside the interface counters (triage.StackSample): the softirq backlog
// per CPU (/proc/net/softnet_stat), the snmp, netstat and snmp6 counters of
// loss, conntrack's fill and failures, and per interface asked for the
// driver's statistics (the `ethtool -S` set, through the ETHTOOL_GSTRINGS
// and ETHTOOL_GSTATS ioctls on the Reader's socket) and the byte queue
// limits of each transmit queue (sysfs, the caller's namespace only). The
// /proc and sysctl files are opened once, inside the namespace (on a
// thread moved into it, through /proc/thread-self/net), and read again
// from offset 0 at every sample; their paths are fixed by the code. The
// pure parse* functions of stack_parse.go are tested on fixtures of
// several kernels' layouts under testdata/stack and fuzzed; their errors
// name the file, row and column, never the contents.
//
// # Still namespaces
//
// Read first asks whether anything moved since the last full read
// (stillState): a netlink socket subscribed to link, address and
// traffic-control notifications, drained without blocking, and the raw
// answers of an RTM_GETSTATS dump (64-bit counters only) and an
// RTM_GETQDISC dump, compared byte for byte. When nothing did, it returns
// the last full sample again and the ReadStack after it re-reads only the
// softirq rows and conntrack's count; at least every stillFullEvery reads
// are full ones. Link speeds are cached per link (cachedSpeed) and read
// again on a change of its state, a notification, or every speedRefresh
// full reads.
//
// # Bursts and qdisc classes
//
// Reader.StartBursts starts the burst sampler: a goroutine, paced by a
// kernel timer, that reads the watched interfaces' byte counters (sysfs
// statistics files in the caller's namespace, RTM_GETSTATS in another one)
// twice per burst interval and their root qdisc (RTM_GETQDISC) once per
// interval while they send, the netlink requests of a read in one batch,
// allocation-free, into a triage.BurstAccumulator the engine takes from at
// every step. Read also
// dumps, on a raw rtnetlink socket, every qdisc's extended statistics
// (fq_codel, codel, fq) and the classes of htb and hfsc roots. The raw
// answers are decoded by rtnl_parse.go, pure and fuzzed (FuzzRtnl).
package links

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Options configure a Reader.
type Options struct {
	// Netns selects the namespace: "" for the caller's own, an `ip netns`
	// name, or a PID.
	Netns string
	// SysfsRoot is where sysfs is mounted ("/sys" when empty). It is read
	// only for the caller's own namespace.
	SysfsRoot string
	// NoEthtool skips the ethtool ioctl.
	NoEthtool bool
}

// ErrNetnsNotFound is returned (wrapped) by Open when the namespace named in
// Options.Netns does not exist.
var ErrNetnsNotFound = errors.New("network namespace not found")

// netnsError is a namespace lookup failure; it unwraps to ErrNetnsNotFound.
type netnsError struct{ target, why string }

func (e *netnsError) Error() string {
	return fmt.Sprintf("--netns %q: network namespace not found (%s)", e.target, e.why)
}

func (e *netnsError) Unwrap() error { return ErrNetnsNotFound }

// nsIdentity is the namespace a Reader opened: the file that named it and
// the nsfs device and inode the namespace had then.
type nsIdentity struct {
	target, path string
	dev, ino     uint64
}

// goneWhy turns a stat of the namespace's path (its device and inode, or
// the error) into gone's answer. It is pure.
func goneWhy(n nsIdentity, dev, ino uint64, statErr error) string {
	pid := strings.HasPrefix(n.path, "/proc/")
	switch {
	case statErr != nil && pid:
		return fmt.Sprintf("network namespace of PID %s is gone: the process exited (%s: %v)", n.target, n.path, statErr)
	case statErr != nil:
		return fmt.Sprintf("network namespace %q was deleted: no %s any more (%v)", n.target, n.path, statErr)
	case dev != n.dev || ino != n.ino:
		if pid {
			return fmt.Sprintf("network namespace of PID %s is gone: that PID now belongs to another namespace (the process exited)", n.target)
		}
		return fmt.Sprintf("network namespace %q was deleted: %s now names another namespace", n.target, n.path)
	}
	return ""
}

// nsPath returns the file that names the namespace target: a PID's
// /proc/PID/ns/net or /run/netns/NAME.
func nsPath(target string) (string, error) {
	if target == "" {
		return "", nil
	}
	if pid, err := strconv.Atoi(target); err == nil {
		if pid <= 0 {
			return "", &netnsError{target, "not a valid PID"}
		}
		p := "/proc/" + target + "/ns/net"
		if _, err := os.Stat(p); err != nil {
			return "", &netnsError{target, "no process with that PID can be inspected: " + err.Error()}
		}
		return p, nil
	}
	if strings.ContainsAny(target, "/") || target == "." || target == ".." {
		return "", &netnsError{target, "give a name from 'ip netns list' or a PID"}
	}
	p := "/run/netns/" + target
	if _, err := os.Stat(p); err != nil {
		return "", &netnsError{target, "no " + p + "; see 'ip netns list', or give a PID"}
	}
	return p, nil
}
