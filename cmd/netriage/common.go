package main

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"netriage/configs"
	"netriage/sources/inputs"
	"netriage/sources/privs"
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

// parseFlags parses args; it returns true when --help was asked and
// printed, or a usage error (bad flags, an unexpected argument).
func parseFlags(env *cmdEnv, fs *pflag.FlagSet, args []string) (done bool, err error) {
	err = fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		printUsage(env.stdout, usage(fs.Name()), fs)
		return true, nil
	case err != nil && configs.ForeignFlagHint(err.Error()) != "":
		return false, usageErrorf("%v: %s", err, configs.ForeignFlagHint(err.Error()))
	case err != nil:
		return false, usageErrorf("%v (see 'netriage %s --help')", err, fs.Name())
	case fs.NArg() > 0 && fs.Name() != "replay": // only replay takes an argument, its file
		hint := ""
		if fs.Lookup("interface") != nil {
			hint = fmt.Sprintf("interfaces go in -i, e.g. -i %s; ", format.Sanitize(fs.Arg(0), 40))
		}
		return false, usageErrorf("unexpected argument %q (%ssee 'netriage %s --help')", fs.Arg(0), hint, fs.Name())
	}
	return false, nil
}

// addNetFilter registers -F, --net-filter: iftop's letter, one long name in
// every subcommand (check's earlier --local-net stays, hidden).
func addNetFilter(fs *pflag.FlagSet, dst *string) {
	fs.StringVarP(dst, "net-filter", "F", "", "the local network NET/LEN (IPv4 or IPv6), like iftop's -F: decides sent and received")
	fs.StringVar(dst, "local-net", "", "")
	_ = fs.MarkHidden("local-net")
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
	c.ifaces = configs.SplitList(c.ifaces)
	return configs.Resolve(c.configPath, privs.OpenUser, configs.Overrides{Interval: c.interval, Fanout: c.fanout,
		Count: c.count, Duration: c.duration, Output: c.output, Outputs: c.outputs,
		LinkSpeeds: c.linkSpeeds, Captures: c.captures, Interfaces: c.ifaces})
}

// options are the inputs' options these flags give.
func (c *commonFlags) options(cfg configs.Config) inputs.Options {
	return inputs.Options{Config: cfg, Netns: c.netns, Interfaces: c.ifaces, LinkSpeedFlags: c.linkSpeeds}
}
