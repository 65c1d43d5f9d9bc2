package links

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// rtnlConn is a raw NETLINK_ROUTE socket for the few requests the
// vishvananda/netlink library does not make, or makes at a cost the burst
// sampler cannot pay every 100 ms: RTM_GETSTATS of one interface with
// only IFLA_STATS_LINK_64, RTM_GETQDISC of one interface's root qdisc,
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
		n, err := unix.Read(c.fd, c.buf)
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

// linkBytes asks for one interface's 64-bit byte counters (RTM_GETSTATS
// with IFLA_STATS_LINK_64 only: about 200 bytes of answer).
func (c *rtnlConn) linkBytes(ifindex int) (linkBytes, error) {
	var body [ifStatsMsgLen]byte
	le.PutUint32(body[4:8], uint32(ifindex))
	le.PutUint32(body[8:12], 1<<(iflaStatsLink64-1))
	seq, err := c.send(unix.RTM_GETSTATS, unix.NLM_F_ACK, body[:])
	if err != nil {
		return linkBytes{}, err
	}
	var out linkBytes
	err = c.recv(seq, func(typ uint16, p []byte) error {
		if typ != rtmNewStats {
			return nil
		}
		var e error
		out, e = parseLinkStats64(p)
		return e
	})
	return out, err
}

// rootQdisc asks for one interface's root qdisc. An interface without one
// of its own (noqueue, the built-in qdiscs) answers with an error.
func (c *rtnlConn) rootQdisc(ifindex int) (tcObject, error) {
	body := tcmsgBody(ifindex, tcHRoot)
	seq, err := c.send(unix.RTM_GETQDISC, unix.NLM_F_ACK|unix.NLM_F_ECHO, body[:])
	if err != nil {
		return tcObject{}, err
	}
	var out tcObject
	err = c.recv(seq, func(typ uint16, p []byte) error {
		if typ != rtmNewQdisc {
			return nil
		}
		var e error
		out, e = parseTC(typ, p)
		return e
	})
	return out, err
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
