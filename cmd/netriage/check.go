package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"netriage/configs"
	"netriage/sources/links"
	"netriage/triage"
	"netriage/triage/engine"
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

const checkUsage = `Usage: netriage check [flags]

Observe the interfaces for --duration (default: check.window of the config,
10s) and answer, per interface and direction (rx, tx):

  saturated  utilisation at or above crit_utilization of the capacity, or
             queue drops / a persistent backlog while above warn_utilization
  congested  queue drops, a persistent backlog or interface errors below
             the warning threshold (a shaper, bursts, a faulty link)
  ok         neither (an idle interface is ok)
  unknown    capacity unknown and no queue evidence: give --link-speed

with the evidence (rate, capacity and its source, qdisc drops, backlog,
overlimits, interface errors and drops, host TCP retransmissions), the
smallest set of flows that carry explain_share of the bytes (with process and
remote host), and the coverage: how much of the interface's byte counter the
captured flows account for, and why when it is low.

Exit codes (monitoring-plugin convention): 0 ok, 1 warning (congested, or
above the warning threshold), 2 critical (saturated), 3 unknown (cannot tell,
or any error, bad flags included).

Examples:
  netriage check -i eth0 --duration 5s
  netriage check -i eth0 --link-speed eth0=1G --output markdown
  netriage check -i wg0 -f 'not port 22' --output json | jq .verdict

See docs/check.md for the rules and docs/json.md (section "Check") for the JSON schema.`

// checkFlags are the flags of check.
type checkFlags struct {
	common   commonFlags
	filter   string
	localNet string
	noDNS    bool
	noPorts  bool
	promisc  bool
	duration time.Duration
	interval time.Duration

	warn, crit, minDrops, explain float64
}

func (f *checkFlags) register() *pflag.FlagSet {
	fs := newFlagSet("check")
	f.common.addInterfaces(fs, "interface(s) to check, comma separated (default: every interface that is up, loopback excluded)")
	fs.StringVarP(&f.filter, "filter", "f", "", "tcpdump filter expression for the capture (coverage will name it)")
	fs.StringVarP(&f.localNet, "local-net", "F", "", "the local side of flows: NET/LEN (IPv4 or IPv6), like iftop's -F")
	fs.BoolVarP(&f.noDNS, "no-dns", "n", false, "do not resolve remote addresses to names")
	fs.BoolVarP(&f.noPorts, "no-port-names", "N", false, "accepted for compatibility with flows (check shows port numbers)")
	fs.BoolVarP(&f.promisc, "promiscuous", "p", false, "capture in promiscuous mode")
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
	return fs
}

// checkSettings is the validated result of check's flags and config.
type checkSettings struct {
	cfg      configs.Config
	ifaces   []string
	duration time.Duration
	interval time.Duration
	output   report.Format
	userBps  map[string]uint64
}

// resolveCheck validates flags and config. Every error is a usage error.
func resolveCheck(f *checkFlags, fs *pflag.FlagSet) (checkSettings, error) {
	var s checkSettings
	if fs.NArg() > 0 {
		return s, usageErrorf("unexpected argument %q (see 'netriage check --help')", fs.Arg(0))
	}
	cfg, err := f.common.resolve()
	if err != nil {
		return s, err
	}
	set := func(name string, dst *float64, v float64) {
		if fs.Changed(name) {
			*dst = v
		}
	}
	set("warn", &cfg.Check.WarnUtilization, f.warn)
	set("crit", &cfg.Check.CritUtilization, f.crit)
	set("min-drops", &cfg.Check.MinDropsPerSec, f.minDrops)
	set("explain-share", &cfg.Check.ExplainShare, f.explain)
	if err := cfg.Check.Validate(); err != nil {
		return s, usageErrorf("thresholds (flags --warn, --crit, --min-drops, --explain-share over the config):\n%v", err)
	}
	s.duration = cfg.Check.Window.D()
	if fs.Changed("duration") {
		s.duration = f.duration
	}
	if s.duration < verdict.MinWindow {
		return s, usageErrorf("--duration %s is too short for a verdict: observe for at least %s (default %s)", s.duration, verdict.MinWindow, configs.DefaultCheck().Window.D())
	}
	if s.duration > 24*time.Hour {
		return s, usageErrorf("--duration %s is too long (at most 24h)", s.duration)
	}
	s.interval = cfg.Interval.D()
	if fs.Changed("interval") {
		if f.interval < 10*time.Millisecond || f.interval > time.Hour {
			return s, usageErrorf("--interval %s is out of range: use 10ms..1h, e.g. --interval 1s", f.interval)
		}
		s.interval = f.interval
	}
	if s.interval > s.duration {
		s.interval = s.duration
	}
	if f.localNet != "" {
		if _, _, err := localRule(f.localNet, false); err != nil { // -F given: no host lookup
			return s, err
		}
	}
	if strings.ContainsAny(f.filter, "\x00\n") {
		return s, usageErrorf("-f: the filter contains a NUL or newline character")
	}
	s.cfg = cfg
	s.ifaces = f.common.ifaces
	s.output = report.Format(f.common.output)
	s.userBps = cfg.Links.SpeedsBps()
	return s, nil
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
	done, err := parseFlags(env, fs, checkUsage, args)
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
	return writeCheck(env, verdict.Evaluate(w, s.cfg.Check.Thresholds()), s.output)
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
func observeCheck(ctx context.Context, env *cmdEnv, f *checkFlags, s checkSettings) (verdict.Window, error) {
	var notes []string
	live := f.common.netns == ""
	if !live {
		notes = append(notes, "no packet capture inside another namespace (--netns): run the command with 'ip netns exec' or nsenter for flows")
	}
	in, err := openInputs(ctx, inputOptions{
		cfg: s.cfg, interval: s.interval,
		links: true, netns: f.common.netns, ifaces: s.ifaces, anyReason: "check answers per interface", requireUp: true,
		// Without capture privileges the counters still give a verdict
		// (utilisation, queue, errors); coverage is then n/a, with why.
		capture: live, captureOptional: true, filter: f.filter, localNet: f.localNet, promisc: f.promisc, agg: flows.By5Tuple,
		sockets: live, names: live && !f.noDNS,
		checkFirst: func(first *triage.LinksSample) ([]string, error) { return f.common.checkLinkSpeeds(s.cfg, first) },
	})
	if err != nil {
		return verdict.Window{}, err
	}
	defer in.Close()
	in.cfg.Window, in.cfg.Judge = s.duration, true
	retransPID := 0
	if pid, err := strconv.Atoi(f.common.netns); err == nil {
		retransPID = pid
	}
	var retrans0 uint64
	retransOK := f.common.netns == "" || retransPID > 0
	if retransOK {
		if retrans0, err = links.ReadTCPRetransSegs(retransPID); err != nil {
			retransOK = false
		}
	}
	var last *engine.Snapshot
	prog := output.NewProgress(env.progress())
	defer prog.Clear()
	what := strings.Join(in.watched, ",")
	var end time.Time
	netnsGone := false
	engine.New(in.Inputs, in.cfg).Run(ctx, func(snap *engine.Snapshot) bool {
		last = snap
		if snap.Seq == 1 {
			end = snap.Time.Add(s.duration)
		}
		if l := snap.Links; l != nil && l.NetnsGone != "" && !netnsGone {
			netnsGone = true
			notes = append(notes, l.NetnsGone+": its interfaces are reported as removed")
		}
		prog.Observing(what, end.Sub(snap.Time))
		return snap.Time.Before(end)
	})
	prog.Clear()
	if last == nil {
		return verdict.Window{}, errors.New("interrupted before the first sample: no verdict")
	}
	for _, h := range last.Degraded() {
		notes = append(notes, h.Why)
	}
	w := last.Window
	if el := last.Time.Sub(last.Start); el < s.duration {
		if el < verdict.MinWindow {
			return verdict.Window{}, fmt.Errorf("interrupted after %s: too short for a verdict", el.Round(time.Millisecond))
		}
		notes = append(notes, fmt.Sprintf("interrupted: the window is %s instead of %s", el.Round(time.Millisecond), s.duration))
	}
	for _, m := range last.Missing {
		notes = append(notes, "interface "+m+" disappeared during the window")
	}
	if in.names != nil {
		// Name the largest flows' remotes, waiting at most a second for
		// the resolver, so a slow one never delays the verdict by more.
		in.names.Settle(ctx, verdict.UnnamedRemotes(w.Flows, 64), time.Second)
		verdict.NameRemotes(w.Flows, in.names.Name)
	}
	if retransOK {
		if r1, err := links.ReadTCPRetransSegs(retransPID); err == nil && r1 >= retrans0 {
			d := r1 - retrans0
			w.TCPRetransmits = &d
		}
	}
	for _, n := range notes {
		fmt.Fprintf(env.stderr, "netriage check: %s\n", format.Sanitize(n, 300))
	}
	return w, nil
}

// replayCheckInput is what `netriage replay FILE --check` hands to
// runReplayCheck once the file is read.
type replayCheckInput struct {
	// File is the capture file's name, as given.
	File string
	// Start and End are the first and last packet timestamps.
	Start, End time.Time
	// Flows are the cumulative per-flow totals over the whole file (IP
	// bytes and packets; owners are nil: a file has no processes).
	Flows []verdict.Flow
	// Capture is the replay's health: Packets, NonIP, Truncated, Filter,
	// LocalNet (Active is set by runReplayCheck).
	Capture verdict.Capture
	// LinkSpeeds are the --link-speed values: "RATE" or "IF=RATE".
	LinkSpeeds []string
	// Output is text, json or markdown.
	Output string
	// Check is the config's check section with flag overrides applied.
	Check configs.CheckConfig
}

// runReplayCheck gives the verdict and explanation for a capture file and
// returns the plugin exit code. There are no interface counters: rates
// come from the flows (with a 14-byte link header per packet) and coverage
// is n/a, which the report says.
func runReplayCheck(env *cmdEnv, in replayCheckInput) int {
	if err := in.Check.Validate(); err != nil {
		return failCheck(env, usageErrorf("%v", err))
	}
	out := report.Format(in.Output)
	if out == "" {
		out = report.Text
	}
	if !slices.Contains(report.Formats, string(out)) {
		return failCheck(env, usageErrorf("--output %q: --check writes one of %s", in.Output, strings.Join(report.Formats, ", ")))
	}
	name, bps, err := configs.ParseFileLinkSpeed(in.LinkSpeeds)
	if err != nil {
		return failCheck(env, usageErrorf("%v", err))
	}
	w := verdict.FileWindow(in.File, in.Start, in.End, in.Flows, in.Capture, name, bps)
	return writeCheck(env, verdict.Evaluate(w, in.Check.Thresholds()), out)
}
