package main

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"netriage/configs"
	"netriage/sources/inputs"
	"netriage/sources/privs"
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

// helpTexts are the subcommands' help texts, help/NAME.txt each.
//
//go:embed help
var helpTexts embed.FS

// usage is subcommand name's help text.
func usage(name string) string {
	b, err := helpTexts.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic("netriage: no help text for " + name)
	}
	return string(b)
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
// validates both. Errors wrap configs.ErrUsage.
func (c *commonFlags) resolve() (configs.Config, error) {
	if c.count < 0 {
		return configs.Config{}, usageErrorf("--count %d: must be 0 (unlimited) or more", c.count)
	}
	if c.duration < 0 {
		return configs.Config{}, usageErrorf("--duration %s: must be 0 (unlimited) or positive", c.duration)
	}
	if c.outputs != nil && !slices.Contains(c.outputs, c.output) {
		return configs.Config{}, usageErrorf("--output %q: use one of %s", c.output, strings.Join(c.outputs, ", "))
	}
	c.ifaces = configs.SplitList(c.ifaces)
	return configs.Resolve(c.configPath, privs.OpenUser, configs.Overrides{Interval: c.interval, Fanout: c.fanout,
		LinkSpeeds: c.linkSpeeds, Captures: c.captures, Interfaces: c.ifaces})
}

// options are the inputs' options these flags give.
func (c *commonFlags) options(cfg configs.Config) inputs.Options {
	return inputs.Options{Config: cfg, Netns: c.netns, Interfaces: c.ifaces, LinkSpeedFlags: c.linkSpeeds}
}
