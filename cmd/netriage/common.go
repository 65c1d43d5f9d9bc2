package main

import (
	"context"
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
	// timing is set by addTiming: --interval is the shared one, whose
	// zero means "not given", so parse refuses a zero given explicitly.
	timing bool
	// captures is set by addFanout: the subcommand captures, so resolve
	// checks its rings' memory for the interfaces named.
	captures bool
	// The capture and display flags of the subcommands that have them
	// (addCapture, addDisplay), with iftop's letters.
	filter, localNet               string
	noDNS, noPorts, bytes, promisc bool
	view                           string // top's --view

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

// printUsage writes the help text of fs's subcommand and its flags to w.
func printUsage(w io.Writer, fs *pflag.FlagSet) {
	text, err := helpTexts.ReadFile("help/" + fs.Name() + ".txt")
	if err != nil {
		panic("netriage: no help text for " + fs.Name())
	}
	fmt.Fprintf(w, "%s\n\nFlags:\n%s", strings.TrimSpace(string(text)), fs.FlagUsages())
}

// parseFlags parses args; it returns true when --help was asked and
// printed, or a usage error (bad flags, an unexpected argument).
func parseFlags(env *cmdEnv, fs *pflag.FlagSet, args []string) (done bool, err error) {
	err = fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		printUsage(env.stdout, fs)
		return true, nil
	case err != nil:
		return false, configs.FlagError(fs.Name(), err)
	case fs.NArg() > 0 && fs.Name() != "replay": // only replay takes an argument, its file
		hint := ""
		if fs.Lookup("interface") != nil {
			hint = fmt.Sprintf("interfaces go in -i, e.g. -i %s; ", format.Sanitize(fs.Arg(0), 40))
		}
		return false, configs.Usagef("unexpected argument %q (%ssee 'netriage %s --help')", fs.Arg(0), hint, fs.Name())
	}
	return false, nil
}

// addCapture registers the capture flags with iftop's letters: -f, -F
// (--net-filter in every subcommand; check's earlier --local-net stays,
// hidden) and -n; live sets -p too (a file has no promiscuous mode).
func (c *commonFlags) addCapture(fs *pflag.FlagSet, live bool) {
	fs.StringVarP(&c.filter, "filter", "f", "", "tcpdump filter expression for the capture, e.g. 'tcp port 443'")
	fs.StringVarP(&c.localNet, "net-filter", "F", "", "the local network NET/LEN (IPv4 or IPv6), like iftop's -F: decides sent and received")
	fs.StringVar(&c.localNet, "local-net", "", "")
	_ = fs.MarkHidden("local-net")
	fs.BoolVarP(&c.noDNS, "no-dns", "n", false, "do not resolve remote addresses to names")
	if live {
		fs.BoolVarP(&c.promisc, "promiscuous", "p", false, "capture in promiscuous mode")
	}
}

// addDisplay registers -N and -B.
func (c *commonFlags) addDisplay(fs *pflag.FlagSet) {
	fs.BoolVarP(&c.noPorts, "no-port-names", "N", false, "show port numbers, not service names")
	fs.BoolVarP(&c.bytes, "bytes", "B", false, "rates in bytes/s instead of bits/s")
}

// addRun registers the timing (--interval, --count, --duration), the
// output formats when given, --fanout and --config: the tail of every
// capturing subcommand's flags.
func (c *commonFlags) addRun(fs *pflag.FlagSet, outputs ...string) {
	c.addTiming(fs)
	if len(outputs) > 0 {
		c.addOutput(fs, outputs...)
	}
	c.addFanout(fs)
	c.addConfig(fs)
}

func (c *commonFlags) addInterfaces(fs *pflag.FlagSet, help string) {
	fs.StringSliceVarP(&c.ifaces, "interface", "i", nil, help)
}

func (c *commonFlags) addTiming(fs *pflag.FlagSet) {
	c.timing = true
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
// validates both (-F and -f too, before anything is opened). Errors wrap
// configs.ErrUsage.
func (c *commonFlags) resolve() (configs.Config, error) {
	c.ifaces = configs.SplitList(c.ifaces)
	return configs.Resolve(c.configPath, privs.OpenUser, configs.Overrides{Interval: c.interval, Fanout: c.fanout,
		Count: c.count, Duration: c.duration, Output: c.output, Outputs: c.outputs, View: c.view,
		LinkSpeeds: c.linkSpeeds, Captures: c.captures, Interfaces: c.ifaces, Filter: c.filter, LocalNet: c.localNet})
}

// parse parses args and resolves the configuration with the flags over
// it; done is true when --help was asked and printed.
func (c *commonFlags) parse(env *cmdEnv, fs *pflag.FlagSet, args []string) (cfg configs.Config, done bool, err error) {
	if done, err = parseFlags(env, fs, args); done || err != nil {
		return cfg, done, err
	}
	if c.timing && c.interval == 0 && fs.Changed("interval") {
		return cfg, false, configs.CheckInterval("--interval", 0)
	}
	cfg, err = c.resolve()
	return cfg, false, err
}

// failOrHelp is the exit of a run that parse ended: exitOK after --help,
// else fail's.
func failOrHelp(env *cmdEnv, sub string, err error) int {
	if err == nil {
		return exitOK
	}
	return fail(env, sub, err)
}

// deadline ends ctx after --duration, when given.
func (c *commonFlags) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.duration > 0 {
		return context.WithTimeout(ctx, c.duration)
	}
	return context.WithCancel(ctx)
}

// options are the inputs' options these flags give.
func (c *commonFlags) options(cfg configs.Config) inputs.Options {
	return inputs.Options{Config: cfg, Netns: c.netns, Interfaces: c.ifaces, LinkSpeedFlags: c.linkSpeeds,
		Filter: c.filter, LocalNet: c.localNet, Promisc: c.promisc, Names: !c.noDNS}
}
