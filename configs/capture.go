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
	// RingMiB is the size of one AF_PACKET ring under load, in MiB; an
	// interface has Fanout of them. A single ring per interface larger
	// than 2 MiB starts at 2 MiB and grows to it on demand (capture.Live). The rings of a run together may pin at most
	// MaxRingTotalMiB (see RingMemoryMiB).
	RingMiB int `yaml:"ring_mib"`
	// Fanout is the number of rings per interface (1: one). With more,
	// the kernel spreads packets over them by flow hash (PACKET_FANOUT),
	// each read by its own goroutine, so the capture uses several cores.
	Fanout int `yaml:"fanout"`
	// PassiveNames decides when the names ring (DNS answers and TLS
	// server names from the capture) runs: "auto" when names are shown
	// (no -n) or egress runs, "on" always, "off" never.
	PassiveNames string `yaml:"passive_names"`
}

// PassiveNamesOn reports whether the names ring runs for a run that shows
// names (names) or classes egress (egress).
func (c CaptureConfig) PassiveNamesOn(names, egress bool) bool {
	switch c.PassiveNames {
	case "on":
		return true
	case "off":
		return false
	}
	return names || egress
}

// MaxFanout is the most rings per interface.
const MaxFanout = 64

// MaxRingTotalMiB is the most ring memory one run may pin, over all its
// rings. The kernel allocates a ring's pages when the socket asks for
// them and keeps them until it closes, without charging them to the
// user's locked-memory limit or memory cgroup, so a user allowed to run a
// binary that carries CAP_NET_RAW could otherwise pin gigabytes. 1 GiB is
// 32 times the default ring: room for a busy host's fanout (16 rings of
// 64 MiB) or for 32 interfaces at the default.
const MaxRingTotalMiB = 1024

// DefaultCapture returns the default capture section.
func DefaultCapture() CaptureConfig {
	return CaptureConfig{MaxFlows: 200_000, IdleTimeout: Duration(2 * time.Minute), RingMiB: 32, Fanout: 1, PassiveNames: "auto"}
}

// RingMemoryMiB is the ring memory a capture on the given number of
// interfaces pins: ring_mib for every ring, fanout rings per interface.
// "any" (all interfaces through one set of rings), like no interface
// named, counts as one.
func (c CaptureConfig) RingMemoryMiB(interfaces int) int {
	return c.RingMiB * max(c.Fanout, 1) * max(interfaces, 1)
}

// ValidateRingMemory reports whether a capture on the given number of
// interfaces stays within MaxRingTotalMiB, with the figures and the fix
// when it does not.
func (c CaptureConfig) ValidateRingMemory(interfaces int) error {
	total := c.RingMemoryMiB(interfaces)
	if total <= MaxRingTotalMiB {
		return nil
	}
	return fmt.Errorf("capture rings: %d MiB (ring_mib %d × fanout %d × %d interface(s)) is over the limit of %d MiB of ring memory per run; lower capture.ring_mib or --fanout, or capture on fewer interfaces",
		total, c.RingMiB, max(c.Fanout, 1), max(interfaces, 1), MaxRingTotalMiB)
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
	switch c.PassiveNames {
	case "auto", "on", "off":
	default:
		errs = append(errs, fmt.Errorf("capture.passive_names: %q is not one of auto, on, off", c.PassiveNames))
	}
	ringOK := c.RingMiB >= 1 && c.RingMiB <= MaxRingTotalMiB
	if !ringOK {
		errs = append(errs, fmt.Errorf("capture.ring_mib: %d is out of range (1..%d)", c.RingMiB, MaxRingTotalMiB))
	}
	fanoutOK := c.Fanout >= 1 && c.Fanout <= MaxFanout
	if !fanoutOK {
		errs = append(errs, fmt.Errorf("capture.fanout: %d is out of range (1..%d)", c.Fanout, MaxFanout))
	}
	if ringOK && fanoutOK {
		// One interface: the file cannot know how many a run names.
		errs = append(errs, c.ValidateRingMemory(1))
	}
	return errors.Join(errs...)
}
