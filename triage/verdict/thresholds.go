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
	return Thresholds{WarnUtilization: 0.80, CritUtilization: 0.95, MinDropsPerSec: 1, ExplainShare: 0.80, Hysteresis: 0.05}
}
