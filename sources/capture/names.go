package capture

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"netriage/triage/names"
)

// NameTap feeds the passive names: the DNS answers (UDP and TCP from port
// 53) and the TLS ClientHellos' server names seen in the capture go into
// Cache, keyed by the answered address and by the hello's destination.
// Live, a second small ring per interface with its own filter and snap
// length brings it only those packets (see docs/dev/passive-names.md); a
// file's reader hands it the packets that may be one. Safe for use by
// several readers at once.
type NameTap struct {
	cache *names.Cache
	mu    sync.Mutex
	buf   []names.Answer

	messages, malformed, answers, hellos, snis, drops atomic.Uint64
}

// NewNameTap returns a tap into c.
func NewNameTap(c *names.Cache) *NameTap { return &NameTap{cache: c} }

// Cache is the tap's cache.
func (t *NameTap) Cache() *names.Cache { return t.cache }

// Stats returns the counts so far.
func (t *NameTap) Stats() names.TapStats {
	return names.TapStats{Messages: t.messages.Load(), Malformed: t.malformed.Load(), Answers: t.answers.Load(),
		Hellos: t.hellos.Load(), SNIs: t.snis.Load(), Drops: t.drops.Load()}
}

// Packet reads one captured frame of link type link at ts: a DNS response
// from port 53 (UDP, or one TCP segment holding whole messages) or a TLS
// ClientHello at the start of a TCP segment's payload. Anything else, and
// anything malformed, is ignored (counted when it looked like DNS).
func (t *NameTap) Packet(link LinkType, data []byte, ts time.Time) {
	proto, dst, sport, payload, ok := transport(link, data)
	if !ok || len(payload) == 0 {
		return
	}
	switch {
	case sport == 53 && (proto == 6 || proto == 17):
		t.mu.Lock()
		var err error
		t.buf, err = names.ParseDNS(t.buf[:0], payload, proto == 6)
		t.messages.Add(1)
		if err != nil {
			t.malformed.Add(1)
		}
		for _, a := range t.buf {
			t.cache.Add(a, ts)
		}
		t.answers.Add(uint64(len(t.buf)))
		t.mu.Unlock()
	case proto == 6 && names.LooksLikeClientHello(payload):
		t.hellos.Add(1)
		if sni, ok := names.ParseClientHello(payload); ok {
			t.snis.Add(1)
			t.cache.AddSNI(dst, sni, ts)
		}
	}
}

// transport finds the IP protocol, the destination address, the source
// port and the transport payload of a frame: Ethernet (with VLAN tags),
// Linux cooked (SLL, SLL2), BSD loopback or raw IP; IPv4 without
// fragmentation (a first fragment's payload is cut, so it is refused too),
// IPv6 after its hop-by-hop, routing and destination options headers.
func transport(link LinkType, b []byte) (proto uint8, dst netip.Addr, sport uint16, payload []byte, ok bool) {
	var et uint16
	switch link {
	case LinkEthernet:
		if len(b) < 14 {
			return
		}
		et, b = binary.BigEndian.Uint16(b[12:]), b[14:]
		for i := 0; i < 2 && (et == 0x8100 || et == 0x88a8) && len(b) >= 4; i++ {
			et, b = binary.BigEndian.Uint16(b[2:]), b[4:]
		}
	case LinkSLL:
		if len(b) < 16 {
			return
		}
		et, b = binary.BigEndian.Uint16(b[14:]), b[16:]
	case LinkSLL2:
		if len(b) < sll2HeaderBytes {
			return
		}
		et, b = binary.BigEndian.Uint16(b[0:]), b[sll2HeaderBytes:]
	case LinkNull, LinkLoop:
		if len(b) < 4 {
			return
		}
		b = b[4:]
	case LinkRaw, LinkRawAlt, LinkRawBSD, LinkIPv4, LinkIPv6:
	default:
		return
	}
	if len(b) == 0 {
		return
	}
	switch {
	case et == 0x0800 || et == 0 && b[0]>>4 == 4:
		if len(b) < 20 || b[0]>>4 != 4 {
			return
		}
		ihl := int(b[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(b[2:]))
		if ihl < 20 || ihl > len(b) || total < ihl || binary.BigEndian.Uint16(b[6:])&0x3fff != 0 {
			return // options cut, or a fragment
		}
		proto, dst = b[9], netip.AddrFrom4([4]byte(b[16:20]))
		b = b[ihl:min(total, len(b))]
	case et == 0x86dd || et == 0 && b[0]>>4 == 6:
		if len(b) < 40 || b[0]>>4 != 6 {
			return
		}
		next, plen := b[6], int(binary.BigEndian.Uint16(b[4:]))
		dst = netip.AddrFrom16([16]byte(b[24:40]))
		b = b[40:min(40+plen, len(b))]
		for i := 0; i < 4 && (next == 0 || next == 43 || next == 60); i++ {
			if len(b) < 8 || len(b) < int(b[1])*8+8 {
				return
			}
			next, b = b[0], b[int(b[1])*8+8:]
		}
		proto = next
	default:
		return
	}
	switch proto {
	case 17:
		if len(b) < 8 {
			return
		}
		return proto, dst, binary.BigEndian.Uint16(b), b[8:], true
	case 6:
		if len(b) < 20 {
			return
		}
		off := int(b[12]>>4) * 4
		if off < 20 || off > len(b) {
			return
		}
		return proto, dst, binary.BigEndian.Uint16(b), b[off:], true
	}
	return
}
