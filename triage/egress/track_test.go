package egress

import (
	"net/netip"
	"testing"

	"netriage/triage/flows"
)

func flowTo(remote string, port uint16, sent, recv uint64) flows.FlowStat {
	return flows.FlowStat{
		Key:    flows.Key{Proto: flows.ProtoTCP, Local: netip.MustParseAddr("198.18.0.1"), Remote: netip.MustParseAddr(remote), LocalPort: port, RemotePort: 443},
		Counts: flows.Counts{SentBytes: sent, RecvBytes: recv},
	}
}

func snapOf(other flows.Counts, fs ...flows.FlowStat) *flows.Snapshot {
	s := &flows.Snapshot{Flows: fs, Other: flows.FlowStat{Counts: other}}
	s.Totals.Counts = other
	for _, f := range fs {
		s.Totals.SentBytes += f.SentBytes
		s.Totals.RecvBytes += f.RecvBytes
	}
	return s
}

func sums(rows []Row) (sent, recv uint64) {
	for _, r := range rows {
		sent += r.Sent
		recv += r.Received
	}
	return
}

// TestTrackerKeepsExpiredBytes: a flow that leaves the table keeps its bytes
// in its row; what no row holds (a flow evicted between steps) is the rest
// row, classed unknown; the sums equal the totals at every step.
func TestTrackerKeepsExpiredBytes(t *testing.T) {
	tr := NewTracker(nil, 0)
	proc := func(_ int, k flows.Key) string {
		if k.LocalPort == 1 {
			return "curl[7]"
		}
		return ""
	}
	name := func(a netip.Addr) NameInfo {
		if a == netip.MustParseAddr("198.19.0.9") {
			return NameInfo{DNS: "api.example", SNI: "api.example", PTR: "x.ptr"}
		}
		return NameInfo{}
	}
	steps := []*flows.Snapshot{
		snapOf(flows.Counts{}, flowTo("198.19.0.9", 1, 1000, 100), flowTo("198.19.0.10", 2, 500, 0)),
		// The second flow expired after 700 bytes (200 after the last step).
		snapOf(flows.Counts{SentBytes: 700}, flowTo("198.19.0.9", 1, 3000, 300)),
		// The first flow is evicted and comes back with a fresh count.
		snapOf(flows.Counts{SentBytes: 700 + 3500, RecvBytes: 300}, flowTo("198.19.0.9", 1, 10, 1)),
	}
	for i, s := range steps {
		rows := tr.Update(s, proc, name)
		if ts, tr := sums(rows); ts != s.Totals.SentBytes || tr != s.Totals.RecvBytes {
			t.Fatalf("step %d: rows sum to %d/%d, totals %d/%d", i+1, ts, tr, s.Totals.SentBytes, s.Totals.RecvBytes)
		}
	}
	// The name expired from the passive names: the row keeps it.
	rows := tr.Update(steps[2], proc, func(netip.Addr) NameInfo { return NameInfo{} })
	if rows[0].Sent != 3010 || rows[0].Name != "api.example" || rows[0].NameSource != "dns" || rows[0].Process != "curl[7]" {
		t.Errorf("row 1 = %+v", rows[0])
	}
	if rows[1].Sent != 500 {
		t.Errorf("row 2 sent %d, want 500 (the bytes it had when last seen)", rows[1].Sent)
	}
	rest := rows[len(rows)-1]
	if rest.Remote.IsValid() || rest.Sent != 700+3500+10-3010-500 {
		t.Errorf("rest = %+v", rest)
	}
	sum := Aggregate(rows, nil, Prices{}, []Field{ByClass}, SortBytes)
	if sum.Total.Sent != steps[2].Totals.SentBytes {
		t.Errorf("aggregate total %d, want %d", sum.Total.Sent, steps[2].Totals.SentBytes)
	}
}

// TestTrackerFolds: past the bound, new pairs fold into one row per class
// and process; the tracker does not grow and the sums hold.
func TestTrackerFolds(t *testing.T) {
	tr := NewTracker(nil, 2)
	var fs []flows.FlowStat
	for i := range 50 {
		fs = append(fs, flowTo(netip.AddrFrom4([4]byte{198, 19, 1, byte(i)}).String(), uint16(1000+i), 10, 1))
	}
	s := snapOf(flows.Counts{}, fs...)
	rows := tr.Update(s, nil, nil)
	if tr.Len() != 3 || tr.FoldedFlows() != 48 {
		t.Fatalf("rows %d folded %d, want 3 and 48", tr.Len(), tr.FoldedFlows())
	}
	if ts, _ := sums(rows); ts != 500 {
		t.Errorf("sum %d, want 500", ts)
	}
	sum := Aggregate(rows, nil, Prices{}, []Field{ByName}, SortBytes)
	if sum.Groups[0].Key.Name != FoldedName || sum.Groups[0].Sent != 480 {
		t.Errorf("first group %+v, want the folded 480 bytes", sum.Groups[0])
	}
	tr.Update(s, nil, nil)
	if tr.Len() != 3 || tr.FoldedFlows() != 48 {
		t.Errorf("after a second step: rows %d folded %d", tr.Len(), tr.FoldedFlows())
	}
}
