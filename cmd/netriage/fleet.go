package main

import (
	"context"
	"os"

	"netriage/configs"
	"netriage/sources/prom"
	"netriage/triage/fleet"
	"netriage/views/format"
	"netriage/views/output"
)

func init() {
	register(&command{name: "fleet", summary: "the fleet from Prometheus: saturated and congested links and who explains them", run: runFleet})
}

func runFleet(ctx context.Context, env *cmdEnv, args []string) int {
	var cf commonFlags
	var server string
	var o fleet.Options
	po := prom.Options{Lookup: os.LookupEnv}
	fs := newFlagSet("fleet")
	fs.StringVar(&server, "prometheus", "", "the Prometheus server's URL, http:// or https:// (credentials: see --help)")
	fs.DurationVar(&o.Window, "window", fleet.DefaultWindow, "how far back \"recently saturated or congested\" looks")
	fs.IntVar(&o.TopK, "top", fleet.DefaultTopK, "processes and remotes shown per link (at most 20)")
	fs.DurationVar(&po.Timeout, "timeout", prom.DefaultTimeout, "time-out of each query")
	cf.addOutput(fs, "table", "json")
	fs.BoolVarP(&cf.bytes, "bytes", "B", false, "rates in bytes/s instead of bits/s")
	_, done, err := cf.parse(env, fs, args)
	if done || err != nil {
		return failOrHelp(env, "fleet", err)
	}
	u, err := configs.ParseFleet(server, o.Window, o.TopK)
	if err != nil {
		return fail(env, "fleet", err)
	}
	c, err := prom.New(u, po)
	if err != nil {
		return fail(env, "fleet", err)
	}
	ans, err := c.Ask(ctx, fleet.Queries(o))
	if err == nil {
		err = output.WriteFleet(env.stdout, fleet.Build(ans, o), c.Server(), cf.output, format.Units{Bytes: cf.bytes})
	}
	if err != nil {
		return fail(env, "fleet", err)
	}
	return exitOK
}
