package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"netriage/internal/lab"
	"netriage/views/output"
)

// TestE2EReplayJSON runs the binary on a test capture and checks the final
// record's totals against the file's known content.
func TestE2EReplayJSON(t *testing.T) {
	bin := e2eBin(t)
	file, _ := filepath.Abs("../../sources/capture/testdata/mixed.pcap")
	out, err := exec.Command(bin, "replay", file, "--output", "json", "-n", "-P").Output()
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	var rec flowsJSON
	if err := json.Unmarshal(bytes.TrimSpace(out), &rec); err != nil {
		t.Fatalf("not one JSON record: %v\n%s", err, out)
	}
	if !rec.Final || rec.Capture.Packets != 70 || rec.Capture.NonIP != 5 {
		t.Errorf("final=%v packets=%d non_ip=%d, want true 70 5", rec.Final, rec.Capture.Packets, rec.Capture.NonIP)
	}
	var sum uint64
	for _, f := range rec.Flows {
		sum += f.SentBytes + f.RecvBytes
	}
	if tot := rec.Totals.SentBytes + rec.Totals.RecvBytes; sum != tot || tot != rec.Capture.Bytes {
		t.Errorf("flows sum %d, totals %d, capture bytes %d: must agree", sum, tot, rec.Capture.Bytes)
	}
	if rec.Aggregation != "ports" {
		t.Errorf("aggregation %q with -P, want ports", rec.Aggregation)
	}
}

// TestE2EReplayBadInput checks messages and exit codes of bad replays.
func TestE2EReplayBadInput(t *testing.T) {
	bin := e2eBin(t)
	dir := t.TempDir()
	good, _ := os.ReadFile("../../sources/capture/testdata/mixed.pcap")
	trunc := filepath.Join(dir, "trunc.pcap")
	os.WriteFile(trunc, good[:3000], 0o644)
	junk := filepath.Join(dir, "junk.pcap")
	os.WriteFile(junk, []byte("this is not a capture file at all"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing file", []string{"replay", filepath.Join(dir, "nope.pcap")}, 2, "no such file"},
		{"truncated", []string{"replay", trunc}, 1, "byte 1920"},
		{"not a capture", []string{"replay", junk}, 1, "not a pcap or pcapng file"},
		{"bad filter", []string{"replay", trunc, "-f", "tcp port"}, 2, "syntax error"},
		{"no file", []string{"replay"}, 2, "exactly one capture file"},
		{"check without speed is unknown", []string{"replay", trunc, "--check", "--link-speed", "fast"}, 3, "fast"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, stderr.String(), tc.want)
			}
			if strings.Contains(stderr.String(), "goroutine ") {
				t.Errorf("stack trace on stderr: %s", stderr.String())
			}
		})
	}
}

// TestE2EFlowsLab runs 'flows' inside a lab namespace on live traffic, with
// two fanout rings, and parses its NDJSON: every packet counted once. The
// measured packets go only once a record shows that the capture is up (a
// warm-up flow to another port), so a slow start-up cannot cost packets;
// and a record after the flow reached its count must show it unchanged, so
// no packet is counted twice either.
func TestE2EFlowsLab(t *testing.T) {
	bin := e2eBin(t)
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	sink, warm := b.UDPSink(lb.IPv4.Addr()), b.UDPSink(lb.IPv4.Addr())
	defer sink.Close()
	defer warm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", a.Name, bin, "flows", "-i", la.Name, "-n", "-P", "--fanout", "2", "--interval", "1s", "--duration", "15s", "--output", "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	type line struct {
		r   flowsJSON
		err error
	}
	records := make(chan line, 64) // more than --duration's records
	go func() {
		defer close(records)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l.r); err != nil {
				l.err = fmt.Errorf("%v: %s", err, sc.Bytes())
			}
			records <- l
		}
	}()
	udpTo := func(r flowsJSON, dst string, port uint16) *output.FlowRecord {
		for i, f := range r.Flows {
			if f.RemoteAddr != nil && *f.RemoteAddr == dst && f.RemotePort != nil && *f.RemotePort == port && f.Proto != nil && *f.Proto == "udp" {
				return &r.Flows[i]
			}
		}
		return nil
	}
	next := func(what string) flowsJSON {
		l, ok := <-records
		if !ok {
			t.Fatalf("flows ended while waiting for %s: %s", what, stderr.String())
		}
		if l.err != nil {
			t.Fatalf("record: %v", l.err)
		}
		return l.r
	}
	dst := lb.IPv4.Addr().String()
	// Each record says what netriage itself costs: its memory, and its
	// share of a CPU since the step before (the first record is the second
	// step: the first is the start).
	for i, r := range []flowsJSON{next("the first record"), next("the second record")} {
		c := r.Self
		switch {
		case c == nil:
			t.Fatalf("record %d has no self cost", i+1)
		case c.RSS < 1<<20 || c.RSS > 4<<30 || c.PeakRSS < c.RSS:
			t.Errorf("record %d: resident %d bytes, peak %d: want 1 MiB to 4 GiB, the peak no less", i+1, c.RSS, c.PeakRSS)
		case c.CPUCores == nil || *c.CPUCores < 0 || *c.CPUCores > 2:
			t.Errorf("record %d: cpu_cores %v, want 0 to 2", i+1, c.CPUCores)
		}
	}
	// Warm up until a record shows the warm-up flow: the capture is up.
	warmCtx, stopWarm := context.WithCancel(ctx)
	warmDone := make(chan struct{})
	go func() {
		defer close(warmDone)
		for warmCtx.Err() == nil {
			_, _ = a.SendUDP(warmCtx, warm.Addr(), lab.Send{Count: 1, Size: 100})
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for udpTo(next("the warm-up flow"), dst, warm.Addr().Port()) == nil {
	}
	stopWarm()
	<-warmDone
	if _, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: 200, Size: 500, RateBps: 2_000_000}); err != nil {
		t.Fatalf("send: %v", err)
	}
	check := func(f *output.FlowRecord) {
		t.Helper()
		if f.SentPackets != 200 || f.SentBytes != 200*528 {
			t.Errorf("udp flow: %d bytes in %d packets, want 200 packets of 528 bytes", f.SentBytes, f.SentPackets)
		}
	}
	for {
		f := udpTo(next("the 200 datagrams"), dst, sink.Addr().Port())
		if f != nil && f.SentPackets >= 200 {
			check(f)
			break
		}
	}
	// One more record: the same count, nothing counted again later.
	f := udpTo(next("the record after"), dst, sink.Addr().Port())
	if f == nil {
		t.Fatal("the UDP flow is missing from the record after it was complete")
	}
	check(f)
}

// TestE2EFlowsNoPermission runs 'flows' without CAP_NET_RAW (as nobody,
// with every capability dropped when the test is root): exit 1, a message
// naming the capability and the setcap line, no stack trace. Unknown
// interfaces and bad filters exit 2.
func TestE2EFlowsNoPermission(t *testing.T) {
	bin := e2eBin(t)
	run := func(args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String(), code
	}
	args := []string{bin, "flows", "-i", "lo", "-n", "--count", "1"}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("setpriv"); err != nil {
			t.Skip("setpriv not installed")
		}
		args = append([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"}, args...)
	}
	out, code := run(args...)
	if code != exitFailure {
		t.Errorf("exit %d, want %d: %s", code, exitFailure, out)
	}
	for _, want := range []string{"CAP_NET_RAW", "sudo", "setcap cap_net_raw,cap_net_admin+ep " + bin} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q: %s", want, out)
		}
	}
	if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
		t.Errorf("stack trace: %s", out)
	}
	for _, bad := range [][]string{{"-i", "nosuchif0"}, {"-f", "tcp port"}} {
		out, code := run(append([]string{bin, "flows", "-n", "--count", "1"}, bad...)...)
		if code != exitUsage || !strings.Contains(out, bad[1]) {
			t.Errorf("flows %v: exit %d, want %d naming %q: %s", bad, code, exitUsage, bad[1], out)
		}
	}
}
