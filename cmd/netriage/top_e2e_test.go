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
	"syscall"
	"testing"
	"time"

	"netriage/internal/lab"
)

// tmuxSession drives the real binary in a detached tmux server of its own
// (a unique socket), so tests never touch the user's tmux.
type tmuxSession struct {
	t      testing.TB
	socket string
}

func startTUI(t *testing.T, w, h int, args string) *tmuxSession {
	t.Helper()
	return startTUIWith(t, w, h, "", args)
}

// topBin returns the binary under test, or skips.
func topBin(t testing.TB) string {
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
	return startTUICmd(t, w, h, prefix+" "+topBin(t)+" "+args)
}

// startTUICmd runs the shell command line cmd in a w×h tmux window.
func startTUICmd(t testing.TB, w, h int, cmdline string) *tmuxSession {
	t.Helper()
	topBin(t)
	s := &tmuxSession{t: t, socket: fmt.Sprintf("nr-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	// After the program exits, print its status and keep the pane open so
	// the test can check the restored terminal.
	cmd := fmt.Sprintf("%s; echo EXIT=$?; sleep 120", cmdline)
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

// joined is the screen and its scrollback with wrapped lines joined, for
// long messages.
func (s *tmuxSession) joined() string { return s.tmux("capture-pane", "-p", "-J", "-S", "-") }

// binPID returns the PID of the program the pane's shell started (its
// child), waiting for it to appear.
func (s *tmuxSession) binPID() int {
	s.t.Helper()
	shell := strings.TrimSpace(s.tmux("display-message", "-p", "#{pane_pid}"))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/" + shell + "/task/" + shell + "/children")
		if err != nil {
			s.t.Fatalf("children of the pane's shell: %v", err)
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			pid, err := strconv.Atoi(f[0])
			if err == nil {
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("the pane's shell %s started no program", shell)
	return 0
}

// termState describes the pane's terminal: whether the alternate screen
// is on, whether the cursor is shown, and the tty's mode (stty -a).
type termState struct {
	alternate, cursor bool
	stty              string
}

func (s *tmuxSession) termState() termState {
	s.t.Helper()
	f := strings.Fields(s.tmux("display-message", "-p", "#{alternate_on} #{cursor_flag} #{pane_tty}"))
	if len(f) != 3 {
		s.t.Fatalf("tmux formats: %q", f)
	}
	out, err := exec.Command("stty", "-F", f[2], "-a").CombinedOutput()
	if err != nil {
		s.t.Fatalf("stty -F %s -a: %v: %s", f[2], err, out)
	}
	return termState{alternate: f[0] == "1", cursor: f[1] == "1", stty: string(out)}
}

// checkRestored fails the test unless the pane's terminal is back to what
// a shell expects: main screen, cursor shown, canonical mode with echo and
// signals.
func (s *tmuxSession) checkRestored(what string) {
	s.t.Helper()
	st := s.termState()
	if st.alternate || !st.cursor {
		s.t.Errorf("%s: alternate screen on %v, cursor shown %v; want the main screen and the cursor back", what, st.alternate, st.cursor)
	}
	for _, mode := range []string{"icanon", "echo", "isig", "icrnl"} {
		if !regexp.MustCompile(`(^|\s)` + mode + `(\s|$)`).MatchString(st.stty) {
			s.t.Errorf("%s: tty mode lacks %s (still raw):\n%s", what, mode, st.stty)
		}
	}
}

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
	s := startTUI(t, 120, 40, "--demo --view flows --interval 200ms")
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
	steps := []keyStep{
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
	s.play(steps)
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

	// The overview at start: the host pair in the Flows pane and this
	// test's PID in the Processes pane, on one screen.
	pid := strconv.Itoa(os.Getpid())
	scr = s.waitUntil("the host pair and this test's PID on the overview", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, ">> Flows (iftop)") && strings.Contains(scr, "Processes (nethogs)") &&
			topLine(scr, "│", la.IPv4.Addr().String(), lb.IPv4.Addr().String()) != "" && topLine(scr, "│", " "+pid+" ") != ""
	})
	for _, want := range []string{"Remotes (bandwhich)", "Connections (bandwhich)", lb.IPv4.Addr().String()} {
		if !strings.Contains(scr, want) {
			t.Errorf("overview lacks %q:\n%s", want, scr)
		}
	}

	s.keys("I")
	scr = s.waitUntil("the veth in the Links view", 5*time.Second, func(scr string) bool {
		line := topLine(scr, "│", la.Name[:9], " up ")
		r := topRates(line)
		return strings.Contains(scr, "[I Links]") && len(r) >= 2 && inRange(r[1])
	})
	t.Logf("links row: %s", strings.TrimSpace(topLine(scr, "│", la.Name[:9], " up ")))

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
	pcap := mixedPcap(t)
	s := startTUI(t, 120, 30, "-n --view flows --replay "+pcap)
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

// TestE2ETopSignalsRestoreTerminal sends each stop signal to the running
// UI: it must leave the alternate screen, show the cursor, restore the
// tty mode and exit 128+n, without a goroutine dump.
func TestE2ETopSignalsRestoreTerminal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGPIPE} {
		t.Run(sig.String(), func(t *testing.T) {
			s := startTUI(t, 100, 30, "--demo --interval 200ms")
			s.waitFor("[F Flows]", false)
			if st := s.termState(); !st.alternate || st.cursor {
				t.Fatalf("the UI runs without the alternate screen (%v) or with the cursor shown (%v)", st.alternate, st.cursor)
			}
			if err := syscall.Kill(s.binPID(), sig); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("EXIT=%d", 128+int(sig))
			scr := s.waitUntil(want, 5*time.Second, func(scr string) bool { return strings.Contains(scr, "EXIT=") })
			if !strings.Contains(scr, want) {
				t.Errorf("exit status: want %s:\n%s", want, scr)
			}
			if strings.Contains(scr, "[F Flows]") || strings.Contains(scr, "goroutine ") {
				t.Errorf("screen after %v still shows the UI or a goroutine dump:\n%s", sig, scr)
			}
			s.checkRestored(sig.String())
		})
	}
}

// TestE2ETopFilterTakesFastKeys types '/' and the filter text in one
// tmux send-keys call, so they arrive in one read: every key after '/'
// must go to the filter (q must not quit, n p s i must not toggle), five
// times in a row.
func TestE2ETopFilterTakesFastKeys(t *testing.T) {
	s := startTUI(t, 120, 40, "--demo --view flows --interval 200ms")
	scr := s.waitFor("[F Flows]", false)
	status := func(scr string) string {
		lines := strings.Split(strings.TrimRight(scr, "\n"), "\n")
		return strings.TrimSpace(lines[len(lines)-1])
	}
	before := status(scr)
	for i := range 5 {
		for _, text := range []string{"psql", "nginx"} {
			s.keys("/", text)
			scr = s.waitFor("/"+text+"█", false)
			if strings.Contains(scr, "EXIT=") {
				t.Fatalf("round %d: /%s quit the UI:\n%s", i, text, scr)
			}
			s.keys("Escape")
			scr = s.waitFor("/"+text+"█", true)
			time.Sleep(100 * time.Millisecond) // a key right after Esc reads as Alt+key
			if got := status(scr); got != before {
				t.Errorf("round %d: /%s changed the state: status %q, was %q", i, text, got, before)
			}
			for _, want := range []string{"Flows: host pairs", "backup-1.lab.example"} {
				if !strings.Contains(scr, want) {
					t.Errorf("round %d: after /%s the screen lacks %q (a key toggled ports, source or names):\n%s", i, text, want, scr)
				}
			}
		}
	}
	// Applied with Enter in the same read, the filter holds the whole text.
	s.keys("/", "rsync", "Enter")
	s.waitFor(`filter "rsync"`, false)
	s.keys("q")
	s.waitFor("EXIT=0", false)
}

// TestE2ETopTerminalChecks: without a usable TERM or without a terminal
// the UI says which TERM works and that the other subcommands need none,
// exits 2, and leaves the terminal untouched.
func TestE2ETopTerminalChecks(t *testing.T) {
	bin := topBin(t)
	for _, tc := range []struct{ name, env, want string }{
		{"dumb", "env TERM=dumb", "TERM=dumb is not a terminal the UI can drive"},
		{"unset", "env -u TERM", "TERM is not set"},
		{"vt100", "env TERM=vt100", "TERM=vt100 is not a terminal the UI can drive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startTUICmd(t, 200, 30, tc.env+" "+bin+" --demo")
			s.waitFor("EXIT=", false)
			scr := s.joined()
			for _, want := range []string{tc.want, "xterm-256color", "tmux-256color", "work anywhere", "EXIT=2"} {
				if !strings.Contains(scr, want) {
					t.Errorf("screen lacks %q:\n%s", want, scr)
				}
			}
			s.checkRestored("TERM " + tc.name)
		})
	}
	t.Run("stdout not a terminal", func(t *testing.T) {
		_, errOut, code := runBin(t, bin, "--demo")
		if code != exitUsage || !strings.Contains(errOut, "needs an interactive terminal") || !strings.Contains(errOut, "work anywhere") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}

// TestE2ETopPanicRestoresTerminal builds the binary with the test-only
// tag that makes the demo engine panic, and checks that the terminal is
// restored before the panic and its stack are printed.
func TestE2ETopPanicRestoresTerminal(t *testing.T) {
	topBin(t)
	bin := filepath.Join(t.TempDir(), "netriage-testpanic")
	out, err := exec.Command("go", "build", "-tags", "netriage_testpanic", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build the test binary: %v: %s", err, out)
	}
	s := startTUICmd(t, 200, 50, "env NETRIAGE_TEST_PANIC=engine "+bin+" --demo --interval 300ms")
	s.waitFor("EXIT=", false)
	scr := s.joined()
	for _, want := range []string{"netriage top: internal error: test panic in the demo engine", "The terminal was restored", "main.runDemo", "EXIT=1"} {
		if !strings.Contains(scr, want) {
			t.Errorf("screen lacks %q:\n%s", want, scr)
		}
	}
	s.checkRestored("panic")
}

// TestE2ETopOverview: the overview is the first screen; its panes adapt
// to 80×24, 120×40 and 200×50; Tab moves the focus, Enter opens the
// focused row's detail, z zooms the pane and back, and a resize keeps
// the focus.
func TestE2ETopOverview(t *testing.T) {
	s := startTUI(t, 200, 50, "--demo --interval 200ms")
	// The first frame may come before the first demonstration model.
	scr := s.waitUntil("the demonstration data on the overview", 5*time.Second, func(scr string) bool {
		return strings.Contains(scr, ">> Flows (iftop)") && strings.Contains(scr, "backup-1.lab.example") && strings.Contains(scr, "rsync")
	})
	for _, want := range []string{"Overview: [F Flows]", "Processes (nethogs)", "Remotes (bandwhich)", "Connections (bandwhich)", "backup-1.lab.example", "rsync", "full screen: I Links"} {
		if !strings.Contains(scr, want) {
			t.Errorf("200x50 overview lacks %q:\n%s", want, scr)
		}
	}
	steps := []keyStep{
		{[]string{"Tab"}, ">> Processes (nethogs), row 1 of", ">> Flows"},
		{[]string{"j"}, ">> Processes (nethogs), row 2 of", ""},
		{[]string{"Enter"}, "Detail (Enter/Esc closes)", ""},
		{[]string{"Escape"}, ">> Processes (nethogs), row 2 of", "Detail (Enter"},
		{[]string{"z"}, "Processes: per process, row 2 of", "Remotes (bandwhich)"},
		{[]string{"z"}, ">> Processes (nethogs)", "Processes: per process"},
		{[]string{"R"}, ">> Remotes (bandwhich)", ""},
		{[]string{"I"}, "[I Links]", ">> Remotes"},
		{[]string{"z"}, ">> Flows (iftop)", "[I Links]"},
	}
	s.play(steps)
	s.keys("Tab")
	s.waitFor(">> Processes", false)

	// 80×24: the two most useful panes, and how to reach the others.
	s.tmux("resize-window", "-x", "80", "-y", "24")
	scr = s.waitFor("C R I E full screen", false)
	if !strings.Contains(scr, ">> Processes (nethogs)") || !strings.Contains(scr, "Flows (iftop)") || strings.Contains(scr, "Remotes (bandwhich)") {
		t.Errorf("80x24 overview: want Flows and the focused Processes, not Remotes:\n%s", scr)
	}
	s.keys("C") // not shown at 80x24: zooms
	s.waitFor("[C Connections]", false)
	s.keys("z")
	s.waitFor(">> Flows (iftop)", false)

	// 120×40: Flows across, Processes and Remotes below.
	s.tmux("resize-window", "-x", "120", "-y", "40")
	scr = s.waitFor("Remotes (bandwhich)", false)
	if strings.Contains(scr, "Connections (bandwhich)") || !strings.Contains(scr, "C Connections") {
		t.Errorf("120x40 overview: want Connections named as full screen only:\n%s", scr)
	}
	s.keys("q")
	s.waitFor("EXIT=0", false)
}

// TestE2ETopEgress: --view egress opens the Egress view on the demo's
// classes; Enter goes down to a class's names, a name's processes and a
// process's flows, the title showing the path; Esc and Backspace go back
// up; E reaches it from another view.
func TestE2ETopEgress(t *testing.T) {
	s := startTUI(t, 120, 40, "--demo --view egress --interval 200ms")
	scr := s.waitFor("Egress: by class, row 1 of 6", false)
	for _, want := range []string{"[E Egress]", "cross-region", "same-region", "unknown", "TOTAL (all flows)", "COST USD", "prices per GB in USD"} {
		if !strings.Contains(scr, want) {
			t.Errorf("egress screen lacks %q:\n%s", want, scr)
		}
	}
	// By name, so the demo's changing rates do not reorder the rows.
	s.play([]keyStep{
		{[]string{"<"}, "sort name", ""},
		{[]string{"g"}, "Egress: by class, row 1 of 6", ""},
		{[]string{"Enter"}, "Egress > cross-region: names, row 1 of 3", ""},
		{[]string{"Enter"}, "Egress > cross-region > 198.18.1.7: processes, row 1 of 1", ""},
		{[]string{"Enter"}, "Egress > cross-region > 198.18.1.7 > node[1222] k8s:pod/api-5d9c: flows, row 1 of 1", ""},
		{[]string{"Escape"}, "Egress > cross-region > 198.18.1.7: processes", "k8s:pod/api-5d9c: flows"},
		{[]string{"BSpace"}, "Egress > cross-region: names", "198.18.1.7: processes"},
		{[]string{"4"}, "sort bytes", ""},
		{[]string{"F"}, "[F Flows]", "[E Egress]"},
		{[]string{"E"}, "Egress > cross-region: names", "[F Flows]"},
	})
	s.keys("q")
	s.waitFor("EXIT=0", false)
}

// TestE2ETopOverviewReplay: a capture file on the overview: its flows in
// the Flows pane, and the panes that need processes say why they are
// empty.
func TestE2ETopOverviewReplay(t *testing.T) {
	pcap := mixedPcap(t)
	s := startTUI(t, 120, 40, "-n --replay "+pcap)
	scr := s.waitFor("end of file: 70 packets", false)
	for _, want := range []string{">> Flows (iftop), row 1 of 4", "198.18.1.2", "Processes (nethogs), 0 rows", "no process data", "Remotes (bandwhich)"} {
		if !strings.Contains(scr, want) {
			t.Errorf("replay overview lacks %q:\n%s", want, scr)
		}
	}
	s.keys("q")
	s.waitFor("EXIT=0", false)
}

// mixedPcap is the capture the replay tests browse (skips when missing).
func mixedPcap(t *testing.T) string {
	t.Helper()
	pcap, err := filepath.Abs("../../sources/capture/testdata/mixed.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pcap); err != nil {
		t.Skipf("test capture missing: %v", err)
	}
	return pcap
}

// keyStep is keys to send, the text the screen must then show, and the
// text it must no longer show ("": none).
type keyStep struct {
	keys       []string
	want, gone string
}

// play sends each step's keys and waits for its screen. Esc is followed
// by a pause, since a key right after Esc reads as Alt+key.
func (s *tmuxSession) play(steps []keyStep) {
	s.t.Helper()
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
}
