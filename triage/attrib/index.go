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

// cands are the sockets under one key: best, and the others in no order
// (nil when there are none, the usual case).
type cands struct {
	best sockEntry
	more []sockEntry
}

type index[K comparable] map[K]cands

func (ix index[K]) add(k K, e sockEntry) {
	c, ok := ix[k]
	switch {
	case !ok:
		ix[k] = cands{best: e}
		return
	case e.compare(&c.best) < 0:
		c.more = append(c.more, c.best)
		c.best = e
	default:
		c.more = append(c.more, e)
	}
	ix[k] = c
}

// remove takes one socket equal to e from under k.
func (ix index[K]) remove(k K, e sockEntry) {
	c, ok := ix[k]
	if !ok {
		return
	}
	if c.best == e {
		if len(c.more) == 0 {
			delete(ix, k)
			return
		}
		bi := 0
		for i := 1; i < len(c.more); i++ {
			if c.more[i].compare(&c.more[bi]) < 0 {
				bi = i
			}
		}
		c.best = c.more[bi]
		c.more = swapRemove(c.more, bi)
	} else {
		for i := range c.more {
			if c.more[i] == e {
				c.more = swapRemove(c.more, i)
				break
			}
		}
	}
	if len(c.more) == 0 {
		c.more = nil
	}
	ix[k] = c
}

func swapRemove(s []sockEntry, i int) []sockEntry {
	s[i] = s[len(s)-1]
	return s[:len(s)-1]
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

func (x *sockIndex) add(s *Socket, host uint64) { x.put(s, entryOf(s, host), true) }

func (x *sockIndex) remove(s *Socket, host uint64) { x.put(s, entryOf(s, host), false) }

func (x *sockIndex) put(s *Socket, e sockEntry, add bool) {
	if s.Inode != 0 {
		k := inodeKey{s.Netns, s.Inode}
		if add {
			x.byInode.add(k, e)
		} else {
			x.byInode.remove(k, e)
		}
	}
	if s.Connected() {
		k := newConnKey(s.Proto, s.Local, s.Remote, s.LocalPort, s.RemotePort)
		if add {
			x.exact.add(k, e)
		} else {
			x.exact.remove(k, e)
		}
		if !s.Owner.IsZero() {
			pk := newPeerKey(s.Proto, s.Local, s.Remote, s.RemotePort)
			if add {
				x.peers.add(pk, e)
			} else {
				x.peers.remove(pk, e)
			}
		}
		return
	}
	if s.Proto == flows.ProtoUDP || s.State == StateListen {
		k := newBindKey(s.Proto, s.Local, s.LocalPort)
		if add {
			x.bound.add(k, e)
		} else {
			x.bound.remove(k, e)
		}
	}
}

// SameForJoin reports whether a and b, two sightings of one socket in
// successive tables, are the same to the join: a source lists a socket
// among its table's Changes when they are not.
func SameForJoin(a, b *Socket) bool {
	return a.Proto == b.Proto && a.Netns == b.Netns && a.Local == b.Local && a.Remote == b.Remote &&
		a.LocalPort == b.LocalPort && a.RemotePort == b.RemotePort && a.State == b.State && a.Inode == b.Inode &&
		a.Cookie == b.Cookie && a.Owner == b.Owner && a.RecvQ == b.RecvQ && a.SendQ == b.SendQ
}
