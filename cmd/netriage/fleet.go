package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"netriage/configs"
	"netriage/sources/clock"
	"netriage/sources/prom"
	"netriage/triage/fleet"
	"netriage/views/format"
	"netriage/views/output"
	"netriage/views/tui"
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
	cf.addOutput(fs, "table", "json", "tui")
	refresh := fs.Duration("refresh", fleet.DefaultRefresh, "--output tui: ask again this long after each answer (at least 5s; r asks now)")
	fs.BoolVarP(&cf.bytes, "bytes", "B", false, "rates in bytes/s instead of bits/s")
	_, done, err := cf.parse(env, fs, args)
	if done || err != nil {
		return failOrHelp(env, "fleet", err)
	}
	u, err := configs.ParseFleet(server, o.Window, o.TopK, *refresh)
	if err != nil {
		return fail(env, "fleet", err)
	}
	c, err := prom.New(u, po)
	if err != nil {
		return fail(env, "fleet", err)
	}
	if cf.output == "tui" {
		if env.catch != nil {
			env.catch(syscall.SIGPIPE) // only a kill sends it: the terminal is restored too
		}
		err = tui.RunFleet(ctx, tui.Fleet{Server: c.Server(), Every: *refresh, Now: clock.Real{}.Now, Bytes: cf.bytes,
			Ask: func(ctx context.Context) (fleet.Report, error) { return c.Report(ctx, o) }})
	} else {
		var rep fleet.Report
		if rep, err = c.Report(ctx, o); err == nil {
			err = output.WriteFleet(env.stdout, rep, c.Server(), cf.output, format.Units{Bytes: cf.bytes})
		}
	}
	var pe *tui.PanicError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &pe): // the terminal is restored: print it where it can be read
		fmt.Fprint(env.stderr, "netriage fleet: "+pe.Report())
		return exitFailure
	case errors.Is(err, tui.ErrTerminal):
		err = configs.Usagef("%v", err)
	}
	return fail(env, "fleet", err)
}
