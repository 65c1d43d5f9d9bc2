package capture

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"netriage/internal/lab"
)

const (
	// observerSeconds is the length of each of BenchmarkObserverEffect's
	// iperf3 runs; observerRounds is how many runs each condition gets.
	observerSeconds = 5
	observerRounds  = 3
)

// observerNft is the in-kernel per-flow counting BenchmarkObserverEffect
// sets on the captured interface instead of a capture: on its egress and
// ingress hooks, every IPv4 packet updates the element of its 5-tuple in
// a dynamic set, created at its first packet, with a packet and byte
// counter each. No packet is copied anywhere; reading the counts is one
// netlink dump of the set. %s is the interface.
const observerNft = `table netdev nrobs {
	set flows {
		type ipv4_addr . ipv4_addr . inet_proto . inet_service . inet_service
		flags dynamic
		size 65536
		counter
	}
	chain egress {
		type filter hook egress device "%[1]s" priority 0; policy accept;
		meta protocol ip update @flows { ip saddr . ip daddr . ip protocol . th sport . th dport }
	}
	chain ingress {
		type filter hook ingress device "%[1]s" priority 0; policy accept;
		meta protocol ip update @flows { ip saddr . ip daddr . ip protocol . th sport . th dport }
	}
}
`

// observerResult is what one iperf3 run measured.
type observerResult struct {
	// Rate is the TCP run's received rate in Gbit/s, or the UDP run's
	// sent packet rate in kpps.
	Rate float64
	// SenderCPU and ReceiverCPU are iperf3's own CPU use of its sender
	// and receiver, in % of one core.
	SenderCPU, ReceiverCPU float64
	// Observer is the capturing process's CPU time over the run, in % of
	// one core (0 for none and the nft counting).
	Observer float64
}

// BenchmarkObserverEffect measures what watching costs the traffic
// watched: iperf3 across a veth (offloads as a veth has them by default),
// observerSeconds a run, once a TCP stream and once 64-byte UDP datagrams
// as fast as the sender goes, with nothing watching the sender's end of
// the veth, with `netriage flows` (a record every second), iftop,
// `tcpdump -w /dev/null`, and per-flow counting in the kernel instead of
// a capture (an nftables dynamic set keyed by the 5-tuple with a counter
// per flow, on the interface's egress and ingress hooks: observerNft).
// Each condition gets observerRounds runs, the conditions' order rotated
// from round to round. It reports the median TCP rate (Gbit/s) and UDP
// sent packet rate (kpps) with nothing watching, and each condition's
// slowdown against it in % of the medians; it logs every run with the
// sender's, the receiver's and the watcher's CPU. A capture slows the
// sender because the kernel clones each packet to the packet sockets and
// copies it into their rings in the sender's own transmit path
// (dev_queue_xmit_nit), besides the CPU the capturing process takes.
// Needs root, NETRIAGE_INTEGRATION=1, NETRIAGE_BIN, iperf3, iftop,
// tcpdump and nft; b.N is ignored.
func BenchmarkObserverEffect(b *testing.B) {
	bin := os.Getenv("NETRIAGE_BIN")
	if bin == "" {
		b.Skip("NETRIAGE_BIN is not set (make bench sets it)")
	}
	for _, tool := range []string{"iperf3", "iftop", "tcpdump", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s not available: %v", tool, err)
		}
	}
	l := lab.New(b)
	a, r := l.Netns(), l.Netns()
	la, lb := l.Veth(a, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	srv := r.Command(ctx, "iperf3", "-s", "-B", lb.IPv4.Addr().String(), "-p", "5201")
	if err := srv.Start(); err != nil {
		b.Fatalf("iperf3 server: %v", err)
	}
	go func() { _ = srv.Wait() }()
	time.Sleep(300 * time.Millisecond)

	// start sets a condition up and returns the watching process (nil for
	// none and nft) and how to end it.
	start := func(cond string) (*exec.Cmd, func()) {
		var c *exec.Cmd
		switch cond {
		case "none":
			return nil, func() {}
		case "nft":
			in := a.Command(ctx, "nft", "-f", "-")
			in.Stdin = strings.NewReader(fmt.Sprintf(observerNft, la.Name))
			if out, err := in.CombinedOutput(); err != nil {
				b.Fatalf("nft: %v\n%s", err, out)
			}
			return nil, func() {
				out, err := a.Command(ctx, "nft", "list", "set", "netdev", "nrobs", "flows").CombinedOutput()
				if err != nil {
					b.Errorf("nft list set: %v\n%s", err, out)
				}
				b.Logf("nft counted %s", nftCounted(out))
				if out, err := a.Command(ctx, "nft", "delete", "table", "netdev", "nrobs").CombinedOutput(); err != nil {
					b.Fatalf("nft delete table: %v\n%s", err, out)
				}
			}
		case "netriage":
			c = a.Command(ctx, bin, "flows", "-i", la.Name, "-n", "-N", "--interval", "1s", "--output", "json", "-L", "5")
		case "iftop":
			c = a.Command(ctx, "iftop", "-t", "-s", "600", "-n", "-N", "-P", "-i", la.Name)
		case "tcpdump":
			c = a.Command(ctx, "tcpdump", "-i", la.Name, "-w", "/dev/null")
		}
		out := &lab.LimitedBuffer{Max: 1 << 20}
		c.Stdout, c.Stderr = out, out
		if err := c.Start(); err != nil {
			b.Fatalf("start %s: %v", cond, err)
		}
		time.Sleep(time.Second) // its rings open, its start-up done
		if lab.CPUTime(c.Process.Pid) == 0 {
			b.Fatalf("%s ended at its start:\n%s", cond, out.Bytes())
		}
		return c, func() {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	conds := []string{"none", "netriage", "iftop", "tcpdump", "nft"}
	traffic := map[string][]string{
		"tcp": {"-t", strconv.Itoa(observerSeconds)},
		"udp": {"-u", "-b", "0", "-l", "64", "-t", strconv.Itoa(observerSeconds)},
	}
	results := map[string]map[string][]observerResult{"tcp": {}, "udp": {}}
	b.ResetTimer()
	for round := range observerRounds {
		for _, kind := range []string{"tcp", "udp"} {
			for k := range conds {
				cond := conds[(k+round)%len(conds)]
				c, stop := start(cond)
				var cpu0 time.Duration
				if c != nil {
					cpu0 = lab.CPUTime(c.Process.Pid)
				}
				t0 := time.Now()
				args := append([]string{"-c", lb.IPv4.Addr().String(), "-p", "5201", "-J"}, traffic[kind]...)
				out, err := a.Iperf3(ctx, args...)
				var res observerResult
				if c != nil {
					res.Observer = 100 * float64((lab.CPUTime(c.Process.Pid) - cpu0).Nanoseconds()) / float64(time.Since(t0).Nanoseconds())
				}
				stop()
				if err != nil {
					b.Fatalf("iperf3 %s with %s: %v\n%s", kind, cond, err, out)
				}
				if err := parseIperf3(out, kind, &res); err != nil {
					b.Fatalf("iperf3 %s with %s: %v", kind, cond, err)
				}
				results[kind][cond] = append(results[kind][cond], res)
			}
		}
	}
	b.StopTimer()
	for _, kind := range []string{"tcp", "udp"} {
		unit := "Gbit/s"
		if kind == "udp" {
			unit = "kpps"
		}
		base := medianRate(results[kind]["none"])
		b.ReportMetric(base, kind+"-none-"+unit)
		for _, cond := range conds {
			rs := results[kind][cond]
			var runs []string
			for _, r := range rs {
				runs = append(runs, fmt.Sprintf("%.3g %s (sender %.0f%%, receiver %.0f%%, watcher %.0f%% of a core)", r.Rate, unit, r.SenderCPU, r.ReceiverCPU, r.Observer))
			}
			b.Logf("%s, %s: %s", kind, cond, strings.Join(runs, "; "))
			if cond != "none" && base > 0 {
				b.ReportMetric(100*(1-medianRate(rs)/base), kind+"-"+cond+"-slowdown-%")
			}
		}
	}
}

// parseIperf3 reads an iperf3 client's JSON report: the TCP received
// rate or the UDP sent packet rate, and the two ends' CPU use.
func parseIperf3(out []byte, kind string, res *observerResult) error {
	var rep struct {
		End struct {
			SumSent struct {
				Seconds float64 `json:"seconds"`
				Packets float64 `json:"packets"`
			} `json:"sum_sent"`
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
			CPU struct {
				Host   float64 `json:"host_total"`
				Remote float64 `json:"remote_total"`
			} `json:"cpu_utilization_percent"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return fmt.Errorf("its report: %w", err)
	}
	if rep.Error != "" {
		return fmt.Errorf("it failed: %s", rep.Error)
	}
	res.SenderCPU, res.ReceiverCPU = rep.End.CPU.Host, rep.End.CPU.Remote
	if kind == "tcp" {
		res.Rate = rep.End.SumReceived.BitsPerSecond / 1e9
	} else if rep.End.SumSent.Seconds > 0 {
		res.Rate = rep.End.SumSent.Packets / rep.End.SumSent.Seconds / 1e3
	}
	if res.Rate <= 0 {
		return fmt.Errorf("no rate in its report")
	}
	return nil
}

func medianRate(rs []observerResult) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = r.Rate
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// nftCounter matches a set element's counter in `nft list set`.
var nftCounter = regexp.MustCompile(`counter packets (\d+) bytes (\d+)`)

// nftCounted sums the counters of a listed set: how many flows, packets
// and bytes the kernel counted.
func nftCounted(out []byte) string {
	var flows int
	var pk, by uint64
	for _, m := range nftCounter.FindAllSubmatch(out, -1) {
		flows++
		p, _ := strconv.ParseUint(string(m[1]), 10, 64)
		n, _ := strconv.ParseUint(string(m[2]), 10, 64)
		pk += p
		by += n
	}
	return fmt.Sprintf("%d flows, %d packets, %d bytes", flows, pk, by)
}
