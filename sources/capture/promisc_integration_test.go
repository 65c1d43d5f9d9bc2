package capture

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netriage/internal/lab"
	"netriage/triage/flows"
)

// promiscState is an interface's promiscuous-mode state as the kernel
// reports it: the count of users (IFLA_PROMISCUITY: every socket
// membership, plus one for the administrator's flag) and the
// administrator's own flag (IFF_PROMISC in the link's flags, which
// `ip link` shows).
type promiscState struct {
	count int
	admin bool
}

func (p promiscState) String() string {
	return fmt.Sprintf("promiscuity %d, admin flag %v", p.count, p.admin)
}

func readPromisc(t *testing.T, k *lab.Link) promiscState {
	t.Helper()
	h, err := k.NS.Handle()
	if err != nil {
		t.Fatal(err)
	}
	nl, err := h.LinkByName(k.Name)
	if err != nil {
		t.Fatalf("link %s: %v", k.Name, err)
	}
	a := nl.Attrs()
	return promiscState{count: a.Promisc, admin: a.RawFlags&unix.IFF_PROMISC != 0}
}

// waitPromisc polls until the interface's state is want (within 5 s).
func waitPromisc(t *testing.T, k *lab.Link, want promiscState, what string) {
	t.Helper()
	waitPromiscFn(t, k, func(p promiscState) bool { return p == want }, what+": want "+want.String())
}

// waitPromiscFn polls until ok holds for the interface's state (within 5 s).
func waitPromiscFn(t *testing.T, k *lab.Link, ok func(promiscState) bool, what string) {
	t.Helper()
	var got promiscState
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if got = readPromisc(t, k); ok(got) {
			return
		}
	}
	t.Fatalf("%s; got %s", what, got)
}

// TestIntegrationLivePromisc captures with Promisc on a veth end, with two
// fanout rings: each ring is one user of promiscuous mode, the
// administrator's flag is left alone, and closing the capture gives the
// interface back as it was, also when the administrator had set the flag.
// On "any" the capture runs and warns that -p applies to named interfaces
// only.
func TestIntegrationLivePromisc(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, _ := l.Veth(a, b)
	opts := func(iface string) LiveOptions {
		return LiveOptions{Interfaces: []string{iface}, Promisc: true, Fanout: 2, RingMiB: 1,
			Table: flows.TableConfig{MaxFlows: 100, Local: flows.NewLocal(netip.PrefixFrom(la.IPv4.Addr(), 32))}}
	}
	if p := readPromisc(t, la); p != (promiscState{}) {
		t.Fatalf("fresh veth: %s", p)
	}
	for _, admin := range []bool{false, true} {
		if admin {
			a.Run("ip", "link", "set", la.Name, "promisc", "on")
		}
		before := readPromisc(t, la)
		live := startLiveIn(t, a, opts(la.Name))
		waitPromisc(t, la, promiscState{count: before.count + 2, admin: admin}, fmt.Sprintf("admin flag %v, capturing with 2 rings", admin))
		if w := live.Snapshot(time.Now()).Capture.Warnings; len(w) != 0 {
			t.Errorf("warnings %q, want none", w)
		}
		live.Close()
		waitPromisc(t, la, before, fmt.Sprintf("admin flag %v, capture closed", admin))
	}

	onAny := startLiveIn(t, a, opts("any"))
	w := onAny.Snapshot(time.Now()).Capture.Warnings
	if len(w) != 1 || !strings.Contains(w[0], "-p not honoured on any") || !strings.Contains(w[0], "named interfaces") {
		t.Errorf("capture on any with Promisc: warnings %q, want one saying -p applies to named interfaces only", w)
	}
	if p := readPromisc(t, la); p != (promiscState{count: 1, admin: true}) {
		t.Errorf("capture on any changed %s: %s", la.Name, p)
	}
}

// TestIntegrationPromiscKill9 runs the built binary with -p in a lab
// namespace and ends it with SIGKILL, which runs no clean-up of its own:
// the interface must be as it was before, because promiscuous mode is a
// membership of the binary's sockets that the kernel drops when they
// close. Two runs at once each count; ending one leaves the other's. An
// administrator's own setting survives a run. Needs NETRIAGE_BIN.
func TestIntegrationPromiscKill9(t *testing.T) {
	bin := os.Getenv("NETRIAGE_BIN")
	if bin == "" {
		t.Skip("NETRIAGE_BIN is not set (make integration builds the binary and sets it)")
	}
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, _ := l.Veth(a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := func(args ...string) *exec.Cmd {
		t.Helper()
		c := a.Command(ctx, bin, append([]string{"flows", "-p", "-i", la.Name, "-n", "-P", "--interval", "1s", "--output", "json"}, args...)...)
		var out lab.LimitedBuffer
		out.Max = 1 << 20
		c.Stdout, c.Stderr = &out, &out
		if err := c.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		return c
	}
	kill9 := func(c *exec.Cmd) {
		t.Helper()
		// `ip netns exec` execs the binary in place: the PID is the
		// binary's own.
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c.Process.Pid)); strings.TrimSpace(string(comm)) != "netriage" {
			t.Fatalf("PID %d is %q, not the binary", c.Process.Pid, strings.TrimSpace(string(comm)))
		}
		if err := c.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill -9 %d: %v", c.Process.Pid, err)
		}
		_ = c.Wait()
		if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the binary ended with %v, not by SIGKILL (its output: %s)", c.ProcessState, c.Stdout.(*lab.LimitedBuffer).Bytes())
		}
	}
	none := promiscState{}
	if p := readPromisc(t, la); p != none {
		t.Fatalf("fresh veth: %s", p)
	}

	// One run, killed: the interface must be as before.
	run := start()
	waitPromiscFn(t, la, func(p promiscState) bool { return p.count > 0 }, "a run with -p: want the promiscuity to rise")
	if p := readPromisc(t, la); p.admin {
		t.Errorf("the run set the administrator's flag: %s", p)
	}
	kill9(run)
	waitPromisc(t, la, none, "the run killed with SIGKILL")

	first := start("--fanout", "2")
	waitPromisc(t, la, promiscState{count: 2}, "first run (2 rings)")
	second := start()
	waitPromisc(t, la, promiscState{count: 3}, "second run beside it")
	kill9(first)
	waitPromisc(t, la, promiscState{count: 1}, "first run killed: the second's setting stays")
	kill9(second)
	waitPromisc(t, la, none, "both runs killed")

	a.Run("ip", "link", "set", la.Name, "promisc", "on")
	admin := promiscState{count: 1, admin: true}
	waitPromisc(t, la, admin, "administrator's promisc on")
	third := start()
	waitPromisc(t, la, promiscState{count: 2, admin: true}, "run on an interface the administrator set promiscuous")
	kill9(third)
	waitPromisc(t, la, admin, "run killed: the administrator's setting stays")
	clean := start("--count", "1")
	if err := clean.Wait(); err != nil {
		t.Fatalf("run with --count 1: %v (%s)", err, clean.Stdout.(*lab.LimitedBuffer).Bytes())
	}
	waitPromisc(t, la, admin, "clean exit: the administrator's setting stays")
}
