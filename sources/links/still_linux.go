package links

import (
	"bytes"
	"errors"
	"slices"

	"golang.org/x/sys/unix"

	"netriage/triage"
)

// A namespace where no packet moved since the last read does not need the
// full read again: the link, qdisc, class and address dumps, the link
// speeds, the byte queue limits, the driver's statistics and the text of
// the snmp, netstat and conntrack statistics files all stay as they were.
// stillState decides that cheaply, at every Read:
//
//   - a netlink socket subscribed to the namespace's link, address and
//     traffic-control notifications, drained without blocking: any
//     notification (a link going down, an address added, a qdisc or class
//     changed) or a lost one (ENOBUFS) means a full read;
//   - the raw answers of two dumps on the raw rtnetlink socket, every
//     interface's 64-bit counters (RTM_GETSTATS with IFLA_STATS_LINK_64
//     only) and every qdisc with its statistics (RTM_GETQDISC), compared
//     byte for byte with the previous read's: a packet sent, received or
//     dropped anywhere in the namespace (a qdisc drop included, which no
//     interface counter shows), an interface added or removed, or a qdisc
//     changed makes them differ.
//
// When neither says anything moved, Read returns the last full sample
// again and the following ReadStack re-reads only what moves without the
// namespace's packets: the softirq backlog rows (per CPU, for the whole
// host) and conntrack's count (entries expire). A full read is made at
// least every stillFullEvery reads whatever the probe says, and whenever
// the last full read had warnings or errors, so nothing stale is shown for
// longer than that.
type stillState struct {
	ev   int    // the notification socket, -1 when it could not be opened
	sig  []byte // the probe's answers at the last full read
	cur  []byte // this read's probe answers
	evb  []byte // buffer the notifications are drained into
	last *triage.LinksSample
	// run counts the reads answered from last since the last full read.
	run int
	// events is set when the newest quiet found notifications (or could
	// not tell): what is cached per link must be read again.
	events bool
	// stackStill is set by a Read that found the namespace still, for the
	// ReadStack that follows it.
	stackStill bool
	lastStack  *triage.StackSample
	stackFor   []string // the interfaces lastStack was read for
}

// stillFullEvery bounds how many reads in a row are answered from the last
// full one.
const stillFullEvery = 10

// Notification groups (linux/rtnetlink.h RTMGRP_*).
const (
	rtmgrpLink       = 0x1
	rtmgrpTC         = 0x8
	rtmgrpIPv4IfAddr = 0x10
	rtmgrpIPv6IfAddr = 0x100
)

// openStill opens the notification socket in the current thread's
// namespace (call it inside inNetns for another one). Without it, every
// read is a full one.
func openStill() *stillState {
	s := &stillState{ev: -1, evb: make([]byte, 8192)}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return s
	}
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: rtmgrpLink | rtmgrpTC | rtmgrpIPv4IfAddr | rtmgrpIPv6IfAddr}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return s
	}
	s.ev = fd
	return s
}

func (s *stillState) close() {
	if s != nil && s.ev >= 0 {
		unix.Close(s.ev)
		s.ev = -1
	}
}

// notified drains the notification socket and reports whether anything
// came (or was lost) since the last call. A socket that cannot be read
// counts as notified.
func (s *stillState) notified() bool {
	if s.ev < 0 {
		return true
	}
	got := false
	for range 1024 {
		n, err := rawRecv(s.ev, s.evb)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return got
		case err != nil: // ENOBUFS: notifications were lost
			got = true
			continue
		case n > 0:
			got = true
		}
	}
	return true
}

// probe fills s.cur with the raw answers of the interface counter and
// qdisc dumps.
func (s *stillState) probe(c *rtnlConn) error {
	if c == nil {
		return errors.New("no raw netlink socket")
	}
	s.cur = s.cur[:0]
	var st [ifStatsMsgLen]byte
	le.PutUint32(st[8:12], 1<<(iflaStatsLink64-1))
	qd := tcmsgBody(0, 0)
	for _, q := range []struct {
		typ  uint16
		body []byte
	}{{unix.RTM_GETSTATS, st[:]}, {unix.RTM_GETQDISC, qd[:]}} {
		seq, err := c.send(q.typ, unix.NLM_F_DUMP, q.body)
		if err != nil {
			return err
		}
		s.cur = append(s.cur, byte(q.typ)) // the two dumps' answers stay apart
		if err := c.recv(seq, func(typ uint16, p []byte) error {
			s.cur = le.AppendUint16(s.cur, typ)
			s.cur = le.AppendUint32(s.cur, uint32(len(p)))
			s.cur = append(s.cur, p...)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// quiet reports whether Read may answer from the last full sample: nothing
// notified, the probe's answers equal the last full read's, and fewer than
// stillFullEvery reads answered so since. It leaves s.cur for
// fullRead to keep.
func (s *stillState) quiet(c *rtnlConn) bool {
	s.stackStill = false
	changed := s.notified()
	s.events = changed
	if err := s.probe(c); err != nil {
		s.cur = s.cur[:0]
		return false
	}
	if changed || s.last == nil || s.run >= stillFullEvery-1 || !bytes.Equal(s.cur, s.sig) {
		return false
	}
	s.run++
	s.stackStill = true
	return true
}

// fullRead records the sample of a full read. A sample with warnings is
// not repeated: the next read is a full one.
func (s *stillState) fullRead(out triage.LinksSample) {
	s.run = 0
	s.sig, s.cur = s.cur, s.sig[:0]
	s.last = nil
	if len(out.Warnings) == 0 && len(s.sig) > 0 {
		v := out
		s.last = &v
	}
}

// again returns the last full sample for a still read. The interface
// slice is the sample's own; what its elements hold is shared and read
// only.
func (s *stillState) again() triage.LinksSample {
	out := *s.last
	out.Ifaces = slices.Clone(out.Ifaces)
	return out
}

// stackAgain returns the last full stack sample with the parts that move
// without the namespace's packets read again, or false when a full read is
// needed (no still Read before it, other interfaces asked, or the re-read
// failed).
func (s *stillState) stackAgain(r *stackReader, ifaces []string) (triage.StackSample, bool) {
	still := s.stackStill
	s.stackStill = false
	if !still || s.lastStack == nil || !slices.Equal(ifaces, s.stackFor) {
		return triage.StackSample{}, false
	}
	out := *s.lastStack
	b, err := r.softnet.read(&r.buf)
	if err != nil {
		return out, false
	}
	rows, err := parseSoftnet(b, nil)
	if err != nil {
		return out, false
	}
	out.Softnet = rows
	if out.Conntrack != nil {
		b, err := r.ctCount.read(&r.buf)
		if err != nil {
			return out, false
		}
		n, err := parseSysctlUint("nf_conntrack_count", b)
		if err != nil {
			return out, false
		}
		ct := *out.Conntrack
		ct.Count = n
		out.Conntrack = &ct
	}
	out.Ifaces = slices.Clone(out.Ifaces)
	return out, true
}

// fullStack records the stack sample of a full read; one with errors is
// not repeated.
func (s *stillState) fullStack(out triage.StackSample, ifaces []string) {
	s.lastStack = nil
	if len(out.Errors) == 0 {
		v := out
		s.lastStack = &v
		s.stackFor = slices.Clone(ifaces)
	}
}
