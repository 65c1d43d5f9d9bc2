package main

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/spf13/pflag"

	"netriage/configs"
	"netriage/sources/dns"
	"netriage/sources/inputs"
	"netriage/triage/engine"
	"netriage/views/format"
	"netriage/views/output"
)

// flowFlags are the capture and display flags of flows and replay.
type flowFlags struct {
	common    commonFlags
	ports     bool
	sort      string
	limit     int
	aggregate string
	iec       bool
}

func (f *flowFlags) registerDisplay(fs *pflag.FlagSet, live bool) {
	f.common.addCapture(fs, live)
	fs.BoolVarP(&f.ports, "ports", "P", false, "show ports: aggregate by host:port pairs")
	fs.StringVar(&f.aggregate, "aggregate", "", "hosts (default), ports, 5tuple, source or destination (iftop's s/d)")
	f.common.addDisplay(fs)
	fs.BoolVar(&f.iec, "iec", false, "IEC prefixes (Ki, Mi: powers of 1024) instead of SI")
	fs.StringVarP(&f.sort, "sort", "o", "10s", "sort by 2s, 10s, 40s, source, destination or total")
	fs.IntVarP(&f.limit, "limit", "L", 50, "show at most this many flows (0: all)")
}

func (f *flowFlags) writer(env *cmdEnv, names func(netip.Addr) string) *output.FlowsWriter {
	o := output.FlowsOptions{Format: f.common.output, Units: format.Units{Bytes: f.common.bytes, IEC: f.iec}, Limit: f.limit, Names: names}
	if !f.common.noPorts {
		o.Ports = dns.PortLabel
	}
	return output.NewFlowsWriter(env.stdout, o)
}

func init() {
	register(&command{name: "flows", summary: "flows with 2s/10s/40s rates, peak and totals (iftop)", run: runFlows})
}

func runFlows(ctx context.Context, env *cmdEnv, args []string) int {
	var f flowFlags
	fs := newFlagSet("flows")
	f.common.addInterfaces(fs, "interface(s) to capture on, comma separated, or 'any' (default: any)")
	f.registerDisplay(fs, true)
	f.common.addRun(fs, "table", "json", "csv")
	cfg, done, err := f.common.parse(env, fs, args)
	if done || err != nil {
		return failOrHelp(env, "flows", err)
	}
	agg, key, err := configs.FlowsDisplay(f.aggregate, f.ports, f.sort, f.limit)
	if err != nil {
		return fail(env, "flows", err)
	}
	o := f.common.options(cfg)
	o.Capture, o.Aggregation, o.Self = true, agg, true
	in, err := inputs.Open(ctx, o)
	if err != nil {
		return fail(env, "flows", err)
	}
	defer in.Close()
	in.Config.ReleaseFlows = true // each record copies the -L it shows, nothing more
	in.Config.TopFlows.Key, in.Config.TopFlows.N = key, f.limit
	fw := f.writer(env, in.Name())
	var writeErr error
	in.Run(ctx, engine.Records(f.common.count, f.common.duration, func(s *engine.Snapshot) bool {
		fw.SetSelf(s.Self)
		writeErr = fw.WriteTop(*s.Flows, key, false, nil) // copies the first -L only
		return writeErr == nil
	}))
	if writeErr != nil {
		return fail(env, "flows", fmt.Errorf("write: %w", writeErr))
	}
	return exitOK
}
