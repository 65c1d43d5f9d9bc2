package egress

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"unsafe"
)

// Rules are the inputs of a Table: the host's own addresses and on-link
// prefixes (from the interfaces), where the host runs, the networks the
// user named, and the cloud ranges loaded from providers' files.
type Rules struct {
	Host     []netip.Addr
	OnLink   []netip.Prefix
	Place    Place
	Networks []Network
	Cloud    []CloudRange
}

// rank is a rule's place in the order; a lower rank wins over any prefix of
// a higher rank, whatever their lengths.
const (
	rankHost uint8 = iota
	rankLink
	rankNetwork
	rankCloud
	rankSpecial
)

// entry is one prefix of one rule with what it classes its addresses as
// (an index into the table's distinct Dests, which many prefixes share).
type entry struct {
	prefix netip.Prefix
	dest   int32
	rank   uint8
	bits   uint8
	// spec orders identical prefixes of the same rule: a cloud range with
	// a region and a specific service beats the provider's umbrella range.
	spec uint8
}

// u128 is an address as a number: IPv4 in lo, IPv6 in hi:lo.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) next() u128 {
	if a.lo == ^uint64(0) {
		return u128{a.hi + 1, 0}
	}
	return u128{a.hi, a.lo + 1}
}

// Table classes addresses by the rules, first rule first, and within a rule
// the longest prefix. It is built once (NewTable) and read only after, so
// any number of goroutines may call Classify at once.
//
// The rules' prefixes are flattened at build time into two sorted tables of
// disjoint address ranges (IPv4 and IPv6), each range holding the entry
// that wins there; Classify is one binary search, with no allocation.
type Table struct {
	entries []entry
	dests   []Dest
	// starts4[i] is the first address of range i; ents4[i] its entry, or
	// -1 for none (internet). starts4[0] is 0.
	starts4 []uint32
	ents4   []int32
	hi6     []uint64
	lo6     []uint64
	ents6   []int32
	place   Place
	classes []Class
	skipped int
}

// NewTable builds the table of r. Invalid prefixes and addresses are
// skipped (Skipped counts them); a named network whose class cannot be
// decided is an error (configs validates it first).
func NewTable(r Rules) (*Table, error) {
	t := &Table{place: r.Place}
	dests := map[Dest]int32{}
	add := func(p netip.Prefix, rank, spec uint8, d Dest) {
		if !p.IsValid() {
			t.skipped++
			return
		}
		p = unmapPrefix(p).Masked()
		di, ok := dests[d]
		if !ok {
			di = int32(len(t.dests))
			dests[d] = di
			t.dests = append(t.dests, d)
		}
		t.entries = append(t.entries, entry{prefix: p, dest: di, rank: rank, bits: uint8(p.Bits()), spec: spec})
	}
	for _, a := range r.Host {
		if !a.IsValid() {
			t.skipped++
			continue
		}
		a = a.Unmap().WithZone("")
		add(netip.PrefixFrom(a, a.BitLen()), rankHost, 0, Dest{Kind: KindHost, Class: ClassHost, Network: "this host"})
	}
	for _, p := range loopback {
		add(p, rankHost, 0, Dest{Kind: KindHost, Class: ClassHost, Network: "loopback"})
	}
	for _, p := range r.OnLink {
		add(p, rankLink, 0, Dest{Kind: KindLink, Class: ClassLink, Network: "on-link"})
	}
	for _, n := range r.Networks {
		c, ok := NetworkClass(r.Place, n)
		if !ok {
			return nil, fmt.Errorf("egress network %s: no class, and no zone to judge it by (set its class, or its zone and the host's)", n.Name)
		}
		if !ValidClass(string(c)) || c == ClassUnknown {
			return nil, fmt.Errorf("egress network %s: not a valid class (lower case letters, digits and '-', not %q)", n.Name, ClassUnknown)
		}
		for _, p := range n.Prefixes {
			add(p, rankNetwork, 0, Dest{Kind: KindNetwork, Class: c, Network: n.Name})
		}
	}
	for _, b := range specialBlocks {
		d := Dest{Kind: KindSpecial, Class: ClassPrivate, Network: b.name}
		if b.global {
			d.Kind, d.Class = KindInternet, ClassInternet
		}
		add(netip.MustParsePrefix(b.prefix), rankSpecial, 0, d)
	}
	labels := map[[3]string]string{}
	for _, cr := range r.Cloud {
		var spec uint8
		if !noRegion(cr.Region) {
			spec += 2
		}
		if !catchAll(cr.Service) {
			spec++
		}
		k := [3]string{cr.Provider, cr.Service, cr.Region}
		label, ok := labels[k]
		if !ok {
			region := cr.Region
			if noRegion(region) {
				region = "global"
			}
			label = cr.Provider + "/" + cr.Service + "/" + region
			labels[k] = label
		}
		add(cr.Prefix, rankCloud, spec, Dest{Kind: KindCloud, Class: CloudClass(r.Place, cr), Network: label,
			Provider: cr.Provider, Service: cr.Service, Region: cr.Region, BorderGroup: cr.BorderGroup})
	}
	t.build()
	seen := map[Class]bool{}
	for _, c := range BuiltinClasses() {
		seen[c] = true
		t.classes = append(t.classes, c)
	}
	for _, d := range t.dests {
		if !seen[d.Class] {
			seen[d.Class] = true
			t.classes = append(t.classes, d.Class)
		}
	}
	return t, nil
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix into the IPv4 prefix it
// describes.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.Addr().Is4In6() {
		return p
	}
	return netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
}

// better reports whether entry a wins over entry b where both match: the
// lower rank, then the longer prefix, then the more specific, then the one
// given first.
func (t *Table) better(a, b int32) bool {
	if b < 0 {
		return true
	}
	ea, eb := &t.entries[a], &t.entries[b]
	switch {
	case ea.rank != eb.rank:
		return ea.rank < eb.rank
	case ea.bits != eb.bits:
		return ea.bits > eb.bits
	case ea.spec != eb.spec:
		return ea.spec > eb.spec
	}
	return a < b
}

// span is one entry's address range.
type span struct {
	start, end u128
	e          int32
}

func (t *Table) build() {
	var v4, v6 []span
	for i := range t.entries {
		p := t.entries[i].prefix
		s, e := bounds(p)
		if p.Addr().Is4() {
			v4 = append(v4, span{s, e, int32(i)})
		} else {
			v6 = append(v6, span{s, e, int32(i)})
		}
	}
	segs4 := t.flatten(v4, u128{0, 1<<32 - 1})
	t.starts4 = make([]uint32, len(segs4))
	t.ents4 = make([]int32, len(segs4))
	for i, s := range segs4 {
		t.starts4[i], t.ents4[i] = uint32(s.start.lo), s.e
	}
	segs6 := t.flatten(v6, u128{^uint64(0), ^uint64(0)})
	t.hi6 = make([]uint64, len(segs6))
	t.lo6 = make([]uint64, len(segs6))
	t.ents6 = make([]int32, len(segs6))
	for i, s := range segs6 {
		t.hi6[i], t.lo6[i], t.ents6[i] = s.start.hi, s.start.lo, s.e
	}
}

// bounds returns the first and last address of p as numbers.
func bounds(p netip.Prefix) (start, end u128) {
	if p.Addr().Is4() {
		b := p.Addr().As4()
		v := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		host := uint64(1)<<(32-p.Bits()) - 1
		return u128{0, v}, u128{0, v | host}
	}
	start = be128(p.Addr().As16())
	end = start
	switch host := 128 - p.Bits(); {
	case host >= 64:
		end.lo = ^uint64(0)
		if host > 64 {
			end.hi |= ^uint64(0) >> (128 - host)
		}
	case host > 0:
		end.lo |= ^uint64(0) >> (64 - host)
	}
	return start, end
}

func be128(b [16]byte) u128 {
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return u128{hi, lo}
}

// seg is the start of a flattened range and its entry.
type seg struct {
	start u128
	e     int32
}

// flatten turns nested or disjoint spans (prefixes never partly overlap)
// into sorted disjoint ranges, each with the best entry covering it. It
// sweeps the spans in order of start, outer before inner, keeping the chain
// of spans that contain the current address on a stack with the best entry
// of each chain; max is the family's last address.
func (t *Table) flatten(spans []span, maxAddr u128) []seg {
	slices.SortFunc(spans, func(a, b span) int {
		if a.start != b.start {
			if a.start.less(b.start) {
				return -1
			}
			return 1
		}
		if a.end != b.end { // the larger (outer) span first
			if b.end.less(a.end) {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.e, b.e)
	})
	segs := []seg{{u128{}, -1}}
	set := func(at u128, e int32) {
		last := &segs[len(segs)-1]
		if last.start == at {
			last.e = e
			if n := len(segs); n > 1 && segs[n-2].e == e {
				segs = segs[:n-1]
			}
			return
		}
		if last.e != e {
			segs = append(segs, seg{at, e})
		}
	}
	type frame struct {
		end  u128
		best int32
	}
	var stack []frame
	top := func() int32 {
		if len(stack) == 0 {
			return -1
		}
		return stack[len(stack)-1].best
	}
	pop := func() {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if f.end != maxAddr {
			set(f.end.next(), top())
		}
	}
	for _, s := range spans {
		for len(stack) > 0 && stack[len(stack)-1].end.less(s.start) {
			pop()
		}
		best := top()
		if t.better(s.e, best) {
			best = s.e
		}
		stack = append(stack, frame{s.end, best})
		set(s.start, best)
	}
	for len(stack) > 0 {
		pop()
	}
	return slices.Clip(segs)
}

// internetDest and unknownDest are the answers no entry gives.
var (
	internetDest = Dest{Kind: KindInternet, Class: ClassInternet}
	unknownDest  = Dest{Kind: KindUnknown, Class: ClassUnknown}
)

// Classify returns where a is. An IPv4-mapped IPv6 address is classed as
// the IPv4 address it carries; a zone is ignored; an invalid address is
// KindUnknown. It does not allocate.
func (t *Table) Classify(a netip.Addr) Dest {
	if i := t.lookup(a); i >= 0 {
		e := &t.entries[i]
		d := t.dests[e.dest]
		d.Prefix = e.prefix
		return d
	} else if i == -2 {
		return unknownDest
	}
	return internetDest
}

// lookup returns the winning entry for a, -1 for none, -2 for an invalid
// address.
func (t *Table) lookup(a netip.Addr) int32 {
	if !a.IsValid() {
		return -2
	}
	if t == nil {
		return -1
	}
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Is4() {
		b := a.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		s := t.starts4
		lo, n := 0, len(s)
		for n > 1 {
			half := n >> 1
			if s[lo+half] <= v {
				lo += half
			}
			n -= half
		}
		return t.ents4[lo]
	}
	x := be128(a.As16())
	hi, ls := t.hi6, t.lo6
	lo, n := 0, len(hi)
	for n > 1 {
		half := n >> 1
		m := lo + half
		if hi[m] < x.hi || hi[m] == x.hi && ls[m] <= x.lo {
			lo = m
		}
		n -= half
	}
	return t.ents6[lo]
}

// Place returns the host's place the table was built for.
func (t *Table) Place() Place { return t.place }

// Classes returns every class the table can give: the built-in ones, then
// those of the named networks, each once. The slice is the table's: do not
// modify it.
func (t *Table) Classes() []Class { return t.classes }

// Len returns the number of prefixes loaded (all rules, built-in blocks
// included).
func (t *Table) Len() int { return len(t.entries) }

// Ranges returns the number of disjoint IPv4 and IPv6 address ranges the
// prefixes were flattened into.
func (t *Table) Ranges() (v4, v6 int) { return len(t.starts4), len(t.hi6) }

// Skipped returns the number of invalid prefixes and addresses left out.
func (t *Table) Skipped() int { return t.skipped }

// SizeBytes estimates the memory the table holds: its arrays and entries,
// not the strings they share with the rules.
func (t *Table) SizeBytes() int {
	return len(t.entries)*int(unsafe.Sizeof(entry{})) + len(t.dests)*int(unsafe.Sizeof(Dest{})) + len(t.starts4)*8 + len(t.hi6)*20
}
