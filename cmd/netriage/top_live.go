package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"netriage/configs"
	"netriage/sources/capture"
	"netriage/sources/clock"
	"netriage/sources/dns"
	"netriage/sources/links"
	"netriage/sources/privs"
	"netriage/sources/sockets"
	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/flows"
	"netriage/triage/verdict"
	"netriage/views"
	"netriage/views/format"
)

// This file is the live engine of the terminal UI: one goroutine owns the
// clock, samples the links and the socket table once per interval, runs
// the attribution and the saturation verdict, builds a views.Model and
// hands it to the host, which redraws once per tick from the newest model.
//
// Without capture (no CAP_NET_RAW, or no capture engine in the build) it
// runs in socket-counter mode: TCP connections with the kernel's per-socket
// byte counters feed the Processes, Connections, Remotes and Flows views,
// and the header says what is missing and how to fix it.

// topPublisher receives each new model (views/tui.Host in the binary).
type topPublisher interface{ Publish(*views.Model) }

// topCapture is a running packet capture as the TUI uses it; see
// topStartCapture.
type topCapture interface {
	// Snapshot returns the flow snapshot at now (5-tuples: the views
	// aggregate), the flow statistics for the attribution join, the flows
	// of the verdict's window and the capture's health over that window.
	Snapshot(now time.Time) (snap *flows.Snapshot, stats []attrib.FlowStat, window []verdict.Flow, health verdict.Capture, perInterface bool)
	// Stop ends the capture.
	Stop()
}

// topStartCapture starts the capture engine on ifaces; nil while this
// build has no capture engine, and the UI then runs in socket-counter
// mode.
var topStartCapture func(ctx context.Context, ifaces []string, tf *topFlags, cfg configs.Config) (topCapture, error)

// topLive is the engine's state; every field is owned by the engine
// goroutine.
type topLive struct {
	names    *dns.Resolver // nil with -n
	clk      clock.Clock
	cfg      configs.Config
	tf       *topFlags
	pub      topPublisher
	interval time.Duration
	userBps  map[string]uint64

	lr       *links.Reader
	watched  []string
	prev     *triage.LinksSample
	window   []triage.LinksSample // link samples covering the verdict window
	hist     *views.History       // header sparklines
	peaks    *views.History       // totals' 2 s rates over the 40 s peak window
	prevRep  *verdict.Report
	socks    *sockets.Source
	at       *attrib.Attributor
	counters *attrib.Counters
	capt     topCapture

	caps      privs.Set
	capsKnown bool
	mode      string
	source    string
	static    []string // degraded lines decided at start
	seq       uint64
}

// topLiveSetup opens the sources and checks the interfaces before the
// terminal is taken over, so bad flags fail with a plain message. The
// returned engine must be closed.
func topLiveSetup(ctx context.Context, tf *topFlags, cfg configs.Config, clk clock.Clock, pub topPublisher) (*topLive, error) {
	e := &topLive{clk: clk, cfg: cfg, tf: tf, pub: pub, interval: cfg.Interval.D(), userBps: cfg.Links.SpeedsBps()}
	e.hist = views.NewHistory(60)
	e.peaks = views.NewHistory(max(int((40*time.Second)/max(e.interval, time.Millisecond)), 1))
	var err error
	e.caps, err = privs.Have()
	e.capsKnown = err == nil

	lr, err := links.Open(links.Options{Netns: tf.common.netns})
	if err != nil {
		if errors.Is(err, links.ErrNetnsNotFound) {
			return nil, usageErrorf("%v", err)
		}
		return nil, fmt.Errorf("open interface counters: %w", err)
	}
	e.lr = lr
	first, err := e.readLinks()
	if err != nil {
		lr.Close()
		return nil, err
	}
	if e.watched, err = topWatched(&first, tf.common.ifaces); err != nil {
		lr.Close()
		return nil, err
	}
	warnings, err := tf.common.checkLinkSpeeds(cfg, &first)
	if err != nil {
		lr.Close()
		return nil, err
	}
	e.static = append(e.static, warnings...)
	e.prev = &first
	e.window = []triage.LinksSample{first}
	e.source = "live " + strings.Join(e.watched, ",")
	if len(e.watched) == 0 {
		e.source = "live (no interface up)"
	}
	if tf.common.netns != "" {
		e.source += " in netns " + tf.common.netns
	}

	// Capture when possible, else socket-counter mode.
	exe, _ := os.Executable()
	if exe == "" {
		exe = "$(command -v netriage)"
	}
	switch {
	case e.capsKnown && !e.caps.Has(privs.CapNetRaw):
		e.static = append(e.static, "no capture (CAP_NET_RAW missing): run with sudo, or: sudo setcap cap_net_raw,cap_net_admin+ep "+exe)
	case topStartCapture == nil:
		e.static = append(e.static, "no packet capture in this build: flows are TCP connections from socket counters (payload bytes, no UDP)")
	case tf.common.netns != "":
		e.static = append(e.static, "no packet capture inside another namespace (--netns): run under 'ip netns exec NAME' for flows")
	default:
		c, err := topStartCapture(ctx, e.watched, tf, cfg)
		if uerr := captureInputError(err); errors.Is(uerr, errUsage) {
			// A bad filter is refused before the terminal is taken over.
			lr.Close()
			return nil, uerr
		}
		if err != nil {
			e.static = append(e.static, "packet capture failed: "+err.Error())
		} else {
			e.capt = c
		}
	}
	if e.capt != nil {
		e.mode = "capture"
	} else {
		e.mode = "socket counters (TCP only)"
		e.counters = attrib.NewCounters()
		if tf.filter != "" || tf.localNet != "" || tf.promisc {
			e.static = append(e.static, "-f, -F and -p apply to packet capture: ignored in socket-counter mode")
		}
	}
	e.socks = sockets.New(sockets.Config{FullScanInterval: cfg.Attribution.FullScanInterval.D()})
	acfg := attrib.Config{ClosedGrace: cfg.Attribution.ClosedGrace.D()}
	if !tf.noDNS {
		e.names = dns.New(ctx, dns.Options{})
		acfg.Name = e.names.Name
	}
	e.at = attrib.New(acfg)
	return e, nil
}

// Close stops the capture and releases the sources.
func (e *topLive) Close() {
	if e.capt != nil {
		e.capt.Stop()
	}
	if e.socks != nil {
		e.socks.Close()
	}
	if e.lr != nil {
		e.lr.Close()
	}
	if e.names != nil {
		e.names.Close()
	}
}

func (e *topLive) readLinks() (triage.LinksSample, error) {
	now := e.clk.Now()
	s, err := e.lr.Read()
	s.Time = now
	if err != nil {
		return s, fmt.Errorf("read interface counters: %w", err)
	}
	return s, nil
}

// topWatched returns the interfaces of the header: the named ones (all
// must exist), or every interface that is up except loopback.
func topWatched(s *triage.LinksSample, named []string) ([]string, error) {
	var all []string
	for _, i := range s.Ifaces {
		all = append(all, format.Sanitize(i.Name, 32))
	}
	sort.Strings(all)
	if len(named) == 0 {
		var out []string
		for _, i := range s.Ifaces {
			if i.IsUp() && !i.Loopback {
				out = append(out, i.Name)
			}
		}
		sort.Strings(out)
		return out, nil
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range named {
		if n == "any" {
			return nil, usageErrorf("-i any: the header shows one line per interface; name them (interfaces: %s)", strings.Join(all, ", "))
		}
		if _, ok := s.Iface(n); !ok {
			return nil, usageErrorf("unknown interface %q (interfaces: %s)", format.Sanitize(n, 40), strings.Join(all, ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// Run publishes a first model at once, then one per interval until ctx
// ends.
func (e *topLive) Run(ctx context.Context) {
	// The ticker starts before the first model is published, so the tick
	// period is measured from start and no tick can be missed.
	t := e.clk.NewTicker(e.interval)
	defer t.Stop()
	e.pub.Publish(e.step(e.prev.Time, nil))
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		cur, err := e.readLinks()
		if err != nil {
			e.pub.Publish(e.step(cur.Time, err))
			continue
		}
		e.pub.Publish(e.step(cur.Time, nil, cur))
	}
}

// step runs one tick at now: links (when a new sample is given), sockets
// and attribution, verdict; it returns the model to publish.
func (e *topLive) step(now time.Time, linkErr error, cur ...triage.LinksSample) *views.Model {
	e.seq++
	m := &views.Model{Now: now, Seq: e.seq, Source: e.source, Mode: e.mode}
	m.Degraded = append(m.Degraded, e.static...)

	// Links.
	var rows []triage.LinkRow
	if len(cur) > 0 {
		c := cur[0]
		rows = triage.CompareLinks(e.prev, &c, e.userBps)
		e.prev = &c
		e.window = append(e.window, c)
		e.trimWindow()
		e.hist.PushLinks(rows)
		e.hist.Retain()
	} else {
		rows = triage.CompareLinks(nil, e.prev, e.userBps)
	}
	if linkErr != nil {
		m.Degraded = append(m.Degraded, "interface counters: "+linkErr.Error())
	}
	for _, w := range e.prev.Warnings {
		m.Degraded = append(m.Degraded, "interface counters: "+w)
	}
	m.Header, m.Links = views.AdaptLinks(rows, e.watched, e.hist)

	// Sockets and attribution.
	var rep *attrib.Report
	var hostNetns uint64
	var capSnap *flows.Snapshot
	var winFlows []verdict.Flow
	var health verdict.Capture
	perIf := false
	tab, err := e.socks.Refresh(now)
	if err != nil {
		m.Degraded = append(m.Degraded, "process attribution: "+err.Error())
	} else {
		hostNetns = tab.HostNetns
		var fl []attrib.FlowStat
		if e.capt != nil {
			if ws, ok := e.capt.(interface{ SetWindowStart(time.Time) }); ok && len(e.window) > 0 {
				ws.SetWindowStart(e.window[0].Time)
			}
			capSnap, fl, winFlows, health, perIf = e.capt.Snapshot(now)
		} else {
			fl = e.counters.Update(tab)
		}
		r := e.at.Update(now, fl, tab)
		rep = &r
		if errs := tab.Health.Errors; len(errs) > 0 {
			more := ""
			if len(errs) > 1 {
				more = fmt.Sprintf(" (+%d more)", len(errs)-1)
			}
			m.Degraded = append(m.Degraded, "sockets: "+errs[0]+more)
		}
		if tab.Health.UnreadablePIDs > 0 && e.capsKnown && !(e.caps.Has(privs.CapDacReadSearch) && e.caps.Has(privs.CapSysPtrace)) {
			m.Degraded = append(m.Degraded, fmt.Sprintf("%d processes of other users unreadable (CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE missing: sudo): their traffic is [unknown]", tab.Health.UnreadablePIDs))
		}
	}
	m.Procs, m.Conns, m.Remotes = views.AdaptAttrib(rep, hostNetns)
	if e.capt != nil {
		m.Flows, _ = views.AdaptFlows(capSnap, rep, serviceName)
		m.CaptureDrops = health.KernelDrops
		for _, w := range health.Warnings {
			m.Degraded = append(m.Degraded, "capture: "+w)
		}
		m.EvictedFlows = health.EvictedFlows
	} else {
		var keep func(netip.Addr) bool
		if tab != nil {
			keep = func(a netip.Addr) bool {
				ns, ok := tab.LocalAddrs[a]
				return !ok || ns == tab.HostNetns || a.IsLoopback()
			}
		}
		m.Flows = views.FlowsFromConns(m.Conns, keep)
	}
	m.Totals = views.TotalsOf(m.Flows, e.peaks)
	e.peaks.PushTotals(m.Totals)

	// Verdict over the link samples of the window, held against flapping.
	if len(e.window) >= 2 && len(e.watched) > 0 {
		first, last := e.window[0], e.window[len(e.window)-1]
		w := verdict.Window{Start: first.Time, End: last.Time, Samples: len(e.window), Counters: true}
		w.Interfaces, _ = verdict.FromLinks(e.window, e.watched, e.userBps)
		if e.capt != nil {
			if rep != nil {
				owners, names := verdict.Owners(*rep), verdict.RemoteNames(*rep)
				for i := range winFlows {
					winFlows[i].Owner = owners[winFlows[i].Key]
					if winFlows[i].RemoteName == "" {
						winFlows[i].RemoteName = names[winFlows[i].Key.Remote]
					}
				}
			}
			w.Flows, w.Capture = winFlows, health
			for i := range w.Interfaces {
				w.Interfaces[i].FlowsPerInterface = perIf
				w.Interfaces[i].Captured = capturedOn(health.Interfaces, w.Interfaces[i].Name)
			}
		}
		r := verdict.Evaluate(w, e.cfg.Check.Thresholds())
		if e.prevRep != nil {
			r = verdict.Hold(*e.prevRep, r, e.cfg.Check.Thresholds())
		}
		e.prevRep = &r
		m.Verdict = views.AdaptVerdict(&r)
		if e.capt != nil {
			m.CoverageRatio, m.CoverageKnown = views.CoverageOf(&r)
		}
		views.ApplyExplain(m.Links, &r)
	} else {
		m.Verdict = views.Verdict{Level: views.VerdictNone, Summary: "first sample: rates after one interval"}
	}
	return m
}

// trimWindow drops link samples older than the verdict window, keeping at
// least two.
func (e *topLive) trimWindow() {
	win := e.cfg.Check.Window.D()
	last := e.window[len(e.window)-1].Time
	i := 0
	for i < len(e.window)-2 && last.Sub(e.window[i].Time) > win {
		i++
	}
	if i > 0 {
		e.window = append(e.window[:0], e.window[i:]...)
	}
}

// topReplay browses a capture file: it reads the file through the capture
// accounting as fast as the disk allows (rates come from packet times, so
// the numbers do not depend on the reading speed), publishes a model every
// interval of capture time while reading, and the final one at the end. A
// file has no interface counters and no processes: the header shows the
// file's own rates, and the Processes, Connections, Remotes and Links
// views stay empty.
type topReplay struct {
	f    *capture.File
	name string
	tf   *topFlags
	cfg  configs.Config
	pub  topPublisher
	hist *views.History
}

// topReplaySetup opens the file and checks the flags before the terminal
// is taken over.
func topReplaySetup(tf *topFlags, cfg configs.Config, pub topPublisher) (*topReplay, error) {
	f, err := capture.OpenFile(tf.replay)
	if err != nil {
		return nil, usageErrorf("--replay: %v", err)
	}
	return &topReplay{f: f, name: filepath.Base(tf.replay), tf: tf, cfg: cfg, pub: pub, hist: views.NewHistory(60)}, nil
}

// Close closes the file.
func (r *topReplay) Close() { r.f.Close() }

// Run reads the file and publishes the models; it returns at the end of
// the file or when ctx ends.
func (r *topReplay) Run(ctx context.Context) {
	var local flows.Local
	localNet := "first packet's source"
	if r.tf.localNet != "" {
		p, _ := netip.ParsePrefix(r.tf.localNet) // validated by runTop
		local = flows.NewLocal(p)
		localNet = p.Masked().String()
	}
	r.pub.Publish(&views.Model{Source: "replay " + r.name, Mode: "capture file", Verdict: views.Verdict{Summary: "reading " + r.name}})
	var prevSeq uint64
	opts := capture.ReplayOptions{
		Table:       flows.TableConfig{MaxFlows: r.cfg.Capture.MaxFlows, Local: local},
		Aggregation: flows.By5Tuple,
		Interval:    time.Second,
		Filter:      r.tf.filter,
		LocalNet:    localNet,
		OnSnapshot: func(s flows.Snapshot) {
			prevSeq = s.Seq
			r.pub.Publish(r.model(&s, false, nil))
		},
	}
	snap, err := capture.ReplayFile(ctx, r.f, opts)
	if ctx.Err() != nil {
		return
	}
	if snap.Seq <= prevSeq {
		snap.Seq = prevSeq + 1
	}
	r.pub.Publish(r.model(&snap, true, err))
}

// model builds the display model of one replay snapshot.
func (r *topReplay) model(s *flows.Snapshot, done bool, err error) *views.Model {
	m := &views.Model{Now: s.Time, Seq: s.Seq, Source: "replay " + r.name, Mode: "capture file"}
	m.Flows, m.Totals = views.AdaptFlows(s, nil, serviceName)
	m.EvictedFlows = s.Capture.EvictedFlows
	r.hist.Push("rx/file", m.Totals.Recv.W2s)
	r.hist.Push("tx/file", m.Totals.Sent.W2s)
	m.Header = []views.IfaceLine{{Name: "file", Up: true,
		RxBytesPerSec: m.Totals.Recv.W2s, TxBytesPerSec: m.Totals.Sent.W2s,
		RxHistoryBytesPerSec: r.hist.Values("rx/file"), TxHistoryBytesPerSec: r.hist.Values("tx/file")}}
	status := fmt.Sprintf("%d packets", s.Capture.Packets)
	if !done {
		status = "reading: " + status + " so far"
	} else {
		status = "end of file: " + status + ", " + s.Time.Sub(s.Start).Round(time.Millisecond).String()
	}
	m.Verdict = views.Verdict{Level: views.VerdictNone, Summary: status}
	m.Degraded = append(m.Degraded, "a capture file has no interface counters or processes: for the verdict run 'netriage check' live or the replay subcommand with --check")
	if err != nil {
		m.Degraded = append(m.Degraded, "read "+r.name+": "+err.Error())
	}
	return m
}
