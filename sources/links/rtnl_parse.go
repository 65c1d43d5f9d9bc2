package links

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file holds the pure decoders of the raw rtnetlink answers the burst
// sampler and the qdisc extended statistics use: netlink message framing,
// route attributes, RTM_NEWSTATS (IFLA_STATS_LINK_64) and RTM_NEWQDISC /
// RTM_NEWTCLASS with their TCA_STATS2 statistics. The kernel writes in host
// byte order; netriage runs on little-endian hosts only (amd64, arm64).
// Every length is checked before it is used: a short or lying message is an
// error naming the structure, never a panic.

// Netlink constants (linux/netlink.h, linux/rtnetlink.h,
// linux/pkt_sched.h, linux/gen_stats.h, linux/if_link.h), kept here so the
// parsers stay free of x/sys/unix.
const (
	nlmsgHdrLen = 16
	nlmsgError  = 2
	nlmsgDone   = 3

	rtmNewQdisc  = 36
	rtmNewTClass = 40
	rtmNewStats  = 92

	tcaKind    = 1
	tcaOptions = 2
	tcaStats2  = 7

	tcaStatsBasic     = 1
	tcaStatsRateEst   = 2
	tcaStatsQueue     = 3
	tcaStatsApp       = 4
	tcaStatsRateEst64 = 5
	tcaStatsPkt64     = 8

	tcaHTBParms  = 1
	tcaHTBRate64 = 6
	tcaHTBCeil64 = 7

	tcaHFSCFsc = 2
	tcaHFSCUsc = 3

	iflaStatsLink64 = 1

	tcmsgLen      = 20
	ifStatsMsgLen = 12
	tcHRoot       = 0xFFFFFFFF
)

var le = binary.LittleEndian

// nlError is an NLMSG_ERROR answer: Code is the negative errno.
type nlError struct{ Code int32 }

func (e *nlError) Error() string { return fmt.Sprintf("netlink error %d", -e.Code) }

// errShort marks a structure shorter than its fixed part.
var errShort = errors.New("truncated")

// walkMessages calls fn for every netlink message of b with sequence
// number seq, with its type and payload; messages of other sequence
// numbers (answers to an earlier request that was given up) are skipped.
// It stops at NLMSG_DONE or an acknowledgement (an NLMSG_ERROR with code
// 0) with done true, and returns an NLMSG_ERROR with a non-zero code as
// *nlError.
func walkMessages(b []byte, seq uint32, fn func(typ uint16, payload []byte) error) (done bool, err error) {
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return false, fmt.Errorf("netlink header: %w (%d bytes)", errShort, len(b))
		}
		n := int(le.Uint32(b[0:4]))
		typ := le.Uint16(b[4:6])
		if n < nlmsgHdrLen || n > len(b) {
			return false, fmt.Errorf("netlink message length %d of %d bytes left", n, len(b))
		}
		payload := b[nlmsgHdrLen:n]
		switch {
		case le.Uint32(b[8:12]) != seq:
		case typ == nlmsgDone:
			return true, nil
		case typ == nlmsgError:
			if len(payload) < 4 {
				return false, fmt.Errorf("netlink error message: %w", errShort)
			}
			if code := int32(le.Uint32(payload[0:4])); code != 0 {
				return false, &nlError{Code: code}
			}
			return true, nil
		default:
			if err := fn(typ, payload); err != nil {
				return false, err
			}
		}
		adv := align4(n)
		if adv > len(b) {
			adv = len(b)
		}
		b = b[adv:]
	}
	return false, nil
}

// eachMessage hands every message of one netlink datagram to fn with its
// sequence number and type (NLMSG_ERROR and NLMSG_DONE included), in
// order; it stops at fn's first error or at a message whose length does
// not fit.
func eachMessage(b []byte, fn func(seq uint32, typ uint16, payload []byte) error) error {
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return fmt.Errorf("netlink header: %w (%d bytes)", errShort, len(b))
		}
		n := int(le.Uint32(b[0:4]))
		if n < nlmsgHdrLen || n > len(b) {
			return fmt.Errorf("netlink message length %d of %d bytes left", n, len(b))
		}
		if err := fn(le.Uint32(b[8:12]), le.Uint16(b[4:6]), b[nlmsgHdrLen:n]); err != nil {
			return err
		}
		b = b[min(align4(n), len(b)):]
	}
	return nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// walkAttrs calls fn for every route attribute of b (type without the
// nested and byte-order flags).
func walkAttrs(b []byte, fn func(typ uint16, val []byte)) error {
	for len(b) >= 4 {
		n := int(le.Uint16(b[0:2]))
		typ := le.Uint16(b[2:4]) & 0x3fff
		if n < 4 || n > len(b) {
			return fmt.Errorf("attribute %d: length %d of %d bytes left", typ, n, len(b))
		}
		fn(typ, b[4:n])
		adv := align4(n)
		if adv > len(b) {
			adv = len(b)
		}
		b = b[adv:]
	}
	return nil
}

// linkBytes are an interface's byte counters from RTM_NEWSTATS.
type linkBytes struct {
	ifindex uint32
	rx, tx  uint64
}

// parseLinkStats64 decodes an RTM_NEWSTATS payload (struct if_stats_msg
// and IFLA_STATS_LINK_64's struct rtnl_link_stats64) into the byte
// counters.
func parseLinkStats64(p []byte) (linkBytes, error) {
	if len(p) < ifStatsMsgLen {
		return linkBytes{}, fmt.Errorf("if_stats_msg: %w (%d bytes)", errShort, len(p))
	}
	out := linkBytes{ifindex: le.Uint32(p[4:8])}
	found := false
	var bad error
	err := walkAttrs(p[ifStatsMsgLen:], func(typ uint16, v []byte) {
		if typ != iflaStatsLink64 {
			return
		}
		if len(v) < 32 {
			bad = fmt.Errorf("rtnl_link_stats64: %w (%d bytes)", errShort, len(v))
			return
		}
		out.rx, out.tx, found = le.Uint64(v[16:24]), le.Uint64(v[24:32]), true
	})
	if err == nil {
		err = bad
	}
	if err == nil && !found {
		err = errors.New("RTM_NEWSTATS without IFLA_STATS_LINK_64")
	}
	return out, err
}

// tcObject is one qdisc or class as RTM_NEWQDISC / RTM_NEWTCLASS describe
// it.
type tcObject struct {
	class                  bool
	ifindex                int32
	handle, parent         uint32
	kind                   string
	bytes, packets         uint64
	qlen, backlog          uint64
	drops, requeues, overl uint64
	estBps                 uint64 // rate estimator, bits per second; 0 without one
	rateBps, ceilBps       uint64 // configured (htb rate and ceil, hfsc curves), bits per second
	app                    []byte // TCA_STATS_APP, aliasing the message: copy what is kept
	hasQueue               bool
}

// parseTC decodes an RTM_NEWQDISC or RTM_NEWTCLASS payload. The object's
// app slice aliases p.
func parseTC(typ uint16, p []byte) (tcObject, error) {
	if len(p) < tcmsgLen {
		return tcObject{}, fmt.Errorf("tcmsg: %w (%d bytes)", errShort, len(p))
	}
	o := tcObject{
		class:   typ == rtmNewTClass,
		ifindex: int32(le.Uint32(p[4:8])),
		handle:  le.Uint32(p[8:12]),
		parent:  le.Uint32(p[12:16]),
	}
	var opts []byte
	var bad error
	fail := func(what string, v []byte) {
		if bad == nil {
			bad = fmt.Errorf("%s: %w (%d bytes)", what, errShort, len(v))
		}
	}
	err := walkAttrs(p[tcmsgLen:], func(t uint16, v []byte) {
		switch t {
		case tcaKind:
			o.kind = kindString(v)
		case tcaOptions:
			opts = v
		case tcaStats2:
			if e := walkAttrs(v, func(st uint16, sv []byte) {
				switch st {
				case tcaStatsBasic:
					if len(sv) < 12 {
						fail("gnet_stats_basic", sv)
						return
					}
					o.bytes = le.Uint64(sv[0:8])
					if o.packets == 0 {
						o.packets = uint64(le.Uint32(sv[8:12]))
					}
				case tcaStatsPkt64:
					if len(sv) < 8 {
						fail("packets64", sv)
						return
					}
					o.packets = le.Uint64(sv[0:8])
				case tcaStatsQueue:
					if len(sv) < 20 {
						fail("gnet_stats_queue", sv)
						return
					}
					o.qlen, o.backlog = uint64(le.Uint32(sv[0:4])), uint64(le.Uint32(sv[4:8]))
					o.drops, o.requeues, o.overl = uint64(le.Uint32(sv[8:12])), uint64(le.Uint32(sv[12:16])), uint64(le.Uint32(sv[16:20]))
					o.hasQueue = true
				case tcaStatsRateEst:
					if len(sv) < 8 {
						fail("gnet_stats_rate_est", sv)
						return
					}
					if o.estBps == 0 {
						o.estBps = uint64(le.Uint32(sv[0:4])) * 8
					}
				case tcaStatsRateEst64:
					if len(sv) < 16 {
						fail("gnet_stats_rate_est64", sv)
						return
					}
					o.estBps = le.Uint64(sv[0:8]) * 8
				case tcaStatsApp:
					o.app = sv
				}
			}); e != nil && bad == nil {
				bad = fmt.Errorf("TCA_STATS2: %w", e)
			}
		}
	})
	if err != nil {
		return o, err
	}
	if bad != nil {
		return o, bad
	}
	if o.class && opts != nil {
		if err := parseClassOptions(&o, opts); err != nil {
			return o, err
		}
	}
	return o, nil
}

// parseClassOptions reads the configured rates of an htb class
// (TCA_HTB_PARMS, TCA_HTB_RATE64, TCA_HTB_CEIL64) or an hfsc class (the
// m2 slope of its link-sharing and upper-limit curves).
func parseClassOptions(o *tcObject, opts []byte) error {
	var bad error
	err := walkAttrs(opts, func(t uint16, v []byte) {
		switch o.kind {
		case "htb":
			switch t {
			case tcaHTBParms:
				// struct tc_htb_opt: rate and ceil are struct tc_ratespec
				// (12 bytes, rate in bytes/s at offset 8).
				if len(v) < 24 {
					bad = fmt.Errorf("tc_htb_opt: %w (%d bytes)", errShort, len(v))
					return
				}
				if o.rateBps == 0 {
					o.rateBps = uint64(le.Uint32(v[8:12])) * 8
				}
				if o.ceilBps == 0 {
					o.ceilBps = uint64(le.Uint32(v[20:24])) * 8
				}
			case tcaHTBRate64, tcaHTBCeil64:
				if len(v) < 8 {
					bad = fmt.Errorf("htb rate64: %w (%d bytes)", errShort, len(v))
					return
				}
				if t == tcaHTBRate64 {
					o.rateBps = le.Uint64(v) * 8
				} else {
					o.ceilBps = le.Uint64(v) * 8
				}
			}
		case "hfsc":
			// struct tc_service_curve {m1, d, m2}: m2 in bytes/s.
			if t != tcaHFSCFsc && t != tcaHFSCUsc {
				return
			}
			if len(v) < 12 {
				bad = fmt.Errorf("tc_service_curve: %w (%d bytes)", errShort, len(v))
				return
			}
			m2 := uint64(le.Uint32(v[8:12])) * 8
			if t == tcaHFSCFsc {
				o.rateBps = m2
			} else {
				o.ceilBps = m2
			}
		}
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return fmt.Errorf("%s class options: %w", o.kind, err)
	}
	return nil
}

// aqmXStats are the extended statistics of an AQM qdisc.
type aqmXStats struct {
	dropOverlimit, dropOvermemory uint64
	ecnMarks, ceMarks             uint64
	newFlows, flows               uint64
	hasNewFlows, hasFlows         bool
}

// parseAQMXStats decodes the TCA_STATS_APP of an fq_codel (struct
// tc_fq_codel_xstats, qdisc part), codel (struct tc_codel_xstats) or fq
// (struct tc_fq_qd_stats) qdisc; ok is false for other kinds or a
// fq_codel class's statistics.
func parseAQMXStats(kind string, b []byte) (x aqmXStats, ok bool, err error) {
	u32 := func(off int) uint64 { return uint64(le.Uint32(b[off : off+4])) }
	switch kind {
	case "fq_codel":
		if len(b) < 4 {
			return x, false, fmt.Errorf("tc_fq_codel_xstats: %w (%d bytes)", errShort, len(b))
		}
		if le.Uint32(b[0:4]) != 0 { // TCA_FQ_CODEL_XSTATS_CLASS
			return x, false, nil
		}
		if len(b) < 20 {
			return x, false, fmt.Errorf("tc_fq_codel_xstats: %w (%d bytes)", errShort, len(b))
		}
		x.dropOverlimit, x.ecnMarks, x.newFlows, x.hasNewFlows = u32(8), u32(12), u32(16), true
		if len(b) >= 32 {
			x.ceMarks = u32(28)
		}
		if len(b) >= 40 {
			x.dropOvermemory = u32(36)
		}
		return x, true, nil
	case "codel":
		if len(b) < 28 {
			return x, false, fmt.Errorf("tc_codel_xstats: %w (%d bytes)", errShort, len(b))
		}
		x.dropOverlimit, x.ecnMarks = u32(20), u32(24)
		if len(b) >= 36 {
			x.ceMarks = u32(32)
		}
		return x, true, nil
	case "fq":
		if len(b) < 72 {
			return x, false, fmt.Errorf("tc_fq_qd_stats: %w (%d bytes)", errShort, len(b))
		}
		x.dropOverlimit = le.Uint64(b[32:40]) // flows_plimit: dropped at a flow's packet limit
		x.flows, x.hasFlows = u32(64), true
		if len(b) >= 88 {
			x.ceMarks = le.Uint64(b[80:88])
		}
		return x, true, nil
	}
	return x, false, nil
}

// knownKinds are the qdisc and class kinds kindString returns without
// allocating.
var knownKinds = []string{"noqueue", "pfifo_fast", "fq_codel", "fq", "codel", "tbf", "htb", "hfsc", "mq", "mqprio",
	"netem", "pfifo", "bfifo", "cake", "prio", "sfq", "red", "ingress", "clsact", "multiq", "drr", "qfq", "ets", "cbs", "taprio"}

// kindString returns TCA_KIND's string (up to its NUL), sharing the
// constant for the usual kinds.
func kindString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	for _, k := range knownKinds {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}
