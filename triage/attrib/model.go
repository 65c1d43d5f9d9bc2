// Package attrib joins flows to sockets and sockets to processes, and
// aggregates the result per process, per connection and per remote host.
//
// It is pure: it does no I/O and reads no clock. The socket tables it joins
// come from sources/sockets as immutable SocketTable values; the flow
// statistics come from the capture's flow table (capture mode) or from the
// kernel's per-socket TCP counters (socket-counter mode, see Counters).
//
// # Join order
//
// For each TCP or UDP flow the Attributor tries, first with the flow's local
// side as the socket's local side and then swapped (traffic of a container's
// namespace seen on the host side of its veth):
//
//  1. the exact 5-tuple of a live socket (TCP, connected UDP);
//  2. the exact 5-tuple of a socket that closed less than the grace period ago;
//  3. the local address and port of an unconnected UDP socket or a TCP
//     listener, wildcard binds (0.0.0.0, ::) included;
//  4. the same local address, remote address and remote port as a socket seen
//     in the grace period (short-lived connections that opened and closed
//     between two socket dumps).
//
// A flow attributed to a process stays attributed while it is in the flow
// table. Flows without an owner are counted by reason (see Reason).
//
// # Memory
//
// Every map is bounded: per-flow state by the flow table's own cap, closed
// sockets and peers by MaxGraceEntries, processes by their lifetime, then
// the life of their flows in the flow table, plus the grace period.
package attrib

import (
	"net/netip"
	"time"

	"netriage/triage/flows"
)

// TCP socket states as the kernel numbers them (include/net/tcp_states.h).
// UDP sockets report StateEstablished when connected and StateClose
// otherwise.
const (
	StateEstablished uint8 = 1
	StateSynSent     uint8 = 2
	StateSynRecv     uint8 = 3
	StateFinWait1    uint8 = 4
	StateFinWait2    uint8 = 5
	StateTimeWait    uint8 = 6
	StateClose       uint8 = 7
	StateCloseWait   uint8 = 8
	StateLastAck     uint8 = 9
	StateListen      uint8 = 10
	StateClosing     uint8 = 11
)

// StateName returns the conventional name of a TCP state ("ESTABLISHED").
func StateName(s uint8) string {
	names := [...]string{"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"}
	if int(s) < len(names) && s != 0 {
		return names[s]
	}
	return "UNKNOWN"
}

// ProcKey identifies one process for its whole life: the PID and the
// process start time in clock ticks since boot (/proc/PID/stat field 22).
// A PID reused by a new process gets a different key.
type ProcKey struct {
	PID        int32
	StartTicks uint64
}

// IsZero reports whether k names no process.
func (k ProcKey) IsZero() bool { return k.PID == 0 }

// Container names the container a process runs in, from its cgroup path.
type Container struct {
	// Runtime is "docker", "containerd", "cri-o", "podman" or "kubernetes"
	// (a pod whose runtime is not visible).
	Runtime string
	// ID is the container ID (usually 64 hex digits); empty when only the
	// pod is known.
	ID string
	// PodUID is the Kubernetes pod UID when the cgroup path shows it.
	PodUID string
}

// Label is the one spelling of where a process runs, used by every view
// and writer: "RUNTIME:ID" (the first 12 characters of the ID) for a
// container, "RUNTIME:pod/UID" for a pod whose container is not known,
// "systemd:UNIT" for a systemd unit, "" for none. The text is raw:
// sanitise before output.
func Label(c *Container, unit string) string {
	switch {
	case c != nil && c.ID != "":
		id := c.ID
		if len(id) > 12 {
			id = id[:12]
		}
		return c.Runtime + ":" + id
	case c != nil && c.PodUID != "":
		return c.Runtime + ":pod/" + c.PodUID
	case unit != "":
		return "systemd:" + unit
	}
	return ""
}

// Label is Label(p.Container, p.Unit).
func (p *Process) Label() string { return Label(p.Container, p.Unit) }

// Process is the metadata of one process, read once per ProcKey. Text
// fields are raw (untrusted) kernel text: sanitise before output.
type Process struct {
	Key ProcKey
	// StartTime is the wall-clock start time (boot time + start ticks).
	StartTime time.Time
	UID       uint32
	User      string
	Program   string
	Cmdline   string
	// Container is nil when the process is not in a recognised container.
	Container *Container
	// Unit is the systemd unit (service or scope) when there is no
	// container, or empty.
	Unit string
	// Cgroup is the raw cgroup v2 path (or the first v1 path).
	Cgroup string
	// Netns is the inode of the process's network namespace.
	Netns uint64
	// Incomplete says which fields could not be read and why, or is empty.
	Incomplete string
}

// Socket is one TCP or UDP socket from a sock_diag dump. Addresses are
// unmapped (a v4-mapped v6 address becomes the v4 address).
type Socket struct {
	Proto      flows.Proto
	Netns      uint64
	Local      netip.Addr
	Remote     netip.Addr
	LocalPort  uint16
	RemotePort uint16
	State      uint8
	// Inode is the socket inode; 0 for TIME_WAIT and other sockets no file
	// refers to any more.
	Inode uint32
	UID   uint32
	// Cookie is the kernel's socket cookie (unique while the socket lives).
	Cookie uint64
	// Owner is the process holding the socket, zero when not found.
	Owner ProcKey
	// HasCounters reports whether BytesAcked and BytesReceived are valid
	// (TCP sockets with tcp_info).
	HasCounters bool
	// BytesAcked is tcp_info bytes_acked: payload bytes sent and acknowledged.
	BytesAcked uint64
	// BytesReceived is tcp_info bytes_received: payload bytes received.
	BytesReceived uint64
}

// Connected reports whether the socket has a remote endpoint.
func (s *Socket) Connected() bool {
	return s.RemotePort != 0 || (s.Remote.IsValid() && !s.Remote.IsUnspecified())
}

// Namespace describes one network namespace the socket source looked into.
type Namespace struct {
	// Inode is the namespace inode (as in /proc/PID/ns/net).
	Inode uint64
	// PIDs is how many processes live in it.
	PIDs int
	// Sockets is how many TCP and UDP sockets its dump returned.
	Sockets int
	// Err is why the namespace could not be read, or empty.
	Err string
}

// Health counts what the socket source could not do, so rows that are
// incomplete can say why.
type Health struct {
	// DumpsInterrupted counts sock_diag dumps that returned
	// ErrDumpInterrupted after retries (their partial result was kept).
	DumpsInterrupted uint64
	// UnresolvedInodes is the number of sockets with an inode whose process
	// was not found (exited, or fds not readable).
	UnresolvedInodes int
	// UnreadablePIDs is the number of processes whose fds could not be read
	// (permission: another user's process without CAP_DAC_READ_SEARCH and
	// CAP_SYS_PTRACE).
	UnreadablePIDs int
	// FullScans counts full /proc/*/fd scans since start.
	FullScans uint64
	// Errors are recoverable problems of this refresh, one line each.
	Errors []string
}

// SocketTable is one refresh of the socket source: every TCP and UDP socket
// of every network namespace that has processes, with owners resolved. It is
// immutable once published.
type SocketTable struct {
	Time    time.Time
	Seq     uint64
	Sockets []Socket
	// Processes holds the metadata of every live process that owns a socket
	// in this table or owned one earlier and is still running.
	Processes map[ProcKey]*Process
	// LocalAddrs maps each address configured in any of the namespaces to
	// the namespace inode.
	LocalAddrs map[netip.Addr]uint64
	// HostNetns is the namespace the capture runs in (the caller's).
	HostNetns  uint64
	Namespaces []Namespace
	Health     Health
}
