package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"netriage/internal/lab"
)

// tmuxSession drives the real binary in a detached tmux server of its own
// (a unique socket), so tests never touch the user's tmux.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func startTUI(t *testing.T, w, h int, args string) *tmuxSession {
	t.Helper()
	return startTUIWith(t, w, h, "", args)
}

// topBin returns the binary under test, or skips.
func topBin(t *testing.T) string {
	t.Helper()
	bin := e2eBin(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (make deps installs it)")
	}
	return bin
}

// startTUIWith runs "prefix bin args" in a w×h tmux window; prefix is a
// command that runs the binary (ip netns exec, setpriv), or empty.
func startTUIWith(t *testing.T, w, h int, prefix, args string) *tmuxSession {
	t.Helper()
	bin := topBin(t)
	s := &tmuxSession{t: t, socket: fmt.Sprintf("nr-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	// After the program exits, print its status and keep the pane open so
	// the test can check the restored terminal.
	cmd := fmt.Sprintf("%s %s %s; echo EXIT=$?; sleep 120", prefix, bin, args)
	s.tmux("new-session", "-d", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), cmd)
	s.tmux("set-option", "-g", "window-size", "manual")
	sock := strings.TrimSpace(s.tmux("display-message", "-p", "#{socket_path}"))
	t.Cleanup(func() {
		_ = exec.Command("tmux", "-L", s.socket, "kill-server").Run()
		if strings.Contains(sock, s.socket) {
			_ = os.Remove(sock) // kill-server leaves the socket file
		}
	})
	return s
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string { return s.tmux("capture-pane", "-p") }

func (s *tmuxSession) keys(keys ...string) { s.tmux(append([]string{"send-keys"}, keys...)...) }

// waitFor polls the screen until it contains want (or, with absent, no
// longer contains it).
func (s *tmuxSession) waitFor(want string, absent bool) string {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var scr string
	for time.Now().Before(deadline) {
		scr = s.screen()
		if strings.Contains(scr, want) != absent {
			return scr
		}
		time.Sleep(50 * time.Millisecond)
	}
	if absent {
		s.t.Fatalf("screen still shows %q:\n%s", want, scr)
	}
	s.t.Fatalf("screen never showed %q:\n%s", want, scr)
	return ""
}

func TestE2ETopViewsAndKeys(t *testing.T) {
	s := startTUI(t, 120, 40, "--demo --demo-start 3 --interval 200ms")
	start := time.Now()
	s.waitFor("Flows: host pairs", false)
	t.Logf("first frame after %v (includes tmux start-up)", time.Since(start))
	scr := s.waitFor("[F Flows]", false)
	for _, want := range []string{"eth0", "rx", "tx", "coverage 99.7%", "backup-1.lab.example", "TX  cum"} {
		if !strings.Contains(scr, want) {
			t.Errorf("flows screen lacks %q:\n%s", want, scr)
		}
	}
	// want appears after keys; gone (if set) disappears. Esc is followed
	// by a pause in send, since a key right after Esc reads as Alt+key.
	steps := []struct {
		keys       []string
		want, gone string
	}{
		{[]string{"A"}, "[A Processes]", ""},
		{[]string{"A"}, "rsync", ""},
		{[]string{"Tab"}, "[C Connections]", ""},
		{[]string{"R"}, "[R Remotes]", ""},
		{[]string{"I"}, "[I Links]", ""},
		{[]string{"I"}, "tbf", ""},
		{[]string{"Enter"}, "explained by", ""},
		{[]string{"Escape"}, "Links: interfaces", "explained by"},
		{[]string{"F"}, "[F Flows]", ""},
		{[]string{"p"}, "host:port pairs", ""},
		{[]string{"t"}, "sent, row", ""},
		{[]string{"B"}, "bytes/s", ""},
		{[]string{"1"}, "sort 2s", ""},
		{[]string{"<"}, "sort source", ""},
		{[]string{"o"}, "order frozen", ""},
		{[]string{"P"}, "PAUSED", ""},
		{[]string{"P"}, "order frozen", "PAUSED"},
		{[]string{"j", "j"}, "row 3 of", ""},
		{[]string{"Enter"}, "Detail (Enter/Esc closes)", ""},
		{[]string{"Escape"}, "Flows: host:port", "Detail (Enter"},
		{[]string{"h"}, "Help: keys", ""},
		{[]string{"Escape"}, "Flows: host:port", "Help: keys"},
		{[]string{"/"}, "/█", ""},
		{[]string{"r", "s", "y", "n", "c", "Enter"}, `filter "rsync"`, ""},
	}
	for _, st := range steps {
		s.keys(st.keys...)
		if st.gone != "" {
			s.waitFor(st.gone, true)
		}
		s.waitFor(st.want, false)
		if st.keys[len(st.keys)-1] == "Escape" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	scr = s.screen()
	if strings.Contains(scr, "postgres") || strings.Contains(scr, "db-replica") {
		t.Errorf("filter let other rows through:\n%s", scr)
	}
	s.keys("Escape")
	s.waitFor(`filter "rsync"`, true)
	time.Sleep(100 * time.Millisecond)

	// Live resize: wide, too small, back.
	s.tmux("resize-window", "-x", "200", "-y", "50")
	s.waitFor("cap 200Mb/s (tbf)", false)
	s.tmux("resize-window", "-x", "50", "-y", "10")
	s.waitFor("too small", false)
	s.tmux("resize-window", "-x", "80", "-y", "24")
	s.waitFor("[F Flows]", false)

	s.keys("q")
	scr = s.waitFor("EXIT=0", false)
	if strings.Contains(scr, "[F Flows]") {
		t.Errorf("terminal not restored after q:\n%s", scr)
	}
}

func TestE2ETopCtrlCAndDuration(t *testing.T) {
	s := startTUI(t, 100, 30, "--demo")
	s.waitFor("[F Flows]", false)
	s.keys("C-c")
	scr := s.waitFor("EXIT=0", false)
	if strings.Contains(scr, "Tab next") {
		t.Errorf("terminal not restored after Ctrl-C:\n%s", scr)
	}
	s2 := startTUI(t, 100, 30, "--demo --duration 1s")
	s2.waitFor("EXIT=0", false)
}

// TestE2ETopDegradedHeader runs the live UI without capabilities (as
// nobody when the test runs as root): it must start, show the interfaces
// and say what is missing and how to fix it.
func TestE2ETopDegradedHeader(t *testing.T) {
	prefix := ""
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("setpriv"); err != nil {
			t.Skip("setpriv not installed (util-linux)")
		}
		prefix = "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all"
	}
	s := startTUIWith(t, 120, 30, prefix, "--interval 300ms")
	scr := s.waitFor("CAP_NET_RAW missing", false)
	for _, want := range []string{"! no capture", "setcap cap_net_raw", "socket counters", "[F Flows]"} {
		if !strings.Contains(scr, want) {
			t.Errorf("degraded screen lacks %q:\n%s", want, scr)
		}
	}
	s.keys("I")
	scr = s.waitFor("[I Links]", false)
	if !strings.Contains(scr, "lo ") {
		t.Errorf("Links view lacks lo:\n%s", scr)
	}
	s.keys("q")
	s.waitFor("EXIT=0", false)
}

// waitUntil polls the screen until ok accepts it or timeout passes.
func (s *tmuxSession) waitUntil(what string, timeout time.Duration, ok func(scr string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var scr string
	for time.Now().Before(deadline) {
		scr = s.screen()
		if ok(scr) {
			return scr
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("screen never showed %s:\n%s", what, scr)
	return ""
}

var topRateRE = regexp.MustCompile(`([0-9.]+)([kMGT]?)b/s`)

// topRates returns every bits/s figure of line, in order.
func topRates(line string) []float64 {
	var out []float64
	for _, m := range topRateRE.FindAllStringSubmatch(line, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			continue
		}
		v *= map[string]float64{"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m[2]]
		out = append(out, v)
	}
	return out
}

// topLine returns the first screen line containing all of parts.
func topLine(scr string, parts ...string) string {
	for _, l := range strings.Split(scr, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return l
		}
	}
	return ""
}

// TestE2ETopLiveLab runs the live UI inside a lab namespace while this
// test sends 8 Mb/s of TCP over a veth pair: the header and the Links view
// must show the veth's rate (checked against the sender's pace), the
// Processes view this test's PID (socket-counter mode at least), and the
// Flows view the host pair.
func TestE2ETopLiveLab(t *testing.T) {
	topBin(t)
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	sink := b.TCPSink(lb.IPv4.Addr())

	start := time.Now()
	s := startTUIWith(t, 200, 50, "ip netns exec "+a.Name, "--interval 500ms -n")
	s.waitUntil("the first frame", 5*time.Second, func(scr string) bool { return strings.Contains(scr, "[F Flows]") })
	t.Logf("first frame after %v (includes tmux and ip netns exec start-up)", time.Since(start))

	const rateBps = 8_000_000
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	sent := make(chan error, 1)
	go func() {
		_, err := a.SendTCP(ctx, sink.Addr(), lab.Send{Bytes: 20 << 20, RateBps: rateBps, Timeout: 25 * time.Second})
		sent <- err
	}()
	t.Cleanup(func() { cancel(); <-sent })

	// Header: the veth's tx rate near the sender's pace (payload plus
	// TCP/IP/Ethernet headers, about +4%).
	inRange := func(v float64) bool { return v > 0.8*rateBps && v < 1.3*rateBps }
	scr := s.waitUntil("the veth's tx rate in the header", 10*time.Second, func(scr string) bool {
		line := topLine(scr, la.Name, " tx ")
		r := topRates(line)
		return len(r) >= 2 && inRange(r[1])
	})
	t.Logf("header: %s", strings.TrimSpace(topLine(scr, la.Name, " tx ")))

	s.keys("I")
	scr = s.waitUntil("the veth in the Links view", 5*time.Second, func(scr string) bool {
		line := topLine(scr, "│", la.Name[:9], " up ")
		r := topRates(line)
		return strings.Contains(scr, "[I Links]") && len(r) >= 2 && inRange(r[1])
	})
	t.Logf("links row: %s", strings.TrimSpace(topLine(scr, "│", la.Name[:9], " up ")))

	pid := strconv.Itoa(os.Getpid())
	s.keys("A")
	scr = s.waitUntil("this test's PID in the Processes view", 8*time.Second, func(scr string) bool {
		line := topLine(scr, "│", " "+pid+" ")
		r := topRates(line)
		return strings.Contains(scr, "[A Processes]") && len(r) >= 1 && r[0] > 0.5*rateBps
	})
	t.Logf("process row: %s", strings.TrimSpace(topLine(scr, "│", " "+pid+" ")))

	s.keys("C")
	s.waitUntil("the connection", 5*time.Second, func(scr string) bool {
		return strings.Contains(scr, "[C Connections]") && topLine(scr, la.IPv4.Addr().String()+":", sink.Addr().String()) != ""
	})

	s.keys("F")
	s.waitUntil("the host pair in the Flows view", 5*time.Second, func(scr string) bool {
		return strings.Contains(scr, "[F Flows]") && topLine(scr, "│", la.IPv4.Addr().String(), lb.IPv4.Addr().String()) != ""
	})

	s.keys("q")
	s.waitFor("EXIT=0", false)
}

// TestE2ETopReplay browses a test capture: deterministic rows, numbers and
// keys on the Flows view.
func TestE2ETopReplay(t *testing.T) {
	pcap, err := filepath.Abs("../../sources/capture/testdata/mixed.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pcap); err != nil {
		t.Skipf("test capture missing: %v", err)
	}
	s := startTUI(t, 120, 30, "-n --replay "+pcap)
	scr := s.waitFor("end of file: 70 packets", false)
	for _, want := range []string{"replay mixed.pcap", "capture file", "row 1 of 4", "! a capture file has no interface counters"} {
		if !strings.Contains(scr, want) {
			t.Errorf("replay screen lacks %q:\n%s", want, scr)
		}
	}
	// The busiest pair: 38.1 kB received, 14.6 kB sent over the file.
	if l := topLine(scr, "198.18.0.1", "=> 198.18.1.2"); !strings.Contains(l, "14.6kB") {
		t.Errorf("sent line of the busiest pair: %q\n%s", l, scr)
	}
	if !strings.Contains(scr, "RX  cum 38.1kB") || !strings.Contains(scr, "TX  cum 20.2kB") {
		t.Errorf("totals differ:\n%s", scr)
	}
	s.keys("p")
	s.waitFor("198.18.0.1:40000", false)
	s.keys("4") // sort by cumulative bytes
	s.waitFor("sort cumulative", false)
	s.keys("q")
	s.waitFor("EXIT=0", false)
}
