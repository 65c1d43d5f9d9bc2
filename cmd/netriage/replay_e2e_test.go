package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"netriage/internal/lab"
)

// replayPair is an unordered address pair: a conversation at the IP level.
type replayPair struct{ a, b netip.Addr }

func pairOf(x, y netip.Addr) replayPair {
	if y.Less(x) {
		x, y = y, x
	}
	return replayPair{x, y}
}

type pairSum struct{ bytes, packets uint64 }

// TestE2EReplayWrittenTotals runs the binary on captures written by the
// test (pcap and pcapng) and checks that totals and every conversation
// equal the sums of the IP lengths written.
func TestE2EReplayWrittenTotals(t *testing.T) {
	bin := e2eBin(t)
	dir := t.TempDir()
	ps := mixedReplay(t)
	want := replayTruth(ps)
	wantPairs := map[replayPair]pairSum{}
	for _, p := range ps {
		if p.ipLen > 0 {
			s := wantPairs[pairOf(p.src, p.dst)]
			s.bytes += p.ipLen
			s.packets++
			wantPairs[pairOf(p.src, p.dst)] = s
		}
	}
	for _, ng := range []bool{false, true} {
		name := map[bool]string{false: "mixed.pcap", true: "mixed.pcapng"}[ng]
		t.Run(name, func(t *testing.T) {
			file := writeReplayPcap(t, dir, name, ps, ng)
			out, errOut, code := runBin(t, bin, "replay", file, "-n", "-L", "0", "--output", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			recs := parseRecords(t, out)
			if len(recs) != 1 || !recs[0].Final {
				t.Fatalf("want one final record, got %d", len(recs))
			}
			r := recs[0]
			if tot := r.Totals.SentBytes + r.Totals.RecvBytes; tot != want.ipBytes {
				t.Errorf("totals %d IP bytes, written %d", tot, want.ipBytes)
			}
			got := map[replayPair]pairSum{}
			for _, f := range r.Flows {
				k := pairOf(netip.MustParseAddr(*f.LocalAddr), netip.MustParseAddr(*f.RemoteAddr))
				s := got[k]
				s.bytes += f.SentBytes + f.RecvBytes
				s.packets += f.SentPackets + f.RecvPackets
				got[k] = s
			}
			if d := diffPairs(got, wantPairs); d != "" {
				t.Errorf("conversations differ from what was written:\n%s", d)
			}
		})
	}
}

func diffPairs(got, want map[replayPair]pairSum) string {
	var lines []string
	for k, w := range want {
		if g := got[k]; g != w {
			lines = append(lines, fmt.Sprintf("%s <-> %s: got %d bytes %d packets, want %d bytes %d packets", k.a, k.b, g.bytes, g.packets, w.bytes, w.packets))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, fmt.Sprintf("%s <-> %s: got %d bytes %d packets, want none", k.a, k.b, g.bytes, g.packets))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestE2EReplayDamagedFile checks that a truncated capture prints the
// record of the packets before the damage, then an error naming the file
// and the byte offset of the damaged record, and exits 1.
func TestE2EReplayDamagedFile(t *testing.T) {
	bin := e2eBin(t)
	dir := t.TempDir()
	ps := mixedReplay(t)
	good := writeReplayPcap(t, dir, "good.pcap", ps, false)
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	off := 24 // pcap file header, then 16-byte record headers
	var before uint64
	for _, p := range ps[:20] {
		n := len(p.frame)
		if p.caplen > 0 {
			n = p.caplen
		}
		off += 16 + n
		before += p.ipLen
	}
	cut := filepath.Join(dir, "cut.pcap")
	mustWriteFile(t, cut, b[:off+40])
	out, errOut, code := runBin(t, bin, "replay", cut, "-n", "--output", "json")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, w := range []string{cut, fmt.Sprintf("byte %d", off), "after 20 packets"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr %q does not name %q", errOut, w)
		}
	}
	recs := parseRecords(t, out)
	if len(recs) != 1 || !recs[0].Final || len(recs[0].Notes) == 0 {
		t.Fatalf("want one final record with a note, got %s", out)
	}
	if r := recs[0]; r.Capture.Packets != 20 || r.Totals.SentBytes+r.Totals.RecvBytes != before {
		t.Errorf("partial record: %d packets, %d bytes; want 20 packets, %d bytes", r.Capture.Packets, r.Totals.SentBytes+r.Totals.RecvBytes, before)
	}
}

// TestE2EReplayCheckVerdict runs --check on a capture of exactly 1 Mb/s
// (link bytes) for 10 s against several link speeds.
func TestE2EReplayCheckVerdict(t *testing.T) {
	bin := e2eBin(t)
	file := writeReplayPcap(t, t.TempDir(), "rate.pcap", rateReplay(t, 10), false)
	tests := []struct {
		speed      string
		code       int
		wantStatus string
		wantLine   string
	}{
		{"1M", 2, "NETRIAGE CRITICAL (saturated) - replay tx saturated: 100.0% of 1.00Mb/s (user)", "replay tx  CRITICAL (saturated)  1.00Mb/s of 1.00Mb/s (user) = 100.0%"},
		{"1.2M", 1, "NETRIAGE WARNING - replay tx at 83.3% of 1.20Mb/s (user), above the 80.0% warning threshold |", "replay tx  WARNING (above the warning threshold)  1.00Mb/s of 1.20Mb/s (user) = 83.3%"},
		{"10M", 0, "NETRIAGE OK - 1 interface, every direction ok |", "replay tx  OK  1.00Mb/s of 10.0Mb/s (user) = 10.0%"},
		{"", 3, "NETRIAGE UNKNOWN - replay tx unknown: 1.00Mb/s", "--link-speed RATE"},
	}
	for _, tc := range tests {
		t.Run("speed "+tc.speed, func(t *testing.T) {
			args := []string{"replay", file, "--check"}
			if tc.speed != "" {
				args = append(args, "--link-speed", tc.speed)
			}
			out, errOut, code := runBin(t, bin, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			if !strings.HasPrefix(out, tc.wantStatus) {
				t.Errorf("status line does not start with %q:\n%s", tc.wantStatus, out)
			}
			for _, w := range []string{tc.wantLine, "coverage n/a"} {
				if !strings.Contains(out, w) {
					t.Errorf("output does not contain %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestE2EReplayTsharkParity compares replay's per-conversation IP byte and
// packet totals with tshark's per-packet IP lengths over the same file:
// zero differences.
func TestE2EReplayTsharkParity(t *testing.T) {
	bin := e2eBin(t)
	file := writeReplayPcap(t, t.TempDir(), "mixed.pcap", mixedReplay(t), false)
	compareWithTshark(t, bin, file)
}

// compareWithTshark checks replay's per-conversation totals of file against
// tshark's per-packet IP lengths: zero differences.
func compareWithTshark(t *testing.T, bin, file string) {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	cmd := exec.Command(tshark, "-n", "-r", file, "-T", "fields", "-E", "separator=/t",
		"-e", "ip.src", "-e", "ip.dst", "-e", "ip.len", "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "ipv6.plen")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user profile
	tout, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	want := map[replayPair]pairSum{}
	for i, line := range strings.Split(strings.TrimRight(string(tout), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			t.Fatalf("tshark line %d: %q", i+1, line)
		}
		src, dst, n, extra := f[0], f[1], f[2], uint64(0)
		if src == "" {
			src, dst, n, extra = f[3], f[4], f[5], 40
		}
		if src == "" || n == "" {
			continue // not IP, or the IP header is cut
		}
		// ICMP errors quote an inner IP header: tshark lists both.
		src, dst, n = strings.Split(src, ",")[0], strings.Split(dst, ",")[0], strings.Split(n, ",")[0]
		l, err := strconv.ParseUint(n, 10, 32)
		if err != nil {
			t.Fatalf("tshark line %d: length %q: %v", i+1, n, err)
		}
		k := pairOf(netip.MustParseAddr(src), netip.MustParseAddr(dst))
		s := want[k]
		s.bytes += l + extra
		s.packets++
		want[k] = s
	}
	out, errOut, code := runBin(t, bin, "replay", file, "-n", "-L", "0", "--aggregate", "5tuple", "--output", "json")
	if code != 0 {
		t.Fatalf("replay exit %d: %s", code, errOut)
	}
	got := map[replayPair]pairSum{}
	for _, f := range parseRecords(t, out)[0].Flows {
		k := pairOf(netip.MustParseAddr(*f.LocalAddr), netip.MustParseAddr(*f.RemoteAddr))
		s := got[k]
		s.bytes += f.SentBytes + f.RecvBytes
		s.packets += f.SentPackets + f.RecvPackets
		got[k] = s
	}
	if len(want) == 0 {
		t.Fatal("tshark found no IP conversations")
	}
	var n, b uint64
	for _, s := range want {
		n, b = n+s.packets, b+s.bytes
	}
	t.Logf("tshark: %d IP packets, %d IP bytes in %d conversations", n, b, len(want))
	if d := diffPairs(got, want); d != "" {
		t.Errorf("replay vs tshark:\n%s", d)
	}
}

// TestE2EReplayTcpdumpLab records lab traffic (TCP, UDP, IPv6 UDP) with
// tcpdump, then checks replay of that file against tshark.
func TestE2EReplayTcpdumpLab(t *testing.T) {
	bin := e2eBin(t)
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed")
	}
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	la.OffloadsOff()
	lb.OffloadsOff()
	file := filepath.Join(t.TempDir(), "lab.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	td := a.Command(ctx, "tcpdump", "--immediate-mode", "-i", la.Name, "-w", file, "-U", "-s", "256", "-Z", "root")
	var tdErr bytes.Buffer
	td.Stderr = &tdErr
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond) // tcpdump opens its socket
	tcp := b.TCPSink(lb.IPv4.Addr())
	defer tcp.Close()
	udp := b.UDPSink(lb.IPv4.Addr())
	defer udp.Close()
	udp6 := b.UDPSink(lb.IPv6.Addr())
	defer udp6.Close()
	if _, err := a.SendTCP(ctx, tcp.Addr(), lab.Send{Bytes: 300_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SendUDP(ctx, udp.Addr(), lab.Send{Count: 100, Size: 900}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SendUDP(ctx, udp6.Addr(), lab.Send{Count: 50, Size: 500}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	_ = td.Process.Signal(syscall.SIGTERM)
	_ = td.Wait()
	if fi, err := os.Stat(file); err != nil || fi.Size() < 1000 {
		t.Fatalf("tcpdump wrote no capture: %v (%d bytes) %s", err, func() int64 {
			if fi != nil {
				return fi.Size()
			}
			return -1
		}(), tdErr.String())
	}
	compareWithTshark(t, bin, file)
}
