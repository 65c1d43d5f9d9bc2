package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"netriage/triage/flows"
)

var update = flag.Bool("update", false, "rewrite testdata files")

type rec struct {
	frame  []byte
	caplen int // 0: whole frame
}

// mixedEthernet is a capture of many shapes on Ethernet: both directions of
// TCP, VLAN and QinQ, IPv6 with extension headers, ICMP, fragments, ARP,
// and a packet cut by the snap length.
func mixedEthernet() []rec {
	var rs []rec
	for i := 0; i < 20; i++ {
		rs = append(rs, rec{frame: ether(etIPv4, ip4(v4a, v4b, 6, tcpSeg(40000, 443, 100+i*50), 0, false))})
		rs = append(rs, rec{frame: ether(etIPv4, ip4(v4b, v4a, 6, tcpSeg(443, 40000, 1400), 0, false))})
	}
	for i := 0; i < 5; i++ {
		rs = append(rs,
			rec{frame: ether(etVLAN, vlanTag(100, etIPv6, ip6(v6a, v6b, 17, udpDgram(5353, 53, 30+i))))},
			rec{frame: ether(etQinQ, vlanTag(10, etVLAN, vlanTag(20, etIPv4, ip4(v4a, netip.MustParseAddr("198.18.2.9"), 17, udpDgram(1000, 2000, 200), 0, false))))},
			rec{frame: ether(etIPv6, ip6(v6b, v6a, 60, cat(ext6(43), ext6(6), tcpSeg(80, 1234, 500))))},
			rec{frame: ether(etIPv4, ip4(v4a, v4b, 1, icmpEcho(56), 0, false))},
			rec{frame: ether(etARP, make([]byte, 28))},
		)
	}
	rs = append(rs,
		rec{frame: ether(etIPv4, ip4(v4a, v4b, 17, udpDgram(7, 8, 1472)[:1480], 0, true))},
		rec{frame: ether(etIPv4, ip4(v4a, v4b, 17, make([]byte, 100), 185, false))},
		rec{frame: ether(etIPv6, ip6(v6a, v6b, 44, cat(frag6(17, 0, true), udpDgram(7, 8, 1000)[:800])))},
		rec{frame: ether(etIPv6, ip6(v6a, v6b, 44, cat(frag6(17, 100, false), make([]byte, 208))))},
		rec{frame: ether(etIPv4, ip4(v4b, v4a, 6, tcpSeg(443, 40000, 9000), 0, false)), caplen: 96},
	)
	return rs
}

func simple(wrap func([]byte) []byte) []rec {
	var rs []rec
	for i := 0; i < 10; i++ {
		rs = append(rs,
			rec{frame: wrap(ip4(v4a, v4b, 6, tcpSeg(40000, 443, 10*i), 0, false))},
			rec{frame: wrap(ip6(v6b, v6a, 17, udpDgram(53, 5353, 100)))},
		)
	}
	return rs
}

type capFile struct {
	name string
	link LinkType
	ng   bool
	recs []rec
}

func capFiles() []capFile {
	return []capFile{
		{"ethernet.pcap", LinkEthernet, false, mixedEthernet()},
		{"ethernet.pcapng", LinkEthernet, true, mixedEthernet()},
		{"sll.pcap", LinkSLL, false, simple(func(b []byte) []byte {
			if b[0]>>4 == 6 {
				return sll(etIPv6, b)
			}
			return sll(etIPv4, b)
		})},
		{"sll2.pcap", LinkSLL2, false, simple(func(b []byte) []byte {
			if b[0]>>4 == 6 {
				return sll2(etIPv6, b)
			}
			return sll2(etIPv4, b)
		})},
		{"raw.pcap", LinkRaw, false, simple(func(b []byte) []byte { return b })},
		{"null.pcap", LinkNull, false, simple(func(b []byte) []byte {
			if b[0]>>4 == 6 {
				return null(24, b)
			}
			return null(2, b)
		})},
	}
}

// writeCap writes c into dir and returns its path. Records are 10 ms apart,
// spread over several seconds.
func writeCap(t testing.TB, dir string, c capFile) string {
	t.Helper()
	var buf bytes.Buffer
	var write func(ci gopacket.CaptureInfo, b []byte) error
	flush := func() {}
	switch {
	case c.ng:
		w, err := pcapgo.NewNgWriter(&buf, layers.LinkType(c.link))
		if err != nil {
			t.Fatal(err)
		}
		flush = func() { _ = w.Flush() }
		write = w.WritePacket
	case c.link > 255:
		// pcapgo.Writer takes an 8-bit link type: write the header here.
		h := make([]byte, 24)
		binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
		binary.LittleEndian.PutUint16(h[4:], 2)
		binary.LittleEndian.PutUint16(h[6:], 4)
		binary.LittleEndian.PutUint32(h[16:], 65535)
		binary.LittleEndian.PutUint32(h[20:], uint32(c.link))
		buf.Write(h)
		w := pcapgo.NewWriter(&buf)
		write = w.WritePacket
	default:
		w := pcapgo.NewWriter(&buf)
		if err := w.WriteFileHeader(65535, layers.LinkType(c.link)); err != nil {
			t.Fatal(err)
		}
		write = w.WritePacket
	}
	ts := time.Unix(1_700_000_000, 0).UTC()
	for i, r := range c.recs {
		data := r.frame
		if r.caplen > 0 {
			data = data[:r.caplen]
		}
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * 37 * time.Millisecond), CaptureLength: len(data), Length: len(r.frame)}
		if err := write(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	flush()
	mustWrite(t, filepath.Join(dir, c.name), buf.Bytes())
	return filepath.Join(dir, c.name)
}

func mustWrite(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type pairKey struct{ a, b netip.Addr }

func mkPair(x, y netip.Addr) pairKey {
	if y.Less(x) {
		x, y = y, x
	}
	return pairKey{x, y}
}

type pairCount struct{ Bytes, Packets uint64 }

func replayPairs(t *testing.T, path string) (map[pairKey]pairCount, flows.Snapshot) {
	t.Helper()
	s, err := Replay(context.Background(), path, ReplayOptions{Table: flows.TableConfig{MaxFlows: 1000}, Aggregation: ByHostPairForTest})
	if err != nil {
		t.Fatal(err)
	}
	out := map[pairKey]pairCount{}
	for _, f := range s.Flows {
		k := mkPair(f.Key.Local, f.Key.Remote)
		c := out[k]
		c.Bytes += f.Bytes()
		c.Packets += f.Packets()
		out[k] = c
	}
	return out, s
}

// ByHostPairForTest is the aggregation the parity tests compare.
const ByHostPairForTest = flows.ByHostPair

// tsharkPairs sums IP lengths per address pair as tshark decodes the file
// (IPv6: 40 + payload length), without reassembly.
func tsharkPairs(t *testing.T, path string) map[pairKey]pairCount {
	t.Helper()
	out, err := exec.Command("tshark", "-r", path, "-n", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
		"-T", "fields", "-E", "separator=;", "-e", "ip.src", "-e", "ip.dst", "-e", "ip.len",
		"-e", "ipv6.src", "-e", "ipv6.dst", "-e", "ipv6.plen").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	res := map[pairKey]pairCount{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ";")
		if len(f) < 6 {
			continue
		}
		var src, dst string
		var n uint64
		switch {
		case f[0] != "":
			src, dst = f[0], f[1]
			n, _ = strconv.ParseUint(f[2], 10, 64)
		case f[3] != "":
			src, dst = f[3], f[4]
			pl, _ := strconv.ParseUint(f[5], 10, 64)
			n = 40 + pl
		default:
			continue
		}
		k := mkPair(netip.MustParseAddr(src), netip.MustParseAddr(dst))
		c := res[k]
		c.Bytes += n
		c.Packets++
		res[k] = c
	}
	return res
}

// TestReplayParityTshark: per address pair, bytes and packets equal what
// tshark computes from the same files. Zero differences.
func TestReplayParityTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (make deps installs it)")
	}
	dir := t.TempDir()
	for _, c := range capFiles() {
		t.Run(c.name, func(t *testing.T) {
			path := writeCap(t, dir, c)
			got, s := replayPairs(t, path)
			want := tsharkPairs(t, path)
			if len(want) == 0 {
				t.Fatal("tshark saw no IP packets")
			}
			keys := func(m map[pairKey]pairCount) []string {
				var ks []string
				for k, v := range m {
					ks = append(ks, fmt.Sprintf("%s-%s %d bytes %d pkts", k.a, k.b, v.Bytes, v.Packets))
				}
				sort.Strings(ks)
				return ks
			}
			g, w := keys(got), keys(want)
			if strings.Join(g, "\n") != strings.Join(w, "\n") {
				t.Errorf("netriage:\n%s\ntshark:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
			if s.Capture.Packets != uint64(len(c.recs)) {
				t.Errorf("capture packets %d, want %d", s.Capture.Packets, len(c.recs))
			}
		})
	}
}

func TestReplayHealth(t *testing.T) {
	path := writeCap(t, t.TempDir(), capFiles()[0])
	s, err := Replay(context.Background(), path, ReplayOptions{Table: flows.TableConfig{MaxFlows: 1000}, Aggregation: flows.By5Tuple})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Capture
	if h.NonIP != 5 || h.Fragments != 4 || h.Truncated != 0 || h.Packets != uint64(len(mixedEthernet())) {
		t.Errorf("health %+v", h)
	}
	// The later fragments have no ports: they join the port-less flow.
	if _, ok := s.Find(flows.Key{Proto: flows.ProtoUDP, Local: v4a, Remote: v4b}); !ok {
		t.Error("no port-less flow for the later IPv4 fragment")
	}
	if _, ok := s.Find(flows.Key{Proto: flows.ProtoUDP, Local: v4a, Remote: v4b, LocalPort: 7, RemotePort: 8}); !ok {
		t.Error("first fragment not in its 5-tuple flow")
	}
	var sum flows.Counts
	for _, f := range s.Flows {
		sum.Add(f.Counts)
	}
	if sum != s.Totals.Counts || s.Capture.Bytes != sum.Bytes() {
		t.Errorf("flows %+v totals %+v", sum, s.Totals.Counts)
	}
}

func TestReplayIntervals(t *testing.T) {
	path := writeCap(t, t.TempDir(), capFiles()[0])
	var seqs []uint64
	var times []time.Time
	final, err := Replay(context.Background(), path, ReplayOptions{Table: flows.TableConfig{MaxFlows: 1000}, Interval: time.Second,
		OnSnapshot: func(s flows.Snapshot) { seqs = append(seqs, s.Seq); times = append(times, s.Time) }})
	if err != nil {
		t.Fatal(err)
	}
	// 70 records 37 ms apart: 2.55 s, boundaries at +1 and +2 s.
	if len(seqs) != 2 || final.Seq != 3 || !times[0].Equal(time.Unix(1_700_000_001, 0)) {
		t.Errorf("seqs %v times %v final %d", seqs, times, final.Seq)
	}
	if !final.Time.Equal(time.Unix(1_700_000_003, 0)) {
		t.Errorf("final time %v", final.Time)
	}
}

func TestReplayCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := writeCap(t, dir, capFiles()[4]) // raw.pcap: 24-byte header, 16-byte record headers
	data, _ := os.ReadFile(path)
	rec0 := 16 + len(ip4(v4a, v4b, 6, tcpSeg(40000, 443, 0), 0, false))
	tests := []struct {
		name    string
		data    []byte
		offset  int64
		packets uint64
		msg     string
	}{
		{"truncated record", data[:len(data)-5], int64(len(data) - 16 - len(ip6(v6b, v6a, 17, udpDgram(53, 5353, 100)))), 19, "middle of a record"},
		{"huge caplen", func() []byte {
			b := bytes.Clone(data)
			binary.LittleEndian.PutUint32(b[24+rec0+8:], 1<<30)
			return b
		}(), int64(24 + rec0), 1, "exceeds snap length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "bad.pcap")
			mustWrite(t, p, tc.data)
			s, err := Replay(context.Background(), p, ReplayOptions{Table: flows.TableConfig{MaxFlows: 100}})
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err %v", err)
			}
			if fe.Offset != tc.offset || fe.Packets != tc.packets || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), p) {
				t.Errorf("err %v (offset %d packets %d)", err, fe.Offset, fe.Packets)
			}
			if s.Totals.Packets() != tc.packets {
				t.Errorf("reported %d packets before the damage, want %d", s.Totals.Packets(), tc.packets)
			}
		})
	}
}

func TestOpenFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "x.pcap")
	for _, tc := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "too short"},
		{"not pcap", []byte("hello world, this is not a capture file"), "not a pcap"},
		{"wifi", func() []byte {
			var b bytes.Buffer
			w := pcapgo.NewWriter(&b)
			_ = w.WriteFileHeader(65535, layers.LinkTypeIEEE802_11)
			return b.Bytes()
		}(), "802.11 (105)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustWrite(t, bad, tc.data)
			_, err := OpenFile(bad)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), bad) {
				t.Errorf("err %v, want %q and the file name", err, tc.msg)
			}
		})
	}
}

func TestReplayFilter(t *testing.T) {
	path := writeCap(t, t.TempDir(), capFiles()[0])
	s, err := Replay(context.Background(), path, ReplayOptions{Table: flows.TableConfig{MaxFlows: 100}, Filter: "ip6 and udp"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range s.Flows {
		if !f.Key.Local.Is6() {
			t.Errorf("filtered replay has %v", f.Key)
		}
	}
	_, err = Replay(context.Background(), path, ReplayOptions{Filter: "tcp port"})
	var fe *FilterError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "tcp port") || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("err %v", err)
	}
}

// TestTestdataPcap keeps testdata/mixed.pcap (the fuzz seed and the e2e
// input) identical to what the generator writes; -update rewrites it.
func TestTestdataPcap(t *testing.T) {
	dir := t.TempDir()
	c := capFiles()[0]
	p := writeCap(t, dir, c)
	got, _ := os.ReadFile(p)
	want, err := os.ReadFile("testdata/mixed.pcap")
	if *update {
		mustWrite(t, "testdata/mixed.pcap", got)
		return
	}
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("testdata/mixed.pcap differs from the generator (run go test ./sources/capture -run TestTestdataPcap -update)")
	}
}
