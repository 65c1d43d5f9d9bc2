package links

import (
	"net/netip"
	"sort"

	"github.com/vishvananda/netlink"

	"netriage/triage"
)

// parseLinks turns decoded netlink results into samples sorted by ifindex.
// classes are the classes of htb roots (others are ignored); speeds maps
// ifindex to the ethtool and sysfs speeds (bits per second, 0 unknown).
// It is pure.
func parseLinks(links []netlink.Link, qdiscs []netlink.Qdisc, classes []netlink.Class, addrs []netlink.Addr, speeds map[int]speed) []triage.IfaceSample {
	roots := parseQdiscs(qdiscs, classes)
	byLink := map[int][]netip.Prefix{}
	for _, a := range addrs {
		if a.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		byLink[a.LinkIndex] = append(byLink[a.LinkIndex], netip.PrefixFrom(ip.Unmap(), ones))
	}
	out := make([]triage.IfaceSample, 0, len(links))
	for _, l := range links {
		a := l.Attrs()
		s := triage.IfaceSample{
			Name:      a.Name,
			Index:     a.Index,
			Kind:      l.Type(),
			OperState: a.OperState.String(),
			AdminUp:   a.RawFlags&unixIFFUp != 0,
			Loopback:  a.RawFlags&unixIFFLoopback != 0,
			MTU:       a.MTU,
			Addrs:     byLink[a.Index],
		}
		if st := a.Statistics; st != nil {
			s.Counters = triage.IfaceCounters{
				RxBytes: st.RxBytes, TxBytes: st.TxBytes,
				RxPackets: st.RxPackets, TxPackets: st.TxPackets,
				RxErrors: st.RxErrors, TxErrors: st.TxErrors,
				RxDropped: st.RxDropped, TxDropped: st.TxDropped,
			}
		}
		if q, ok := roots[a.Index]; ok {
			qq := q
			s.Qdisc = &qq
		}
		if sp, ok := speeds[a.Index]; ok {
			s.EthtoolSpeedBps, s.SysfsSpeedBps = sp.ethtoolBps, sp.sysfsBps
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// Interface flag bits (linux/if.h), kept here so parse stays free of
// x/sys/unix.
const (
	unixIFFUp       = 0x1
	unixIFFLoopback = 0x8
)

// speed holds the two link-speed readings of one interface.
type speed struct{ ethtoolBps, sysfsBps uint64 }

// parseQdiscs returns the root qdisc summary per ifindex. An mq/mqprio
// root's counters are the sum of its direct children (the kernel also
// reports the sum on the root: using both would count twice); other roots
// use their own counters.
func parseQdiscs(qdiscs []netlink.Qdisc, classes []netlink.Class) map[int]triage.QdiscStats {
	type rootInfo struct {
		handle uint32
		stats  triage.QdiscStats
	}
	roots := map[int]*rootInfo{}
	for _, q := range qdiscs {
		a := q.Attrs()
		if a.Parent != netlink.HANDLE_ROOT {
			continue
		}
		s := triage.QdiscStats{Kind: q.Type()}
		addQdiscCounters(&s, a.Statistics)
		if tbf, ok := q.(*netlink.Tbf); ok {
			s.ShaperRateBps = tbf.Rate * 8
		}
		roots[a.LinkIndex] = &rootInfo{handle: a.Handle, stats: s}
	}
	for _, q := range qdiscs {
		a := q.Attrs()
		r, ok := roots[a.LinkIndex]
		if !ok || a.Parent == netlink.HANDLE_ROOT || !isMultiqueue(r.stats.Kind) {
			continue
		}
		if a.Parent>>16 != r.handle>>16 {
			continue // grandchildren are already in their parent's counters
		}
		if r.stats.Children == 0 {
			// First child: drop the root's own (aggregated) counters.
			r.stats = triage.QdiscStats{Kind: r.stats.Kind}
		}
		r.stats.Children++
		addQdiscCounters(&r.stats, a.Statistics)
	}
	for _, c := range classes {
		h, ok := c.(*netlink.HtbClass)
		if !ok {
			continue
		}
		a := h.Attrs()
		r, ok := roots[a.LinkIndex]
		if !ok || r.stats.Kind != "htb" || (a.Parent != r.handle && a.Parent != netlink.HANDLE_ROOT) {
			continue // only top-level classes (the kernel reports their parent as root)
		}
		r.stats.ShaperRateBps += max(h.Ceil, h.Rate) * 8
	}
	out := make(map[int]triage.QdiscStats, len(roots))
	for idx, r := range roots {
		out[idx] = r.stats
	}
	return out
}

func isMultiqueue(kind string) bool { return kind == "mq" || kind == "mqprio" }

func addQdiscCounters(s *triage.QdiscStats, st *netlink.QdiscStatistics) {
	if st == nil {
		return
	}
	if b := st.Basic; b != nil {
		s.Bytes += b.Bytes
		s.Packets += uint64(b.Packets)
	}
	if q := st.Queue; q != nil {
		s.Drops += uint64(q.Drops)
		s.Overlimits += uint64(q.Overlimits)
		s.Requeues += uint64(q.Requeues)
		s.BacklogBytes += uint64(q.Backlog)
		s.BacklogPackets += uint64(q.Qlen)
	}
}
