package capture

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"netriage/internal/lab"
)

// randomFloodSeconds is the length of BenchmarkLiveFloodRandom's flood.
const randomFloodSeconds = 10

// BenchmarkLiveFloodRandom floods a veth with small UDP datagrams whose
// source address (in 198.18.0.0/15) and source port are random for every
// packet (trafgen, one core, as fast as it goes; at most 8 million packets
// and randomFloodSeconds), so nearly every packet is a new flow and the
// flow table stays at its cap, evicting. Three capturing processes watch
// the interface in the same run, with default settings (host pairs, the
// default flow cap): iftop (-t -s, one report at the end), the netriage
// binary writing one NDJSON record at the end, and the binary writing a
// record every second. For each it reports the CPU time per packet over
// the flood and its ratio to iftop's, and for the netriage processes the
// kernel drops and the peak resident memory (VmHWM from /proc, read while
// it runs, after the flood); the per-second process's RSS is sampled every
// 250 ms and logged. Needs root, NETRIAGE_INTEGRATION=1, NETRIAGE_BIN
// and trafgen (Debian netsniff-ng); b.N is ignored: one flood.
func BenchmarkLiveFloodRandom(b *testing.B) {
	bin := os.Getenv("NETRIAGE_BIN")
	if bin == "" {
		b.Skip("NETRIAGE_BIN is not set (make bench sets it)")
	}
	for _, tool := range []string{"iftop", "trafgen"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s not available: %v", tool, err)
		}
	}
	l := lab.New(b)
	a, r := l.Netns(), l.Netns()
	la, lb := l.Veth(a, r)
	la.OffloadsOff()
	lb.OffloadsOff()
	mac := peerMAC(b, lb)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	span := (randomFloodSeconds + 2) * time.Second
	start := func(name string, args ...string) (*exec.Cmd, *lab.LimitedBuffer) {
		c := a.Command(ctx, name, args...)
		out := &lab.LimitedBuffer{Max: 4 << 20}
		c.Stdout, c.Stderr = out, out
		if err := c.Start(); err != nil {
			b.Fatalf("start %s: %v", name, err)
		}
		return c, out
	}
	iftop, iftopOut := start("stdbuf", "-oL", "iftop", "-t", "-s", strconv.Itoa(randomFloodSeconds+2), "-n", "-N", "-i", la.Name)
	once, onceOut := start(bin, "flows", "-i", la.Name, "-n", "-N", "--count", "1", "--interval", span.String(), "--output", "json", "-L", "5")
	perSec, perSecOut := start(bin, "flows", "-i", la.Name, "-n", "-N", "--duration", span.String(), "--interval", "1s", "--output", "json", "-L", "5")
	time.Sleep(700 * time.Millisecond)

	procs := []*exec.Cmd{iftop, once, perSec}
	rss0 := lab.StatusKB(perSec.Process.Pid, "VmRSS")
	var samples []string
	var smu sync.Mutex
	sampleDone := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampleDone)
		t0 := time.Now()
		tk := time.NewTicker(250 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tk.C:
				kb := lab.StatusKB(perSec.Process.Pid, "VmRSS")
				if kb == 0 {
					return
				}
				smu.Lock()
				samples = append(samples, fmt.Sprintf("%.2fs %d", time.Since(t0).Seconds(), kb/1024))
				smu.Unlock()
			}
		}
	}()

	c0 := la.Counters()
	cpu0 := make([]time.Duration, len(procs))
	for i, p := range procs {
		cpu0[i] = lab.CPUTime(p.Process.Pid)
	}
	b.ResetTimer()
	conf := fmt.Sprintf("{ eth(da=%s, type=0x0800), "+
		"ipv4(sa=198.18.0.0, sa[1]=drnd(18,19), sa[2]=drnd(), sa[3]=drnd(), da=%s, ttl=64), "+
		"udp(sp=drnd(), dp=5201), fill(0x00, 64) }", mac, lb.IPv4.Addr())
	// -q sends through the qdisc, where packet sockets see outgoing
	// frames (trafgen's default path bypasses them). trafgen forks its
	// sender: an interrupt to its process group stops both.
	floodStart := time.Now()
	fctx, fcancel := context.WithTimeout(ctx, randomFloodSeconds*time.Second)
	tg := a.Command(fctx, "trafgen", "-o", la.Name, "-q", "-P", "1", "-n", "8000000", conf)
	tg.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	tg.Cancel = func() error { return syscall.Kill(-tg.Process.Pid, syscall.SIGINT) }
	tg.WaitDelay = 5 * time.Second
	tgOut, tgErr := tg.CombinedOutput()
	fcancel()
	if tgErr != nil && fctx.Err() == nil {
		b.Fatalf("trafgen: %v\n%s", tgErr, tgOut)
	}
	stopped := time.Now()
	time.Sleep(300 * time.Millisecond)
	b.StopTimer()
	flood := make([]time.Duration, len(procs))
	for i, p := range procs {
		flood[i] = lab.CPUTime(p.Process.Pid) - cpu0[i]
	}
	c1 := la.Counters()
	hwm := []uint64{lab.StatusKB(iftop.Process.Pid, "VmHWM"), lab.StatusKB(once.Process.Pid, "VmHWM"), lab.StatusKB(perSec.Process.Pid, "VmHWM")}
	close(stopSampling)
	<-sampleDone
	if late := time.Since(stopped); late > time.Second || hwm[1] == 0 || hwm[2] == 0 {
		b.Fatalf("the processes were measured %v after the flood ended, or had ended (max RSS %v KiB)", late, hwm)
	}
	_ = once.Wait()
	_ = perSec.Wait()
	// iftop checks its -s time-out only when packets come (see
	// BenchmarkLiveFlood): a few more let it print its report.
	sink := r.UDPSink(lb.IPv4.Addr())
	defer sink.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !bytes.Contains(iftopOut.Bytes(), []byte("Cumulative")); {
		_, _ = a.SendUDP(ctx, sink.Addr(), lab.Send{Count: 5, Size: 100})
		time.Sleep(200 * time.Millisecond)
	}
	_ = iftop.Process.Kill()
	_ = iftop.Wait()

	pk := float64(c1.TxPackets - c0.TxPackets)
	onceRecs := flowRecords(b, "one record", onceOut.Bytes())
	perSecRecs := flowRecords(b, "a record every second", perSecOut.Bytes())
	onceRec, perSecRec := onceRecs[len(onceRecs)-1], perSecRecs[len(perSecRecs)-1]
	var drops []string
	for _, r := range perSecRecs {
		drops = append(drops, strconv.FormatUint(r.Capture.Drops, 10))
	}
	nsPerPkt := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / pk }
	b.ReportMetric(pk, "packets")
	b.ReportMetric(pk/stopped.Sub(floodStart).Seconds(), "pps")
	b.ReportMetric(nsPerPkt(flood[0]), "iftop-ns/pkt")
	b.ReportMetric(nsPerPkt(flood[1]), "netriage-once-ns/pkt")
	b.ReportMetric(nsPerPkt(flood[2]), "netriage-1s-ns/pkt")
	if flood[0] > 0 {
		b.ReportMetric(float64(flood[1])/float64(flood[0]), "once/iftop")
		b.ReportMetric(float64(flood[2])/float64(flood[0]), "1s/iftop")
	}
	b.ReportMetric(float64(onceRec.Capture.Drops), "once-kernel-drops")
	b.ReportMetric(float64(perSecRec.Capture.Drops), "1s-kernel-drops")
	b.ReportMetric(float64(hwm[0])/1024, "iftop-maxRSS-MB")
	b.ReportMetric(float64(hwm[1])/1024, "once-maxRSS-MB")
	b.ReportMetric(float64(hwm[2])/1024, "1s-maxRSS-MB")
	b.ReportMetric(float64(perSecRec.Capture.EvictedFlows), "1s-evicted-flows")
	b.ReportMetric(perSecRec.ringMiB(), "1s-ring-MiB")
	smu.Lock()
	b.Logf("a record every second: RSS %d MB before the flood; over it (time MB): %s", rss0/1024, strings.Join(samples, ", "))
	smu.Unlock()
	b.Logf("a record every second: kernel drops so far at each record: %s", strings.Join(drops, ", "))
	b.Logf("captured packets: one record %d, a record every second %d, of %.0f sent; flows in the table at the end: %d, %d",
		onceRec.Capture.Packets, perSecRec.Capture.Packets, pk, onceRec.Total, perSecRec.Total)
	if onceRec.Capture.EvictedFlows == 0 || perSecRec.Capture.EvictedFlows == 0 {
		b.Errorf("no evictions counted (one record %d, every second %d): the flood did not reach the cap",
			onceRec.Capture.EvictedFlows, perSecRec.Capture.EvictedFlows)
	}
}

// floodRecord is the part of a flows NDJSON record the flood benchmarks
// read.
type floodRecord struct {
	Capture struct {
		Packets      uint64 `json:"packets"`
		Drops        uint64 `json:"drops"`
		EvictedFlows uint64 `json:"evicted_flows"`
		Interfaces   []struct {
			RingBytes uint64 `json:"ring_bytes"`
		} `json:"interfaces"`
	} `json:"capture"`
	Total int `json:"flows_total"`
}

// ringMiB is the capture ring's size in a record (its first interface),
// in MiB.
func (r floodRecord) ringMiB() float64 {
	if len(r.Capture.Interfaces) == 0 {
		return 0
	}
	return float64(r.Capture.Interfaces[0].RingBytes) / (1 << 20)
}

// flowRecords decodes the NDJSON records of out; there must be one.
func flowRecords(b *testing.B, what string, out []byte) []floodRecord {
	b.Helper()
	var recs []floodRecord
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 && line[0] == '{' {
			var rec floodRecord
			if err := json.Unmarshal(line, &rec); err != nil {
				b.Fatalf("netriage's record (%s): %v\n%s", what, err, line)
			}
			recs = append(recs, rec)
		}
	}
	if len(recs) == 0 {
		b.Fatalf("no record from netriage (%s):\n%s", what, out[max(0, len(out)-2000):])
	}
	return recs
}

// peerMAC returns k's hardware address (trafgen writes whole frames).
func peerMAC(b *testing.B, k *lab.Link) string {
	b.Helper()
	h, err := k.NS.Handle()
	if err != nil {
		b.Fatal(err)
	}
	nl, err := h.LinkByName(k.Name)
	if err != nil {
		b.Fatalf("link %s: %v", k.Name, err)
	}
	return nl.Attrs().HardwareAddr.String()
}

// writeDistinctFlows writes a pcap of n UDP/IPv4 packets over Ethernet,
// each a flow of its own: source address in 198.18.0.0/15 and source port
// from the packet's number (a bijection, so no two are the same flow),
// towards one address and port, 42-byte frames, 10,000 packets per second.
func writeDistinctFlows(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		return errors.Join(err, f.Close())
	}
	frame := make([]byte, 42)
	copy(frame[0:], []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00})
	ip := frame[14:34]
	copy(ip, []byte{0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0, 0, 0, 0, 0, 198, 18, 0, 1})
	udp := frame[34:42]
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 0; i < n; i++ {
		h := uint32(i) * 2654435761 // odd: a bijection of 32 bits
		ip[12], ip[13], ip[14], ip[15] = 198, 18+byte(h>>31), byte(h>>23), byte(h>>15)
		binary.BigEndian.PutUint16(ip[10:], 0)
		binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
		binary.BigEndian.PutUint16(udp[0:], uint16(h>>0)&0x7fff|0x8000)
		binary.BigEndian.PutUint16(udp[2:], 5201)
		binary.BigEndian.PutUint16(udp[4:], 8)
		ci := gopacket.CaptureInfo{Timestamp: start.Add(time.Duration(i) * 100 * time.Microsecond), CaptureLength: len(frame), Length: len(frame)}
		if err := pw.WritePacket(ci, frame); err != nil {
			return errors.Join(err, f.Close())
		}
	}
	return errors.Join(w.Flush(), f.Close())
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// BenchmarkReplayDistinctFlows replays a generated pcap of 300,000
// one-packet flows (a random-source flood's shape; the file is made in a
// temporary directory) through the netriage binary with the default flow
// cap and reports its peak resident memory (the child's rusage) and run
// time; the record's totals must count every packet, and the flows in the
// table plus the evicted ones must be every flow. Needs NETRIAGE_BIN; b.N
// is ignored: one replay.
func BenchmarkReplayDistinctFlows(b *testing.B) {
	bin := os.Getenv("NETRIAGE_BIN")
	if bin == "" {
		b.Skip("NETRIAGE_BIN is not set (make bench sets it)")
	}
	const n = 300_000
	path := filepath.Join(b.TempDir(), "distinct.pcap")
	if err := writeDistinctFlows(path, n); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	for _, agg := range []string{"hosts", "5tuple"} {
		b.Run(agg, func(b *testing.B) {
			c := exec.Command(bin, "replay", path, "-n", "-N", "--aggregate", agg, "--output", "json", "-L", "5")
			var out, errOut bytes.Buffer
			c.Stdout, c.Stderr = &out, &errOut
			t0 := time.Now()
			b.ResetTimer()
			if err := c.Run(); err != nil {
				b.Fatalf("replay: %v\n%s", err, errOut.Bytes())
			}
			b.StopTimer()
			elapsed := time.Since(t0)
			var rec struct {
				Capture struct {
					Packets      uint64 `json:"packets"`
					EvictedFlows uint64 `json:"evicted_flows"`
				} `json:"capture"`
				Totals struct {
					Flows int `json:"aggregated_flows"`
				} `json:"totals"`
			}
			if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &rec); err != nil {
				b.Fatalf("replay's record: %v\n%s", err, out.Bytes())
			}
			if rec.Capture.Packets != n || rec.Totals.Flows != n {
				b.Errorf("replay counted %d packets and %d flows (%d evicted), want %d of each", rec.Capture.Packets, rec.Totals.Flows, rec.Capture.EvictedFlows, n)
			}
			ru, _ := c.ProcessState.SysUsage().(*syscall.Rusage)
			if ru != nil {
				b.ReportMetric(float64(ru.Maxrss)/1024, "maxRSS-MB")
			}
			b.ReportMetric(float64(st.Size())/1e6, "file-MB")
			b.ReportMetric(elapsed.Seconds(), "s")
		})
	}
}
