package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"netriage/configs"
	"netriage/sources/capture"
	"netriage/sources/privs"
	"netriage/triage"
	"netriage/views/format"
)

// commonFlags are the flags shared by the live subcommands. A subcommand
// registers the ones it supports with the add* methods, parses, then calls
// resolve to get a validated configuration with the flags applied.
type commonFlags struct {
	ifaces     []string
	interval   time.Duration
	count      int
	duration   time.Duration
	output     string
	configPath string
	netns      string
	linkSpeeds []string
	fanout     int
	// captures is set by addFanout: the subcommand captures, so resolve
	// checks its rings' memory for the interfaces named.
	captures bool

	outputs []string // allowed --output values, first is the default
}

// newFlagSet returns a flag set for the subcommand name. Parse errors are
// returned, never printed or exited on; --help is printed by parseFlags.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.Usage = func() {}
	return fs
}

// printUsage writes the subcommand's help text and flags to w.
func printUsage(w io.Writer, usage string, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "%s\n\nFlags:\n%s", strings.TrimSpace(usage), fs.FlagUsages())
}

// parseFlags parses args; it returns (true, exitOK) when --help was asked
// and printed, or a usage error.
func parseFlags(env *cmdEnv, fs *pflag.FlagSet, usage string, args []string) (done bool, err error) {
	err = fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		printUsage(env.stdout, usage, fs)
		return true, nil
	}
	if err != nil {
		return false, usageErrorf("%v (see 'netriage %s --help')", err, fs.Name())
	}
	return false, nil
}

func (c *commonFlags) addInterfaces(fs *pflag.FlagSet, help string) {
	fs.StringSliceVarP(&c.ifaces, "interface", "i", nil, help)
}

func (c *commonFlags) addTiming(fs *pflag.FlagSet) {
	fs.DurationVar(&c.interval, "interval", 0, "sampling and output period (default from config, 1s)")
	fs.IntVar(&c.count, "count", 0, "stop after this many samples (0: run until interrupted)")
	fs.DurationVar(&c.duration, "duration", 0, "stop after this long (0: run until interrupted)")
}

func (c *commonFlags) addOutput(fs *pflag.FlagSet, formats ...string) {
	c.outputs = formats
	fs.StringVarP(&c.output, "output", "O", formats[0], "output format: "+strings.Join(formats, ", "))
}

func (c *commonFlags) addConfig(fs *pflag.FlagSet) {
	fs.StringVar(&c.configPath, "config", "", "configuration file (YAML; see configs/default.yaml)")
}

func (c *commonFlags) addNetns(fs *pflag.FlagSet) {
	fs.StringVar(&c.netns, "netns", "", "look inside another network namespace: a name from 'ip netns' or a PID")
}

func (c *commonFlags) addFanout(fs *pflag.FlagSet) {
	c.captures = true
	fs.IntVar(&c.fanout, "fanout", 0, fmt.Sprintf("rings per interface, spread by flow hash so the capture uses several cores (1..%d; default from config, 1)", configs.MaxFanout))
}

func (c *commonFlags) addLinkSpeed(fs *pflag.FlagSet) {
	fs.StringArrayVar(&c.linkSpeeds, "link-speed", nil, "capacity override IF=RATE, e.g. eth0=10G (repeatable)")
}

// resolve loads the config file (or defaults), applies the flags over it and
// validates both. Errors wrap errUsage.
func (c *commonFlags) resolve() (configs.Config, error) {
	cfg := configs.Default()
	if c.configPath != "" {
		var err error
		cfg, err = configs.Load(c.configPath, privs.OpenUser)
		if err != nil {
			return cfg, usageErrorf("%v", err)
		}
	}
	if c.interval != 0 {
		if c.interval < 10*time.Millisecond || c.interval > time.Hour {
			return cfg, usageErrorf("--interval %s is out of range: use 10ms..1h, e.g. --interval 1s", c.interval)
		}
		cfg.Interval = configs.Duration(c.interval)
	}
	if c.fanout != 0 {
		if c.fanout < 1 || c.fanout > configs.MaxFanout {
			return cfg, usageErrorf("--fanout %d is out of range: use 1..%d, e.g. --fanout 2", c.fanout, configs.MaxFanout)
		}
		cfg.Capture.Fanout = c.fanout
	}
	if c.count < 0 {
		return cfg, usageErrorf("--count %d: must be 0 (unlimited) or more", c.count)
	}
	if c.duration < 0 {
		return cfg, usageErrorf("--duration %s: must be 0 (unlimited) or positive", c.duration)
	}
	if c.outputs != nil {
		ok := false
		for _, f := range c.outputs {
			ok = ok || f == c.output
		}
		if !ok {
			return cfg, usageErrorf("--output %q: use one of %s", c.output, strings.Join(c.outputs, ", "))
		}
	}
	for _, ls := range c.linkSpeeds {
		name, _, err := configs.ParseLinkSpeed(ls)
		if err != nil {
			return cfg, usageErrorf("%v", err)
		}
		if cfg.Links.Speeds == nil {
			cfg.Links.Speeds = map[string]string{}
		}
		_, rate, _ := strings.Cut(ls, "=")
		cfg.Links.Speeds[name] = rate
	}
	// Expand comma lists given as repeated -i flags and drop empties.
	var ifs []string
	for _, i := range c.ifaces {
		for _, p := range strings.Split(i, ",") {
			if p = strings.TrimSpace(p); p != "" {
				ifs = append(ifs, p)
			}
		}
	}
	c.ifaces = ifs
	if c.captures {
		if err := cfg.Capture.ValidateRingMemory(len(ifs)); err != nil {
			return cfg, usageErrorf("%v", err)
		}
	}
	return cfg, nil
}

// checkLinkSpeeds checks the interfaces that carry a capacity override
// against s, a sample of the namespace being watched. A name given with
// --link-speed must exist: it was typed for this run, and a typo would
// otherwise be ignored without a word (usage error). A name that only the
// config file's links.speeds gives may be missing, since one file can serve
// several hosts and an interface can come up later (a VPN tunnel, a
// container's veth): it comes back as a warning, and the override applies
// once the interface appears.
func (c *commonFlags) checkLinkSpeeds(cfg configs.Config, s *triage.LinksSample) (warnings []string, err error) {
	fromFlag := map[string]bool{}
	for _, ls := range c.linkSpeeds {
		if name, _, err := configs.ParseLinkSpeed(ls); err == nil {
			fromFlag[name] = true
		}
	}
	var badFlag, badFile []string
	for name := range cfg.Links.Speeds {
		if _, ok := s.Iface(name); ok {
			continue
		}
		if fromFlag[name] {
			badFlag = append(badFlag, format.Sanitize(name, 40))
		} else {
			badFile = append(badFile, format.Sanitize(name, 40))
		}
	}
	sort.Strings(badFlag)
	sort.Strings(badFile)
	if len(badFlag) > 0 {
		return nil, usageErrorf("--link-speed %s: no such interface (interfaces: %s)", strings.Join(badFlag, ", "), linksExisting(s))
	}
	for _, n := range badFile {
		warnings = append(warnings, fmt.Sprintf("config links.speeds: no interface %s here yet; its capacity applies if it appears", n))
	}
	return warnings, nil
}

// captureInputError marks a capture start error that the user's input
// caused (a filter libpcap cannot compile, an interface that does not
// exist) as a usage error; other errors (privileges, the kernel) stay as
// they are.
func captureInputError(err error) error {
	var fe *capture.FilterError
	if errors.As(err, &fe) || errors.Is(err, capture.ErrNoInterface) {
		return usageErrorf("%w", err)
	}
	return err
}
