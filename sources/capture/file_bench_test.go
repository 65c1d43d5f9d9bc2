package capture

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// BenchmarkFileRead reads a capture of the mixed Ethernet shapes from
// memory, pcap and pcapng, without decoding: the cost of the readers and,
// for pcapng, of the block checks in front of gopacket's reader.
func BenchmarkFileRead(b *testing.B) {
	recs := mixedEthernet()
	for _, ng := range []bool{false, true} {
		var buf bytes.Buffer
		var write func(gopacket.CaptureInfo, []byte) error
		flush := func() {}
		if ng {
			w, _ := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
			write, flush = w.WritePacket, func() { _ = w.Flush() }
		} else {
			w := pcapgo.NewWriter(&buf)
			_ = w.WriteFileHeader(262144, layers.LinkTypeEthernet)
			write = w.WritePacket
		}
		const copies = 200
		for i := 0; i < copies; i++ {
			for j, r := range recs {
				data := r.frame
				if r.caplen > 0 {
					data = data[:r.caplen]
				}
				ci := gopacket.CaptureInfo{Timestamp: ts0.Add(time.Duration(i*len(recs)+j) * time.Millisecond), CaptureLength: len(data), Length: len(r.frame)}
				if err := write(ci, data); err != nil {
					b.Fatal(err)
				}
			}
		}
		flush()
		file := buf.Bytes()
		name := map[bool]string{false: "pcap", true: "pcapng"}[ng]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(file)))
			b.ReportAllocs()
			for b.Loop() {
				fl, err := NewFileReader(name, bytes.NewReader(file))
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, _, _, err := fl.ReadRaw()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != copies*len(recs) {
					b.Fatalf("%d packets", n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*copies*len(recs)), "ns/packet")
		})
	}
}
