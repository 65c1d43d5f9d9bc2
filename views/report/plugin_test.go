package report

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"netriage/triage/verdict"
)

// perf is one performance-data value as a Nagios-side parser sees it:
// the label unquoted, the other fields as written.
type perf struct {
	label, value, uom, warn, crit, min, max string
}

var (
	valueUOM = regexp.MustCompile(`^(U|-?[0-9.]+)([a-zA-Z%]*)$`)
	rangeRe  = regexp.MustCompile(`^(@?(~|-?[0-9.]+)?(:(-?[0-9.]+)?)?)?$`)
	boundRe  = regexp.MustCompile(`^(-?[0-9.]+)?$`)
	// validUOM are the guidelines' units of measurement.
	validUOM = map[string]bool{"": true, "s": true, "ms": true, "us": true, "%": true, "B": true, "KB": true, "MB": true, "TB": true, "c": true}
)

// parsePlugin splits a plugin's output as Nagios does: the first line's
// text and performance data at its first '|', then the long text (whose
// own '|' would start more performance data).
func parsePlugin(out string) (text, perfdata string, long []string) {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	text, perfdata, _ = strings.Cut(lines[0], "|")
	return strings.TrimSpace(text), strings.TrimSpace(perfdata), lines[1:]
}

// parsePerf reads performance data by the guidelines:
// space-separated 'label'=value[UOM];[warn];[crit];[min];[max], the
// label in single quotes when it has spaces, a quote in it doubled.
func parsePerf(s string) ([]perf, error) {
	var out []perf
	i := 0
	for i < len(s) {
		if s[i] == ' ' {
			i++
			continue
		}
		var label strings.Builder
		if s[i] == '\'' {
			for i++; ; i++ {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated label at %d", i)
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						label.WriteByte('\'')
						i++
						continue
					}
					i++
					break
				}
				label.WriteByte(s[i])
			}
		} else {
			j := strings.IndexAny(s[i:], "= ")
			if j < 0 || s[i+j] != '=' {
				return nil, fmt.Errorf("label without '=' at %d", i)
			}
			label.WriteString(s[i : i+j])
			i += j
		}
		if i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("label %q not followed by '='", label.String())
		}
		i++
		end := strings.IndexByte(s[i:], ' ')
		if end < 0 {
			end = len(s) - i
		}
		fields := strings.Split(s[i:i+end], ";")
		i += end
		if len(fields) > 5 {
			return nil, fmt.Errorf("%q: %d fields", label.String(), len(fields))
		}
		fields = append(fields, make([]string, 5-len(fields))...)
		m := valueUOM.FindStringSubmatch(fields[0])
		if m == nil {
			return nil, fmt.Errorf("%q: value %q", label.String(), fields[0])
		}
		p := perf{label: label.String(), value: m[1], uom: m[2], warn: fields[1], crit: fields[2], min: fields[3], max: fields[4]}
		if !validUOM[p.uom] {
			return nil, fmt.Errorf("%q: unit %q is not one of the guidelines'", p.label, p.uom)
		}
		for _, r := range []string{p.warn, p.crit} {
			if !rangeRe.MatchString(r) {
				return nil, fmt.Errorf("%q: threshold %q", p.label, r)
			}
		}
		for _, b := range []string{p.min, p.max} {
			if !boundRe.MatchString(b) {
				return nil, fmt.Errorf("%q: bound %q", p.label, b)
			}
		}
		if strings.Contains(p.label, "=") {
			return nil, fmt.Errorf("label %q holds '='", p.label)
		}
		out = append(out, p)
	}
	return out, nil
}

// want is one expected metric: its value and fields as numbers (NaN: an
// empty field) and the tolerance of the value's rounding.
type want struct {
	value, warn, crit, min, max float64
	uom                         string
	tol                         float64
}

// expected computes every metric of r from the report's own fields.
func expected(r verdict.Report, label func(string) string) map[string]want {
	none := math.NaN()
	th := r.Thresholds
	out := map[string]want{}
	for i := range r.Interfaces {
		ir := &r.Interfaces[i]
		for _, d := range []verdict.Direction{verdict.TX, verdict.RX} {
			dr := ir.Dir(d)
			lab := label(ir.Name) + " " + d.String() + " "
			bps := want{value: dr.RateBps, warn: none, crit: none, min: 0, max: none, tol: 0.5}
			if dr.CapacityBps != nil {
				c := float64(*dr.CapacityBps)
				bps.warn, bps.crit, bps.max = th.WarnUtilization*c, th.CritUtilization*c, c
				out[lab+"utilisation"] = want{value: *dr.Utilization * 100, uom: "%", warn: th.WarnUtilization * 100, crit: th.CritUtilization * 100, min: 0, max: none, tol: 0.005}
			}
			out[lab+"bps"] = bps
			if e := dr.Evidence; e.QueueDrops != nil {
				out[lab+"qdisc drops"] = want{value: float64(*e.QueueDropsTotal), uom: "c", warn: none, crit: none, min: 0, max: none}
				out[lab+"qdisc drop rate"] = want{value: *e.QueueDropsPerSec, warn: th.MinDropsPerSec, crit: none, min: 0, max: none, tol: 0.0005}
			}
			if b := dr.Bursts; b != nil && b.PeakUtilization != nil {
				out[lab+"peak utilisation"] = want{value: *b.PeakUtilization * 100, uom: "%", warn: none, crit: th.CritUtilization * 100, min: 0, max: none, tol: 0.005}
			}
			if c := dr.Coverage.Ratio; c != nil {
				out[lab+"coverage"] = want{value: *c * 100, uom: "%", warn: none, crit: none, min: 0, max: none, tol: 0.005}
			}
		}
	}
	if st := r.Stack; st != nil {
		for _, n := range st.NICs {
			if n.Note == "" {
				out[label(n.Interface)+" nic drop rate"] = want{value: n.Lost.PerSec, warn: none, crit: th.NICDropsPerSec, min: 0, max: none, tol: 0.0005}
			}
		}
		if sn := st.Softnet; sn != nil {
			out["softirq drop rate"] = want{value: sn.Dropped.PerSec, warn: none, crit: th.SoftirqDropsPerSec, min: 0, max: none, tol: 0.0005}
		}
		if c := st.Conntrack; c != nil && c.Max > 0 {
			out["conntrack fill"] = want{value: c.PeakFill * 100, uom: "%", warn: none, crit: th.ConntrackFullRatio * 100, min: 0, max: 100, tol: 0.005}
		}
		if e := st.EndpointDrops; e != nil {
			out["endpoint drop rate"] = want{value: e.PerSec, warn: th.EndpointDropsPerSec, crit: none, min: 0, max: none, tol: 0.0005}
		}
	}
	return out
}

func field(t *testing.T, label, name, s string, w float64) {
	t.Helper()
	if math.IsNaN(w) {
		if s != "" {
			t.Errorf("%q: %s %q, want empty", label, name, s)
		}
		return
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.Abs(v-w) > 0.5e-6*math.Max(1, math.Abs(w)) {
		t.Errorf("%q: %s %q, want %v", label, name, s, w)
	}
}

// TestPluginOutput reads every fixture's text report as a monitoring
// system does: a status line "NETRIAGE STATE - summary" with the state of
// the exit code, performance data that parses by the guidelines and holds
// every metric of the report with its thresholds, and a long text without
// '|'.
func TestPluginOutput(t *testing.T) {
	words := `(saturated|congested|removed|bursty|nic-drops|softirq-drops|conntrack-full|endpoint-drops)`
	status := regexp.MustCompile(`^NETRIAGE (OK|WARNING|CRITICAL|UNKNOWN)( \(` + words + `(, ` + words + `)*\))? - [^|]+$`)
	for name, r := range reports(t) {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, r); err != nil {
				t.Fatal(err)
			}
			text, pd, long := parsePlugin(b.String())
			m := status.FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("status line %q is not NETRIAGE STATE - summary", text)
			}
			if m[1] != r.Status.String() {
				t.Errorf("state %s, the exit code says %s", m[1], r.Status)
			}
			if strings.Contains(text, "OK - OK") || strings.Contains(text, "UNKNOWN - UNKNOWN") {
				t.Errorf("status line repeats itself: %q", text)
			}
			for _, l := range long {
				if strings.Contains(l, "|") {
					t.Errorf("long text line with '|' (long performance data): %q", l)
				}
			}
			got, err := parsePerf(pd)
			if err != nil {
				t.Fatalf("performance data %q: %v", pd, err)
			}
			exp := expected(Sanitized(r), PerfLabel)
			seen := map[string]bool{}
			for _, p := range got {
				w, ok := exp[p.label]
				if !ok {
					t.Errorf("unexpected metric %q", p.label)
					continue
				}
				if seen[p.label] {
					t.Errorf("metric %q twice", p.label)
				}
				seen[p.label] = true
				if strings.ContainsAny(p.label, "'\"`") {
					t.Errorf("label %q holds a quote character", p.label)
				}
				if p.uom != w.uom {
					t.Errorf("%q: unit %q, want %q", p.label, p.uom, w.uom)
				}
				v, err := strconv.ParseFloat(p.value, 64)
				if err != nil || math.Abs(v-w.value) > w.tol+1e-9 {
					t.Errorf("%q: value %q, want %v", p.label, p.value, w.value)
				}
				field(t, p.label, "warn", p.warn, w.warn)
				field(t, p.label, "crit", p.crit, w.crit)
				field(t, p.label, "min", p.min, w.min)
				field(t, p.label, "max", p.max, w.max)
			}
			for l := range exp {
				if !seen[l] {
					t.Errorf("metric %q missing from %q", l, pd)
				}
			}
		})
	}
}

// The hostile names' labels: sanitised, no '=' or quote, white space gone.
func TestPerfLabels(t *testing.T) {
	r := reports(t)["hostile_ifnames"]
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	_, pd, _ := parsePlugin(b.String())
	got, err := parsePerf(pd)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	for _, p := range got {
		labels[p.label] = true
	}
	for _, l := range []string{"e_0__a_b_?[2J tx utilisation", "e_0__a_b_?[2J tx bps", "wg_1__ rx bps", "wg_1__ tx bps"} {
		if !labels[l] {
			t.Errorf("no metric %q in %v", l, labels)
		}
	}
	// A label with a quote doubled, as the guidelines allow, parses back.
	ps, err := parsePerf(`'it''s a label'=5%;80;95;0 plain=3c`)
	if err != nil || len(ps) != 2 || ps[0].label != "it's a label" || ps[0].uom != "%" || ps[1].label != "plain" || ps[1].uom != "c" {
		t.Errorf("parser: %+v, %v", ps, err)
	}
}

// The headline says what the summary says, without the state, except
// that a direction ok above the warning threshold is not called ok.
func TestHeadline(t *testing.T) {
	for name, r := range reports(t) {
		warnOK := false
		for i := range r.Interfaces {
			for _, d := range []verdict.Direction{verdict.RX, verdict.TX} {
				if dr := r.Interfaces[i].Dir(d); dr.Verdict == verdict.OK && dr.Status == verdict.StatusWarning {
					warnOK = true
				}
			}
		}
		h := Headline(r)
		if want := strings.TrimPrefix(r.Summary, r.Status.String()+": "); !warnOK && h != want {
			t.Errorf("%s: headline %q, summary %q", name, h, r.Summary)
		}
		if warnOK && (strings.Contains(h, " ok") || !strings.Contains(h, "above the 80.0% warning threshold")) {
			t.Errorf("%s: headline %q", name, h)
		}
	}
}
