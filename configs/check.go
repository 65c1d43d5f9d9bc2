package configs

import (
	"errors"
	"fmt"
	"time"

	"netriage/triage/egress"
	"netriage/triage/verdict"
)

// CheckConfig configures the saturation verdict.
type CheckConfig struct {
	// WarnUtilization (0..1) of capacity raises a warning.
	WarnUtilization float64 `yaml:"warn_utilization"`
	// CritUtilization (0..1) of capacity means saturated.
	CritUtilization float64 `yaml:"crit_utilization"`
	// MinDropsPerSec is the queue drop rate that counts as queue evidence.
	MinDropsPerSec float64 `yaml:"min_drops_per_sec"`
	// Window is how long check observes by default.
	Window Duration `yaml:"window"`
	// ExplainShare (0..1) is the share of a direction's bytes the
	// explaining set of flows must cover.
	ExplainShare float64 `yaml:"explain_share"`
	// Hysteresis (0..1 of capacity) keeps a continuously computed verdict
	// (the TUI banner) from flapping: once saturated, a direction stays
	// saturated until its utilisation falls below CritUtilization minus
	// Hysteresis; the same margin applies to the warning threshold.
	Hysteresis float64 `yaml:"hysteresis"`
	// NICDropsPerSec is the rate of a NIC's loss counters (the driver's rx
	// missed, no-buffer, FIFO, queue drop and allowance-exceeded counters)
	// that makes the nic-drops finding (critical).
	NICDropsPerSec float64 `yaml:"nic_drops_per_sec"`
	// SoftirqDropsPerSec is the softirq backlog drop rate
	// (/proc/net/softnet_stat) that makes softirq-drops (critical).
	SoftirqDropsPerSec float64 `yaml:"softirq_drops_per_sec"`
	// ConntrackFullRatio (0..1) is the conntrack fill that makes
	// conntrack-full (critical).
	ConntrackFullRatio float64 `yaml:"conntrack_full_ratio"`
	// ConntrackDropsPerSec is the rate of conntrack insert failures, drops
	// and early drops that also makes conntrack-full; 0: any.
	ConntrackDropsPerSec float64 `yaml:"conntrack_drops_per_sec"`
	// EndpointDropsPerSec is the rate of listen drops, backlog drops and
	// UDP buffer errors that makes endpoint-drops (warning).
	EndpointDropsPerSec float64 `yaml:"endpoint_drops_per_sec"`
	// BurstInterval is the burst sampler's window: while check, top or
	// serve judge, the watched interfaces' byte counters are read twice
	// per interval and their root qdisc once, and the peak sub-second
	// utilisation (and the bursty rule) is that of the busiest window of
	// about one interval of consecutive reads. 0 disables the sampler.
	BurstInterval Duration `yaml:"burst_interval"`
	// BurstyStatus is the status of the bursty finding: "critical" (the
	// default) or "warning".
	BurstyStatus string `yaml:"bursty_status"`
}

// Burst interval bounds: below the minimum the reads cost more than they
// tell (and the kernel's own counters may not have moved), above the
// maximum they are no longer sub-second.
const (
	MinBurstInterval = 10 * time.Millisecond
	MaxBurstInterval = 500 * time.Millisecond
)

// DefaultCheck returns the default check section.
func DefaultCheck() CheckConfig {
	t := verdict.DefaultThresholds()
	return CheckConfig{WarnUtilization: t.WarnUtilization, CritUtilization: t.CritUtilization, MinDropsPerSec: t.MinDropsPerSec,
		Window: Duration(10 * time.Second), ExplainShare: t.ExplainShare, Hysteresis: t.Hysteresis,
		NICDropsPerSec: t.NICDropsPerSec, SoftirqDropsPerSec: t.SoftirqDropsPerSec, ConntrackFullRatio: t.ConntrackFullRatio,
		ConntrackDropsPerSec: t.ConntrackDropsPerSec, EndpointDropsPerSec: t.EndpointDropsPerSec,
		BurstInterval: Duration(100 * time.Millisecond), BurstyStatus: "critical"}
}

// Thresholds converts the section to the verdict's settings.
func (c CheckConfig) Thresholds() verdict.Thresholds {
	return verdict.Thresholds{WarnUtilization: c.WarnUtilization, CritUtilization: c.CritUtilization,
		MinDropsPerSec: c.MinDropsPerSec, ExplainShare: c.ExplainShare, Hysteresis: c.Hysteresis,
		NICDropsPerSec: c.NICDropsPerSec, SoftirqDropsPerSec: c.SoftirqDropsPerSec, ConntrackFullRatio: c.ConntrackFullRatio,
		ConntrackDropsPerSec: c.ConntrackDropsPerSec, EndpointDropsPerSec: c.EndpointDropsPerSec,
		BurstyStatus: burstyStatus(c.BurstyStatus)}
}

func burstyStatus(s string) verdict.Status {
	if s == "warning" {
		return verdict.StatusWarning
	}
	return verdict.StatusCritical
}

// Validate checks ranges and combinations.
func (c CheckConfig) Validate() error {
	var errs []error
	in01 := func(key string, v float64) {
		if !(v > 0 && v <= 1) {
			errs = append(errs, fmt.Errorf("check.%s: %v is out of range (a ratio above 0 and at most 1, e.g. 0.8)", key, v))
		}
	}
	in01("warn_utilization", c.WarnUtilization)
	in01("crit_utilization", c.CritUtilization)
	in01("explain_share", c.ExplainShare)
	in01("conntrack_full_ratio", c.ConntrackFullRatio)
	if c.WarnUtilization > c.CritUtilization {
		errs = append(errs, fmt.Errorf("check.warn_utilization (%v) is above check.crit_utilization (%v)", c.WarnUtilization, c.CritUtilization))
	}
	for _, r := range []struct {
		key string
		v   float64
	}{{"min_drops_per_sec", c.MinDropsPerSec}, {"nic_drops_per_sec", c.NICDropsPerSec}, {"softirq_drops_per_sec", c.SoftirqDropsPerSec},
		{"conntrack_drops_per_sec", c.ConntrackDropsPerSec}, {"endpoint_drops_per_sec", c.EndpointDropsPerSec}} {
		if r.v < 0 {
			errs = append(errs, fmt.Errorf("check.%s: %v is negative", r.key, r.v))
		}
	}
	if c.Hysteresis < 0 || c.Hysteresis >= c.WarnUtilization {
		errs = append(errs, fmt.Errorf("check.hysteresis: %v is out of range (0 or more, below check.warn_utilization, e.g. 0.05)", c.Hysteresis))
	}
	if b := c.BurstInterval.D(); b != 0 && (b < MinBurstInterval || b > MaxBurstInterval) {
		errs = append(errs, fmt.Errorf("check.burst_interval: %s is out of range (0 to disable the burst sampler, or %s..%s, e.g. 100ms)", b, MinBurstInterval, MaxBurstInterval))
	}
	if c.BurstyStatus != "critical" && c.BurstyStatus != "warning" {
		errs = append(errs, errors.New("check.bursty_status: not a status (critical or warning)"))
	}
	if c.Window.D() < time.Second {
		errs = append(errs, fmt.Errorf("check.window: %s is too short (at least 1s)", c.Window.D()))
	}
	return errors.Join(errs...)
}

// CheckOverrides are check's command-line values over the config's check
// section; nil fields were not given.
type CheckOverrides struct {
	Warn, Crit, MinDrops, Explain *float64
	// Duration is --duration, the window's length.
	Duration *time.Duration
	// Interval is --interval, the sampling period within the window.
	Interval *time.Duration
	// Budgets are the --egress-budget values (nil: not given; they
	// replace egress.budgets).
	Budgets []string
}

// CheckRun is what check runs with: the config with the flags applied,
// the counters' sampling period and the egress budgets.
type CheckRun struct {
	Config   Config
	Interval time.Duration
	Budgets  []egress.Budget
}

// ResolveCheck applies check's flags o over cfg: the thresholds and the
// window (Override), the sampling period (the config's interval, or
// --interval, at most the window) and the egress budgets, warning at
// check.warn_utilization of each limit. Errors wrap ErrUsage.
func ResolveCheck(cfg Config, o CheckOverrides) (CheckRun, error) {
	if err := cfg.Check.Override(o); err != nil {
		return CheckRun{}, err
	}
	r := CheckRun{Interval: min(cfg.Interval.D(), cfg.Check.Window.D())}
	if o.Interval != nil {
		if err := CheckInterval("--interval", *o.Interval); err != nil {
			return CheckRun{}, err
		}
		r.Interval = min(*o.Interval, cfg.Check.Window.D())
	}
	if o.Budgets != nil {
		cfg.Egress.Budgets = o.Budgets
	}
	var err error
	if r.Budgets, err = cfg.Egress.BudgetList(cfg.Check.WarnUtilization); err != nil {
		return CheckRun{}, Usagef("egress budget: %v (see docs/egress.md)", err)
	}
	r.Config = cfg
	return r, nil
}

// Override applies o over c and validates the result: the thresholds and
// a window of verdict.MinWindow..24h. Errors wrap ErrUsage.
func (c *CheckConfig) Override(o CheckOverrides) error {
	for _, s := range []struct {
		v   *float64
		dst *float64
	}{{o.Warn, &c.WarnUtilization}, {o.Crit, &c.CritUtilization}, {o.MinDrops, &c.MinDropsPerSec}, {o.Explain, &c.ExplainShare}} {
		if s.v != nil {
			*s.dst = *s.v
		}
	}
	if err := c.Validate(); err != nil {
		return Usagef("thresholds (flags --warn, --crit, --min-drops, --explain-share over the config):\n%v", err)
	}
	if o.Duration != nil {
		c.Window = Duration(*o.Duration)
	}
	switch d := c.Window.D(); {
	case d < verdict.MinWindow:
		return Usagef("--duration %s is too short for a verdict: observe for at least %s (default %s)", d, verdict.MinWindow, DefaultCheck().Window.D())
	case d > 24*time.Hour:
		return Usagef("--duration %s is too long (at most 24h)", d)
	}
	return nil
}
