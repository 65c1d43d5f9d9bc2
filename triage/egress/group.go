package egress

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Row is one remote address's traffic as the aggregation takes it: usually
// one per (remote, process) pair of the attribution join.
type Row struct {
	// Remote is the remote address; an invalid one is classed unknown.
	Remote netip.Addr
	// Process labels the process (or container) that owns the traffic;
	// empty when unattributed.
	Process string
	// Name is the name the application asked for (passive DNS, TLS SNI)
	// or the reverse-DNS name; empty when none is known. NameSource says
	// which ("dns", "sni", "ptr"), Names holds all three.
	Name       string
	NameSource string
	Names      NameInfo
	// Folded marks the row of a class's (and process's) remotes that had
	// no row of their own (a Tracker at its bound): its Remote is only the
	// first of them, and it groups under the name and network "(other)".
	Folded bool
	// Sent and Received are bytes so far: sent is host to remote.
	Sent, Received uint64
	// SentRate and ReceivedRate are bytes per second at the rate the
	// caller chose (the 40 s window's).
	SentRate, ReceivedRate float64
}

// Field is one thing rows can be grouped by.
type Field uint8

// Fields to group by.
const (
	// ByClass groups by billing class.
	ByClass Field = iota + 1
	// ByNetwork groups by what matched (Dest.Network: a named network, a
	// provider's service and region, a special block).
	ByNetwork
	// ByName groups by destination name; a row without one goes under
	// its address.
	ByName
	// ByProcess groups by process label.
	ByProcess
)

// String returns "class", "network", "name" or "process".
func (f Field) String() string {
	switch f {
	case ByClass:
		return "class"
	case ByNetwork:
		return "network"
	case ByName:
		return "name"
	case ByProcess:
		return "process"
	}
	return fmt.Sprintf("field(%d)", uint8(f))
}

// ParseGroupBy parses a comma-separated list of fields ("class,name",
// "process,class"): class, network, name, process, each at most once.
func ParseGroupBy(s string) ([]Field, error) {
	var out []Field
	for _, part := range strings.Split(s, ",") {
		var f Field
		switch strings.TrimSpace(part) {
		case "class":
			f = ByClass
		case "network":
			f = ByNetwork
		case "name":
			f = ByName
		case "process":
			f = ByProcess
		default:
			return nil, fmt.Errorf("group by: field %d is not one of class, network, name, process", len(out)+1)
		}
		if slices.Contains(out, f) {
			return nil, fmt.Errorf("group by: %s given twice", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// Key identifies a group; the fields not grouped by are empty.
type Key struct {
	Class   Class
	Network string
	Name    string
	Process string
}

// Group sums the rows of one key.
type Group struct {
	Key Key
	// Rows is the number of rows summed.
	Rows int
	// Sent and Received are bytes so far.
	Sent, Received uint64
	// SentRate and ReceivedRate are bytes per second.
	SentRate, ReceivedRate float64
	// Cost is the cost so far, PerHour the cost per hour at the rates.
	Cost    Cost
	PerHour HourlyCost
}

func (g *Group) add(r *Row, c Cost, h HourlyCost) {
	g.Rows++
	g.Sent += r.Sent
	g.Received += r.Received
	g.SentRate += r.SentRate
	g.ReceivedRate += r.ReceivedRate
	g.Cost = g.Cost.Add(c)
	g.PerHour = g.PerHour.Add(h)
}

// SortKey orders groups.
type SortKey uint8

// Orders of groups, largest first; ties go by key, so the order is total.
const (
	// SortCost: cost so far (of the priced bytes), then unpriced bytes,
	// then bytes sent.
	SortCost SortKey = iota
	// SortSent: bytes sent, then bytes received.
	SortSent
	// SortBytes: bytes sent and received together, then bytes sent.
	SortBytes
)

// ParseSortKey parses "cost", "sent" or "bytes".
func ParseSortKey(s string) (SortKey, error) {
	switch s {
	case "cost":
		return SortCost, nil
	case "sent":
		return SortSent, nil
	case "bytes":
		return SortBytes, nil
	}
	return 0, fmt.Errorf("sort: not one of cost, sent, bytes")
}

// Summary is the aggregation of a list of rows: its groups, sorted, and the
// total of all rows.
type Summary struct {
	By     []Field
	Groups []Group
	Total  Group
}

// Aggregate classes every row with t (a nil table classes every valid
// address internet), prices it with p and sums the rows by the fields of
// by (no field: one group). No row is dropped: an address that cannot be
// classed is unknown. The sums are exact: Σ over groups of Sent is
// Total.Sent, for any fields.
func Aggregate(rows []Row, t *Table, p Prices, by []Field, sort SortKey) Summary {
	sum := Summary{By: by}
	idx := map[Key]int{}
	for i := range rows {
		r := &rows[i]
		d := t.Classify(r.Remote)
		k := keyOf(r, d, by)
		c := p.Cost(d.Class, r.Sent, r.Received)
		h := p.PerHour(d.Class, r.SentRate, r.ReceivedRate)
		j, ok := idx[k]
		if !ok {
			j = len(sum.Groups)
			idx[k] = j
			sum.Groups = append(sum.Groups, Group{Key: k})
		}
		sum.Groups[j].add(r, c, h)
		sum.Total.add(r, c, h)
	}
	SortGroups(sum.Groups, sort)
	return sum
}

func keyOf(r *Row, d Dest, by []Field) Key {
	var k Key
	for _, f := range by {
		switch f {
		case ByClass:
			k.Class = d.Class
		case ByNetwork:
			k.Network = d.Network
			if r.Folded {
				k.Network = FoldedName
			}
		case ByName:
			k.Name = NameOf(r)
		case ByProcess:
			k.Process = r.Process
		}
	}
	return k
}

// FoldedName is the name and network of a folded row's group.
const FoldedName = "(other)"

// NameOf is the name a row is grouped under: its Name, else its address as
// text, else "" (an invalid address); FoldedName for a folded row.
func NameOf(r *Row) string {
	if r.Folded {
		return FoldedName
	}
	if r.Name != "" {
		return r.Name
	}
	if r.Remote.IsValid() {
		return r.Remote.Unmap().String()
	}
	return ""
}

// SortGroups orders gs by k, largest first, ties by key. It sorts indices
// and moves each group once: a Group is large, and the TUI sorts
// thousands of them per frame.
func SortGroups(gs []Group, k SortKey) {
	idx := make([]int32, len(gs))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int { return CompareGroups(&gs[a], &gs[b], k) })
	sorted := make([]Group, len(gs))
	for i, j := range idx {
		sorted[i] = gs[j]
	}
	copy(gs, sorted)
}

// CompareGroups is SortGroups' order: negative when a goes before b.
// Groups of equal keys and numbers compare equal.
func CompareGroups(a, b *Group, k SortKey) int {
	// Each comparison only when the ones before it tie (cmp.Or would
	// compute them all, the key's strings too, for every pair).
	var c int
	switch k {
	case SortCost:
		if c = cmp.Compare(b.Cost.Amount, a.Cost.Amount); c == 0 {
			if c = cmp.Compare(b.Cost.UnpricedBytes, a.Cost.UnpricedBytes); c == 0 {
				c = cmp.Compare(b.Sent, a.Sent)
			}
		}
	case SortSent:
		if c = cmp.Compare(b.Sent, a.Sent); c == 0 {
			c = cmp.Compare(b.Received, a.Received)
		}
	case SortBytes:
		if c = cmp.Compare(b.Sent+b.Received, a.Sent+a.Received); c == 0 {
			c = cmp.Compare(b.Sent, a.Sent)
		}
	}
	if c != 0 {
		return c
	}
	if c = cmp.Compare(a.Key.Class, b.Key.Class); c != 0 {
		return c
	}
	if c = cmp.Compare(a.Key.Network, b.Key.Network); c != 0 {
		return c
	}
	if c = cmp.Compare(a.Key.Name, b.Key.Name); c != 0 {
		return c
	}
	return cmp.Compare(a.Key.Process, b.Key.Process)
}
