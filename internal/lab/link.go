package lab

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
)

// Link is one end of a veth pair.
type Link struct {
	// Name is the interface name inside NS.
	Name string
	// NS is the namespace holding this end.
	NS *NS
	// IPv4 and IPv6 are the end's addresses with their prefix lengths.
	IPv4, IPv6 netip.Prefix
	// Peer is the other end.
	Peer *Link

	lab *Lab
}

// Loopback returns the namespace's loopback interface (up in every lab
// namespace).
func (ns *NS) Loopback() *Link {
	return &Link{
		Name: "lo", NS: ns, lab: ns.lab,
		IPv4: netip.MustParsePrefix("127.0.0.1/8"), IPv6: netip.MustParsePrefix("::1/128"),
	}
}

// Counters are an interface's 64-bit netlink counters (link-layer bytes).
type Counters struct {
	Index                int
	RxBytes, TxBytes     uint64
	RxPackets, TxPackets uint64
	RxErrors, TxErrors   uint64
	RxDropped, TxDropped uint64
}

// Qdisc are the statistics of an interface's root qdisc.
type Qdisc struct {
	Kind                          string
	Bytes, Packets                uint64
	Drops, Overlimits, Requeues   uint64
	BacklogBytes, QueueLenPackets uint64
}

// ReadCounters returns the link's counters now.
func (k *Link) ReadCounters() (Counters, error) {
	h, err := k.NS.Handle()
	if err != nil {
		return Counters{}, err
	}
	nl, err := h.LinkByName(k.Name)
	if err != nil {
		return Counters{}, fmt.Errorf("lab: link %s in %s: %w", k.Name, k.NS.Name, err)
	}
	a := nl.Attrs()
	c := Counters{Index: a.Index}
	if s := a.Statistics; s != nil {
		c.RxBytes, c.TxBytes = s.RxBytes, s.TxBytes
		c.RxPackets, c.TxPackets = s.RxPackets, s.TxPackets
		c.RxErrors, c.TxErrors = s.RxErrors, s.TxErrors
		c.RxDropped, c.TxDropped = s.RxDropped, s.TxDropped
	}
	return c, nil
}

// Counters returns the link's counters now and fails the test on error.
func (k *Link) Counters() Counters {
	k.lab.t.Helper()
	c, err := k.ReadCounters()
	if err != nil {
		k.lab.t.Fatal(err)
	}
	return c
}

// ReadQdisc returns the statistics of the link's root qdisc.
func (k *Link) ReadQdisc() (Qdisc, error) {
	h, err := k.NS.Handle()
	if err != nil {
		return Qdisc{}, err
	}
	nl, err := h.LinkByName(k.Name)
	if err != nil {
		return Qdisc{}, fmt.Errorf("lab: link %s: %w", k.Name, err)
	}
	qs, err := h.QdiscList(nl)
	if err != nil {
		return Qdisc{}, fmt.Errorf("lab: qdiscs of %s: %w", k.Name, err)
	}
	for _, q := range qs {
		a := q.Attrs()
		if a.Parent != netlink.HANDLE_ROOT {
			continue
		}
		out := Qdisc{Kind: q.Type()}
		if s := a.Statistics; s != nil {
			if s.Basic != nil {
				out.Bytes, out.Packets = s.Basic.Bytes, uint64(s.Basic.Packets)
			}
			if s.Queue != nil {
				out.Drops, out.Overlimits, out.Requeues = uint64(s.Queue.Drops), uint64(s.Queue.Overlimits), uint64(s.Queue.Requeues)
				out.BacklogBytes, out.QueueLenPackets = uint64(s.Queue.Backlog), uint64(s.Queue.Qlen)
			}
		}
		return out, nil
	}
	return Qdisc{Kind: "noqueue"}, nil
}

// TBF replaces the link's root qdisc with a token bucket filter of rateBps
// bits per second, burstBytes bucket size and limitBytes queue size.
func (k *Link) TBF(rateBps, burstBytes, limitBytes uint64) {
	k.lab.t.Helper()
	k.NS.Run("tc", "qdisc", "replace", "dev", k.Name, "root", "handle", "1:", "tbf",
		"rate", strconv.FormatUint(rateBps, 10)+"bit",
		"burst", strconv.FormatUint(burstBytes, 10),
		"limit", strconv.FormatUint(limitBytes, 10))
}

// HTB replaces the link's root qdisc with an htb qdisc (handle 1:) holding
// one class 1:1 of rateBps (rate and ceil) that all traffic goes to.
func (k *Link) HTB(rateBps uint64) {
	k.lab.t.Helper()
	r := strconv.FormatUint(rateBps, 10) + "bit"
	k.NS.Run("tc", "qdisc", "replace", "dev", k.Name, "root", "handle", "1:", "htb", "default", "1")
	k.NS.Run("tc", "class", "add", "dev", k.Name, "parent", "1:", "classid", "1:1", "htb", "rate", r, "ceil", r)
}

// ClearQdisc deletes the link's root qdisc (back to the default).
func (k *Link) ClearQdisc() {
	k.lab.t.Helper()
	k.NS.Run("tc", "qdisc", "del", "dev", k.Name, "root")
}

// OffloadsOff turns off TSO, GSO, GRO and friends on both ends of the veth,
// so packets on the wire have their real sizes. Needs ethtool.
func (k *Link) OffloadsOff() {
	k.lab.t.Helper()
	if _, err := exec.LookPath("ethtool"); err != nil {
		k.lab.t.Fatalf("lab: ethtool not found (apt-get install ethtool): %v", err)
	}
	for _, e := range []*Link{k, k.Peer} {
		if e == nil {
			continue
		}
		e.NS.Run("ethtool", "-K", e.Name, "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off", "sg", "off")
	}
}

// WaitQuiet waits until the counters of this end have not changed for
// quiet (the MLD reports a new interface sends are over), so a test can
// count exactly the bytes it sends. It fails the test after timeout.
func (k *Link) WaitQuiet(quiet, timeout time.Duration) {
	k.lab.t.Helper()
	deadline := time.Now().Add(timeout)
	last := k.Counters()
	since := time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			k.lab.t.Fatalf("lab: %s still busy after %s", k.Name, timeout)
		}
		time.Sleep(50 * time.Millisecond)
		if c := k.Counters(); c != last {
			last, since = c, time.Now()
		}
	}
}

// SetDown sets the link administratively down.
func (k *Link) SetDown() {
	k.lab.t.Helper()
	k.lab.run("ip", "-n", k.NS.Name, "link", "set", k.Name, "down")
}

// SetUp sets the link administratively up and, for a veth end, waits until
// it is operationally up (its peer must be up: waitOperUp).
func (k *Link) SetUp() {
	k.lab.t.Helper()
	k.lab.run("ip", "-n", k.NS.Name, "link", "set", k.Name, "up")
	if k.Peer != nil {
		k.waitOperUp()
	}
}

// waitOperUp waits until the kernel reports k operationally up: a link set
// up gets its queueing discipline from the kernel's link watcher, later
// and asynchronously (it needs the RTNL lock), and until then every packet
// sent on it is dropped unseen, so a test must not send before.
func (k *Link) waitOperUp() {
	k.lab.t.Helper()
	h, err := k.NS.Handle()
	if err != nil {
		k.lab.t.Fatal(err)
	}
	start := time.Now()
	deadline := start.Add(15 * time.Second)
	for {
		nl, err := h.LinkByName(k.Name)
		if err != nil {
			k.lab.t.Fatalf("lab: link %s: %v", k.Name, err)
		}
		if nl.Attrs().OperState == netlink.OperUp {
			if d := time.Since(start); d > 100*time.Millisecond {
				k.lab.t.Logf("lab: link %s operationally up %v after it was set up", k.Name, d.Round(time.Millisecond))
			}
			return
		}
		if time.Now().After(deadline) {
			k.lab.t.Fatalf("lab: link %s not operationally up after 15 s (operstate %v)", k.Name, nl.Attrs().OperState)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Delete deletes the veth pair (both ends).
func (k *Link) Delete() { k.lab.t.Helper(); k.lab.run("ip", "-n", k.NS.Name, "link", "del", k.Name) }
