package main

import (
	"context"
	"fmt"

	"netriage/configs"
	"netriage/sources/inputs"
	"netriage/sources/privs"
	"netriage/triage/engine"
	"netriage/triage/flows"
	"netriage/views/format"
	"netriage/views/metrics"
	"netriage/views/web"
)

func init() {
	register(&command{name: "serve", summary: "a Prometheus exporter: link, verdict, capture and top-talker metrics on /metrics", run: runServe})
}

func runServe(ctx context.Context, env *cmdEnv, args []string) int {
	var cf commonFlags
	var listen, webConfig string
	fs := newFlagSet("serve")
	cf.addInterfaces(fs, "interfaces to export and judge, comma separated (default: every interface that is up)")
	cf.addCapture(fs, true)
	fs.StringVar(&listen, "web.listen-address", "", "HOST:PORT to serve on (default serve.listen_address from the config, "+configs.DefaultListenAddress+")")
	fs.StringVar(&webConfig, "web.config.file", "", "TLS and basic-auth configuration (the Prometheus exporters' web-config format)")
	cf.addLinkSpeed(fs)
	cf.addNetns(fs)
	cf.addRun(fs)
	cfg, done, err := cf.parse(env, fs, args)
	if done || err != nil {
		return failOrHelp(env, "serve", err)
	}
	if listen, err = cfg.Serve.Listen(listen); err != nil {
		return fail(env, "serve", err)
	}
	wc, err := configs.LoadWebConfig(webConfig, privs.OpenUser)
	if err != nil {
		return fail(env, "serve", err)
	}
	ctx, cancel := cf.deadline(ctx)
	defer cancel()
	o := cf.options(cfg)
	o.Links, o.AnyReason = true, "serve exports per interface"
	o.Capture, o.CaptureOptional, o.Aggregation = true, true, flows.By5Tuple
	o.Sockets, o.Names, o.Egress = cf.netns == "", cf.netns == "" && o.Names, true
	in, err := inputs.Open(ctx, o)
	if err != nil {
		return fail(env, "serve", err)
	}
	defer in.Close()
	in.Config.Judge, in.Config.Hold = true, true
	// Builder.Step reads a snapshot and keeps nothing of it: the next
	// step writes its flows and connection rows into the same storage.
	in.Config.ReleaseFlows, in.Config.ReleaseAttribution = true, true
	col := metrics.NewCollector()
	srv, err := web.Listen(listen, web.Options{Metrics: col, Version: version, Mode: in.Mode, TLS: wc.TLS, HTTP2: wc.HTTP2, Headers: wc.Headers, Users: wc.Users})
	if err != nil {
		return fail(env, "serve", err)
	}
	fmt.Fprintf(env.stderr, "netriage serve: listening on %s (metrics on %s)\n", srv.URL(), web.MetricsPath)
	for _, h := range in.Absent {
		fmt.Fprintf(env.stderr, "netriage serve: %s\n", format.Sanitize(h.Why, 300))
	}
	t := cfg.Serve.Talkers
	b := metrics.NewBuilder(metrics.Options{Watched: in.Watched, Caps: metrics.Caps{TopK: t.TopK, KeepRank: t.KeepRank, MinShare: t.MinShare, Idle: t.Idle.D()},
		Egress: in.Config.Egress, Prices: cfg.Egress.PriceTable()})
	if err := srv.Run(ctx, func(ctx context.Context) {
		in.Run(ctx, func(s *engine.Snapshot) bool {
			col.Publish(b.Step(s))
			return cf.count == 0 || s.Seq < uint64(cf.count)
		})
	}); err != nil {
		return fail(env, "serve", err)
	}
	return exitOK
}
