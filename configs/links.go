package configs

import (
	"errors"
	"fmt"
)

// LinksConfig configures interface counters and capacities.
type LinksConfig struct {
	// Speeds overrides the capacity of named interfaces, as rate strings
	// ("eth0": "10G"). Overrides win over ethtool and shaper rates.
	Speeds map[string]string `yaml:"speeds"`
}

// DefaultLinks returns the default links section.
func DefaultLinks() LinksConfig { return LinksConfig{} }

// Validate checks every speed string.
func (c LinksConfig) Validate() error {
	var errs []error
	for name, s := range c.Speeds {
		if _, err := ParseRate(s); err != nil {
			errs = append(errs, fmt.Errorf("links.speeds.%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// SpeedsBps returns Speeds parsed to bits per second. Call Validate first;
// invalid entries are skipped.
func (c LinksConfig) SpeedsBps() map[string]uint64 {
	out := make(map[string]uint64, len(c.Speeds))
	for name, s := range c.Speeds {
		if v, err := ParseRate(s); err == nil {
			out[name] = v
		}
	}
	return out
}
