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
		if !ValidIfaceName(name) {
			errs = append(errs, errors.New("links.speeds: a key is not an interface name (1 to 15 characters, no spaces, slashes or colons)"))
			continue
		}
		if _, err := ParseRate(s); err != nil {
			errs = append(errs, fmt.Errorf("links.speeds.%s: not a rate between 1 bit/s and 1 Pbit/s (use e.g. 10G, 100M, 2.5Gbit)", name))
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

// ValidIfaceName reports whether name can be a Linux interface name: 1 to 15
// bytes, none of them a space, '/', ':' or a control character, and not "."
// or "..".
func ValidIfaceName(name string) bool {
	if name == "" || len(name) > 15 || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == 0x7f || c == '/' || c == ':' {
			return false
		}
	}
	return true
}
