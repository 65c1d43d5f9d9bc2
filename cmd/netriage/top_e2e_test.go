package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives the real binary in a detached tmux server of its own
// (a unique socket), so tests never touch the user's tmux.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func startTUI(t *testing.T, w, h int, args string) *tmuxSession {
	t.Helper()
	bin := os.Getenv("NETRIAGE_BIN")
	if bin == "" {
		t.Skip("NETRIAGE_BIN not set (make e2e sets it)")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (make deps installs it)")
	}
	s := &tmuxSession{t: t, socket: fmt.Sprintf("nr-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	// After the program exits, print its status and keep the pane open so
	// the test can check the restored terminal.
	cmd := fmt.Sprintf("%s %s; echo EXIT=$?; sleep 120", bin, args)
	s.tmux("new-session", "-d", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), cmd)
	s.tmux("set-option", "-g", "window-size", "manual")
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
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

func TestE2ETopDegradedHeader(t *testing.T) {
	s := startTUI(t, 120, 30, "")
	scr := s.waitFor("not connected", false)
	if !strings.Contains(scr, "! ") {
		t.Errorf("degraded message not marked:\n%s", scr)
	}
	s.keys("q")
	s.waitFor("EXIT=0", false)
}
