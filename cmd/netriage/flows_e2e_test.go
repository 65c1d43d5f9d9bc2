package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"netriage/internal/lab"
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
// two fanout rings, and parses its NDJSON: every packet counted once.
func TestE2EFlowsLab(t *testing.T) {
	bin := e2eBin(t)
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	sink := b.UDPSink(lb.IPv4.Addr())
	defer sink.Close()
	cmd := exec.Command("ip", "netns", "exec", a.Name, bin, "flows", "-i", la.Name, "-n", "-P", "--fanout", "2", "--count", "2", "--interval", "1s", "--output", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	time.Sleep(200 * time.Millisecond)
	if _, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Count: 200, Size: 500, RateBps: 2_000_000}); err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("flows: %v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	var last flowsJSON
	for sc.Scan() {
		n++
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("record %d: %v", n, err)
		}
	}
	if n != 2 {
		t.Fatalf("%d records, want 2 (--count 2)", n)
	}
	found := false
	for _, f := range last.Flows {
		if f.RemoteAddr != nil && *f.RemoteAddr == lb.IPv4.Addr().String() && f.Proto != nil && *f.Proto == "udp" {
			found = true
			if f.SentPackets != 200 || f.SentBytes != 200*528 {
				t.Errorf("udp flow: %d bytes in %d packets, want 200 packets of 528 bytes", f.SentBytes, f.SentPackets)
			}
		}
	}
	if !found {
		t.Errorf("no UDP flow to %s in %s", lb.IPv4.Addr(), stdout.String())
	}
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
