package main

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/spf13/pflag"

	"netriage/sources/dns"
	"netriage/sources/inputs"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/views/format"
	"netriage/views/output"
)

// flowFlags are the capture and display flags of flows and replay.
type flowFlags struct {
	common    commonFlags
	filter    string
	localNet  string
	ports     bool
	noDNS     bool
	noPorts   bool
	bytes     bool
	promisc   bool
	sort      string
	limit     int
	aggregate string
	iec       bool
}

func (f *flowFlags) registerDisplay(fs *pflag.FlagSet) {
	fs.StringVarP(&f.filter, "filter", "f", "", "tcpdump filter expression, e.g. 'tcp port 443'")
	addNetFilter(fs, &f.localNet)
	fs.BoolVarP(&f.ports, "ports", "P", false, "show ports: aggregate by host:port pairs")
	fs.StringVar(&f.aggregate, "aggregate", "", "hosts (default), ports, 5tuple, source or destination (iftop's s/d)")
	fs.BoolVarP(&f.noDNS, "no-dns", "n", false, "do not resolve addresses to names")
	fs.BoolVarP(&f.noPorts, "no-port-names", "N", false, "show port numbers, not service names")
	fs.BoolVarP(&f.bytes, "bytes", "B", false, "rates in bytes/s instead of bits/s")
	fs.BoolVar(&f.iec, "iec", false, "IEC prefixes (Ki, Mi: powers of 1024) instead of SI")
	fs.StringVarP(&f.sort, "sort", "o", "10s", "sort by 2s, 10s, 40s, source, destination or total")
	fs.IntVarP(&f.limit, "limit", "L", 50, "show at most this many flows (0: all)")
}

// resolveDisplay validates the display flags.
func (f *flowFlags) resolveDisplay() (flows.Aggregation, flows.SortKey, error) {
	agg, ok := flows.ParseAggregation(f.aggregate, f.ports)
	if !ok {
		return 0, 0, usageErrorf("--aggregate %q: use hosts, ports, 5tuple, source or destination", f.aggregate)
	}
	key, ok := flows.ParseSortKey(f.sort)
	if !ok {
		return 0, 0, usageErrorf("-o %q: sort by 2s, 10s, 40s, source, destination or total", f.sort)
	}
	if f.limit < 0 {
		return 0, 0, usageErrorf("-L %d: must be 0 (all) or more", f.limit)
	}
	if f.localNet != "" {
		if _, _, err := inputs.LocalRule(f.localNet, true); err != nil {
			return 0, 0, err
		}
	}
	return agg, key, nil
}

func (f *flowFlags) writer(env *cmdEnv, names func(netip.Addr) string) *output.FlowsWriter {
	o := output.FlowsOptions{Format: f.common.output, Units: format.Units{Bytes: f.bytes, IEC: f.iec}, Limit: f.limit, Names: names}
	if !f.noPorts {
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
	f.registerDisplay(fs)
	fs.BoolVarP(&f.promisc, "promiscuous", "p", false, "put the interfaces in promiscuous mode while capturing")
	f.common.addTiming(fs)
	f.common.addOutput(fs, "table", "json", "csv")
	f.common.addFanout(fs)
	f.common.addConfig(fs)
	if done, err := parseFlags(env, fs, args); done || err != nil {
		if err != nil {
			return fail(env, "flows", err)
		}
		return exitOK
	}
	cfg, err := f.common.resolve()
	if err != nil {
		return fail(env, "flows", err)
	}
	agg, key, err := f.resolveDisplay()
	if err != nil {
		return fail(env, "flows", err)
	}
	o := f.common.options(cfg)
	o.Capture, o.Filter, o.LocalNet, o.Promisc, o.Aggregation, o.Names = true, f.filter, f.localNet, f.promisc, agg, !f.noDNS
	in, err := inputs.Open(ctx, o)
	if err != nil {
		return fail(env, "flows", err)
	}
	defer in.Close()
	fw := f.writer(env, in.Name())
	n := 0
	var writeErr error
	in.Run(ctx, func(s *engine.Snapshot) bool {
		// The first step is the start: a record comes every interval after it.
		if s.Seq == 1 {
			return true
		}
		n++
		fs := s.Flows.Clone()
		flows.Sort(fs.Flows, key)
		if writeErr = fw.Write(fs, false, nil); writeErr != nil {
			return false
		}
		c, d := f.common.count, f.common.duration
		return !(c > 0 && n >= c) && !(d > 0 && s.Time.Sub(s.Start) >= d)
	})
	if writeErr != nil {
		fmt.Fprintf(env.stderr, "netriage flows: write: %v\n", writeErr)
		return exitFailure
	}
	return exitOK
}
