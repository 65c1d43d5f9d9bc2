package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/google/gopacket"
)

// FuzzDecode feeds arbitrary frames of every link type to the decoder: it
// must never panic, and an accounted packet has a valid address pair.
func FuzzDecode(f *testing.F) {
	for _, s := range shapes() {
		f.Add(uint16(s.link), s.frame)
	}
	links := []LinkType{LinkEthernet, LinkSLL, LinkSLL2, LinkRaw, LinkNull, LinkIPv4, LinkIPv6}
	decs := map[LinkType]*Decoder{}
	for _, l := range links {
		decs[l], _ = NewDecoder(l)
	}
	f.Fuzz(func(t *testing.T, link uint16, frame []byte) {
		d := decs[links[int(link)%len(links)]]
		ci := gopacket.CaptureInfo{Timestamp: ts0, Length: len(frame), CaptureLength: len(frame)}
		var m Meta
		d.Decode(frame, &ci, &m)
		if m.Flags&FlagIP != 0 && (!m.Src.IsValid() || !m.Dst.IsValid()) {
			t.Fatalf("accounted packet without addresses: %+v", m)
		}
		if m.Flags&FlagIP != 0 && m.Flags&FlagNonIP != 0 {
			t.Fatalf("both IP and non-IP: %b", m.Flags)
		}
	})
}

// FuzzPcapReader feeds arbitrary files to the reader, once with its size
// known and once as a stream: it must never panic or loop, errors are
// FileErrors, and it allocates no more than fuzzAllocLimit. The limit is
// what catches a length that reaches an allocation unchecked: a 4 GiB
// buffer fails the input at once, where the machine would only fail under
// a memory ceiling. The three pcapng shapes that once did that are seeds
// in testdata/fuzz/FuzzPcapReader (TestFuzzSeeds keeps them current).
func FuzzPcapReader(f *testing.F) {
	// Seeds are cut to a few records: Go's fuzzing engine stalls on inputs
	// of tens of kilobytes, and the headers and first records are where
	// the reader's decisions are made.
	const seedMax = 2048
	cut := func(b []byte) []byte { return b[:min(len(b), seedMax)] }
	if b, err := os.ReadFile("testdata/mixed.pcap"); err == nil {
		f.Add(cut(b))
		f.Add(b[:min(len(b), 700)])
	}
	for _, c := range capFiles()[1:] {
		dir := f.TempDir()
		p := writeCap(f, dir, c)
		b, _ := os.ReadFile(p)
		f.Add(cut(b))
	}
	for _, v := range validNg() {
		if len(v.data) <= seedMax {
			f.Add(v.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, src := range []string{"sized", "stream"} {
			var r io.Reader = bytes.NewReader(data)
			if src == "stream" {
				r = io.MultiReader(r) // hides the length: only the fixed limits apply
			}
			before := heapAllocs()
			fuzzRead(t, r)
			if grew := heapAllocs() - before; grew > fuzzAllocLimit(len(data)) {
				t.Fatalf("%s: reading %d bytes allocated %d KiB (limit %d KiB)", src, len(data), grew>>10, fuzzAllocLimit(len(data))>>10)
			}
		}
	})
}

// fuzzAllocLimit is what reading an n-byte input may allocate: the read
// buffers and one packet buffer of at most the packet limit (allocCeiling),
// plus what grows with the input itself (option strings, the interface
// list: tens of bytes per input byte at most).
func fuzzAllocLimit(n int) uint64 { return allocCeiling + 64*uint64(n) }

func fuzzRead(t *testing.T, r io.Reader) {
	fl, err := NewFileReader("fuzz.pcap", r)
	if err != nil {
		return
	}
	var m Meta
	for i := 0; i < 100000; i++ {
		err := fl.Next(&m)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a FileError: %v", err)
			}
			return
		}
	}
}

// FuzzDecodeFastPath checks that the fast path and gopacket's
// DecodingLayerParser path produce the same Meta for every frame.
func FuzzDecodeFastPath(f *testing.F) {
	for _, s := range shapes() {
		f.Add(uint16(s.link), s.frame)
	}
	links := []LinkType{LinkEthernet, LinkRaw, LinkRawAlt, LinkIPv4, LinkIPv6}
	type pair struct{ a, b *Decoder }
	decs := map[LinkType]pair{}
	for _, l := range links {
		a, _ := NewDecoder(l)
		b, _ := NewDecoder(l)
		a.SetLocalMAC([]byte{2, 0, 0, 0, 0, 1})
		b.SetLocalMAC([]byte{2, 0, 0, 0, 0, 1})
		decs[l] = pair{a, b}
	}
	f.Fuzz(func(t *testing.T, link uint16, frame []byte) {
		p := decs[links[int(link)%len(links)]]
		ci := gopacket.CaptureInfo{Timestamp: ts0, Length: len(frame) + 7, CaptureLength: len(frame), InterfaceIndex: 3}
		var fast, slow Meta
		p.a.Decode(frame, &ci, &fast)
		p.b.decodeSlow(frame, &ci, &slow)
		if fast != slow {
			t.Fatalf("fast path %+v\nparser    %+v", fast, slow)
		}
	})
}
