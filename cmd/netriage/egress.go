package main

import (
	"context"
	"fmt"

	"netriage/configs"
	"netriage/sources/inputs"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/views/format"
	"netriage/views/output"
)

func init() {
	register(&command{name: "egress", summary: "bytes and cost by destination class, name and process", run: runEgress})
}

func runEgress(ctx context.Context, env *cmdEnv, args []string) int {
	var c commonFlags
	var by, sortBy, replay string
	var limit int
	fs := newFlagSet("egress")
	c.addInterfaces(fs, "interface(s) to capture on, comma separated, or 'any' (default: any)")
	c.addCapture(fs, true)
	fs.StringVar(&by, "by", "class,name", "group by class, network, name, process, comma separated (e.g. process,class)")
	fs.StringVarP(&sortBy, "sort", "o", "cost", "sort by cost, sent or bytes")
	fs.IntVarP(&limit, "limit", "L", 50, "show at most this many groups (0: all)")
	fs.StringVar(&replay, "replay", "", "a pcap or pcapng file instead of live capture (no processes)")
	c.addDisplay(fs)
	c.addRun(fs, "table", "json", "csv")
	cfg, done, err := c.parse(env, fs, args)
	if done || err != nil {
		return failOrHelp(env, "egress", err)
	}
	fields, key, err := configs.EgressDisplay(by, sortBy, limit)
	if err != nil {
		return fail(env, "egress", err)
	}
	o := c.options(cfg)
	o.Capture, o.Aggregation, o.Egress, o.Replay, o.Sockets, o.Interval = true, flows.By5Tuple, true, replay, replay == "", c.interval
	set, err := inputs.Open(ctx, o)
	if err != nil {
		return fail(env, "egress", err)
	}
	defer set.Close()
	w := output.NewEgressWriter(env.stdout, output.EgressOptions{Format: c.output, Units: format.Units{Bytes: c.bytes},
		By: fields, Sort: key, Limit: limit, Table: set.Config.Egress, Prices: cfg.Egress.PriceTable()})
	var writeErr error
	set.Run(ctx, engine.Records(c.count, c.duration, func(s *engine.Snapshot) bool {
		rec := output.EgressInput{Seq: s.Seq, Time: s.Time, Start: s.Flows.Start, Final: s.Last, RateSecond: s.Flows.RateSeconds[2], Rows: s.Egress, FoldedFlows: s.EgressFolded}
		if tap, cache, ok := set.NameStats(); ok {
			rec.Names = &output.EgressNames{Tap: tap, Cache: cache}
		}
		writeErr = w.Write(rec)
		return writeErr == nil
	}))
	if writeErr != nil {
		fmt.Fprintf(env.stderr, "netriage egress: write: %s\n", format.Sanitize(writeErr.Error(), 0))
		return exitFailure
	}
	if set.File != nil && set.File.Err() != nil {
		fmt.Fprintf(env.stderr, "netriage egress: %s\n", format.Sanitize(set.File.Err().Error(), 0))
		return exitFailure
	}
	return exitOK
}
