package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"netriage/configs"
	"netriage/sources/inputs"
	"netriage/triage/flows"
	"netriage/triage/verdict"
	"netriage/views/format"
	"netriage/views/output"
	"netriage/views/report"
)

// Exit codes of check: the monitoring-plugin convention. Every error,
// usage errors included, is exitUnknown.
const exitUnknown = 3

func init() {
	register(&command{name: "check", summary: "is the link saturated, and which flows explain it? (exit 0 ok, 1 warn, 2 crit, 3 unknown)", run: runCheck})
}

// checkFlags are the flags of check.
type checkFlags struct {
	common   commonFlags
	duration time.Duration
	interval time.Duration

	warn, crit, minDrops, explain float64
	budgets                       []string
}

func (f *checkFlags) register() *pflag.FlagSet {
	fs := newFlagSet("check")
	f.common.addInterfaces(fs, "interface(s) to check, comma separated (default: every interface that is up, loopback excluded)")
	f.common.addCapture(fs, true)
	fs.BoolVarP(&f.common.noPorts, "no-port-names", "N", false, "accepted for compatibility with flows (check shows port numbers)")
	fs.DurationVar(&f.duration, "duration", 0, "how long to observe (default check.window from the config, 10s; at least 1s)")
	fs.DurationVar(&f.interval, "interval", 0, "counter sampling period within the window (default: interval from the config, 1s)")
	f.common.addOutput(fs, report.Formats...)
	f.common.addFanout(fs)
	f.common.addConfig(fs)
	f.common.addNetns(fs)
	f.common.addLinkSpeed(fs)
	fs.Float64Var(&f.warn, "warn", 0, "warning utilisation 0..1 (default check.warn_utilization, 0.80)")
	fs.Float64Var(&f.crit, "crit", 0, "critical utilisation 0..1 (default check.crit_utilization, 0.95)")
	fs.Float64Var(&f.minDrops, "min-drops", 0, "queue drops per second that count as queue evidence (default check.min_drops_per_sec, 1)")
	fs.Float64Var(&f.explain, "explain-share", 0, "share 0..1 of the bytes the explaining flows must carry (default check.explain_share, 0.80)")
	fs.StringArrayVar(&f.budgets, "egress-budget", nil, "egress budget CLASS=[WARN:]LIMIT per hour, e.g. internet=50GB/h or all=2.5USD/h (repeatable; default egress.Budgets)")
	return fs
}

// resolveCheck validates flags and config. Every error is a usage error.
func resolveCheck(f *checkFlags, fs *pflag.FlagSet) (configs.CheckRun, error) {
	cfg, err := f.common.resolve()
	if err != nil {
		return configs.CheckRun{}, err
	}
	o := configs.CheckOverrides{Warn: given(fs, "warn", &f.warn), Crit: given(fs, "crit", &f.crit), MinDrops: given(fs, "min-drops", &f.minDrops),
		Explain: given(fs, "explain-share", &f.explain), Duration: given(fs, "duration", &f.duration), Interval: given(fs, "interval", &f.interval)}
	if fs.Changed("egress-budget") {
		o.Budgets = append([]string{}, f.budgets...)
	}
	return configs.ResolveCheck(cfg, o)
}

// given is v when the flag name was given, else nil: the flags override
// the config file only where the command line sets them.
func given[T any](fs *pflag.FlagSet, name string, v *T) *T {
	if fs.Changed(name) {
		return v
	}
	return nil
}

// failCheck prints err like fail does and returns exitUnknown, the
// plugin convention's code for errors.
func failCheck(env *cmdEnv, err error) int {
	fail(env, "check", err)
	return exitUnknown
}

func runCheck(ctx context.Context, env *cmdEnv, args []string) int {
	var f checkFlags
	fs := f.register()
	done, err := parseFlags(env, fs, args)
	if done {
		return exitOK
	}
	if err != nil {
		return failCheck(env, err)
	}
	s, err := resolveCheck(&f, fs)
	if err != nil {
		return failCheck(env, err)
	}
	w, err := observeCheck(ctx, env, &f, s)
	if err != nil {
		return failCheck(env, err)
	}
	return writeCheck(env, verdict.Evaluate(w, s.Config.Check.Thresholds()), report.Format(f.common.output))
}

// writeCheck renders the report and returns its exit code.
func writeCheck(env *cmdEnv, r verdict.Report, out report.Format) int {
	var b bytes.Buffer
	if err := report.Write(&b, r, out); err != nil {
		return failCheck(env, err)
	}
	if _, err := env.stdout.Write(b.Bytes()); err != nil {
		return failCheck(env, fmt.Errorf("write: %w", err))
	}
	return r.ExitCode
}

// observeCheck runs the engine over the window and returns what it saw:
// link samples every interval, a packet capture when possible, and the
// socket table for attribution.
func observeCheck(ctx context.Context, env *cmdEnv, f *checkFlags, s configs.CheckRun) (verdict.Window, error) {
	live := f.common.netns == "" // no capture or sockets inside another namespace
	o := f.common.options(s.Config)
	o.Interval, o.Links, o.AnyReason, o.RequireUp = s.Interval, true, "check answers per interface", true
	// Without capture privileges the counters still give a verdict
	// (utilisation, queue, errors); coverage is then n/a, with why.
	o.Capture, o.CaptureOptional, o.Aggregation = true, true, flows.By5Tuple
	o.Sockets, o.Names, o.Egress = live, live && o.Names, len(s.Budgets) > 0
	in, err := inputs.Open(ctx, o)
	if err != nil {
		return verdict.Window{}, err
	}
	defer in.Close()
	prog := output.NewProgress(env.progress())
	ob, err := inputs.ObserveWindow(ctx, in, f.common.netns, s, prog.Observing)
	prog.Clear()
	if err != nil {
		return verdict.Window{}, err
	}
	for _, n := range ob.Notes {
		fmt.Fprintf(env.stderr, "netriage check: %s\n", format.Sanitize(n, 300))
	}
	return ob.Window, nil
}
