package attrib

import (
	"cmp"

	"netriage/triage/flows"
)

// The join's indexes of the latest socket table.
//
// They are kept current from the table's Changes (the sockets the source
// saw appear, disappear or change since its previous table) when the
// table follows the one indexed last, and built from the whole table
// otherwise. Either way they hold the same: each key maps to every socket
// of the table under it, and the one the join uses (best) is the first of
// them in one fixed order (owned before unowned, the capture's namespace
// before others, then the lowest namespace, inode, cookie...), so it does
// not depend on the order of the dump, which the kernel does not keep
// between dumps.
//
// Entries are copies of the fields the join reads, not pointers into a
// table: an entry made from an earlier table stays true for as long as the
// source reports no change of the socket (SameForJoin).

// sockEntry is what the join reads of one socket.
type sockEntry struct {
	owner        ProcKey
	netns        uint64
	cookie       uint64
	inode        uint32
	recvQ, sendQ uint32
	state        uint8
	// host is set for a socket of the capture's namespace.
	host bool
}

func entryOf(s *Socket, host uint64) sockEntry {
	return sockEntry{owner: s.Owner, netns: s.Netns, cookie: s.Cookie, inode: s.Inode, recvQ: s.RecvQ, sendQ: s.SendQ, state: s.State, host: s.Netns == host}
}

// compare orders entries: the join uses the first of a key's.
func (e *sockEntry) compare(o *sockEntry) int {
	if x, y := e.owner.IsZero(), o.owner.IsZero(); x != y {
		if y {
			return -1
		}
		return 1
	}
	if e.host != o.host {
		if e.host {
			return -1
		}
		return 1
	}
	return cmp.Or(cmp.Compare(e.netns, o.netns), cmp.Compare(e.inode, o.inode), cmp.Compare(e.cookie, o.cookie),
		cmp.Compare(e.owner.PID, o.owner.PID), cmp.Compare(e.owner.StartTicks, o.owner.StartTicks),
		cmp.Compare(e.state, o.state), cmp.Compare(e.sendQ, o.sendQ), cmp.Compare(e.recvQ, o.recvQ))
}

// cands are the sockets under one key: best, and the others in no order,
// in more while they are few (nil when there are none, the usual case),
// else counted in many (thousands of connections from one address to one
// service share a peer key). When best goes from a key with many, the next
// is found once the whole batch of changes is in (settle), not at each
// removal: a refresh that closes the first thousand sockets of a key would
// otherwise scan its many a thousand times.
type cands struct {
	best sockEntry
	more []sockEntry
	many map[sockEntry]int
	// unsettled: best is gone and not replaced yet.
	unsettled bool
}

// fewCands is the most sockets more holds besides best.
const fewCands = 16

type index[K comparable] map[K]cands

func (ix index[K]) add(k K, e sockEntry) {
	c, ok := ix[k]
	if !ok {
		ix[k] = cands{best: e}
		return
	}
	if !c.unsettled && e.compare(&c.best) < 0 {
		e, c.best = c.best, e
	}
	switch {
	case c.many != nil:
		c.many[e]++
	case len(c.more) < fewCands:
		c.more = append(c.more, e)
	default:
		c.many = make(map[sockEntry]int, 2*fewCands)
		for _, m := range c.more {
			c.many[m]++
		}
		c.many[e]++
		c.more = nil
	}
	ix[k] = c
}

// remove takes one socket equal to e from under k. It reports whether k
// needs settle before the index is read.
func (ix index[K]) remove(k K, e sockEntry) bool {
	c, ok := ix[k]
	if !ok {
		return false
	}
	if !c.unsettled && c.best == e {
		switch {
		case c.many != nil:
			c.unsettled = true
			ix[k] = c
			return true
		case len(c.more) == 0:
			delete(ix, k)
			return false
		}
		// The next best takes its place.
		bi := 0
		for i := 1; i < len(c.more); i++ {
			if c.more[i].compare(&c.more[bi]) < 0 {
				bi = i
			}
		}
		c.best, e = c.more[bi], c.more[bi]
	}
	if c.many != nil {
		if n := c.many[e]; n > 1 {
			c.many[e] = n - 1
		} else {
			delete(c.many, e)
		}
	} else {
		for i := range c.more {
			if c.more[i] == e {
				c.more[i] = c.more[len(c.more)-1]
				c.more = c.more[:len(c.more)-1]
				break
			}
		}
		if len(c.more) == 0 {
			c.more = nil
		}
	}
	ix[k] = c
	return false
}

// settle gives k its best again after removals (remove's report).
func (ix index[K]) settle(k K) {
	c, ok := ix[k]
	if !ok || !c.unsettled {
		return
	}
	if len(c.many) == 0 {
		delete(ix, k)
		return
	}
	first := true
	for m := range c.many {
		if first || m.compare(&c.best) < 0 {
			c.best, first = m, false
		}
	}
	if n := c.many[c.best]; n > 1 {
		c.many[c.best] = n - 1
	} else {
		delete(c.many, c.best)
	}
	if len(c.many) == 0 {
		c.many = nil
	}
	c.unsettled = false
	ix[k] = c
}

// goneConn and gonePeer are a key of an owned connection that goes and
// the socket the join used under it before.
type goneConn struct {
	k connKey
	e sockEntry
}

type gonePeer struct {
	k peerKey
	e sockEntry
}

// sockIndex holds the join's indexes of one table.
type sockIndex struct {
	// exact holds connected sockets by 5-tuple.
	exact index[connKey]
	// bound holds unconnected UDP sockets and TCP listeners by local
	// address and port.
	bound index[bindKey]
	// byInode holds sockets with an inode.
	byInode index[inodeKey]
	// peers holds owned connected sockets by local address, remote
	// address and remote port.
	peers index[peerKey]
	// The keys removals left unsettled (remove), settled by settle.
	unsettledExact []connKey
	unsettledBound []bindKey
	unsettledInode []inodeKey
	unsettledPeers []peerKey
}

func newSockIndex() sockIndex {
	return sockIndex{exact: index[connKey]{}, bound: index[bindKey]{}, byInode: index[inodeKey]{}, peers: index[peerKey]{}}
}

func (x *sockIndex) clear() {
	clear(x.exact)
	clear(x.bound)
	clear(x.byInode)
	clear(x.peers)
}

// build indexes every socket of tab into the empty x.
func (x *sockIndex) build(tab *SocketTable) {
	for i := range tab.Sockets {
		x.add(&tab.Sockets[i], tab.HostNetns)
	}
}

func (x *sockIndex) add(s *Socket, host uint64) {
	e := entryOf(s, host)
	if s.Inode != 0 {
		x.byInode.add(inodeKey{s.Netns, s.Inode}, e)
	}
	if s.Connected() {
		x.exact.add(newConnKey(s.Proto, s.Local, s.Remote, s.LocalPort, s.RemotePort), e)
		if !s.Owner.IsZero() {
			x.peers.add(newPeerKey(s.Proto, s.Local, s.Remote, s.RemotePort), e)
		}
		return
	}
	if s.Proto == flows.ProtoUDP || s.State == StateListen {
		x.bound.add(newBindKey(s.Proto, s.Local, s.LocalPort), e)
	}
}

// remove takes s out; call settle before reading the index.
func (x *sockIndex) remove(s *Socket, host uint64) {
	e := entryOf(s, host)
	if k := (inodeKey{s.Netns, s.Inode}); s.Inode != 0 && x.byInode.remove(k, e) {
		x.unsettledInode = append(x.unsettledInode, k)
	}
	if s.Connected() {
		if k := newConnKey(s.Proto, s.Local, s.Remote, s.LocalPort, s.RemotePort); x.exact.remove(k, e) {
			x.unsettledExact = append(x.unsettledExact, k)
		}
		if k := newPeerKey(s.Proto, s.Local, s.Remote, s.RemotePort); !s.Owner.IsZero() && x.peers.remove(k, e) {
			x.unsettledPeers = append(x.unsettledPeers, k)
		}
		return
	}
	if k := newBindKey(s.Proto, s.Local, s.LocalPort); (s.Proto == flows.ProtoUDP || s.State == StateListen) && x.bound.remove(k, e) {
		x.unsettledBound = append(x.unsettledBound, k)
	}
}

// settle gives the keys removals left without their best their next.
func (x *sockIndex) settle() {
	for _, k := range x.unsettledExact {
		x.exact.settle(k)
	}
	for _, k := range x.unsettledBound {
		x.bound.settle(k)
	}
	for _, k := range x.unsettledInode {
		x.byInode.settle(k)
	}
	for _, k := range x.unsettledPeers {
		x.peers.settle(k)
	}
	x.unsettledExact, x.unsettledBound = x.unsettledExact[:0], x.unsettledBound[:0]
	x.unsettledInode, x.unsettledPeers = x.unsettledInode[:0], x.unsettledPeers[:0]
}

// SameForJoin reports whether a and b, two sightings of one socket in
// successive tables, are the same to the join: a source lists a socket
// among its table's Changes when they are not.
func SameForJoin(a, b *Socket) bool {
	return a.Proto == b.Proto && a.Netns == b.Netns && a.Local == b.Local && a.Remote == b.Remote &&
		a.LocalPort == b.LocalPort && a.RemotePort == b.RemotePort && a.State == b.State && a.Inode == b.Inode &&
		a.Cookie == b.Cookie && a.Owner == b.Owner && a.RecvQ == b.RecvQ && a.SendQ == b.SendQ
}
