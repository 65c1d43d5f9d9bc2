package verdict

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"netriage/triage/flows"
)

// MaxExplained caps the explaining set, so thousands of tiny flows never
// make a report unreadable; ExplainedShare then says how much the listed
// flows cover.
const MaxExplained = 50

// reached reports whether sum bytes reach share of total.
func reached(sum, total uint64, share float64) bool {
	// A small epsilon keeps 0.8 × 1000 from missing 800 by float error.
	return float64(sum) >= share*float64(total)-1e-9
}

// explainFlows returns the smallest set of flows holding share of total
// bytes (largest first, ties broken by key so the answer is stable) and the
// share they hold together.
func explainFlows(fs []dirFlow, total uint64, share, winSec float64) ([]ExplainedFlow, float64) {
	out := []ExplainedFlow{}
	if total == 0 {
		return out, 0
	}
	sorted := slices.Clone(fs)
	slices.SortFunc(sorted, func(a, b dirFlow) int {
		if c := cmp.Compare(b.bytes, a.bytes); c != 0 {
			return c
		}
		return compareKeys(a.f.Key, b.f.Key)
	})
	var sum uint64
	for _, x := range sorted {
		if reached(sum, total, share) || len(out) == MaxExplained {
			break
		}
		sum += x.bytes
		out = append(out, explained(x, total, winSec))
	}
	return out, round(float64(sum)/float64(total), 4)
}

func explained(x dirFlow, total uint64, winSec float64) ExplainedFlow {
	k := x.f.Key
	e := ExplainedFlow{
		Proto:       k.Proto.String(),
		LocalAddr:   addrString(k.Local),
		RemoteAddr:  addrString(k.Remote),
		SentBytes:   x.f.SentBytes,
		RecvBytes:   x.f.RecvBytes,
		SentPackets: x.f.SentPackets,
		RecvPackets: x.f.RecvPackets,
		Bytes:       x.bytes,
		Share:       round(float64(x.bytes)/float64(total), 4),
		RemoteName:  x.f.RemoteName,
	}
	if winSec > 0 {
		e.RateBps = round(float64(x.bytes)*8/winSec, 1)
	}
	if k.Proto.HasPorts() {
		lp, rp := k.LocalPort, k.RemotePort
		e.LocalPort, e.RemotePort = &lp, &rp
	}
	if x.f.Owner != nil {
		o := *x.f.Owner
		e.Owner = &o
	}
	return e
}

// explainGroups groups flows by label and applies the explaining rule to
// the groups.
func explainGroups(fs []dirFlow, total uint64, share, winSec float64, label func(*Flow) string) []Group {
	out := []Group{}
	if total == 0 {
		return out
	}
	idx := map[string]int{}
	var groups []Group
	for _, x := range fs {
		l := label(x.f)
		i, ok := idx[l]
		if !ok {
			i = len(groups)
			idx[l] = i
			groups = append(groups, Group{Name: l})
		}
		groups[i].Bytes += x.bytes
		groups[i].Flows++
	}
	slices.SortFunc(groups, func(a, b Group) int {
		if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	var sum uint64
	for _, g := range groups {
		if reached(sum, total, share) || len(out) == MaxExplained {
			break
		}
		sum += g.Bytes
		g.Share = round(float64(g.Bytes)/float64(total), 4)
		if winSec > 0 {
			g.RateBps = round(float64(g.Bytes)*8/winSec, 1)
		}
		out = append(out, g)
	}
	return out
}

// OwnerLabel names a flow's owner for grouping: "prog (pid N)" with the
// container, "unattributed: reason", or "(no process data)".
func OwnerLabel(o *Owner) string {
	switch {
	case o == nil:
		return "(no process data)"
	case o.PID > 0:
		s := o.Program + " (pid " + strconv.Itoa(o.PID) + ")"
		if o.Container != "" {
			s += " [" + o.Container + "]"
		}
		return s
	case o.Unattributed != "":
		return "unattributed: " + o.Unattributed
	}
	return "unattributed: unknown"
}

func processLabel(f *Flow) string { return OwnerLabel(f.Owner) }

func remoteLabel(f *Flow) string {
	a := addrString(f.Key.Remote)
	if f.RemoteName != "" {
		return fmt.Sprintf("%s (%s)", f.RemoteName, a)
	}
	return a
}

func addrString(a interface{ String() string }) string { return a.String() }

// compareKeys orders flow keys by protocol, addresses, then ports.
func compareKeys(a, b flows.Key) int {
	if c := cmp.Compare(a.Proto, b.Proto); c != 0 {
		return c
	}
	if c := a.Local.Compare(b.Local); c != 0 {
		return c
	}
	if c := a.Remote.Compare(b.Remote); c != 0 {
		return c
	}
	if c := cmp.Compare(a.LocalPort, b.LocalPort); c != 0 {
		return c
	}
	return cmp.Compare(a.RemotePort, b.RemotePort)
}
