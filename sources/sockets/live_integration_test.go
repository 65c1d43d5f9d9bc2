package sockets

import (
	"net"
	"os"
	"testing"
	"time"

	"netriage/triage/attrib"
)

// integration reports whether privileged tests may run.
func integration(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv("NETRIAGE_INTEGRATION") != "1" {
		t.Skip("needs root and NETRIAGE_INTEGRATION=1 (make integration)")
	}
}

// TestIntegrationOwnSockets dumps the real socket table and finds this
// test's own listening TCP socket and UDP socket, owned by this PID.
func TestIntegrationOwnSockets(t *testing.T) {
	integration(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	uc, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	s := New(Config{})
	defer s.Close()
	start := time.Now()
	tab, err := s.Refresh(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("refresh: %d sockets, %d namespaces, %d processes in %s", len(tab.Sockets), len(tab.Namespaces), len(tab.Processes), time.Since(start))
	lport := uint16(ln.Addr().(*net.TCPAddr).Port)
	uport := uint16(uc.LocalAddr().(*net.UDPAddr).Port)
	var foundT, foundU bool
	for _, sk := range tab.Sockets {
		if sk.LocalPort == lport && sk.State == attrib.StateListen {
			foundT = true
			if int(sk.Owner.PID) != os.Getpid() {
				t.Errorf("listener owner %+v, want pid %d", sk.Owner, os.Getpid())
			}
		}
		if sk.LocalPort == uport && sk.Proto == 17 {
			foundU = true
			if int(sk.Owner.PID) != os.Getpid() {
				t.Errorf("udp owner %+v, want pid %d", sk.Owner, os.Getpid())
			}
		}
	}
	if !foundT || !foundU {
		t.Fatalf("own sockets not found: tcp %v udp %v", foundT, foundU)
	}
	p := tab.Processes[attrib.ProcKey{PID: int32(os.Getpid())}]
	for k, pp := range tab.Processes {
		if int(k.PID) == os.Getpid() {
			p = pp
		}
	}
	if p == nil || p.Program == "" || p.StartTime.IsZero() || p.User == "" {
		t.Fatalf("own metadata %+v", p)
	}
}
