package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"netriage/internal/lab"
)

// floodSeconds is the length of BenchmarkLiveFlood's flood.
const floodSeconds = 10

// BenchmarkLiveFlood floods small UDP packets (iperf3, a separate process)
// across a veth for 10 s while three capturing processes watch the same
// interface: iftop, printing one report at the end (-t -s); the netriage
// binary printing one record at the end, the same output work as iftop;
// and the netriage binary printing an NDJSON record every second. For
// each it reports the CPU time per packet over the flood (on-CPU time of
// all the process's threads from /proc, read just before and after the
// flood) and its ratio to iftop's in the same run. Completeness (captured
// IP bytes + 14 per frame against the interface's tx counter) and kernel
// drops come from the one-record process's output. A fourth process, the
// per-second one with the names ring on (capture.passive_names: on),
// gives the names ring's cost as its ratio to the per-second one
// (names/1s). It needs root,
// NETRIAGE_INTEGRATION=1 and NETRIAGE_BIN (make bench sets both); b.N is
// ignored: one flood.
func BenchmarkLiveFlood(b *testing.B) {
	bin := os.Getenv("NETRIAGE_BIN")
	if bin == "" {
		b.Skip("NETRIAGE_BIN is not set (make bench sets it)")
	}
	l := lab.New(b)
	a, r := l.Netns(), l.Netns()
	la, lb := l.Veth(a, r)
	la.OffloadsOff()
	lb.OffloadsOff()
	r.Iperf3Server(lb.IPv4.Addr(), 5201)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	span := (floodSeconds + 2) * time.Second
	start := func(name string, args ...string) (*exec.Cmd, *lab.LimitedBuffer) {
		c := a.Command(ctx, name, args...)
		out := &lab.LimitedBuffer{Max: 1 << 20}
		c.Stdout, c.Stderr = out, out
		if err := c.Start(); err != nil {
			b.Fatalf("start %s: %v", name, err)
		}
		return c, out
	}
	if _, err := exec.LookPath("iftop"); err != nil {
		b.Skipf("iftop not available: %v", err)
	}
	iftop, iftopOut := start("stdbuf", "-oL", "iftop", "-t", "-s", strconv.Itoa(floodSeconds+2), "-n", "-N", "-P", "-i", la.Name)
	once, onceOut := start(bin, "flows", "-i", la.Name, "-P", "-n", "-N", "--count", "1", "--interval", span.String(), "--output", "json", "-L", "5")
	perSec, _ := start(bin, "flows", "-i", la.Name, "-P", "-n", "-N", "--duration", span.String(), "--interval", "1s", "--output", "json", "-L", "5")
	// The same with the names ring (passive DNS and TLS server names),
	// which the flood's packets do not pass: its filter rejects them in
	// the kernel.
	cfg := filepath.Join(b.TempDir(), "names.yaml")
	if err := os.WriteFile(cfg, []byte("capture:\n  passive_names: on\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	perSecNames, _ := start(bin, "flows", "-i", la.Name, "-P", "-n", "-N", "--duration", span.String(), "--interval", "1s", "--output", "json", "-L", "5", "--config", cfg)
	time.Sleep(700 * time.Millisecond)

	c0 := la.Counters()
	procs := []*exec.Cmd{iftop, once, perSec, perSecNames}
	cpu0 := make([]time.Duration, len(procs))
	for i, p := range procs {
		cpu0[i] = lab.CPUTime(p.Process.Pid)
	}
	b.ResetTimer()
	if out, err := a.Iperf3(ctx, "-c", lb.IPv4.Addr().String(), "-u", "-b", "400M", "-l", "64", "-t", strconv.Itoa(floodSeconds)); err != nil {
		b.Fatalf("iperf3: %v\n%s", err, out)
	}
	time.Sleep(300 * time.Millisecond)
	b.StopTimer()
	flood := make([]time.Duration, len(procs))
	for i, p := range procs {
		flood[i] = lab.CPUTime(p.Process.Pid) - cpu0[i]
	}
	c1 := la.Counters()
	_ = once.Wait()
	_ = perSec.Wait()
	_ = perSecNames.Wait()
	// iftop checks its -s time-out only when libpcap hands it packets (a
	// TPACKET_V3 read time-out does not expire on an idle interface), so
	// a few packets after the measurement let it print its report; then
	// it is ended.
	sink := r.UDPSink(lb.IPv4.Addr())
	defer sink.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !bytes.Contains(iftopOut.Bytes(), []byte("Cumulative")); {
		_, _ = a.SendUDP(ctx, sink.Addr(), lab.Send{Count: 5, Size: 100})
		time.Sleep(200 * time.Millisecond)
	}
	_ = iftop.Process.Kill()
	_ = iftop.Wait()

	pk := float64(c1.TxPackets - c0.TxPackets)
	ifBytes := float64(c1.TxBytes - c0.TxBytes)
	var rec struct {
		Capture struct {
			Drops uint64 `json:"drops"`
		} `json:"capture"`
		Flows []struct {
			Proto       string `json:"proto"`
			RemotePort  int    `json:"remote_port"`
			SentBytes   uint64 `json:"sent_bytes"`
			SentPackets uint64 `json:"sent_packets"`
		} `json:"flows"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(onceOut.Bytes()), &rec); err != nil {
		b.Fatalf("netriage's record: %v\n%s", err, onceOut.Bytes())
	}
	var capBytes float64
	for _, f := range rec.Flows {
		if f.Proto == "udp" && f.RemotePort == 5201 {
			capBytes += float64(f.SentBytes + 14*f.SentPackets)
		}
	}
	nsPerPkt := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / pk }
	b.ReportMetric(pk, "packets")
	b.ReportMetric(100*capBytes/ifBytes, "completeness-%")
	b.ReportMetric(float64(rec.Capture.Drops), "kernel-drops")
	b.ReportMetric(nsPerPkt(flood[0]), "iftop-ns/pkt")
	b.ReportMetric(nsPerPkt(flood[1]), "netriage-once-ns/pkt")
	b.ReportMetric(nsPerPkt(flood[2]), "netriage-1s-ns/pkt")
	b.ReportMetric(nsPerPkt(flood[3]), "netriage-1s-names-ns/pkt")
	if flood[0] > 0 {
		b.ReportMetric(float64(flood[1])/float64(flood[0]), "once/iftop")
		b.ReportMetric(float64(flood[2])/float64(flood[0]), "1s/iftop")
	}
	if flood[2] > 0 {
		b.ReportMetric(float64(flood[3])/float64(flood[2]), "names/1s")
	}
	if st := once.ProcessState; st != nil {
		b.ReportMetric((st.UserTime()+st.SystemTime()).Seconds()/(pk/1e6), "netriage-once-life-cpu-s/Mpkt")
	}
	if m := regexp.MustCompile(`Cumulative \(sent/received/total\):\s+(\S+)`).FindSubmatch(iftopOut.Bytes()); m != nil {
		b.Logf("iftop cumulative sent: %s; interface tx %0.f bytes (%0.f IP bytes)", m[1], ifBytes, ifBytes-14*pk)
	} else {
		out := iftopOut.Bytes()
		b.Logf("iftop printed no cumulative line; its output ends:\n%s", out[max(0, len(out)-800):])
	}
}
