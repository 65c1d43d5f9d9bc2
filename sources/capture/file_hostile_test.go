package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"netriage/triage/flows"
)

// Hand-built pcapng files: every block is written here so that lengths
// can lie. Little-endian unless a test says otherwise.

// ngFile builds a pcapng file block by block.
type ngFile struct {
	b     []byte
	order binary.ByteOrder
}

func newNg() *ngFile { return &ngFile{order: binary.LittleEndian} }

func (w *ngFile) u16(v uint16) []byte { b := make([]byte, 2); w.order.PutUint16(b, v); return b }
func (w *ngFile) u32(v uint32) []byte { b := make([]byte, 4); w.order.PutUint32(b, v); return b }

// block appends a block of type typ with body (padded to 4 bytes) and a
// correct total length in front and behind.
func (w *ngFile) block(typ uint32, body ...[]byte) *ngFile {
	b := cat(body...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	n := uint32(12 + len(b))
	w.b = append(w.b, cat(w.u32(typ), w.u32(n), b, w.u32(n))...)
	return w
}

// raw appends bytes as they are (for blocks whose lengths lie).
func (w *ngFile) raw(parts ...[]byte) *ngFile {
	w.b = append(w.b, cat(parts...)...)
	return w
}

// opt is one option (code, length, value padded to 4 bytes).
func (w *ngFile) opt(code uint16, v []byte) []byte {
	o := cat(w.u16(code), w.u16(uint16(len(v))), v)
	for len(o)%4 != 0 {
		o = append(o, 0)
	}
	return o
}

func (w *ngFile) shb(opts ...[]byte) *ngFile {
	return w.block(0x0a0d0d0a, w.u32(0x1a2b3c4d), w.u16(1), w.u16(0), bytes.Repeat([]byte{0xff}, 8), cat(opts...))
}

func (w *ngFile) idb(link uint16, snap uint32, opts ...[]byte) *ngFile {
	return w.block(1, w.u16(link), w.u16(0), w.u32(snap), cat(opts...))
}

// epb is an enhanced packet block on interface ifc whose captured length
// field says caplen while it holds data.
func (w *ngFile) epb(ifc, caplen, wire uint32, data []byte) *ngFile {
	return w.block(6, w.u32(ifc), w.u32(0x5f5e1), w.u32(0x2a), w.u32(caplen), w.u32(wire), data)
}

// spb is a simple packet block: original length, then the data.
func (w *ngFile) spb(wire uint32, data []byte) *ngFile {
	return w.block(3, w.u32(wire), data)
}

func (w *ngFile) isb(ifc uint32, opts ...[]byte) *ngFile {
	return w.block(5, w.u32(ifc), w.u32(0), w.u32(0), cat(opts...))
}

// filler is a block of a type no reader interprets (a custom block with
// a private enterprise number), of total length n. Its text body keeps
// the fuzz corpus files that hold it small.
func (w *ngFile) filler(n int) *ngFile {
	return w.block(0x40000bad, w.u32(32473), bytes.Repeat([]byte{'x'}, n-16))
}

// udpFrame is an Ethernet/IPv4/UDP frame of 60 bytes.
func udpFrame() []byte { return ether(etIPv4, ip4(v4a, v4b, 17, udpDgram(1000, 2000, 18), 0, false)) }

// The three shapes of the issue: each made a 4 GiB allocation.
func hostileShapes() []struct {
	name string
	data []byte
	msg  string
} {
	frame := udpFrame()
	var ifAfter64 = newNg().shb()
	for i := 0; i < 64; i++ {
		ifAfter64.filler(16)
	}
	ifAfter64.idb(1, 0xffffffff).epb(0, uint32(len(frame)), uint32(len(frame)), frame)

	spb4G := newNg().shb().idb(1, 0).spb(0xfffffff0, frame)

	epbAfter65K := newNg().shb().idb(1, 0).epb(0, uint32(len(frame)), uint32(len(frame)), frame).
		filler(65*1024).epb(0, 0xffffff00, 0xffffff00, frame)

	return []struct {
		name string
		data []byte
		msg  string
	}{
		{"interface block after 64 blocks", ifAfter64.b, "snap length"},
		{"simple packet claiming 4 GiB", spb4G.b, "simple packet"},
		{"enhanced packet after a 65 KB block", epbAfter65K.b, "captured length"},
	}
}

// fuzzSeedDir holds FuzzPcapReader's seed files (Go's corpus format).
const fuzzSeedDir = "testdata/fuzz/FuzzPcapReader"

// fuzzSeedName is the corpus file of a hostile shape.
func fuzzSeedName(shape string) string {
	return "pcapng-" + strings.ReplaceAll(shape, " ", "-")
}

// TestFuzzSeeds keeps the fuzz corpus files of the hostile shapes
// identical to what the generators write; -update rewrites them.
func TestFuzzSeeds(t *testing.T) {
	for _, s := range hostileShapes() {
		p := filepath.Join(fuzzSeedDir, fuzzSeedName(s.name))
		want := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s.data)) + ")\n"
		if *update {
			if err := os.MkdirAll(fuzzSeedDir, 0o755); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, p, []byte(want))
			continue
		}
		if got, err := os.ReadFile(p); err != nil || string(got) != want {
			t.Errorf("%s differs from the generator (run go test ./sources/capture -run TestFuzzSeeds -update)", p)
		}
	}
}

// heapAllocs is the cumulative count of bytes allocated on the heap.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// readAll opens data as a capture and reads it to its end or first error.
func readAll(name string, r io.Reader) (packets uint64, err error) {
	fl, err := NewFileReader(name, r)
	if err != nil {
		return 0, err
	}
	var m Meta
	for {
		if err := fl.Next(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return fl.Packets(), nil
			}
			return fl.Packets(), err
		}
	}
}

// allocCeiling is what reading a small file may allocate in all: the read
// buffers, one packet buffer of at most the packet limit, decoders.
const allocCeiling = 4 << 20

func TestHostilePcapngAllocation(t *testing.T) {
	for _, tc := range hostileShapes() {
		for _, src := range []string{"file", "stream"} {
			t.Run(tc.name+"/"+src, func(t *testing.T) {
				var (
					before = heapAllocs()
					err    error
				)
				switch src {
				case "file":
					p := filepath.Join(t.TempDir(), "hostile.pcapng")
					mustWrite(t, p, tc.data)
					var fl *File
					if fl, err = OpenFile(p); err == nil {
						var m Meta
						for err == nil {
							err = fl.Next(&m)
						}
						fl.Close()
					}
				case "stream":
					// No size is known: only the fixed ceilings apply.
					_, err = readAll("hostile.pcapng", io.MultiReader(bytes.NewReader(tc.data)))
				}
				grew := heapAllocs() - before
				if grew > allocCeiling {
					t.Errorf("reading %d bytes allocated %d MiB", len(tc.data), grew>>20)
				}
				var fe *FileError
				if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) {
					t.Fatalf("err %v, want a FileError wrapping ErrCorrupt", err)
				}
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("err %q, want it to mention %q", err, tc.msg)
				}
			})
		}
	}
}

// ngPacket is what a pcapng reader returned for one packet.
type ngPacket struct {
	ci   gopacket.CaptureInfo
	data string
}

// pcapgoPackets reads data with gopacket's pcapng reader alone.
func pcapgoPackets(t *testing.T, data []byte) []ngPacket {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatalf("pcapgo: %v", err)
	}
	var out []ngPacket
	for {
		d, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("pcapgo after %d packets: %v", len(out), err)
		}
		ci.AncillaryData = nil
		out = append(out, ngPacket{ci, string(d)})
	}
}

// validNg are well-formed pcapng files that use what the guard walks:
// options of every parsed block (with and without an end marker), both
// byte orders, several sections, the blocks that are skipped, simple
// packets cut by the snap length, the obsolete packet block, and the
// statistics blocks that capture tools write at the end.
func validNg() []struct {
	name string
	data []byte
} {
	frame := udpFrame()
	n := uint32(len(frame))
	opts := func(w *ngFile) *ngFile {
		return w.shb(w.opt(1, []byte("section comment")), w.opt(4, []byte("linux")), w.opt(0, nil)).
			idb(1, 262144, w.opt(2, []byte("eth0")), w.opt(9, []byte{9}), w.opt(0, nil)).
			idb(1, 0, w.opt(3, bytes.Repeat([]byte("d"), 3000))). // no end marker
			epb(0, n, n, cat(frame, w.opt(1, []byte("packet comment")), w.opt(0, nil))).
			epb(1, n, n+100, frame).
			isb(0, w.opt(4, make([]byte, 8)), w.opt(5, make([]byte, 8)), w.opt(0, nil)).
			isb(1)
	}
	be := &ngFile{order: binary.BigEndian}
	ps := newNg().shb().idb(1, 0)
	ps.block(ngPacketOld, ps.u16(0), ps.u16(0), ps.u32(0), ps.u32(7), ps.u32(n), ps.u32(n), frame)
	skip := newNg().shb().idb(1, 0)
	skip.block(ngNames, skip.u16(1), skip.u16(8), []byte{198, 18, 0, 1, 'h', 0, 0, 0}, skip.u32(0))
	skip.epb(0, n, n, frame)
	skip.block(ngSecrets, skip.u32(0x544c534b), skip.u32(4), []byte("keys"))
	skip.filler(40).epb(0, n, n, frame).filler(70*1024).epb(0, n, n, frame)
	return []struct {
		name string
		data []byte
	}{
		{"options everywhere", opts(newNg()).b},
		{"big-endian", opts(be).b},
		{"two sections", opts(opts(newNg())).b},
		{"big-endian then little-endian", opts(opts(&ngFile{order: binary.BigEndian})).b},
		{"simple packets cut by the snap length", newNg().shb().idb(1, 40).spb(n, frame[:40]).spb(30, frame[:30]).b},
		{"obsolete packet block", ps.b},
		{"skipped blocks", skip.b},
		{"no packets", newNg().shb().idb(1, 0).b},
		{"section header alone", newNg().shb().b},
	}
}

// TestPcapngGuardValid reads well-formed files through the guard and checks
// that it passes every packet exactly as gopacket's reader reads it alone.
func TestPcapngGuardValid(t *testing.T) {
	for _, tc := range validNg() {
		for _, src := range []string{"sized", "stream"} {
			t.Run(tc.name+"/"+src, func(t *testing.T) {
				want := pcapgoPackets(t, tc.data)
				var r io.Reader = bytes.NewReader(tc.data)
				if src == "stream" {
					r = io.MultiReader(r)
				}
				fl, err := NewFileReader("ok.pcapng", r)
				if err != nil {
					t.Fatal(err)
				}
				var got []ngPacket
				for {
					d, ci, _, err := fl.ReadRaw()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatalf("after %d packets: %v", len(got), err)
					}
					got = append(got, ngPacket{ci, string(d)})
				}
				if len(got) != len(want) {
					t.Fatalf("%d packets, pcapgo reads %d", len(got), len(want))
				}
				for i := range got {
					if got[i].ci.Timestamp != want[i].ci.Timestamp || got[i].ci.CaptureLength != want[i].ci.CaptureLength ||
						got[i].ci.Length != want[i].ci.Length || got[i].ci.InterfaceIndex != want[i].ci.InterfaceIndex || got[i].data != want[i].data {
						t.Errorf("packet %d: %+v, pcapgo %+v", i, got[i].ci, want[i].ci)
					}
				}
				if fl.Offset() != int64(len(tc.data)) {
					t.Errorf("offset %d at the end, file has %d bytes", fl.Offset(), len(tc.data))
				}
			})
		}
	}
}

// TestPcapngGuardDamaged: each damaged block is reported at its own offset
// with what was wrong, after the packets before it, whether the file's size
// is known or not.
func TestPcapngGuardDamaged(t *testing.T) {
	frame := udpFrame()
	n := uint32(len(frame))
	head := newNg().shb().idb(1, 0).epb(0, n, n, frame)
	at := int64(len(head.b)) // the damaged block follows one good packet
	with := func(f func(w *ngFile)) []byte {
		w := newNg().shb().idb(1, 0).epb(0, n, n, frame)
		f(w)
		return w.b
	}
	manyIfaces := newNg().shb()
	for i := 0; i <= maxInterfaces; i++ {
		manyIfaces.idb(1, 0)
	}
	tests := []struct {
		name    string
		data    []byte
		offset  int64
		packets uint64
		msg     string
	}{
		{"length not a multiple of 4", with(func(w *ngFile) { w.raw(w.u32(6), w.u32(61), make([]byte, 53)) }), at, 1, "impossible length of 61 bytes"},
		{"shorter than its fixed fields", with(func(w *ngFile) { w.raw(w.u32(6), w.u32(28), make([]byte, 20)) }), at, 1, "impossible length of 28 bytes (at least 32"},
		{"larger than the block limit", with(func(w *ngFile) { w.raw(w.u32(6), w.u32(maxBlock+4), make([]byte, 64)) }), at, 1, "larger than the 16 MiB limit"},
		{"longer than the file", with(func(w *ngFile) { w.raw(w.u32(6), w.u32(4096), make([]byte, 100)) }), at, 1, "file ends inside a pcapng enhanced packet block"},
		{"cut inside a block header", with(func(w *ngFile) { w.raw(w.u32(6)) }), at, 1, "file ends inside a pcapng block header (4 bytes"},
		{"cut inside a packet", with(func(w *ngFile) { w.epb(0, n, n, frame); w.b = w.b[:len(w.b)-20] }), at, 1, "file ends inside a pcapng enhanced packet block"},
		{"trailing length differs", with(func(w *ngFile) { w.epb(0, n, n, frame); w.order.PutUint32(w.b[len(w.b)-4:], 96) }), at, 1, "ends with a length of 96 bytes"},
		{"captured length past its block", with(func(w *ngFile) { w.epb(0, n+8, n+8, frame) }), at, 1, "captured length of 68 bytes, its 92-byte block holds at most 60"},
		{"captured length past the packet limit", with(func(w *ngFile) { w.epb(0, maxSnap+1, maxSnap+1, frame) }), at, 1, "more than the 1 MiB packet limit"},
		{"simple packet past its block", with(func(w *ngFile) { w.spb(n+4, frame) }), at, 1, "simple packet block claims a captured length of 64 bytes"},
		{"snap length past the packet limit", with(func(w *ngFile) { w.idb(1, 2<<20) }), at, 1, "snap length of 2097152 bytes"},
		{"option past its block", with(func(w *ngFile) { w.idb(1, 0, w.u16(2), w.u16(200), w.u32(0)) }), at, 1, "option of 200 bytes where only 4 are left"},
		{"end-of-options with a length", with(func(w *ngFile) { w.idb(1, 0, w.u16(0), w.u16(4), w.u32(0)) }), at, 1, "end-of-options marker of length 4"},
		{"section header option past its block", with(func(w *ngFile) { w.shb(w.u16(1), w.u16(9), w.u32(0)) }), at, 1, "section header block has an option of 9 bytes"},
		{"no byte-order mark", with(func(w *ngFile) { w.block(ngSection, w.u32(0x01020304), make([]byte, 12)) }), at, 1, "without a valid byte-order mark"},
		{"too many interfaces", manyIfaces.b, 28 + maxInterfaces*20, 0, "more than 4096 interfaces"},
		{"first section header damaged", newNg().raw(newNg().u32(ngSection), newNg().u32(30), newNg().u32(0x1a2b3c4d), make([]byte, 40)).b, 0, 0, "impossible length of 30 bytes"},
	}
	for _, tc := range tests {
		for _, src := range []string{"file", "stream"} {
			t.Run(tc.name+"/"+src, func(t *testing.T) {
				before := heapAllocs()
				var (
					packets uint64
					err     error
				)
				switch src {
				case "file":
					p := filepath.Join(t.TempDir(), "bad.pcapng")
					mustWrite(t, p, tc.data)
					var fl *File
					if fl, err = OpenFile(p); err == nil {
						var m Meta
						for err == nil {
							err = fl.Next(&m)
						}
						packets = fl.Packets()
						fl.Close()
					}
				case "stream":
					packets, err = readAll("bad.pcapng", io.MultiReader(bytes.NewReader(tc.data)))
				}
				if grew := heapAllocs() - before; grew > allocCeiling {
					t.Errorf("allocated %d KiB", grew>>10)
				}
				var fe *FileError
				if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) {
					t.Fatalf("err %v, want a FileError", err)
				}
				if fe.Offset != tc.offset || packets != tc.packets || fe.Packets != tc.packets || !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("err %q (offset %d, %d packets), want %q at %d after %d", err, fe.Offset, packets, tc.msg, tc.offset, tc.packets)
				}
				if strings.Contains(tc.msg, "file ends") != errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("err %v: a cut file wraps io.ErrUnexpectedEOF, nothing else does", err)
				}
			})
		}
	}
}

// TestPcapngEndsWithStatistics: capture tools write interface statistics
// after the last packet; the file ends there, it is not cut.
func TestPcapngEndsWithStatistics(t *testing.T) {
	frame := udpFrame()
	w := newNg().shb().idb(1, 0).epb(0, 60, 60, frame)
	w.isb(0, w.opt(4, make([]byte, 8)), w.opt(0, nil))
	for _, src := range []string{"sized", "stream"} {
		var r io.Reader = bytes.NewReader(w.b)
		if src == "stream" {
			r = io.MultiReader(r)
		}
		if n, err := readAll("isb.pcapng", r); n != 1 || err != nil {
			t.Errorf("%s: %d packets, err %v; want 1 and the end of the file", src, n, err)
		}
	}
}

// TestPcapRecordPastFile: an uncompressed pcap record that claims more
// bytes than the file holds is a cut file, reported before the reader
// allocates for it.
func TestPcapRecordPastFile(t *testing.T) {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	_ = w.WriteFileHeader(262144, layers.LinkTypeEthernet)
	frame := udpFrame()
	_ = w.WritePacket(gopacket.CaptureInfo{Timestamp: ts0, CaptureLength: len(frame), Length: len(frame)}, frame)
	at := int64(b.Len())
	hdr := make([]byte, 16)
	binary.LittleEndian.PutUint32(hdr[8:], 200000)
	binary.LittleEndian.PutUint32(hdr[12:], 200000)
	b.Write(hdr)
	b.Write(frame)
	before := heapAllocs()
	n, err := readAll("cut.pcap", bytes.NewReader(b.Bytes()))
	grew := heapAllocs() - before
	var fe *FileError
	if n != 1 || !errors.As(err, &fe) || fe.Offset != at || !errors.Is(err, io.ErrUnexpectedEOF) ||
		!strings.Contains(err.Error(), "middle of a record (of 200000 captured bytes, 60 are present)") {
		t.Fatalf("%d packets, err %v", n, err)
	}
	// Only the snap-length buffer of the first packet (256 KiB), not the
	// claimed record on top.
	if grew > 200000+262144+128<<10 {
		t.Errorf("allocated %d KiB", grew>>10)
	}
}

// TestPcapngLinkType: a pcapng file reports its first interface's link
// type when it is opened (the filter is compiled for it), and an
// unsupported one is refused as in a pcap file.
func TestPcapngLinkType(t *testing.T) {
	frame := udpFrame()
	for _, tc := range []struct {
		name string
		data []byte
		link LinkType
		err  string
	}{
		{"ethernet", newNg().shb().idb(1, 0).epb(0, 60, 60, frame).b, LinkEthernet, ""},
		{"big-endian ethernet", (&ngFile{order: binary.BigEndian}).shb().idb(1, 0).b, LinkEthernet, ""},
		{"linux sll2", newNg().shb().idb(uint16(LinkSLL2), 0).b, LinkSLL2, ""},
		{"802.11", newNg().shb().idb(105, 0).b, 0, "802.11 (105)"},
		{"no interface yet", newNg().shb().filler(16).idb(1, 0).b, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fl, err := NewFileReader("x.pcapng", bytes.NewReader(tc.data))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "x.pcapng") {
					t.Errorf("err %v, want %q and the file name", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fl.LinkType() != tc.link {
				t.Errorf("link type %v, want %v", fl.LinkType(), tc.link)
			}
		})
	}
}

// TestReplayFilterPcapng: a filter selects the same packets from the
// pcapng file as from the pcap file of the same capture.
func TestReplayFilterPcapng(t *testing.T) {
	dir := t.TempDir()
	var got []uint64
	for _, c := range capFiles()[:2] {
		s, err := Replay(context.Background(), writeCap(t, dir, c), ReplayOptions{Table: flows.TableConfig{MaxFlows: 100}, Filter: "ip6"})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s.Totals.Packets())
	}
	if got[0] == 0 || got[0] != got[1] {
		t.Errorf("ip6 packets: pcap %d, pcapng %d", got[0], got[1])
	}
}

// A file that is no capture is refused without quoting its bytes.
func TestNotACaptureQuotesNothing(t *testing.T) {
	_, err := NewFileReader("x.bin", bytes.NewReader([]byte("interSECRET-data, no capture at all..........")))
	if err == nil || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
	for _, leak := range []string{"inte", "SECRET", "65746e69", "696e7465"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q quotes the file (%q)", err, leak)
		}
	}
}
