package sockets

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// readHexDump reads a `hexdump -C` file.
func readHexDump(tb testing.TB, path string) []byte {
	tb.Helper()
	txt, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out []byte
	for _, line := range strings.Split(string(txt), "\n") {
		if len(line) < 10 {
			continue
		}
		f := line[10:]
		if i := strings.IndexByte(f, '|'); i >= 0 {
			f = f[:i]
		}
		b, err := hex.DecodeString(strings.Join(strings.Fields(f), ""))
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		out = append(out, b...)
	}
	return out
}

func TestParseTCPInfoFixture(t *testing.T) {
	b := readHexDump(t, "testdata/tcpinfo/linux-6.18-bulk.hex")
	got, ok := parseTCPInfo(b)
	if !ok {
		t.Fatal("not parsed")
	}
	want := attrib.TCPInfo{
		Size: 280, State: attrib.StateEstablished, RTO: 204000, SndMSS: 65483, RcvMSS: 536,
		RTT: 1745, RTTVar: 28, SndSsthresh: 8, SndCwnd: 16, AdvMSS: 65483, RcvSpace: 65495,
		PacingRate: 288036695, BytesAcked: 17699080, NotsentBytes: 3272441, MinRTT: 30,
		DeliveryRate: 228031340, BusyTime: 328000, RwndLimited: 292000, BytesSent: 17699079,
		RcvWnd: 65536,
	}
	// Fields not checked above keep their parsed values.
	want.Unacked, want.Lost, want.Retrans, want.TotalRetrans = got.Unacked, got.Lost, got.Retrans, got.TotalRetrans
	want.CAState, want.Retransmits, want.AppLimited = got.CAState, got.Retransmits, got.AppLimited
	want.BytesReceived, want.SndbufLimited, want.BytesRetrans, want.SndWnd = got.BytesReceived, got.SndbufLimited, got.BytesRetrans, got.SndWnd
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tcp_info (-want +got):\n%s", d)
	}
	if got.TotalRetrans != 0 || got.SndbufLimited != 0 || got.SndWnd != 0 {
		t.Errorf("retrans %d sndbuf %d snd_wnd %d, want 0 (a loopback receiver that stopped reading)", got.TotalRetrans, got.SndbufLimited, got.SndWnd)
	}
}

// TestParseTCPInfoSizes parses every kernel's struct length as a prefix
// of the fixture: what the length holds is the full struct's value, the
// rest is unknown (zero and Has false).
func TestParseTCPInfoSizes(t *testing.T) {
	full := readHexDump(t, "testdata/tcpinfo/linux-6.18-bulk.hex")
	all, _ := parseTCPInfo(full)
	ends := []int{attrib.TCPInfoPacing, attrib.TCPInfoBytes, attrib.TCPInfoMinRTT, attrib.TCPInfoDelivery, attrib.TCPInfoChrono, attrib.TCPInfoSent, attrib.TCPInfoSndWnd, attrib.TCPInfoRcvWnd}
	for _, n := range []int{0, 8, 103, 104, 120, 136, 144, 160, 168, 192, 200, 224, 232, 240, 248, 280} {
		got, ok := parseTCPInfo(full[:n])
		if ok != (n >= 104) {
			t.Errorf("%d bytes: ok %v", n, ok)
			continue
		}
		if !ok {
			continue
		}
		if int(got.Size) != n {
			t.Errorf("%d bytes: Size %d", n, got.Size)
		}
		for _, e := range ends {
			if got.Has(e) != (n >= e) {
				t.Errorf("%d bytes: Has(%d) = %v", n, e, got.Has(e))
			}
		}
		// Build the expected value from the full parse, field group by
		// field group.
		want := all
		want.Size = uint16(n)
		if n < attrib.TCPInfoPacing {
			want.PacingRate = 0
		}
		if n < attrib.TCPInfoBytes {
			want.BytesAcked, want.BytesReceived = 0, 0
		}
		if n < attrib.TCPInfoMinRTT {
			want.NotsentBytes, want.MinRTT = 0, 0
		}
		if n < attrib.TCPInfoDelivery {
			want.DeliveryRate = 0
		}
		if n < attrib.TCPInfoChrono {
			want.BusyTime, want.RwndLimited, want.SndbufLimited = 0, 0, 0
		}
		if n < attrib.TCPInfoSent {
			want.BytesSent, want.BytesRetrans = 0, 0
		}
		if n < attrib.TCPInfoSndWnd {
			want.SndWnd = 0
		}
		if n < attrib.TCPInfoRcvWnd {
			want.RcvWnd = 0
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%d bytes (-want +got):\n%s", n, d)
		}
	}
	var nilInfo *attrib.TCPInfo
	if nilInfo.Has(attrib.TCPInfoPacing) {
		t.Error("nil TCPInfo has fields")
	}
}

func TestParseTCPInfoAppLimited(t *testing.T) {
	b := make([]byte, 104)
	b[7] = 1 | 2<<1 // app limited, fastopen_client_fail 2
	if ti, _ := parseTCPInfo(b); !ti.AppLimited {
		t.Error("bit 0 of byte 7 not read as app limited")
	}
	b[7] = 2 << 1
	if ti, _ := parseTCPInfo(b); ti.AppLimited {
		t.Error("fastopen bits read as app limited")
	}
}

func TestParseMemInfo(t *testing.T) {
	b := make([]byte, 9*4)
	binary.NativeEndian.PutUint32(b[0:], 4352)
	binary.NativeEndian.PutUint32(b[4:], 4608)
	binary.NativeEndian.PutUint32(b[32:], 17)
	tests := []struct {
		name string
		in   []byte
		want attrib.SockMem
	}{
		{"full", b, attrib.SockMem{Known: true, RmemAlloc: 4352, RcvBuf: 4608, Drops: 17}},
		{"no drops field", b[:32], attrib.SockMem{Known: true, RmemAlloc: 4352, RcvBuf: 4608}},
		{"short", b[:4], attrib.SockMem{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, parseMemInfo(tc.in)); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestDiagParserFixture(t *testing.T) {
	stream := readHexDump(t, "testdata/diag/tcp-established.hex")
	p := diagParser{proto: flows.ProtoTCP, netns: 9, seq: 7}
	if err := p.parse(stream); err != nil {
		t.Fatal(err)
	}
	if !p.done || p.intr || len(p.socks) != 1 {
		t.Fatalf("done %v intr %v, %d sockets", p.done, p.intr, len(p.socks))
	}
	s := p.socks[0]
	if s.TCP == nil || s.TCP.RTT != 1745 || s.TCP.Size != 280 {
		t.Fatalf("tcp_info %+v", s.TCP)
	}
	s.TCP = nil
	lo := netip.MustParseAddr("127.0.0.1")
	want := attrib.Socket{Proto: flows.ProtoTCP, Netns: 9, Local: lo, Remote: lo, LocalPort: 37972, RemotePort: 45233,
		State: attrib.StateEstablished, Inode: 879213, Cookie: 0xbd84, HasCounters: true, BytesAcked: 17699080, SendQ: 3272441}
	if d := cmp.Diff(want, s, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("socket (-want +got):\n%s", d)
	}

	// The same datagram answering another request is skipped.
	q := diagParser{proto: flows.ProtoTCP, seq: 8}
	if err := q.parse(stream); err != nil || q.done || len(q.socks) != 0 {
		t.Errorf("other seq: err %v done %v %d sockets", err, q.done, len(q.socks))
	}
	// A stream cut inside the message is an error, not a panic.
	r := diagParser{proto: flows.ProtoTCP, seq: 7}
	if err := r.parse(stream[:100]); err == nil {
		t.Error("truncated stream parsed")
	}
	// The interrupted flag and an error reply.
	intr := append([]byte(nil), stream...)
	binary.NativeEndian.PutUint16(intr[6:], 2|nlmFDumpIntr)
	ip := diagParser{proto: flows.ProtoTCP, seq: 7}
	if err := ip.parse(intr); err != nil || !ip.intr {
		t.Errorf("interrupted: err %v intr %v", err, ip.intr)
	}
	e := make([]byte, 20)
	binary.NativeEndian.PutUint32(e[0:], 20)
	binary.NativeEndian.PutUint16(e[4:], nlmsgError)
	binary.NativeEndian.PutUint32(e[8:], 7)
	binary.NativeEndian.PutUint32(e[16:], uint32(0xffffffff)) // -EPERM
	ep := diagParser{seq: 7}
	if err := ep.parse(e); err == nil || !strings.Contains(err.Error(), "errno 1") {
		t.Errorf("error reply: %v", err)
	}
}

func TestDiagRequest(t *testing.T) {
	b := diagRequest(5, 10, 17, extUDP)
	if len(b) != 72 || binary.NativeEndian.Uint32(b) != 72 || binary.NativeEndian.Uint16(b[4:]) != sockDiagByFam || binary.NativeEndian.Uint32(b[8:]) != 5 {
		t.Fatalf("header % x", b[:16])
	}
	if b[16] != 10 || b[17] != 17 || b[18] != 64 || binary.NativeEndian.Uint32(b[20:]) != 0xfff {
		t.Errorf("request % x", b[16:24])
	}
}

// FuzzDiagParse feeds arbitrary datagrams to the sock_diag parser and
// arbitrary attributes to the tcp_info and meminfo parsers: no panic, and
// a parsed tcp_info's Size is its input's length.
func FuzzDiagParse(f *testing.F) {
	stream := readHexDump(f, "testdata/diag/tcp-established.hex")
	f.Add(stream)
	f.Add(stream[:120])
	f.Add(readHexDump(f, "testdata/tcpinfo/linux-6.18-bulk.hex"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, pr := range []flows.Proto{flows.ProtoTCP, flows.ProtoUDP} {
			p := diagParser{proto: pr, seq: 7}
			_ = p.parse(b)
			for _, s := range p.socks {
				if s.TCP != nil && s.State != attrib.StateEstablished {
					t.Fatalf("tcp_info kept for state %d", s.State)
				}
			}
		}
		if ti, ok := parseTCPInfo(b); ok && int(ti.Size) != min(len(b), 1<<16-1) {
			t.Fatalf("Size %d of %d bytes", ti.Size, len(b))
		}
		_ = parseMemInfo(b)
	})
}

// exactFixture is testdata/diag/tcp-exact.hex split in its two datagrams
// (the answer with tcp_info to request 100, the error answering request
// 101) and the two requests' identities: the socket's, then the same
// with its cookie altered, as the fixture's requests had them.
func exactFixture(tb testing.TB) (answer, errAnswer []byte, ids []exactID) {
	tb.Helper()
	b := readHexDump(tb, "testdata/diag/tcp-exact.hex")
	n := int(binary.NativeEndian.Uint32(b))
	answer, errAnswer = b[:n], b[n:]
	id := exactID{idx: 0, fam: answer[nlmsgHdrLen]}
	copy(id.id[:], answer[nlmsgHdrLen+4:])
	bad := id
	bad.idx = 1
	bad.id[40] ^= 0xff
	return answer, errAnswer, []exactID{id, bad}
}

// TestExactRequestsFixture: the requests exactRequests builds are the
// bytes the kernel echoed in its error answer (it took them as a request
// for that socket: the first was answered with its tcp_info).
func TestExactRequestsFixture(t *testing.T) {
	_, errAnswer, ids := exactFixture(t)
	req := exactRequests(nil, 100, ids, 6, extTCP)
	if len(req) != 2*72 {
		t.Fatalf("%d bytes, want two requests of 72", len(req))
	}
	echo := errAnswer[nlmsgHdrLen+4:]
	if d := cmp.Diff(echo, req[72:]); d != "" {
		t.Errorf("second request against the kernel's echo (-echo +ours):\n%s", d)
	}
	first := req[:72]
	if binary.NativeEndian.Uint32(first[8:]) != 100 || binary.NativeEndian.Uint16(first[6:]) != 1 {
		t.Errorf("first request: seq %d flags %#x, want 100 and NLM_F_REQUEST only", binary.NativeEndian.Uint32(first[8:]), binary.NativeEndian.Uint16(first[6:]))
	}
	if string(first[24:72]) != string(ids[0].id[:]) {
		t.Error("first request does not carry the socket's identity")
	}
	// Appending keeps what dst held.
	if got := exactRequests([]byte{1, 2}, 1, ids[:1], 6, extTCP); len(got) != 74 || got[0] != 1 {
		t.Errorf("append: %d bytes % x", len(got), got[:2])
	}
}

func TestParseExactFixture(t *testing.T) {
	answer, errAnswer, ids := exactFixture(t)
	fresh := func() *diagParser {
		return &diagParser{proto: flows.ProtoTCP, socks: []attrib.Socket{{State: attrib.StateEstablished}, {State: attrib.StateEstablished}}}
	}
	p := fresh()
	var answered uint64
	for _, dg := range [][]byte{answer, errAnswer} {
		lost, err := p.parseExact(dg, 100, ids, &answered)
		if err != nil || lost != 0 {
			t.Fatalf("lost %d, %v", lost, err)
		}
	}
	if answered != 0b11 {
		t.Errorf("answered %b, want both", answered)
	}
	s := p.socks[0]
	if s.TCP == nil || s.TCP.Size != 280 || s.TCP.State != attrib.StateEstablished || s.TCP.SndMSS == 0 || !s.HasCounters {
		t.Errorf("answered socket: %+v", s)
	}
	if p.socks[1].TCP != nil {
		t.Error("the socket answered ENOENT got tcp_info")
	}

	// A SOCK_DIAG_BY_FAMILY answer shorter than inet_diag_msg.
	short := append([]byte(nil), answer[:nlmsgHdrLen+40]...)
	binary.NativeEndian.PutUint32(short, uint32(len(short)))
	tests := []struct {
		name     string
		in       []byte
		seq      uint32
		ids      []exactID
		answered uint64
		lost     int
		err      bool
	}{
		{"answer to another batch", answer, 90, ids, 0, 0, false},
		{"answer after the batch", answer, 99, ids[:1], 0, 0, false},
		{"another socket's answer", answer, 100, []exactID{ids[1]}, 0, 0, false},
		{"error answer", errAnswer, 100, ids, 0b10, 0, false},
		{"truncated", answer[:100], 100, ids, 0, 0, true},
		{"short message", short, 100, ids, 0, 0, true},
	}
	// An errno other than ENOENT is counted lost.
	eperm := append([]byte(nil), errAnswer...)
	binary.NativeEndian.PutUint32(eperm[nlmsgHdrLen:], uint32(0xffffffff))
	tests = append(tests, struct {
		name     string
		in       []byte
		seq      uint32
		ids      []exactID
		answered uint64
		lost     int
		err      bool
	}{"EPERM", eperm, 100, ids, 0b10, 1, false})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := fresh()
			var answered uint64
			lost, err := p.parseExact(tc.in, tc.seq, tc.ids, &answered)
			if (err != nil) != tc.err || lost != tc.lost || answered != tc.answered {
				t.Errorf("err %v lost %d answered %b, want err %v lost %d answered %b", err, lost, answered, tc.err, tc.lost, tc.answered)
			}
		})
	}
	// A second answer to an answered request changes nothing.
	p = fresh()
	answered = 0b1
	if _, err := p.parseExact(answer, 100, ids, &answered); err != nil || p.socks[0].TCP != nil {
		t.Errorf("second answer: %v, tcp_info %v", err, p.socks[0].TCP)
	}
}

// TestDiagParserCollectsExact: a dump without tcp_info collects the
// identity of each established TCP socket the want set names, and only
// those.
func TestDiagParserCollectsExact(t *testing.T) {
	stream := readHexDump(t, "testdata/diag/tcp-established.hex")
	// The fixture's message without its attributes, as a dump without
	// INET_DIAG_INFO sends it.
	msg := append([]byte(nil), stream[:nlmsgHdrLen+inetDiagMsgLen]...)
	binary.NativeEndian.PutUint32(msg, uint32(len(msg)))
	done := stream[int(binary.NativeEndian.Uint32(stream)):]
	bare := append(msg, done...)
	var want, other CookieSet
	want.Add(0xbd84)
	other.Add(0xbd84 + 1<<16) // the same low bits
	tests := []struct {
		name   string
		in     []byte
		proto  flows.Proto
		want   *CookieSet
		exacts int
	}{
		{"named", bare, flows.ProtoTCP, &want, 1},
		{"not named, same low bits", bare, flows.ProtoTCP, &other, 0},
		{"no set", bare, flows.ProtoTCP, nil, 0},
		{"UDP", bare, flows.ProtoUDP, &want, 0},
		{"already has tcp_info", stream, flows.ProtoTCP, &want, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := diagParser{proto: tc.proto, seq: 7, want: tc.want}
			if err := p.parse(tc.in); err != nil || !p.done || len(p.socks) != 1 {
				t.Fatalf("%v, done %v, %d sockets", err, p.done, len(p.socks))
			}
			if len(p.exact) != tc.exacts {
				t.Fatalf("%d exact requests, want %d", len(p.exact), tc.exacts)
			}
			if tc.exacts == 1 {
				e := p.exact[0]
				if e.idx != 0 || e.fam != afInet || string(e.id[:]) != string(msg[nlmsgHdrLen+4:nlmsgHdrLen+52]) {
					t.Errorf("exact %+v", e)
				}
			}
		})
	}
}

func TestCookieSet(t *testing.T) {
	var nilSet *CookieSet
	if nilSet.Has(1) || nilSet.Len() != 0 {
		t.Error("nil set not empty")
	}
	var c CookieSet
	for _, k := range []uint64{1, 1 << 16, 1<<63 | 5, 1} {
		c.Add(k)
	}
	if c.Len() != 3 {
		t.Errorf("Len %d, want 3", c.Len())
	}
	for k, want := range map[uint64]bool{1: true, 1 << 16: true, 1<<63 | 5: true, 5: false, 1<<16 | 1<<17: false, 0: false} {
		if c.Has(k) != want {
			t.Errorf("Has(%#x) = %v", k, !want)
		}
	}
	c.reset()
	if c.Len() != 0 || c.Has(1) {
		t.Error("reset set not empty")
	}
}

func TestBatchFor(t *testing.T) {
	for rcvbuf, want := range map[int]int{212992: 64, 65536: 32, 4096: 2, 1000: 1, 0: 1, 8 << 20: 64} {
		if got := batchFor(rcvbuf); got != want {
			t.Errorf("batchFor(%d) = %d, want %d", rcvbuf, got, want)
		}
	}
}

// FuzzDiagParseExact feeds arbitrary datagrams to parseExact for the
// fixture's two requests: no panic, only those requests marked answered,
// and tcp_info only on the established sockets asked.
func FuzzDiagParseExact(f *testing.F) {
	answer, errAnswer, ids := exactFixture(f)
	f.Add(answer, uint32(100))
	f.Add(errAnswer, uint32(100))
	f.Add(append(append([]byte(nil), answer...), errAnswer...), uint32(100))
	f.Add(answer[:90], uint32(100))
	f.Fuzz(func(t *testing.T, b []byte, seq uint32) {
		p := diagParser{proto: flows.ProtoTCP, socks: []attrib.Socket{{State: attrib.StateEstablished}, {State: attrib.StateEstablished}, {State: attrib.StateEstablished}}}
		var answered uint64
		_, _ = p.parseExact(b, seq, ids, &answered)
		if answered&^0b11 != 0 {
			t.Fatalf("answered %b: beyond the two requests", answered)
		}
		if p.socks[2].TCP != nil {
			t.Fatal("tcp_info on a socket not asked")
		}
		// The answers collected by a dump parse of the same bytes.
		var want CookieSet
		want.Add(0xa7d0)
		q := diagParser{proto: flows.ProtoTCP, seq: seq, want: &want}
		_ = q.parse(b)
		for _, e := range q.exact {
			if e.idx >= len(q.socks) || q.socks[e.idx].State != attrib.StateEstablished || q.socks[e.idx].Cookie != 0xa7d0 {
				t.Fatalf("exact %+v for socket %+v", e, q.socks)
			}
		}
	})
}
