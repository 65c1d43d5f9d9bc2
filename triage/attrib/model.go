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
// # Indexes
//
// The join's indexes of the latest table (5-tuple, bound address and port,
// inode, peer) are kept from each table's Changes when the table follows
// the one indexed last, and built from all its sockets otherwise (the
// first table, a source without changes); both give the same indexes
// (TestIndexIncrementalEqualsBuilt). Under a key shared by several sockets
// the join uses the first in one fixed order (owned, then the capture's
// namespace, then the lowest namespace, inode and cookie), not the dump's.
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
	// RecvQ and SendQ are the diag message's queues, as ss shows them:
	// for a connected TCP socket the bytes not yet read by the application
	// and the bytes not yet acknowledged; for a listener the accept queue
	// and its limit; for UDP the receive and send buffer memory in use.
	RecvQ, SendQ uint32
	// TCP is the socket's tcp_info, for established TCP sockets only; nil
	// otherwise. It is shared by every copy of the table: do not modify.
	TCP *TCPInfo
	// Mem is the socket's memory (INET_DIAG_SKMEMINFO), for UDP sockets
	// only; Mem.Known is false when the kernel did not send it.
	Mem SockMem
}

// SockMem is what netriage uses of a socket's sk_meminfo.
type SockMem struct {
	// Known reports whether the kernel sent the attribute.
	Known bool
	// RcvBuf is the receive buffer's size (SO_RCVBUF as the kernel keeps
	// it) and RmemAlloc the memory the receive queue holds, in bytes.
	RcvBuf, RmemAlloc uint32
	// Drops counts packets the socket dropped since it was created
	// (sk_drops: receive buffer full, checksum or filter drops).
	Drops uint32
}

// TCPInfo is what netriage uses of struct tcp_info (include/uapi/linux/tcp.h)
// of one TCP socket. The kernel's struct grew over the years (104 bytes in
// 3.x, 192 from 4.10, 232 from 5.4, more since); Size is the length the
// kernel sent, and a field beyond it is unknown, not zero: ask Has before
// reading one of the later fields. Times are in microseconds, rates in
// bytes per second, windows in segments unless named otherwise.
type TCPInfo struct {
	// Size is the length of the kernel's struct in bytes.
	Size uint16
	// State and CAState are tcpi_state and tcpi_ca_state (0 open, 1
	// disorder, 2 CWR, 3 recovery, 4 loss).
	State, CAState uint8
	// Retransmits is tcpi_retransmits: consecutive timeouts of the
	// segment at the head of the queue (0 when nothing is timing out).
	Retransmits uint8
	// AppLimited is tcpi_delivery_rate_app_limited: the last delivery-rate
	// sample was taken while the application had no data queued.
	AppLimited bool
	RTO        uint32
	SndMSS     uint32
	RcvMSS     uint32
	// Unacked is segments in flight, Lost is segments the sender thinks
	// lost and Retrans segments retransmitted and not yet acknowledged.
	Unacked, Lost, Retrans uint32
	// RTT and RTTVar are the smoothed round-trip time and its variance.
	RTT, RTTVar uint32
	SndSsthresh uint32
	SndCwnd     uint32
	AdvMSS      uint32
	RcvSpace    uint32
	// TotalRetrans counts every retransmitted segment of the connection.
	TotalRetrans uint32
	// PacingRate (kernel ≥ 3.15).
	PacingRate uint64
	// BytesAcked and BytesReceived (4.1).
	BytesAcked, BytesReceived uint64
	// NotsentBytes is data written by the application not yet sent, and
	// MinRTT the lowest RTT seen (4.6).
	NotsentBytes, MinRTT uint32
	// DeliveryRate is the most recent delivery-rate sample (4.9).
	DeliveryRate uint64
	// BusyTime is the time spent with data to send, and RwndLimited and
	// SndbufLimited the parts of it limited by the peer's receive window
	// and by the send buffer (4.10).
	BusyTime, RwndLimited, SndbufLimited uint64
	// BytesSent and BytesRetrans count data bytes sent and retransmitted
	// (4.19).
	BytesSent, BytesRetrans uint64
	// SndWnd is the peer's advertised receive window in bytes (5.5).
	SndWnd uint32
	// RcvWnd is the receive window this end advertises, in bytes (6.2).
	RcvWnd uint32
}

// The end offsets of the tcp_info fields that kernels added over time: a
// field is known when Size reaches its end.
const (
	TCPInfoPacing   = 112 // pacing_rate
	TCPInfoBytes    = 136 // bytes_acked, bytes_received
	TCPInfoMinRTT   = 152 // notsent_bytes, min_rtt
	TCPInfoDelivery = 168 // delivery_rate
	TCPInfoChrono   = 192 // busy_time, rwnd_limited, sndbuf_limited
	TCPInfoSent     = 216 // bytes_sent, bytes_retrans
	TCPInfoSndWnd   = 232 // snd_wnd
	TCPInfoRcvWnd   = 236 // rcv_wnd
)

// Has reports whether the field ending at offset end (one of the
// TCPInfo* constants) is in this struct.
func (t *TCPInfo) Has(end int) bool { return t != nil && int(t.Size) >= end }

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
	// InfoStale is set on a refresh that did not ask for tcp_info (the
	// source asks about once a second): each established TCP socket's TCP
	// is then the newest one read before, nil for a socket new since, and
	// HasCounters is false. The TCP health tracker samples only the
	// tables with fresh tcp_info.
	InfoStale bool
	// InfoSelected is set on a refresh that asked tcp_info of the sockets
	// the caller named only (Attributor.WantInfo: the busiest connections
	// and those without a sample); the other established TCP sockets'
	// TCP is nil.
	InfoSelected bool
	// Changes is how this table differs from the source's previous one,
	// so that the join keeps its indexes current instead of building them
	// from every socket at every refresh.
	Changes SocketChanges
}

// SocketChanges lists the sockets of a table that are new, gone or
// changed (SameForJoin false) since the source's table Since. A socket is
// the same socket from table to table while its namespace and cookie are.
type SocketChanges struct {
	// Since is the Seq of the table the changes are against; 0 when the
	// source has none to give (its first table, or sockets it cannot tell
	// apart between tables): the join then indexes the whole table.
	Since uint64
	// Added are the indexes in Sockets of the sockets new since, and of
	// those that changed.
	Added []int32
	// Removed are the sockets gone since and the ones that changed, as
	// they were in the table Since.
	Removed []Socket
}

// SocketRef names one socket: its namespace and its cookie.
type SocketRef struct {
	Netns, Cookie uint64
}
