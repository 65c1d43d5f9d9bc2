package metrics

import (
	"cmp"
	"net/netip"
	"time"

	"netriage/triage/rank"
)

// Caps bound the talker series: per interface, direction and dimension
// (process, remote) a talker enters at rank TopK or better and keeps its
// series while it ranks KeepRank or better and has carried bytes in the
// last Idle; so a group never has more than KeepRank series, plus other.
type Caps struct {
	// TopK is the rank a talker must reach to get a series.
	TopK int
	// KeepRank is the rank a talker must keep to keep its series (at least
	// TopK): the most series of one group.
	KeepRank int
	// MinShare (0..1) is the share of the direction's rate (or, before
	// any rate, bytes) a talker must carry to get a series, so a flood of
	// tiny talkers does not churn series through the free ranks.
	MinShare float64
	// Idle retires a talker that carried no byte for this long.
	Idle time.Duration
}

// DefaultCaps are the caps of the default configuration.
func DefaultCaps() Caps {
	return Caps{TopK: 10, KeepRank: 20, MinShare: 0.01, Idle: 2 * time.Minute}
}

// talkerKey identifies a talker by its final label values, so that two
// talkers never render as one label set: name and container for the
// process dimension, addr for the remote one.
type talkerKey struct {
	name, container string
	addr            netip.Addr
}

func compareKeys(a, b talkerKey) int {
	return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.container, b.container), a.addr.Compare(b.addr))
}

// stepTalker is what one talker did in one step of one direction.
type stepTalker struct {
	delta uint64  // bytes counted in the step
	score float64 // its flows' 10 s rate, bytes per second
}

// member is a talker with a series.
type member struct {
	bytes      uint64 // monotonic: the series' value
	lastActive time.Time
}

// cand is a talker being ranked.
type cand struct {
	key    talkerKey
	delta  uint64
	score  float64
	member bool
}

// before orders candidates: higher rate first, then more bytes in the
// step, then talkers that have a series (so a tie never swaps series),
// then by key, so the ranking is deterministic.
func before(a, b *cand) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	if a.delta != b.delta {
		return a.delta > b.delta
	}
	if a.member != b.member {
		return a.member
	}
	return compareKeys(a.key, b.key) < 0
}

// group is the sticky top-k of one interface, direction and dimension.
// Every byte of the direction is in exactly one place: a member's series
// or other. A member that leaves hands its bytes to other (and retired
// counts them), so Σ members + other is the direction's flow bytes at
// every step and every counter only grows.
type group struct {
	members map[talkerKey]*member
	other   uint64
	retired uint64
	cands   []cand // reused
	top     []cand // reused
}

func newGroup() *group { return &group{members: map[talkerKey]*member{}} }

// update folds one step into the group. step holds the talkers with bytes
// or rate in the step (the map is read, not kept); total is the
// direction's bytes in the step (at least the sum of step's deltas: the
// rest went through flows that left the table between two steps, or
// belongs to no talker, and is counted in other); scoreTotal is the
// direction's rate over all flows.
func (g *group) update(step map[talkerKey]stepTalker, total uint64, scoreTotal float64, now time.Time, c Caps) {
	g.cands = g.cands[:0]
	var sum, deltaTotal uint64
	for k, t := range step {
		_, m := g.members[k]
		g.cands = append(g.cands, cand{key: k, delta: t.delta, score: t.score, member: m})
		deltaTotal += t.delta
	}
	for k := range g.members {
		if _, ok := step[k]; !ok {
			g.cands = append(g.cands, cand{key: k, member: true})
		}
	}
	g.top = selectTop(g.top[:0], g.cands, c.KeepRank)
	ranked := len(g.top)

	// Leave: below KeepRank, or idle too long.
	for k, m := range g.members {
		if !inTop(g.top, k) || (step[k].delta == 0 && now.Sub(m.lastActive) >= c.Idle) {
			g.other += m.bytes
			g.retired += m.bytes
			delete(g.members, k)
		}
	}
	// Enter: rank TopK or better, with a share worth a series.
	for i := 0; i < ranked && i < c.TopK; i++ {
		t := &g.top[i]
		if _, ok := g.members[t.key]; ok || (t.delta == 0 && t.score == 0) {
			continue
		}
		share := 0.0
		switch {
		case scoreTotal > 0:
			share = t.score / scoreTotal
		case deltaTotal > 0:
			share = float64(t.delta) / float64(deltaTotal)
		}
		if share >= c.MinShare {
			g.members[t.key] = &member{lastActive: now}
		}
	}
	// Count the step's bytes.
	for k, t := range step {
		sum += t.delta
		if m, ok := g.members[k]; ok {
			m.bytes += t.delta
			if t.delta > 0 {
				m.lastActive = now
			}
		} else {
			g.other += t.delta
		}
	}
	if total > sum {
		g.other += total - sum
	}
}

func inTop(top []cand, k talkerKey) bool {
	for i := range top {
		if top[i].key == k {
			return true
		}
	}
	return false
}

// selectTop appends to dst the best n of cs in rank order: a bounded
// selection (rank.Top), so ranking a flood of talkers costs n log(keep),
// not a sort of all of them.
func selectTop(dst, cs []cand, n int) []cand {
	for _, p := range rank.Top(cs, n, func(a, b *cand) int {
		switch {
		case before(a, b):
			return -1
		case before(b, a):
			return 1
		}
		return 0
	}) {
		dst = append(dst, cs[p])
	}
	return dst
}
