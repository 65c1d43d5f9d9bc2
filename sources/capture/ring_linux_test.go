package capture

import (
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"netriage/triage/flows"
)

// Synthetic TPACKET_V3 rings: the block and packet headers laid out as the
// kernel lays them out, in ordinary memory, so the block walk runs without
// a socket.

// synthPacket is one packet of a synthetic block.
type synthPacket struct {
	at      time.Duration // after synthEpoch
	ifindex int32
	pkttype uint8
	frame   []byte
}

// synthEpoch is the synthetic packets' time origin.
var synthEpoch = time.Unix(1_700_000_000, 0)

// synthMac is where a synthetic packet's frame starts after its header
// (tpacket3_hdr, then sockaddr_ll, aligned).
const synthMac = 80

// newSynthRing returns a ring of n blocks of bs bytes, all the kernel's.
func newSynthRing(n, bs int) *ring {
	return &ring{mem: make([]byte, n*bs), blockSize: bs, blocks: n}
}

// fill writes pkts into block i and hands it to user space, as the kernel
// retiring it does; the block's ts_last_pkt is the last packet's time.
func (r *ring) fill(t testing.TB, i int, pkts []synthPacket) {
	t.Helper()
	b := r.mem[i*r.blockSize : (i+1)*r.blockSize]
	clear(b)
	const first = 48 // after the block descriptor, aligned
	off := first
	for k, p := range pkts {
		size := (synthMac + len(p.frame) + 15) &^ 15
		if off+size > len(b) {
			t.Fatalf("block %d: packet %d does not fit", i, k)
		}
		h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&b[off]))
		ts := synthEpoch.Add(p.at)
		h.Sec, h.Nsec = uint32(ts.Unix()), uint32(ts.Nanosecond())
		h.Snaplen, h.Len = uint32(len(p.frame)), uint32(len(p.frame))
		h.Mac = synthMac
		if k < len(pkts)-1 {
			h.Next_offset = uint32(size)
		}
		*(*int32)(unsafe.Pointer(&b[off+sllIfindexOff])) = p.ifindex
		b[off+sllPkttypeOff] = p.pkttype
		copy(b[off+synthMac:], p.frame)
		off += size
	}
	*(*uint32)(unsafe.Pointer(&b[blockNumOff])) = uint32(len(pkts))
	*(*uint32)(unsafe.Pointer(&b[blockFirstOff])) = first
	if len(pkts) > 0 {
		ts := synthEpoch.Add(pkts[len(pkts)-1].at)
		*(*uint32)(unsafe.Pointer(&b[blockTsLastOff])) = uint32(ts.Unix())
		*(*uint32)(unsafe.Pointer(&b[blockTsLastOff+4])) = uint32(ts.Nanosecond())
	}
	*r.status(i) = unix.TP_STATUS_USER
}

// owned reports whether block i is user space's.
func (r *ring) owned(i int) bool { return *r.status(i)&unix.TP_STATUS_USER != 0 }

// synthUDP is a UDP packet of n payload bytes between the test addresses
// (IP length 28 + n).
func synthUDP(at time.Duration, n int) synthPacket {
	return synthPacket{at: at, ifindex: 2, pkttype: unix.PACKET_HOST,
		frame: ether(etIPv4, ip4(v4a, v4b, 17, udpDgram(4000, 53, n), 0, false))}
}

// synthPackets returns n UDP packets every step from start.
func synthPackets(n int, start, step time.Duration) []synthPacket {
	ps := make([]synthPacket, n)
	for i := range ps {
		ps[i] = synthUDP(start+time.Duration(i)*step, 100)
	}
	return ps
}

// newSynthSink returns a sink that counts into a new accountant.
func newSynthSink(t testing.TB) (*blockSink, *Accountant) {
	t.Helper()
	dec, err := NewDecoder(LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	acc := NewAccountant(flows.TableConfig{MaxFlows: 100}, flows.ByHostPair, "", "")
	return &blockSink{dec: dec, acc: acc}, acc
}

// counted is the packets an accountant counted.
func counted(acc *Accountant) uint64 {
	c := acc.Totals()
	return c.SentPackets + c.RecvPackets
}

// BenchmarkRingReadBlock walks blocks of 3,000 small UDP packets into the
// accountant (decode and flow update included), per packet.
func BenchmarkRingReadBlock(b *testing.B) {
	const perBlock = 3000
	r := newSynthRing(2, 1<<20)
	pkts := synthPackets(perBlock, 0, time.Microsecond)
	sink, _ := newSynthSink(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += perBlock {
		b.StopTimer()
		r.fill(b, int(r.next.Load()), pkts)
		b.StartTimer()
		sink.acc.mu.Lock()
		r.readBlock(sink, benchBefore)
		sink.acc.mu.Unlock()
	}
}
