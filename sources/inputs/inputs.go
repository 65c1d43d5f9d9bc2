// Package inputs is the one place that turns a subcommand's options into
// the engine's real inputs: netlink counters (with the namespace's stack
// counters: softirq backlog, SNMP, conntrack, NIC statistics, BQL), a live capture or a capture
// file, the socket table, reverse DNS and the clock. Subcommands say what
// they want in Options; Open validates it against the host (interfaces,
// capabilities, the file) and returns the opened Set, which the engine
// steps. Errors the user's input caused wrap configs.ErrUsage.
package inputs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"netriage/configs"
	"netriage/sources/capture"
	"netriage/sources/clock"
	"netriage/sources/dns"
	"netriage/sources/links"
	"netriage/sources/selfcost"
	"netriage/sources/sockets"
	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/triage/names"
	"netriage/triage/verdict"
	"netriage/views/format"
)

// Options say which inputs a subcommand wants.
type Options struct {
	Config configs.Config
	// Interval is the step period (Config.Interval when 0); for a file it
	// is the capture time between records, 0 for the final record only.
	Interval time.Duration
	// Links asks for interface counters of Netns; Interfaces are the
	// named ones (-i), validated against them; AnyReason, when set,
	// refuses -i any with that reason. RequireUp refuses to run when no
	// interface is up and none is named.
	Links      bool
	Netns      string
	Interfaces []string
	AnyReason  string
	RequireUp  bool
	// LinkSpeedFlags are the --link-speed values: a name they give must
	// exist (the config file's names may be missing, with a warning).
	LinkSpeedFlags []string
	// Capture asks for packets: live on the interfaces, or Replay's file.
	// CaptureOptional records a capture that cannot start as an absent
	// input instead of failing.
	Capture         bool
	CaptureOptional bool
	Replay          string
	Realtime        bool
	Filter          string
	LocalNet        string
	Promisc         bool
	Aggregation     flows.Aggregation
	// Sockets asks for process attribution; Names for reverse DNS.
	Sockets bool
	Names   bool
	// Egress runs the engine's egress stage with the classes of
	// Config.Egress (EgressTable), its rows named by the capture's passive
	// names and, with Names, reverse DNS.
	Egress bool
	// OnProgress follows a file's reading: the bytes read of size, the
	// packets, and the time since Open by Clock.
	OnProgress func(read, size int64, packets uint64, elapsed time.Duration)
	// From and To bound a file's packets to capture times [From, To)
	// (zero: unbounded); OnSecond receives its cumulative totals at the
	// end of each second with packets (see capture.ReplayOptions).
	From, To time.Time
	OnSecond func(sec int64, total flows.Counts)
	// Clock is the clock of live runs (tests pass a fake; nil: the real
	// one).
	Clock clock.Clock
	// FinalOnStop asks for one last step when ctx ends (a Last tick).
	FinalOnStop bool
	// Self asks for netriage's own CPU and memory at every step of a live
	// run (not a file's, whose steps are capture time). Without /proc the
	// steps carry none.
	Self bool
}

// Set is the opened inputs with the engine's configuration.
type Set struct {
	engine.Inputs
	Config engine.Config
	// Watched are the judged interfaces; First is the sample that
	// validated them.
	Watched []string
	First   *triage.LinksSample
	Live    *capture.Live
	File    *capture.FileFlows
	// Resolver is the reverse DNS (nil unless Names was asked).
	Resolver *dns.Resolver
	// Tap is the passive names of the capture (nil without capture, or
	// unless Names or Egress was asked).
	Tap *capture.NameTap
	// Clock is the wall clock (also of a file's progress lines).
	Clock clock.Clock
	// Mode is "capture", "capture file" or "socket counters (TCP only)".
	Mode    string
	closers []func()

	// bursts opens the burst sampler when the engine judges (nil without
	// links, or with a reader that has none); burstEvery is its interval
	// (0: off) and step the engine's step period.
	bursts     BurstStarter
	netns      string // --netns: the sampler would hold the namespace open
	burstEvery time.Duration
	step       time.Duration
}

// BurstStarter is a counter reader that can sample its interfaces every
// burst interval: a *links.Reader in the binary.
type BurstStarter interface {
	StartBursts(ctx context.Context, o links.BurstOptions) (*links.BurstSampler, error)
}

// Name is the resolver's lookup, nil without one.
func (s *Set) Name() func(netip.Addr) string {
	if s.Resolver == nil {
		return nil
	}
	return s.Resolver.Name
}

// LocalRule is the one local-side rule: -F NET/LEN when given; else the
// host's own addresses for a live capture and private and special-use
// ranges for a file. desc describes it for the capture's health.
func LocalRule(localNet string, file bool) (l flows.Local, desc string, err error) {
	switch {
	case localNet != "":
		return configs.ParseLocalNet(localNet)
	case file:
		return flows.SpecialUseLocal(), flows.SpecialUseDesc, nil
	}
	l, err = capture.HostLocal()
	return l, "", err
}

// SocketSubSteps is the one socket-refresh policy: four refreshes per
// step, so connections shorter than an interval are seen, unless that
// would refresh more often than every 50 ms.
func SocketSubSteps(interval time.Duration) int {
	if interval/4 < 50*time.Millisecond {
		return 1
	}
	return 4
}

// Open opens what o asks for. The caller must Close the result.
func Open(ctx context.Context, o Options) (in *Set, err error) {
	in = &Set{}
	defer func() {
		if err != nil {
			in.Close()
			in = nil
		}
	}()
	if o.Interval <= 0 && o.Replay == "" {
		o.Interval = o.Config.Interval.D()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	in.Clock = o.Clock
	in.Config = engine.Config{
		UserBps:     o.Config.Links.SpeedsBps(),
		Window:      o.Config.Check.Window.D(),
		Thresholds:  o.Config.Check.Thresholds(),
		SubSteps:    1,
		Attribution: attrib.Config{ClosedGrace: o.Config.Attribution.ClosedGrace.D()},
	}
	in.step, in.burstEvery, in.netns = o.Interval, o.Config.Check.BurstInterval.D(), o.Netns
	if o.Links {
		if err := in.openLinks(o); err != nil {
			return in, err
		}
	}
	if o.Capture {
		if err := in.openCapture(ctx, o); err != nil {
			return in, err
		}
	} else if !o.Links {
		// -i names must exist where nothing else checks them (procs in
		// socket-counter mode), so a bad name fails the same way with or
		// without capture privileges.
		if err := KnownInterfaces(o.Interfaces); err != nil {
			return in, err
		}
	}
	if o.Sockets {
		sc := sockets.Config{FullScanInterval: o.Config.Attribution.FullScanInterval.D()}
		if in.Flows != nil {
			// tcp_info once a second is enough for the TCP words; in
			// socket-counter mode its byte counters are the flows, read at
			// every refresh.
			sc.InfoInterval = attrib.MinHealthInterval
		}
		src := sockets.New(sc)
		in.closers = append(in.closers, src.Close)
		in.Sockets = src
		in.Config.SubSteps = SocketSubSteps(o.Interval)
		if in.Live == nil && in.Mode == "" {
			in.Mode = "socket counters (TCP only)"
		}
	}
	if o.Names {
		in.Resolver = dns.New(ctx, dns.Options{})
		in.closers = append(in.closers, in.Resolver.Close)
		in.Inputs.Names = in.Resolver.Name
		if in.Tap != nil {
			in.Inputs.Names = in.name
		}
	}
	if o.Egress {
		t, err := EgressTable(o.Config, o.Replay != "")
		if err != nil {
			return in, err
		}
		in.Config.Egress = t
		in.Destinations = in.destinations
	}
	if in.File != nil {
		in.Timeline = in.File
	} else {
		tl := clock.NewTimeline(o.Clock, o.Interval/time.Duration(in.Config.SubSteps))
		tl.FinalOnStop = o.FinalOnStop
		if in.Live != nil {
			// The first step's flow counts must trail the wire as much as
			// every later one's, or a window from it misses what the
			// capture still held at its end.
			tl.Delay = 2 * in.Live.Lag()
		}
		in.closers = append(in.closers, tl.Stop)
		in.Timeline = tl
		if o.Self {
			if r, err := selfcost.Open(); err == nil {
				in.Self = r
				in.closers = append(in.closers, func() { r.Close() })
			}
		}
	}
	return in, nil
}

func (in *Set) openLinks(o Options) error {
	lr, err := OpenLinks(links.Options{Netns: o.Netns})
	if err != nil {
		if errors.Is(err, links.ErrNetnsNotFound) {
			return configs.Usagef("%v", err)
		}
		return fmt.Errorf("open interface counters: %w", err)
	}
	in.closers = append(in.closers, func() { lr.Close() })
	first, err := lr.Read()
	if err != nil {
		return fmt.Errorf("read interface counters: %w", err)
	}
	in.First = &first
	if in.Watched, err = triage.WatchedInterfaces(&first, o.Interfaces, o.AnyReason, o.RequireUp); err != nil {
		return WatchError(err)
	}
	warnings, err := CheckLinkSpeeds(o.Config, o.LinkSpeedFlags, &first)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		in.Absent = append(in.Absent, engine.Health{Input: "config", State: engine.StateDegraded, Why: w})
	}
	in.Links = lr
	if bs, ok := lr.(BurstStarter); ok {
		in.bursts = bs
	}
	if sr, ok := lr.(engine.StackReader); ok {
		// The stack counters of the same namespace come with its links:
		// softirq backlog, protocol and conntrack counters, the watched
		// interfaces' driver statistics and BQL.
		in.Stack = sr
	}
	if !o.Capture {
		// Nothing else starts: the first step can take this sample
		// instead of reading again. With a capture it would be older
		// than the capture's first counts, and the window's counters
		// would cover more than its flows.
		in.FirstLinks = &first
	}
	in.Config.Watched = in.Watched
	return nil
}

func (in *Set) openCapture(ctx context.Context, o Options) error {
	local, desc, err := LocalRule(o.LocalNet, o.Replay != "")
	if err != nil {
		return err
	}
	table := flows.TableConfig{MaxFlows: o.Config.Capture.MaxFlows, Local: local}
	if o.Config.Capture.PassiveNamesOn(o.Names, o.Egress) {
		// The names the applications asked for: DNS answers and TLS
		// server names seen in the capture.
		in.Tap = capture.NewNameTap(names.NewCache(NamesCacheSize))
	}
	if o.Replay != "" {
		return in.openFile(o, table, desc)
	}
	ifaces := o.Interfaces
	if o.Links {
		ifaces = in.Watched
	}
	why := ""
	if ok, fix := CaptureAvailable(); !ok {
		why = "no capture (CAP_NET_RAW missing): " + fix
	} else if o.Netns != "" {
		why = "no packet capture inside another namespace (--netns): run under 'ip netns exec NAME' or nsenter for flows"
	}
	if why == "" {
		// The interfaces are known only now for a capture of every
		// interface that is up: the rings' memory is checked for them.
		if err := o.Config.Capture.ValidateRingMemory(len(ifaces)); err != nil {
			return configs.Usagef("%v", err)
		}
		table.IdleTimeout = o.Config.Capture.IdleTimeout.D()
		l, err := capture.StartLive(ctx, capture.LiveOptions{
			Interfaces: ifaces, Filter: o.Filter, Promisc: o.Promisc,
			Table: table, Aggregation: o.Aggregation, LocalNet: desc,
			RingMiB: o.Config.Capture.RingMiB, Fanout: o.Config.Capture.Fanout, Names: in.Tap,
		})
		if err == nil {
			in.closers = append(in.closers, func() { l.Close() })
			in.Live, in.Flows, in.Mode = l, l, "capture"
			in.Config.CaptureInterfaces = ifaces
			return nil
		}
		var fe *capture.FilterError
		if errors.As(err, &fe) || errors.Is(err, capture.ErrNoInterface) {
			return configs.Usagef("%w", err)
		}
		if !o.CaptureOptional {
			return err
		}
		why = "packet capture failed: " + err.Error()
	}
	if !o.CaptureOptional {
		return errors.New(why)
	}
	in.Absent = append(in.Absent, engine.Health{Input: "capture", State: engine.StateAbsent, Why: why})
	if o.Filter != "" || o.LocalNet != "" || o.Promisc {
		in.Absent = append(in.Absent, engine.Health{Input: "flags", State: engine.StateDegraded,
			Why: "-f, -F and -p apply to packet capture: ignored in socket-counter mode"})
	}
	return nil
}

func (in *Set) openFile(o Options, table flows.TableConfig, desc string) error {
	f, err := capture.OpenFile(o.Replay)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) || errors.Is(err, capture.ErrUnsupportedLinkType) {
			return configs.Usagef("%v", err)
		}
		return err
	}
	in.closers = append(in.closers, func() { f.Close() })
	var progress func(read, size int64, packets uint64)
	if o.OnProgress != nil {
		start := o.Clock.Now()
		progress = func(read, size int64, packets uint64) { o.OnProgress(read, size, packets, o.Clock.Now().Sub(start)) }
	}
	ff, err := capture.NewFileFlows(f, capture.ReplayOptions{Table: table, Aggregation: o.Aggregation, Interval: o.Interval,
		Filter: o.Filter, LocalNet: desc, Realtime: o.Realtime, Clock: o.Clock, OnProgress: progress,
		From: o.From, To: o.To, OnSecond: o.OnSecond, Names: in.Tap})
	if err != nil {
		var fe *capture.FilterError
		if errors.As(err, &fe) {
			return configs.Usagef("%v", err)
		}
		return err
	}
	in.File, in.Flows, in.Mode = ff, ff, "capture file"
	in.Config.File = o.Replay
	in.Config.CaptureInterfaces = []string{o.Replay}
	return nil
}

// Close releases every input, newest first.
func (in *Set) Close() {
	for i := len(in.closers) - 1; i >= 0; i-- {
		in.closers[i]()
	}
	in.closers = nil
}

// Run steps an engine over the inputs until emit returns false, ctx ends
// or the inputs do. When the engine judges (check, top, serve: Config.Judge)
// over interface counters, the burst sampler runs beside it on a goroutine
// of its own for the length of Run (check.burst_interval; a sampler that
// cannot start is recorded in Health), and is stopped and waited for
// before Run returns.
func (in *Set) Run(ctx context.Context, emit func(*engine.Snapshot) bool) {
	inputs := in.Inputs
	bs, absent := in.startBursts(ctx)
	if bs != nil {
		defer bs.Stop()
		inputs.Bursts = bs
	}
	if absent != nil {
		inputs.Absent = append(append([]engine.Health(nil), inputs.Absent...), *absent)
	}
	engine.New(inputs, in.Config).Run(ctx, emit)
}

// startBursts starts the burst sampler over the watched interfaces; it
// returns nil when none is wanted, and why when one could not start.
func (in *Set) startBursts(ctx context.Context) (*links.BurstSampler, *engine.Health) {
	if in.bursts == nil || !in.Config.Judge || in.burstEvery <= 0 || len(in.Watched) == 0 {
		return nil, nil
	}
	if in.netns != "" {
		// Its sockets inside the namespace would keep a deleted namespace
		// alive for as long as the run lasts.
		return nil, &engine.Health{Input: "bursts", State: engine.StateAbsent,
			Why: "no burst sampler inside another namespace (--netns): run under 'ip netns exec NAME' for sub-second peaks"}
	}
	if in.step > 0 && in.burstEvery >= in.step {
		return nil, &engine.Health{Input: "bursts", State: engine.StateAbsent,
			Why: fmt.Sprintf("no burst sampler: check.burst_interval %s is not shorter than the interval %s", in.burstEvery, in.step)}
	}
	bs, err := in.bursts.StartBursts(ctx, links.BurstOptions{Interfaces: in.Watched, Interval: in.burstEvery, Ring: BurstRing(in.step, in.burstEvery)})
	if err != nil {
		return nil, &engine.Health{Input: "bursts", State: engine.StateAbsent, Why: "no burst sampler: " + err.Error()}
	}
	return bs, nil
}

// BurstRing is the number of intervals the burst sampler keeps per
// interface between two steps (it reads every triage.BurstStep of every):
// twice a step's worth of reads, and some, so a late step loses no
// resolution (at most 4096).
func BurstRing(step, every time.Duration) int {
	read := triage.BurstStep(every)
	if read <= 0 {
		return 2
	}
	n := 2*int(step/read) + 8
	return min(n, 4096)
}

// WatchError makes a *triage.WatchError a usage error, its names cleaned
// for the terminal.
func WatchError(err error) error {
	var we *triage.WatchError
	if errors.As(err, &we) {
		return configs.Usagef("%s", we.Message(format.Sanitize))
	}
	return err
}

// LinksReader is an opened interface-counter reader: a *links.Reader in
// the binary, which is also the engine's StackReader (a fake that is not
// gives no stack counters).
type LinksReader interface {
	Read() (triage.LinksSample, error)
	Close() error
}

// OpenLinks opens the counter reader; tests replace it with a fake.
var OpenLinks = func(o links.Options) (LinksReader, error) {
	r, err := links.Open(o)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// BusiestWindow reads the capture file of o once for its per-second
// totals and returns the window of length w that a verdict must judge:
// the busiest w seconds (see verdict.BusiestWindow), or ok false when the
// file is not longer than w and the whole file is the window.
func BusiestWindow(ctx context.Context, o Options, w time.Duration) (from, to time.Time, ok bool, err error) {
	var secs []int64
	var cum []flows.Counts
	o.Interval, o.Names, o.OnProgress = 0, false, nil
	o.OnSecond = func(sec int64, total flows.Counts) {
		secs, cum = append(secs, sec), append(cum, total)
	}
	in, err := Open(ctx, o)
	if err != nil {
		return from, to, false, err
	}
	in.Run(ctx, func(*engine.Snapshot) bool { return true })
	in.Close()
	if err := in.File.Err(); err != nil && len(secs) == 0 {
		return from, to, false, err
	}
	start, ok := verdict.BusiestWindow(secs, cum, int64(w/time.Second))
	if !ok {
		return from, to, false, nil
	}
	from = time.Unix(start, 0)
	return from, from.Add(w), true, nil
}
