package verdict

// Thresholds are the verdict's settings, echoed in every Report. The
// config's check section converts to them (configs.CheckConfig.Thresholds);
// the verdict knows nothing of files.
type Thresholds struct {
	// WarnUtilization (0..1) of capacity raises a warning.
	WarnUtilization float64 `json:"warn_utilization"`
	// CritUtilization (0..1) of capacity means saturated.
	CritUtilization float64 `json:"crit_utilization"`
	// MinDropsPerSec is the queue drop rate that counts as queue evidence.
	MinDropsPerSec float64 `json:"min_drops_per_sec"`
	// ExplainShare (0..1) is the share of a direction's bytes the
	// explaining set of flows must cover.
	ExplainShare float64 `json:"explain_share"`
	// NICDropsPerSec is the rate of a NIC's loss counters (rx missed, no
	// buffer, FIFO, queue drops, allowance exceeded) that makes nic-drops.
	NICDropsPerSec float64 `json:"nic_drops_per_sec"`
	// SoftirqDropsPerSec is the softnet backlog drop rate that makes
	// softirq-drops.
	SoftirqDropsPerSec float64 `json:"softirq_drops_per_sec"`
	// ConntrackFullRatio (0..1) is the conntrack fill (count / max) that
	// makes conntrack-full.
	ConntrackFullRatio float64 `json:"conntrack_full_ratio"`
	// ConntrackDropsPerSec is the rate of conntrack's insert failures,
	// drops and early drops together that makes conntrack-full; 0 means
	// any.
	ConntrackDropsPerSec float64 `json:"conntrack_drops_per_sec"`
	// EndpointDropsPerSec is the rate of endpoint loss (listen drops,
	// backlog drops, UDP buffer errors) that makes endpoint-drops.
	EndpointDropsPerSec float64 `json:"endpoint_drops_per_sec"`
	// BurstyStatus is the status of the bursty finding: StatusCritical
	// (the default; StatusOK, the zero value, means it too) or
	// StatusWarning.
	BurstyStatus Status `json:"bursty_status"`
	// Hysteresis (0..1 of capacity) is used by Hold only, and not echoed.
	// It keeps a continuously computed verdict
	// (the TUI banner) from flapping: once saturated, a direction stays
	// saturated until its utilisation falls below CritUtilization minus
	// Hysteresis; the same margin applies to the warning threshold.
	Hysteresis float64 `json:"-"`
}

// DefaultThresholds returns the built-in thresholds, the defaults of the
// config's check section.
func DefaultThresholds() Thresholds {
	return Thresholds{WarnUtilization: 0.80, CritUtilization: 0.95, MinDropsPerSec: 1, ExplainShare: 0.80, Hysteresis: 0.05,
		NICDropsPerSec: 1, SoftirqDropsPerSec: 1, ConntrackFullRatio: 0.90, ConntrackDropsPerSec: 0, EndpointDropsPerSec: 1, BurstyStatus: StatusCritical}
}
