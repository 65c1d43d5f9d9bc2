package attrib

import (
	"slices"
	"time"

	"netriage/triage/flows"
)

// MaxInfoSockets is the most sockets WantInfo names. Asked one by one
// beside 10,000 others, the tcp_info of 256 sockets costs 0.8–1.6 ms a
// second, of 512 2.3–3.4 ms, and every socket's, in the dump, 6–11 ms
// (sources/sockets BenchmarkTCPInfoCost, a busy 2-vCPU VM; docs/check.md):
// 256 keeps the tcp_info part, with WantInfo's own 0.1–0.2 ms, within
// 2 ms a second, and is more busy connections than any view shows.
const MaxInfoSockets = 256

// wantSlack widens WantInfo's test of a recent packet to before the
// previous join: a live capture counts a packet at the join after the one
// its time falls before (its fixed lag), and a connection quiet for a
// second more costs one sample.
const wantSlack = time.Second

// WantInfo returns the sockets whose tcp_info the next socket refresh
// should read, at most max, the most wanted first:
//
//  1. the established TCP sockets of snap's TCP flows with a packet since
//     the previous join (less wantSlack), by descending 2 s rate: the
//     connections that carry bytes;
//  2. the sockets of the previous join's TCP connections that have no
//     word, or were not quiet over its step (tcpHealth.row).
//
// A connection left out whose flow stays quiet (no packet, an empty send
// queue) keeps its socket's last sample and gets the word idle
// (RuleQuiet), so every connection of a join has its word while the kernel
// is asked about a few sockets only. A socket is found in the latest table
// as the join finds it; a flow with none there (forwarded, or opened
// since) names none. It returns nil before the first table.
func (a *Attributor) WantInfo(snap *flows.Snapshot, max int) []SocketRef {
	if a.lastTab == nil || max <= 0 {
		return nil
	}
	var since time.Time
	if !a.lastUpdate.IsZero() {
		since = a.lastUpdate.Add(-wantSlack)
	}
	cands := a.cands[:0]
	defer func() { a.cands = cands[:0] }()
	if snap != nil {
		for i := range snap.Flows {
			f := &snap.Flows[i]
			if f.Key.Proto == flows.ProtoTCP && !f.Last.Before(since) {
				cands = append(cands, wantCand{i, f.Rates.R2.Total()})
			}
		}
	}
	out := make([]SocketRef, 0, min(max, len(cands)+len(a.need)))
	seen := make(map[SocketRef]struct{}, cap(out))
	add := func(r SocketRef) {
		if _, dup := seen[r]; !dup && len(out) < max {
			seen[r] = struct{}{}
			out = append(out, r)
		}
	}
	// The busiest max first (most are local connections), the others
	// ranked only if some of those named no socket.
	for rest := cands; len(rest) > 0 && len(out) < max; {
		head := rest
		if len(rest) > max {
			selectTop(rest, max)
			head = rest[:max]
		}
		slices.SortFunc(head, wantCand.cmp)
		rest = rest[len(head):]
		for _, c := range head {
			if len(out) == max {
				break
			}
			if s, ok := a.socketOf(snap.Flows[c.i].Key); ok && s.state == StateEstablished {
				add(SocketRef{s.netns, s.cookie})
			}
		}
	}
	for _, r := range a.need {
		add(r)
	}
	return out
}

// socketOf returns the socket of TCP flow k in the latest table, as
// Update would find it: the owner's side of a flow already joined, else
// the first side with an owned socket.
func (a *Attributor) socketOf(k flows.Key) (sockEntry, bool) {
	if o, ok := a.owners[newConnKey(k.Proto, k.Local, k.Remote, k.LocalPort, k.RemotePort)]; ok {
		l, r, lp, rp := k.Local, k.Remote, k.LocalPort, k.RemotePort
		if o.Swapped {
			l, r, lp, rp = r, l, rp, lp
		}
		if c, ok := a.ix.exact[newConnKey(flows.ProtoTCP, l, r, lp, rp)]; ok && c.best.netns == o.Netns {
			return c.best, true
		}
		return sockEntry{}, false
	}
	if c, ok := a.ix.exact[newConnKey(flows.ProtoTCP, k.Local, k.Remote, k.LocalPort, k.RemotePort)]; ok && !c.best.owner.IsZero() {
		return c.best, true
	}
	if c, ok := a.ix.exact[newConnKey(flows.ProtoTCP, k.Remote, k.Local, k.RemotePort, k.LocalPort)]; ok && !c.best.owner.IsZero() {
		return c.best, true
	}
	return sockEntry{}, false
}

// wantCand is a flow of WantInfo's snapshot (index i) and its 2 s rate.
type wantCand struct {
	i    int
	rate float64
}

// cmp orders by descending rate, then ascending index (rates are never
// NaN).
func (x wantCand) cmp(y wantCand) int {
	switch {
	case x.rate > y.rate:
		return -1
	case x.rate < y.rate:
		return 1
	}
	return x.i - y.i
}

// selectTop reorders c so that its first k elements are the first k of
// c sorted by wantCand.cmp, in no order (quickselect: linear on average,
// where sorting 10,000 candidates to name a few hundred took most of
// WantInfo).
func selectTop(c []wantCand, k int) {
	lo, hi := 0, len(c)-1
	for lo < hi {
		// Median of three as the pivot, moved to hi.
		m := lo + (hi-lo)/2
		if c[m].cmp(c[lo]) < 0 {
			c[m], c[lo] = c[lo], c[m]
		}
		if c[hi].cmp(c[lo]) < 0 {
			c[hi], c[lo] = c[lo], c[hi]
		}
		if c[m].cmp(c[hi]) < 0 {
			c[m], c[hi] = c[hi], c[m]
		}
		p := c[hi]
		j := lo
		for i := lo; i < hi; i++ {
			if c[i].cmp(p) < 0 {
				c[i], c[j] = c[j], c[i]
				j++
			}
		}
		c[j], c[hi] = c[hi], c[j]
		switch {
		case j == k || j == k-1:
			return
		case j > k:
			hi = j - 1
		default:
			lo = j + 1
		}
	}
}
