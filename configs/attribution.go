package configs

import (
	"errors"
	"fmt"
	"time"
)

// AttributionConfig configures the join of flows to sockets and processes.
type AttributionConfig struct {
	// FullScanInterval rate-limits full /proc/*/fd rescans.
	FullScanInterval Duration `yaml:"full_scan_interval"`
	// ClosedGrace keeps closed sockets joinable for this long, so traffic
	// of short-lived connections is still attributed.
	ClosedGrace Duration `yaml:"closed_grace"`
}

// DefaultAttribution returns the default attribution section.
func DefaultAttribution() AttributionConfig {
	return AttributionConfig{FullScanInterval: Duration(5 * time.Second), ClosedGrace: Duration(10 * time.Second)}
}

// Validate checks ranges.
func (c AttributionConfig) Validate() error {
	var errs []error
	if c.FullScanInterval.D() < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("attribution.full_scan_interval: %s is too short (at least 100ms)", c.FullScanInterval.D()))
	}
	if c.ClosedGrace.D() < 0 || c.ClosedGrace.D() > 10*time.Minute {
		errs = append(errs, fmt.Errorf("attribution.closed_grace: %s is out of range (0..10m)", c.ClosedGrace.D()))
	}
	return errors.Join(errs...)
}
