package sockets

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"netriage/sources/privs"
	"netriage/triage/attrib"
	"netriage/triage/flows"
)

// Config configures a Source.
type Config struct {
	// ProcRoot is the /proc mount to read ("/proc" when empty).
	ProcRoot string
	// FullScanInterval rate-limits full /proc/*/fd rescans (default 5 s).
	FullScanInterval time.Duration
	// Dumper reads the socket tables; nil means netlink sock_diag.
	Dumper Dumper
	// InfoInterval is the shortest time between two refreshes that ask
	// sock_diag for tcp_info (attrib.MinHealthInterval keeps one a second
	// when the engine refreshes four times a second). The refreshes in
	// between keep each established socket's newest tcp_info and mark the
	// table InfoStale. 0 asks at every refresh: socket-counter mode, whose
	// byte counters come from tcp_info.
	InfoInterval time.Duration
	// MaxInfo caps the sockets one refresh asks tcp_info of once WantInfo
	// named them (default attrib.MaxInfoSockets).
	MaxInfo int
}

// Source produces socket tables with owners and process metadata. Refresh
// and Run must not be called concurrently.
type Source struct {
	cfg    Config
	fs     *procFS
	cache  *inodeCache
	meta   *metaCache
	dumper Dumper
	seq    uint64
	owners map[attrib.ProcKey]*attrib.Process
	host   uint64
	intr   uint64
	// lastInfo is when tcp_info was last asked for; infos holds each
	// established socket's tcp_info from then, by namespace and cookie.
	lastInfo time.Time
	infos    map[infoKey]*attrib.TCPInfo
	// want holds, per namespace, the sockets WantInfo named last (nil
	// until it is first called); wantNew says a refresh has not used them
	// yet.
	want    map[uint64]*CookieSet
	wantNew bool
	// prev is the table published last; ids maps each of its sockets
	// (namespace and cookie) to its index there, for the next table's
	// Changes. gen marks the sockets of the table being diffed.
	prev *attrib.SocketTable
	ids  map[infoKey]*sockSeen
	gen  uint64
	// procs is the Processes map of prev, published again while no owner
	// came or went (ownersSet false).
	procs     map[attrib.ProcKey]*attrib.Process
	ownersSet bool
	// Scratch of refresh, kept between calls.
	wantInos []uint32
	uidOf    map[uint32]uint32
	present  map[uint32]struct{}
}

type infoKey struct{ netns, cookie uint64 }

// sockSeen is where a socket was in the previous table.
type sockSeen struct {
	pos int32
	gen uint64
}

// New returns a Source. Close it when done.
func New(cfg Config) *Source {
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.FullScanInterval <= 0 {
		cfg.FullScanInterval = 5 * time.Second
	}
	if cfg.MaxInfo <= 0 {
		cfg.MaxInfo = attrib.MaxInfoSockets
	}
	if cfg.Dumper == nil {
		cfg.Dumper = NewNetlinkDumper()
	}
	fs := newProcFS(cfg.ProcRoot)
	s := &Source{cfg: cfg, fs: fs, cache: newInodeCache(fs, cfg.FullScanInterval), meta: newMetaCache(fs), dumper: cfg.Dumper, owners: map[attrib.ProcKey]*attrib.Process{},
		ids: map[infoKey]*sockSeen{}, uidOf: map[uint32]uint32{}, present: map[uint32]struct{}{}}
	s.host, _ = fs.readNsPath(cfg.ProcRoot + "/self/ns/net")
	return s
}

// WantInfo names the established TCP sockets whose tcp_info the next
// refresh reads, at most Config.MaxInfo of them, the first first. From
// the first call on, a refresh asks tcp_info only of the sockets named,
// one exact request each after a dump without it, and only the refresh
// right after a call, at least InfoInterval after the previous one that
// did (so the samples follow the caller's steps); its table has
// InfoSelected set. Without InfoInterval (socket-counter mode, whose byte
// counters are every socket's tcp_info) it changes nothing. refs is not
// retained.
func (s *Source) WantInfo(refs []attrib.SocketRef) {
	if s.cfg.InfoInterval <= 0 {
		return
	}
	if s.want == nil {
		s.want = map[uint64]*CookieSet{}
	}
	for _, c := range s.want {
		c.reset()
	}
	for _, r := range refs[:min(len(refs), s.cfg.MaxInfo)] {
		c := s.want[r.Netns]
		if c == nil {
			c = &CookieSet{}
			s.want[r.Netns] = c
		}
		c.Add(r.Cookie)
	}
	for ns, c := range s.want {
		if c.Len() == 0 {
			delete(s.want, ns)
		}
	}
	s.wantNew = true
}

// Name returns "sockets".
func (s *Source) Name() string { return "sockets" }

// Close releases the namespace handles.
func (s *Source) Close() { s.dumper.Close() }

// Refresh takes one socket table at time now: namespaces from the PIDs'
// /proc/PID/ns/net, one dump per namespace, owners from the inode cache,
// metadata for new owners. Errors of one namespace are recorded in the
// table; only a failure to list /proc is returned.
func (s *Source) Refresh(now time.Time) (tab *attrib.SocketTable, err error) {
	// Other users' /proc/PID/fd and /proc/PID/ns/net need the read
	// capabilities, which are in effect only for this call's thread.
	privs.WithProcAccess(func() { tab, err = s.refresh(now) })
	return tab, err
}

// keepInfo remembers the tcp_info of a refresh that asked for it, and
// gives the others each established socket's newest one (nil for a socket
// new since).
func (s *Source) keepInfo(tab *attrib.SocketTable, info bool) {
	if s.cfg.InfoInterval <= 0 {
		return
	}
	if info {
		s.lastInfo = tab.Time
		if s.infos == nil {
			s.infos = make(map[infoKey]*attrib.TCPInfo, len(tab.Sockets))
		}
		clear(s.infos)
		for i := range tab.Sockets {
			if sk := &tab.Sockets[i]; sk.TCP != nil {
				s.infos[infoKey{sk.Netns, sk.Cookie}] = sk.TCP
			}
		}
		return
	}
	for i := range tab.Sockets {
		if sk := &tab.Sockets[i]; sk.State == attrib.StateEstablished && sk.Proto == flows.ProtoTCP {
			sk.TCP = s.infos[infoKey{sk.Netns, sk.Cookie}]
		}
	}
}

func (s *Source) refresh(now time.Time) (*attrib.SocketTable, error) {
	if err := s.cache.refreshPIDs(now); err != nil {
		return nil, fmt.Errorf("sockets refresh: %w", err)
	}
	s.seq++
	tab := &attrib.SocketTable{Time: now, Seq: s.seq, HostNetns: s.host, LocalAddrs: map[netip.Addr]uint64{}}
	info := s.cfg.InfoInterval <= 0 || s.lastInfo.IsZero() || now.Sub(s.lastInfo) >= s.cfg.InfoInterval
	selected := false
	if s.want != nil {
		// Only the refresh right after WantInfo, the caller's step: a
		// sample at a refresh between steps would leave every later one
		// there, a step's names old by then.
		info = info && s.wantNew
		selected, s.wantNew = info, false
	}
	tab.InfoStale, tab.InfoSelected = !info, selected

	// Namespaces that have processes, each with a representative PID.
	type nsRep struct {
		pid  int32
		pids int
	}
	nss := map[uint64]*nsRep{}
	unreadable := 0
	for pid, pi := range s.cache.pids {
		if pi.unreadable {
			unreadable++
		}
		if pi.netns == 0 {
			continue
		}
		r := nss[pi.netns]
		if r == nil {
			r = &nsRep{pid: pid}
			nss[pi.netns] = r
		}
		r.pids++
		if pid < r.pid {
			r.pid = pid
		}
	}
	inos := make([]uint64, 0, len(nss))
	for ino := range nss {
		inos = append(inos, ino)
	}
	sort.Slice(inos, func(i, j int) bool { return inos[i] < inos[j] })
	keep := make(map[uint64]bool, len(nss))
	for _, ino := range inos {
		r := nss[ino]
		keep[ino] = true
		q := InfoQuery{All: info && !selected}
		if info && selected {
			q.Want = s.want[ino]
		}
		socks, addrs, intr, err := s.dumper.Dump(ino, s.cfg.ProcRoot+"/"+strconv.Itoa(int(r.pid))+"/ns/net", q)
		ns := attrib.Namespace{Inode: ino, PIDs: r.pids, Sockets: len(socks)}
		s.intr += uint64(intr)
		if err != nil {
			// The namespace may have been deleted with its last process.
			ns.Err = err.Error()
			tab.Health.Errors = append(tab.Health.Errors, err.Error())
		}
		tab.Namespaces = append(tab.Namespaces, ns)
		if tab.Sockets == nil {
			// The dump's slice is the caller's: no copy for the first.
			tab.Sockets = socks
		} else {
			tab.Sockets = append(tab.Sockets, socks...)
		}
		for _, a := range addrs {
			if _, dup := tab.LocalAddrs[a]; !dup {
				tab.LocalAddrs[a] = ino
			}
		}
	}
	s.dumper.Forget(keep)
	s.keepInfo(tab, info)

	// Resolve owners.
	want := s.wantInos[:0]
	for i := range tab.Sockets {
		if ino := tab.Sockets[i].Inode; ino != 0 {
			want = append(want, ino)
		}
	}
	// The maps of inodes' UIDs and of the inodes present are needed on a
	// miss only: built then, not at every refresh.
	uidOf := s.uidOf
	clear(uidOf)
	s.cache.resolve(now, want, func(ino uint32) uint32 {
		if len(uidOf) == 0 {
			for i := range tab.Sockets {
				if sk := &tab.Sockets[i]; sk.Inode != 0 {
					uidOf[sk.Inode] = sk.UID
				}
			}
		}
		return uidOf[ino]
	})
	if len(s.cache.tried) > 0 {
		present := s.present
		clear(present)
		for _, ino := range want {
			present[ino] = struct{}{}
		}
		s.cache.pruneTried(present)
	}
	s.wantInos = want
	unresolved := 0
	for i := range tab.Sockets {
		sk := &tab.Sockets[i]
		if sk.Inode == 0 {
			continue
		}
		pid, pi := s.cache.lookup(sk.Inode)
		if pi == nil {
			unresolved++
			continue
		}
		k := attrib.ProcKey{PID: pid, StartTicks: pi.start}
		sk.Owner = k
		if _, ok := s.owners[k]; !ok {
			s.owners[k] = s.meta.get(k, pi)
			s.ownersSet = true
		}
	}
	live := func(k attrib.ProcKey) bool {
		pi := s.cache.pids[k.PID]
		return pi != nil && pi.start == k.StartTicks
	}
	for k := range s.owners {
		if !live(k) {
			delete(s.owners, k)
			s.ownersSet = true
		}
	}
	s.meta.prune(live)
	if s.ownersSet || s.procs == nil {
		// A published table is never written again: a new map when an
		// owner came or went, else the previous table's.
		s.procs = make(map[attrib.ProcKey]*attrib.Process, len(s.owners))
		for k, p := range s.owners {
			s.procs[k] = p
		}
		s.ownersSet = false
	}
	tab.Processes = s.procs
	s.changes(tab)
	tab.Health.DumpsInterrupted = s.intr
	tab.Health.UnresolvedInodes = unresolved
	tab.Health.UnreadablePIDs = unreadable
	tab.Health.FullScans = s.cache.fullScans
	return tab, nil
}

// changes fills tab.Changes against the previous table (a socket is the
// same from table to table while its namespace and cookie are) and makes
// tab the previous one. Without a previous table, or when a socket has no
// cookie or two share one (a dumper that does not give cookies), it gives
// none: the join then indexes the whole table.
func (s *Source) changes(tab *attrib.SocketTable) {
	prev := s.prev
	s.prev = tab
	s.gen++
	var ch attrib.SocketChanges
	for i := range tab.Sockets {
		sk := &tab.Sockets[i]
		id := infoKey{sk.Netns, sk.Cookie}
		r := s.ids[id]
		switch {
		case sk.Cookie == 0 || r != nil && r.gen == s.gen:
			clear(s.ids)
			s.prev = nil
			return
		case r == nil:
			r = &sockSeen{}
			s.ids[id] = r
			ch.Added = append(ch.Added, int32(i))
		case prev == nil:
			ch.Added = append(ch.Added, int32(i))
		case !attrib.SameForJoin(&prev.Sockets[r.pos], sk):
			ch.Removed = append(ch.Removed, prev.Sockets[r.pos])
			ch.Added = append(ch.Added, int32(i))
		}
		r.pos, r.gen = int32(i), s.gen
	}
	for id, r := range s.ids {
		if r.gen != s.gen {
			if prev != nil {
				ch.Removed = append(ch.Removed, prev.Sockets[r.pos])
			}
			delete(s.ids, id)
		}
	}
	if prev != nil {
		ch.Since = prev.Seq
		tab.Changes = ch
	}
}
