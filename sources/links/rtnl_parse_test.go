package links

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"netriage/triage"
)

// The fixtures are built the way the kernel lays them out (host byte
// order, 4-byte alignment), from the structures of linux/pkt_sched.h,
// linux/gen_stats.h and linux/if_link.h.

func nlAttr(typ uint16, val []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(4+len(val)))
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func nlMsg(typ uint16, seq uint32, payload []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(16+len(payload)))
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, seq)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u32s(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func u64s(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

func tcmsg(ifindex int32, handle, parent uint32) []byte {
	return append([]byte{0, 0, 0, 0}, u32s(uint32(ifindex), handle, parent, 0)...)
}

func stats2(bytes uint64, pkts, qlen, backlog, drops, requeues, overl uint32, app []byte) []byte {
	basic := append(u64s(bytes), u32s(pkts)...)
	s := nlAttr(tcaStatsBasic, basic)
	s = append(s, nlAttr(tcaStatsQueue, u32s(qlen, backlog, drops, requeues, overl))...)
	if app != nil {
		s = append(s, nlAttr(tcaStatsApp, app)...)
	}
	return nlAttr(tcaStats2, s)
}

// fqCodelQdisc is an fq_codel qdisc 8001: under 1:1 of ifindex 3 that
// dropped 17 packets, 5 over its limit, marked 9 ECN and saw 4242 new
// flows.
func fqCodelQdisc() []byte {
	p := tcmsg(3, 0x8001_0000, 0x0001_0001)
	p = append(p, nlAttr(tcaKind, []byte("fq_codel\x00"))...)
	xs := u32s(0, 1514, 5, 9, 4242, 1, 2, 3, 0, 0) // tc_fq_codel_xstats, qdisc part
	return append(p, stats2(1_000_000, 900, 2, 3000, 17, 0, 0, xs)...)
}

// htbClass is class 1:10 of ifindex 3 under 1:1, rate 20 Mbit/s and ceil
// 50 Mbit/s (struct tc_htb_opt).
func htbClass() []byte {
	p := tcmsg(3, 0x0001_0010, 0x0001_0001)
	p = append(p, nlAttr(tcaKind, []byte("htb\x00"))...)
	rate := append([]byte{0, 0, 0, 0, 0, 0, 0, 0}, u32s(2_500_000)...)
	ceil := append([]byte{0, 0, 0, 0, 0, 0, 0, 0}, u32s(6_250_000)...)
	parms := append(append(rate, ceil...), u32s(1600, 1600, 1514, 0, 0)...)
	p = append(p, nlAttr(tcaOptions, nlAttr(tcaHTBParms, parms))...)
	return append(p, stats2(5_000_000, 4000, 1, 1500, 33, 0, 700, u32s(0, 0, 0, 100, 100))...)
}

func TestParseTC(t *testing.T) {
	q, err := parseTC(rtmNewQdisc, fqCodelQdisc())
	if err != nil {
		t.Fatal(err)
	}
	q.app = nil
	want := tcObject{ifindex: 3, handle: 0x8001_0000, parent: 0x0001_0001, kind: "fq_codel", bytes: 1_000_000, packets: 900,
		qlen: 2, backlog: 3000, drops: 17, hasQueue: true}
	if diff := cmp.Diff(want, q, cmp.AllowUnexported(tcObject{})); diff != "" {
		t.Errorf("qdisc (-want +got):\n%s", diff)
	}
	full, _ := parseTC(rtmNewQdisc, fqCodelQdisc())
	x, ok, err := parseAQMXStats(full.kind, full.app)
	if !ok || err != nil || x.dropOverlimit != 5 || x.ecnMarks != 9 || x.newFlows != 4242 || x.ceMarks != 3 {
		t.Errorf("fq_codel xstats %+v %v %v", x, ok, err)
	}
	c, err := parseTC(rtmNewTClass, htbClass())
	if err != nil {
		t.Fatal(err)
	}
	if !c.class || c.kind != "htb" || c.rateBps != 20_000_000 || c.ceilBps != 50_000_000 || c.drops != 33 || c.overl != 700 || c.backlog != 1500 {
		t.Errorf("htb class %+v", c)
	}
}

func TestParseAQMXStats(t *testing.T) {
	codel := u32s(1514, 3, 2, 5000, 0, 11, 12, 0, 13)
	fq := append(u64s(1, 2, 3, 4, 55, 6, 7, 8), u32s(90, 80, 0, 0)...)
	fq = append(fq, u64s(66)...)
	tests := []struct {
		kind string
		b    []byte
		want aqmXStats
		ok   bool
		err  string
	}{
		{"codel", codel, aqmXStats{dropOverlimit: 11, ecnMarks: 12, ceMarks: 13}, true, ""},
		{"fq", fq, aqmXStats{dropOverlimit: 55, flows: 90, hasFlows: true, ceMarks: 66}, true, ""},
		{"fq_codel", u32s(1, 0, 0, 0, 0, 0), aqmXStats{}, false, ""}, // a class's statistics
		{"tbf", []byte{1, 2}, aqmXStats{}, false, ""},
		{"codel", codel[:20], aqmXStats{}, false, "tc_codel_xstats: truncated"},
		{"fq", fq[:40], aqmXStats{}, false, "tc_fq_qd_stats: truncated"},
		{"fq_codel", u32s(0, 1), aqmXStats{}, false, "tc_fq_codel_xstats: truncated"},
	}
	for _, tc := range tests {
		x, ok, err := parseAQMXStats(tc.kind, tc.b)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.kind, err, tc.err)
			}
			continue
		}
		if err != nil || ok != tc.ok || x != tc.want {
			t.Errorf("%s: %+v %v %v, want %+v %v", tc.kind, x, ok, err, tc.want, tc.ok)
		}
	}
}

func TestWalkMessages(t *testing.T) {
	stats := append(u32s(0, 7, 1), nlAttr(iflaStatsLink64, u64s(10, 20, 3000, 4000, 0, 0, 0, 0))...)
	msgs := append(nlMsg(rtmNewStats, 6, stats), nlMsg(rtmNewStats, 5, stats)...) // the first answers an older request
	msgs = append(msgs, nlMsg(nlmsgError, 5, u32s(0))...)                         // the acknowledgement
	var got []linkBytes
	done, err := walkMessages(msgs, 5, func(typ uint16, p []byte) error {
		lb, err := parseLinkStats64(p)
		got = append(got, lb)
		return err
	})
	if err != nil || !done || len(got) != 1 || got[0] != (linkBytes{ifindex: 7, rx: 3000, tx: 4000}) {
		t.Errorf("got %+v done %v err %v", got, done, err)
	}
	_, err = walkMessages(nlMsg(nlmsgError, 1, u32s(uint32(0xffffffed))), 1, nil) // -19, ENODEV
	var ne *nlError
	if !errors.As(err, &ne) || ne.Code != -19 {
		t.Errorf("error answer: %v", err)
	}
	for _, bad := range [][]byte{{1, 2, 3}, nlMsg(rtmNewStats, 1, nil)[:10], append(u32s(200), make([]byte, 12)...)} {
		if _, err := walkMessages(bad, 1, func(uint16, []byte) error { return nil }); err == nil {
			t.Errorf("% x: no error", bad)
		}
	}
	if _, err := parseLinkStats64(u32s(0, 7, 1)); err == nil {
		t.Error("stats without IFLA_STATS_LINK_64: no error")
	}
}

// TestBatchTake files the answers of a batch under their requests by
// sequence number: an object, an error, a stale answer of an older batch,
// a truncated one, and an acknowledgement (not an answer).
func TestBatchTake(t *testing.T) {
	b := newRtnlBatch(1, 3)
	b.reset()
	b.addRootQdisc(2)
	b.addStats(1)
	b.addStats(2)
	b.addStats(3)
	b.seq0 = 100
	for i := range b.reqs {
		b.Ans[i] = batchAns{err: errNoAnswer}
	}
	stats := append(u32s(0, 2, 1), nlAttr(iflaStatsLink64, u64s(10, 20, 3000, 4000))...)
	if n := b.take(nlMsg(rtmNewQdisc, 100, fqCodelQdisc()), false); n != 1 {
		t.Errorf("qdisc answered %d", n)
	}
	if n := b.take(nlMsg(rtmNewStats, 99, stats), false); n != 0 { // the batch before
		t.Errorf("a stale answer answered %d", n)
	}
	if n := b.take(nlMsg(nlmsgError, 101, u32s(uint32(0xffffffed))), false); n != 1 { // -19, ENODEV
		t.Errorf("error answered %d", n)
	}
	if n := b.take(nlMsg(nlmsgError, 102, u32s(0)), false); n != 0 {
		t.Errorf("an acknowledgement answered %d", n)
	}
	if n := b.take(append(nlMsg(rtmNewStats, 102, stats), nlMsg(rtmNewStats, 103, stats)[:20]...), false); n != 1 {
		t.Errorf("a datagram with a cut second message answered %d", n)
	}
	if n := b.take(nlMsg(rtmNewStats, 103, stats)[:24], true); n != 1 {
		t.Errorf("a truncated answer answered %d", n)
	}
	if a := b.Ans[0]; a.err != nil || a.typ != rtmNewQdisc {
		t.Errorf("qdisc answer %+v", a)
	}
	if a := b.Ans[1]; !errors.Is(a.err, unix.ENODEV) {
		t.Errorf("error answer %+v", a)
	}
	if a := b.Ans[2]; a.err != nil || a.typ != rtmNewStats {
		t.Errorf("stats answer %+v", a)
	} else if lb, err := parseLinkStats64(a.payload); err != nil || lb.tx != 4000 {
		t.Errorf("stats answer decodes to %+v, %v", lb, err)
	}
	if a := b.Ans[3]; !errors.Is(a.err, errTruncated) {
		t.Errorf("truncated answer %+v", a)
	}
}

// FuzzRtnl feeds arbitrary bytes to the framing and every decoder: they
// must return an error, never panic or read out of bounds.
func FuzzRtnl(f *testing.F) {
	f.Add(nlMsg(rtmNewQdisc, 1, fqCodelQdisc()))
	f.Add(nlMsg(rtmNewTClass, 1, htbClass()))
	f.Add(nlMsg(rtmNewStats, 1, append(u32s(0, 7, 1), nlAttr(iflaStatsLink64, u64s(1, 2, 3, 4))...)))
	f.Add(bytes.Repeat([]byte{0xff}, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		bt := newRtnlBatch(1, 1)
		bt.addRootQdisc(1)
		bt.addStats(1)
		bt.seq0 = 1
		bt.Ans[0], bt.Ans[1] = batchAns{err: errNoAnswer}, batchAns{err: errNoAnswer}
		if n := bt.take(b, len(b)%2 == 1); n > 2 {
			t.Fatalf("%d answers to 2 requests", n)
		}
		_, _ = walkMessages(b, 1, func(typ uint16, p []byte) error {
			_, _ = parseLinkStats64(p)
			for _, ty := range []uint16{rtmNewQdisc, rtmNewTClass} {
				if o, err := parseTC(ty, p); err == nil {
					for _, k := range []string{o.kind, "fq_codel", "codel", "fq"} {
						_, _, _ = parseAQMXStats(k, o.app)
					}
				}
			}
			return nil
		})
	})
}

func TestAttachTC(t *testing.T) {
	q, _ := parseTC(rtmNewQdisc, fqCodelQdisc()) // 10: under leaf 1:10, 17 drops
	q.parent = 0x0001_0010
	root := tcObject{ifindex: 3, handle: 0x0001_0000, parent: tcHRoot, kind: "htb", drops: 4}
	inner := tcObject{class: true, ifindex: 3, handle: 0x0001_0001, parent: tcHRoot, kind: "htb", ceilBps: 50_000_000}
	leaf, _ := parseTC(rtmNewTClass, htbClass()) // 1:10 under 1:1, 33 drops
	leaf2 := tcObject{class: true, ifindex: 3, handle: 0x0001_0020, parent: 0x0001_0001, kind: "htb", drops: 2}
	other := tcObject{ifindex: 9, handle: 0x0001_0000, parent: tcHRoot, kind: "fq_codel", app: []byte{0, 0}}
	ifaces := []triage.IfaceSample{{Name: "eth0", Index: 3, Qdisc: &triage.QdiscStats{Kind: "htb"}}, {Name: "eth1", Index: 9}}
	warn := attachTC(ifaces, []tcObject{root, q, other}, []tcObject{leaf2, inner, leaf})
	if len(warn) != 0 {
		t.Errorf("warnings %q", warn)
	}
	got := ifaces[0].Qdisc
	if len(got.Classes) != 3 || got.Classes[0].Handle != 0x0001_0001 || got.Classes[0].Leaf || !got.Classes[1].Leaf || !got.Classes[2].Leaf {
		t.Fatalf("classes %+v", got.Classes)
	}
	if !got.HasLeaves || got.LeafDrops != 33+2 {
		t.Errorf("leaf drops %d, want 35 (the larger of class and qdisc per leaf)", got.LeafDrops)
	}
	if len(got.AQM) != 1 || got.AQM[0].ECNMarks != 9 || got.AQM[0].NewFlows == nil || *got.AQM[0].NewFlows != 4242 || got.AQM[0].Drops != 17 {
		t.Errorf("aqm %+v", got.AQM)
	}
	if ifaces[1].Qdisc != nil {
		t.Errorf("an interface without a root summary got one")
	}
	if w := attachTC([]triage.IfaceSample{{Index: 9, Qdisc: &triage.QdiscStats{Kind: "fq_codel"}}}, []tcObject{other}, nil); len(w) != 1 || !strings.Contains(w[0], "tc_fq_codel_xstats: truncated") {
		t.Errorf("a short TCA_STATS_APP: warnings %q", w)
	}
	if c := htbClassesOf([]tcObject{inner, leaf}); len(c) != 2 {
		t.Errorf("htb classes for the shaper rate: %+v", c)
	}
}

func TestParseDecimal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{{"12345\n", 12345, true}, {"0\n", 0, true}, {"18446744073709551615\n", 1<<64 - 1, true},
		{"18446744073709551616\n", 0, false}, {"\n", 0, false}, {"", 0, false}, {"12a\n", 0, false}, {"-1\n", 0, false}} {
		if got, ok := parseDecimal([]byte(tc.in)); got != tc.want || ok != tc.ok {
			t.Errorf("parseDecimal(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseDecimal holds the sysfs counter parser to strconv's answer.
func FuzzParseDecimal(f *testing.F) {
	f.Add([]byte("12345\n"))
	f.Add([]byte("18446744073709551616\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := parseDecimal(b)
		s := string(b)
		if i := strings.IndexAny(s, "\n "); i >= 0 {
			s = s[:i]
		}
		want, err := strconv.ParseUint(s, 10, 64)
		// Counters never have leading zeros: more than 20 digits is refused.
		if ok != (err == nil && s != "" && !strings.HasPrefix(s, "+") && len(s) <= 20) || (ok && got != want) {
			t.Errorf("parseDecimal(%q) = %d, %v; strconv %d, %v", b, got, ok, want, err)
		}
	})
}
