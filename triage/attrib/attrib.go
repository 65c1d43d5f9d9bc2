package attrib

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"time"

	"netriage/triage/flows"
)

// Rates is a sent/received pair of rates in bits per second.
type Rates struct {
	SentBps float64
	RecvBps float64
}

func (r *Rates) add(o Rates, swapped bool) {
	if swapped {
		o.SentBps, o.RecvBps = o.RecvBps, o.SentBps
	}
	r.SentBps += o.SentBps
	r.RecvBps += o.RecvBps
}

// FlowStat is what the Attributor needs of one flow: its key, cumulative
// bytes (as the flow table counts them) and windowed rates.
type FlowStat struct {
	Key         flows.Key
	SentBytes   uint64
	RecvBytes   uint64
	SentPackets uint64
	RecvPackets uint64
	Rate2s      Rates
	Rate10s     Rates
	Rate40s     Rates
	// Netns and Inode name the socket directly when the statistics come from
	// the socket itself (socket-counter mode); zero otherwise.
	Netns uint64
	Inode uint32
	// SinceSent and SinceRecv are the bytes since the flow table's
	// previous snapshot (flows.FlowStat.Since; see Attributor.Since).
	SinceSent, SinceRecv uint64
}

// StatsOf converts a flow table snapshot to the join's input (rates in bits
// per second). It returns nil for a nil snapshot.
func StatsOf(snap *flows.Snapshot) []FlowStat {
	if snap == nil {
		return nil
	}
	out := make([]FlowStat, len(snap.Flows))
	for i := range snap.Flows {
		out[i] = statOf(&snap.Flows[i])
	}
	return out
}

// statOf is one snapshot flow as the join's input.
func statOf(f *flows.FlowStat) FlowStat {
	bps := func(r flows.Rate) Rates {
		return Rates{SentBps: r.SentBytesPerSec * 8, RecvBps: r.RecvBytesPerSec * 8}
	}
	return FlowStat{Key: f.Key, SentBytes: f.SentBytes, RecvBytes: f.RecvBytes, SentPackets: f.SentPackets, RecvPackets: f.RecvPackets,
		Rate2s: bps(f.Rates.R2), Rate10s: bps(f.Rates.R10), Rate40s: bps(f.Rates.R40), SinceSent: f.Since.SentBytes, SinceRecv: f.Since.RecvBytes}
}

// Observe indexes the socket table tab at time now without joining flows:
// connections that close before the next Update are still remembered for
// ClosedGrace. Update(now, fl, nil) then joins against it.
func (a *Attributor) Observe(now time.Time, tab *SocketTable) {
	if tab != nil && tab != a.lastTab {
		a.index(now, tab)
	}
}

// Reason is why traffic has no owning process.
type Reason string

// Reasons for unattributed traffic.
const (
	// ReasonForwarded: neither address is local to any namespace; the host
	// forwarded or bridged the packets, no local socket exists.
	ReasonForwarded Reason = "forwarded"
	// ReasonClosed: the socket closed before a dump saw it with an owner
	// (seen only in TIME_WAIT, which has no inode).
	ReasonClosed Reason = "closed"
	// ReasonOtherProto: protocols without sockets we can join (ICMP, ...).
	ReasonOtherProto Reason = "other_protocol"
	// ReasonUnknown: a local TCP or UDP flow whose socket or process was
	// not found (fds not readable, process exited, raw sockets...).
	ReasonUnknown Reason = "unknown"
)

// Reasons lists every Reason in display order.
var Reasons = []Reason{ReasonForwarded, ReasonClosed, ReasonOtherProto, ReasonUnknown}

// Match says how a flow found its owner.
type Match string

// Matches.
const (
	MatchSocket Match = "socket"  // the socket itself (socket-counter mode)
	MatchExact  Match = "5-tuple" // live socket, exact 5-tuple
	MatchGrace  Match = "closed"  // socket closed within the grace period
	MatchBound  Match = "bound"   // unconnected UDP socket or TCP listener
	MatchPeer   Match = "peer"    // same local addr and remote endpoint as a recent socket
	MatchNone   Match = ""        // unattributed
)

const maxGraceDflt = 65536

// Config tunes the Attributor.
type Config struct {
	// ClosedGrace keeps closed sockets joinable, and exited processes
	// listed (after their last flow left the flow table), for this long.
	ClosedGrace time.Duration
	// MaxGraceEntries caps the closed-socket and peer memories (default
	// 65536 each).
	MaxGraceEntries int
	// Name resolves a remote address to a name ("" if unknown). It must not
	// block; nil means no names.
	Name func(netip.Addr) string
}

// Owner is the result of the join for one flow.
type Owner struct {
	Proc  ProcKey
	Netns uint64
	// Swapped is true when the flow's remote side is the socket's local side
	// (sent and received are exchanged for the process).
	Swapped bool
	Match   Match
	Reason  Reason
	// Peer is the process at the other end when both ends are on this
	// host in one namespace (loopback, a sidecar on the host's address):
	// it is shown with the flow's bytes mirrored, as nethogs -a does.
	// Zero when the far end is elsewhere, or is the owner itself.
	Peer      ProcKey
	PeerNetns uint64
}

// ProcRow is one process in a Report.
type ProcRow struct {
	Process Process
	// Exited is true when the process is gone; the row stays while flows
	// in the snapshot are its own, and for the grace period after its
	// last traffic and its last flow.
	Exited      bool
	Netns       uint64
	SentBytes   uint64
	RecvBytes   uint64
	Rate2s      Rates
	Rate10s     Rates
	Rate40s     Rates
	Connections int
}

// UnattributedRow is the traffic of one Reason.
type UnattributedRow struct {
	Reason    Reason
	SentBytes uint64
	RecvBytes uint64
	Rate2s    Rates
	Rate10s   Rates
	Rate40s   Rates
	Flows     int
}

// ConnRow is one connection (flow) with its owner.
type ConnRow struct {
	Key       flows.Key
	Owner     Owner
	Program   string
	SentBytes uint64
	RecvBytes uint64
	Rate2s    Rates
	Rate10s   Rates
	Rate40s   Rates
	// TCP is the health of the connection's socket (established TCP
	// sockets with tcp_info), nil when unknown. Shared: do not modify.
	TCP *TCPHealth
}

// RemoteRow aggregates the connections to one remote address.
type RemoteRow struct {
	Addr        netip.Addr
	Name        string
	SentBytes   uint64
	RecvBytes   uint64
	Rate2s      Rates
	Rate10s     Rates
	Rate40s     Rates
	Connections int
	// Procs are the processes talking to it, by descending 10 s rate.
	Procs []ProcKey
}

// Report is the attribution of one snapshot. Rows are sorted by descending
// 10 s total rate, then cumulative bytes.
type Report struct {
	Time         time.Time
	Processes    []ProcRow
	Unattributed []UnattributedRow
	Connections  []ConnRow
	Remotes      []RemoteRow
	// FlowRows[i] is the index in Connections of the i-th flow Update
	// joined: a consumer that holds the same flows in the same order (the
	// engine's snapshot) finds each flow's row by position (Rows), not
	// through a map of every connection.
	FlowRows []int32
	// ExitedSentBytes and ExitedRecvBytes are the cumulative bytes of
	// processes whose rows were dropped after they exited, so that the
	// totals still add up.
	ExitedSentBytes uint64
	ExitedRecvBytes uint64
}

// The join's map keys hold addresses as 16 plain bytes: a netip.Addr
// carries a zone pointer, and hashing plain memory is measurably faster
// with 10,000 sockets rebuilt into the indexes at every table.
type addr16 [16]byte

func a16(a netip.Addr) addr16 { return a.As16() }

type connKey struct {
	local, remote         addr16
	localPort, remotePort uint16
	proto                 flows.Proto
}

func newConnKey(p flows.Proto, l, r netip.Addr, lp, rp uint16) connKey {
	return connKey{a16(l), a16(r), lp, rp, p}
}

type bindKey struct {
	addr  addr16
	port  uint16
	proto flows.Proto
}

func newBindKey(p flows.Proto, a netip.Addr, port uint16) bindKey { return bindKey{a16(a), port, p} }

type peerKey struct {
	local, remote addr16
	remotePort    uint16
	proto         flows.Proto
}

func newPeerKey(p flows.Proto, l, r netip.Addr, rp uint16) peerKey {
	return peerKey{a16(l), a16(r), rp, p}
}

type inodeKey struct {
	netns uint64
	inode uint32
}

type memEntry struct {
	owner ProcKey
	netns uint64
	until time.Time
}

// flowState is a flow's cumulative counters at the last join, to turn the
// next snapshot's into the bytes since.
type flowState struct {
	lastSent, lastRecv uint64
}

type procAcc struct {
	meta      Process
	netns     uint64
	sent      uint64
	recv      uint64
	lastBytes time.Time
	exitedAt  time.Time
	lastFlow  time.Time // the last report with a flow of the process
}

type reasonAcc struct {
	sent, recv uint64
}

// Attributor keeps the state of the join between snapshots: which flow
// belongs to whom, cumulative bytes per process, and the memory of recently
// closed sockets. It is not safe for concurrent use.
type Attributor struct {
	cfg Config
	// flows are the counters of the last join's flows, owners the owners
	// found for those of them that have one (an unresolved flow is
	// looked up again at every join). Each join reads them and writes
	// the new snapshot's into spareFlows and spareOwners, then clears the
	// old maps and swaps: a map never holds more than one snapshot's
	// flows and never deletes, which under a flood (every flow new at
	// every step) would leave it growing with tombstones to several
	// times the table's size. Values only: nothing for the collector to
	// scan.
	flows, spareFlows   map[connKey]flowState
	owners, spareOwners map[connKey]Owner
	// sinceSeq is the snapshot number Since gave for the next Update,
	// lastSeq the last Update's (0: none). When they follow each other the
	// join adds the flows' own bytes since the last snapshot and keeps no
	// counters (flows stays empty).
	sinceSeq, lastSeq uint64
	procs             map[ProcKey]*procAcc
	reasons           map[Reason]*reasonAcc
	// grace and peers remember the connections that closed, for
	// ClosedGrace after the last table that had them.
	grace   map[connKey]memEntry
	peers   map[peerKey]memEntry
	exitedS uint64
	exitedR uint64

	// ix indexes lastTab (see index.go); spare is the one before, reused
	// when a table is indexed whole. indexedAt is the time lastTab was
	// indexed at.
	ix        sockIndex
	spare     sockIndex
	indexedAt time.Time
	lastTab   *SocketTable
	// scratch is Update's; recycled the report Recycle handed back.
	scratch  updateScratch
	recycled Report
	// remotes is how many remote rows the last report had: the next one
	// starts with room for about as many (a flood's are one per flow).
	remotes int
	// gone and gonePeers are applyChanges' scratch.
	gone      []goneConn
	gonePeers []gonePeer
	localSet  map[netip.Addr]uint64
	health    tcpHealth
	// lastUpdate is the time of the latest Update; need the sockets of
	// its rows that want tcp_info at the next pass (tcpHealth.row).
	lastUpdate time.Time
	need       []SocketRef
	// cands is WantInfo's scratch.
	cands []wantCand
}

// New returns an Attributor.
func New(cfg Config) *Attributor {
	if cfg.MaxGraceEntries <= 0 {
		cfg.MaxGraceEntries = maxGraceDflt
	}
	return &Attributor{
		cfg:         cfg,
		flows:       map[connKey]flowState{},
		spareFlows:  map[connKey]flowState{},
		owners:      map[connKey]Owner{},
		spareOwners: map[connKey]Owner{},
		procs:       map[ProcKey]*procAcc{},
		reasons:     map[Reason]*reasonAcc{},
		grace:       map[connKey]memEntry{},
		peers:       map[peerKey]memEntry{},
		ix:          newSockIndex(),
		spare:       newSockIndex(),
	}
}

// Since says that the flows of the next Update come from the flow table's
// snapshot numbered seq (StatsOf of a snapshot whose Since is set): when
// the Update before joined snapshot seq − 1, the join adds each flow's
// SinceSent and SinceRecv and keeps no counters of its own per flow;
// otherwise it subtracts the counters it kept, as without Since: at the
// first join there are none, and after a snapshot it did not join (which
// the engine, joining every one it takes, never leaves) none either, so
// each flow's bytes then count from its start once more.
func (a *Attributor) Since(seq uint64) { a.sinceSeq = seq }

// Update joins the flows of one snapshot (cumulative counters, as the flow
// table reports them) to the socket table tab (nil: keep the previous one)
// at time now, updates the cumulative per-process bytes, and returns the
// report. fl is not retained.
func (a *Attributor) Update(now time.Time, fl []FlowStat, tab *SocketTable) Report {
	return a.update(now, len(fl), func(i int, _ *FlowStat) *FlowStat { return &fl[i] }, tab)
}

// UpdateSnapshot is Update of StatsOf(snap), each flow converted as it is
// joined instead of into a copy of the snapshot (200,000 flows are 34 MB
// of copy). snap is not retained.
func (a *Attributor) UpdateSnapshot(now time.Time, snap *flows.Snapshot, tab *SocketTable) Report {
	return a.update(now, len(snap.Flows), func(i int, buf *FlowStat) *FlowStat {
		*buf = statOf(&snap.Flows[i])
		return buf
	}, tab)
}

// update is Update over n flows, the i-th of which flow returns (it may
// write it into buf, valid until the next call).
func (a *Attributor) update(now time.Time, n int, flow func(i int, buf *FlowStat) *FlowStat, tab *SocketTable) Report {
	if tab != nil && tab != a.lastTab {
		a.index(now, tab)
	}
	a.need = a.need[:0]
	defer func() { a.lastUpdate = now }()
	useSince := a.sinceSeq != 0 && a.lastSeq != 0 && a.sinceSeq == a.lastSeq+1
	a.lastSeq, a.sinceSeq = a.sinceSeq, 0
	rep := Report{Time: now}
	// The rows go into the storage of a report handed back (Recycle).
	old := a.recycled
	a.recycled = Report{}
	rep.Connections = old.Connections[:0]
	if cap(rep.Connections) < n {
		rep.Connections = make([]ConnRow, 0, n)
	}
	rep.Processes, rep.Remotes, rep.Unattributed, rep.FlowRows = old.Processes[:0], old.Remotes[:0], old.Unattributed[:0], old.FlowRows[:0]
	if cap(rep.Remotes) < a.remotes {
		rep.Remotes = make([]RemoteRow, 0, a.remotes+a.remotes/8)
	}
	if rep.Processes == nil {
		rep.Processes = make([]ProcRow, 0, len(a.procs))
	}
	perReason := map[Reason]*UnattributedRow{}
	s := &a.scratch
	s.reset()

	var buf FlowStat
	for i := range n {
		f := flow(i, &buf)
		fk := newConnKey(f.Key.Proto, f.Key.Local, f.Key.Remote, f.Key.LocalPort, f.Key.RemotePort)
		o, resolved := a.owners[fk]
		if !resolved {
			o = a.resolve(f)
			if !o.Proc.IsZero() {
				o.Peer, o.PeerNetns = a.peerOf(f.Key, o)
				resolved = true
			}
		}
		if resolved {
			a.spareOwners[fk] = o
		}
		// The bytes since the previous snapshot. idle: the flow was in the
		// previous join and counted nothing since.
		var ds, dr uint64
		var idle bool
		if useSince {
			// The table's own: a flow with bytes from before was there.
			ds, dr = f.SinceSent, f.SinceRecv
			idle = ds+dr == 0
		} else {
			// The delta of the cumulative counters; a counter that went
			// down is a flow that was expired and re-created.
			st, seen := a.flows[fk]
			idle = seen && f.SentBytes == st.lastSent && f.RecvBytes == st.lastRecv
			ds, dr = f.SentBytes, f.RecvBytes
			if seen && f.SentBytes >= st.lastSent && f.RecvBytes >= st.lastRecv {
				ds, dr = f.SentBytes-st.lastSent, f.RecvBytes-st.lastRecv
			}
			a.spareFlows[fk] = flowState{lastSent: f.SentBytes, lastRecv: f.RecvBytes}
		}

		if o.Swapped {
			ds, dr = dr, ds
		}
		row := ConnRow{Key: f.Key, Owner: o, SentBytes: f.SentBytes, RecvBytes: f.RecvBytes, Rate2s: f.Rate2s, Rate10s: f.Rate10s, Rate40s: f.Rate40s}
		if f.Key.Proto == flows.ProtoTCP && !o.Proc.IsZero() {
			l, r, lp, rp := f.Key.Local, f.Key.Remote, f.Key.LocalPort, f.Key.RemotePort
			if o.Swapped {
				l, r, lp, rp = r, l, rp, lp
			}
			if c, ok := a.ix.exact[newConnKey(flows.ProtoTCP, l, r, lp, rp)]; ok && c.best.netns == o.Netns {
				s := &c.best
				var want bool
				row.TCP, want = a.health.row(s, idle, a.lastUpdate, now)
				if want && s.state == StateEstablished && len(a.need) < MaxInfoSockets {
					a.need = append(a.need, SocketRef{s.netns, s.cookie})
				}
			}
		}
		if !o.Proc.IsZero() {
			pa := a.proc(o.Proc, o.Netns, tab)
			pa.sent += ds
			pa.recv += dr
			if ds+dr > 0 {
				pa.lastBytes = now
			}
			row.Program = pa.meta.Program
			pr := s.proc(o.Proc)
			pr.Rate2s.add(f.Rate2s, o.Swapped)
			pr.Rate10s.add(f.Rate10s, o.Swapped)
			pr.Rate40s.add(f.Rate40s, o.Swapped)
			pr.Connections++
			if !o.Peer.IsZero() {
				// The other end received what the owner sent.
				pp := a.proc(o.Peer, o.PeerNetns, tab)
				pp.sent += dr
				pp.recv += ds
				if ds+dr > 0 {
					pp.lastBytes = now
				}
				qr := s.proc(o.Peer)
				qr.Rate2s.add(f.Rate2s, !o.Swapped)
				qr.Rate10s.add(f.Rate10s, !o.Swapped)
				qr.Rate40s.add(f.Rate40s, !o.Swapped)
				qr.Connections++
			}
		} else {
			ra := a.reasons[o.Reason]
			if ra == nil {
				ra = &reasonAcc{}
				a.reasons[o.Reason] = ra
			}
			ra.sent += ds
			ra.recv += dr
			ur := perReason[o.Reason]
			if ur == nil {
				ur = &UnattributedRow{Reason: o.Reason}
				perReason[o.Reason] = ur
			}
			ur.Rate2s.add(f.Rate2s, false)
			ur.Rate10s.add(f.Rate10s, false)
			ur.Rate40s.add(f.Rate40s, false)
			ur.Flows++
		}
		rep.Connections = append(rep.Connections, row)

		// Per remote host: the flow's remote side, from the host's view.
		rem := f.Key.Remote
		ri, ok := s.remotes[rem]
		if !ok {
			ri = int32(len(rep.Remotes))
			s.remotes[rem] = ri
			rep.Remotes = append(rep.Remotes, RemoteRow{Addr: rem})
		}
		rr := &rep.Remotes[ri]
		rr.SentBytes += f.SentBytes
		rr.RecvBytes += f.RecvBytes
		rr.Rate2s.add(f.Rate2s, false)
		rr.Rate10s.add(f.Rate10s, false)
		rr.Rate40s.add(f.Rate40s, false)
		rr.Connections++
		if !o.Proc.IsZero() {
			s.remoteProc(ri, o.Proc, f.Rate10s.SentBps+f.Rate10s.RecvBps+1e-9)
		}
	}

	// Forget flows that left the flow table (expired or evicted): the
	// flow table bounds these maps.
	if len(a.flows) > 0 {
		clear(a.flows)
	}
	clear(a.owners)
	a.flows, a.spareFlows = a.spareFlows, a.flows
	a.owners, a.spareOwners = a.spareOwners, a.owners

	// Processes: live ones, and exited ones while flows of this snapshot
	// are theirs, then until their exit, their traffic and their last flow
	// are older than the grace period. (Dropped while a flow of theirs was
	// still in the table, a process came back at the flow's next join
	// without its name or its bytes.)
	for k, pa := range a.procs {
		alive := true
		if a.lastTab != nil && a.lastTab.Processes != nil {
			_, alive = a.lastTab.Processes[k]
		}
		pr := s.procRow(k)
		if pr != nil {
			pa.lastFlow = now
		}
		if !alive {
			if pa.exitedAt.IsZero() {
				pa.exitedAt = now
			}
			last := pa.lastBytes
			for _, t := range []time.Time{pa.exitedAt, pa.lastFlow} {
				if t.After(last) {
					last = t
				}
			}
			if now.Sub(last) > a.cfg.ClosedGrace {
				a.exitedS += pa.sent
				a.exitedR += pa.recv
				delete(a.procs, k)
				continue
			}
		}
		row := ProcRow{Process: pa.meta, Exited: !alive, Netns: pa.netns, SentBytes: pa.sent, RecvBytes: pa.recv}
		if pr != nil {
			row.Rate2s, row.Rate10s, row.Rate40s, row.Connections = pr.Rate2s, pr.Rate10s, pr.Rate40s, pr.Connections
		}
		rep.Processes = append(rep.Processes, row)
	}
	for _, r := range Reasons {
		ra := a.reasons[r]
		ur := perReason[r]
		if ra == nil && ur == nil {
			continue
		}
		row := UnattributedRow{Reason: r}
		if ur != nil {
			row = *ur
		}
		if ra != nil {
			row.SentBytes, row.RecvBytes = ra.sent, ra.recv
		}
		rep.Unattributed = append(rep.Unattributed, row)
	}
	a.remotes = len(rep.Remotes)
	s.remoteProcs(rep.Remotes)
	if a.cfg.Name != nil {
		for i := range rep.Remotes {
			rep.Remotes[i].Name = a.cfg.Name(rep.Remotes[i].Addr)
		}
	}
	rep.ExitedSentBytes, rep.ExitedRecvBytes = a.exitedS, a.exitedR
	sortReport(&rep, &a.scratch)
	return rep
}

// Rows finds the connection rows of a snapshot's flows in a report: by
// position when the report joined those flows in that order (FlowRows),
// else by key, through a map built at the first miss.
type Rows struct {
	rep   *Report
	byKey map[flows.Key]int32
}

// Rows returns a finder of r's connection rows (r may be nil).
func (r *Report) Rows() *Rows { return &Rows{rep: r} }

// Of returns the row of flow k, the i-th of the flows the finder is asked
// about; nil when the report has none.
func (x *Rows) Of(i int, k flows.Key) *ConnRow {
	if j := x.Index(i, k); j >= 0 {
		return &x.rep.Connections[j]
	}
	return nil
}

// Index is Of's row as an index into Connections, -1 for none. A finder is
// not safe for concurrent use (the map it may build).
func (x *Rows) Index(i int, k flows.Key) int {
	r := x.rep
	if r == nil {
		return -1
	}
	if i >= 0 && i < len(r.FlowRows) {
		if j := r.FlowRows[i]; r.Connections[j].Key == k {
			return int(j)
		}
	}
	if x.byKey == nil {
		x.byKey = make(map[flows.Key]int32, len(r.Connections))
		for j := range r.Connections {
			x.byKey[r.Connections[j].Key] = int32(j)
		}
	}
	if j, ok := x.byKey[k]; ok {
		return int(j)
	}
	return -1
}

// Recycle hands back rep, a report of this Attributor's that nothing
// reads any more, not even a copy: the next Update writes its rows into
// the same storage. Only the owner of every copy of a report may call it
// (see engine.Config.ReleaseAttribution).
func (a *Attributor) Recycle(rep *Report) {
	if rep != nil {
		a.recycled = *rep
		*rep = Report{}
	}
}

// Process returns the metadata known for k (from the latest socket table or
// the Attributor's memory of exited processes).
func (a *Attributor) Process(k ProcKey) (Process, bool) {
	if pa := a.procs[k]; pa != nil {
		return pa.meta, true
	}
	if a.lastTab != nil {
		if p := a.lastTab.Processes[k]; p != nil {
			return *p, true
		}
	}
	return Process{}, false
}

func (a *Attributor) proc(k ProcKey, netns uint64, tab *SocketTable) *procAcc {
	pa := a.procs[k]
	if pa == nil {
		pa = &procAcc{meta: Process{Key: k}, netns: netns}
		a.procs[k] = pa
	}
	if pa.meta.Program == "" && pa.meta.Incomplete == "" || pa.meta.StartTime.IsZero() {
		src := tab
		if src == nil {
			src = a.lastTab
		}
		if src != nil {
			if p := src.Processes[k]; p != nil {
				pa.meta = *p
				if p.Netns != 0 {
					pa.netns = p.Netns
				}
			}
		}
	}
	return pa
}

func unspecified(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// index makes the join's indexes those of tab, from its Changes when it
// follows the table indexed last, else from all its sockets, and moves the
// connections that closed since that table into the grace memory.
func (a *Attributor) index(now time.Time, tab *SocketTable) {
	ch := &tab.Changes
	follows := a.lastTab != nil && ch.Since != 0 && ch.Since == a.lastTab.Seq && tab.HostNetns == a.lastTab.HostNetns
	if !follows || !a.applyChanges(now, tab) {
		a.rebuild(now, tab)
	}
	a.indexedAt = now
	a.health.observe(tab)
	a.lastTab = tab
	a.localSet = tab.LocalAddrs
}

// applyChanges applies tab.Changes to the indexes of the table before. It
// returns false, changing nothing, when an index in Added is out of tab.
func (a *Attributor) applyChanges(now time.Time, tab *SocketTable) bool {
	ch := &tab.Changes
	for _, i := range ch.Added {
		if i < 0 || int(i) >= len(tab.Sockets) {
			return false
		}
	}
	host := tab.HostNetns
	// The keys of owned connections that go, with the socket the join
	// used for each: the ones left without an owned socket are remembered
	// as rebuild would, with the same owner.
	gone, gonePeers := a.gone[:0], a.gonePeers[:0]
	for i := range ch.Removed {
		s := &ch.Removed[i]
		if s.Owner.IsZero() || !s.Connected() {
			continue
		}
		k := newConnKey(s.Proto, s.Local, s.Remote, s.LocalPort, s.RemotePort)
		if c, ok := a.ix.exact[k]; ok {
			gone = append(gone, goneConn{k, c.best})
		}
		pk := newPeerKey(s.Proto, s.Local, s.Remote, s.RemotePort)
		if c, ok := a.ix.peers[pk]; ok {
			gonePeers = append(gonePeers, gonePeer{pk, c.best})
		}
	}
	for i := range ch.Removed {
		a.ix.remove(&ch.Removed[i], host)
	}
	for _, i := range ch.Added {
		a.ix.add(&tab.Sockets[i], host)
	}
	a.ix.settle()
	until := a.indexedAt.Add(a.cfg.ClosedGrace)
	for _, g := range gone {
		if c, ok := a.ix.exact[g.k]; !ok || c.best.owner.IsZero() {
			a.rememberConn(g.k, memEntry{owner: g.e.owner, netns: g.e.netns, until: until}, now)
		}
	}
	for _, g := range gonePeers {
		if _, ok := a.ix.peers[g.k]; !ok {
			a.remember(a.peers, g.k, memEntry{owner: g.e.owner, netns: g.e.netns, until: until}, now)
		}
	}
	a.gone, a.gonePeers = gone, gonePeers
	return true
}

// rebuild indexes every socket of tab, and remembers the owned
// connections of the table before that tab has no owner for.
func (a *Attributor) rebuild(now time.Time, tab *SocketTable) {
	old := a.ix
	a.ix, a.spare = a.spare, old
	a.ix.clear()
	a.ix.build(tab)
	if a.lastTab != nil {
		until := a.indexedAt.Add(a.cfg.ClosedGrace)
		for k, c := range old.exact {
			if c.best.owner.IsZero() {
				continue
			}
			if n, ok := a.ix.exact[k]; !ok || n.best.owner.IsZero() {
				a.rememberConn(k, memEntry{owner: c.best.owner, netns: c.best.netns, until: until}, now)
			}
		}
		for k, c := range old.peers {
			if _, ok := a.ix.peers[k]; !ok {
				a.remember(a.peers, k, memEntry{owner: c.best.owner, netns: c.best.netns, until: until}, now)
			}
		}
	}
}

func (a *Attributor) rememberConn(k connKey, e memEntry, now time.Time) {
	if len(a.grace) >= a.cfg.MaxGraceEntries {
		for gk, ge := range a.grace {
			if now.After(ge.until) {
				delete(a.grace, gk)
			}
		}
		if len(a.grace) >= a.cfg.MaxGraceEntries {
			return
		}
	}
	a.grace[k] = e
}

func (a *Attributor) remember(m map[peerKey]memEntry, k peerKey, e memEntry, now time.Time) {
	if _, ok := m[k]; !ok && len(m) >= a.cfg.MaxGraceEntries {
		for pk, pe := range m {
			if now.After(pe.until) {
				delete(m, pk)
			}
		}
		if len(m) >= a.cfg.MaxGraceEntries {
			return
		}
	}
	m[k] = e
}

// resolve finds the owner of one flow.
func (a *Attributor) resolve(f *FlowStat) Owner {
	k := f.Key
	if k.Proto != flows.ProtoTCP && k.Proto != flows.ProtoUDP {
		return Owner{Reason: ReasonOtherProto}
	}
	if f.Inode != 0 {
		if c, ok := a.ix.byInode[inodeKey{f.Netns, f.Inode}]; ok && !c.best.owner.IsZero() {
			return Owner{Proc: c.best.owner, Netns: c.best.netns, Match: MatchSocket}
		}
	}
	now := time.Time{}
	if a.lastTab != nil {
		now = a.lastTab.Time
	}
	closedSeen := false
	for _, swapped := range [2]bool{false, true} {
		l, r, lp, rp := k.Local, k.Remote, k.LocalPort, k.RemotePort
		if swapped {
			l, r, lp, rp = r, l, rp, lp
		}
		ck := newConnKey(k.Proto, l, r, lp, rp)
		if c, ok := a.ix.exact[ck]; ok {
			if s := &c.best; !s.owner.IsZero() {
				return Owner{Proc: s.owner, Netns: s.netns, Swapped: swapped, Match: MatchExact}
			} else if s.inode == 0 || s.state == StateTimeWait {
				closedSeen = true
			}
		}
		if e, ok := a.grace[ck]; ok && !now.After(e.until) {
			return Owner{Proc: e.owner, Netns: e.netns, Swapped: swapped, Match: MatchGrace}
		}
		for _, addr := range [...]netip.Addr{l, unspecified(l), netip.IPv6Unspecified()} {
			if c, ok := a.ix.bound[newBindKey(k.Proto, addr, lp)]; ok && !c.best.owner.IsZero() {
				return Owner{Proc: c.best.owner, Netns: c.best.netns, Swapped: swapped, Match: MatchBound}
			}
		}
		pk := newPeerKey(k.Proto, l, r, rp)
		if c, ok := a.ix.peers[pk]; ok {
			return Owner{Proc: c.best.owner, Netns: c.best.netns, Swapped: swapped, Match: MatchPeer}
		}
		if e, ok := a.peers[pk]; ok && !now.After(e.until) {
			return Owner{Proc: e.owner, Netns: e.netns, Swapped: swapped, Match: MatchPeer}
		}
	}
	if closedSeen {
		return Owner{Reason: ReasonClosed}
	}
	if a.localSet != nil {
		_, l := a.localSet[k.Local]
		_, r := a.localSet[k.Remote]
		if !l && !r && !k.Local.IsLoopback() {
			return Owner{Reason: ReasonForwarded}
		}
	}
	return Owner{Reason: ReasonUnknown}
}

// peerOf finds the process at the far end of a flow whose both addresses
// are this host's: the connected socket of the reversed 4-tuple in the
// owner's namespace, owned by another process.
func (a *Attributor) peerOf(k flows.Key, o Owner) (ProcKey, uint64) {
	if !a.isLocal(k.Local) || !a.isLocal(k.Remote) {
		return ProcKey{}, 0
	}
	l, r, lp, rp := k.Local, k.Remote, k.LocalPort, k.RemotePort
	if !o.Swapped {
		l, r, lp, rp = r, l, rp, lp
	}
	c, ok := a.ix.exact[newConnKey(k.Proto, l, r, lp, rp)]
	if s := &c.best; !ok || s.owner.IsZero() || s.owner == o.Proc || s.netns != o.Netns {
		return ProcKey{}, 0
	}
	return c.best.owner, c.best.netns
}

// isLocal reports whether addr is one of the host's (or loopback).
func (a *Attributor) isLocal(addr netip.Addr) bool {
	if addr.IsLoopback() {
		return true
	}
	_, ok := a.localSet[addr]
	return ok
}

func total(r Rates) float64 { return r.SentBps + r.RecvBps }

func sortReport(rep *Report, s *updateScratch) {
	slices.SortFunc(rep.Processes, func(a, b ProcRow) int {
		return cmp.Or(cmp.Compare(total(b.Rate10s), total(a.Rate10s)), cmp.Compare(b.SentBytes+b.RecvBytes, a.SentBytes+a.RecvBytes),
			cmp.Compare(a.Process.Key.PID, b.Process.Key.PID))
	})
	n := len(rep.Connections)
	rep.FlowRows = slices.Grow(rep.FlowRows[:0], n)[:n]
	sortRows(rep.Connections, &s.order, connSortKey, rep.FlowRows)
	sortRows(rep.Remotes, &s.order, func(r *RemoteRow, k *sortKey) {
		b := rankPrefix(k[:0], total(r.Rate10s), r.SentBytes+r.RecvBytes)
		appendAddrKey(b, r.Addr)
	}, nil)
}

func keyLess(a, b flows.Key) bool {
	if a.Proto != b.Proto {
		return a.Proto < b.Proto
	}
	if c := a.Local.Compare(b.Local); c != 0 {
		return c < 0
	}
	if a.LocalPort != b.LocalPort {
		return a.LocalPort < b.LocalPort
	}
	if c := a.Remote.Compare(b.Remote); c != 0 {
		return c < 0
	}
	return a.RemotePort < b.RemotePort
}

// updateScratch is Update's working storage, kept between calls.
type updateScratch struct {
	// procs indexes rates by process in rates.
	procs map[ProcKey]int32
	rates []ProcRow
	// remotes indexes the report's remote rows by address; pairs are
	// the processes of each remote with their 10 s rates (pairIdx
	// indexes them by remote row and process).
	remotes map[netip.Addr]int32
	pairIdx map[remoteProcKey]int32
	pairs   []remoteProc
	// order is sortReport's.
	order []rowOrder
}

type remoteProcKey struct {
	ri   int32
	proc ProcKey
}

type remoteProc struct {
	remoteProcKey
	rate float64
}

func (s *updateScratch) reset() {
	if s.procs == nil {
		s.procs, s.remotes, s.pairIdx = map[ProcKey]int32{}, map[netip.Addr]int32{}, map[remoteProcKey]int32{}
	}
	clear(s.procs)
	clear(s.remotes)
	clear(s.pairIdx)
	s.rates, s.pairs = s.rates[:0], s.pairs[:0]
}

// proc returns the rates row of k, new when k has none: valid until the
// next call.
func (s *updateScratch) proc(k ProcKey) *ProcRow {
	i, ok := s.procs[k]
	if !ok {
		i = int32(len(s.rates))
		s.procs[k] = i
		s.rates = append(s.rates, ProcRow{})
	}
	return &s.rates[i]
}

// procRow returns the rates row of k, nil when k has none.
func (s *updateScratch) procRow(k ProcKey) *ProcRow {
	if i, ok := s.procs[k]; ok {
		return &s.rates[i]
	}
	return nil
}

func (s *updateScratch) remoteProc(ri int32, k ProcKey, rate float64) {
	pk := remoteProcKey{ri, k}
	i, ok := s.pairIdx[pk]
	if !ok {
		i = int32(len(s.pairs))
		s.pairIdx[pk] = i
		s.pairs = append(s.pairs, remoteProc{remoteProcKey: pk})
	}
	s.pairs[i].rate += rate
}

// remoteProcs sets each remote row's Procs, by descending 10 s rate, in
// one array for all.
func (s *updateScratch) remoteProcs(rows []RemoteRow) {
	if len(s.pairs) == 0 {
		return
	}
	slices.SortFunc(s.pairs, func(x, y remoteProc) int {
		return cmp.Or(cmp.Compare(x.ri, y.ri), cmp.Compare(y.rate, x.rate), cmp.Compare(x.proc.PID, y.proc.PID))
	})
	all := make([]ProcKey, len(s.pairs))
	for i := range s.pairs {
		all[i] = s.pairs[i].proc
	}
	for i := 0; i < len(s.pairs); {
		j := i + 1
		for j < len(s.pairs) && s.pairs[j].ri == s.pairs[i].ri {
			j++
		}
		rows[s.pairs[i].ri].Procs = all[i:j:j]
		i = j
	}
}

// sortKey is a report row's sort key as bytes, so that rows compare as
// their keys do byte by byte: the descending rate and bytes, then the
// ascending flow key (keyLess) or address.
type sortKey [56]byte

// rowOrder is one row's sort key and position.
type rowOrder struct {
	key sortKey
	i   int32
}

// rankPrefix appends the descending rate and then bytes of a row, in the
// order of cmp.Compare (NaN first, -0 as 0), as big-endian bits.
func rankPrefix(b []byte, rate float64, bytes uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(b, ^floatKey(rate)), ^bytes)
}

// floatKey maps a float to an integer in cmp.Compare's order.
func floatKey(f float64) uint64 {
	if f != f {
		return 0
	}
	if f == 0 {
		f = 0 // -0 compares equal to 0
	}
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

// appendAddrKey appends a in netip.Addr.Compare's order, without its zone
// (a flow's addresses come from packets and have none): the bit length
// first (none, IPv4, IPv6), then the address.
func appendAddrKey(b []byte, a netip.Addr) []byte {
	a16 := a.As16() // zeros for the zero Addr
	return append(append(b, byte(a.BitLen()/8)), a16[:]...)
}

// sortConns sorts rows by descending 10 s total rate, then cumulative
// bytes, then key (keyLess). order is scratch.
func sortConns(rows []ConnRow, order *[]rowOrder) { sortRows(rows, order, connSortKey, nil) }

// connSortKey writes r's sort key to k.
func connSortKey(r *ConnRow, k *sortKey) {
	b := rankPrefix(k[:0], total(r.Rate10s), r.SentBytes+r.RecvBytes)
	b = appendAddrKey(append(b, byte(r.Key.Proto)), r.Key.Local)
	b = appendAddrKey(binary.BigEndian.AppendUint16(b, r.Key.LocalPort), r.Key.Remote)
	binary.BigEndian.AppendUint16(b, r.Key.RemotePort)
}

// sortRows sorts rows by their keys (keyOf writes a row's): the keys are
// sorted, each with its row's position, in one array, compared as bytes
// (a connection row is 250 bytes, a remote row 150, and comparing
// through them missed the cache at every tie, which is nearly every
// comparison under a flood), and then each row moves once, along the
// permutation's cycles. order is scratch.
func sortRows[T any](rows []T, order *[]rowOrder, keyOf func(*T, *sortKey), pos []int32) {
	o := slices.Grow((*order)[:0], len(rows))[:len(rows)]
	for i := range rows {
		o[i] = rowOrder{i: int32(i)}
		keyOf(&rows[i], &o[i].key)
	}
	slices.SortFunc(o, func(a, b rowOrder) int { return bytes.Compare(a.key[:], b.key[:]) })
	for j := range pos {
		pos[o[j].i] = int32(j)
	}
	// Row j of the result is rows[o[j].i]; o[j].i = -1 once it is in place.
	for start := range o {
		if o[start].i < 0 {
			continue
		}
		tmp := rows[start]
		j := start
		for {
			k := int(o[j].i)
			o[j].i = -1
			if k == start {
				rows[j] = tmp
				break
			}
			rows[j] = rows[k]
			j = k
		}
	}
	*order = o[:0]
}
