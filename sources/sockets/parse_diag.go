package sockets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// The kernel's netlink and sock_diag structures are in host byte order,
// except the ports and addresses of inet_diag_sockid (network order).
var native = binary.NativeEndian

// tcpInfoMin is the length of the oldest struct tcp_info (up to 3.14,
// ending at tcpi_total_retrans): every kernel sends at least this.
const tcpInfoMin = 104

// parseTCPInfo decodes the INET_DIAG_INFO attribute of a TCP socket, of
// any kernel's struct length. Fields beyond the length are left zero and
// reported unknown by TCPInfo.Has. It returns false when b is shorter than
// the oldest struct.
func parseTCPInfo(b []byte) (attrib.TCPInfo, bool) {
	if len(b) < tcpInfoMin {
		return attrib.TCPInfo{}, false
	}
	u32 := func(off int) uint32 { return native.Uint32(b[off:]) }
	u64 := func(off int) uint64 {
		if off+8 > len(b) {
			return 0
		}
		return native.Uint64(b[off:])
	}
	size := len(b)
	if size > 1<<16-1 {
		size = 1<<16 - 1
	}
	t := attrib.TCPInfo{
		Size:  uint16(size),
		State: b[0], CAState: b[1], Retransmits: b[2],
		// Bit fields are allocated from the low bit (x86, arm64):
		// tcpi_delivery_rate_app_limited is bit 0 of byte 7.
		AppLimited: b[7]&1 != 0,
		RTO:        u32(8), SndMSS: u32(16), RcvMSS: u32(20),
		Unacked: u32(24), Lost: u32(32), Retrans: u32(36),
		RTT: u32(68), RTTVar: u32(72), SndSsthresh: u32(76), SndCwnd: u32(80),
		AdvMSS: u32(84), RcvSpace: u32(96), TotalRetrans: u32(100),
	}
	t.PacingRate = u64(104)
	t.BytesAcked, t.BytesReceived = u64(120), u64(128)
	if len(b) >= attrib.TCPInfoMinRTT {
		t.NotsentBytes, t.MinRTT = u32(144), u32(148)
	}
	t.DeliveryRate = u64(160)
	t.BusyTime, t.RwndLimited, t.SndbufLimited = u64(168), u64(176), u64(184)
	t.BytesSent, t.BytesRetrans = u64(200), u64(208)
	if len(b) >= attrib.TCPInfoSndWnd {
		t.SndWnd = u32(228)
	}
	if len(b) >= attrib.TCPInfoRcvWnd {
		t.RcvWnd = u32(232)
	}
	return t, true
}

// parseMemInfo decodes INET_DIAG_SKMEMINFO (an array of u32 indexed by
// SK_MEMINFO_*; SK_MEMINFO_DROPS, index 8, since 4.x).
func parseMemInfo(b []byte) attrib.SockMem {
	const rmemAlloc, rcvbuf, drops = 0, 1, 8
	if len(b) < 4*(rcvbuf+1) {
		return attrib.SockMem{}
	}
	m := attrib.SockMem{Known: true, RmemAlloc: native.Uint32(b[4*rmemAlloc:]), RcvBuf: native.Uint32(b[4*rcvbuf:])}
	if len(b) >= 4*(drops+1) {
		m.Drops = native.Uint32(b[4*drops:])
	}
	return m
}

// Netlink and sock_diag constants (linux/netlink.h, linux/inet_diag.h).
const (
	nlmsgHdrLen     = 16
	nlmsgError      = 2
	nlmsgDone       = 3
	nlmFDumpIntr    = 0x10
	sockDiagByFam   = 20
	inetDiagMsgLen  = 72
	inetDiagInfo    = 2
	inetDiagMemInfo = 7
	afInet          = 2
	afInet6         = 10
	enoent          = 2
)

// errTruncated is a netlink stream that ends inside a message.
var errTruncated = errors.New("sock_diag: truncated message")

// diagParser turns the messages of one sock_diag dump into sockets. It
// keeps the established sockets' tcp_info in chunks it allocates, so a
// table's sockets point into a few arrays rather than one allocation each.
//
// With want set, a dump without tcp_info also collects the identities of
// the established TCP sockets want names (exact), for the exact requests
// that then ask their tcp_info (exactRequests, parseExact).
type diagParser struct {
	proto flows.Proto
	netns uint64
	seq   uint32
	socks []attrib.Socket
	infos []attrib.TCPInfo
	intr  bool
	done  bool
	want  *CookieSet
	exact []exactID
}

// exactID is one socket to ask by exact request: its family and
// inet_diag_sockid as the dump gave them, and its index in socks.
type exactID struct {
	idx int
	fam uint8
	id  [diagSockIDLen]byte
}

// diagSockIDLen is the length of struct inet_diag_sockid (ports,
// addresses, interface, cookie), at offset 4 of inet_diag_msg and of
// inet_diag_req_v2.
const diagSockIDLen = 48

// CookieSet is a set of socket cookies: the sockets of one namespace
// whose tcp_info a refresh asks for. A bit per low 16 bits of a cookie
// answers most misses without the map.
type CookieSet struct {
	bits [1 << 10]uint64
	m    map[uint64]struct{}
}

// Add puts cookie c in the set.
func (c *CookieSet) Add(cookie uint64) {
	if c.m == nil {
		c.m = map[uint64]struct{}{}
	}
	c.m[cookie] = struct{}{}
	c.bits[cookie>>6&(1<<10-1)] |= 1 << (cookie & 63)
}

// Has reports whether cookie is in the set (false for a nil set).
func (c *CookieSet) Has(cookie uint64) bool {
	if c == nil || c.bits[cookie>>6&(1<<10-1)]&(1<<(cookie&63)) == 0 {
		return false
	}
	_, ok := c.m[cookie]
	return ok
}

func (c *CookieSet) reset() {
	clear(c.m)
	clear(c.bits[:])
}

// Len is the number of cookies in the set.
func (c *CookieSet) Len() int {
	if c == nil {
		return 0
	}
	return len(c.m)
}

const infoChunk = 256

// parse consumes one datagram of the dump. It returns an error for a
// netlink error message or a malformed stream; p.done is set at NLMSG_DONE.
func (p *diagParser) parse(b []byte) error {
	for len(b) >= nlmsgHdrLen {
		l := int(native.Uint32(b[0:]))
		typ := native.Uint16(b[4:])
		flags := native.Uint16(b[6:])
		seq := native.Uint32(b[8:])
		if l < nlmsgHdrLen || l > len(b) {
			return errTruncated
		}
		body := b[nlmsgHdrLen:l]
		if al := (l + 3) &^ 3; al < len(b) {
			b = b[al:]
		} else {
			b = b[len(b):]
		}
		if seq != p.seq {
			continue // a reply to an earlier request
		}
		if flags&nlmFDumpIntr != 0 {
			p.intr = true
		}
		switch typ {
		case nlmsgDone:
			p.done = true
			if len(body) >= 4 {
				if e := int32(native.Uint32(body)); e < 0 {
					return fmt.Errorf("sock_diag: dump ended with errno %d", -e)
				}
			}
			return nil
		case nlmsgError:
			if len(body) >= 4 {
				if e := int32(native.Uint32(body)); e < 0 {
					return fmt.Errorf("sock_diag: errno %d", -e)
				}
			}
			continue
		case sockDiagByFam:
		default:
			continue
		}
		if len(body) < inetDiagMsgLen {
			return errTruncated
		}
		s, ok := p.socket(body)
		if ok {
			if s.State == attrib.StateEstablished && p.proto == flows.ProtoTCP && s.TCP == nil && p.want.Has(s.Cookie) {
				e := exactID{idx: len(p.socks), fam: body[0]}
				copy(e.id[:], body[4:4+diagSockIDLen])
				p.exact = append(p.exact, e)
			}
			p.socks = append(p.socks, s)
		}
	}
	return nil
}

// exactRequests appends to dst one inet_diag_req_v2 request per socket of
// ids (no NLM_F_DUMP: the kernel looks each socket up by its identity and
// cookie), with sequence numbers seq, seq+1, …, asking for the extensions
// in ext. The kernel answers each in turn within the one send: a message
// with that sequence number, or an error (ENOENT for a socket gone).
func exactRequests(dst []byte, seq uint32, ids []exactID, protocol, ext uint8) []byte {
	const reqLen = nlmsgHdrLen + 56
	for i := range ids {
		off := len(dst)
		dst = append(dst, make([]byte, reqLen)...)
		b := dst[off:]
		native.PutUint32(b[0:], reqLen)
		native.PutUint16(b[4:], sockDiagByFam)
		native.PutUint16(b[6:], 0x1) // NLM_F_REQUEST
		native.PutUint32(b[8:], seq+uint32(i))
		b[16], b[17], b[18] = ids[i].fam, protocol, ext
		native.PutUint32(b[20:], 0xfff) // any state
		copy(b[24:24+diagSockIDLen], ids[i].id[:])
	}
	return dst
}

// parseExact consumes one datagram of the answers to exactRequests(…, seq,
// ids, …): each SOCK_DIAG_BY_FAMILY message whose sequence number and
// cookie are those of a request gives that request's socket in p.socks
// its attributes (tcp_info); an error message answers its request with
// nothing. answered marks the requests answered (bit i for seq+i, at most
// 64 requests); lost counts the errors other than ENOENT.
func (p *diagParser) parseExact(b []byte, seq uint32, ids []exactID, answered *uint64) (lost int, err error) {
	for len(b) >= nlmsgHdrLen {
		l := int(native.Uint32(b[0:]))
		typ := native.Uint16(b[4:])
		mseq := native.Uint32(b[8:])
		if l < nlmsgHdrLen || l > len(b) {
			return lost, errTruncated
		}
		body := b[nlmsgHdrLen:l]
		if al := (l + 3) &^ 3; al < len(b) {
			b = b[al:]
		} else {
			b = b[len(b):]
		}
		i := mseq - seq
		if i >= uint32(len(ids)) || i >= 64 || *answered&(1<<i) != 0 {
			continue // not an answer to this batch, or a second one
		}
		switch typ {
		case nlmsgError:
			*answered |= 1 << i
			if len(body) >= 4 {
				if e := int32(native.Uint32(body)); e < 0 && e != -enoent {
					lost++
				}
			}
		case sockDiagByFam:
			if len(body) < inetDiagMsgLen {
				return lost, errTruncated
			}
			id := &ids[i]
			if id.idx >= len(p.socks) || [diagSockIDLen]byte(body[4:4+diagSockIDLen]) != id.id {
				continue // another socket's answer
			}
			*answered |= 1 << i
			p.attrs(&p.socks[id.idx], body[inetDiagMsgLen:])
		}
	}
	return lost, nil
}

func diagAddr(fam uint8, b []byte) netip.Addr {
	switch fam {
	case afInet:
		return netip.AddrFrom4([4]byte(b[:4]))
	case afInet6:
		return netip.AddrFrom16([16]byte(b[:16])).Unmap()
	}
	return netip.Addr{}
}

// socket decodes one inet_diag_msg and its attributes.
func (p *diagParser) socket(m []byte) (attrib.Socket, bool) {
	fam := m[0]
	if fam != afInet && fam != afInet6 {
		return attrib.Socket{}, false
	}
	s := attrib.Socket{
		Proto: p.proto, Netns: p.netns, State: m[1],
		LocalPort:  binary.BigEndian.Uint16(m[4:]),
		RemotePort: binary.BigEndian.Uint16(m[6:]),
		Local:      diagAddr(fam, m[8:24]),
		Remote:     diagAddr(fam, m[24:40]),
		Cookie:     uint64(native.Uint32(m[44:])) | uint64(native.Uint32(m[48:]))<<32,
		RecvQ:      native.Uint32(m[56:]),
		SendQ:      native.Uint32(m[60:]),
		UID:        native.Uint32(m[64:]),
		Inode:      native.Uint32(m[68:]),
	}
	p.attrs(&s, m[inetDiagMsgLen:])
	return s, true
}

// attrs decodes the attributes of socket s's message: tcp_info (kept for
// an established socket) and sk_meminfo.
func (p *diagParser) attrs(s *attrib.Socket, a []byte) {
	for len(a) >= 4 {
		al := int(native.Uint16(a[0:]))
		typ := native.Uint16(a[2:]) & 0x3fff // without NLA_F_NESTED, NLA_F_NET_BYTEORDER
		if al < 4 || al > len(a) {
			break
		}
		v := a[4:al]
		switch {
		case typ == inetDiagInfo && p.proto == flows.ProtoTCP:
			if ti, ok := parseTCPInfo(v); ok {
				if ti.Has(attrib.TCPInfoBytes) {
					s.HasCounters = true
					s.BytesAcked, s.BytesReceived = ti.BytesAcked, ti.BytesReceived
				}
				if s.State == attrib.StateEstablished {
					if len(p.infos) == cap(p.infos) {
						p.infos = make([]attrib.TCPInfo, 0, infoChunk)
					}
					p.infos = append(p.infos, ti)
					s.TCP = &p.infos[len(p.infos)-1]
				}
			}
		case typ == inetDiagMemInfo:
			s.Mem = parseMemInfo(v)
		}
		if n := (al + 3) &^ 3; n < len(a) {
			a = a[n:]
		} else {
			break
		}
	}
}

// diagRequest builds an inet_diag_req_v2 dump request for every state of
// one family and protocol, asking for the extensions in ext (a bit mask of
// 1 << (INET_DIAG_* - 1)).
func diagRequest(seq uint32, family, protocol, ext uint8) []byte {
	const reqLen = 56
	b := make([]byte, nlmsgHdrLen+reqLen)
	native.PutUint32(b[0:], uint32(len(b)))
	native.PutUint16(b[4:], sockDiagByFam)
	native.PutUint16(b[6:], 0x1|0x300) // NLM_F_REQUEST | NLM_F_DUMP
	native.PutUint32(b[8:], seq)
	b[16], b[17], b[18] = family, protocol, ext
	native.PutUint32(b[20:], 0xfff) // all states
	return b
}
