package main

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"netriage/configs"
	"netriage/sources/clock"
	"netriage/sources/dns"
	"netriage/sources/privs"
	"netriage/triage"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/views"
)

// This file wires the terminal UI to the engine: live inputs (or a capture
// file), and an emit function that turns each snapshot into a views.Model
// and hands it to the host, which redraws once per tick from the newest
// model.
//
// Without capture (no CAP_NET_RAW) the engine runs in socket-counter mode:
// TCP connections with the kernel's per-socket byte counters feed the
// Processes, Connections, Remotes and Flows views, and the header says what
// is missing and how to fix it.

// topPublisher receives each new model (views/tui.Host in the binary).
type topPublisher interface{ Publish(*views.Model) }

// topLive is the TUI's engine over live inputs.
type topLive struct {
	in   *inputs
	eng  *engine.Engine
	view *views.LiveView
	pub  topPublisher
}

// topLiveSetup opens the inputs and checks the interfaces before the
// terminal is taken over, so bad flags fail with a plain message. The
// returned engine must be closed.
func topLiveSetup(ctx context.Context, tf *topFlags, cfg configs.Config, clk clock.Clock, pub topPublisher) (*topLive, error) {
	in, err := openInputs(ctx, inputOptions{
		cfg: cfg, clk: clk,
		links: true, netns: tf.common.netns, ifaces: tf.common.ifaces,
		anyReason: "the header shows one line per interface",
		capture:   true, captureOptional: true,
		filter: tf.filter, localNet: tf.localNet, promisc: tf.promisc, agg: flows.By5Tuple,
		sockets: true, names: !tf.noDNS,
		checkFirst: func(first *triage.LinksSample) ([]string, error) { return tf.common.checkLinkSpeeds(cfg, first) },
	})
	if err != nil {
		return nil, err
	}
	in.cfg.Judge, in.cfg.Hold = true, true
	v := views.NewLiveView(cfg.Interval.D())
	v.Watched, v.Mode, v.Services = in.watched, in.mode, dns.ServiceName
	if have, err := privs.Have(); err == nil && have.Has(privs.CapDacReadSearch) && have.Has(privs.CapSysPtrace) {
		v.ProcAccess = true
	}
	v.Source = "live " + strings.Join(in.watched, ",")
	if len(in.watched) == 0 {
		v.Source = "live (no interface up)"
	}
	if tf.common.netns != "" {
		v.Source += " in netns " + tf.common.netns
	}
	if in.live == nil && (tf.filter != "" || tf.localNet != "" || tf.promisc) {
		in.Absent = append(in.Absent, engine.Health{Input: "flags", State: engine.StateDegraded,
			Why: "-f, -F and -p apply to packet capture: ignored in socket-counter mode"})
	}
	return &topLive{in: in, eng: engine.New(in.Inputs, in.cfg), view: v, pub: pub}, nil
}

// Close stops the capture and releases the inputs.
func (e *topLive) Close() { e.in.Close() }

// Run publishes a first model at once, then one per interval until ctx
// ends.
func (e *topLive) Run(ctx context.Context) {
	e.eng.Run(ctx, func(s *engine.Snapshot) bool {
		e.pub.Publish(e.view.Model(s))
		return true
	})
}

// topReplay browses a capture file: the engine reads it as fast as the
// disk allows (rates come from packet times, so the numbers do not depend
// on the reading speed) and the model is published every second of
// capture time while reading, and at the end. A file has no interface
// counters and no processes: the header shows the file's own rates, and
// the Processes, Connections, Remotes and Links views stay empty.
type topReplay struct {
	in   *inputs
	eng  *engine.Engine
	view *views.FileView
	pub  topPublisher
}

// topReplaySetup opens the file and checks the flags before the terminal
// is taken over.
func topReplaySetup(ctx context.Context, tf *topFlags, cfg configs.Config, pub topPublisher) (*topReplay, error) {
	in, err := openInputs(ctx, inputOptions{cfg: cfg, interval: time.Second, capture: true, replay: tf.replay,
		filter: tf.filter, localNet: tf.localNet, agg: flows.By5Tuple})
	if err != nil {
		return nil, usageErrorf("--replay: %v", strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
	}
	v := views.NewFileView(filepath.Base(tf.replay), dns.ServiceName)
	return &topReplay{in: in, eng: engine.New(in.Inputs, in.cfg), view: v, pub: pub}, nil
}

// Close closes the file.
func (r *topReplay) Close() { r.in.Close() }

// Run reads the file and publishes the models; it returns at the end of
// the file or when ctx ends.
func (r *topReplay) Run(ctx context.Context) {
	r.pub.Publish(r.view.Reading())
	r.eng.Run(ctx, func(s *engine.Snapshot) bool {
		if ctx.Err() != nil {
			return false
		}
		var err error
		if s.Last {
			err = r.in.file.Err()
		}
		r.pub.Publish(r.view.Model(s, err))
		return true
	})
}
