package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"netriage/internal/lab"
)

// TestE2EProcsCaptureLab runs 'procs' in capture mode inside a lab
// namespace while this test process sends TCP and UDP from sockets it owns,
// and checks that at least 99% of the bytes are attributed to its PID.
func TestE2EProcsCaptureLab(t *testing.T) {
	bin := e2eBin(t)
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	la.OffloadsOff()
	tcpSink := b.TCPSink(lb.IPv4.Addr())
	defer tcpSink.Close()
	udpSink := b.UDPSink(lb.IPv4.Addr())
	defer udpSink.Close()
	cmd := exec.Command("ip", "netns", "exec", a.Name, bin, "procs", "-i", la.Name, "-n", "--source", "capture", "--count", "4", "--interval", "1s", "--output", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	time.Sleep(500 * time.Millisecond)
	const tcpBytes = 1_000_000
	const udpN, udpSize = 300, 800
	go func() {
		_, _ = a.SendUDP(ctx, udpSink.Addr(), lab.Send{Count: udpN, Size: udpSize, RateBps: 2_000_000})
	}()
	// An unconnected UDP socket: attributed by its local address and port.
	const uncN, uncSize = 200, 600
	var unc *net.UDPConn
	if err := a.Do(func() error {
		var err error
		unc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: la.IPv4.Addr().AsSlice()})
		return err
	}); err != nil {
		t.Fatalf("unconnected UDP socket: %v", err)
	}
	defer unc.Close()
	go func() {
		dst := net.UDPAddrFromAddrPort(udpSink.Addr())
		buf := make([]byte, uncSize)
		for i := 0; i < uncN && ctx.Err() == nil; i++ {
			_, _ = unc.WriteToUDP(buf, dst)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if _, err := a.SendTCP(ctx, tcpSink.Addr(), lab.Send{Bytes: tcpBytes, RateBps: 8_000_000}); err != nil {
		t.Fatalf("send tcp: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("procs: %v\n%s", err, stderr.String())
	}
	last := lastWhoRecord(t, &stdout)
	if last.Mode != "capture" {
		t.Fatalf("mode %q, want capture (stderr %s)", last.Mode, stderr.String())
	}
	mine, total := sentBy(last, os.Getpid())
	// Truth: payload only is a lower bound of the IP bytes this PID sent.
	truth := uint64(tcpBytes + udpN*udpSize + uncN*uncSize)
	t.Logf("attributed to this PID: %d sent bytes of %d total sent; payload truth %d", mine, total, truth)
	if mine < truth {
		t.Errorf("this PID got %d sent bytes, less than the %d payload bytes it sent", mine, truth)
	}
	if total > 0 && float64(mine)/float64(total) < 0.99 {
		t.Errorf("only %.2f%% of sent bytes attributed to this PID", 100*float64(mine)/float64(total))
	}
}

// lastWhoRecord parses procs' NDJSON output and returns its last record.
func lastWhoRecord(t *testing.T, out *bytes.Buffer) whoRecord {
	t.Helper()
	var last whoRecord
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("bad record: %v", err)
		}
	}
	return last
}

// sentBy returns the sent bytes a procs record gives pid, and all the sent
// bytes it counts (processes and unattributed).
func sentBy(rec whoRecord, pid int) (mine, total uint64) {
	for _, p := range rec.Processes {
		total += p.SentBytes
		if int(p.PID) == pid {
			mine = p.SentBytes
		}
	}
	for _, u := range rec.Unattributed {
		total += u.SentBytes
	}
	return mine, total
}
