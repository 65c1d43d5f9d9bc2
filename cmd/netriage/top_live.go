package main

import (
	"context"
	"path/filepath"
	"time"

	"netriage/configs"
	"netriage/sources/clock"
	"netriage/sources/dns"
	"netriage/sources/inputs"
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

// topRun is the TUI's engine over its inputs: Run publishes a model per
// step until ctx or the inputs end; Close releases the inputs.
type topRun struct {
	in   *inputs.Set
	emit func(ctx context.Context, s *engine.Snapshot) bool
}

func (r *topRun) Close() { r.in.Close() }

func (r *topRun) Run(ctx context.Context) {
	r.in.Run(ctx, func(s *engine.Snapshot) bool { return r.emit(ctx, s) })
}

// topLiveSetup opens the inputs and checks the interfaces before the
// terminal is taken over, so bad flags fail with a plain message. The
// result must be closed.
func topLiveSetup(ctx context.Context, tf *topFlags, cfg configs.Config, clk clock.Clock, pub topPublisher) (*topRun, error) {
	o := tf.common.options(cfg)
	o.Clock, o.Links, o.AnyReason = clk, true, "the header shows one line per interface"
	o.Capture, o.CaptureOptional, o.Aggregation, o.Sockets, o.Egress = true, true, flows.By5Tuple, true, true
	o.Self = true // the status line shows what netriage itself costs
	in, err := inputs.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	in.Config.Judge, in.Config.Hold = true, true
	// The model copies what it shows of the attribution; it keeps the
	// flows' snapshot, whose rows it makes when a pane reads them.
	in.Config.ReleaseAttribution = true
	v := views.NewLiveView(cfg.Interval.D())
	v.Watched, v.Mode, v.Services, v.ProcAccess = in.Watched, in.Mode, dns.ServiceName, inputs.ProcAccess()
	v.Source = views.LiveSource(in.Watched, tf.common.netns)
	v.EgressTable, v.EgressPrices = in.Config.Egress, cfg.Egress.PriceTable()
	return &topRun{in: in, emit: func(_ context.Context, s *engine.Snapshot) bool {
		pub.Publish(v.Model(s))
		return true
	}}, nil
}

// topReplaySetup opens a capture file to browse, checking the flags before
// the terminal is taken over. The engine reads the file as fast as the
// disk allows (rates come from packet times, so the numbers do not depend
// on the reading speed) and a model is published every second of capture
// time while reading, and at the end. A file has no interface counters and
// no processes: the header shows the file's own rates, and the Processes,
// Connections, Remotes and Links views stay empty.
func topReplaySetup(ctx context.Context, tf *topFlags, cfg configs.Config, pub topPublisher) (*topRun, error) {
	in, err := inputs.Open(ctx, inputs.Options{Config: cfg, Interval: time.Second, Capture: true, Replay: tf.replay,
		Filter: tf.common.filter, LocalNet: tf.common.localNet, Aggregation: flows.By5Tuple, Egress: true})
	if err != nil {
		return nil, configs.Usagef("--replay: %v", configs.UsageMessage(err))
	}
	v := views.NewFileView(filepath.Base(tf.replay), dns.ServiceName)
	v.EgressTable, v.EgressPrices = in.Config.Egress, cfg.Egress.PriceTable()
	pub.Publish(v.Reading())
	return &topRun{in: in, emit: func(ctx context.Context, s *engine.Snapshot) bool {
		if ctx.Err() != nil {
			return false
		}
		var err error
		if s.Last {
			err = in.File.Err()
		}
		pub.Publish(v.Model(s, err))
		return true
	}}, nil
}
