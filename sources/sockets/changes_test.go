package sockets

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// TestRefreshChanges checks each table's Changes over random sequences of
// sockets opened, closed and changed in two namespaces: the previous
// table's sockets less Removed plus Added are the table's, and every
// socket named is new, gone or changed.
func TestRefreshChanges(t *testing.T) {
	dir := t.TempDir()
	writeProcTree(t, dir, []fakeProc{
		{pid: 100, start: 1, comm: "a", cmdline: []string{"a"}, netns: 1, inodes: []uint32{1001, 1002}},
		{pid: 200, start: 2, comm: "b", cmdline: []string{"b"}, netns: 2, inodes: []uint32{2001}},
	}, 1)
	r := rand.New(rand.NewPCG(3, 9))
	d := &fakeDumper{socks: map[uint64][]attrib.Socket{}}
	cookie := uint64(0)
	newSock := func(ns uint64) attrib.Socket {
		cookie++
		return attrib.Socket{Proto: flows.ProtoTCP, Netns: ns, Local: netip.MustParseAddr("198.18.0.1"), LocalPort: uint16(1000 + r.IntN(100)),
			Remote: netip.MustParseAddr("198.18.0.2"), RemotePort: 443, State: attrib.StateEstablished, Cookie: cookie,
			Inode: []uint32{1001, 1002, 2001, 9999}[r.IntN(4)]}
	}
	s := New(Config{ProcRoot: dir, Dumper: d})
	now := time.Unix(1_700_000_000, 0)
	var prev *attrib.SocketTable
	for step := 0; step < 200; step++ {
		for _, ns := range []uint64{1, 2} {
			socks := d.socks[ns]
			for n := r.IntN(4); n > 0 && len(socks) > 0; n-- {
				i := r.IntN(len(socks))
				socks = slices.Delete(socks, i, i+1)
			}
			for n := r.IntN(4); n > 0; n-- {
				socks = append(socks, newSock(ns))
			}
			for n := r.IntN(3); n > 0 && len(socks) > 0; n-- {
				sk := &socks[r.IntN(len(socks))]
				switch r.IntN(3) {
				case 0:
					sk.SendQ++
				case 1:
					sk.State, sk.Inode = attrib.StateTimeWait, 0
				default:
					sk.UID++ // not a joined field: no change
				}
			}
			r.Shuffle(len(socks), func(i, j int) { socks[i], socks[j] = socks[j], socks[i] })
			d.socks[ns] = socks
		}
		now = now.Add(time.Second)
		tab, err := s.Refresh(now)
		if err != nil {
			t.Fatal(err)
		}
		if prev == nil {
			if tab.Changes.Since != 0 {
				t.Fatalf("first table has changes since %d", tab.Changes.Since)
			}
			prev = tab
			continue
		}
		ch := tab.Changes
		if ch.Since != prev.Seq {
			t.Fatalf("step %d: changes since %d, want %d", step, ch.Since, prev.Seq)
		}
		type id struct{ netns, cookie uint64 }
		have := map[id]attrib.Socket{}
		for _, sk := range prev.Sockets {
			have[id{sk.Netns, sk.Cookie}] = sk
		}
		for _, sk := range ch.Removed {
			old, ok := have[id{sk.Netns, sk.Cookie}]
			if !ok || !attrib.SameForJoin(&old, &sk) {
				t.Fatalf("step %d: removed %v was not in the previous table", step, sk)
			}
			delete(have, id{sk.Netns, sk.Cookie})
		}
		for _, i := range ch.Added {
			sk := tab.Sockets[i]
			if _, dup := have[id{sk.Netns, sk.Cookie}]; dup {
				t.Fatalf("step %d: added %v is still there", step, sk)
			}
			have[id{sk.Netns, sk.Cookie}] = sk
		}
		if len(have) != len(tab.Sockets) {
			t.Fatalf("step %d: previous table with the changes has %d sockets, the table %d", step, len(have), len(tab.Sockets))
		}
		for i := range tab.Sockets {
			sk := &tab.Sockets[i]
			if got, ok := have[id{sk.Netns, sk.Cookie}]; !ok || !attrib.SameForJoin(&got, sk) {
				t.Fatalf("step %d: socket %v: previous table with the changes has %v", step, *sk, got)
			}
		}
		// Nothing named that did not change.
		cur := map[id]*attrib.Socket{}
		for i := range tab.Sockets {
			cur[id{tab.Sockets[i].Netns, tab.Sockets[i].Cookie}] = &tab.Sockets[i]
		}
		for _, sk := range ch.Removed {
			if now := cur[id{sk.Netns, sk.Cookie}]; now != nil && attrib.SameForJoin(&sk, now) {
				t.Fatalf("step %d: %v named as changed, unchanged", step, sk)
			}
		}
		prev = tab
	}
	// A dumper without cookies: no changes, the join indexes tables whole.
	d.socks = map[uint64][]attrib.Socket{1: {{Proto: flows.ProtoTCP, Netns: 1, LocalPort: 1, State: attrib.StateListen}}}
	for i := 0; i < 2; i++ {
		tab, err := s.Refresh(now.Add(time.Duration(i+1) * time.Second))
		if err != nil || tab.Changes.Since != 0 || tab.Changes.Added != nil {
			t.Fatal(fmt.Sprint("without cookies: ", err, tab.Changes))
		}
	}
}
