package attrib

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"netriage/triage/flows"
)

// sockUniverse generates random socket tables over a small space of
// addresses, ports, namespaces and owners, so that keys collide: one
// 5-tuple in several namespaces, several listeners on one port, owned and
// unowned sockets under one key.
type sockUniverse struct {
	r      *rand.Rand
	cookie uint64
	socks  []Socket
	// narrow: one address of each family, so that many sockets share a
	// key (more than fewCands).
	narrow bool
}

func (u *sockUniverse) addr(v6 bool) netip.Addr {
	n := byte(1 + u.r.IntN(3))
	if u.narrow {
		n = 1
	}
	if v6 {
		return netip.AddrFrom16([16]byte{0xfd, 0, 1, 0x98, 0, 0x18, 15: n})
	}
	return netip.AddrFrom4([4]byte{198, 18, 0, n})
}

func (u *sockUniverse) owner() ProcKey {
	if u.r.IntN(4) == 0 {
		return ProcKey{}
	}
	pid := int32(100 + u.r.IntN(6))
	return ProcKey{PID: pid, StartTicks: uint64(pid) * 10}
}

func (u *sockUniverse) socket() Socket {
	u.cookie++
	v6 := u.r.IntN(4) == 0
	s := Socket{Proto: flows.ProtoTCP, Netns: uint64(1 + u.r.IntN(3)), Local: u.addr(v6), LocalPort: uint16(80 + u.r.IntN(3)),
		Cookie: u.cookie, Inode: uint32(1000 + u.r.IntN(50)), Owner: u.owner(), State: StateEstablished, SendQ: uint32(u.r.IntN(2))}
	if u.r.IntN(3) == 0 {
		s.Proto = flows.ProtoUDP
	}
	switch u.r.IntN(4) {
	case 0: // unconnected: a listener or a UDP socket
		if s.Proto == flows.ProtoTCP {
			s.State = StateListen
		} else {
			s.State = StateClose
		}
		if u.r.IntN(2) == 0 {
			s.Local = unspecified(s.Local)
		}
	case 1: // closed: TIME_WAIT, no inode, no owner
		s.Remote, s.RemotePort = u.addr(v6), uint16(443+u.r.IntN(2))
		s.State, s.Inode, s.Owner = StateTimeWait, 0, ProcKey{}
	default:
		s.Remote, s.RemotePort = u.addr(v6), uint16(443+u.r.IntN(2))
	}
	return s
}

// step adds, removes and changes a few sockets and returns the new table's
// sockets in a shuffled order (a dump keeps none).
func (u *sockUniverse) step() []Socket {
	for n := u.r.IntN(8); n > 0 && len(u.socks) > 0; n-- {
		i := u.r.IntN(len(u.socks))
		u.socks = slices.Delete(u.socks, i, i+1)
	}
	adds := u.r.IntN(10)
	if u.narrow {
		adds += 8
	}
	for n := adds; n > 0; n-- {
		u.socks = append(u.socks, u.socket())
	}
	for n := u.r.IntN(6); n > 0 && len(u.socks) > 0; n-- {
		s := &u.socks[u.r.IntN(len(u.socks))]
		switch u.r.IntN(4) {
		case 0:
			s.Owner = u.owner()
		case 1:
			s.SendQ++
		case 2:
			if s.Connected() && s.State == StateEstablished {
				s.State, s.Inode, s.Owner = StateTimeWait, 0, ProcKey{}
			}
		default:
			s.RecvQ++
		}
	}
	out := slices.Clone(u.socks)
	u.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// diffTables is a socket source's Changes of cur against prev, by
// namespace and cookie.
func diffTables(prev, cur *SocketTable) SocketChanges {
	ch := SocketChanges{Since: prev.Seq}
	at := map[[2]uint64]int{}
	for i := range prev.Sockets {
		at[[2]uint64{prev.Sockets[i].Netns, prev.Sockets[i].Cookie}] = i
	}
	for i := range cur.Sockets {
		s := &cur.Sockets[i]
		id := [2]uint64{s.Netns, s.Cookie}
		j, ok := at[id]
		switch {
		case !ok:
			ch.Added = append(ch.Added, int32(i))
		case !SameForJoin(&prev.Sockets[j], s):
			ch.Removed = append(ch.Removed, prev.Sockets[j])
			ch.Added = append(ch.Added, int32(i))
		}
		delete(at, id)
	}
	for _, j := range at {
		ch.Removed = append(ch.Removed, prev.Sockets[j])
	}
	return ch
}

// normal is an index with each key's other sockets sorted, for comparing.
func normal[K comparable](ix index[K]) map[K]cands {
	out := make(map[K]cands, len(ix))
	for k, c := range ix {
		more := slices.Clone(c.more)
		for e, n := range c.many {
			for ; n > 0; n-- {
				more = append(more, e)
			}
		}
		slices.SortFunc(more, func(a, b sockEntry) int { return a.compare(&b) })
		out[k] = cands{best: c.best, more: more}
	}
	return out
}

func sameIndex(t *testing.T, step int, got, want *sockIndex) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"exact", normal(got.exact), normal(want.exact)},
		{"bound", normal(got.bound), normal(want.bound)},
		{"byInode", normal(got.byInode), normal(want.byInode)},
		{"peers", normal(got.peers), normal(want.peers)},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Fatalf("step %d: %s index kept from changes differs from one built from the table", step, c.name)
		}
	}
}

// TestIndexIncrementalEqualsBuilt keeps one Attributor's indexes from each
// table's Changes and builds another's from every table whole, over random
// sequences of added, removed and changed sockets, and wants the same
// indexes, the same memories of closed connections and the same reports.
func TestIndexIncrementalEqualsBuilt(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			u := &sockUniverse{r: rand.New(rand.NewPCG(seed, 7)), narrow: seed%2 == 0}
			cfg := Config{ClosedGrace: 3 * time.Second}
			kept, built := New(cfg), New(cfg)
			now := time.Unix(1_700_000_000, 0)
			var prev *SocketTable
			applied := 0
			for step := 1; step <= 60; step++ {
				now = now.Add(500 * time.Millisecond)
				procs := map[ProcKey]*Process{}
				for pid := int32(100); pid < 106; pid++ {
					k := ProcKey{PID: pid, StartTicks: uint64(pid) * 10}
					procs[k] = &Process{Key: k, Program: fmt.Sprint("p", pid)}
				}
				tab := &SocketTable{Time: now, Seq: uint64(step), HostNetns: 1, Sockets: u.step(), Processes: procs,
					LocalAddrs: map[netip.Addr]uint64{netip.MustParseAddr("198.18.0.1"): 1}}
				whole := *tab
				if prev != nil && u.r.IntN(10) != 0 { // now and then a table without changes
					tab.Changes = diffTables(prev, tab)
					applied++
				}
				prev = tab
				fl := probeFlows(u, tab)
				if step%3 == 0 {
					kept.Observe(now, tab)
					built.Observe(now, &whole)
				} else {
					a, b := kept.Update(now, fl, tab), built.Update(now, fl, &whole)
					if !reflect.DeepEqual(a, b) {
						t.Fatalf("step %d: reports differ", step)
					}
				}
				sameIndex(t, step, &kept.ix, &built.ix)
				if d := mapDiff(kept.grace, built.grace); d != "" {
					t.Fatalf("step %d: closed connections remembered differ (kept, built): %s", step, d)
				}
				if d := mapDiff(kept.peers, built.peers); d != "" {
					t.Fatalf("step %d: closed peers remembered differ (kept, built): %s", step, d)
				}
			}
			if applied < 40 {
				t.Fatalf("only %d tables were kept from changes", applied)
			}
			many := 0
			for _, c := range kept.ix.peers {
				if c.many != nil {
					many++
				}
			}
			if u.narrow && many == 0 {
				t.Fatalf("no key with more than %d sockets", fewCands)
			}
		})
	}
}

// probeFlows are flows of the table's connections (either way round) and
// of sockets gone, with some random ones.
func probeFlows(u *sockUniverse, tab *SocketTable) []FlowStat {
	var fl []FlowStat
	seen := map[flows.Key]bool{}
	add := func(k flows.Key) {
		if !seen[k] {
			seen[k] = true
			fl = append(fl, FlowStat{Key: k, SentBytes: uint64(u.r.IntN(1000))})
		}
	}
	for i := range tab.Sockets {
		s := &tab.Sockets[i]
		k := flows.Key{Proto: s.Proto, Local: s.Local, Remote: s.Remote, LocalPort: s.LocalPort, RemotePort: s.RemotePort}
		if !s.Connected() {
			k.Remote, k.RemotePort = u.addr(s.Local.Is6()), 5000
			if k.Local.IsUnspecified() {
				k.Local = u.addr(s.Local.Is6())
			}
		}
		if u.r.IntN(3) == 0 {
			k.Local, k.Remote, k.LocalPort, k.RemotePort = k.Remote, k.Local, k.RemotePort, k.LocalPort
		}
		if k.Local.IsValid() && k.Remote.IsValid() {
			add(k)
		}
	}
	for n := 0; n < 10; n++ {
		s := u.socket()
		add(flows.Key{Proto: s.Proto, Local: s.Local, Remote: u.addr(s.Local.Is6()), LocalPort: s.LocalPort, RemotePort: uint16(443 + u.r.IntN(2))})
	}
	return fl
}

// mapDiff names the first few keys whose values differ.
func mapDiff[K comparable](got, want map[K]memEntry) string {
	var out []string
	for k, g := range got {
		if w, ok := want[k]; !ok || g != w {
			out = append(out, fmt.Sprintf("%v: %v, %v", k, g, w))
		}
	}
	for k, w := range want {
		if _, ok := got[k]; !ok {
			out = append(out, fmt.Sprintf("%v: none, %v", k, w))
		}
	}
	slices.Sort(out)
	return strings.Join(out[:min(len(out), 3)], "; ")
}

// TestSortConns holds sortConns to a plain sort of the rows, with ties of
// rate and bytes.
func TestSortConns(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	var order []rowOrder
	for n := 0; n < 200; n++ {
		rows := make([]ConnRow, r.IntN(40))
		for i := range rows {
			rows[i] = ConnRow{Key: flows.Key{Proto: flows.ProtoTCP, Local: netip.MustParseAddr("198.18.0.1"), LocalPort: uint16(r.IntN(20)), Remote: netip.MustParseAddr("198.18.0.2"), RemotePort: uint16(i)},
				Rate10s: Rates{SentBps: float64(r.IntN(3))}, SentBytes: uint64(r.IntN(3))}
		}
		want := slices.Clone(rows)
		slices.SortFunc(want, func(a, b ConnRow) int {
			if c := cmp.Or(cmp.Compare(total(b.Rate10s), total(a.Rate10s)), cmp.Compare(b.SentBytes+b.RecvBytes, a.SentBytes+a.RecvBytes)); c != 0 {
				return c
			}
			if keyLess(a.Key, b.Key) {
				return -1
			}
			return 1
		})
		sortConns(rows, &order)
		if !reflect.DeepEqual(rows, want) {
			t.Fatalf("case %d: sortConns differs from a sort of the rows", n)
		}
	}
}

// TestSortKeyIsKeyLess: connection rows of equal rate and bytes sort by
// keyLess, and rates and bytes sort as cmp.Compare has them.
func TestSortKeyIsKeyLess(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	addrs := []netip.Addr{netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2"), netip.MustParseAddr("fd00:198:18::1"),
		netip.MustParseAddr("::ffff:198.18.0.1"), netip.MustParseAddr("::"), netip.MustParseAddr("0.0.0.0"), {}}
	key := func() flows.Key {
		return flows.Key{Proto: []flows.Proto{flows.ProtoTCP, flows.ProtoUDP}[r.IntN(2)], Local: addrs[r.IntN(len(addrs))], Remote: addrs[r.IntN(len(addrs))],
			LocalPort: uint16(r.IntN(3) * 300), RemotePort: uint16(r.IntN(3) * 300)}
	}
	sign := func(c int) int { return cmp.Compare(c, 0) }
	rates := []float64{0, math.Copysign(0, -1), 1, 2.5, -1, math.Inf(1), math.Inf(-1), math.NaN(), 1e-300}
	for range 5000 {
		rows := []ConnRow{{Key: key()}, {Key: key()}}
		if r.IntN(2) == 0 {
			rows[0].Rate10s.SentBps, rows[1].Rate10s.SentBps = rates[r.IntN(len(rates))], rates[r.IntN(len(rates))]
			rows[0].SentBytes, rows[1].SentBytes = uint64(r.IntN(3))<<(r.IntN(2)*60), uint64(r.IntN(3))<<(r.IntN(2)*60)
		}
		a, b := rows[0], rows[1]
		want := cmp.Or(cmp.Compare(total(b.Rate10s), total(a.Rate10s)), cmp.Compare(b.SentBytes, a.SentBytes))
		if want == 0 {
			switch {
			case keyLess(a.Key, b.Key):
				want = -1
			case keyLess(b.Key, a.Key):
				want = 1
			}
		}
		var ka, kb sortKey
		connSortKey(&a, &ka)
		connSortKey(&b, &kb)
		if got := sign(bytes.Compare(ka[:], kb[:])); got != want {
			t.Fatalf("rows %+v and %+v: keys compare %d, want %d", a, b, got, want)
		}
	}
}

// TestSortRemotes holds the remote rows' order to a plain sort of them.
func TestSortRemotes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var s updateScratch
	for n := 0; n < 200; n++ {
		rows := make([]RemoteRow, r.IntN(40))
		for i := range rows {
			rows[i] = RemoteRow{Addr: netip.AddrFrom4([4]byte{198, 18, byte(r.IntN(2)), byte(i)}), Rate10s: Rates{RecvBps: float64(r.IntN(3))}, RecvBytes: uint64(r.IntN(3)), Connections: i}
		}
		want := slices.Clone(rows)
		slices.SortFunc(want, func(a, b RemoteRow) int {
			return cmp.Or(cmp.Compare(total(b.Rate10s), total(a.Rate10s)), cmp.Compare(b.SentBytes+b.RecvBytes, a.SentBytes+a.RecvBytes), a.Addr.Compare(b.Addr))
		})
		rep := Report{Remotes: rows}
		sortReport(&rep, &s)
		if !reflect.DeepEqual(rep.Remotes, want) {
			t.Fatalf("case %d: remote rows differ from a sort of them", n)
		}
	}
}
