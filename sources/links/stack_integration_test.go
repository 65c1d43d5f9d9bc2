package links

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netriage/internal/lab"
	"netriage/triage"
)

// TestIntegrationReadStackInNetns reads another namespace's stack counters:
// UDP receive-buffer errors made inside it count there and not in the
// caller's namespace, its veth's driver statistics come by their own
// names, and BQL is not read (sysfs describes the caller's namespace).
func TestIntegrationReadStackInNetns(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, _ := l.Veth(a, b)
	r, err := Open(Options{Netns: a.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	mustRead(t, r)
	own, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	before, err := r.ReadStack([]string{la.Name})
	if err != nil {
		t.Fatal(err)
	}
	ownBefore, _ := own.ReadStack(nil)
	if before.Proto == nil || len(before.Softnet) == 0 || len(before.Errors) > 0 {
		t.Fatalf("first sample: %+v", before)
	}

	// A receiver in a that never reads, with the smallest buffer.
	var pc *net.UDPConn
	if err := a.Do(func() error {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
		pc = c
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	raw, _ := pc.SyscallConn()
	_ = raw.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 1) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.SendUDP(ctx, pc.LocalAddr().(*net.UDPAddr).AddrPort(), lab.Send{Count: 500, Size: 1000}); err != nil {
		t.Fatal(err)
	}

	after, err := r.ReadStack([]string{la.Name})
	if err != nil {
		t.Fatal(err)
	}
	ownAfter, _ := own.ReadStack(nil)
	d := after.Proto.UDPRcvbufErrors - before.Proto.UDPRcvbufErrors
	if d < 100 {
		t.Errorf("UDP RcvbufErrors in %s rose by %d, want most of 500", a.Name, d)
	}
	if ownBefore.Proto != nil && ownAfter.Proto != nil && ownAfter.Proto.UDPRcvbufErrors-ownBefore.Proto.UDPRcvbufErrors >= d {
		t.Errorf("the caller's namespace counted the errors too: %d", ownAfter.Proto.UDPRcvbufErrors-ownBefore.Proto.UDPRcvbufErrors)
	}
	v := after.Ifaces[0]
	if v.NIC == nil || v.NIC.Driver != "veth" {
		t.Fatalf("veth statistics: %+v", v)
	}
	found := false
	for i, n := range v.NIC.Names {
		if n == "rx_queue_0_drops" && v.NIC.Classes[i] == triage.NICQueueDrop {
			found = true
		}
	}
	if !found {
		t.Errorf("no rx_queue_0_drops among %q", v.NIC.Names)
	}
	if v.BQL != nil || v.BQLNote == "" {
		t.Errorf("BQL read for another namespace: %+v", v)
	}
	rates := triage.CompareStack(&before, &triage.StackSample{Time: before.Time.Add(time.Second), Proto: after.Proto, Softnet: after.Softnet, Conntrack: after.Conntrack, Ifaces: after.Ifaces})
	if rates.Proto == nil || rates.Proto.UDPRcvbufErrors != d {
		t.Errorf("rates: %+v", rates.Proto)
	}

	// The namespace deleted: the reader lets it go and says so.
	l.DeleteNetns(a)
	gone, err := r.ReadStack([]string{la.Name})
	if err != nil || len(gone.Absent) != 1 || gone.Proto != nil {
		t.Errorf("after deletion: %+v, %v", gone, err)
	}
}
