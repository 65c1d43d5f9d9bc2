package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"netriage/triage/verdict"
	"netriage/views/format"
)

// This file is the monitoring-plugin side of the text report (the Nagios
// plugin guidelines, kept by the Monitoring Plugins project): one status
// line "NETRIAGE STATE - summary | performance data", then the long text.

// Service is the service name the status line starts with.
const Service = "NETRIAGE"

// Metric is one value of the performance data, written
// 'label'=value[UOM];[warn];[crit];[min];[max]. A nil threshold or bound
// is left empty.
type Metric struct {
	// Label names the metric; String quotes it. It holds no '=' and no
	// quote characters (PerfLabel).
	Label string
	// Value is in the unit UOM names: "" (a plain number, bits per second
	// here), "%", or "c" (a continuous counter).
	Value float64
	UOM   string
	// Warn and Crit are the check's thresholds in the value's unit, Min
	// and Max its bounds.
	Warn, Crit, Min, Max *float64
}

// String writes m in the performance-data syntax: numbers in plain
// decimal (no exponent), trailing empty fields dropped.
func (m Metric) String() string {
	var b strings.Builder
	b.WriteString("'" + m.Label + "'=" + num(m.Value) + m.UOM)
	fields := []*float64{m.Warn, m.Crit, m.Min, m.Max}
	n := len(fields)
	for n > 0 && fields[n-1] == nil {
		n--
	}
	for _, f := range fields[:n] {
		b.WriteByte(';')
		if f != nil {
			b.WriteString(num(*f))
		}
	}
	return b.String()
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// roundTo rounds v to d decimals.
func roundTo(v float64, d int) float64 {
	p := math.Pow10(d)
	return math.Round(v*p) / p
}

func ptr(v float64) *float64 { return &v }

// PerfLabel makes an interface name safe inside a quoted label: control
// characters sanitised, and '=', quote characters, '|' and white space
// (which end a label or the performance data in some parsers) turned into
// '_'.
func PerfLabel(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '=' || r == '\'' || r == '"' || r == '|' || r == '`' || unicode.IsSpace(r):
			return '_'
		}
		return r
	}, format.Sanitize(name, maxName))
}

// Metrics returns the performance data of r, per interface and direction
// (tx first, as the text shows them):
//
//   - "IF DIR utilisation" in %, warn and crit the utilisation thresholds,
//     min 0 (no max: a rate may exceed a configured capacity);
//   - "IF DIR bps", the rate in bits per second (plain number), warn and
//     crit the thresholds times the capacity, min 0, max the capacity;
//   - "IF DIR qdisc drops", the root qdisc's own drop counter (c: the
//     monitoring system takes the differences), min 0;
//   - "IF DIR qdisc drop rate", drops per second in the window, warn the
//     drop-rate threshold (queue evidence), min 0;
//   - "IF DIR coverage" in %, the share of the interface's bytes the flows
//     explain, min 0 (it does not change the state: no thresholds);
//
// "IF DIR peak utilisation" in %, the busiest burst-sampler window's
// utilisation, crit the critical threshold, min 0 (with a burst sampler
// and a known capacity);
// then, when the stack counters were read:
//
//   - "IF nic drop rate", the NIC's lost packets per second, crit the
//     nic-drops threshold, min 0 (interfaces whose driver has statistics);
//   - "softirq drop rate", crit the softirq-drops threshold, min 0;
//   - "conntrack fill" in %, the highest fill of the window, crit the
//     conntrack-full ratio, min 0, max 100 (when the table's size is known);
//   - "endpoint drop rate", warn the endpoint-drops threshold, min 0.
//
// A value the report does not know (utilisation without a capacity,
// coverage n/a, qdisc figures without a qdisc) is left out rather than
// written as the guidelines' "U", which many graphing tools reject.
func Metrics(r verdict.Report) []Metric {
	th := r.Thresholds
	var out []Metric
	for i := range r.Interfaces {
		ir := &r.Interfaces[i]
		name := PerfLabel(ir.Name)
		for _, d := range []verdict.Direction{verdict.TX, verdict.RX} {
			dr := ir.Dir(d)
			lab := name + " " + d.String() + " "
			if dr.Utilization != nil {
				out = append(out, Metric{Label: lab + "utilisation", Value: roundTo(*dr.Utilization*100, 2), UOM: "%",
					Warn: ptr(roundTo(th.WarnUtilization*100, 2)), Crit: ptr(roundTo(th.CritUtilization*100, 2)), Min: ptr(0)})
			}
			bps := Metric{Label: lab + "bps", Value: math.Round(dr.RateBps), Min: ptr(0)}
			if c := dr.CapacityBps; c != nil {
				capBps := float64(*c)
				bps.Warn, bps.Crit, bps.Max = ptr(math.Round(th.WarnUtilization*capBps)), ptr(math.Round(th.CritUtilization*capBps)), ptr(capBps)
			}
			out = append(out, bps)
			e := dr.Evidence
			if e.QueueDropsTotal != nil {
				out = append(out, Metric{Label: lab + "qdisc drops", Value: float64(*e.QueueDropsTotal), UOM: "c", Min: ptr(0)})
			}
			if e.QueueDropsPerSec != nil {
				out = append(out, Metric{Label: lab + "qdisc drop rate", Value: roundTo(*e.QueueDropsPerSec, 3),
					Warn: ptr(th.MinDropsPerSec), Min: ptr(0)})
			}
			if b := dr.Bursts; b != nil && b.PeakUtilization != nil {
				out = append(out, Metric{Label: lab + "peak utilisation", Value: roundTo(*b.PeakUtilization*100, 2), UOM: "%",
					Crit: ptr(roundTo(th.CritUtilization*100, 2)), Min: ptr(0)})
			}
			if c := dr.Coverage.Ratio; c != nil {
				out = append(out, Metric{Label: lab + "coverage", Value: roundTo(*c*100, 2), UOM: "%", Min: ptr(0)})
			}
		}
	}
	if st := r.Stack; st != nil {
		for _, n := range st.NICs {
			if n.Note == "" {
				out = append(out, Metric{Label: PerfLabel(n.Interface) + " nic drop rate", Value: roundTo(n.Lost.PerSec, 3), Crit: ptr(th.NICDropsPerSec), Min: ptr(0)})
			}
		}
		if sn := st.Softnet; sn != nil {
			out = append(out, Metric{Label: "softirq drop rate", Value: roundTo(sn.Dropped.PerSec, 3), Crit: ptr(th.SoftirqDropsPerSec), Min: ptr(0)})
		}
		if c := st.Conntrack; c != nil && c.Max > 0 {
			out = append(out, Metric{Label: "conntrack fill", Value: roundTo(c.PeakFill*100, 2), UOM: "%", Crit: ptr(roundTo(th.ConntrackFullRatio*100, 2)), Min: ptr(0), Max: ptr(100)})
		}
		if e := st.EndpointDrops; e != nil {
			out = append(out, Metric{Label: "endpoint drop rate", Value: roundTo(e.PerSec, 3), Warn: ptr(th.EndpointDropsPerSec), Min: ptr(0)})
		}
	}
	return out
}

// StatusLine returns the report's first line in the monitoring-plugin
// form: "NETRIAGE STATE - summary | performance data" (the state says
// what the verdict adds to it: "CRITICAL (saturated)").
func StatusLine(r verdict.Report) string {
	r = Sanitized(r)
	line := Service + " " + reportState(&r) + " - " + noPipe(Headline(r))
	ms := Metrics(r)
	if len(ms) == 0 {
		return line
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return line + " | " + strings.Join(parts, " ")
}

// noPipe replaces '|' in text of the plugin output: there it would start
// the performance data (on the first line) or the long performance data
// (on a later one).
func noPipe(s string) string { return strings.ReplaceAll(s, "|", "¦") }

// reportState is the report's plugin state, with the worst verdict and
// the stack rules in that state when they say more: "CRITICAL
// (saturated)", "WARNING (congested)", "CRITICAL (nic-drops,
// softirq-drops)", "OK".
func reportState(r *verdict.Report) string {
	var words []string
	switch r.Verdict {
	case verdict.Saturated, verdict.Congested, verdict.Removed:
		if linkStatus(r) == r.Status {
			words = append(words, r.Verdict.String())
		}
	}
	for _, f := range r.Findings {
		if f.Status == r.Status && !slices.Contains(words, f.Rule) {
			words = append(words, f.Rule)
		}
	}
	if len(words) == 0 {
		return r.Status.String()
	}
	return r.Status.String() + " (" + strings.Join(words, ", ") + ")"
}

// linkStatus is the worst status of the report's directions.
func linkStatus(r *verdict.Report) verdict.Status {
	s := verdict.StatusOK
	for i := range r.Interfaces {
		for _, d := range []verdict.Direction{verdict.RX, verdict.TX} {
			s = s.Worse(r.Interfaces[i].Dir(d).Status)
		}
	}
	return s
}

// dirState is a direction's plugin state, with its verdict when it says
// more: "CRITICAL (saturated)", "WARNING (above the warning threshold)"
// for an ok verdict in the warning state, "OK", "UNKNOWN".
func dirState(d *verdict.DirReport) string {
	switch {
	case d.Verdict == verdict.OK && d.Status == verdict.StatusWarning:
		return d.Status.String() + " (above the warning threshold)"
	case d.Verdict == verdict.Saturated, d.Verdict == verdict.Congested, d.Verdict == verdict.Removed:
		return d.Status.String() + " (" + d.Verdict.String() + ")"
	}
	return d.Status.String()
}

// Headline is the report's summary without its state, for the status
// line and the Markdown heading: the directions in the report's state,
// each with its verdict and numbers. It says the same as Report.Summary
// but words a direction that is ok above the warning threshold as such
// ("eth0 tx at 84.0% of 10.0Mb/s (ethtool), above the 80.0% warning
// threshold"), never as "ok" in a WARNING. Names are as in r: sanitise
// first.
func Headline(r verdict.Report) string {
	n := len(r.Interfaces)
	switch {
	case n == 0:
		return "no interface to judge"
	case r.Status == verdict.StatusOK:
		return format.Plural(n, "interface") + ", every direction ok"
	}
	var parts []string
	for i := range r.Interfaces {
		ir := &r.Interfaces[i]
		if ir.RX.Verdict == verdict.Removed && r.Status == verdict.StatusCritical {
			parts = append(parts, ir.Name+" removed during the window")
			continue
		}
		for _, d := range []verdict.Direction{verdict.RX, verdict.TX} {
			dr := ir.Dir(d)
			if dr.Status != r.Status {
				continue
			}
			var det []string
			if dr.Utilization != nil {
				det = append(det, fmt.Sprintf("%s of %s (%s)", format.Percent(*dr.Utilization), rate(float64(*dr.CapacityBps)), dr.CapacitySource))
			} else {
				det = append(det, rate(dr.RateBps))
			}
			if q := dr.Evidence.QueueDropsPerSec; q != nil && *q > 0 {
				det = append(det, fmt.Sprintf("qdisc drops %.1f/s", *q))
			}
			if k := len(dr.ExplainedBy); k > 0 && dr.Verdict != verdict.OK {
				verb := "explain"
				if k == 1 {
					verb = "explains"
				}
				det = append(det, format.Plural(k, "flow")+" "+verb+" "+format.Percent(dr.ExplainedShare))
			}
			head := ir.Name + " " + d.String()
			if dr.Verdict == verdict.OK && dr.Status == verdict.StatusWarning {
				parts = append(parts, head+" at "+strings.Join(det, ", ")+", above the "+format.Percent(r.Thresholds.WarnUtilization)+" warning threshold")
				continue
			}
			parts = append(parts, head+" "+dr.Verdict.String()+": "+strings.Join(det, ", "))
		}
	}
	for _, f := range r.Findings {
		if f.Status == r.Status {
			parts = append(parts, f.Summary)
		}
	}
	return strings.Join(parts, "; ")
}
