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
	"netriage/sources/rawio"
	"netriage/triage"
)

// BurstOptions configure a burst sampler.
type BurstOptions struct {
	// Interfaces are the interfaces to sample (names the Reader's newest
	// Read knows).
	Interfaces []string
	// Interval is the burst interval (check.burst_interval): the sampler
	// reads triage.BurstReadsPerInterval times per interval and judges
	// windows of about one interval.
	Interval time.Duration
	// Ring is the number of intervals between reads kept per interface
	// between two Takes; more are folded into the last one.
	Ring int
	// Clock paces the reads and stamps them (nil: the real clock, whose
	// pacer is a kernel timer).
	Clock clock.Clock
}

// BurstSampler reads the watched interfaces' byte counters every half
// burst interval, and their root qdisc's drops and backlog once per burst
// interval while they send (once a second when idle: qdiscDue), on a
// goroutine of its own paced by the clock's Pacer (a kernel timer), and
// hands the engine what it saw since the previous step (Take).
//
// The byte counters come from the sysfs statistics files, opened once and
// read again at offset 0 by pread (sysfs describes the caller's own
// namespace; the ifindex file is checked), which never blocks and so is
// made without the runtime's syscall path: a read of counters alone wakes
// no other thread. Where sysfs does not describe the interface (a Reader
// of another namespace) they come from RTM_GETSTATS with only
// IFLA_STATS_LINK_64. Those requests and the RTM_GETQDISC of the root
// qdiscs go in one write on a raw rtnetlink socket of the Reader's
// namespace (it may wait for the kernel's rtnl lock, so it is an ordinary
// syscall), answered by one recvmmsg. The read is stamped right after its
// last counter. Allocation-free after the start.
type BurstSampler struct {
	mu  sync.Mutex
	acc *triage.BurstAccumulator

	targets  []burstTarget
	conn     *rtnlConn
	batch    *rtnlBatch
	clk      clock.Clock
	interval time.Duration
	cancel   context.CancelFunc
	done     chan struct{}
	// Per read: the targets' counters and errors, filled before the
	// accumulator's lock is taken.
	got  []triage.BurstCounters
	errs []error
	// lastAt is the time of the last read; buf is the sysfs read buffer.
	lastAt time.Time
	buf    []byte
}

// burstQdiscIdleEvery is how often the root qdisc of an interface that
// sent nothing since its last qdisc read, with an empty queue, is read: a
// queue that fills without sending (a stalled link) shows within this.
const burstQdiscIdleEvery = time.Second

// burstTarget is one sampled interface.
type burstTarget struct {
	name  string
	index int
	// rx and tx are the sysfs statistics files, -1 when netlink is used.
	rx, tx  int
	noQdisc bool
	// qdisc holds the last qdisc read's values, carried to the reads
	// between two qdisc reads; qdiscAt is its time and qdiscTx the tx
	// byte counter then; lastTx is the tx byte counter of the last read.
	qdisc           triage.BurstCounters
	qdiscAt         time.Time
	qdiscTx, lastTx uint64
	// qdiscAns and statsAns are the target's answers in the batch of the
	// read (-1: not asked).
	qdiscAns, statsAns int
}

// StartBursts opens a burst sampler over the Reader's namespace and
// starts its goroutine, which runs until ctx ends or Stop is called. Stop
// it (which waits for the goroutine and closes its socket) before the
// Reader is closed.
func (r *Reader) StartBursts(ctx context.Context, o BurstOptions) (s *BurstSampler, err error) {
	privs.WithProcAccess(func() { s, err = r.openBursts(o) })
	if err != nil {
		return nil, err
	}
	ctx, s.cancel = context.WithCancel(ctx)
	// The pacer starts now, not when the goroutine first runs: the reads
	// are counted from the start.
	p := s.clk.NewPacer(ctx, triage.BurstStep(s.interval))
	go s.run(p)
	return s, nil
}

func (r *Reader) openBursts(o BurstOptions) (*BurstSampler, error) {
	if triage.BurstStep(o.Interval) <= 0 {
		return nil, errors.New("bursts: interval must be positive")
	}
	if r.h == nil {
		return nil, errors.New("bursts: reader closed")
	}
	s := &BurstSampler{clk: o.Clock, interval: o.Interval, done: make(chan struct{}), buf: make([]byte, 32)}
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
	s.batch = newRtnlBatch(len(s.targets), len(s.targets))
	s.got = make([]triage.BurstCounters, len(s.targets))
	s.errs = make([]error, len(s.targets))
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

// readUint reads a decimal number from fd at offset 0. A sysfs statistics
// read does not block (the kernel sums the driver's counters under RCU),
// so it is a raw system call (rawio.Pread): the runtime's syscall path would
// wake its monitor thread at every read.
func (s *BurstSampler) readUint(fd int) (uint64, bool) {
	n, err := rawio.Pread(fd, s.buf, 0)
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

// Interval returns the burst interval.
func (s *BurstSampler) Interval() time.Duration { return s.interval }

// Take returns what the sampler saw since the previous Take, stamped now.
func (s *BurstSampler) Take(now time.Time) triage.BurstSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acc.Take(now)
}

// Stop ends the goroutine, waits for it and closes the sampler's socket.
// It may be called more than once.
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

func (s *BurstSampler) run(p clock.Pacer) {
	defer close(s.done)
	defer p.Stop()
	s.readAll()
	for p.Wait() {
		s.readAll()
	}
}

// readAll reads every interface once and hands the counters to the
// accumulator.
func (s *BurstSampler) readAll() {
	at := s.read()
	s.mu.Lock()
	for i := range s.targets {
		if s.errs[i] != nil {
			s.acc.Fail(i, s.errs[i].Error())
		} else {
			s.acc.Add(i, at, s.got[i])
		}
	}
	s.mu.Unlock()
}

// read reads every target once and files the counters in s.got and
// s.errs: the root qdiscs that are due (qdiscDue) and the byte counters of
// the targets without sysfs in one netlink batch, then the sysfs counters.
// It returns the time right after the last counter was read.
func (s *BurstSampler) read() time.Time {
	b := s.batch
	b.reset()
	for i := range s.targets {
		t := &s.targets[i]
		t.qdiscAns, t.statsAns = -1, -1
		if s.qdiscDue(t) {
			t.qdiscAns = len(b.reqs)
			b.addRootQdisc(t.index)
		}
	}
	for i := range s.targets {
		if t := &s.targets[i]; t.rx < 0 {
			t.statsAns = len(b.reqs)
			b.addStats(t.index)
		}
	}
	var err error
	if len(b.reqs) > 0 {
		if err = s.conn.sendBatch(b); err == nil {
			err = s.conn.recvBatch(b)
		}
	}
	for i := range s.targets {
		s.got[i], s.errs[i] = triage.BurstCounters{}, nil
		t := &s.targets[i]
		if t.rx < 0 {
			continue
		}
		rx, ok1 := s.readUint(t.rx)
		tx, ok2 := s.readUint(t.tx)
		if !ok1 || !ok2 {
			s.errs[i] = fmt.Errorf("%s: statistics unreadable (interface removed?)", t.name)
			continue
		}
		s.got[i].RxBytes, s.got[i].TxBytes = rx, tx
	}
	at := s.clk.Now()
	for i := range s.targets {
		t := &s.targets[i]
		if s.errs[i] != nil {
			continue
		}
		if err != nil && (t.rx < 0 || t.qdiscAns >= 0) {
			s.errs[i] = fmt.Errorf("%s: link statistics: %w", t.name, err)
			continue
		}
		s.errs[i] = s.parse(t, &s.got[i])
		if s.errs[i] == nil {
			t.lastTx = s.got[i].TxBytes
			if t.qdiscAns >= 0 {
				t.qdiscAt, t.qdiscTx = at, t.lastTx
			}
		}
	}
	s.lastAt = at
	return at
}

// qdiscDue says whether t's root qdisc is read at this read: once per burst
// interval (the read at least three quarters of an interval after the last
// qdisc read) while the interface sends or its queue held packets at the
// last qdisc read, and once per burstQdiscIdleEvery when it does neither:
// with nothing sent since the last qdisc read and an empty queue then,
// drops and backlog can only have come from a stalled queue. The decision
// uses the last read's tx counter (this read's comes after the qdisc's), so
// the first interval after the interface starts to send may be read one
// read late; the drop counter is cumulative, so no drop is lost.
func (s *BurstSampler) qdiscDue(t *burstTarget) bool {
	if t.noQdisc {
		return false
	}
	if t.qdiscAt.IsZero() {
		return true
	}
	since := s.lastAt.Sub(t.qdiscAt) + triage.BurstStep(s.interval)
	switch {
	case since < s.interval-triage.BurstStep(s.interval)/2:
		return false
	case t.lastTx != t.qdiscTx || t.qdisc.BacklogPackets > 0 || t.qdisc.BacklogBytes > 0:
		return true
	}
	return since >= burstQdiscIdleEvery
}

// parse adds target t's answers of the last batch to c: its byte
// counters when netlink read them, its root qdisc's drops and backlog
// (those of the last qdisc read when this read did not ask).
func (s *BurstSampler) parse(t *burstTarget, c *triage.BurstCounters) error {
	if t.statsAns >= 0 {
		a := s.batch.Ans[t.statsAns]
		switch {
		case errors.Is(a.err, unix.ENODEV):
			return fmt.Errorf("%s: interface removed", t.name)
		case a.err != nil:
			return fmt.Errorf("%s: link statistics: %w", t.name, a.err)
		case a.typ != rtmNewStats:
			return fmt.Errorf("%s: link statistics: answer of type %d", t.name, a.typ)
		}
		lb, err := parseLinkStats64(a.payload)
		if err != nil {
			return fmt.Errorf("%s: link statistics: %w", t.name, err)
		}
		c.RxBytes, c.TxBytes = lb.rx, lb.tx
	}
	if t.qdiscAns < 0 {
		c.QdiscOK, c.Drops, c.BacklogBytes, c.BacklogPackets = t.qdisc.QdiscOK, t.qdisc.Drops, t.qdisc.BacklogBytes, t.qdisc.BacklogPackets
		return nil
	}
	a := s.batch.Ans[t.qdiscAns]
	var q tcObject
	err := a.err
	if err == nil {
		if a.typ != rtmNewQdisc {
			return fmt.Errorf("%s: root qdisc: answer of type %d", t.name, a.typ)
		}
		q, err = parseTC(a.typ, a.payload)
	}
	t.qdisc = triage.BurstCounters{}
	switch {
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
		// noqueue and the built-in qdiscs are not reported: there is no
		// queue to read. Asked once; a qdisc added later shows in the
		// links sample.
		t.noQdisc = true
	case err != nil:
		return fmt.Errorf("%s: root qdisc: %w", t.name, err)
	case q.kind == "noqueue":
		t.noQdisc = true
	case q.hasQueue:
		t.qdisc = triage.BurstCounters{QdiscOK: true, Drops: q.drops, BacklogBytes: q.backlog, BacklogPackets: q.qlen}
	}
	c.QdiscOK, c.Drops, c.BacklogBytes, c.BacklogPackets = t.qdisc.QdiscOK, t.qdisc.Drops, t.qdisc.BacklogBytes, t.qdisc.BacklogPackets
	return nil
}
