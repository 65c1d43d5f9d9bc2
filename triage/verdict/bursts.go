package verdict

import (
	"fmt"
	"time"

	"netriage/triage"
)

// RuleBursty is the finding of a link that is full in sub-second bursts
// while its average over the window is not: the burst sampler's busiest
// window (about one burst interval) at or above the critical threshold, queue drops in the window,
// and the window's average below the warning threshold.
const RuleBursty = "bursty"

// Bursts is the burst sampler's view of one interface over a window: its
// intervals merged from the window's link samples (the first sample's,
// which cover the time before the window, are left out).
type Bursts struct {
	// Interval is the sampler's nominal interval.
	Interval time.Duration
	triage.IfaceBursts
}

// burstsOf merges the bursts of interface name from the window's samples
// after the first; nil when no sample has any.
func burstsOf(samples []triage.LinksSample, name string) *Bursts {
	var out *Bursts
	for i := 1; i < len(samples); i++ {
		b, ok := samples[i].Bursts.Iface(name)
		if !ok {
			continue
		}
		if out == nil {
			out = &Bursts{Interval: samples[i].Bursts.Interval, IfaceBursts: b}
			continue
		}
		out.IfaceBursts = triage.MergeBursts(out.IfaceBursts, b)
	}
	return out
}

// BurstReport is one direction's sub-second view over the window.
type BurstReport struct {
	// IntervalMs is the burst interval (the sampler reads twice per
	// interval); Intervals the number of intervals between two reads and
	// SampledSec the time they cover.
	IntervalMs float64 `json:"interval_ms"`
	Intervals  int     `json:"intervals"`
	SampledSec float64 `json:"sampled_s"`
	// PeakBps is the busiest window's rate and PeakIntervalMs its real
	// length (a window: consecutive reads of about one interval);
	// PeakUtilization the rate over the capacity (null when the capacity
	// is unknown).
	PeakBps         float64  `json:"peak_bps"`
	PeakIntervalMs  float64  `json:"peak_interval_ms"`
	PeakUtilization *float64 `json:"peak_utilization"`
	// AboveWarnSec and AboveCritSec are the time of the intervals at or
	// above the warning and critical thresholds (0 when the capacity is
	// unknown).
	AboveWarnSec float64 `json:"above_warn_s"`
	AboveCritSec float64 `json:"above_crit_s"`
	// QueueDrops, MaxBacklogBytes and MaxBacklogPackets are the root
	// qdisc's drops and largest backlog the sampler read (tx only; null
	// and 0 for rx and without a qdisc).
	QueueDrops        *uint64 `json:"qdisc_drops"`
	MaxBacklogBytes   uint64  `json:"max_backlog_bytes"`
	MaxBacklogPackets uint64  `json:"max_backlog_packets"`
	// Merged counts intervals folded into a neighbour (the engine was
	// late), Errors the failed reads.
	Merged int `json:"merged"`
	Errors int `json:"errors"`
}

// burstReport summarises b for direction d with capacity capBps.
func burstReport(b *Bursts, d Direction, capBps uint64, cfg Thresholds) *BurstReport {
	if b == nil {
		return nil
	}
	rxCap, txCap := capBps, capBps
	s := triage.SummarizeBursts(b.IfaceBursts, b.Interval, rxCap, txCap, cfg.WarnUtilization, cfg.CritUtilization)
	bd := s.RX
	if d == TX {
		bd = s.TX
	}
	r := &BurstReport{
		IntervalMs: ms(b.Interval), Intervals: s.Intervals, SampledSec: round(s.Sampled.Seconds(), 3),
		PeakBps: round(bd.PeakBps, 1), PeakIntervalMs: ms(bd.PeakElapsed),
		AboveWarnSec: round(bd.AboveWarn.Seconds(), 3), AboveCritSec: round(bd.AboveCrit.Seconds(), 3),
		Merged: s.Merged, Errors: s.Errors,
	}
	if bd.PeakUtilization != nil {
		u := round(*bd.PeakUtilization, 4)
		r.PeakUtilization = &u
	}
	if d == TX && s.Qdisc {
		drops := s.Drops
		r.QueueDrops = &drops
		r.MaxBacklogBytes, r.MaxBacklogPackets = s.MaxBacklogBytes, s.MaxBacklogPackets
	}
	return r
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 1) }

// burstyFinding applies the bursty rule to one direction's report: the
// busiest window at or above the critical threshold, queue drops in the
// window (the window's qdisc drops, or the sampler's, at least
// MinDropsPerSec), and the window's average below the warning threshold.
// It adds the rule's reason to dr and returns the finding, or nil.
func burstyFinding(name string, dr *DirReport, judged bool, cfg Thresholds, winSec float64) *Finding {
	b := dr.Bursts
	if !judged || b == nil || b.PeakUtilization == nil || dr.Utilization == nil {
		return nil
	}
	peak, avg := *b.PeakUtilization, *dr.Utilization
	var drops uint64
	if dr.Evidence.QueueDrops != nil {
		drops = *dr.Evidence.QueueDrops
	}
	if b.QueueDrops != nil {
		drops = max(drops, *b.QueueDrops)
	}
	if peak < cfg.CritUtilization || avg >= cfg.WarnUtilization || drops == 0 || winSec <= 0 || float64(drops)/winSec < cfg.MinDropsPerSec {
		return nil
	}
	status := cfg.BurstyStatus
	if status == StatusOK {
		status = StatusCritical
	}
	where := name + " " + dr.Direction.String()
	f := &Finding{Rule: RuleBursty, Status: status, Where: where,
		Summary: fmt.Sprintf("%s bursty: %s peaks of %s while the average is %s, %d qdisc drops", where, fmtMs(b.IntervalMs), pct(peak), pct(avg), drops),
		Reasons: []string{
			fmt.Sprintf("the busiest %s window of %s carried %s, %s of %s (critical threshold %s), and %.1f s of %.1f s sampled were at or above it",
				fmtMs(b.PeakIntervalMs), where, fmtBps(b.PeakBps), pct(peak), fmtBps(float64(*dr.CapacityBps)), pct(cfg.CritUtilization), b.AboveCritSec, b.SampledSec),
			fmt.Sprintf("the queue dropped %d packets in the window while the average utilisation was %s, below the warning threshold %s: the link is full in bursts the one-second average hides (smooth the sender, pace it, or give the queue room for the bursts)",
				drops, pct(avg), pct(cfg.WarnUtilization)),
		}}
	dr.Reasons = append(dr.Reasons, fmt.Sprintf("bursty: %s peaks reached %s of the capacity (%.1f s at or above %s) while the average stayed below %s", fmtMs(b.IntervalMs), pct(peak), b.AboveCritSec, pct(cfg.CritUtilization), pct(cfg.WarnUtilization)))
	return f
}

// fmtMs formats milliseconds: "100 ms".
func fmtMs(v float64) string { return fmt.Sprintf("%g ms", v) }
