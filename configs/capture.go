package configs

import (
	"errors"
	"fmt"
	"time"
)

// CaptureConfig configures packet capture and the flow table.
type CaptureConfig struct {
	// MaxFlows caps the flow table; flows past it are evicted into an
	// accounted "other" bucket.
	MaxFlows int `yaml:"max_flows"`
	// IdleTimeout expires flows that saw no packet for this long.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// RingMiB is the AF_PACKET ring size per interface, in MiB.
	RingMiB int `yaml:"ring_mib"`
	// Fanout is the number of rings per interface (1: one). With more,
	// the kernel spreads packets over them by flow hash (PACKET_FANOUT),
	// each read by its own goroutine, so the capture uses several cores.
	Fanout int `yaml:"fanout"`
}

// MaxFanout is the most rings per interface.
const MaxFanout = 64

// DefaultCapture returns the default capture section.
func DefaultCapture() CaptureConfig {
	return CaptureConfig{MaxFlows: 200_000, IdleTimeout: Duration(2 * time.Minute), RingMiB: 16, Fanout: 1}
}

// Validate checks ranges.
func (c CaptureConfig) Validate() error {
	var errs []error
	if c.MaxFlows < 16 || c.MaxFlows > 10_000_000 {
		errs = append(errs, fmt.Errorf("capture.max_flows: %d is out of range (16..10000000)", c.MaxFlows))
	}
	if c.IdleTimeout.D() < time.Second {
		errs = append(errs, fmt.Errorf("capture.idle_timeout: %s is too short (at least 1s)", c.IdleTimeout.D()))
	}
	if c.RingMiB < 1 || c.RingMiB > 4096 {
		errs = append(errs, fmt.Errorf("capture.ring_mib: %d is out of range (1..4096)", c.RingMiB))
	}
	if c.Fanout < 1 || c.Fanout > MaxFanout {
		errs = append(errs, fmt.Errorf("capture.fanout: %d is out of range (1..%d)", c.Fanout, MaxFanout))
	}
	return errors.Join(errs...)
}
