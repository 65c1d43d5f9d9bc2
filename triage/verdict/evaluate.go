package verdict

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MinWindow is the shortest window Evaluate judges; shorter windows give
// unknown.
const MinWindow = time.Second

// Coverage bounds outside which Evaluate says why coverage is off.
const (
	// CoverageLow: below this ratio the reasons are listed.
	CoverageLow = 0.98
	// CoverageHigh: above this ratio flows count more than the interface.
	CoverageHigh = 1.02
)

// defaultLinkHeader is the Ethernet header added per packet for coverage.
const defaultLinkHeader = 14

// Evaluate judges one window. It never fails: whatever cannot be judged
// is reported as unknown with the reason.
func Evaluate(w Window, cfg Thresholds) Report {
	dur := w.Duration()
	r := Report{
		Start:          w.Start,
		End:            w.End,
		DurationSec:    round(dur.Seconds(), 3),
		Replay:         w.Replay,
		TCPRetransmits: w.TCPRetransmits,
		Thresholds: Thresholds{
			WarnUtilization: cfg.WarnUtilization,
			CritUtilization: cfg.CritUtilization,
			MinDropsPerSec:  cfg.MinDropsPerSec,
			ExplainShare:    cfg.ExplainShare,

			NICDropsPerSec:       cfg.NICDropsPerSec,
			SoftirqDropsPerSec:   cfg.SoftirqDropsPerSec,
			ConntrackFullRatio:   cfg.ConntrackFullRatio,
			ConntrackDropsPerSec: cfg.ConntrackDropsPerSec,
			EndpointDropsPerSec:  cfg.EndpointDropsPerSec,
			BurstyStatus:         cfg.BurstyStatus,
		},
		Capture: CaptureReport{
			Active:       w.Capture.Active,
			Interfaces:   nonNil(w.Capture.Interfaces),
			Filter:       w.Capture.Filter,
			LocalNet:     w.Capture.LocalNet,
			Packets:      w.Capture.Packets,
			KernelDrops:  w.Capture.KernelDrops,
			EvictedFlows: w.Capture.EvictedFlows,
			NonIP:        w.Capture.NonIP,
			Truncated:    w.Capture.Truncated,
		},
		Notes:      []string{},
		Interfaces: []IfaceReport{},
		Findings:   []Finding{},
	}
	tooShort := ""
	switch {
	case dur < MinWindow:
		tooShort = fmt.Sprintf("the window of %s is too short for a verdict: observe for at least %s (--duration)", dur.Round(time.Millisecond), MinWindow)
	case w.Counters && w.Samples < 2:
		tooShort = fmt.Sprintf("only %d counter sample(s) in the window: at least 2 are needed for a verdict (lengthen --duration)", w.Samples)
	}
	if tooShort != "" {
		r.Notes = append(r.Notes, tooShort)
	}
	if !w.Counters {
		r.Notes = append(r.Notes, "no interface counters (capture file): rates come from the flows, with a link header per packet; coverage is n/a")
	}
	if !w.Capture.Active {
		r.Notes = append(r.Notes, "no packet capture: the verdict rests on counters alone and no flows explain it")
	}
	if w.Capture.KernelDrops > 0 {
		r.Notes = append(r.Notes, "the capture dropped "+packets(w.Capture.KernelDrops)+" in the kernel: flow figures are incomplete")
	}
	r.Notes = append(r.Notes, w.Capture.Warnings...)
	if r.Thresholds.BurstyStatus == StatusOK {
		r.Thresholds.BurstyStatus = StatusCritical
	}
	multi := len(w.Interfaces) > 1
	for _, ifc := range w.Interfaces {
		ir := IfaceReport{Name: ifc.Name}
		for _, d := range []Direction{RX, TX} {
			dr := ir.Dir(d)
			*dr = evaluateDir(w, ifc, d, multi, tooShort, cfg)
			if f := burstyFinding(ifc.Name, dr, tooShort == "" && ifc.Removed == Present, cfg, dur.Seconds()); f != nil {
				// At the link itself: before the stack's findings.
				r.Findings = append(r.Findings, *f)
			}
		}
		r.Interfaces = append(r.Interfaces, ir)
	}
	findings, stack, notes := evaluateStack(w.Stack, cfg, tooShort == "")
	r.Findings = append(r.Findings, findings...)
	r.Findings = append(r.Findings, budgetFindings(w.EgressBudgets)...)
	r.Stack = stack
	r.Notes = append(r.Notes, notes...)
	finish(&r)
	return r
}

// finish derives the top-level verdict, status, exit code and summary from
// the directions.
func finish(r *Report) {
	if len(r.Interfaces) == 0 {
		r.Verdict, r.Status = Unknown, StatusUnknown
		r.ExitCode = r.Status.ExitCode()
		r.Summary = "UNKNOWN: no interface to judge"
		return
	}
	v, s := OK, StatusOK
	for i := range r.Interfaces {
		for _, d := range []Direction{RX, TX} {
			dr := r.Interfaces[i].Dir(d)
			v = v.Worse(dr.Verdict)
			s = s.Worse(dr.Status)
		}
	}
	for _, f := range r.Findings {
		s = s.Worse(f.Status)
	}
	r.Verdict, r.Status, r.ExitCode = v, s, s.ExitCode()
	r.Summary = summarize(r)
}

func summarize(r *Report) string {
	var parts []string
	for i := range r.Interfaces {
		ir := &r.Interfaces[i]
		if ir.RX.Verdict == Removed && r.Status == StatusCritical {
			// Both directions say the same: one part per interface.
			parts = append(parts, ir.Name+" removed during the window")
			continue
		}
		for _, d := range []Direction{RX, TX} {
			dr := ir.Dir(d)
			if dr.Status != r.Status {
				continue
			}
			p := ir.Name + " " + d.String() + " " + dr.Verdict.String()
			var det []string
			if dr.Utilization != nil {
				det = append(det, fmt.Sprintf("%s of %s (%s)", pct(*dr.Utilization), fmtBps(float64(*dr.CapacityBps)), dr.CapacitySource))
			} else {
				det = append(det, fmtBps(dr.RateBps))
			}
			if dr.Evidence.QueueDropsPerSec != nil && *dr.Evidence.QueueDropsPerSec > 0 {
				det = append(det, fmt.Sprintf("qdisc drops %.1f/s", *dr.Evidence.QueueDropsPerSec))
			}
			if n := len(dr.ExplainedBy); n > 0 && dr.Verdict != OK {
				verb := "explain"
				if n == 1 {
					verb = "explains"
				}
				det = append(det, fmt.Sprintf("%d flow%s %s %s", n, plural(n), verb, pct(dr.ExplainedShare)))
			}
			parts = append(parts, p+": "+strings.Join(det, ", "))
		}
	}
	for _, f := range r.Findings {
		if f.Status == r.Status {
			parts = append(parts, f.Summary)
		}
	}
	if r.Status == StatusOK {
		return fmt.Sprintf("OK: %d interface%s, every direction ok", len(r.Interfaces), plural(len(r.Interfaces)))
	}
	return r.Status.String() + ": " + strings.Join(parts, "; ")
}

// dirData is one direction's numbers gathered from the window.
type dirData struct {
	bytes, packets uint64
	counterSec     float64
	flows          []dirFlow
	flowIP         uint64
	flowPkts       uint64
}

// dirFlow is a flow's bytes in one direction.
type dirFlow struct {
	f     *Flow
	bytes uint64
}

func evaluateDir(w Window, ifc Interface, d Direction, multi bool, tooShort string, cfg Thresholds) DirReport {
	dc := ifc.RX
	if d == TX {
		dc = ifc.TX
	}
	hdr := ifc.LinkHeaderBytes
	if hdr == 0 {
		hdr = defaultLinkHeader
	}
	if ifc.Loopback {
		hdr = 0
	}
	dr := DirReport{
		Direction:      d,
		Reasons:        []string{},
		Advice:         []string{},
		CapacitySource: dc.CapacitySource,
		ExplainedBy:    []ExplainedFlow{},
		ByProcess:      []Group{},
		ByRemote:       []Group{},
	}
	winSec := w.Duration().Seconds()

	// Flows of this interface and direction.
	var dd dirData
	if w.Capture.Active && (ifc.Captured || !w.Counters) {
		dd.flows = make([]dirFlow, 0, len(w.Flows))
		for i := range w.Flows {
			f := &w.Flows[i]
			if ifc.FlowsPerInterface && f.Interface != ifc.Name {
				continue
			}
			b, p := f.RecvBytes, f.RecvPackets
			switch {
			case ifc.Loopback: // each packet leaves and arrives on it
				b, p = f.SentBytes+f.RecvBytes, f.SentPackets+f.RecvPackets
			case d == TX:
				b, p = f.SentBytes, f.SentPackets
			}
			if b == 0 {
				continue
			}
			dd.flows = append(dd.flows, dirFlow{f: f, bytes: b})
			dd.flowIP += b
			dd.flowPkts += p
		}
	}
	if w.Counters {
		dd.bytes, dd.packets = dc.Bytes, dc.Packets
		dd.counterSec = winSec
		if ifc.CounterDuration > 0 {
			dd.counterSec = ifc.CounterDuration.Seconds()
		} else if ifc.CounterReset || ifc.Removed != Present {
			dd.counterSec = 0
		}
	} else {
		dd.bytes, dd.packets = dd.flowIP+hdr*dd.flowPkts, dd.flowPkts
		dd.counterSec = winSec
	}
	dr.Bytes, dr.Packets = dd.bytes, dd.packets
	perSec := func(n uint64) float64 {
		if dd.counterSec <= 0 {
			return 0
		}
		return float64(n) / dd.counterSec
	}
	dr.RateBps = round(perSec(dd.bytes)*8, 1)

	// Evidence.
	ev := &dr.Evidence
	ev.CounterReset = ifc.CounterReset
	ev.Errors, ev.ErrorsPerSec = dc.Errors, round(perSec(dc.Errors), 3)
	ev.Dropped, ev.DroppedPerSec = dc.Dropped, round(perSec(dc.Dropped), 3)
	var queueEvidence []string
	if q := dc.Queue; q != nil {
		ev.QueueKind = q.Kind
		drops := q.Drops
		dps := round(perSec(q.Drops), 3)
		total := q.DropsTotal
		ev.QueueDrops, ev.QueueDropsPerSec, ev.QueueDropsTotal = &drops, &dps, &total
		ev.BacklogBytes, ev.BacklogPackets = q.BacklogBytes, q.BacklogPackets
		ev.BacklogPersistent = q.BacklogSamples >= 2 && q.BacklogNonEmpty*2 >= q.BacklogSamples && q.BacklogPackets > 0
		ev.Overlimits, ev.OverlimitsPerSec = q.Overlimits, round(perSec(q.Overlimits), 3)
		if q.Drops > 0 && dps >= cfg.MinDropsPerSec {
			queueEvidence = append(queueEvidence, fmt.Sprintf("the %s queue dropped %d packets (%.1f/s, threshold %g/s)", kindName(q.Kind), q.Drops, dps, cfg.MinDropsPerSec))
		}
		if ev.BacklogPersistent {
			queueEvidence = append(queueEvidence, fmt.Sprintf("the %s queue held a backlog in %d of %d samples (up to %d bytes, %d packets)", kindName(q.Kind), q.BacklogNonEmpty, q.BacklogSamples, q.BacklogBytes, q.BacklogPackets))
		}
	}
	if dc.Errors > 0 && ev.ErrorsPerSec >= cfg.MinDropsPerSec {
		queueEvidence = append(queueEvidence, fmt.Sprintf("the interface counted %d %s errors (%.1f/s)", dc.Errors, d, ev.ErrorsPerSec))
	}
	if ifc.CounterReset && ifc.Removed == Present {
		dr.Reasons = append(dr.Reasons, fmt.Sprintf("an interface counter went backwards (reset or re-created interface) during the window: rates use the %.1f s of valid samples", dd.counterSec))
	}

	// Capacity and utilisation.
	capKnown := dc.CapacityBps > 0
	var util float64
	if capKnown {
		c := dc.CapacityBps
		dr.CapacityBps = &c
		util = round(dr.RateBps/float64(c), 4)
		dr.Utilization = &util
		if dr.CapacitySource == "" || dr.CapacitySource == SourceUnknown {
			dr.CapacitySource = "configured"
		}
	} else {
		dr.CapacitySource = SourceUnknown
	}

	// The verdict.
	utilText := func() string {
		return fmt.Sprintf("utilisation %s of %s (%s)", pct(util), fmtBps(float64(dc.CapacityBps)), dr.CapacitySource)
	}
	hasQueue := len(queueEvidence) > 0
	switch {
	case ifc.Removed != Present:
		dr.Verdict = Removed
		dr.Reasons = append(dr.Reasons, removedReason(w, ifc, dd.counterSec))
	case tooShort != "":
		dr.Verdict = Unknown
		dr.Reasons = append(dr.Reasons, tooShort)
	case ifc.CounterReset && dd.counterSec <= 0:
		dr.Verdict = Unknown
		dr.Reasons = append(dr.Reasons, "the counters reset and no valid sample pair is left in the window")
	case capKnown && util >= cfg.CritUtilization:
		dr.Verdict = Saturated
		dr.Reasons = append(dr.Reasons, fmt.Sprintf("%s is at or above the critical threshold %s", utilText(), pct(cfg.CritUtilization)))
		dr.Reasons = append(dr.Reasons, queueEvidence...)
	case capKnown && hasQueue && util >= cfg.WarnUtilization:
		dr.Verdict = Saturated
		dr.Reasons = append(dr.Reasons, fmt.Sprintf("%s is above the warning threshold %s and the queue shows it:", utilText(), pct(cfg.WarnUtilization)))
		dr.Reasons = append(dr.Reasons, queueEvidence...)
	case hasQueue:
		dr.Verdict = Congested
		dr.Reasons = append(dr.Reasons, queueEvidence...)
		if capKnown {
			dr.Reasons = append(dr.Reasons, fmt.Sprintf("%s is below the warning threshold %s: a shaper, bursts or a faulty link, not a full link", utilText(), pct(cfg.WarnUtilization)))
		} else {
			dr.Reasons = append(dr.Reasons, "the capacity is unknown, so whether the link is full cannot be told")
			dr.Advice = append(dr.Advice, linkSpeedAdvice(w, ifc.Name))
		}
	case capKnown:
		dr.Verdict = OK
		if util >= cfg.WarnUtilization {
			dr.Reasons = append(dr.Reasons, fmt.Sprintf("%s is above the warning threshold %s, with no queue drops", utilText(), pct(cfg.WarnUtilization)))
		} else {
			dr.Reasons = append(dr.Reasons, fmt.Sprintf("%s is below the warning threshold %s, with no queue drops", utilText(), pct(cfg.WarnUtilization)))
		}
	case dd.bytes == 0:
		dr.Verdict = OK
		dr.Reasons = append(dr.Reasons, "no traffic in the window")
	default:
		dr.Verdict = Unknown
		dr.Reasons = append(dr.Reasons, fmt.Sprintf("the capacity of %s is unknown and its queue shows no drops or backlog: %s could be full or not", ifc.Name, fmtBps(dr.RateBps)))
		dr.Advice = append(dr.Advice, linkSpeedAdvice(w, ifc.Name))
	}
	switch dr.Verdict {
	case OK:
		dr.Status = StatusOK
		if capKnown && util >= cfg.WarnUtilization && tooShort == "" {
			dr.Status = StatusWarning
		}
	case Congested:
		dr.Status = StatusWarning
	case Saturated:
		dr.Status = StatusCritical
	case Unknown:
		dr.Status = StatusUnknown
	case Removed:
		dr.Status = StatusCritical
	}

	dr.Bursts = burstReport(ifc.Bursts, d, dc.CapacityBps, cfg)
	dr.Coverage = coverage(w, ifc, d, dd, hdr, multi)
	dr.FlowCount = len(dd.flows)
	dr.ExplainedBy, dr.ExplainedShare = explainFlows(dd.flows, dd.flowIP, cfg.ExplainShare, winSec)
	dr.ByProcess = explainByProcess(dd.flows, dd.flowIP, cfg.ExplainShare, winSec)
	dr.ByRemote = explainByRemote(dd.flows, dd.flowIP, cfg.ExplainShare, winSec)
	return dr
}

// removedReason says that ifc disappeared during the window, how, and what
// its counters still cover.
func removedReason(w Window, ifc Interface, counterSec float64) string {
	what := ifc.Name + " was removed during the window"
	if ifc.Removed == RemovedNetns {
		what = "the network namespace of " + ifc.Name + " was deleted during the window, and the interface with it"
	}
	if counterSec <= 0 || !w.Counters {
		return what + ": no counter sample pair is left to judge it by"
	}
	return fmt.Sprintf("%s: its counters cover %.1f s of the %.1f s window, before it disappeared; there is no link left to judge", what, counterSec, w.Duration().Seconds())
}

// linkSpeedAdvice says how to give the capacity of the interface name:
// IF=RATE or the config file, or just RATE for a capture file's own link.
func linkSpeedAdvice(w Window, name string) string {
	if w.Replay != "" && name == ReplayLink {
		// A capture file is one link, named by nothing but the file.
		return "give the capacity with --link-speed RATE (e.g. --link-speed 100M)"
	}
	return fmt.Sprintf("give the capacity with --link-speed %s=RATE (e.g. %s=1G) or links.speeds in the config file", name, name)
}

func kindName(k string) string {
	if k == "" {
		return "root"
	}
	return k
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// round rounds v to n decimals, so reports (and their golden files) do not
// carry float noise.
func round(v float64, n int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	p := math.Pow(10, float64(n))
	return math.Round(v*p) / p
}

// pct formats a ratio as a percentage with one decimal.
// packets is "1 packet" or "N packets".
func packets(n uint64) string {
	if n == 1 {
		return "1 packet"
	}
	return strconv.FormatUint(n, 10) + " packets"
}

func pct(r float64) string {
	return strconv.FormatFloat(r*100, 'f', 1, 64) + "%"
}

// fmtBps formats bits per second with SI prefixes, e.g. "50.0Mb/s".
func fmtBps(v float64) string {
	prefixes := []string{"", "k", "M", "G", "T", "P"}
	i := 0
	for v >= 1000 && i < len(prefixes)-1 {
		v /= 1000
		i++
	}
	// Same digits as views/format.Rate, so reasons and tables agree.
	dec := 0
	switch {
	case i == 0:
	case v < 10:
		dec = 2
	case v < 100:
		dec = 1
	}
	return strconv.FormatFloat(v, 'f', dec, 64) + prefixes[i] + "b/s"
}

// Judge is the verdict rule for one direction with a known capacity
// (capKnown false: unknown) as Evaluate applies it: saturated at or above
// the critical utilisation, or above the warning one with queue evidence
// (drops, a persistent backlog, interface errors); congested with queue
// evidence below it; with no queue evidence ok, or unknown when the
// capacity is. Views that show a verdict without a window (the demo) use
// it, so they follow the documented rules.
func Judge(util float64, capKnown, queueEvidence bool, cfg Thresholds) Verdict {
	switch {
	case capKnown && util >= cfg.CritUtilization:
		return Saturated
	case capKnown && queueEvidence && util >= cfg.WarnUtilization:
		return Saturated
	case queueEvidence:
		return Congested
	case capKnown:
		return OK
	}
	return Unknown
}
