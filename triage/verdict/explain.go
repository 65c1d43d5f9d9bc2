package verdict

import (
	"bytes"
	"cmp"
	"net/netip"
	"strconv"

	"netriage/triage/flows"
	"netriage/triage/rank"
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
// share they hold together. Under a flood there are hundreds of thousands
// of flows and the set holds at most MaxExplained: it picks those, it
// does not sort them all.
func explainFlows(fs []dirFlow, total uint64, share, winSec float64) ([]ExplainedFlow, float64) {
	out := []ExplainedFlow{}
	if total == 0 {
		return out, 0
	}
	var sum uint64
	for _, p := range rank.Top(fs, MaxExplained, func(a, b *dirFlow) int {
		return cmp.Or(cmp.Compare(b.bytes, a.bytes), compareKeys(a.f.Key, b.f.Key))
	}) {
		if reached(sum, total, share) {
			break
		}
		sum += fs[p].bytes
		out = append(out, explained(fs[p], total, winSec))
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

// labelKey is what a group's label is made of: flows with equal keys
// have equal labels, and the label is written only for the groups shown
// (and to break ties in bytes), not once per flow.
type labelKey interface {
	comparable
	appendLabel(b []byte) []byte
}

// keyGroup is one group of explainGroups before it is labelled.
type keyGroup[K labelKey] struct {
	key   K
	bytes uint64
	flows int
}

// explainGroups groups flows by their key's label and applies the
// explaining rule to the groups (largest first, ties by label). unique
// reports whether a key's label can equal no other key's; keys whose
// labels may collide are merged by label first.
func explainGroups[K labelKey](fs []dirFlow, total uint64, share, winSec float64, keyOf func(*Flow) K, unique func(K) bool, hint int) []Group {
	out := []Group{}
	if total == 0 {
		return out
	}
	idx := make(map[K]int32, hint)
	gs := make([]keyGroup[K], 0, hint)
	distinct := true
	for _, x := range fs {
		k := keyOf(x.f)
		i, ok := idx[k]
		if !ok {
			i = int32(len(gs))
			idx[k] = i
			gs = append(gs, keyGroup[K]{key: k})
			distinct = distinct && unique(k)
		}
		gs[i].bytes += x.bytes
		gs[i].flows++
	}
	if !distinct {
		byLabel := make(map[string]int32, len(gs))
		merged := gs[:0]
		for _, g := range gs {
			l := string(g.key.appendLabel(nil))
			if i, ok := byLabel[l]; ok {
				merged[i].bytes += g.bytes
				merged[i].flows += g.flows
				continue
			}
			byLabel[l] = int32(len(merged))
			merged = append(merged, g)
		}
		gs = merged
	}
	var la, lb []byte
	var sum uint64
	for _, p := range rank.Top(gs, MaxExplained, func(a, b *keyGroup[K]) int {
		if c := cmp.Compare(b.bytes, a.bytes); c != 0 {
			return c
		}
		la, lb = a.key.appendLabel(la[:0]), b.key.appendLabel(lb[:0])
		return bytes.Compare(la, lb)
	}) {
		if reached(sum, total, share) {
			break
		}
		g := gs[p]
		sum += g.bytes
		grp := Group{Name: string(g.key.appendLabel(nil)), Bytes: g.bytes, Flows: g.flows, Share: round(float64(g.bytes)/float64(total), 4)}
		if winSec > 0 {
			grp.RateBps = round(float64(g.bytes)*8/winSec, 1)
		}
		out = append(out, grp)
	}
	return out
}

// explainByProcess is explainGroups by the flows' owners.
func explainByProcess(fs []dirFlow, total uint64, share, winSec float64) []Group {
	return explainGroups(fs, total, share, winSec, func(f *Flow) ownerKey { return ownerKeyOf(f.Owner) },
		func(ownerKey) bool { return false }, 0) // "unattributed: unknown" has several
}

// explainByRemote is explainGroups by the flows' remote addresses and
// names.
func explainByRemote(fs []dirFlow, total uint64, share, winSec float64) []Group {
	return explainGroups(fs, total, share, winSec, func(f *Flow) remoteKey { return remoteKey{f.Key.Remote, f.RemoteName} },
		remoteKey.unique, len(fs)) // a flood's flows each have their own
}

// ownerKey is what OwnerLabel reads of an owner.
type ownerKey struct {
	none                             bool
	pid                              int
	program, container, unattributed string
}

func ownerKeyOf(o *Owner) ownerKey {
	if o == nil {
		return ownerKey{none: true}
	}
	return ownerKey{pid: o.PID, program: o.Program, container: o.Container, unattributed: o.Unattributed}
}

func (k ownerKey) appendLabel(b []byte) []byte {
	switch {
	case k.none:
		return append(b, "(no process data)"...)
	case k.pid > 0:
		b = append(append(b, k.program...), " (pid "...)
		b = append(strconv.AppendInt(b, int64(k.pid), 10), ')')
		if k.container != "" {
			b = append(append(append(b, " ["...), k.container...), ']')
		}
		return b
	case k.unattributed != "":
		return append(append(b, "unattributed: "...), k.unattributed...)
	}
	return append(b, "unattributed: unknown"...)
}

// OwnerLabel names a flow's owner for grouping: "prog (pid N)" with the
// container, "unattributed: reason", or "(no process data)".
func OwnerLabel(o *Owner) string { return string(ownerKeyOf(o).appendLabel(nil)) }

// remoteKey is a remote's label: "name (address)", or the address.
type remoteKey struct {
	addr netip.Addr
	name string
}

func (k remoteKey) appendLabel(b []byte) []byte {
	if k.name != "" {
		b = append(append(b, k.name...), " ("...)
	}
	if k.addr.IsValid() {
		b = k.addr.AppendTo(b)
	} else {
		b = append(b, k.addr.String()...)
	}
	if k.name != "" {
		b = append(b, ')')
	}
	return b
}

// unique: an address without a zone is written with digits, dots and
// colons only, so the label's last " (" ends the name, and two such
// keys' labels are equal only if their names and addresses are. A zone
// may hold any text.
func (k remoteKey) unique() bool { return k.addr.Zone() == "" }

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
