package main

import (
	"context"

	"netriage/views/output"
)

func init() {
	register(&command{name: "remotes", summary: "traffic per remote host, with names and the processes talking to it", run: func(ctx context.Context, env *cmdEnv, args []string) int {
		return runWho(ctx, env, output.ViewRemotes, args)
	}})
}
