package links

import (
	"context"
	"testing"
	"time"

	"netriage/internal/lab"
	"netriage/triage"
)

// TestIntegrationClassStats shapes a veth with htb (class 1:1 at 5 Mbit/s
// and its leaf 1:10 holding a pfifo of 20 packets), floods it with UDP
// through the leaf and reads the classes and the leaf drops from another
// namespace. The lab kernel has no fq_codel, codel, fq or hfsc (their
// statistics are tested on fixtures), so an AQM is used only where it
// exists.
func TestIntegrationClassStats(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	la, lb := l.Veth(a, b)
	a.Run("tc", "qdisc", "replace", "dev", la.Name, "root", "handle", "1:", "htb", "default", "10")
	a.Run("tc", "class", "add", "dev", la.Name, "parent", "1:", "classid", "1:1", "htb", "rate", "5mbit", "ceil", "5mbit")
	a.Run("tc", "class", "add", "dev", la.Name, "parent", "1:1", "classid", "1:10", "htb", "rate", "2mbit", "ceil", "5mbit")
	a.Run("tc", "qdisc", "add", "dev", la.Name, "parent", "1:10", "handle", "10:", "pfifo", "limit", "20")
	sink := b.UDPSink(lb.IPv4.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.SendUDP(ctx, sink.Addr(), lab.Send{Size: 1200, Count: 3000, Timeout: 3 * time.Second}); err != nil {
		t.Logf("send: %v", err)
	}
	r, err := Open(Options{Netns: a.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := mustRead(t, r)
	for _, w := range s.Warnings {
		t.Errorf("warning: %s", w)
	}
	got, ok := s.Iface(la.Name)
	if !ok || got.Qdisc == nil || got.Qdisc.Kind != "htb" {
		t.Fatalf("no htb root on %s: %+v", la.Name, got.Qdisc)
	}
	q := got.Qdisc
	t.Logf("root drops %d, leaf drops %d, classes %+v, aqm %+v", q.Drops, q.LeafDrops, q.Classes, q.AQM)
	var leaf, inner *triage.QdiscClass
	for i := range q.Classes {
		switch q.Classes[i].Handle {
		case 0x10010:
			leaf = &q.Classes[i]
		case 0x10001:
			inner = &q.Classes[i]
		}
	}
	if leaf == nil || inner == nil || !leaf.Leaf || inner.Leaf {
		t.Fatalf("classes %+v: want 1:1 (inner) and 1:10 (leaf)", q.Classes)
	}
	if leaf.RateBps != 2_000_000 || leaf.CeilBps != 5_000_000 || inner.CeilBps != 5_000_000 || leaf.Bytes == 0 {
		t.Errorf("leaf %+v, inner %+v", *leaf, *inner)
	}
	if q.ShaperRateBps != 5_000_000 {
		t.Errorf("shaper rate %d, want 5 Mbit/s from the top-level class", q.ShaperRateBps)
	}
	if len(q.AQM) != 0 {
		t.Errorf("AQM statistics %+v without an AQM qdisc", q.AQM)
	}
	if !q.HasLeaves || q.LeafDrops == 0 || q.LeafDrops < leaf.Drops {
		t.Errorf("leaf drops %d (has leaves %v), want the leaf's %d (> 0)", q.LeafDrops, q.HasLeaves, leaf.Drops)
	}
}
