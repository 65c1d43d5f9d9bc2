package sockets

import (
	"errors"
	"time"
)

var errUnreadable = errors.New("permission denied reading fds")

// pidInfo is what the cache knows of one PID.
type pidInfo struct {
	start      uint64
	uid        uint32
	netns      uint64
	inodes     []uint32
	unreadable bool
	gen        uint64
	// young counts the refreshes left during which the namespace is
	// re-read: a new PID may still be between fork and setns/exec (ip
	// netns exec, container runtimes).
	young int
}

// inodeCache maps socket inodes to PIDs, kept current incrementally (see
// the package documentation). Socket inodes are unique system-wide (one
// sockfs), so one map serves every namespace.
type inodeCache struct {
	fs        *procFS
	pids      map[int32]*pidInfo
	inodes    map[uint32]int32
	tried     map[uint32]uint64 // inode → generation of the UID scan that missed it
	gen       uint64
	lastFull  time.Time
	lastNS    time.Time
	fullGap   time.Duration
	pidBuf    []int32
	fullScans uint64
}

func newInodeCache(fs *procFS, fullGap time.Duration) *inodeCache {
	return &inodeCache{fs: fs, pids: map[int32]*pidInfo{}, inodes: map[uint32]int32{}, tried: map[uint32]uint64{}, fullGap: fullGap}
}

// scanPID (re)reads one PID's start time, uid, netns and socket inodes.
// It returns false when the PID is gone.
func (c *inodeCache) scanPID(pid int32, pi *pidInfo) bool {
	st, err := c.fs.readStat(pid)
	if err != nil {
		return false
	}
	if pi.start != 0 && pi.start != st.StartTicks {
		// A new process reuses the PID: forget the old one's state.
		c.dropInodes(pid, pi)
		*pi = pidInfo{}
	}
	pi.start = st.StartTicks
	if pi.netns == 0 {
		pi.uid, _ = c.fs.readUID(pid)
	}
	pi.netns, _ = c.fs.readNetns(pid)
	c.dropInodes(pid, pi)
	inodes, err := c.fs.readSocketInodes(pid, pi.inodes[:0])
	pi.unreadable = errors.Is(err, errUnreadable)
	pi.inodes = inodes
	for _, ino := range inodes {
		c.inodes[ino] = pid
	}
	return true
}

func (c *inodeCache) dropInodes(pid int32, pi *pidInfo) {
	for _, ino := range pi.inodes {
		if c.inodes[ino] == pid {
			delete(c.inodes, ino)
		}
	}
	pi.inodes = pi.inodes[:0]
}

// refreshPIDs lists PIDs, scans new ones and forgets gone ones. The
// network namespace of young PIDs is re-read at each refresh, and that of
// every PID at most once per full-scan gap (a process may call setns).
func (c *inodeCache) refreshPIDs(now time.Time) error {
	sweep := c.lastNS.IsZero() || now.Sub(c.lastNS) >= c.fullGap
	if sweep {
		c.lastNS = now
	}
	c.gen++
	pids, err := c.fs.readPIDs(c.pidBuf[:0])
	c.pidBuf = pids
	if err != nil {
		return err
	}
	for _, pid := range pids {
		pi := c.pids[pid]
		if pi == nil {
			pi = &pidInfo{young: 3}
			if !c.scanPID(pid, pi) {
				continue
			}
			c.pids[pid] = pi
		} else if pi.young > 0 || sweep {
			if pi.young > 0 {
				pi.young--
			}
			if ns, err := c.fs.readNetns(pid); err == nil && ns != pi.netns {
				// Moved to another namespace: its sockets are elsewhere now.
				pi.netns = ns
				c.scanPID(pid, pi)
			}
		}
		pi.gen = c.gen
	}
	for pid, pi := range c.pids {
		if pi.gen != c.gen {
			c.dropInodes(pid, pi)
			delete(c.pids, pid)
		}
	}
	return nil
}

// resolve makes sure the inodes in want are in the cache if they can be:
// misses trigger a rescan of the processes of the socket's UID (once per
// inode), then a full rescan if the last one is older than the full-scan
// gap. uidOf gives the socket's UID for an inode.
func (c *inodeCache) resolve(now time.Time, want []uint32, uidOf func(uint32) uint32) {
	var missUIDs map[uint32]bool
	missing := 0
	for _, ino := range want {
		if _, ok := c.inodes[ino]; ok || ino == 0 {
			continue
		}
		missing++
		if _, done := c.tried[ino]; done {
			continue
		}
		if missUIDs == nil {
			missUIDs = map[uint32]bool{}
		}
		missUIDs[uidOf(ino)] = true
		c.tried[ino] = c.gen
	}
	if missing == 0 {
		return
	}
	if len(missUIDs) > 0 {
		for pid, pi := range c.pids {
			if missUIDs[pi.uid] {
				if !c.scanPID(pid, pi) {
					c.dropInodes(pid, pi)
					delete(c.pids, pid)
				}
			}
		}
	}
	still := false
	for _, ino := range want {
		if _, ok := c.inodes[ino]; !ok && ino != 0 {
			still = true
			break
		}
	}
	if still && (c.lastFull.IsZero() || now.Sub(c.lastFull) >= c.fullGap) {
		c.lastFull = now
		c.fullScans++
		for pid, pi := range c.pids {
			if !c.scanPID(pid, pi) {
				c.dropInodes(pid, pi)
				delete(c.pids, pid)
			}
		}
	}
}

// pruneTried forgets tried marks of inodes no longer present, so the map
// stays bounded by the socket table.
func (c *inodeCache) pruneTried(present map[uint32]struct{}) {
	for ino := range c.tried {
		if _, ok := present[ino]; !ok {
			delete(c.tried, ino)
		}
	}
}

// lookup returns the PID holding inode and its info.
func (c *inodeCache) lookup(ino uint32) (int32, *pidInfo) {
	pid, ok := c.inodes[ino]
	if !ok {
		return 0, nil
	}
	return pid, c.pids[pid]
}
