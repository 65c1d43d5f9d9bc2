package metrics

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"netriage/triage"
	"netriage/triage/egress"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/triage/verdict"
	"netriage/views/format"
)

// Options configure a Builder.
type Options struct {
	// Watched are the interfaces whose link counters are exported (the
	// engine's watched interfaces).
	Watched []string
	// Caps bound the talker families.
	Caps Caps
	// Egress classes the engine's egress rows (nil: no egress families);
	// Prices prices them.
	Egress *egress.Table
	Prices egress.Prices
}

// Builder turns the engine's snapshots into States. It keeps what must
// outlive a step: the counters' running totals, the talkers' series, the
// seconds of each verdict. It is owned by the engine's emit function: Step
// must be called from one goroutine, once per step, in order.
type Builder struct {
	opts    Options
	watched map[string]bool
	labels  *labeller
	links   map[string]*linkAcc

	prevTime time.Time
	seconds  map[string]*Dir[[2]time.Duration] // per interface: saturated, congested
	judged   []string                          // interfaces with seconds, in first-seen order

	// Flow accounting: the previous step's per-flow counts (two maps,
	// swapped each step, so a step allocates nothing once they are grown),
	// for snapshots without Since; lastSeq is the last snapshot's number
	// when it had them (0 otherwise), and the maps stay empty while each
	// snapshot follows the last.
	prevFlows, curFlows map[flows.Key]flowMark
	lastSeq             uint64
	flowBytes           Dir[uint64]
	prevTotals          flows.Counts
	unattributed        map[string]*Dir[uint64]
	procStep, remStep   Dir[map[talkerKey]stepTalker]
	procs, remotes      Dir[*group]
}

// flowMark is a flow's cumulative counts at a step, and when it was first
// seen (a flow that was expired or evicted and came back starts over).
type flowMark struct {
	sent, recv uint64
	first      int64
}

// linkAcc is one interface's running totals.
type linkAcc struct {
	index int
	last  triage.IfaceCounters
	tot   triage.IfaceCounters
	q     *triage.QdiscStats // the previous sample's qdisc
	qtot  Qdisc
	haveQ bool
}

// NewBuilder returns a Builder with o. Caps are bounded below: TopK at
// least 1 and KeepRank at least TopK.
func NewBuilder(o Options) *Builder {
	o.Caps.TopK = max(o.Caps.TopK, 1)
	o.Caps.KeepRank = max(o.Caps.KeepRank, o.Caps.TopK)
	b := &Builder{opts: o, watched: map[string]bool{}, labels: newLabeller(), links: map[string]*linkAcc{},
		seconds: map[string]*Dir[[2]time.Duration]{}, prevFlows: map[flows.Key]flowMark{}, curFlows: map[flows.Key]flowMark{},
		unattributed: map[string]*Dir[uint64]{}}
	for _, w := range o.Watched {
		b.watched[w] = true
	}
	for d := range 2 {
		b.procStep[d], b.remStep[d] = map[talkerKey]stepTalker{}, map[talkerKey]stepTalker{}
		b.procs[d], b.remotes[d] = newGroup(), newGroup()
	}
	return b
}

// Step folds the snapshot s into the running totals and returns the
// step's State. s is read, not kept.
func (b *Builder) Step(s *engine.Snapshot) *State {
	st := &State{Seq: s.Seq, Time: s.Time, Inputs: inputStates(s.Health)}
	for i := range s.LinkRows {
		r := &s.LinkRows[i]
		if r.Gone || !b.watched[r.Sample.Name] {
			continue
		}
		st.Links = append(st.Links, b.link(r))
	}
	var dt time.Duration
	if !b.prevTime.IsZero() && s.Time.After(b.prevTime) {
		dt = s.Time.Sub(b.prevTime)
	}
	b.prevTime = s.Time
	st.Verdicts, st.WindowSeconds = b.verdicts(s, dt)
	if s.Flows != nil {
		st.Capture = b.capture(s)
	}
	if b.opts.Egress != nil && s.Egress != nil {
		st.Egress = egressClasses(s.Egress, b.opts.Egress, b.opts.Prices)
	}
	return st
}

// egressClasses sums the egress rows by class: bytes each way and, where
// the class has a price, the cost so far. The classes are the table's
// (built-in, unknown included, and configured), each from the start, so
// the series count does not depend on the traffic.
func egressClasses(rows []egress.Row, t *egress.Table, p egress.Prices) []EgressClass {
	sum := egress.Aggregate(rows, t, p, []egress.Field{egress.ByClass}, egress.SortBytes)
	// Every class the table can give has its series from the start (at
	// zero), so rate() sees a class's first bytes.
	seen := map[egress.Class]bool{}
	for _, g := range sum.Groups {
		seen[g.Key.Class] = true
	}
	for _, c := range t.Classes() {
		if !seen[c] {
			sum.Groups = append(sum.Groups, egress.Group{Key: egress.Key{Class: c}})
		}
	}
	out := make([]EgressClass, 0, len(sum.Groups))
	for _, g := range sum.Groups {
		c := EgressClass{Class: format.Sanitize(string(g.Key.Class), 32), Bytes: Dir[uint64]{g.Received, g.Sent}, Currency: format.Sanitize(p.Currency, 8)}
		if cp := p.For(g.Key.Class); cp.Sent.Known || cp.Received.Known {
			v := g.Cost.Amount
			c.Cost = &v
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b EgressClass) int { return strings.Compare(a.Class, b.Class) })
	return out
}

func inputStates(hs []engine.Health) []InputState {
	var out []InputState
	rank := map[engine.State]int{engine.StateOK: 0, engine.StateDegraded: 1, engine.StateAbsent: 2}
	for _, h := range hs {
		name := format.Sanitize(h.Input, 32)
		i := slices.IndexFunc(out, func(x InputState) bool { return x.Input == name })
		if i < 0 {
			out = append(out, InputState{Input: name, State: string(h.State)})
		} else if rank[h.State] > rank[engine.State(out[i].State)] {
			out[i].State = string(h.State)
		}
	}
	slices.SortFunc(out, func(a, b InputState) int { return strings.Compare(a.Input, b.Input) })
	return out
}

// link updates an interface's running totals from its row.
func (b *Builder) link(r *triage.LinkRow) Link {
	s := &r.Sample
	a := b.links[s.Name]
	c := s.Counters
	if a == nil {
		a = &linkAcc{index: s.Index, last: c, tot: c}
		b.links[s.Name] = a
	} else {
		recreated := a.index != s.Index
		step := func(tot *uint64, prev, cur uint64) {
			if recreated {
				*tot += cur // a new interface counts from zero
				return
			}
			*tot += triage.Step(prev, cur).Delta
		}
		p := a.last
		step(&a.tot.RxBytes, p.RxBytes, c.RxBytes)
		step(&a.tot.TxBytes, p.TxBytes, c.TxBytes)
		step(&a.tot.RxPackets, p.RxPackets, c.RxPackets)
		step(&a.tot.TxPackets, p.TxPackets, c.TxPackets)
		step(&a.tot.RxErrors, p.RxErrors, c.RxErrors)
		step(&a.tot.TxErrors, p.TxErrors, c.TxErrors)
		step(&a.tot.RxDropped, p.RxDropped, c.RxDropped)
		step(&a.tot.TxDropped, p.TxDropped, c.TxDropped)
		a.index, a.last = s.Index, c
	}
	l := Link{Interface: b.labels.label(s.Name), Up: s.IsUp(),
		Bytes:   Dir[uint64]{a.tot.RxBytes, a.tot.TxBytes},
		Packets: Dir[uint64]{a.tot.RxPackets, a.tot.TxPackets},
		Errors:  Dir[uint64]{a.tot.RxErrors, a.tot.TxErrors},
		Drops:   Dir[uint64]{a.tot.RxDropped, a.tot.TxDropped},
	}
	for d, c := range [2]triage.Capacity{r.RxCapacity, r.Capacity} {
		if c.Known && c.Bps > 0 {
			l.CapacityBytesPerSec[d], l.CapacitySource[d] = float64(c.Bps)/8, string(c.Source)
		}
	}
	l.Utilization = Dir[*float64]{r.RxUtilization, r.TxUtilization}
	if q := s.Qdisc; q != nil {
		b.qdisc(a, q)
		qd := a.qtot
		qd.Kind = format.Sanitize(q.Kind, 32)
		qd.BacklogBytes, qd.BacklogPackets = q.BacklogBytes, q.BacklogPackets
		l.Qdisc = &qd
	}
	return l
}

// qdisc adds a qdisc sample's increases: 32-bit counters by triage.Step32,
// and a qdisc of another kind (replaced) counts from zero.
func (b *Builder) qdisc(a *linkAcc, q *triage.QdiscStats) {
	p := a.q
	cur := *q
	a.q = &cur
	if !a.haveQ {
		a.haveQ = true
		a.qtot = Qdisc{Bytes: q.Bytes, Packets: q.Packets, Drops: q.Drops, Overlimits: q.Overlimits, Requeues: q.Requeues}
		return
	}
	if p == nil || p.Kind != q.Kind {
		p = &triage.QdiscStats{}
	}
	t := &a.qtot
	t.Bytes += triage.Step(p.Bytes, q.Bytes).Delta
	t.Packets += triage.Step32(p.Packets, q.Packets).Delta
	t.Drops += triage.Step32(p.Drops, q.Drops).Delta
	t.Overlimits += triage.Step32(p.Overlimits, q.Overlimits).Delta
	t.Requeues += triage.Step32(p.Requeues, q.Requeues).Delta
}

// verdicts returns the step's verdicts, after adding dt to the seconds of
// the directions that are saturated or congested.
func (b *Builder) verdicts(s *engine.Snapshot, dt time.Duration) ([]Verdict, float64) {
	r := s.Verdict
	if r == nil {
		return b.secondsOnly(nil), 0
	}
	var out []Verdict
	seen := map[string]bool{}
	for i := range r.Interfaces {
		ir := &r.Interfaces[i]
		secs := b.secondsOf(ir.Name)
		seen[ir.Name] = true
		for _, d := range []verdict.Direction{verdict.RX, verdict.TX} {
			dr := ir.Dir(d)
			switch dr.Verdict {
			case verdict.Saturated:
				secs[d][0] += dt
			case verdict.Congested:
				secs[d][1] += dt
			}
			out = append(out, Verdict{Interface: b.labels.label(ir.Name), Direction: d, Judged: true, State: dr.Verdict,
				Coverage: dr.Coverage.Ratio, Utilization: dr.Utilization,
				SaturatedSeconds: secs[d][0].Seconds(), CongestedSeconds: secs[d][1].Seconds()})
		}
	}
	return append(out, b.secondsOnly(seen)...), r.DurationSec
}

func (b *Builder) secondsOf(name string) *Dir[[2]time.Duration] {
	secs := b.seconds[name]
	if secs == nil {
		secs = &Dir[[2]time.Duration]{}
		b.seconds[name] = secs
		b.judged = append(b.judged, name)
	}
	return secs
}

// secondsOnly keeps the seconds of interfaces judged before and not in
// this step's verdict, so their counters do not vanish.
func (b *Builder) secondsOnly(seen map[string]bool) []Verdict {
	var out []Verdict
	for _, name := range b.judged {
		if seen[name] {
			continue
		}
		secs := b.seconds[name]
		for _, d := range []verdict.Direction{verdict.RX, verdict.TX} {
			out = append(out, Verdict{Interface: b.labels.label(name), Direction: d,
				SaturatedSeconds: secs[d][0].Seconds(), CongestedSeconds: secs[d][1].Seconds()})
		}
	}
	return out
}

// capture accounts the step's flows: per-flow increases since the
// previous step go to their talkers, the rest of the capture's increase
// to the other buckets.
func (b *Builder) capture(s *engine.Snapshot) *Capture {
	fs := s.Flows
	c := &Capture{Interface: b.scope(s), Flows: len(fs.Flows),
		EvictedFlows: fs.Capture.EvictedFlows, ExpiredFlows: fs.Capture.ExpiredFlows,
		NonIPPackets: fs.Capture.NonIP, TruncatedPackets: fs.Capture.Truncated,
		FlowPackets: Dir[uint64]{fs.Totals.RecvPackets, fs.Totals.SentPackets}}
	for _, h := range fs.Capture.Interfaces {
		name := b.labels.label(h.Name)
		i := slices.IndexFunc(c.Handles, func(x Handle) bool { return x.Interface == name })
		if i < 0 {
			c.Handles = append(c.Handles, Handle{Interface: name})
			i = len(c.Handles) - 1
		}
		c.Handles[i].Packets += h.Packets
		c.Handles[i].KernelDrops += h.KernelDrops
	}
	slices.SortFunc(c.Handles, func(a, b Handle) int { return strings.Compare(a.Interface, b.Interface) })

	for d := range 2 {
		clear(b.procStep[d])
		clear(b.remStep[d])
	}
	if len(b.curFlows) > 0 {
		clear(b.curFlows)
	}
	// A snapshot that follows the last one gives each flow's bytes since
	// (Since): no counters per flow to keep.
	useSince := fs.Since && b.lastSeq != 0 && fs.Seq == b.lastSeq+1
	b.lastSeq = 0
	if fs.Since {
		b.lastSeq = fs.Seq
	}
	var flowSum Dir[uint64]
	var score Dir[float64]
	attributed := s.Attribution != nil
	for i := range fs.Flows {
		f := &fs.Flows[i]
		var delta Dir[uint64]
		if useSince {
			delta = Dir[uint64]{f.Since.RecvBytes, f.Since.SentBytes}
		} else {
			m := flowMark{sent: f.SentBytes, recv: f.RecvBytes, first: f.First.UnixNano()}
			b.curFlows[f.Key] = m
			delta = Dir[uint64]{f.RecvBytes, f.SentBytes}
			if p, ok := b.prevFlows[f.Key]; ok && p.first == m.first && m.sent >= p.sent && m.recv >= p.recv {
				delta = Dir[uint64]{m.recv - p.recv, m.sent - p.sent}
			}
		}
		rate := Dir[float64]{f.Rates.R10.RecvBytesPerSec, f.Rates.R10.SentBytesPerSec}
		if delta[0]+delta[1] == 0 && rate[0]+rate[1] == 0 {
			continue
		}
		var pk talkerKey
		hasProc := false
		if attributed {
			if o := s.Owner(i, f.Key); o != nil {
				hasProc = true
				if o.PID > 0 {
					pk = talkerKey{name: processLabel(o.Program), container: format.Sanitize(o.Container, maxContainerRunes)}
				} else {
					pk = talkerKey{name: unattributedLabel(o.Unattributed)}
					b.addUnattributed(pk.name[len(unattributedPrefix):], delta)
				}
			}
		}
		rk := talkerKey{addr: f.Key.Remote}
		for d := range 2 {
			flowSum[d] += delta[d]
			score[d] += rate[d]
			if delta[d] == 0 && rate[d] == 0 {
				continue
			}
			if hasProc {
				add(b.procStep[d], pk, delta[d], rate[d])
			}
			add(b.remStep[d], rk, delta[d], rate[d])
		}
	}
	b.prevFlows, b.curFlows = b.curFlows, b.prevFlows

	tot := fs.Totals.Counts
	total := Dir[uint64]{triage.Step(b.prevTotals.RecvBytes, tot.RecvBytes).Delta, triage.Step(b.prevTotals.SentBytes, tot.SentBytes).Delta}
	b.prevTotals = tot
	names := remoteNames(s)
	for d := range 2 {
		t := max(total[d], flowSum[d])
		b.flowBytes[d] += t
		b.procs[d].update(b.procStep[d], t, score[d], s.Time, b.opts.Caps)
		b.remotes[d].update(b.remStep[d], t, score[d], s.Time, b.opts.Caps)
		c.Processes[d] = b.procs[d].export(false)
		c.Remotes[d] = b.remotes[d].export(true)
	}
	c.FlowBytes = b.flowBytes
	if attributed || len(b.unattributed) > 0 {
		c.Unattributed = b.unattributedState()
	}
	c.RemoteNames = b.remoteNameState(names)
	return c
}

func add(m map[talkerKey]stepTalker, k talkerKey, delta uint64, rate float64) {
	t := m[k]
	t.delta += delta
	t.score += rate
	m[k] = t
}

func (b *Builder) addUnattributed(reason string, delta Dir[uint64]) {
	u := b.unattributed[reason]
	if u == nil {
		u = &Dir[uint64]{}
		b.unattributed[reason] = u
	}
	u[0] += delta[0]
	u[1] += delta[1]
}

func (b *Builder) unattributedState() []Unattributed {
	out := make([]Unattributed, 0, len(b.unattributed))
	for r, d := range b.unattributed {
		out = append(out, Unattributed{Reason: r, Bytes: *d})
	}
	slices.SortFunc(out, func(a, b Unattributed) int { return strings.Compare(a.Reason, b.Reason) })
	return out
}

// scope is the capture's interfaces as one label value.
func (b *Builder) scope(s *engine.Snapshot) string {
	names := s.Window.Capture.Interfaces
	if len(names) == 0 {
		for _, h := range s.Flows.Capture.Interfaces {
			if !slices.Contains(names, h.Name) {
				names = append(names, h.Name)
			}
		}
	}
	switch len(names) {
	case 0:
		return "any"
	case 1:
		return b.labels.label(names[0])
	}
	ls := make([]string, len(names))
	for i, n := range names {
		ls[i] = b.labels.label(n)
	}
	return strings.Join(ls, ",")
}

// export copies the group's series, sorted by label.
func (g *group) export(remote bool) Talkers {
	t := Talkers{Other: g.other, Retired: g.retired, Series: make([]Talker, 0, len(g.members))}
	for k, m := range g.members {
		x := Talker{Process: k.name, Container: k.container, Bytes: m.bytes}
		if remote {
			x = Talker{Remote: k.addr.String(), Bytes: m.bytes}
		}
		t.Series = append(t.Series, x)
	}
	slices.SortFunc(t.Series, func(a, b Talker) int {
		if c := strings.Compare(a.Process, b.Process); c != 0 {
			return c
		}
		if c := strings.Compare(a.Container, b.Container); c != 0 {
			return c
		}
		return strings.Compare(a.Remote, b.Remote)
	})
	return t
}

// remoteNames are the names the attribution gave remote addresses.
func remoteNames(s *engine.Snapshot) map[netip.Addr]string {
	if s.Attribution == nil {
		return nil
	}
	return verdict.RemoteNames(*s.Attribution)
}

// remoteNameState names the remotes that have a series in either
// direction.
func (b *Builder) remoteNameState(names map[netip.Addr]string) []RemoteName {
	var out []RemoteName
	for d := range 2 {
		for k := range b.remotes[d].members {
			n := names[k.addr]
			if n == "" {
				continue
			}
			r := RemoteName{Remote: k.addr.String(), Name: format.Sanitize(n, maxNameRunes)}
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	slices.SortFunc(out, func(a, b RemoteName) int { return strings.Compare(a.Remote, b.Remote) })
	return out
}
