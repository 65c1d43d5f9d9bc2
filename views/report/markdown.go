package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"netriage/triage/verdict"
	"netriage/views/format"
)

// WriteMarkdown writes r as Markdown ready to paste into a ticket: a
// heading with the verdict, a summary table, then one section per
// interface and direction with its explaining flows.
func WriteMarkdown(w io.Writer, r verdict.Report) error {
	r = Sanitized(r)
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "### netriage check: %s\n\n", reportState(&r))
	fmt.Fprintf(b, "%s\n\n", md(Headline(r)))
	src := "live"
	if r.Replay != "" {
		src = "replay of `" + code(r.Replay) + "`"
	}
	fmt.Fprintf(b, "Window %.1f s from %s, %s. Thresholds: warn %s, crit %s of capacity, queue drops %g/s, explain %s of bytes.\n\n",
		r.DurationSec, r.Start.UTC().Format("2006-01-02 15:04:05 UTC"), src,
		format.Percent(r.Thresholds.WarnUtilization), format.Percent(r.Thresholds.CritUtilization), r.Thresholds.MinDropsPerSec, format.Percent(r.Thresholds.ExplainShare))
	for _, n := range r.Notes {
		fmt.Fprintf(b, "> %s\n\n", md(n))
	}
	b.WriteString("| interface | dir | state | rate | capacity | utilisation | qdisc drops/s | coverage |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|\n")
	for i := range r.Interfaces {
		ir := &r.Interfaces[i]
		for _, d := range []verdict.Direction{verdict.TX, verdict.RX} {
			dr := ir.Dir(d)
			capS, util := "unknown", "n/a"
			if dr.CapacityBps != nil {
				capS = rate(float64(*dr.CapacityBps)) + " (" + md(dr.CapacitySource) + ")"
				util = format.Percent(*dr.Utilization)
			}
			drops := "-"
			if dr.Evidence.QueueDropsPerSec != nil {
				drops = fmt.Sprintf("%.1f", *dr.Evidence.QueueDropsPerSec)
			}
			cov := "n/a"
			if dr.Coverage.Ratio != nil {
				cov = format.Percent(*dr.Coverage.Ratio)
			}
			fmt.Fprintf(b, "| %s | %s | **%s** | %s | %s | %s | %s | %s |\n", md(format.Sanitize(ir.Name, maxName)), d, dirState(dr), rate(dr.RateBps), capS, util, drops, cov)
		}
	}
	for i := range r.Interfaces {
		ir := &r.Interfaces[i]
		for _, d := range []verdict.Direction{verdict.TX, verdict.RX} {
			mdDir(b, format.Sanitize(ir.Name, maxName), ir.Dir(d), r.Thresholds)
		}
	}
	mdStack(b, r)
	fmt.Fprintf(b, "\nCapture %s.", md(captureLine(r.Capture)))
	if r.TCPRetransmits != nil {
		fmt.Fprintf(b, " TCP retransmissions (host): %d.", *r.TCPRetransmits)
	}
	b.WriteString("\n")
	if err := b.Flush(); err != nil {
		return fmt.Errorf("report markdown: %w", err)
	}
	return nil
}

// mdStack writes the findings, in the order to look, and the stack
// evidence as a list.
func mdStack(b *bufio.Writer, r verdict.Report) {
	for _, part := range splitFindings(r.Findings) {
		fmt.Fprintf(b, "\n#### %s%s\n\n", strings.ToUpper(part.title[:1]), part.title[1:])
		for i, f := range part.findings {
			fmt.Fprintf(b, "%d. **%s** %s: %s\n", i+1, findingState(f), md(f.Where), md(f.Summary))
			for _, rs := range f.Reasons {
				fmt.Fprintf(b, "   - %s\n", md(rs))
			}
		}
	}
	if r.Stack == nil {
		return
	}
	fmt.Fprintf(b, "\n#### Stack of the namespace over %.1f s\n\nThresholds: %s.\n\n", r.Stack.DurationSec, md(stackThresholds(r.Thresholds)))
	for _, l := range stackLines(r.Stack) {
		fmt.Fprintf(b, "- %s: %s\n", md(l.label), md(l.text))
	}
}

func mdDir(b *bufio.Writer, name string, d *verdict.DirReport, th verdict.Thresholds) {
	fmt.Fprintf(b, "\n#### %s %s: %s\n\n", md(name), d.Direction, dirState(d))
	for _, rs := range d.Reasons {
		fmt.Fprintf(b, "- %s\n", md(rs))
	}
	for _, a := range d.Advice {
		fmt.Fprintf(b, "- **advice:** %s\n", md(a))
	}
	if q := queueLine(d.Evidence); q != "" {
		fmt.Fprintf(b, "- queue: %s\n", md(q))
	}
	if l := burstLine(d, th); l != "" {
		fmt.Fprintf(b, "- bursts: %s\n", md(l))
	}
	e := d.Evidence
	if e.Errors+e.Dropped > 0 {
		fmt.Fprintf(b, "- interface: %d errors, %d dropped\n", e.Errors, e.Dropped)
	}
	fmt.Fprintf(b, "- coverage: %s", md(d.Coverage.Summary))
	if det := coverageDetail(d.Coverage); det != "" {
		fmt.Fprintf(b, " (%s)", md(det))
	}
	b.WriteString("\n")
	for _, rs := range d.Coverage.Reasons {
		fmt.Fprintf(b, "  - %s\n", md(rs))
	}
	if len(d.ExplainedBy) == 0 {
		return
	}
	fmt.Fprintf(b, "\nExplained by %d of %d flows (%s of the captured bytes):\n\n", len(d.ExplainedBy), d.FlowCount, format.Percent(d.ExplainedShare))
	b.WriteString("| share | rate | proto | local | remote | process |\n|---:|---:|---|---|---|---|\n")
	for _, f := range d.ExplainedBy {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", format.Percent(f.Share), rate(f.RateBps), f.Proto,
			md(endpoint(f.LocalAddr, f.LocalPort)), md(format.Sanitize(remote(f), maxName)), md(owner(f)))
	}
	if len(d.ByProcess) > 0 {
		fmt.Fprintf(b, "\nBy process: %s.  \n", md(trimGroups(d.ByProcess)))
	}
	if len(d.ByRemote) > 0 {
		fmt.Fprintf(b, "By remote host: %s.\n", md(trimGroups(d.ByRemote)))
	}
}

// mdSpecial are the characters Markdown (and GitHub's tables) would
// interpret.
var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "|", `\|`, "<", "&lt;", ">", "&gt;",
	"[", `\[`, "]", `\]`, "#", `\#`, "~", `\~`,
)

// md escapes already sanitised text for Markdown.
func md(s string) string { return mdReplacer.Replace(s) }

// code makes s safe inside a `code span`.
func code(s string) string { return strings.ReplaceAll(s, "`", "'") }
