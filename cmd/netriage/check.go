package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"netriage/configs"
	"netriage/sources/clock"
	"netriage/sources/links"
	"netriage/sources/privs"
	"netriage/sources/sockets"
	"netriage/triage"
	"netriage/triage/attrib"
	"netriage/triage/verdict"
	"netriage/views/format"
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
	fs := newFlagSet("check", checkUsage, nil)
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
		if _, err := parseLocalNet(f.localNet); err != nil {
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

// parseLocalNet parses -F NET/LEN.
func parseLocalNet(s string) (string, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return "", usageErrorf("-F %q: want NET/LEN such as 198.18.0.0/15 or fd00::/8 (%v)", s, err)
	}
	return p.Masked().String(), nil
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

// checkProgress draws "observing ... 7s left" on stderr when it is a
// terminal, and clears it at the end.
type checkProgress struct {
	env   *cmdEnv
	what  string
	end   time.Time
	drawn bool
}

func (p *checkProgress) draw(now time.Time) {
	if !p.env.stderrIsTerminal {
		return
	}
	left := p.end.Sub(now).Round(time.Second)
	if left < 0 {
		left = 0
	}
	fmt.Fprintf(p.env.stderr, "\r\x1b[Knetriage check: observing %s, %s left", p.what, left)
	p.drawn = true
}

func (p *checkProgress) clear() {
	if p.drawn {
		fmt.Fprint(p.env.stderr, "\r\x1b[K")
		p.drawn = false
	}
}

// readRetransSegs returns the TCP RetransSegs counter of the current
// network namespace (or of PID's with pid > 0), from /proc/net/snmp: the
// same total the kernel's sock_diag tcp_info total_retrans sums per socket,
// but including sockets that have closed.
func readRetransSegs(pid int) (uint64, error) {
	path := "/proc/net/snmp"
	if pid > 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/net/snmp"
	}
	var b []byte
	var err error
	privs.WithProcAccess(func() { b, err = os.ReadFile(path) })
	if err != nil {
		return 0, fmt.Errorf("read tcp retransmissions: %w", err)
	}
	return parseRetransSegs(b)
}

// parseRetransSegs finds Tcp: RetransSegs in /proc/net/snmp text.
func parseRetransSegs(b []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	var header []string
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "Tcp:") {
			continue
		}
		fields := strings.Fields(line)[1:]
		if header == nil {
			header = fields
			continue
		}
		for i, h := range header {
			if h == "RetransSegs" && i < len(fields) {
				v, err := strconv.ParseUint(fields[i], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("parse snmp RetransSegs %q: %w", fields[i], err)
				}
				return v, nil
			}
		}
		break
	}
	return 0, errors.New("parse snmp: no Tcp RetransSegs")
}

// checkCapture is a running packet capture as check uses it.
type checkCapture interface {
	// Flows returns every flow seen since the capture started, with its
	// bytes and packets since then, and the capture's health over the same
	// time. PerInterface reports whether Flow.Interface is filled in.
	Flows() (fl []verdict.Flow, health verdict.Capture, perInterface bool)
	// Stop ends the capture; Flows still answers afterwards.
	Stop()
}

// startCheckCapture starts a capture on ifaces with check's capture flags;
// nil when this build has no capture engine.
var startCheckCapture func(ctx context.Context, ifaces []string, f *checkFlags, s checkSettings) (checkCapture, error)

// observeCheck observes the interfaces for the window and returns what it
// saw: link samples every interval, a packet capture when available, and
// the socket table for attribution.
func observeCheck(ctx context.Context, env *cmdEnv, f *checkFlags, s checkSettings) (verdict.Window, error) {
	clk := clock.Real{}
	lr, err := links.Open(links.Options{Netns: f.common.netns})
	if err != nil {
		if errors.Is(err, links.ErrNetnsNotFound) {
			return verdict.Window{}, usageErrorf("%v", err)
		}
		return verdict.Window{}, err
	}
	defer lr.Close()
	read := func() (triage.LinksSample, error) {
		smp, err := lr.Read()
		smp.Time = clk.Now()
		return smp, err
	}
	first, err := read()
	if err != nil {
		return verdict.Window{}, err
	}
	ifaces, err := checkInterfaces(first, s.ifaces)
	if err != nil {
		return verdict.Window{}, err
	}
	notes, err := f.common.checkLinkSpeeds(s.cfg, &first)
	if err != nil {
		return verdict.Window{}, err
	}
	var capt checkCapture
	switch {
	case startCheckCapture == nil:
		notes = append(notes, "packet capture is not available in this build")
	case f.common.netns != "":
		notes = append(notes, "no packet capture inside another namespace (--netns): run the command with 'ip netns exec' or nsenter for flows")
	default:
		capt, err = startCheckCapture(ctx, ifaces, f, s)
		if err != nil {
			return verdict.Window{}, err
		}
		defer capt.Stop()
	}
	var socks *sockets.Source
	var at *attrib.Attributor
	var lastRep *attrib.Report
	if capt != nil {
		socks = sockets.New(sockets.Config{FullScanInterval: s.cfg.Attribution.FullScanInterval.D()})
		defer socks.Close()
		at = attrib.New(attrib.Config{ClosedGrace: s.cfg.Attribution.ClosedGrace.D()})
	}
	attribute := func(now time.Time) {
		if socks == nil {
			return
		}
		tab, err := socks.Refresh(now)
		if err != nil {
			notes = append(notes, "process attribution stopped: "+err.Error())
			socks = nil
			return
		}
		fl, _, _ := capt.Flows()
		rep := at.Update(now, flowStats(fl), tab)
		lastRep = &rep
	}
	retransPID := 0
	if pid, err := strconv.Atoi(f.common.netns); err == nil {
		retransPID = pid
	}
	var retrans0 uint64
	retransOK := f.common.netns == "" || retransPID > 0
	if retransOK {
		if retrans0, err = readRetransSegs(retransPID); err != nil {
			retransOK = false
		}
	}

	// Restart the window now that everything runs, so the capture and the
	// counters cover the same time.
	if first, err = read(); err != nil {
		return verdict.Window{}, err
	}
	if m, ok := capt.(interface{ Mark() }); ok {
		m.Mark()
	}
	samples := []triage.LinksSample{first}
	prog := &checkProgress{env: env, what: strings.Join(ifaces, ","), end: first.Time.Add(s.duration)}
	defer prog.clear()
	t := clk.NewTicker(s.interval)
	defer t.Stop()
	attribute(first.Time)
	prog.draw(first.Time)
	interrupted := false
	for done := false; !done; {
		select {
		case <-ctx.Done():
			interrupted, done = true, true
		case <-t.C():
		}
		smp, err := read()
		if err != nil {
			return verdict.Window{}, err
		}
		if smp.NetnsGone != "" && samples[len(samples)-1].NetnsGone == "" {
			notes = append(notes, smp.NetnsGone+": its interfaces are reported as removed")
		}
		samples = append(samples, smp)
		attribute(smp.Time)
		prog.draw(smp.Time)
		if !smp.Time.Before(prog.end) {
			done = true
		}
	}
	prog.clear()
	last := samples[len(samples)-1]
	if interrupted {
		el := last.Time.Sub(first.Time)
		if el < verdict.MinWindow {
			return verdict.Window{}, fmt.Errorf("interrupted after %s: too short for a verdict", el.Round(time.Millisecond))
		}
		notes = append(notes, fmt.Sprintf("interrupted: the window is %s instead of %s", el.Round(time.Millisecond), s.duration))
	}
	w := verdict.Window{Start: first.Time, End: last.Time, Samples: len(samples), Counters: true}
	var missing []string
	w.Interfaces, missing = verdict.FromLinks(samples, ifaces, s.userBps)
	for _, m := range missing {
		notes = append(notes, "interface "+m+" disappeared during the window")
	}
	if capt != nil {
		capt.Stop()
		fl, health, perIf := capt.Flows()
		if lastRep != nil {
			owners, names := verdict.Owners(*lastRep), verdict.RemoteNames(*lastRep)
			for i := range fl {
				fl[i].Owner = owners[fl[i].Key]
				if fl[i].RemoteName == "" {
					fl[i].RemoteName = names[fl[i].Key.Remote]
				}
			}
		}
		if !f.noDNS {
			resolveCheckNames(ctx, fl)
		}
		w.Flows, w.Capture = fl, health
		for i := range w.Interfaces {
			w.Interfaces[i].FlowsPerInterface = perIf
			w.Interfaces[i].Captured = capturedOn(health.Interfaces, w.Interfaces[i].Name)
		}
	}
	if retransOK {
		if r1, err := readRetransSegs(retransPID); err == nil && r1 >= retrans0 {
			d := r1 - retrans0
			w.TCPRetransmits = &d
		}
	}
	for _, n := range notes {
		fmt.Fprintf(env.stderr, "netriage check: %s\n", format.Sanitize(n, 300))
	}
	return w, nil
}

// checkInterfaces validates the named interfaces against a sample, or
// picks every interface that is up (loopback excluded) when none is named.
func checkInterfaces(smp triage.LinksSample, named []string) ([]string, error) {
	var all, up []string
	for _, i := range smp.Ifaces {
		all = append(all, i.Name)
		if i.IsUp() && !i.Loopback {
			up = append(up, i.Name)
		}
	}
	if len(named) == 0 {
		if len(up) == 0 {
			return nil, usageErrorf("no interface is up (interfaces: %s); name one with -i", strings.Join(all, ", "))
		}
		return up, nil
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range named {
		if n == "any" {
			return nil, usageErrorf("-i any: check answers per interface; name them (interfaces: %s)", strings.Join(all, ", "))
		}
		if _, ok := smp.Iface(n); !ok {
			return nil, usageErrorf("unknown interface %q (interfaces: %s)", format.Sanitize(n, 40), strings.Join(all, ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

func capturedOn(capIfaces []string, name string) bool {
	for _, c := range capIfaces {
		if c == name || c == "any" {
			return true
		}
	}
	return false
}

// flowStats converts check's flows for the attribution join.
func flowStats(fl []verdict.Flow) []attrib.FlowStat {
	out := make([]attrib.FlowStat, len(fl))
	for i, f := range fl {
		out[i] = attrib.FlowStat{Key: f.Key, SentBytes: f.SentBytes, RecvBytes: f.RecvBytes, SentPackets: f.SentPackets, RecvPackets: f.RecvPackets}
	}
	return out
}

// resolveCheckNames fills RemoteName by reverse DNS for the largest flows'
// remote addresses, at most 64 lookups in parallel and 1 s in total, so a
// slow resolver never delays the verdict by more than that.
func resolveCheckNames(ctx context.Context, fl []verdict.Flow) {
	idx := make([]int, 0, len(fl))
	for i := range fl {
		if fl[i].RemoteName == "" {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool {
		fa, fb := fl[idx[a]], fl[idx[b]]
		return fa.SentBytes+fa.RecvBytes > fb.SentBytes+fb.RecvBytes
	})
	addrs := map[netip.Addr]string{}
	for _, i := range idx {
		if len(addrs) == 64 {
			break
		}
		addrs[fl[i].Key.Remote] = ""
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			names, err := net.DefaultResolver.LookupAddr(ctx, a.String())
			if err == nil && len(names) > 0 {
				mu.Lock()
				addrs[a] = strings.TrimSuffix(names[0], ".")
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for i := range fl {
		if fl[i].RemoteName == "" {
			fl[i].RemoteName = addrs[fl[i].Key.Remote]
		}
	}
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
	name, bps := "replay", uint64(0)
	if len(in.LinkSpeeds) > 1 {
		return failCheck(env, usageErrorf("--link-speed given %d times: a capture file is one link, give one RATE", len(in.LinkSpeeds)))
	}
	if len(in.LinkSpeeds) == 1 {
		ls := in.LinkSpeeds[0]
		var err error
		if strings.Contains(ls, "=") {
			name, bps, err = configs.ParseLinkSpeed(ls)
		} else {
			bps, err = configs.ParseRate(ls)
			if err != nil {
				err = fmt.Errorf("--link-speed %q: %w", ls, err)
			}
		}
		if err != nil {
			return failCheck(env, usageErrorf("%v", err))
		}
	}
	src := sourceOrUnknown(bps)
	ifc := verdict.Interface{
		Name: name, Captured: true,
		RX: verdict.DirCounters{CapacityBps: bps, CapacitySource: src},
		TX: verdict.DirCounters{CapacityBps: bps, CapacitySource: src},
	}
	capt := in.Capture
	capt.Active = true
	if len(capt.Interfaces) == 0 {
		capt.Interfaces = []string{name}
	}
	w := verdict.Window{Start: in.Start, End: in.End, Counters: false, Replay: in.File, Interfaces: []verdict.Interface{ifc}, Flows: in.Flows, Capture: capt}
	r := verdict.Evaluate(w, in.Check.Thresholds())
	if bps == 0 {
		for _, d := range []verdict.Direction{verdict.RX, verdict.TX} {
			dr := r.Interfaces[0].Dir(d)
			for i, a := range dr.Advice {
				dr.Advice[i] = strings.Replace(a, "--link-speed "+name+"=RATE (e.g. "+name+"=1G) or links.speeds in the config file", "--link-speed RATE (e.g. --link-speed 100M)", 1)
			}
		}
	}
	return writeCheck(env, r, out)
}

// sourceOrUnknown names the capacity source of a user-given rate.
func sourceOrUnknown(bps uint64) string {
	if bps == 0 {
		return verdict.SourceUnknown
	}
	return verdict.SourceUser
}
