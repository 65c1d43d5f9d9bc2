package configs

import (
	"strings"
	"time"
)

// Overrides are the command-line values that take precedence over the
// config file. Zero values leave the file's (or the default) value.
type Overrides struct {
	// Interval is --interval.
	Interval time.Duration
	// Fanout is --fanout.
	Fanout int
	// LinkSpeeds are the --link-speed values, IF=RATE each.
	LinkSpeeds []string
	// Captures says a capture will open rings on Interfaces (none named:
	// one ring): their memory is checked.
	Captures   bool
	Interfaces []string
}

// Resolve loads the config file at path (the defaults when path is
// empty) with open, applies o over it and validates the result. Every
// error wraps ErrUsage.
func Resolve(path string, open Opener, o Overrides) (Config, error) {
	cfg := Default()
	if path != "" {
		var err error
		if cfg, err = Load(path, open); err != nil {
			return cfg, Usagef("%v", err)
		}
	}
	if o.Interval != 0 {
		if err := CheckInterval("--interval", o.Interval); err != nil {
			return cfg, err
		}
		cfg.Interval = Duration(o.Interval)
	}
	if o.Fanout != 0 {
		if o.Fanout < 1 || o.Fanout > MaxFanout {
			return cfg, Usagef("--fanout %d is out of range: use 1..%d, e.g. --fanout 2", o.Fanout, MaxFanout)
		}
		cfg.Capture.Fanout = o.Fanout
	}
	for _, ls := range o.LinkSpeeds {
		name, _, err := ParseLinkSpeed(ls)
		if err != nil {
			return cfg, Usagef("%v", err)
		}
		if cfg.Links.Speeds == nil {
			cfg.Links.Speeds = map[string]string{}
		}
		_, rate, _ := strings.Cut(ls, "=")
		cfg.Links.Speeds[name] = rate
	}
	if o.Captures {
		if err := cfg.Capture.ValidateRingMemory(len(o.Interfaces)); err != nil {
			return cfg, Usagef("%v", err)
		}
	}
	return cfg, nil
}

// CheckInterval refuses a sampling period outside 10ms..1h, naming the
// flag.
func CheckInterval(flag string, d time.Duration) error {
	if d < 10*time.Millisecond || d > time.Hour {
		return Usagef("%s %s is out of range: use 10ms..1h, e.g. %s 1s", flag, d, flag)
	}
	return nil
}

// LinkSpeedNames are the interface names of --link-speed values (those
// that parse).
func LinkSpeedNames(speeds []string) map[string]bool {
	names := map[string]bool{}
	for _, ls := range speeds {
		if name, _, err := ParseLinkSpeed(ls); err == nil {
			names[name] = true
		}
	}
	return names
}

// SplitList expands comma lists given in repeated flags (-i a,b -i c) and
// drops empty items.
func SplitList(items []string) []string {
	var out []string
	for _, i := range items {
		for _, p := range strings.Split(i, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
