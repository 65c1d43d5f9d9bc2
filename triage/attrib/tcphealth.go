package attrib

import (
	"fmt"
	"time"

	"netriage/triage/flows"
)

// Limit is the one word that says what limits a TCP connection's speed,
// from two tcp_info samples of its socket (ClassifyTCP). The rules and
// their thresholds are in docs/check.md, "Why a connection goes as fast
// as it does".
type Limit string

// The limits, in the order ClassifyTCP tests them.
const (
	// LimitNetwork: segments are lost (retransmissions), or the path
	// queues (RTT well above its minimum while the sender is busy), or the
	// congestion window is full.
	LimitNetwork Limit = "network"
	// LimitReceiver: the peer's receive window held the sender back for
	// most of its busy time, or (a receiving socket) this end's own
	// receive window is nearly closed because its application does not
	// read.
	LimitReceiver Limit = "receiver"
	// LimitSender: the send buffer held the sender back for most of its
	// busy time (SO_SNDBUF or its autotuning too small for the path).
	LimitSender Limit = "sender"
	// LimitApplication: the sender had data to send for a small part of
	// the time: the application does not keep data queued.
	LimitApplication Limit = "application"
	// LimitIdle: nothing sent or received between the samples.
	LimitIdle Limit = "idle"
	// LimitUnknown: one sample only, a kernel without the fields a rule
	// needs, a receiving socket whose sender is elsewhere, or a busy
	// sender with no limit seen.
	LimitUnknown Limit = ""
)

// String returns the word, "unknown" for LimitUnknown.
func (l Limit) String() string {
	if l == LimitUnknown {
		return "unknown"
	}
	return string(l)
}

// Thresholds of the TCP health rules.
const (
	// RetransShareNetwork: retransmitted bytes at or above 1% of the bytes
	// sent between the samples mean loss on the path.
	RetransShareNetwork = 0.01
	// RTTInflation and RTTQueueMin: a smoothed RTT at least twice the
	// minimum RTT and at least 5 ms above it means a queue on the path.
	RTTInflation = 2.0
	RTTQueueMin  = 5 * time.Millisecond
	// LimitedShare: receive-window-limited or send-buffer-limited for at
	// least half of the busy time names the receiver or the sender.
	LimitedShare = 0.5
	// BusyShareApp: data queued to send for less than half of the time
	// (busy_time over the interval) means the application limits.
	BusyShareApp = 0.5
	// MinHealthInterval is the shortest interval between the two samples
	// a word is computed from; samples closer than that keep the last word.
	MinHealthInterval = 900 * time.Millisecond
)

// TCPHealth is one established TCP connection's health: the latest
// sample's numbers and the word from the last two samples at least
// MinHealthInterval apart.
type TCPHealth struct {
	Limit Limit
	// Rule is the rule that decided (Why says it in words).
	Rule Rule
	// RetransShare is the share of bytes retransmitted between the
	// samples (-1 when nothing was retransmitted).
	RetransShare float64
	// RcvWnd and RecvQ are this end's receive window and unread bytes
	// (the receiving-end rule's evidence).
	RcvWnd, RecvQ uint32
	// RTT, RTTVar and MinRTT (MinRTT zero when the kernel does not say).
	RTT, RTTVar, MinRTT time.Duration
	// Cwnd is the congestion window in segments.
	Cwnd uint32
	// Retrans is the number of segments retransmitted between the two
	// samples; TotalRetrans over the connection's life.
	Retrans, TotalRetrans uint32
	// DeliveryBps and PacingBps are the kernel's latest delivery-rate
	// sample and pacing rate, in bytes per second (0 unknown).
	DeliveryBps, PacingBps uint64
	// BusyShare is the part of the interval with data to send,
	// RwndShare and SndbufShare the parts of the busy time limited by the
	// receive window and the send buffer; -1 when the kernel does not say
	// (before 4.10) or the interval had no busy time.
	BusyShare, RwndShare, SndbufShare float64
	// Interval is the time between the two samples (0: one sample).
	Interval time.Duration
}

// Rule names the rule of ClassifyTCP that gave a TCPHealth its word.
type Rule uint8

// The rules.
const (
	RuleOneSample Rule = iota
	RuleNoBytes
	RuleIdle
	// RuleQuiet: idle without a sample: no packet of the connection was
	// captured over the step and its send queue is empty (the socket was
	// not among those whose tcp_info was read).
	RuleQuiet
	RuleReceiving
	RuleRecvWindowClosed
	RuleRetrans
	RuleRwnd
	RuleSndbuf
	RuleBusyLow
	RuleAppLimitedFlag
	RuleRTTQueue
	RuleCwndFull
	RuleNoChrono
	RuleNoLimit
)

// Why says the rule's evidence in a few words ("retransmitted 3.1% of
// bytes"), or why the word is unknown. It is computed on each call.
func (h *TCPHealth) Why() string {
	switch h.Rule {
	case RuleOneSample:
		return "one sample"
	case RuleNoBytes:
		return "kernel without byte counters"
	case RuleIdle:
		return "nothing sent or received"
	case RuleQuiet:
		return "no packets captured, nothing queued"
	case RuleReceiving:
		return "receiving: the sender's end decides"
	case RuleRecvWindowClosed:
		return fmt.Sprintf("receive window %d B with %d B unread", h.RcvWnd, h.RecvQ)
	case RuleRetrans:
		return fmt.Sprintf("retransmitted %.1f%% of bytes", 100*h.RetransShare)
	case RuleRwnd:
		return fmt.Sprintf("receive window limited %.0f%% of busy time", 100*h.RwndShare)
	case RuleSndbuf:
		return fmt.Sprintf("send buffer limited %.0f%% of busy time", 100*h.SndbufShare)
	case RuleBusyLow:
		return fmt.Sprintf("data to send %.0f%% of the time", 100*h.BusyShare)
	case RuleAppLimitedFlag:
		return "delivery rate sample app-limited"
	case RuleRTTQueue:
		return fmt.Sprintf("RTT %s is %.1f× its minimum %s: a queue on the path", h.RTT.Round(10*time.Microsecond), float64(h.RTT)/float64(h.MinRTT), h.MinRTT.Round(time.Microsecond))
	case RuleCwndFull:
		return "congestion window full"
	case RuleNoChrono:
		return "kernel without busy times"
	case RuleNoLimit:
		return "busy, no limit seen"
	}
	return "?"
}

// HealthOf returns the numbers of one sample without a word.
func HealthOf(t *TCPInfo) TCPHealth {
	h := TCPHealth{
		RTT: time.Duration(t.RTT) * time.Microsecond, RTTVar: time.Duration(t.RTTVar) * time.Microsecond,
		Cwnd: t.SndCwnd, TotalRetrans: t.TotalRetrans,
		BusyShare: -1, RwndShare: -1, SndbufShare: -1, RetransShare: -1,
	}
	if t.Has(TCPInfoMinRTT) {
		h.MinRTT = time.Duration(t.MinRTT) * time.Microsecond
	}
	if t.Has(TCPInfoDelivery) {
		h.DeliveryBps = t.DeliveryRate
	}
	if t.Has(TCPInfoPacing) && t.PacingRate != ^uint64(0) {
		h.PacingBps = t.PacingRate
	}
	return h
}

func delta64(cur, prev uint64) uint64 {
	if cur < prev {
		return 0
	}
	return cur - prev
}

// ClassifyTCP computes the health of a connection from two samples of its
// socket, prev taken dt before cur, and cur's receive queue (the diag
// message's RecvQ: bytes this end's application has not read). It is pure
// and does not allocate.
func ClassifyTCP(prev, cur *TCPInfo, dt time.Duration, recvQ uint32) TCPHealth {
	h := HealthOf(cur)
	if prev == nil || dt <= 0 {
		h.Rule = RuleOneSample
		return h
	}
	h.Interval = dt
	h.Retrans = cur.TotalRetrans - prev.TotalRetrans
	if cur.TotalRetrans < prev.TotalRetrans {
		h.Retrans = 0
	}
	if !cur.Has(TCPInfoBytes) || !prev.Has(TCPInfoBytes) {
		h.Rule = RuleNoBytes
		return h
	}
	sent := delta64(cur.BytesAcked, prev.BytesAcked)
	recv := delta64(cur.BytesReceived, prev.BytesReceived)
	chrono := cur.Has(TCPInfoChrono) && prev.Has(TCPInfoChrono)
	var busy, rwnd, sndbuf uint64
	if chrono {
		busy = delta64(cur.BusyTime, prev.BusyTime)
		rwnd = delta64(cur.RwndLimited, prev.RwndLimited)
		sndbuf = delta64(cur.SndbufLimited, prev.SndbufLimited)
		h.BusyShare = min(float64(busy)/float64(dt.Microseconds()), 1)
		if busy > 0 {
			h.RwndShare = min(float64(rwnd)/float64(busy), 1)
			h.SndbufShare = min(float64(sndbuf)/float64(busy), 1)
		}
	}
	if sent == 0 && cur.Unacked == 0 && busy == 0 {
		if recv == 0 {
			h.Limit, h.Rule = LimitIdle, RuleIdle
			return h
		}
		// A receiving end: the sender's end decides, unless this end's
		// application leaves its receive window nearly closed.
		mss := max(cur.RcvMSS, 536)
		if cur.Has(TCPInfoRcvWnd) && cur.RcvWnd < 2*mss && recvQ > 0 {
			h.Limit, h.Rule, h.RcvWnd, h.RecvQ = LimitReceiver, RuleRecvWindowClosed, cur.RcvWnd, recvQ
			return h
		}
		h.Rule = RuleReceiving
		return h
	}
	// Loss: retransmitted bytes over sent bytes (segments × MSS on
	// kernels before 4.19).
	if h.Retrans > 0 {
		var rb, sb float64
		if cur.Has(TCPInfoSent) && prev.Has(TCPInfoSent) {
			rb, sb = float64(delta64(cur.BytesRetrans, prev.BytesRetrans)), float64(delta64(cur.BytesSent, prev.BytesSent))
		} else {
			rb, sb = float64(h.Retrans)*float64(max(cur.SndMSS, 1)), float64(sent)+float64(h.Retrans)*float64(max(cur.SndMSS, 1))
		}
		if sb > 0 {
			h.RetransShare = rb / sb
		}
		if sb > 0 && rb/sb >= RetransShareNetwork {
			h.Limit, h.Rule, h.RetransShare = LimitNetwork, RuleRetrans, rb/sb
			return h
		}
	}
	if chrono && busy > 0 {
		if h.RwndShare >= LimitedShare {
			h.Limit, h.Rule = LimitReceiver, RuleRwnd
			return h
		}
		if h.SndbufShare >= LimitedShare {
			h.Limit, h.Rule = LimitSender, RuleSndbuf
			return h
		}
	}
	if chrono && h.BusyShare < BusyShareApp {
		h.Limit, h.Rule = LimitApplication, RuleBusyLow
		return h
	}
	if !chrono && cur.AppLimited {
		h.Limit, h.Rule = LimitApplication, RuleAppLimitedFlag
		return h
	}
	if h.MinRTT > 0 && float64(h.RTT) >= RTTInflation*float64(h.MinRTT) && h.RTT-h.MinRTT >= RTTQueueMin {
		h.Limit, h.Rule = LimitNetwork, RuleRTTQueue
		return h
	}
	if cur.SndCwnd > 0 && cur.Unacked >= cur.SndCwnd {
		h.Limit, h.Rule = LimitNetwork, RuleCwndFull
		return h
	}
	if !chrono {
		h.Rule = RuleNoChrono
		return h
	}
	h.Rule = RuleNoLimit
	return h
}

// healthKey names one socket: its namespace and cookie.
type healthKey = SocketRef

type healthState struct {
	// base is the socket's latest sample; its counters are the socket's
	// at validAt: the sample's time, or a later step at whose end the join
	// found the connection quiet (quiet).
	base    TCPInfo
	validAt time.Time
	// cur is the word of the latest sample, taken at pass gen; quiet the
	// idle word a join gave it since (the same for every quiet step of
	// the same length: base does not change while it is quiet).
	cur   *TCPHealth
	quiet *TCPHealth
	gen   uint64
}

// tcpHealth tracks the established TCP sockets of successive tables. It
// samples at most once per MinHealthInterval (the engine refreshes sockets
// several times a second; one pass a second is enough for a word, and
// costs a fourth): every socket's base and word come from the same pass.
//
// When the source read tcp_info of selected sockets only (InfoSelected:
// WantInfo's choice), a socket left out keeps its state as long as the
// join finds its connection quiet at every step (no packet captured,
// nothing in its send queue): its counters cannot have moved, so its base
// stays valid, and the step's word is idle (RuleQuiet) without a sample.
type tcpHealth struct {
	gen  uint64
	last time.Time
	// selected is the latest pass's InfoSelected.
	selected bool
	states   map[healthKey]*healthState
	// quiet holds the idle words of the current step's rows (a report's
	// rows point into it: full chunks are never written again).
	quiet []TCPHealth
}

// observe takes one table's established TCP sockets; a table whose
// tcp_info is not fresh (InfoStale) changes nothing.
func (t *tcpHealth) observe(tab *SocketTable) {
	now := tab.Time
	if tab.InfoStale {
		return
	}
	if t.states == nil {
		t.states = map[healthKey]*healthState{}
	} else if now.Sub(t.last) < MinHealthInterval {
		return
	}
	prev := t.last
	t.last, t.selected = now, tab.InfoSelected
	t.gen++
	n := 0
	for i := range tab.Sockets {
		if tab.Sockets[i].TCP != nil {
			n++
		}
	}
	// One array per pass holds the pass's words: a report's rows point
	// into it, so it is never written again.
	words := make([]TCPHealth, 0, n)
	for i := range tab.Sockets {
		s := &tab.Sockets[i]
		if s.TCP == nil || s.Proto != flows.ProtoTCP {
			continue
		}
		k := healthKey{s.Netns, s.Cookie}
		st := t.states[k]
		switch {
		case st == nil:
			st = &healthState{}
			t.states[k] = st
			words = append(words, HealthOf(s.TCP))
		case prev.IsZero() || st.validAt.Before(prev):
			// Not sampled at the previous pass, nor quiet since: its base
			// says nothing of this interval.
			words = append(words, HealthOf(s.TCP))
		default:
			words = append(words, ClassifyTCP(&st.base, s.TCP, now.Sub(st.validAt), s.RecvQ))
		}
		st.cur, st.quiet = &words[len(words)-1], nil
		st.base, st.validAt, st.gen = *s.TCP, now, t.gen
	}
	for k, st := range t.states {
		// A socket left out of a selected pass stays while its base can
		// still be carried on (quiet since the previous pass).
		if st.gen != t.gen && (!tab.InfoSelected || st.validAt.Before(prev)) {
			delete(t.states, k)
		}
	}
}

// of returns the health of socket s from the latest pass, or nil.
func (t *tcpHealth) of(s *Socket) *TCPHealth {
	if st := t.states[healthKey{s.Netns, s.Cookie}]; st != nil && st.gen == t.gen {
		return st.cur
	}
	return nil
}

// row returns the health of socket s for the connection row of a join at
// now, the previous join at since: the latest pass's word; else, after a
// selected pass, when the connection was quiet over the step (idle: no
// bytes captured since since, and s's send queue is empty) and s's base
// was valid at since, the word idle from its last sample's numbers, and
// the base is carried on to now. It reports whether the row's socket
// wants tcp_info at the next pass: it has no word, or its connection was
// not quiet.
func (t *tcpHealth) row(s *sockEntry, idle bool, since, now time.Time) (h *TCPHealth, want bool) {
	st := t.states[healthKey{s.netns, s.cookie}]
	quiet := idle && s.sendQ == 0 && !since.IsZero()
	switch {
	case st == nil:
		return nil, true
	case st.gen == t.gen:
		if t.selected && quiet && !st.validAt.Before(since) {
			st.validAt = now
		}
		return st.cur, !quiet
	case !t.selected || !quiet || st.validAt.Before(since):
		return nil, true
	}
	st.validAt = now
	if q := st.quiet; q != nil && q.Interval == now.Sub(since) {
		return q, false
	}
	cur := st.base
	cur.Unacked = 0
	w := ClassifyTCP(&st.base, &cur, now.Sub(since), s.recvQ)
	if w.Rule == RuleIdle {
		w.Rule = RuleQuiet
	}
	if len(t.quiet) == cap(t.quiet) {
		t.quiet = make([]TCPHealth, 0, 256)
	}
	t.quiet = append(t.quiet, w)
	st.quiet = &t.quiet[len(t.quiet)-1]
	return st.quiet, false
}
