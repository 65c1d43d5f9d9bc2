package report

import (
	"fmt"
	"strconv"
	"strings"

	"netriage/triage/verdict"
	"netriage/views/format"
)

// findingState is a finding's plugin state with its rule: "CRITICAL
// (nic-drops)".
func findingState(f verdict.Finding) string { return f.Status.String() + " (" + f.Rule + ")" }

// stackLine is one labelled line of the stack evidence.
type stackLine struct{ label, text string }

// count words a count and its rate: "5000 (500.0/s)", "0".
func count(c verdict.Count) string {
	if c.Count == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%.1f/s)", c.Count, c.PerSec)
}

// stackThresholds words the stack rules' thresholds.
func stackThresholds(th verdict.Thresholds) string {
	ct := "any failure"
	if th.ConntrackDropsPerSec > 0 {
		ct = fmt.Sprintf("failures %g/s", th.ConntrackDropsPerSec)
	}
	return fmt.Sprintf("NIC drops %g/s, softirq drops %g/s, conntrack %s full or %s, endpoint drops %g/s",
		th.NICDropsPerSec, th.SoftirqDropsPerSec, format.Percent(th.ConntrackFullRatio), ct, th.EndpointDropsPerSec)
}

// stackLines is the stack evidence of r (sanitised), from the wire
// inwards: NICs and their BQL, the softirq backlog, conntrack, then the
// protocol counters.
func stackLines(st *verdict.StackReport) []stackLine {
	var out []stackLine
	for _, n := range st.NICs {
		name := format.Sanitize(n.Interface, maxName)
		if n.Note != "" {
			out = append(out, stackLine{name + " NIC", n.Note})
			continue
		}
		var cs []string
		for _, c := range n.Counters {
			if c.Count > 0 {
				cs = append(cs, fmt.Sprintf("%s +%d", format.Sanitize(c.Name, maxName), c.Count))
			}
		}
		t := fmt.Sprintf("%s: lost %s", orDash(n.Driver), count(n.Lost))
		if len(cs) > 0 {
			t += "; " + strings.Join(cs, ", ")
		} else {
			t += fmt.Sprintf("; %d loss and pause counters, none rose", len(n.Counters))
		}
		out = append(out, stackLine{name + " NIC", t})
	}
	for _, b := range st.BQL {
		name := format.Sanitize(b.Interface, maxName)
		if len(b.Queues) == 0 {
			if b.Note != "" {
				out = append(out, stackLine{name + " BQL", b.Note})
			}
			continue
		}
		qs := make([]string, len(b.Queues))
		for i, q := range b.Queues {
			qs[i] = fmt.Sprintf("tx-%d up to %d of %d bytes in flight (at the limit in %d of %d samples)", q.Queue, q.InflightMax, q.Limit, q.AtLimit, q.Samples)
		}
		out = append(out, stackLine{name + " BQL", strings.Join(qs, "; ")})
	}
	if s := st.Softnet; s != nil {
		t := fmt.Sprintf("dropped %s, time squeeze %s, flow limit %s", count(s.Dropped), count(s.TimeSqueeze), count(s.FlowLimit))
		for _, c := range s.CPUs {
			t += fmt.Sprintf("; CPU %d: dropped %d, squeezed %d", c.CPU, c.Dropped, c.TimeSqueeze)
		}
		out = append(out, stackLine{"softirq", t})
	}
	if c := st.Conntrack; c != nil {
		t := strconv.FormatUint(c.Count, 10) + " entries at the peak"
		if c.Max > 0 {
			t = fmt.Sprintf("%d of %d entries at the peak (%s)", c.Count, c.Max, format.Percent(c.PeakFill))
		}
		if c.Drop != nil {
			t += fmt.Sprintf("; drops %s, early drops %s, insert failures %s", count(*c.Drop), count(*c.EarlyDrop), count(*c.InsertFailed))
		}
		out = append(out, stackLine{"conntrack", t})
	}
	if tc := st.TCP; tc != nil {
		out = append(out, stackLine{"tcp", fmt.Sprintf("retransmitted %s, timeouts %s, listen overflows %s, listen drops %s, backlog drops %s",
			count(tc.RetransSegs), count(tc.Timeouts), count(tc.ListenOverflows), count(tc.ListenDrops), count(tc.BacklogDrops))})
	}
	if u := st.UDP; u != nil {
		out = append(out, stackLine{"udp", fmt.Sprintf("receive buffer errors %s, send buffer errors %s, input errors %s",
			count(u.RcvbufErrors), count(u.SndbufErrors), count(u.InErrors))})
	}
	if ip := st.IP; ip != nil {
		out = append(out, stackLine{"ip", "input discards " + count(ip.InDiscards)})
	}
	for _, a := range st.Absent {
		out = append(out, stackLine{"absent", a})
	}
	if st.CounterReset {
		out = append(out, stackLine{"note", "a stack counter went backwards in the window and was counted from zero"})
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
