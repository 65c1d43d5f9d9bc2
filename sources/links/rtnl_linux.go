package links

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rtnlConn is a raw NETLINK_ROUTE socket for the few requests the
// vishvananda/netlink library does not make, or makes at a cost the burst
// sampler cannot pay twenty times a second: batches of RTM_GETSTATS with
// only IFLA_STATS_LINK_64 and RTM_GETQDISC of root qdiscs (rtnlBatch),
// and dumps of qdiscs and classes with their TCA_STATS_APP. The socket
// answers for the namespace it was created in. Its buffers are reused: it
// is not safe for concurrent use.
type rtnlConn struct {
	fd  int
	seq uint32
	req []byte
	buf []byte
}

// openRtnl opens a NETLINK_ROUTE socket in the current namespace (call it
// inside inNetns for another one).
func openRtnl() (*rtnlConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	// Connected to the kernel, plain write and read carry no address to
	// allocate.
	if err := unix.Connect(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink connect: %w", err)
	}
	// A receive timeout keeps a lost answer from blocking the sampler.
	tv := unix.Timeval{Sec: 1}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return &rtnlConn{fd: fd, req: make([]byte, 0, 64), buf: make([]byte, 32768)}, nil
}

func (c *rtnlConn) close() {
	if c != nil && c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}

// send writes one request of type typ with flags and body; it returns the
// sequence number of its answers.
func (c *rtnlConn) send(typ, flags uint16, body []byte) (uint32, error) {
	if c.fd < 0 {
		return 0, errors.New("netlink socket closed")
	}
	c.seq++
	n := nlmsgHdrLen + len(body)
	r := c.req[:0]
	r = le.AppendUint32(r, uint32(n))
	r = le.AppendUint16(r, typ)
	r = le.AppendUint16(r, flags|unix.NLM_F_REQUEST)
	r = le.AppendUint32(r, c.seq)
	r = le.AppendUint32(r, 0)
	r = append(r, body...)
	c.req = r
	if err := rawSend(c.fd, r); err != unix.EAGAIN {
		return c.seq, err
	}
	for {
		_, err := unix.Write(c.fd, r)
		if err == unix.EINTR {
			continue
		}
		return c.seq, err
	}
}

// recv reads answers to seq and hands each message to fn, up to the
// acknowledgement of a plain request (sent with NLM_F_ACK) or the
// NLMSG_DONE of a dump.
func (c *rtnlConn) recv(seq uint32, fn func(typ uint16, payload []byte) error) error {
	for {
		n, err := rawRecv(c.fd, c.buf)
		if err == unix.EAGAIN {
			n, err = unix.Read(c.fd, c.buf)
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		done, err := walkMessages(c.buf[:n], seq, fn)
		if err != nil {
			var ne *nlError
			if errors.As(err, &ne) {
				return unix.Errno(-ne.Code)
			}
			return err
		}
		if done {
			return nil
		}
	}
}

// dumpTC dumps the qdiscs (class false: of every interface) or the
// classes of one interface; fn sees each object, whose app slice is valid
// only during the call.
func (c *rtnlConn) dumpTC(class bool, ifindex int, fn func(tcObject)) error {
	typ, want := uint16(unix.RTM_GETQDISC), uint16(rtmNewQdisc)
	if class {
		typ, want = unix.RTM_GETTCLASS, rtmNewTClass
	}
	body := tcmsgBody(ifindex, 0)
	var lastErr error
	for range 3 { // a dump interrupted by a concurrent change is retried
		seq, err := c.send(typ, unix.NLM_F_DUMP, body[:])
		if err != nil {
			return err
		}
		var objs []tcObject
		err = c.recv(seq, func(t uint16, p []byte) error {
			if t != want {
				return nil
			}
			o, e := parseTC(t, p)
			if e != nil {
				return e
			}
			o.app = append([]byte(nil), o.app...) // the buffer is read again for the next datagram
			objs = append(objs, o)
			return nil
		})
		if err == nil {
			for _, o := range objs {
				fn(o)
			}
			return nil
		}
		lastErr = err
		if !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.EBUSY) {
			return err
		}
	}
	return lastErr
}

func tcmsgBody(ifindex int, parent uint32) [tcmsgLen]byte {
	var b [tcmsgLen]byte
	le.PutUint32(b[4:8], uint32(ifindex))
	le.PutUint32(b[12:16], parent)
	return b
}

// rtnlBatch is a set of requests of one object each (RTM_GETQDISC of a
// root qdisc, RTM_GETSTATS of one interface's IFLA_STATS_LINK_64) written
// to the kernel in one write and answered into preallocated slots read by
// one recvmmsg: the burst sampler's read of all its interfaces. No ACK is
// asked, so each request gets exactly one answer, the object or an
// NLMSG_ERROR; rtnetlink handles the requests of one write in order,
// before the write returns, so the answers are all queued by then.
// Not safe for concurrent use; allocation-free after newRtnlBatch.
type rtnlBatch struct {
	reqs []batchReq
	// seq0 is the sequence number of reqs[0] at the last send; answers
	// with other numbers (stale ones) are skipped.
	seq0 uint32
	req  []byte
	// The answer slots: qdisc answers (up to a page or two, NLMSG_GOODSIZE)
	// get large slots, byte counters small ones. The qdisc requests come
	// first, so their answers land in the large slots.
	buf  []byte
	iovs []unix.Iovec
	msgs []unix.Mmsghdr
	// Ans are the answers of the last exchange, one per request.
	Ans []batchAns
}

type batchReq struct {
	typ     uint16
	ifindex int
}

// batchAns is one request's answer: the message's type and payload
// (aliasing the batch's slots until the next send), or why there is none.
type batchAns struct {
	typ     uint16
	payload []byte
	err     error
}

const (
	batchQdiscSlot = 8192
	batchStatsSlot = 1024
)

var (
	errNoAnswer  = errors.New("no answer from the kernel")
	errTruncated = errors.New("answer truncated")
)

// newRtnlBatch returns a batch for at most qdiscs root-qdisc requests and
// stats byte-counter requests, qdisc requests first.
func newRtnlBatch(qdiscs, stats int) *rtnlBatch {
	n := qdiscs + stats
	b := &rtnlBatch{
		reqs: make([]batchReq, 0, n),
		req:  make([]byte, 0, n*(nlmsgHdrLen+tcmsgLen)),
		buf:  make([]byte, qdiscs*batchQdiscSlot+stats*batchStatsSlot),
		iovs: make([]unix.Iovec, n),
		msgs: make([]unix.Mmsghdr, n),
		Ans:  make([]batchAns, n),
	}
	off := 0
	for i := range n {
		size := batchStatsSlot
		if i < qdiscs {
			size = batchQdiscSlot
		}
		b.iovs[i].Base = &b.buf[off]
		b.iovs[i].SetLen(size)
		b.msgs[i].Hdr.Iov = &b.iovs[i]
		b.msgs[i].Hdr.SetIovlen(1)
		off += size
	}
	return b
}

// reset empties the batch's requests.
func (b *rtnlBatch) reset() { b.reqs = b.reqs[:0] }

// addRootQdisc asks for ifindex's root qdisc.
func (b *rtnlBatch) addRootQdisc(ifindex int) {
	b.reqs = append(b.reqs, batchReq{unix.RTM_GETQDISC, ifindex})
}

// addStats asks for ifindex's 64-bit byte counters.
func (b *rtnlBatch) addStats(ifindex int) {
	b.reqs = append(b.reqs, batchReq{unix.RTM_GETSTATS, ifindex})
}

// sendBatch writes b's requests in one write.
func (c *rtnlConn) sendBatch(b *rtnlBatch) error {
	if c.fd < 0 {
		return errors.New("netlink socket closed")
	}
	b.seq0 = c.seq + 1
	r := b.req[:0]
	for _, q := range b.reqs {
		c.seq++
		var body []byte
		var flags uint16 = unix.NLM_F_REQUEST
		switch q.typ {
		case unix.RTM_GETQDISC:
			m := tcmsgBody(q.ifindex, tcHRoot)
			body = m[:]
			// NLM_F_ECHO: kernels before 6.1 answer a get through the
			// notifier, to the asking socket only when asked to echo.
			flags |= unix.NLM_F_ECHO
		default:
			var m [ifStatsMsgLen]byte
			le.PutUint32(m[4:8], uint32(q.ifindex))
			le.PutUint32(m[8:12], 1<<(iflaStatsLink64-1))
			body = m[:]
		}
		r = le.AppendUint32(r, uint32(nlmsgHdrLen+len(body)))
		r = le.AppendUint16(r, q.typ)
		r = le.AppendUint16(r, flags)
		r = le.AppendUint32(r, c.seq)
		r = le.AppendUint32(r, 0)
		r = append(r, body...)
	}
	b.req = r
	for {
		_, err := unix.Write(c.fd, r)
		if err == unix.EINTR {
			continue
		}
		return err
	}
}

// recvBatch reads the answers of the last sendBatch into b.Ans without
// waiting: a request whose answer is not queued gets errNoAnswer.
func (c *rtnlConn) recvBatch(b *rtnlBatch) error {
	n := len(b.reqs)
	for i := range n {
		b.Ans[i] = batchAns{err: errNoAnswer}
	}
	got := 0
	for round := 0; got < n && round < 4; round++ {
		for i := range n {
			b.msgs[i].Len = 0
			b.msgs[i].Hdr.Flags = 0
		}
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&b.msgs[0])), uintptr(n),
			unix.MSG_DONTWAIT, 0, 0)
		switch {
		case e == unix.EINTR:
			continue
		case e == unix.EAGAIN:
			return nil
		case e != 0:
			return e
		}
		for k := range int(r) {
			m := &b.msgs[k]
			d := unsafe.Slice(m.Hdr.Iov.Base, m.Hdr.Iov.Len)[:min(int(m.Len), int(m.Hdr.Iov.Len))]
			got += b.take(d, m.Hdr.Flags&unix.MSG_TRUNC != 0)
		}
		if int(r) < n {
			return nil
		}
	}
	return nil
}

// take files the messages of one answer datagram under their requests and
// returns how many requests it answered.
func (b *rtnlBatch) take(d []byte, truncated bool) int {
	mine := func(seq uint32) (int, bool) {
		k := int(seq - b.seq0)
		return k, seq >= b.seq0 && k < len(b.reqs) && b.Ans[k].err == errNoAnswer
	}
	if truncated {
		// The header names the request; the rest cannot be trusted.
		if len(d) >= nlmsgHdrLen {
			if k, ok := mine(le.Uint32(d[8:12])); ok {
				b.Ans[k] = batchAns{err: errTruncated}
				return 1
			}
		}
		return 0
	}
	answered := 0
	_ = eachMessage(d, func(seq uint32, typ uint16, payload []byte) error {
		k, ok := mine(seq)
		if !ok {
			return nil // stale, or not ours
		}
		answered++
		switch {
		case typ == nlmsgError:
			if len(payload) < 4 {
				b.Ans[k] = batchAns{err: fmt.Errorf("netlink error message: %w", errShort)}
			} else if code := int32(le.Uint32(payload[0:4])); code != 0 {
				b.Ans[k] = batchAns{err: unix.Errno(-code)}
			} else {
				b.Ans[k] = batchAns{err: errNoAnswer}
				answered--
			}
		default:
			b.Ans[k] = batchAns{typ: typ, payload: payload}
		}
		return nil
	})
	return answered
}
