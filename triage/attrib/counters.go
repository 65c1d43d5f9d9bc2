package attrib

import (
	"time"

	"netriage/triage/flows"
)

// Counters turns successive socket tables into per-connection flow
// statistics from the kernel's own TCP counters (tcp_info bytes_acked and
// bytes_received), for socket-counter mode: no capture needed, TCP only,
// payload bytes (no IP or TCP headers), and connections that open and close
// between two dumps are not seen.
//
// Sockets present in the first table start from their counters at that
// moment; sockets that appear later count from zero (they opened since the
// previous table). Memory is bounded by the number of live sockets.
type Counters struct {
	prevTime time.Time
	started  bool
	conns    map[counterKey]*counterHist
	gen      uint64
}

type counterKey struct {
	netns  uint64
	cookie uint64
	inode  uint32
	key    flows.Key
}

type sample struct {
	t          time.Time
	sent, recv uint64
}

// histLen is the number of samples kept per connection: enough for a 40 s
// window at a 1 s interval, and at shorter intervals the window is
// approximated from the oldest sample kept.
const histLen = 48

type counterHist struct {
	base       sample // counters at first sight
	ring       [histLen]sample
	n, head    int
	gen        uint64
	netns      uint64
	inode      uint32
	sent, recv uint64 // cumulative since base
}

// NewCounters returns an empty Counters.
func NewCounters() *Counters { return &Counters{conns: map[counterKey]*counterHist{}} }

func (h *counterHist) push(s sample) {
	h.ring[h.head] = s
	h.head = (h.head + 1) % histLen
	if h.n < histLen {
		h.n++
	}
}

// at returns the newest sample at or before t, or the oldest sample.
func (h *counterHist) at(t time.Time) sample {
	var best sample
	for i := 0; i < h.n; i++ {
		s := h.ring[(h.head-1-i+2*histLen)%histLen]
		best = s
		if !s.t.After(t) {
			return s
		}
	}
	return best
}

func (h *counterHist) rate(now time.Time, w time.Duration) Rates {
	cur := h.ring[(h.head-1+histLen)%histLen]
	old := h.at(now.Add(-w))
	dt := cur.t.Sub(old.t).Seconds()
	if dt <= 0 {
		return Rates{}
	}
	return Rates{SentBps: float64(cur.sent-old.sent) * 8 / dt, RecvBps: float64(cur.recv-old.recv) * 8 / dt}
}

// Update reads the TCP sockets of tab and returns one FlowStat per
// connection with counters, keyed like the capture's flows (Local is the
// socket's local side). Sockets without an inode (TIME_WAIT) are skipped.
func (c *Counters) Update(tab *SocketTable) []FlowStat {
	c.gen++
	now := tab.Time
	out := make([]FlowStat, 0, len(c.conns))
	counted := func(s *Socket) bool {
		return s.Proto == flows.ProtoTCP && s.HasCounters && s.Connected() && s.State != StateListen
	}
	// Both ends of a connection within one namespace (loopback) carry
	// the same bytes: one end, the lower key, stands for the connection
	// and the join names the other as its peer.
	type nsKey struct {
		netns uint64
		key   flows.Key
	}
	ends := map[nsKey]bool{}
	for i := range tab.Sockets {
		if s := &tab.Sockets[i]; counted(s) && (s.Local.IsLoopback() || tab.LocalAddrs != nil && tab.LocalAddrs[s.Remote] == s.Netns) {
			ends[nsKey{s.Netns, flows.Key{Proto: s.Proto, Local: s.Local, Remote: s.Remote, LocalPort: s.LocalPort, RemotePort: s.RemotePort}}] = true
		}
	}
	for i := range tab.Sockets {
		s := &tab.Sockets[i]
		if !counted(s) {
			continue
		}
		fk := flows.Key{Proto: s.Proto, Local: s.Local, Remote: s.Remote, LocalPort: s.LocalPort, RemotePort: s.RemotePort}
		rk := flows.Key{Proto: s.Proto, Local: s.Remote, Remote: s.Local, LocalPort: s.RemotePort, RemotePort: s.LocalPort}
		if len(ends) > 0 && ends[nsKey{s.Netns, rk}] && ends[nsKey{s.Netns, fk}] && keyLess(rk, fk) {
			continue
		}
		k := counterKey{netns: s.Netns, cookie: s.Cookie, inode: s.Inode, key: fk}
		h := c.conns[k]
		if h == nil {
			h = &counterHist{netns: s.Netns, inode: s.Inode}
			if !c.started {
				h.base = sample{t: now, sent: s.BytesAcked, recv: s.BytesReceived}
			} else {
				// Opened since the previous table: its whole life is ours.
				h.base = sample{t: c.prevTime}
				h.push(sample{t: c.prevTime})
			}
			c.conns[k] = h
		}
		h.gen = c.gen
		var sent, recv uint64
		if s.BytesAcked >= h.base.sent {
			sent = s.BytesAcked - h.base.sent
		}
		if s.BytesReceived >= h.base.recv {
			recv = s.BytesReceived - h.base.recv
		}
		h.sent, h.recv = sent, recv
		h.push(sample{t: now, sent: sent, recv: recv})
		out = append(out, FlowStat{
			Key: fk, SentBytes: sent, RecvBytes: recv,
			Rate2s: h.rate(now, 2*time.Second), Rate10s: h.rate(now, 10*time.Second), Rate40s: h.rate(now, 40*time.Second),
			Netns: s.Netns, Inode: s.Inode,
		})
	}
	for k, h := range c.conns {
		if h.gen != c.gen {
			delete(c.conns, k)
		}
	}
	c.started = true
	c.prevTime = now
	return out
}
