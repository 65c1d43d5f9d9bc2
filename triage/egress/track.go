package egress

import (
	"net/netip"

	"netriage/triage/flows"
)

// NameInfo is what is known of a remote address's name: the name an
// application asked for (a DNS answer seen in the capture), the server
// name of a TLS ClientHello to it, and its reverse-DNS name. Texts are raw
// (untrusted): sanitise before output.
type NameInfo struct {
	// DNS is the queried name; Via the CNAME target that led to the address.
	DNS, Via string
	// SNI is the TLS server name of a ClientHello sent to the address.
	SNI string
	// PTR is the reverse-DNS name.
	PTR string
}

// Best is the name a row goes by: the queried name, else the server name,
// else the reverse-DNS name; and which of the three it is ("dns", "sni",
// "ptr"; "" for none).
func (n NameInfo) Best() (name, source string) {
	switch {
	case n.DNS != "":
		return n.DNS, "dns"
	case n.SNI != "":
		return n.SNI, "sni"
	case n.PTR != "":
		return n.PTR, "ptr"
	}
	return "", ""
}

// Merge returns n with the names o knows replacing n's: a name n has and o
// has not is kept.
func (n NameInfo) Merge(o NameInfo) NameInfo {
	if o.DNS != "" {
		n.DNS, n.Via = o.DNS, o.Via
	}
	if o.SNI != "" {
		n.SNI = o.SNI
	}
	if o.PTR != "" {
		n.PTR = o.PTR
	}
	return n
}

// DefaultMaxRows bounds a Tracker's rows when its caller gives no bound.
const DefaultMaxRows = 20000

// Tracker turns the engine's successive flow snapshots into egress rows that
// keep their bytes for the whole run: a flow that goes idle and leaves the
// flow table keeps its bytes in its (remote, process) row. It is pure and
// not safe for concurrent use (the engine owns it).
//
// The rows' sums equal the snapshot's totals exactly: bytes the table
// counted but no row holds (flows evicted before a step saw them, bytes
// counted between a flow's last step and its eviction) are one row with an
// invalid remote, classed unknown. Past MaxRows distinct (remote, process)
// pairs, new pairs fold into one row per class and process (Row.Folded),
// counted by FoldedFlows.
type Tracker struct {
	table   *Table
	maxRows int
	// flows are the counters of the last Update's flows. Each Update
	// writes the new snapshot's into spare, then clears flows and swaps:
	// neither map holds more than one snapshot's flows or deletes, which
	// under a flood (every flow new at every step) would leave a map
	// growing with tombstones to several times the table's size.
	flows, spare map[flows.Key]seen
	// lastSeq is the last snapshot's number when it carried Since (0
	// otherwise): a snapshot that follows it gives each flow's bytes
	// since, and flows stays empty.
	lastSeq uint64
	rows    map[rowKey]int // index into list
	folded  map[foldKey]int
	list    []Row
	// foldedFlows counts the flows folded when first seen.
	foldedFlows uint64
	// rest is the row of bytes no flow row holds.
	rest Row
}

type seen struct {
	sent, recv uint64
}

type rowKey struct {
	remote  netip.Addr
	process string
}

type foldKey struct {
	class   Class
	process string
}

// NewTracker returns a tracker that classes with t (folding by class needs
// it; nil classes everything internet) and keeps at most maxRows rows (0:
// DefaultMaxRows).
func NewTracker(t *Table, maxRows int) *Tracker {
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	return &Tracker{table: t, maxRows: maxRows, flows: map[flows.Key]seen{}, spare: map[flows.Key]seen{}, rows: map[rowKey]int{}, folded: map[foldKey]int{}}
}

// Update adds snap's bytes since the previous Update. processOf labels a
// flow's owner, given its index in snap.Flows and its key ("" for none;
// nil: no attribution), nameOf names a remote address (nil: no names). It
// returns the rows, the rest row last when it holds bytes; the slice is
// the caller's (its strings are shared).
func (t *Tracker) Update(snap *flows.Snapshot, processOf func(int, flows.Key) string, nameOf func(netip.Addr) NameInfo) []Row {
	if snap == nil {
		return nil
	}
	for i := range t.list {
		t.list[i].SentRate, t.list[i].ReceivedRate = 0, 0
	}
	var classed, classedRecv uint64
	useSince := snap.Since && t.lastSeq != 0 && snap.Seq == t.lastSeq+1
	t.lastSeq = 0
	if snap.Since {
		t.lastSeq = snap.Seq
	}
	for i := range snap.Flows {
		f := &snap.Flows[i]
		var ds, dr uint64
		var known bool
		if useSince {
			// A flow with bytes from before the last snapshot was in it.
			ds, dr = f.Since.SentBytes, f.Since.RecvBytes
			known = ds+dr < f.SentBytes+f.RecvBytes
		} else {
			ds, dr = f.SentBytes, f.RecvBytes
			var p seen
			p, known = t.flows[f.Key]
			if known && f.SentBytes >= p.sent && f.RecvBytes >= p.recv {
				ds, dr = f.SentBytes-p.sent, f.RecvBytes-p.recv
			}
			t.spare[f.Key] = seen{sent: f.SentBytes, recv: f.RecvBytes}
		}
		proc := ""
		if processOf != nil {
			proc = processOf(i, f.Key)
		}
		r := t.row(f.Key.Remote, proc, !known)
		r.Sent += ds
		r.Received += dr
		r.SentRate += f.Rates.R40.SentBytesPerSec
		r.ReceivedRate += f.Rates.R40.RecvBytesPerSec
		if nameOf != nil && !r.Folded {
			// A name once known stays with the row: the passive names
			// expire (a short TTL, an evicted entry) while a connection to
			// the address may go on.
			r.Names = r.Names.Merge(nameOf(f.Key.Remote))
			r.Name, r.NameSource = r.Names.Best()
		}
	}
	if len(t.flows) > 0 {
		clear(t.flows)
	}
	t.flows, t.spare = t.spare, t.flows
	for i := range t.list {
		classed += t.list[i].Sent
		classedRecv += t.list[i].Received
	}
	// Every byte the table counted is in a row: what no row holds is the
	// rest (it cannot be negative: rows hold only bytes the table counted).
	t.rest = Row{}
	if snap.Totals.SentBytes > classed {
		t.rest.Sent = snap.Totals.SentBytes - classed
	}
	if snap.Totals.RecvBytes > classedRecv {
		t.rest.Received = snap.Totals.RecvBytes - classedRecv
	}
	out := make([]Row, len(t.list), len(t.list)+1)
	copy(out, t.list)
	if t.rest.Sent > 0 || t.rest.Received > 0 {
		out = append(out, t.rest)
	}
	return out
}

// FoldedFlows is the number of flows whose (remote, process) pair had no row
// of its own when they were first seen, because the tracker was full: their
// bytes are in their class's folded row.
func (t *Tracker) FoldedFlows() uint64 { return t.foldedFlows }

// Len is the number of rows kept.
func (t *Tracker) Len() int { return len(t.list) }

func (t *Tracker) row(remote netip.Addr, proc string, newFlow bool) *Row {
	k := rowKey{remote.Unmap().WithZone(""), proc}
	if i, ok := t.rows[k]; ok {
		return &t.list[i]
	}
	if len(t.rows) < t.maxRows {
		t.rows[k] = len(t.list)
		t.list = append(t.list, Row{Remote: k.remote, Process: proc})
		return &t.list[len(t.list)-1]
	}
	if newFlow {
		t.foldedFlows++
	}
	// A folded pair is classed again at every step (a lookup, no memory
	// per pair), so a flood of new remotes cannot grow the tracker.
	fk := foldKey{t.table.Classify(k.remote).Class, proc}
	if i, ok := t.folded[fk]; ok {
		return &t.list[i]
	}
	t.folded[fk] = len(t.list)
	t.list = append(t.list, Row{Remote: k.remote, Process: proc, Folded: true})
	return &t.list[len(t.list)-1]
}
