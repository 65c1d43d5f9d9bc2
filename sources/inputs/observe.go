package inputs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"netriage/configs"
	"netriage/triage/egress"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/triage/verdict"
)

// Observed is what check's run over its window gave: the verdict's window,
// the last snapshot, and notes for stderr (raw: sanitise before output).
type Observed struct {
	Window verdict.Window
	Last   *engine.Snapshot
	Notes  []string
}

// ObserveWindow runs the engine of in (opened with Links, Config.Judge
// set by it) over run's window (check.window), calling progress with what
// is watched and the time left at each step, then names the window's
// largest remotes (waiting at most a second for the resolver), adds the
// host's TCP retransmissions of netns over the run and judges run's egress
// budgets, if any (in opened with Egress then), at the last step's rates.
// It fails when the run was interrupted before the first step or too early
// for a verdict.
func ObserveWindow(ctx context.Context, in *Set, netns string, run configs.CheckRun, progress func(what string, left time.Duration)) (Observed, error) {
	var ob Observed
	window := run.Config.Check.Window.D()
	in.Config.Window, in.Config.Judge = window, true
	retrans := StartRetransmits(netns)
	what := strings.Join(in.Watched, ",")
	var end time.Time
	netnsGone := false
	in.Run(ctx, func(snap *engine.Snapshot) bool {
		ob.Last = snap
		if snap.Seq == 1 {
			end = snap.Time.Add(window)
		}
		if l := snap.Links; l != nil && l.NetnsGone != "" && !netnsGone {
			netnsGone = true
			ob.Notes = append(ob.Notes, l.NetnsGone+": its interfaces are reported as removed")
		}
		progress(what, end.Sub(snap.Time))
		return snap.Time.Before(end)
	})
	last := ob.Last
	if last == nil {
		return ob, errors.New("interrupted before the first sample: no verdict")
	}
	for _, h := range last.Degraded() {
		ob.Notes = append(ob.Notes, h.Why)
	}
	ob.Window = last.Window
	if el := last.Time.Sub(last.Start); el < window {
		if el < verdict.MinWindow {
			return ob, fmt.Errorf("interrupted after %s: too short for a verdict", el.Round(time.Millisecond))
		}
		ob.Notes = append(ob.Notes, fmt.Sprintf("interrupted: the window is %s instead of %s", el.Round(time.Millisecond), window))
	}
	for _, m := range last.Missing {
		ob.Notes = append(ob.Notes, "interface "+m+" disappeared during the window")
	}
	if in.Resolver != nil {
		in.Resolver.Settle(ctx, verdict.UnnamedRemotes(ob.Window.Flows, 64), time.Second)
		verdict.NameRemotes(ob.Window.Flows, in.Resolver.Name)
	}
	ob.Window.TCPRetransmits = retrans.Since()
	if len(run.Budgets) > 0 {
		ob.Window.EgressBudgets = egress.EvaluateBudgets(run.Budgets, last.Egress, in.Config.Egress, run.Config.Egress.PriceTable(),
			egress.BudgetOptions{ExplainShare: run.Config.Check.ExplainShare})
	}
	return ob, nil
}

// ReadFile runs the engine of in, opened with Options.Replay, to the end
// of the file path or of ctx, calling each with every snapshot before the
// last. It returns a copy of the last snapshot's flows, labelled with the
// file (flows.Snapshot.FromFile; only that one is copied: a copy per step
// would double what a file of many flows holds), and what stopped the
// reading before the end of the file: "interrupted after N packets" when
// ctx did.
func ReadFile(ctx context.Context, in *Set, path string, each func(*engine.Snapshot)) (flows.Snapshot, error) {
	var last *engine.Snapshot
	in.Run(ctx, func(s *engine.Snapshot) bool {
		last = s
		if !s.Last {
			each(s)
		}
		return !s.Last
	})
	// The engine is done with the last snapshot: no copy of its flows.
	var snap flows.Snapshot
	if last != nil && last.Flows != nil {
		snap = *last.Flows
	}
	snap.FromFile(path)
	err := in.File.Err()
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%s: interrupted after %d packets", path, in.File.Packets())
	}
	return snap, err
}
