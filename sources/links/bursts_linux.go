package links

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"netriage/sources/clock"
	"netriage/sources/privs"
	"netriage/triage"
)

// BurstOptions configure a burst sampler.
type BurstOptions struct {
	// Interfaces are the interfaces to sample (names the Reader's newest
	// Read knows).
	Interfaces []string
	// Interval is the nominal time between reads (check.burst_interval).
	Interval time.Duration
	// Ring is the number of intervals kept per interface between two
	// Takes; more are folded into the last one.
	Ring int
	// Clock reads the time of each read (nil: the real clock).
	Clock clock.Clock
}

// BurstSampler reads the watched interfaces' byte counters and their root
// qdisc's drops and backlog every Interval on a goroutine of its own, and
// hands the engine what it saw since the previous step (Take). The byte
// counters come from sysfs statistics files opened once and read again
// from offset 0 (the cheapest exact read, in the caller's own namespace)
// or, in another namespace, from RTM_GETSTATS with only
// IFLA_STATS_LINK_64; the root qdisc from RTM_GETQDISC of that one
// qdisc. Both are allocation-free after the start.
type BurstSampler struct {
	mu  sync.Mutex
	acc *triage.BurstAccumulator

	targets  []burstTarget
	conn     *rtnlConn
	clk      clock.Clock
	interval time.Duration
	buf      []byte
	cancel   context.CancelFunc
	done     chan struct{}
}

// burstTarget is one sampled interface.
type burstTarget struct {
	name    string
	index   int
	rx, tx  int // sysfs statistics files, -1 when netlink is used
	noQdisc bool
}

// StartBursts opens a burst sampler over the Reader's namespace and
// starts its goroutine, which runs until ctx ends or Stop is called. Stop
// it (which waits for the goroutine and closes its files) before the
// Reader is closed.
func (r *Reader) StartBursts(ctx context.Context, o BurstOptions) (s *BurstSampler, err error) {
	privs.WithProcAccess(func() { s, err = r.openBursts(o) })
	if err != nil {
		return nil, err
	}
	ctx, s.cancel = context.WithCancel(ctx)
	// The ticker starts now, not when the goroutine first runs: the
	// intervals are counted from the start.
	t := s.clk.NewTicker(s.interval)
	go s.run(ctx, t)
	return s, nil
}

func (r *Reader) openBursts(o BurstOptions) (*BurstSampler, error) {
	if o.Interval <= 0 {
		return nil, errors.New("bursts: interval must be positive")
	}
	if r.h == nil {
		return nil, errors.New("bursts: reader closed")
	}
	s := &BurstSampler{clk: o.Clock, interval: o.Interval, buf: make([]byte, 32), done: make(chan struct{})}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	var err error
	if r.ns.path == "" {
		s.conn, err = openRtnl()
	} else {
		err = r.inOwnNetns(func() { s.conn, err = openRtnl() })
	}
	if err != nil {
		return nil, fmt.Errorf("bursts: %w", err)
	}
	for _, name := range o.Interfaces {
		idx, ok := r.index[name]
		if !ok {
			s.close()
			return nil, fmt.Errorf("bursts: no interface %q", name)
		}
		t := burstTarget{name: name, index: idx, rx: -1, tx: -1}
		if r.sysfsRoot != "" {
			t.rx, t.tx = s.openSysfs(r.sysfsRoot, name, idx)
		}
		s.targets = append(s.targets, t)
	}
	s.acc = triage.NewBurstAccumulator(o.Interfaces, o.Interval, o.Ring)
	return s, nil
}

// inOwnNetns runs f inside the namespace the Reader opened, checking that
// its path still names that namespace.
func (r *Reader) inOwnNetns(f func()) error {
	ns, err := netns.GetFromPath(r.ns.path)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", r.ns.target, err)
	}
	defer ns.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(ns), &st); err != nil {
		return err
	}
	if st.Dev != r.ns.dev || st.Ino != r.ns.ino {
		return fmt.Errorf("namespace %s is not the one opened", r.ns.target)
	}
	return inNetns(ns, f)
}

// openSysfs opens name's rx_bytes and tx_bytes under root when root's
// ifindex file says it describes the same interface (sysfs shows the
// namespace it was mounted in); -1, -1 otherwise.
func (s *BurstSampler) openSysfs(root, name string, idx int) (int, int) {
	if name == "" || strings.ContainsAny(name, "/") || name == "." || name == ".." {
		return -1, -1
	}
	dir := filepath.Join(root, "class", "net", name)
	fd, err := unix.Open(filepath.Join(dir, "ifindex"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1
	}
	v, ok := s.readUint(fd)
	unix.Close(fd)
	if !ok || v != uint64(idx) {
		return -1, -1
	}
	rx, err1 := unix.Open(filepath.Join(dir, "statistics", "rx_bytes"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	tx, err2 := unix.Open(filepath.Join(dir, "statistics", "tx_bytes"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err1 != nil || err2 != nil {
		if err1 == nil {
			unix.Close(rx)
		}
		if err2 == nil {
			unix.Close(tx)
		}
		return -1, -1
	}
	return rx, tx
}

// readUint reads a decimal number from fd at offset 0.
func (s *BurstSampler) readUint(fd int) (uint64, bool) {
	n, err := unix.Pread(fd, s.buf, 0)
	if err != nil || n <= 0 {
		return 0, false
	}
	return parseDecimal(s.buf[:n])
}

// parseDecimal parses a sysfs counter ("12345\n") without allocating.
func parseDecimal(b []byte) (uint64, bool) {
	var v uint64
	digits := 0
	for _, c := range b {
		if c == '\n' || c == ' ' {
			break
		}
		if c < '0' || c > '9' || digits == 20 {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, false
		}
		v = v*10 + d
		digits++
	}
	return v, digits > 0
}

// Interval returns the nominal interval.
func (s *BurstSampler) Interval() time.Duration { return s.interval }

// Take returns what the sampler saw since the previous Take, stamped now.
func (s *BurstSampler) Take(now time.Time) triage.BurstSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acc.Take(now)
}

// Stop ends the goroutine, waits for it and closes the sampler's files
// and socket. It may be called more than once.
func (s *BurstSampler) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.cancel = nil
	s.close()
}

func (s *BurstSampler) close() {
	s.conn.close()
	for i := range s.targets {
		t := &s.targets[i]
		for _, fd := range []*int{&t.rx, &t.tx} {
			if *fd >= 0 {
				unix.Close(*fd)
				*fd = -1
			}
		}
	}
}

func (s *BurstSampler) run(ctx context.Context, t clock.Ticker) {
	defer close(s.done)
	defer t.Stop()
	s.readAll()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			s.readAll()
		}
	}
}

// readAll reads every interface once.
func (s *BurstSampler) readAll() {
	for i := range s.targets {
		c, at, err := s.read(&s.targets[i])
		s.mu.Lock()
		if err != nil {
			s.acc.Fail(i, err.Error())
		} else {
			s.acc.Add(i, at, c)
		}
		s.mu.Unlock()
	}
}

// read reads one interface: its byte counters (stamped with the time
// right after them) and its root qdisc.
func (s *BurstSampler) read(t *burstTarget) (triage.BurstCounters, time.Time, error) {
	var c triage.BurstCounters
	var at time.Time
	if t.rx >= 0 {
		rx, ok1 := s.readUint(t.rx)
		tx, ok2 := s.readUint(t.tx)
		at = s.clk.Now()
		if !ok1 || !ok2 {
			return c, at, fmt.Errorf("%s: statistics unreadable (interface removed?)", t.name)
		}
		c.RxBytes, c.TxBytes = rx, tx
	} else {
		lb, err := s.conn.linkBytes(t.index)
		at = s.clk.Now()
		if err != nil {
			if errors.Is(err, unix.ENODEV) {
				return c, at, fmt.Errorf("%s: interface removed", t.name)
			}
			return c, at, fmt.Errorf("%s: link statistics: %w", t.name, err)
		}
		c.RxBytes, c.TxBytes = lb.rx, lb.tx
	}
	if t.noQdisc {
		return c, at, nil
	}
	q, err := s.conn.rootQdisc(t.index)
	switch {
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
		// noqueue and the built-in qdiscs are not reported: there is no
		// queue to read. Asked once; a qdisc added later shows in the
		// links sample.
		t.noQdisc = true
	case err != nil:
		return c, at, fmt.Errorf("%s: root qdisc: %w", t.name, err)
	case q.kind == "noqueue":
		t.noQdisc = true
	case q.hasQueue:
		c.QdiscOK = true
		c.Drops, c.BacklogBytes, c.BacklogPackets = q.drops, q.backlog, q.qlen
	}
	return c, at, nil
}
