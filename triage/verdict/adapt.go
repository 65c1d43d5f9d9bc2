package verdict

import (
	"net/netip"
	"strings"
	"time"

	"netriage/triage"
	"netriage/triage/attrib"
)

// FromLinks summarises link samples taken during a window (in time order,
// first at the start, last at the end) into one Interface per name, in the
// order of names. Deltas are summed over consecutive sample pairs with
// triage.Rates, so a counter that went backwards is counted from zero and a
// re-created interface (new ifindex) loses that one interval: both set
// CounterReset, and CounterDuration says how much of the window the deltas
// cover. userBps holds capacity overrides (--link-speed, links.speeds).
// The tx capacity is triage.ResolveCapacity's; the rx capacity ignores a
// root shaper, which limits egress only.
//
// An interface missing from the last sample was removed during the window:
// its Removed is RemovedNetns when that sample says the namespace is gone
// (triage.LinksSample.NetnsGone), RemovedInterface otherwise, and its
// counters cover the time before it disappeared. An interface absent from
// every sample is also returned in missing (and as removed, without
// counters or capacity).
func FromLinks(samples []triage.LinksSample, names []string, userBps map[string]uint64) (ifaces []Interface, missing []string) {
	removal := RemovedInterface
	if n := len(samples); n > 0 && samples[n-1].NetnsGone != "" {
		removal = RemovedNetns
	}
	for _, name := range names {
		ifc := Interface{Name: name, LinkHeaderBytes: defaultLinkHeader}
		if n := len(samples); n > 0 {
			if _, ok := samples[n-1].Iface(name); !ok {
				ifc.Removed = removal
			}
		}
		var last *triage.IfaceSample
		var covered time.Duration
		var q *Queue
		for i := range samples {
			cur, ok := samples[i].Iface(name)
			if !ok {
				continue
			}
			c := cur
			last = &c
			if cur.Qdisc != nil {
				if q == nil {
					q = &Queue{}
				}
				q.Kind, q.DropsTotal = cur.Qdisc.Kind, cur.Qdisc.Drops
				q.BacklogSamples++
				if cur.Qdisc.BacklogPackets > 0 || cur.Qdisc.BacklogBytes > 0 {
					q.BacklogNonEmpty++
				}
				q.BacklogBytes = max(q.BacklogBytes, cur.Qdisc.BacklogBytes)
				q.BacklogPackets = max(q.BacklogPackets, cur.Qdisc.BacklogPackets)
			}
			if i == 0 {
				continue
			}
			prev, ok := samples[i-1].Iface(name)
			if !ok {
				ifc.CounterReset = true
				continue
			}
			r := triage.Rates(prev, cur, samples[i].Time.Sub(samples[i-1].Time))
			if !r.Valid {
				ifc.CounterReset = true
				continue
			}
			if r.Note == triage.NoteReset {
				ifc.CounterReset = true
			}
			covered += r.Interval
			d := r.Delta
			ifc.RX.Bytes += d.RxBytes
			ifc.RX.Packets += d.RxPackets
			ifc.RX.Errors += d.RxErrors
			ifc.RX.Dropped += d.RxDropped
			ifc.TX.Bytes += d.TxBytes
			ifc.TX.Packets += d.TxPackets
			ifc.TX.Errors += d.TxErrors
			ifc.TX.Dropped += d.TxDropped
			if r.Qdisc != nil && q != nil {
				q.Drops += r.Qdisc.DropsDelta
				q.LeafDrops += r.Qdisc.LeafDropsDelta
				q.Overlimits += r.Qdisc.OverlimitsDelta
				if r.Qdisc.Reset {
					ifc.CounterReset = true
				}
			}
		}
		if last == nil {
			missing = append(missing, name)
			if ifc.Removed != Present {
				ifc.RX.CapacitySource, ifc.TX.CapacitySource = SourceUnknown, SourceUnknown
				ifaces = append(ifaces, ifc)
			}
			continue
		}
		if len(samples) >= 2 {
			whole := samples[len(samples)-1].Time.Sub(samples[0].Time)
			// A removed interface's counters stop at the removal: that
			// shortfall is the removal, not a reset.
			if covered < whole && ifc.Removed == Present {
				ifc.CounterReset = true
			}
		}
		ifc.CounterDuration = covered
		ifc.Loopback = last.Loopback
		ifc.Bursts = burstsOf(samples, name)
		if q != nil && q.LeafDrops > q.Drops {
			// Drops counted below the root and not in its own counter.
			q.RootDrops, q.Drops = q.Drops, q.LeafDrops
		}
		ifc.TX.Queue = q
		txc := triage.ResolveCapacity(userBps[name], *last)
		noShaper := *last
		noShaper.Qdisc = nil
		rxc := triage.ResolveCapacity(userBps[name], noShaper)
		ifc.TX.CapacityBps, ifc.TX.CapacitySource = capOf(txc)
		ifc.RX.CapacityBps, ifc.RX.CapacitySource = capOf(rxc)
		ifaces = append(ifaces, ifc)
	}
	return ifaces, missing
}

func capOf(c triage.Capacity) (uint64, string) {
	if !c.Known || c.Bps == 0 {
		return 0, SourceUnknown
	}
	return c.Bps, string(c.Source)
}

// Owners returns the Owner of every connection of an attribution report,
// in the order of rep.Connections, for Flow.Owner (find a flow's row with
// rep.Rows). Unattributed connections carry their reason. Connections
// with the same owner share one Owner (a flood's hundreds of thousands of
// flows have a handful), which nothing may change.
func Owners(rep attrib.Report) []*Owner {
	procs := make(map[attrib.ProcKey]*attrib.Process, len(rep.Processes))
	for i := range rep.Processes {
		procs[rep.Processes[i].Process.Key] = &rep.Processes[i].Process
	}
	// What an Owner is made of.
	type ident struct {
		proc    attrib.ProcKey
		program string
		reason  attrib.Reason
		limit   attrib.Limit
	}
	shared := map[ident]*Owner{}
	out := make([]*Owner, len(rep.Connections))
	for i := range rep.Connections {
		c := &rep.Connections[i]
		id := ident{proc: c.Owner.Proc}
		if c.Owner.Proc.IsZero() {
			id.reason = c.Owner.Reason
		} else {
			id.program = c.Program
			if c.TCP != nil {
				switch c.TCP.Limit {
				case attrib.LimitNetwork, attrib.LimitReceiver, attrib.LimitSender, attrib.LimitApplication:
					id.limit = c.TCP.Limit
				}
			}
		}
		o := shared[id]
		if o == nil {
			o = &Owner{}
			if id.proc.IsZero() {
				o.Unattributed = strings.ReplaceAll(string(id.reason), "_", " ")
				if o.Unattributed == "" {
					o.Unattributed = string(attrib.ReasonUnknown)
				}
			} else {
				o.PID = int(id.proc.PID)
				o.Program = id.program
				if p := procs[id.proc]; p != nil {
					if o.Program == "" {
						o.Program = p.Program
					}
					o.Container = p.Label()
				}
				o.Limit = string(id.limit)
			}
			shared[id] = o
		}
		out[i] = o
	}
	return out
}

// RemoteNames maps remote addresses to the names an attribution report
// resolved.
func RemoteNames(rep attrib.Report) map[netip.Addr]string {
	n := 0
	for i := range rep.Remotes {
		if rep.Remotes[i].Name != "" {
			n++
		}
	}
	out := make(map[netip.Addr]string, n) // a flood's remotes have none
	for _, r := range rep.Remotes {
		if r.Name != "" {
			out[r.Addr] = r.Name
		}
	}
	return out
}
