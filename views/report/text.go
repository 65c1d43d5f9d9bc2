package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"netriage/triage/verdict"
	"netriage/views/format"
)

// WriteText writes r for a terminal and for a monitoring system: the
// status line (StatusLine: state, summary and performance data), then, as
// the plugin's long text, per interface and direction the evidence,
// coverage and the explaining flows. No '|' is left in the long text
// (noPipe), where it would start performance data.
func WriteText(w io.Writer, r verdict.Report) error {
	r = Sanitized(r)
	var body strings.Builder
	b := bufio.NewWriter(&body)
	src := "live"
	if r.Replay != "" {
		src = "replay of " + r.Replay
	}
	fmt.Fprintf(b, "window: %.1f s from %s (%s); thresholds: warn %s, crit %s, drops %g/s, explain %s\n",
		r.DurationSec, r.Start.UTC().Format("2006-01-02 15:04:05 UTC"), src,
		format.Percent(r.Thresholds.WarnUtilization), format.Percent(r.Thresholds.CritUtilization), r.Thresholds.MinDropsPerSec, format.Percent(r.Thresholds.ExplainShare))
	for _, n := range r.Notes {
		fmt.Fprintf(b, "note: %s\n", n)
	}
	for i := range r.Interfaces {
		ir := &r.Interfaces[i]
		for _, d := range []verdict.Direction{verdict.TX, verdict.RX} {
			textDir(b, format.Sanitize(ir.Name, maxName), ir.Dir(d), r.Thresholds)
		}
	}
	textStack(b, r)
	fmt.Fprintf(b, "\ncapture %s\n", captureLine(r.Capture))
	if r.TCPRetransmits != nil {
		fmt.Fprintf(b, "TCP retransmissions (host, sock_diag): %d\n", *r.TCPRetransmits)
	}
	_ = b.Flush() // into a strings.Builder: cannot fail
	if _, err := io.WriteString(w, StatusLine(r)+"\n"+noPipe(body.String())); err != nil {
		return fmt.Errorf("report text: %w", err)
	}
	return nil
}

// findingPart is one heading's findings: where packets are lost, or the
// egress budgets.
type findingPart struct {
	title    string
	findings []verdict.Finding
}

// splitFindings puts the loss findings first, in their order, then the
// egress budgets'; a part without findings is left out.
func splitFindings(fs []verdict.Finding) []findingPart {
	loss := findingPart{title: "where packets are lost, in the order to look"}
	budgets := findingPart{title: "egress budgets over their warning"}
	for _, f := range fs {
		if f.Rule == verdict.RuleEgressBudget {
			budgets.findings = append(budgets.findings, f)
		} else {
			loss.findings = append(loss.findings, f)
		}
	}
	var out []findingPart
	for _, p := range []findingPart{loss, budgets} {
		if len(p.findings) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// textStack writes the findings, in the order to look, then the stack
// evidence; nothing when the stack counters were not read.
func textStack(b *bufio.Writer, r verdict.Report) {
	for _, part := range splitFindings(r.Findings) {
		fmt.Fprintf(b, "\n%s:\n", part.title)
		for i, f := range part.findings {
			fmt.Fprintf(b, "  %d. %s  %s  %s\n", i+1, f.Where, findingState(f), f.Summary)
			for _, rs := range f.Reasons {
				fmt.Fprintf(b, "     - %s\n", rs)
			}
		}
	}
	if r.Stack == nil {
		return
	}
	fmt.Fprintf(b, "\nstack of the namespace over %.1f s (thresholds: %s):\n", r.Stack.DurationSec, stackThresholds(r.Thresholds))
	lines := stackLines(r.Stack)
	w := 0
	for _, l := range lines {
		w = max(w, len([]rune(l.label)))
	}
	for _, l := range lines {
		fmt.Fprintf(b, "  %s:%s %s\n", l.label, strings.Repeat(" ", w-len([]rune(l.label))), l.text)
	}
}

func textDir(b *bufio.Writer, name string, d *verdict.DirReport, th verdict.Thresholds) {
	fmt.Fprintf(b, "\n%s %s  %s  %s\n", name, d.Direction, dirState(d), capacity(d))
	for i, rs := range d.Reasons {
		lead := "  why:      "
		if i > 0 {
			lead = "            "
		}
		fmt.Fprintf(b, "%s%s\n", lead, rs)
	}
	for _, a := range d.Advice {
		fmt.Fprintf(b, "  advice:   %s\n", a)
	}
	if q := queueLine(d.Evidence); q != "" {
		fmt.Fprintf(b, "  queue:    %s\n", q)
	}
	if l := burstLine(d, th); l != "" {
		fmt.Fprintf(b, "  bursts:   %s\n", l)
	}
	e := d.Evidence
	fmt.Fprintf(b, "  link:     %d errors (%.1f/s), %d dropped (%.1f/s)\n", e.Errors, e.ErrorsPerSec, e.Dropped, e.DroppedPerSec)
	fmt.Fprintf(b, "  coverage: %s\n", d.Coverage.Summary)
	if det := coverageDetail(d.Coverage); det != "" {
		fmt.Fprintf(b, "            %s\n", det)
	}
	for _, rs := range d.Coverage.Reasons {
		fmt.Fprintf(b, "            - %s\n", rs)
	}
	if len(d.ExplainedBy) == 0 {
		if d.FlowCount == 0 {
			fmt.Fprintf(b, "  flows:    none in this direction\n")
		}
		return
	}
	fmt.Fprintf(b, "  explained by %d of %d flows (%s of the captured bytes):\n", len(d.ExplainedBy), d.FlowCount, format.Percent(d.ExplainedShare))
	rows := [][]string{{"SHARE", "RATE", "PROTO", "LOCAL", "REMOTE", "PROCESS"}}
	for _, f := range d.ExplainedBy {
		rows = append(rows, []string{
			format.Percent(f.Share), rate(f.RateBps), f.Proto,
			endpoint(f.LocalAddr, f.LocalPort),
			format.Sanitize(remote(f), maxName), owner(f),
		})
	}
	writeColumns(b, "    ", rows)
	if len(d.ByProcess) > 0 {
		fmt.Fprintf(b, "  by process: %s\n", trimGroups(d.ByProcess))
	}
	if len(d.ByRemote) > 0 {
		fmt.Fprintf(b, "  by remote:  %s\n", trimGroups(d.ByRemote))
	}
}

func trimGroups(gs []verdict.Group) string {
	c := make([]verdict.Group, len(gs))
	for i, g := range gs {
		g.Name = format.Sanitize(g.Name, maxName)
		c[i] = g
	}
	return groups(c)
}

// writeColumns writes rows left-aligned in columns two spaces apart.
func writeColumns(b *bufio.Writer, indent string, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, r := range rows {
		var line strings.Builder
		line.WriteString(indent)
		for i, c := range r {
			line.WriteString(c)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
}
