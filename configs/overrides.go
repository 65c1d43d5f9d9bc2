package configs

import (
	"slices"
	"strings"
	"time"

	"netriage/triage/flows"
)

// Overrides are the command-line values that take precedence over the
// config file. Zero values leave the file's (or the default) value.
type Overrides struct {
	// Interval is --interval.
	Interval time.Duration
	// Fanout is --fanout.
	Fanout int
	// Count and Duration are --count and --duration (0: unlimited).
	Count    int
	Duration time.Duration
	// Output is --output, one of Outputs when they are given.
	Output  string
	Outputs []string
	// View is top's --view.
	View string
	// LinkSpeeds are the --link-speed values, IF=RATE each.
	LinkSpeeds []string
	// Captures says a capture will open rings on Interfaces (none named:
	// one ring): their memory is checked.
	Captures   bool
	Interfaces []string
	// Filter and LocalNet are -f and -F, checked before anything is
	// opened.
	Filter, LocalNet string
}

// Resolve loads the config file at path (the defaults when path is
// empty) with open, applies o over it and validates the result. Every
// error wraps ErrUsage.
func Resolve(path string, open Opener, o Overrides) (Config, error) {
	cfg := Default()
	if err := checkCaptureFlags(o.Filter, o.LocalNet); err != nil {
		return cfg, err
	}
	switch {
	case o.Count < 0:
		return cfg, Usagef("--count %d: must be 0 (unlimited) or more", o.Count)
	case o.Duration < 0:
		return cfg, Usagef("--duration %s: must be 0 (unlimited) or positive", o.Duration)
	case o.Outputs != nil && !slices.Contains(o.Outputs, o.Output):
		return cfg, Usagef("--output %q: use one of %s", o.Output, strings.Join(o.Outputs, ", "))
	}
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
	if o.View != "" {
		if cfg.UI.View = o.View; cfg.UI.Validate() != nil {
			return cfg, Usagef("--view %q: use overview, flows, procs, conns, remotes, links or egress", o.View)
		}
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

// checkCaptureFlags checks -f (one line of text) and -F (NET/LEN).
func checkCaptureFlags(filter, localNet string) error {
	if localNet != "" {
		if _, _, err := ParseLocalNet(localNet); err != nil {
			return err
		}
	}
	if strings.ContainsAny(filter, "\x00\n") {
		return Usagef("-f: the filter contains a NUL or newline character")
	}
	return nil
}

// ParseLocalNet parses -F NET/LEN, the local network (flows.ParseLocalNet).
// Errors are usage errors.
func ParseLocalNet(s string) (flows.Local, string, error) {
	l, desc, err := flows.ParseLocalNet(s)
	if err != nil {
		return flows.Local{}, "", Usagef("-F %q: want NET/LEN such as 198.18.0.0/15 or fd00::/8 (%v)", s, err)
	}
	return l, desc, nil
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

// FlowsDisplay checks the display flags of flows and replay: --aggregate
// (with -P, ports), -o (sort key) and -L (a limit, 0 for all). Errors are
// usage errors.
func FlowsDisplay(aggregate string, ports bool, sort string, limit int) (flows.Aggregation, flows.SortKey, error) {
	agg, ok := flows.ParseAggregation(aggregate, ports)
	if !ok {
		return 0, 0, Usagef("--aggregate %q: use hosts, ports, 5tuple, source or destination", aggregate)
	}
	key, ok := flows.ParseSortKey(sort)
	if !ok {
		return 0, 0, Usagef("-o %q: sort by 2s, 10s, 40s, source, destination or total", sort)
	}
	if limit < 0 {
		return 0, 0, Usagef("-L %d: must be 0 (all) or more", limit)
	}
	return agg, key, nil
}

// ReplayFlags checks replay's own flags: --interval (0 or more) and
// --link-speed, which only --check takes: the file's one link
// (ParseFileLinkSpeed), its name ("" when not given) and capacity (0:
// unknown). Errors are usage errors.
func ReplayFlags(check bool, interval time.Duration, linkSpeeds []string) (link string, bps uint64, err error) {
	switch {
	case !check && len(linkSpeeds) > 0:
		return "", 0, Usagef("--link-speed only applies with --check")
	case interval < 0:
		return "", 0, Usagef("--interval %s: must be positive", interval)
	case !check:
		return "", 0, nil
	}
	if link, bps, err = ParseFileLinkSpeed(linkSpeeds); err != nil {
		return "", 0, Usagef("%v", err)
	}
	return link, bps, nil
}
