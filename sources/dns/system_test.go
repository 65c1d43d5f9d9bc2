package dns

import (
	"testing"

	"netriage/triage/flows"
)

// TestSystemPorts: the host's table names well-known ports (the built-in
// table and every services file agree on these), and a port without a name is labelled with its
// number. Protocol 1 (ICMP) has no ports, so no names.
func TestSystemPorts(t *testing.T) {
	if got := ServiceName(flows.ProtoTCP, 22); got != "ssh" {
		t.Errorf("ServiceName(tcp, 22) = %q, want ssh", got)
	}
	if got := PortLabel(flows.ProtoUDP, 53); got != "domain" {
		t.Errorf("PortLabel(udp, 53) = %q, want domain", got)
	}
	if got := PortLabel(flows.Proto(1), 22); got != "22" {
		t.Errorf("PortLabel(icmp, 22) = %q, want 22", got)
	}
	if SystemPorts() != SystemPorts() {
		t.Error("SystemPorts is loaded more than once")
	}
}
