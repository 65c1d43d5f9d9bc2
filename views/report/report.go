// Package report renders a saturation verdict (verdict.Report) as text for
// a terminal and a monitoring system, as Markdown for a ticket or a chat
// channel, and as JSON for scripts. It is pure: renderers write to an
// io.Writer and read no clock.
//
// # Plugin output
//
// The text follows the monitoring-plugin convention (the Nagios plugin
// guidelines): a status line "NETRIAGE STATE - summary | performance
// data" (StatusLine, Metrics), then the details as the long text, with no
// '|' outside the performance data.
//
// # Untrusted text
//
// Process names, container names, DNS names, interface names and the
// capture filter are untrusted: every renderer passes them through
// format.Sanitize (and Markdown additionally escapes its own syntax).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"netriage/triage/verdict"
	"netriage/views/format"
)

// maxName caps untrusted names in text and Markdown output.
const maxName = 60

// Format is an output format of Write.
type Format string

// Formats.
const (
	Text     Format = "text"
	Markdown Format = "markdown"
	JSON     Format = "json"
)

// Formats lists the accepted formats, the default first.
var Formats = []string{string(Text), string(JSON), string(Markdown)}

// Write renders r in format f to w.
func Write(w io.Writer, r verdict.Report, f Format) error {
	switch f {
	case Text:
		return WriteText(w, r)
	case Markdown:
		return WriteMarkdown(w, r)
	case JSON:
		return WriteJSON(w, r)
	}
	return fmt.Errorf("report: unknown format %q", f)
}

// WriteJSON writes r as one line of JSON (an NDJSON record) with untrusted
// strings sanitised.
func WriteJSON(w io.Writer, r verdict.Report) error {
	b, err := json.Marshal(Sanitized(r))
	if err != nil {
		return fmt.Errorf("report json: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("report json: %w", err)
	}
	return nil
}

// Sanitized returns a copy of r whose untrusted strings (names, programs,
// containers, the filter) are safe for a terminal. r is not modified.
func Sanitized(r verdict.Report) verdict.Report {
	s := func(v string) string { return format.Sanitize(v, 0) }
	out := r
	out.Capture.Filter = s(r.Capture.Filter)
	out.Capture.LocalNet = s(r.Capture.LocalNet)
	out.Capture.Interfaces = make([]string, len(r.Capture.Interfaces))
	for i, n := range r.Capture.Interfaces {
		out.Capture.Interfaces[i] = s(n)
	}
	out.Replay = s(r.Replay)
	out.Summary = s(r.Summary)
	out.Notes = sanitizeAll(r.Notes)
	out.Interfaces = make([]verdict.IfaceReport, len(r.Interfaces))
	for i, ir := range r.Interfaces {
		ir.Name = s(ir.Name)
		for _, d := range []verdict.Direction{verdict.RX, verdict.TX} {
			dr := ir.Dir(d)
			dr.Reasons = sanitizeAll(dr.Reasons)
			dr.Advice = sanitizeAll(dr.Advice)
			dr.Coverage.Summary = s(dr.Coverage.Summary)
			dr.Coverage.Reasons = sanitizeAll(dr.Coverage.Reasons)
			ef := make([]verdict.ExplainedFlow, len(dr.ExplainedBy))
			for j, e := range dr.ExplainedBy {
				e.RemoteName = s(e.RemoteName)
				if e.Owner != nil {
					o := *e.Owner
					o.Program, o.Container, o.Unattributed = s(o.Program), s(o.Container), s(o.Unattributed)
					e.Owner = &o
				}
				ef[j] = e
			}
			dr.ExplainedBy = ef
			dr.ByProcess = sanitizeGroups(dr.ByProcess)
			dr.ByRemote = sanitizeGroups(dr.ByRemote)
		}
		out.Interfaces[i] = ir
	}
	out.Findings = make([]verdict.Finding, len(r.Findings))
	for i, f := range r.Findings {
		f.Where, f.Summary, f.Reasons = s(f.Where), s(f.Summary), sanitizeAll(f.Reasons)
		if f.Sockets != nil {
			f.Sockets = append([]verdict.EndpointSocketReport(nil), f.Sockets...)
			for j := range f.Sockets {
				f.Sockets[j].Program = s(f.Sockets[j].Program)
			}
		}
		out.Findings[i] = f
	}
	if r.Stack != nil {
		st := *r.Stack
		st.Absent = sanitizeAll(st.Absent)
		st.NICs = make([]verdict.NICReport, len(r.Stack.NICs))
		for i, n := range r.Stack.NICs {
			n.Interface, n.Driver, n.Note = s(n.Interface), s(n.Driver), s(n.Note)
			cs := make([]verdict.NICCounterReport, len(n.Counters))
			for j, c := range n.Counters {
				c.Name = s(c.Name)
				cs[j] = c
			}
			n.Counters = cs
			st.NICs[i] = n
		}
		st.BQL = make([]verdict.BQLReport, len(r.Stack.BQL))
		for i, b := range r.Stack.BQL {
			b.Interface, b.Note = s(b.Interface), s(b.Note)
			st.BQL[i] = b
		}
		out.Stack = &st
	}
	return out
}

func sanitizeAll(in []string) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = format.Sanitize(v, 0)
	}
	return out
}

func sanitizeGroups(in []verdict.Group) []verdict.Group {
	out := make([]verdict.Group, len(in))
	for i, g := range in {
		g.Name = format.Sanitize(g.Name, 0)
		out[i] = g
	}
	return out
}

// rate formats bits per second the way the rest of netriage does.
func rate(bps float64) string { return format.Rate(bps/8, format.Units{}) }

func endpoint(addr string, port *uint16) string {
	if port == nil {
		return addr
	}
	if strings.Contains(addr, ":") {
		return "[" + addr + "]:" + strconv.Itoa(int(*port))
	}
	return addr + ":" + strconv.Itoa(int(*port))
}

// owner is the flow's owner, sanitised to maxName, with what limits its
// connection when that is known ("; limited by the receiver").
func owner(e verdict.ExplainedFlow) string {
	if e.Owner == nil {
		return "-"
	}
	s := format.Sanitize(verdict.OwnerLabel(e.Owner), maxName)
	if l := verdict.LimitText(e.Owner); l != "" {
		s += "; " + l
	}
	return s
}

func remote(e verdict.ExplainedFlow) string {
	r := endpoint(e.RemoteAddr, e.RemotePort)
	if e.RemoteName != "" {
		r += " (" + e.RemoteName + ")"
	}
	return r
}

// capacity describes a direction's rate against its capacity.
func capacity(d *verdict.DirReport) string {
	if d.CapacityBps == nil {
		return rate(d.RateBps) + ", capacity unknown"
	}
	return fmt.Sprintf("%s of %s (%s) = %s", rate(d.RateBps), rate(float64(*d.CapacityBps)), d.CapacitySource, format.Percent(*d.Utilization))
}

// queueLine summarises the queue evidence, "" when there is no qdisc.
func queueLine(e verdict.Evidence) string {
	if e.QueueDrops == nil {
		return ""
	}
	kind := e.QueueKind
	if kind == "" {
		kind = "root qdisc"
	}
	persist := ""
	if e.BacklogPersistent {
		persist = ", persistent"
	}
	return fmt.Sprintf("%s: drops %d (%.1f/s), backlog up to %s / %d pkts%s, overlimits %d (%.1f/s)",
		kind, *e.QueueDrops, *e.QueueDropsPerSec, format.Bytes(e.BacklogBytes, false), e.BacklogPackets, persist, e.Overlimits, e.OverlimitsPerSec)
}

// burstLine summarises the burst sampler's view of a direction, "" when
// no sampler ran: the busiest window's rate and utilisation, the time at
// or above the thresholds, and the queue's drops and largest backlog it
// read.
func burstLine(d *verdict.DirReport, th verdict.Thresholds) string {
	b := d.Bursts
	if b == nil {
		return ""
	}
	if b.Intervals == 0 {
		return fmt.Sprintf("no %g ms interval sampled (%d failed reads)", b.IntervalMs, b.Errors)
	}
	s := fmt.Sprintf("peak %g ms %s", b.IntervalMs, rate(b.PeakBps))
	if b.PeakUtilization != nil {
		s += fmt.Sprintf(" = %s, %.1f s at or above %s and %.1f s above %s of %.1f s sampled",
			format.Percent(*b.PeakUtilization), b.AboveCritSec, format.Percent(th.CritUtilization), b.AboveWarnSec, format.Percent(th.WarnUtilization), b.SampledSec)
	} else {
		s += fmt.Sprintf(" (capacity unknown), %.1f s sampled", b.SampledSec)
	}
	if b.QueueDrops != nil {
		s += fmt.Sprintf("; queue drops %d, backlog up to %s / %d pkts", *b.QueueDrops, format.Bytes(b.MaxBacklogBytes, false), b.MaxBacklogPackets)
	}
	return s
}

func coverageDetail(c verdict.Coverage) string {
	if c.Ratio == nil {
		return ""
	}
	return fmt.Sprintf("%s IP + %d B × %d pkts = %s vs %s counted by the interface (%d pkts)",
		format.Bytes(c.FlowIPBytes, false), c.LinkHeaderBytes, c.FlowPackets, format.Bytes(c.FlowLinkBytes, false), format.Bytes(c.InterfaceBytes, false), c.InterfacePackets)
}

func groups(gs []verdict.Group) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = fmt.Sprintf("%s %s", g.Name, format.Percent(g.Share))
	}
	return strings.Join(parts, ", ")
}

func captureLine(c verdict.CaptureReport) string {
	if !c.Active {
		return "no packet capture"
	}
	f := "none"
	if c.Filter != "" {
		f = strconv.Quote(c.Filter)
	}
	return fmt.Sprintf("on %s: %d packets, %d kernel drops, %d evicted flows, %d non-IP, %d truncated; filter %s",
		strings.Join(c.Interfaces, ","), c.Packets, c.KernelDrops, c.EvictedFlows, c.NonIP, c.Truncated, f)
}
