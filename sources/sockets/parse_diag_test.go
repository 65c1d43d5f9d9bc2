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
