package links

import (
	"sort"

	"github.com/vishvananda/netlink"

	"netriage/triage"
)

// htbClassesOf turns the raw classes of htb roots into the library's
// values parseQdiscs reads for the shaper rate (rate and ceil in bytes
// per second, as netlink.HtbClass holds them).
func htbClassesOf(classes []tcObject) []netlink.Class {
	var out []netlink.Class
	for _, c := range classes {
		if c.kind != "htb" {
			continue
		}
		out = append(out, &netlink.HtbClass{
			ClassAttrs: netlink.ClassAttrs{LinkIndex: int(c.ifindex), Handle: c.handle, Parent: c.parent},
			Rate:       c.rateBps / 8, Ceil: c.ceilBps / 8,
		})
	}
	return out
}

// attachTC adds to each interface's root qdisc summary its classes (htb
// and hfsc roots), the sum of its leaves' drops, and the extended
// statistics of its AQM qdiscs, from the raw qdisc dump and the classes
// of those roots. It is pure; errors of the extended statistics are
// returned as warnings naming the interface and qdisc, never the bytes.
func attachTC(ifaces []triage.IfaceSample, qdiscs, classes []tcObject) (warnings []string) {
	byIdx := map[int]*triage.QdiscStats{}
	for i := range ifaces {
		if q := ifaces[i].Qdisc; q != nil {
			byIdx[ifaces[i].Index] = q
		}
	}
	// Qdiscs under a class, by interface and parent handle: a leaf's drops
	// are the larger of the class's and its qdisc's.
	childDrops := map[[2]uint64]uint64{}
	for _, o := range qdiscs {
		q := byIdx[int(o.ifindex)]
		if q == nil {
			continue
		}
		if o.parent != tcHRoot {
			childDrops[[2]uint64{uint64(o.ifindex), uint64(o.parent)}] += o.drops
		}
		if len(o.app) == 0 {
			continue
		}
		x, ok, err := parseAQMXStats(o.kind, o.app)
		if err != nil {
			warnings = append(warnings, "qdisc "+o.kind+" "+triage.FormatHandle(o.handle)+" of ifindex "+itoa(int(o.ifindex))+": "+err.Error())
			continue
		}
		if !ok {
			continue
		}
		a := triage.AQMStats{Kind: o.kind, Handle: o.handle, Parent: o.parent, Drops: o.drops,
			DropOverlimit: x.dropOverlimit, DropOvermemory: x.dropOvermemory, ECNMarks: x.ecnMarks, CEMarks: x.ceMarks,
			BacklogBytes: o.backlog, BacklogPackets: o.qlen}
		if x.hasNewFlows {
			a.NewFlows = ptrU64(x.newFlows)
		}
		if x.hasFlows {
			a.Flows = ptrU64(x.flows)
		}
		q.AQM = append(q.AQM, a)
	}
	hasChild := map[[2]uint64]bool{}
	for _, c := range classes {
		hasChild[[2]uint64{uint64(c.ifindex), uint64(c.parent)}] = true
	}
	for _, c := range classes {
		q := byIdx[int(c.ifindex)]
		if q == nil || (c.kind != "htb" && c.kind != "hfsc") || q.Kind != c.kind {
			continue
		}
		if c.handle&0xffff == 0 {
			continue // hfsc's root class (major:0) stands for the qdisc itself
		}
		key := [2]uint64{uint64(c.ifindex), uint64(c.handle)}
		qc := triage.QdiscClass{Kind: c.kind, Handle: c.handle, Parent: c.parent, Leaf: !hasChild[key],
			Bytes: c.bytes, Packets: c.packets, Drops: c.drops, Overlimits: c.overl,
			BacklogBytes: c.backlog, BacklogPackets: c.qlen, RateBps: c.rateBps, CeilBps: c.ceilBps, EstBps: c.estBps}
		if qc.Leaf {
			q.HasLeaves = true
			q.LeafDrops += max(c.drops, childDrops[key])
		}
		q.Classes = append(q.Classes, qc)
	}
	for _, q := range byIdx {
		sort.Slice(q.Classes, func(i, j int) bool { return q.Classes[i].Handle < q.Classes[j].Handle })
		sort.Slice(q.AQM, func(i, j int) bool { return q.AQM[i].Handle < q.AQM[j].Handle })
	}
	return warnings
}

func ptrU64(v uint64) *uint64 { return &v }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
