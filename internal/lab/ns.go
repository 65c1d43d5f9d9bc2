package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NS is one network namespace of the lab, visible in `ip netns list`.
type NS struct {
	// Name is the `ip netns` name.
	Name string
	// Path is the namespace's bind mount, /run/netns/Name.
	Path string

	lab *Lab

	mu sync.Mutex
	h  *netlink.Handle
}

// Do runs fn on a locked OS thread switched into the namespace and switches
// back afterwards. Sockets created inside fn belong to the namespace for their
// whole life; goroutines started inside fn do not run in it.
func (ns *NS) Do(fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("lab: current netns: %w", err)
	}
	defer orig.Close()
	target, err := netns.GetFromPath(ns.Path)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("lab: open netns %s: %w", ns.Name, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("lab: enter netns %s: %w", ns.Name, err)
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: the runtime discards it when the
		// goroutine exits, so no other goroutine runs in the wrong
		// namespace.
		return fmt.Errorf("lab: leave netns %s: %w", ns.Name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// Command returns `ip netns exec NAME name args...`. The lab kills the
// process (by PID) at cleanup if it is still running; ctx kills it earlier.
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	ns.lab.track(c)
	return c
}

// Output runs name with args in the namespace for at most timeout and
// returns what it wrote on stdout and stderr and its exit code (-1 when
// the time-out killed it). A command that cannot start fails t; call it
// from t's goroutine.
func (ns *NS) Output(t testing.TB, timeout time.Duration, name string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := ns.Command(ctx, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	var ee *exec.ExitError
	switch err := cmd.Run(); {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("lab: run %s in %s: %v", name, ns.Name, err)
	}
	return out.Bytes(), errOut.Bytes(), code
}

// Run runs a command in the namespace and fails the test on error. Call it
// from the test goroutine.
func (ns *NS) Run(name string, args ...string) {
	ns.lab.t.Helper()
	ns.lab.run("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Handle returns a netlink handle (NETLINK_ROUTE) inside the namespace; the
// lab closes it at cleanup.
func (ns *NS) Handle() (*netlink.Handle, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.h != nil {
		return ns.h, nil
	}
	nh, err := netns.GetFromPath(ns.Path)
	if err != nil {
		return nil, fmt.Errorf("lab: open netns %s: %w", ns.Name, err)
	}
	defer nh.Close()
	h, err := netlink.NewHandleAt(nh, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("lab: netlink handle in %s: %w", ns.Name, err)
	}
	ns.h = h
	return h, nil
}

func (ns *NS) closeHandles() {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.h != nil {
		ns.h.Close()
		ns.h = nil
	}
}
