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
	// Note is what the nft counting counted.
	Note string
}

// BenchmarkObserverEffect measures what watching costs the traffic
// watched: iperf3 across a veth, observerSeconds a run, with nothing
// watching the sender's end of the veth, with `netriage flows` (a record
// every second), iftop, `tcpdump -w /dev/null`, and with per-flow
// counting in the kernel instead of a capture (an nftables dynamic set
// keyed by the 5-tuple with a counter per flow, on the interface's egress
// and ingress hooks in the sender's namespace: observerNft). Three kinds
// of traffic: a TCP stream with the veth's own offloads (segments of up
// to 64 KiB reach the taps, as from a NIC with TSO), then with offloads
// off a TCP stream in MTU-sized packets and 64-byte UDP datagrams as fast
// as the sender goes. Each condition gets observerRounds runs of each
// kind, the conditions' order rotated from round to round. It reports
// each kind's median rate with nothing watching (TCP received Gbit/s, UDP
// sent kpps) and each condition's slowdown against it in % of the
// medians, and logs every run with the sender's, the receiver's and the
// watcher's CPU (iperf3's own figures and /proc). A capture slows the
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
	start := func(cond string) (*exec.Cmd, func() string) {
		var c *exec.Cmd
		switch cond {
		case "none":
			return nil, func() string { return "" }
		case "nft":
			in := a.Command(ctx, "nft", "-f", "-")
			in.Stdin = strings.NewReader(fmt.Sprintf(observerNft, la.Name))
			if out, err := in.CombinedOutput(); err != nil {
				b.Fatalf("nft: %v\n%s", err, out)
			}
			return nil, func() string {
				out, err := a.Command(ctx, "nft", "list", "set", "netdev", "nrobs", "flows").CombinedOutput()
				if err != nil {
					b.Errorf("nft list set: %v\n%s", err, out)
				}
				if out, err := a.Command(ctx, "nft", "delete", "table", "netdev", "nrobs").CombinedOutput(); err != nil {
					b.Fatalf("nft delete table: %v\n%s", err, out)
				}
				return nftCounted(out)
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
		return c, func() string {
			_ = c.Process.Kill()
			_ = c.Wait()
			return ""
		}
	}
	conds := []string{"none", "netriage", "iftop", "tcpdump", "nft"}
	// The netdev egress hook needs Linux 5.16 and nftables 1.0.1: without
	// it the captures are still measured.
	probe := a.Command(ctx, "nft", "-f", "-")
	probe.Stdin = strings.NewReader(fmt.Sprintf(observerNft, la.Name))
	if out, err := probe.CombinedOutput(); err != nil {
		b.Logf("no nftables per-flow counting (the netdev egress hook needs Linux 5.16 and nftables 1.0.1): %v: %s", err, out)
		conds = conds[:len(conds)-1]
	} else if out, err := a.Command(ctx, "nft", "delete", "table", "netdev", "nrobs").CombinedOutput(); err != nil {
		b.Fatalf("nft delete table: %v\n%s", err, out)
	}
	type kind struct {
		name, unit string
		args       []string
	}
	// The veth's own offloads first (TCP in segments of up to 64 KiB,
	// as a NIC with TSO hands them to the taps), then every packet at
	// its wire size.
	phases := [][]kind{
		{{"tcp", "Gbit/s", []string{"-t", strconv.Itoa(observerSeconds)}}},
		{{"tcp-mtu", "Gbit/s", []string{"-t", strconv.Itoa(observerSeconds)}},
			{"udp64", "kpps", []string{"-u", "-b", "0", "-l", "64", "-t", strconv.Itoa(observerSeconds)}}},
	}
	results := map[string][]observerResult{} // by kind and condition
	b.ResetTimer()
	for p, kinds := range phases {
		if p == 1 {
			la.OffloadsOff()
		}
		for round := range observerRounds {
			for _, k := range kinds {
				for i := range conds {
					cond := conds[(i+round)%len(conds)]
					c, stop := start(cond)
					var cpu0 time.Duration
					if c != nil {
						cpu0 = lab.CPUTime(c.Process.Pid)
					}
					t0 := time.Now()
					out, err := a.Iperf3(ctx, append([]string{"-c", lb.IPv4.Addr().String(), "-p", "5201", "-J"}, k.args...)...)
					var res observerResult
					if c != nil {
						res.Observer = 100 * float64((lab.CPUTime(c.Process.Pid) - cpu0).Nanoseconds()) / float64(time.Since(t0).Nanoseconds())
					}
					res.Note = stop()
					if err != nil {
						b.Fatalf("iperf3 %s with %s: %v\n%s", k.name, cond, err, out)
					}
					if err := parseIperf3(out, k.unit == "Gbit/s", &res); err != nil {
						b.Fatalf("iperf3 %s with %s: %v", k.name, cond, err)
					}
					results[k.name+"/"+cond] = append(results[k.name+"/"+cond], res)
				}
			}
		}
	}
	b.StopTimer()
	for _, kinds := range phases {
		for _, k := range kinds {
			base := medianRate(results[k.name+"/none"])
			b.ReportMetric(base, k.name+"-none-"+k.unit)
			var lines []string
			for _, cond := range conds {
				rs := results[k.name+"/"+cond]
				var runs []string
				for _, r := range rs {
					runs = append(runs, fmt.Sprintf("%.3g (%.0f/%.0f/%.0f%%)", r.Rate, r.SenderCPU, r.ReceiverCPU, r.Observer))
				}
				if cond != "none" && base > 0 {
					b.ReportMetric(100*(1-medianRate(rs)/base), k.name+"-"+cond+"-slowdown-%")
				}
				line := cond + " " + strings.Join(runs, ", ")
				if cond == "nft" && len(rs) > 0 {
					line += "; counted " + rs[len(rs)-1].Note
				}
				lines = append(lines, line)
			}
			b.Logf("%s in %s (sender/receiver/watcher CPU, %% of a core): %s", k.name, k.unit, strings.Join(lines, "; "))
		}
	}
}

// parseIperf3 reads an iperf3 client's JSON report: the TCP received
// rate (Gbit/s) or the UDP sent packet rate (kpps), and the two ends' CPU
// use.
func parseIperf3(out []byte, tcp bool, res *observerResult) error {
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
	if tcp {
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
