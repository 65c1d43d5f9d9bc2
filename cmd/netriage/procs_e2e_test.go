package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"netriage/views/output"
)

// TestE2EHelperTalker is not a test: TestE2EProcs re-executes the test binary
// with NR_TALK=addr and hostile arguments; it sends 100 kB/s over TCP for
// a few seconds.
func TestE2EHelperTalker(t *testing.T) {
	addr := os.Getenv("NR_TALK")
	if addr == "" {
		t.Skip("helper process only")
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		os.Exit(1)
	}
	buf := make([]byte, 10_000)
	for i := 0; i < 60; i++ {
		if _, err := c.Write(buf); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestE2EProcs runs `netriage procs --source sockets` on a process with a
// hostile command line that talks TCP on loopback, and checks its row: PID,
// bytes counted, and a command line with no control characters.
func TestE2EProcs(t *testing.T) {
	bin := e2eBin(t)
	ln := discardListener(t)
	hostile := "\x1b]0;pwned\x07\x1b[31mred\xff\xfe" + strings.Repeat("A", 5000)
	child := exec.Command(os.Args[0], "-test.run=^TestE2EHelperTalker$", hostile)
	child.Env = append(os.Environ(), "NR_TALK="+ln.Addr().String())
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	time.Sleep(300 * time.Millisecond)
	pid := child.Process.Pid

	out, err := exec.Command(bin, "procs", "--source", "sockets", "--pid", strconv.Itoa(pid), "--interval", "1s", "--count", "3", "-O", "json").Output()
	if err != nil {
		t.Fatalf("netriage procs: %v", err)
	}
	if bytes.ContainsAny(out, "\x1b\x07") {
		t.Fatal("control characters in the output")
	}
	var last struct {
		Mode      string `json:"mode"`
		Processes []struct {
			PID       int     `json:"pid"`
			StartTime *string `json:"start_time"`
			Cmdline   string  `json:"cmdline"`
			Container *struct{}
			SentBytes uint64 `json:"sent_bytes"`
			Rate10s   struct {
				SentBps float64 `json:"sent_bps"`
			} `json:"rate_10s"`
		} `json:"processes"`
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("record %d is not JSON: %v", n, err)
		}
	}
	if n != 3 || last.Mode != "sockets" {
		t.Fatalf("%d records, mode %q", n, last.Mode)
	}
	if len(last.Processes) != 1 || last.Processes[0].PID != pid {
		t.Fatalf("processes %+v, want only pid %d", last.Processes, pid)
	}
	p := last.Processes[0]
	if p.SentBytes < 100_000 || p.Rate10s.SentBps < 100_000 || p.StartTime == nil {
		t.Errorf("row %+v: want ≥ 100 kB sent at ~800 kbit/s", p)
	}
	if !strings.Contains(p.Cmdline, "red") || len([]rune(p.Cmdline)) > 4096 {
		t.Errorf("cmdline not sanitised or not bounded: %d runes", len([]rune(p.Cmdline)))
	}

	// Table output too.
	tab, err := exec.Command(bin, "procs", "--source", "sockets", "--pid", strconv.Itoa(pid), "--count", "1", "--interval", "500ms").Output()
	if err != nil || !strings.Contains(string(tab), strconv.Itoa(pid)) || !strings.Contains(string(tab), "socket-counter mode") || bytes.ContainsAny(tab, "\x1b\x07") {
		t.Errorf("table output (%v):\n%s", err, tab)
	}
}

func TestE2EProcsReplaySaysNoProcesses(t *testing.T) {
	bin := e2eBin(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "procs", "--replay", "some.pcap")
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitUsage || !strings.Contains(stderr.String(), "no processes") {
		t.Errorf("err %v, stderr %q", err, stderr.String())
	}
}

// TestE2EProcsBothEnds: a transfer over loopback between a helper process
// (the client) and this test (the server) shows both processes, the
// server receiving what the client sent, and counts the connection once
// (socket-counter mode reads both ends' counters).
func TestE2EProcsBothEnds(t *testing.T) {
	bin := e2eBin(t)
	ln := discardListener(t)
	self := os.Getpid()
	sources := []string{"sockets"}
	if os.Geteuid() == 0 {
		sources = append(sources, "capture") // packets on lo
	}
	for _, src := range sources {
		// A talker of its own for each run: it sends for 6 s.
		child := exec.Command(os.Args[0], "-test.run=^TestE2EHelperTalker$")
		child.Env = append(os.Environ(), "NR_TALK="+ln.Addr().String())
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		cpid := child.Process.Pid
		stop := sync.OnceFunc(func() { _ = child.Process.Kill(); _ = child.Wait() })
		t.Cleanup(stop)
		time.Sleep(300 * time.Millisecond)
		out, err := exec.Command(bin, "conns", "--source", src, "-i", "lo", "--pid", strconv.Itoa(cpid), "--pid", strconv.Itoa(self),
			"--interval", "1s", "--count", "2", "-O", "json").Output()
		stop() // before the next run: this test is the server of both
		if err != nil {
			t.Fatalf("netriage conns --source %s: %v", src, err)
		}
		lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
		var last whoRecord
		if err := json.Unmarshal(lines[len(lines)-1], &last); err != nil {
			t.Fatal(err)
		}
		byPID := map[int32]output.WhoProc{}
		for _, p := range last.Processes {
			byPID[p.PID] = p
		}
		c, s := byPID[int32(cpid)], byPID[int32(self)]
		if c.SentBytes < 100_000 || s.RecvBytes != c.SentBytes || s.SentBytes != c.RecvBytes {
			t.Errorf("%s: client sent %d recv %d, server sent %d recv %d: want both ends, mirrored", src, c.SentBytes, c.RecvBytes, s.SentBytes, s.RecvBytes)
		}
		port := uint16(ln.Addr().(*net.TCPAddr).Port)
		n := 0
		if last.Connections != nil {
			for _, cn := range *last.Connections {
				if cn.LocalPort != nil && *cn.LocalPort == port || cn.RemotePort != nil && *cn.RemotePort == port {
					n++
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d connection rows for the one loopback connection, want 1: %s", src, n, lines[len(lines)-1])
		}
	}
}

// discardListener accepts TCP connections on loopback and reads them to
// the end, until the test ends.
func discardListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return ln
}
