package views

import (
	"net/netip"
	"strconv"
	"strings"

	"netriage/triage/verdict"
)

// This file adapts a saturation verdict report (triage/verdict) to the
// banner, the coverage figure and the explaining flows of the Links view.

// VerdictLevelOf maps a verdict to the banner level.
func VerdictLevelOf(v verdict.Verdict) VerdictLevel {
	switch v {
	case verdict.OK:
		return VerdictOK
	case verdict.Congested:
		return VerdictCongested
	case verdict.Saturated:
		return VerdictSaturated
	case verdict.Unknown:
		return VerdictUnknown
	case verdict.Removed:
		return VerdictRemoved
	}
	return VerdictUnknown
}

// AdaptVerdict returns the banner of rep: the level, and the report's
// summary without its leading status word (the banner shows the level
// already). A nil rep gives VerdictNone.
func AdaptVerdict(rep *verdict.Report) Verdict {
	if rep == nil {
		return Verdict{Level: VerdictNone}
	}
	s := rep.Summary
	if st := rep.Status.String() + ": "; strings.HasPrefix(s, st) {
		s = s[len(st):]
	}
	if rep.Verdict == verdict.Unknown && len(rep.Notes) > 0 && !strings.Contains(s, "unknown") {
		s = rep.Notes[0]
	}
	return Verdict{Level: dropsLevel(rep, VerdictLevelOf(rep.Verdict)), Summary: s}
}

// dropsLevel is the banner level when the stack findings, not the links,
// set the report's state: the links' own level says "ok" or "congested"
// while the summary says where packets are lost.
func dropsLevel(rep *verdict.Report, level VerdictLevel) VerdictLevel {
	if level == VerdictSaturated || level == VerdictRemoved {
		return level
	}
	for _, f := range rep.Findings {
		if f.Status != rep.Status {
			continue
		}
		if f.Status == verdict.StatusCritical {
			return VerdictDrops
		}
		if level != VerdictCongested {
			return VerdictEndpointDrops
		}
	}
	return level
}

// CoverageOf sums the coverage of every interface and direction of rep
// that has one: the flows' link-layer bytes over the interfaces' bytes.
// known is false when no direction has a coverage ratio (no capture, no
// counters, no traffic, or every interface removed: a removed one has none).
func CoverageOf(rep *verdict.Report) (ratio float64, known bool) {
	if rep == nil {
		return 0, false
	}
	var flowB, ifB uint64
	for i := range rep.Interfaces {
		for _, d := range []verdict.Direction{verdict.RX, verdict.TX} {
			c := rep.Interfaces[i].Dir(d).Coverage
			if c.Ratio == nil {
				continue
			}
			known = true
			flowB += c.FlowLinkBytes
			ifB += c.InterfaceBytes
		}
	}
	if !known || ifB == 0 {
		return 0, false
	}
	return float64(flowB) / float64(ifB), true
}

// ApplyExplain fills each Links row's Explain with the explaining flows of
// rep for that interface: those of the direction with the worse verdict
// (the busier one when both are equal). Rows not in rep keep none.
func ApplyExplain(links []LinkRow, rep *verdict.Report) {
	if rep == nil {
		return
	}
	by := make(map[string]*verdict.IfaceReport, len(rep.Interfaces))
	for i := range rep.Interfaces {
		by[rep.Interfaces[i].Name] = &rep.Interfaces[i]
	}
	for i := range links {
		ir := by[links[i].Name]
		if ir == nil {
			continue
		}
		d := &ir.TX
		if rank(ir.RX.Verdict) > rank(ir.TX.Verdict) || (ir.RX.Verdict == ir.TX.Verdict && ir.RX.RateBps > ir.TX.RateBps) {
			d = &ir.RX
		}
		links[i].Explain = explainRows(d)
		links[i].RxBursts = burstView(ir.RX.Bursts, rep.Thresholds)
		links[i].TxBursts = burstView(ir.TX.Bursts, rep.Thresholds)
	}
}

func burstView(b *verdict.BurstReport, th verdict.Thresholds) *BurstView {
	if b == nil || b.Intervals == 0 {
		return nil
	}
	return &BurstView{IntervalMs: b.IntervalMs, PeakBytesPerSec: b.PeakBps / 8, PeakUtil: b.PeakUtilization,
		AboveWarnSec: b.AboveWarnSec, AboveCritSec: b.AboveCritSec, SampledSec: b.SampledSec, Warn: th.WarnUtilization, Crit: th.CritUtilization}
}

// rank orders verdicts by severity for ApplyExplain.
func rank(v verdict.Verdict) int {
	switch v {
	case verdict.Removed:
		return 4
	case verdict.Saturated:
		return 3
	case verdict.Congested:
		return 2
	case verdict.Unknown:
		return 1
	}
	return 0
}

func explainRows(d *verdict.DirReport) []ExplainRow {
	if len(d.ExplainedBy) == 0 {
		return nil
	}
	out := make([]ExplainRow, 0, len(d.ExplainedBy))
	for _, e := range d.ExplainedBy {
		owner := ""
		if e.Owner != nil {
			owner = verdict.OwnerLabel(e.Owner)
		}
		out = append(out, ExplainRow{
			Label:       d.Direction.String() + " " + e.Proto + " " + endpoint(e.LocalAddr, e.LocalPort) + " ⇄ " + endpoint(e.RemoteAddr, e.RemotePort),
			Owner:       owner,
			Share:       e.Share,
			BytesPerSec: e.RateBps / 8,
		})
	}
	return out
}

// endpoint joins an address and an optional port ("[::1]:80" for IPv6).
func endpoint(addr string, port *uint16) string {
	if port == nil {
		return addr
	}
	if a, err := netip.ParseAddr(addr); err == nil {
		return netip.AddrPortFrom(a, *port).String()
	}
	return addr + ":" + strconv.Itoa(int(*port))
}
